package extent

import (
	"fmt"
	"time"

	"github.com/shingle-storage/shingle/agent/index"
	"github.com/shingle-storage/shingle/agent/record"
)

// State is the life stage of an extent.
type State uint8

const (
	// StateOpen extents take new records.
	StateOpen State = iota + 1
	// StateSealed extents end in a seal record and never change again.
	StateSealed
	// StateReadOnly extents hit a device error; they can be read (up to
	// what is damaged) but take no more records. The fleet repairs them.
	StateReadOnly
)

// String names the state.
func (s State) String() string {
	switch s {
	case StateOpen:
		return "open"
	case StateSealed:
		return "sealed"
	case StateReadOnly:
		return "read-only"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// extent is the store's in-memory state of one extent. Store.mu guards it.
type extent struct {
	slot  int
	id    uint64
	state State
	// sealing or deleting: no new records while the current ones land.
	closing bool
	// cur is the zone of the extent (0-based) that takes the next record;
	// used[k] is how many bytes of zone k are taken, from the zone start.
	cur  int
	used []int64
	// inflight[k] counts appends to zone k not yet answered.
	inflight []int
	// done[k] is set once zone k takes no more records (the extent moved
	// on, or its tail was torn), so it can be finished when drained.
	done []bool
	seq  uint32
	// Accounting, in encoded record bytes.
	records   int64
	liveBytes int64
	deadBytes int64
	// tombstoneTargets counts this extent's tombstones by the id of the
	// extent whose blob each deletes.
	tombstoneTargets map[uint64]int
	damage           string
	// tornAt maps a zone (in the extent) whose records end in a torn
	// write to the device offset where the torn bytes start; set by
	// recovery until a skip record cuts the tail off.
	tornAt map[int]int64
	// compactFrom is, while this extent is the destination of a
	// compaction, the id of the extent being compacted. Only the
	// compaction writes to it.
	compactFrom uint64
}

func newExtent(slot int, id uint64, zones int) *extent {
	return &extent{slot: slot, id: id, state: StateOpen, used: make([]int64, zones),
		inflight: make([]int, zones), done: make([]bool, zones), tombstoneTargets: map[uint64]int{}, tornAt: map[int]int64{}}
}

func (e *extent) inflightTotal() int {
	n := 0
	for _, c := range e.inflight {
		n += c
	}
	return n
}

// reserve finds room for a record of size bytes, keeping room for the seal
// record in the last zone unless sealing, and returns the zone (0-based in
// the extent) and the zones the extent moved on from.
func (e *extent) reserve(size int64, lay layout, forSeal bool) (int, []int, error) {
	// The seal, and a skip record in case recovery must cut off a torn
	// write first.
	bs := lay.info.LogicalBlockSize
	sealRoom := int64(record.Size(record.SealSize, bs) + record.Size(record.SkipSize, bs))
	var left []int
	for e.cur < len(e.used) {
		room := lay.zoneCapacity - e.used[e.cur]
		if e.cur == len(e.used)-1 && !forSeal {
			room -= sealRoom
		}
		if !e.done[e.cur] && size <= room {
			k := e.cur
			e.used[k] += size
			return k, left, nil
		}
		if e.cur == len(e.used)-1 {
			break
		}
		e.done[e.cur] = true
		left = append(left, e.cur)
		e.cur++
	}
	return -1, left, fmt.Errorf("%w: extent %d cannot take a %d-byte record; seal it and create another", ErrFull, e.id, size)
}

// location converts a device offset into an index location.
func (e *extent) location(lay layout, devOff int64, length int) index.Location {
	zoneStart := lay.info.ZoneStart(lay.zone(e.slot, 0))
	return index.Location{Extent: uint32(e.slot), Offset: devOff - zoneStart, Length: uint32(length)}
}

// newExtentID returns an id above every id seen on the drive and, to keep
// ids from being reused after every extent is deleted, at least the current
// time in nanoseconds.
func (s *Store) newExtentID() uint64 {
	id := max(s.nextID, uint64(time.Now().UnixNano()))
	s.nextID = id + 1
	return id
}

// Info describes an extent.
type Info struct {
	ID      uint64
	Slot    int
	State   State
	Zones   []int // device zones
	Records int64
	// LiveBytes and DeadBytes are encoded record bytes: live blobs, and
	// deleted blobs and tombstones whose space compaction can reclaim.
	LiveBytes, DeadBytes int64
	// Used is how many bytes of the extent's zones are taken.
	Used int64
	// Damage says what was lost, for read-only extents.
	Damage string
	// Reclaimable is roughly how many bytes compacting the extent would
	// free: dead bytes less the tombstones it would have to carry over.
	Reclaimable int64
	// CompactingFrom is, for the destination of an unfinished compaction,
	// the extent being compacted.
	CompactingFrom uint64
}

func (s *Store) infoOf(e *extent) Info {
	in := Info{ID: e.id, Slot: e.slot, State: e.state, Records: e.records, LiveBytes: e.liveBytes,
		DeadBytes: e.deadBytes, Damage: e.damage, CompactingFrom: e.compactFrom, Reclaimable: s.reclaimable(e)}
	for k, u := range e.used {
		in.Zones = append(in.Zones, s.lay.zone(e.slot, k))
		in.Used += u
	}
	return in
}
