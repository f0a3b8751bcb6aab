package extent

import (
	"context"
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
//
// Sealed extents the drive checkpoint lists are rebuilt from their seal and
// summary instead (see checkpoint.go) unless fullScan is set; when the
// checkpoint turns out stale, a new one is written.
func (s *Store) recover(fullScan bool) error {
	var stones []tombstone
	ck := s.loadCheckpoint()
	s.ck.Generation, s.ck.Extents = ck.Generation, len(ck.Extents)
	listed := sealedBySlot(ck)
	if fullScan {
		listed = nil
	}
	stale := false
	zones := make([]zoned.Zone, s.lay.perExtent)
	for slot := range s.lay.slots {
		n, err := s.dev.ReportZones(s.lay.zone(slot, 0), zones)
		if err != nil {
			return err
		}
		if n != len(zones) {
			return fmt.Errorf("extent: short zone report for slot %d", slot)
		}
		if c, ok := listed[slot]; ok {
			e, err := s.recoverSealed(slot, zones, c, &stones)
			if err == nil {
				s.finishIdle(e, zones)
				s.ck.Recovered++
				s.slots[slot] = e
				s.byID[e.id] = e
				s.nextID = max(s.nextID, e.id+1)
				continue
			}
			stale = true
		}
		e, found, err := s.recoverSlot(slot, zones, &stones)
		if err != nil {
			return err
		}
		if found {
			s.finishIdle(e, zones)
			s.ck.Scanned++
			if e.state == StateSealed && !fullScan {
				stale = true // sealed since the checkpoint
			}
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
	if err := s.settleCompactions(); err != nil {
		return err
	}
	if stale {
		s.checkpoint()
	}
	return nil
}

// finishIdle finishes the zones of recovered extent e that take no more
// records but are still open or closed, as a crash leaves them when it
// comes between the last write to a zone and its finish: every zone of a
// sealed extent, and those an open extent moved on from. Each holds one of
// the device's few active-zone resources until finished, and enough of
// them left behind by crashes would keep new extents from being written.
// zones is the slot's zone report. A failure leaves the zone as it was.
func (s *Store) finishIdle(e *extent, zones []zoned.Zone) {
	for k, z := range zones {
		switch z.Cond {
		case zoned.CondImplicitOpen, zoned.CondExplicitOpen, zoned.CondClosed:
		default:
			continue
		}
		if e.state == StateSealed || (e.state == StateOpen && e.done[k] && k != e.cur) {
			_ = s.dev.FinishZones(z.Index, 1)
		}
	}
}

// settleCompactions deals with the compactions a crash interrupted (see
// compact.go): a sealed destination means the copy is complete and the
// source goes; an open one means blobs are on the drive twice, and the
// copies win.
func (s *Store) settleCompactions() error {
	for _, dst := range s.slots {
		if dst == nil || dst.compactFrom == 0 {
			continue
		}
		src := s.byID[dst.compactFrom]
		switch {
		case src == nil:
			// The source is gone, so the compaction finished.
			dst.compactFrom = 0
		case dst.state == StateSealed:
			dst.compactFrom = 0
			moved, err := s.holdsLiveOf(dst, src)
			if err != nil {
				return err
			}
			if !moved {
				// src holds blobs dst lacks, so it is not the extent dst
				// was compacted from but a later one given the same id
				// (CreateExtentID) once that was gone: leave it.
				continue
			}
			if err := s.drop(context.Background(), src); err != nil {
				return fmt.Errorf("extent: finishing the compaction of extent %d: %w", src.id, err)
			}
		default:
			if err := s.dropMoved(src, dst); err != nil {
				return err
			}
		}
	}
	return nil
}

// holdsLiveOf reports whether dst has a blob under the key of every blob
// of src the index still points at: whether a compaction of src into dst
// completed.
func (s *Store) holdsLiveOf(dst, src *extent) (bool, error) {
	keys := map[record.Key]bool{}
	err := s.records(dst, func(_ int64, h record.Header, _ []byte, _ int) bool {
		if h.Type == record.TypeBlob {
			keys[h.Key] = true
		}
		return true
	})
	if err != nil {
		return false, err
	}
	all := true
	err = s.records(src, func(off int64, h record.Header, _ []byte, _ int) bool {
		if h.Type == record.TypeBlob && !keys[h.Key] && s.indexed(h.Key, index.Location{Extent: uint32(src.slot), Offset: off, Length: h.Length}) {
			all = false
		}
		return all
	})
	return all, err
}

// dropMoved removes from the index the blobs of src that an unfinished
// compaction already copied into dst.
func (s *Store) dropMoved(src, dst *extent) error {
	moved := map[record.Key]bool{}
	err := s.records(dst, func(_ int64, h record.Header, _ []byte, _ int) bool {
		if h.Type == record.TypeBlob {
			moved[h.Key] = true
		}
		return true
	})
	if err != nil {
		return err
	}
	return s.records(src, func(off int64, h record.Header, _ []byte, size int) bool {
		if h.Type == record.TypeBlob && moved[h.Key] {
			if s.idx.Delete(h.Key[:], index.Location{Extent: uint32(src.slot), Offset: off, Length: h.Length}) {
				src.liveBytes -= int64(size)
				src.deadBytes += int64(size)
			}
		}
		return true
	})
}

// recoverSlot reads one extent slot. found is false for a free slot.
func (s *Store) recoverSlot(slot int, zones []zoned.Zone, stones *[]tombstone) (*extent, bool, error) {
	var e *extent
	spans := zoneSpans(zones)
	for k, z := range zones {
		if z.Cond == zoned.CondOffline {
			spans[k].limit = spans[k].from // nothing to read
		}
	}
	readers := chainReadAhead(s.dev, spans, scanChunk, s.bufs)
	defer closeAll(readers)
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
		// After unreadable bytes, the next record of this extent (or any
		// record, when none was readable yet) carries on.
		resync := func(h record.Header) bool { return e == nil || e.id == 0 || h.Extent == e.id }
		end, gaps, err := scanZone(readers[k], func(off int64, h record.Header, raw []byte, size int) bool {
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
			e.summaryBytes += summaryEntrySize(h.Type, int(h.Length))
			e.noteWritten(off-s.lay.info.ZoneStart(s.lay.zone(slot, 0)), raw, size)
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
				e.sealOff = off - s.lay.info.ZoneStart(s.lay.zone(slot, 0))
				e.deadBytes += int64(size)
			case record.TypeSkip:
				e.deadBytes += int64(size)
			case record.TypeSummary:
				e.deadBytes += int64(size)
				e.summaryRecordBytes += int64(size)
			case record.TypeOrigin:
				e.deadBytes += int64(size)
				if o, err := record.UnmarshalOrigin(raw[record.HeaderSize : record.HeaderSize+int(h.Length)]); err == nil {
					e.compactFrom = o.Source
				}
			}
			return true
		}, resync)
		readers[k].release() // its buffers go to the zones after it
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
		if z.Cond == zoned.CondFull {
			e.done[k] = true
		}
		if end < limit {
			// A torn tail: recovery appends a skip record after it
			// before anything else goes in this zone (see cutTornTail).
			e.tornAt[k] = end
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
		// Written zones without one readable record: a torn first write,
		// never acknowledged. Free the slot.
		if err := s.dev.ResetZones(s.lay.zone(slot, 0), s.lay.perExtent); err != nil {
			return nil, false, fmt.Errorf("extent: resetting slot %d after a torn first write: %w", slot, err)
		}
		return nil, false, nil
	}
	for i := range s.damaged {
		if s.damaged[i].Extent == 0 && s.damaged[i].Zone >= s.lay.zone(slot, 0) && s.damaged[i].Zone < s.lay.zone(slot, len(zones)) {
			s.damaged[i].Extent = e.id
		}
	}
	if e.state == StateReadOnly && e.damage == "" {
		e.damage = "a zone of the extent went offline or read-only"
	}
	if e.state != StateOpen {
		e.written = nil // only an open extent is sealed later
	}
	if e.state == StateOpen {
		// The zones left behind take no more records; their torn tails,
		// if any, stay at the end where a scan stops anyway.
		for k := 0; k < e.cur; k++ {
			e.done[k] = true
		}
		if err := s.cutTornTail(e, zones[e.cur]); err != nil {
			return nil, false, err
		}
		if e.done[e.cur] && e.cur+1 < len(zones) {
			e.cur++
		}
	}
	return e, true, nil
}

// cutTornTail ends the torn tail of open extent e's current zone z, if it
// has one, with a skip record written straight to the device, so records
// can be appended after it and later scans pass over the torn bytes without
// reporting damage. Without room for it, the zone takes no more records. A
// device error makes the extent read-only.
func (s *Store) cutTornTail(e *extent, z zoned.Zone) error {
	k := e.cur
	from, torn := e.tornAt[k]
	if !torn || e.done[k] {
		return nil
	}
	bs := s.lay.info.LogicalBlockSize
	size := record.Size(record.SkipSize, bs)
	wp := z.Start + e.used[k]
	if e.used[k]+int64(size) > s.lay.zoneCapacity {
		e.done[k] = true
		return nil
	}
	buf := zoned.AlignedBuffer(size, bs)
	h := record.Header{Type: record.TypeSkip, Extent: e.id, Seq: e.seq}
	if _, err := record.Encode(buf, h, record.Skip{From: uint64(from - z.Start)}.Marshal(), bs); err != nil {
		return err
	}
	_, err := s.dev.WriteAt(buf, wp)
	if err == nil {
		err = s.dev.Sync()
	}
	if err != nil {
		e.state, e.done[k] = StateReadOnly, true
		e.damage = fmt.Sprintf("cutting off a torn write in zone %d failed: %v", z.Index, err)
		return nil
	}
	// Give back the open-zone resource the write took; the zone stays
	// active and takes appends later.
	_ = s.dev.CloseZones(z.Index, 1)
	e.seq++
	e.records++
	e.noteWritten(wp-s.lay.info.ZoneStart(s.lay.zone(e.slot, 0)), buf, size)
	e.used[k] += int64(size)
	e.deadBytes += int64(size)
	delete(e.tornAt, k)
	return nil
}

// zoneFailed records that a device operation on zone k of extent e failed
// with err. When the device says the zone went offline or read-only, the
// extent goes read-only and is reported damaged, as recovery would report
// it at the next open, so the fleet can repair it without waiting for a
// restart. Other errors (transient I/O) are only returned to the caller.
func (s *Store) zoneFailed(e *extent, k int, err error) {
	offline := errors.Is(err, zoned.ErrOffline)
	if !offline && !errors.Is(err, zoned.ErrReadOnly) {
		return
	}
	zone := s.lay.zone(e.slot, k)
	reason := "zone went read-only"
	if offline {
		reason = "zone is offline"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byID[e.id] != e {
		return // deleted meanwhile
	}
	for _, d := range s.damaged {
		if d.Extent == e.id && d.Zone == zone {
			return
		}
	}
	e.state = StateReadOnly
	e.done[k] = true
	if e.damage == "" {
		e.damage = fmt.Sprintf("zone %d: %s", zone, reason)
	}
	s.damaged = append(s.damaged, Damage{Extent: e.id, Zone: zone, Reason: reason})
}
