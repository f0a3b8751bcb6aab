package extent

import (
	"errors"
	"fmt"

	"github.com/shingle-storage/shingle/agent/index"
	"github.com/shingle-storage/shingle/agent/record"
	"github.com/shingle-storage/shingle/zoned"
)

// Damage reports part of an extent that cannot be read: its zone went
// offline, or a record in it is corrupt. The fleet repairs the extent from
// other copies.
type Damage struct {
	Extent uint64
	Zone   int
	// Offset is where in the zone the unreadable part starts.
	Offset int64
	Reason string
}

// tombstone is a tombstone found while recovering, applied once every
// extent has been read.
type tombstone struct {
	key    record.Key
	target tombstoneTarget
	holder *extent
	size   int64
}

// recover rebuilds the extents and the index from the drive: for each slot,
// the zones' write pointers, then every record up to them.
func (s *Store) recover() error {
	var stones []tombstone
	zones := make([]zoned.Zone, s.lay.perExtent)
	for slot := range s.lay.slots {
		n, err := s.dev.ReportZones(s.lay.zone(slot, 0), zones)
		if err != nil {
			return err
		}
		if n != len(zones) {
			return fmt.Errorf("extent: short zone report for slot %d", slot)
		}
		e, found, err := s.recoverSlot(slot, zones, &stones)
		if err != nil {
			return err
		}
		if found {
			s.slots[slot] = e
			s.byID[e.id] = e
			s.nextID = max(s.nextID, e.id+1)
		}
	}
	for _, t := range stones {
		target := s.byID[t.target.extent]
		t.holder.tombstoneTargets[t.target.extent]++
		if target == nil {
			continue // the blob's extent is gone already
		}
		loc := index.Location{Extent: uint32(target.slot), Offset: t.target.offset, Length: t.target.length}
		if s.idx.Delete(t.key[:], loc) {
			size := int64(record.Size(int(t.target.length), s.lay.info.LogicalBlockSize))
			target.liveBytes -= size
			target.deadBytes += size
		}
	}
	return nil
}

// recoverSlot reads one extent slot. found is false for a free slot.
func (s *Store) recoverSlot(slot int, zones []zoned.Zone, stones *[]tombstone) (*extent, bool, error) {
	var e *extent
	for k, z := range zones {
		switch z.Cond {
		case zoned.CondEmpty:
			continue
		case zoned.CondOffline:
			if e == nil {
				e = newExtent(slot, 0, len(zones))
			}
			e.state = StateReadOnly
			e.done[k] = true
			s.damaged = append(s.damaged, Damage{Zone: z.Index, Reason: "zone is offline"})
			continue
		}
		limit := zoneLimit(z)
		var stale bool
		resync := func(h record.Header) bool { return e != nil && e.id != 0 && h.Extent == e.id }
		end, gaps, err := scanZone(s.dev, z.Index, limit, func(off int64, h record.Header, raw []byte, size int) bool {
			if e == nil {
				e = newExtent(slot, h.Extent, len(zones))
			} else if e.id == 0 {
				e.id = h.Extent
			}
			if h.Extent != e.id {
				stale = true // left from the zones' earlier life
				return false
			}
			e.records++
			e.seq = max(e.seq, h.Seq+1)
			switch h.Type {
			case record.TypeBlob:
				loc := e.location(s.lay, off, int(h.Length))
				if err := s.idx.Insert(h.Key[:], loc); err == nil {
					e.liveBytes += int64(size)
				}
			case record.TypeTombstone:
				e.deadBytes += int64(size)
				if t, err := decodeTombstone(raw[record.HeaderSize : record.HeaderSize+int(h.Length)]); err == nil {
					*stones = append(*stones, tombstone{key: h.Key, target: t, holder: e, size: int64(size)})
				}
			case record.TypeSeal:
				e.state = StateSealed
				e.deadBytes += int64(size)
			}
			return true
		}, resync)
		for _, g := range gaps {
			s.damaged = append(s.damaged, Damage{Zone: z.Index, Offset: g.start - z.Start,
				Reason: fmt.Sprintf("%d bytes unreadable before the next record: %v", g.end-g.start, g.err)})
		}
		if e == nil {
			// Written zone without a single record of ours: a torn first
			// write. The slot still holds data, so it is not free.
			e = newExtent(slot, 0, len(zones))
		}
		e.cur = k
		e.used[k] = limit - z.Start
		if z.Cond == zoned.CondFull || end < limit {
			// Nothing may be appended after garbage, or to a full zone.
			e.done[k] = true
		}
		if z.Cond == zoned.CondReadOnly {
			e.state = StateReadOnly
			e.done[k] = true
		}
		if err != nil && !errors.Is(err, record.ErrNoRecord) && !record.IsCorrupt(err) && !stale {
			return nil, false, fmt.Errorf("extent: reading zone %d: %w", z.Index, err)
		}
		// A corrupt record with no readable record after it is a torn
		// write that was never acknowledged: not damage.
	}
	if e == nil {
		return nil, false, nil
	}
	if e.id == 0 {
		// Nothing readable: keep the slot out of use until it is deleted.
		e.state = StateReadOnly
		e.id = s.newExtentID()
	}
	for i := range s.damaged {
		if s.damaged[i].Extent == 0 && s.damaged[i].Zone >= s.lay.zone(slot, 0) && s.damaged[i].Zone < s.lay.zone(slot, len(zones)) {
			s.damaged[i].Extent = e.id
		}
	}
	if e.state == StateReadOnly && e.damage == "" {
		e.damage = "a zone of the extent went offline or read-only"
	}
	if e.state == StateOpen {
		// The zones left behind take no more records.
		for k := 0; k < e.cur; k++ {
			e.done[k] = true
		}
		if e.done[e.cur] && e.cur+1 < len(zones) {
			e.cur++
		}
	}
	return e, true, nil
}
