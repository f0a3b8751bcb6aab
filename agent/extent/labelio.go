package extent

import (
	"errors"
	"fmt"

	"github.com/shingle-storage/shingle/agent/label"
	"github.com/shingle-storage/shingle/zoned"
)

// writeLabel writes both copies of l, one after the other with a Sync
// between them, so a crash tears at most one.
func writeLabel(dev zoned.Device, lay layout, l label.Label) error {
	bs := lay.info.LogicalBlockSize
	buf := zoned.AlignedBuffer(max(bs, label.Size), bs)
	if _, err := label.Encode(buf, l); err != nil {
		return err
	}
	for copyN := range 2 {
		var off int64
		if lay.labelInConv {
			off = lay.info.ZoneStart(lay.labelZones[0]) + int64(copyN*bs)
		} else {
			z, err := zoned.ReportZone(dev, lay.labelZones[copyN])
			if err != nil {
				return err
			}
			if z.Remaining() < int64(len(buf)) {
				// The label log zone is full: start it again. The other
				// copy still holds the label meanwhile.
				if err := dev.ResetZones(z.Index, 1); err != nil {
					return err
				}
				z.WritePointer = z.Start
			}
			off = z.WritePointer
		}
		if _, err := dev.WriteAt(buf, off); err != nil {
			return fmt.Errorf("extent: writing label copy %d: %w", copyN+1, err)
		}
		if err := dev.Sync(); err != nil {
			return fmt.Errorf("extent: syncing label copy %d: %w", copyN+1, err)
		}
	}
	return nil
}

// errNoLabel means the drive has no valid Shingle label.
var errNoLabel = errors.New("no Shingle label on the drive")

// readLabel returns the newest valid label copy.
func readLabel(dev zoned.Device, lay layout) (label.Label, error) {
	bs := lay.info.LogicalBlockSize
	var copies [][]byte
	if lay.labelInConv {
		buf := zoned.AlignedBuffer(2*bs, bs)
		if _, err := dev.ReadAt(buf, lay.info.ZoneStart(lay.labelZones[0])); err != nil {
			return label.Label{}, err
		}
		copies = append(copies, buf[:bs], buf[bs:])
	} else {
		for _, zi := range lay.labelZones {
			z, err := zoned.ReportZone(dev, zi)
			if err != nil {
				return label.Label{}, err
			}
			n := min(z.WritePointer, z.Start+z.Capacity) - z.Start
			if n <= 0 {
				continue
			}
			buf := zoned.AlignedBuffer(int(n), bs)
			if _, err := dev.ReadAt(buf, z.Start); err != nil {
				return label.Label{}, err
			}
			for off := 0; off+bs <= len(buf); off += bs {
				copies = append(copies, buf[off:off+bs])
			}
		}
	}
	l, ok := label.Newest(copies...)
	if !ok {
		// Tell a damaged label from a blank drive: a copy that starts with
		// the magic but fails its checks is worth an operator's look.
		for _, c := range copies {
			if _, err := label.Decode(c); err != nil && !errors.Is(err, label.ErrNoLabel) {
				return label.Label{}, fmt.Errorf("extent: %s: the label is damaged (%v); restore it or reformat the drive", lay.info.Path, err)
			}
		}
		return label.Label{}, errNoLabel
	}
	return l, nil
}
