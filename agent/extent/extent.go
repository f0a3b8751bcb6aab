package extent

import (
	"encoding/binary"
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
	// summaryBytes is the size of the summary entries of the records
	// placed so far: the last zone keeps room for the summary the seal
	// will write.
	summaryBytes int64
	// sealOff is, for a sealed extent, the offset of its seal record in
	// the extent, which the drive checkpoint records.
	sealOff int64
	// summaryRecordBytes is the encoded size of a sealed extent's summary
	// records: dead bytes that compaction does not win back, since the
	// new extent needs a summary too.
	summaryRecordBytes int64
	// written lists, while the extent is open, every record on the drive
	// (in the order their appends were answered), so sealing can compute
	// the running checksum and the summary without reading the extent
	// back. About 70 bytes a record, for open extents only.
	written []writtenRecord
}

// writtenRecord is what sealing needs to know of one record of an open
// extent.
type writtenRecord struct {
	off        int64 // in the extent
	size       int32 // encoded, padding included
	typ        record.Type
	length     uint32
	headerCRC  uint32
	payloadCRC uint32
	key        record.Key
	inline     []byte // tombstone and origin payloads
}

// noteWritten records the encoded record raw, now on the drive at offset
// off of open extent e. Store.mu is held (or e is not shared yet).
func (e *extent) noteWritten(off int64, raw []byte, size int) {
	h, err := record.DecodeHeader(raw)
	if err != nil {
		return // raw was encoded or checked by the caller
	}
	w := writtenRecord{off: off, size: int32(size), typ: h.Type, length: h.Length, key: h.Key,
		headerCRC:  binary.LittleEndian.Uint32(raw[60:]),
		payloadCRC: binary.LittleEndian.Uint32(raw[record.HeaderSize+int(h.Length):])}
	if h.Type == record.TypeTombstone || h.Type == record.TypeOrigin {
		w.inline = append([]byte(nil), raw[record.HeaderSize:record.HeaderSize+int(h.Length)]...)
	}
	e.written = append(e.written, w)
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

// reserve finds room for a record of size bytes whose summary entry takes
// entry bytes, keeping room in the last zone for the summary and the seal
// unless sealing, and returns the zone (0-based in the extent) and the
// zones the extent moved on from.
func (e *extent) reserve(size, entry int64, lay layout, forSeal bool) (int, []int, error) {
	// The seal, and a skip record in case recovery must cut off a torn
	// write first.
	bs := lay.info.LogicalBlockSize
	sealRoom := int64(record.Size(record.SealSize, bs) + record.Size(record.SkipSize, bs))
	var left []int
	for e.cur < len(e.used) {
		room := lay.zoneCapacity - e.used[e.cur]
		if e.cur == len(e.used)-1 && !forSeal {
			room -= sealRoom + record.SummaryRecordsSize(e.summaryBytes+entry, bs)
		}
		if !e.done[e.cur] && size <= room {
			k := e.cur
			e.used[k] += size
			e.summaryBytes += entry
			return k, left, nil
		}
		if e.cur == len(e.used)-1 {
			break
		}
		e.done[e.cur] = true
		left = append(left, e.cur)
		e.cur++
	}
	return -1, left, fmt.Errorf("%w: extent %d cannot take a %d-byte record; seal it and create another", ErrExtentFull, e.id, size)
}

// reserveRun moves the extent on, if needed, to the first zone from the
// current one that can hold size more bytes, so the seal's summary and seal
// records land together in one zone. It reports whether one can, and the
// zones the extent moved on from.
func (e *extent) reserveRun(size int64, lay layout) (bool, []int) {
	var left []int
	for k := e.cur; k < len(e.used); k++ {
		if !e.done[k] && lay.zoneCapacity-e.used[k] >= size {
			for j := e.cur; j < k; j++ {
				e.done[j] = true
				left = append(left, j)
			}
			e.cur = k
			return true, left
		}
	}
	return false, nil
}

// summaryEntrySize is the size of the summary entry of a record of type t
// with payload n bytes long (0 for records the summary leaves out).
func summaryEntrySize(t record.Type, n int) int64 {
	switch t {
	case record.TypeBlob:
		return record.SummaryEntryHeaderSize
	case record.TypeTombstone, record.TypeOrigin:
		return int64(record.SummaryEntryHeaderSize + n)
	}
	return 0
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
