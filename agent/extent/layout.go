package extent

import (
	"fmt"

	"github.com/shingle-storage/shingle/zoned"
)

// layout is how a drive's zones are divided: a few zones at the start for
// the label and the checkpoint, then extent slots of zonesPerExtent
// consecutive sequential zones each. See FORMAT.md.
type layout struct {
	info zoned.Info
	// labelZones are the zones holding the two label copies: conventional
	// zones when the drive has them (copies in blocks 0 and 1 of the first),
	// otherwise the first two sequential zones, used as a small log.
	labelZones  []int
	labelInConv bool
	// checkpoints are the two places checkpoints alternate between: the
	// two halves of the conventional space after the label, or sequential
	// zones 2 and 3.
	checkpoints  [2]checkpointArea
	firstData    int // first zone of slot 0
	perExtent    int
	slots        int
	extentBytes  int64 // zones per extent times zone size: the offset space of an extent
	zoneCapacity int64
}

func newLayout(info zoned.Info, zonesPerExtent int) (layout, error) {
	l := layout{info: info, perExtent: zonesPerExtent, zoneCapacity: info.ZoneCapacity}
	bs := int64(info.LogicalBlockSize)
	if info.ConventionalZones > 0 {
		l.labelZones = []int{0}
		l.labelInConv = true
		l.firstData = info.ConventionalZones
		start := 2 * bs
		half := (info.ZoneStart(info.ConventionalZones) - start) / 2 / bs * bs
		for i := range l.checkpoints {
			l.checkpoints[i] = checkpointArea{zone: -1, off: start + int64(i)*half, size: half}
		}
	} else {
		l.labelZones = []int{0, 1}
		l.firstData = 4
		for i := range l.checkpoints {
			z := 2 + i
			l.checkpoints[i] = checkpointArea{zone: z, off: info.ZoneStart(z), size: info.ZoneCapacity}
		}
	}
	if zonesPerExtent < 1 {
		return l, fmt.Errorf("extent: %d zones per extent; it must be at least 1", zonesPerExtent)
	}
	l.slots = (info.ZoneCount - l.firstData) / zonesPerExtent
	if l.slots < 1 {
		return l, fmt.Errorf("extent: %s has %d zones, too few for one extent of %d zones after %d reserved",
			info.Path, info.ZoneCount, zonesPerExtent, l.firstData)
	}
	if l.slots > 1<<24-1 {
		l.slots = 1<<24 - 1
	}
	l.extentBytes = int64(zonesPerExtent) * info.ZoneSize
	return l, nil
}

// checkpointArea is one of the two places a checkpoint is written: in
// conventional space, overwritten in place (zone -1), or a sequential zone,
// reset before each write.
type checkpointArea struct {
	zone      int
	off, size int64
}

// zone returns the device zone index of zone k of slot s.
func (l layout) zone(s, k int) int { return l.firstData + s*l.perExtent + k }

// deviceOffset converts an offset in slot s's extent space to a device
// offset.
func (l layout) deviceOffset(s int, off int64) int64 {
	return l.info.ZoneStart(l.zone(s, 0)) + off
}
