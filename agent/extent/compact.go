package extent

import (
	"context"
	"fmt"
	"github.com/shingle-storage/shingle/internal/pace"
	"sort"

	"github.com/shingle-storage/shingle/agent/index"
	"github.com/shingle-storage/shingle/agent/record"
)

// Compaction reclaims the space of deleted blobs. Zones are append-only, so
// the only way to free a dead record is to reset its whole zone, and a zone
// may be reset only when nothing live remains in it. Compaction therefore
// copies what is still live out of a sealed extent (the source) into a new
// extent (the destination), then deletes the source.
//
// What is copied:
//   - every blob the index still points at, under the same key;
//   - every tombstone that still matters: one deleting a blob of a third
//     extent that still exists. Without it that blob would come back when
//     the drive is next read.
//
// Crash safety. The destination starts with an origin record naming the
// source, and the source is reset only after the destination is sealed.
// Recovery handles the three moments a crash can land on:
//   - destination sealed, source still there: the copy is complete, so
//     recovery deletes the source;
//   - destination open: some blobs are on the drive twice. Recovery keeps
//     the copies in the destination and drops the source's from the index
//     (a delete acknowledged during the compaction named the copy), and the
//     next Compact of the source carries on where this one stopped;
//   - no destination record durable yet: nothing happened.
//
// A blob is moved while its key is claimed (as a put or delete claims it),
// so a concurrent delete names either the original before the move or the
// copy after it, never a record about to become stale.

// CompactOptions tune one compaction.
type CompactOptions struct {
	// BytesPerSecond caps how fast records are copied, so compaction
	// leaves the drive to foreground work; 0 means no cap.
	BytesPerSecond int64
	// ID is the id to give the new extent, for callers that name their
	// extents (CreateExtentID); 0 picks one as CreateExtent does. It is
	// used only when a compaction starts, not when it resumes.
	ID uint64
}

// Candidates returns the sealed extents whose reclaimable bytes (see
// Info.Reclaimable) are at least minDead (0 to 1) of their record bytes
// and more than nothing, most reclaimable first: the extents worth
// compacting.
func (s *Store) Candidates(minDead float64) []Info {
	s.mu.Lock()
	var out []Info
	for _, e := range s.slots {
		if e == nil || e.state != StateSealed || e.closing {
			continue
		}
		in := s.infoOf(e)
		total := in.LiveBytes + in.DeadBytes
		if in.Reclaimable > 0 && float64(in.Reclaimable) >= minDead*float64(total) {
			out = append(out, in)
		}
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		fi := float64(out[i].Reclaimable) / float64(out[i].DeadBytes+out[i].LiveBytes)
		fj := float64(out[j].Reclaimable) / float64(out[j].DeadBytes+out[j].LiveBytes)
		if fi != fj {
			return fi > fj
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// reclaimable is what compacting e would free: its dead bytes less the
// tombstones that still delete blobs of other extents, which compaction
// must copy, and less the origin, summary and seal records the new extent
// starts and ends with (its summary is no larger than e's). s.mu is held.
func (s *Store) reclaimable(e *extent) int64 {
	bs := s.lay.info.LogicalBlockSize
	stone := int64(record.Size(tombstoneSize, bs))
	r := e.deadBytes - int64(record.Size(record.OriginSize, bs)+record.Size(record.SealSize, bs)) - e.summaryRecordBytes
	for target, n := range e.tombstoneTargets {
		if target != e.id && s.byID[target] != nil {
			r -= int64(n) * stone
		}
	}
	return max(r, 0)
}

// Compact copies the live blobs of sealed (or read-only) extent id, and the
// tombstones in it that still matter, into a new extent, seals that, and
// deletes id. It returns the new extent's id.
//
// Cancelling ctx stops it between records; the copies made so far stay
// in the destination (see Info.CompactingFrom) and calling Compact on id
// again finishes the work.
func (s *Store) Compact(ctx context.Context, id uint64, opts CompactOptions) (uint64, error) {
	src, dst, err := s.startCompaction(id, opts.ID)
	if err != nil {
		return 0, err
	}
	release := func() {
		s.mu.Lock()
		src.closing = false
		s.mu.Unlock()
	}
	pacer := pace.New(float64(opts.BytesPerSecond))
	var copyErr error
	err = s.records(src, func(off int64, h record.Header, raw []byte, size int) bool {
		if copyErr = ctx.Err(); copyErr != nil {
			return false
		}
		switch h.Type {
		case record.TypeBlob:
			copyErr = s.moveBlob(ctx, src, dst, off, h, raw)
		case record.TypeTombstone:
			copyErr = s.copyTombstone(src, dst, h, raw)
		default:
			return true
		}
		if copyErr == nil {
			copyErr = pacer.Wait(ctx, size)
		}
		return copyErr == nil
	})
	if err == nil {
		err = copyErr
	}
	if err == nil {
		s.mu.Lock()
		dst.closing = true
		s.mu.Unlock()
		err = s.seal(ctx, dst)
		s.mu.Lock()
		dst.closing = false
		if err == nil {
			dst.compactFrom = 0
		}
		s.mu.Unlock()
	}
	if err != nil {
		release()
		return 0, fmt.Errorf("extent: compacting extent %d into %d (run Compact again to finish): %w", id, dst.id, err)
	}
	if err := s.drop(ctx, src); err != nil {
		release()
		return 0, fmt.Errorf("extent: extent %d is compacted into %d but deleting it failed: %w", id, dst.id, err)
	}
	return dst.id, nil
}

// startCompaction claims extent id and finds or makes its destination,
// named newID if that is not 0.
func (s *Store) startCompaction(id, newID uint64) (src, dst *extent, err error) {
	s.mu.Lock()
	src = s.byID[id]
	switch {
	case s.closed:
		err = ErrClosed
	case src == nil:
		err = fmt.Errorf("%w: no extent %d", ErrNotFound, id)
	case src.state == StateOpen && src.compactFrom != 0:
		err = fmt.Errorf("extent: extent %d is itself the destination of a compaction of %d; compact %d", id, src.compactFrom, src.compactFrom)
	case src.state == StateOpen:
		err = fmt.Errorf("extent: extent %d is open; seal it before compacting it", id)
	case src.closing:
		err = fmt.Errorf("%w: extent %d is being compacted or deleted", ErrSealed, id)
	}
	if err != nil {
		s.mu.Unlock()
		return nil, nil, err
	}
	for _, e := range s.slots {
		if e != nil && e.compactFrom == id {
			dst = e
		}
	}
	fresh := dst == nil
	if fresh {
		if s.freeZonesLocked() == 0 {
			s.mu.Unlock()
			return nil, nil, fmt.Errorf("%w: no free extent on %s to compact extent %d into; delete an extent first", ErrFull, s.lay.info.Path, id)
		}
		if newID == 0 {
			newID = s.newExtentID()
		} else if s.byID[newID] != nil {
			s.mu.Unlock()
			return nil, nil, fmt.Errorf("%w: %s already has extent %d; compact extent %d into another id", ErrExtentExists, s.lay.info.Path, newID, id)
		}
		dst = s.newExtentLocked(newID)
		dst.compactFrom = id
	}
	src.closing = true
	s.mu.Unlock()
	if fresh {
		origin := record.Origin{Source: id}.Marshal()
		_, _, err = s.appendRecord(context.Background(), dst, record.Header{Type: record.TypeOrigin}, origin, record.Checksum(origin), appendCompact)
		if err != nil {
			s.mu.Lock()
			src.closing = false
			if dst.records == 0 && s.slots[dst.slot] == dst {
				s.slots[dst.slot] = nil
				delete(s.byID, dst.id)
			}
			s.mu.Unlock()
			return nil, nil, fmt.Errorf("extent: starting to compact extent %d: %w", id, err)
		}
		s.mu.Lock()
		dst.deadBytes += int64(record.Size(record.OriginSize, s.lay.info.LogicalBlockSize))
		s.mu.Unlock()
	}
	return src, dst, nil
}

// moveBlob copies the blob record at off in src to dst if the index still
// points at it, and points the index at the copy.
func (s *Store) moveBlob(ctx context.Context, src, dst *extent, off int64, h record.Header, raw []byte) error {
	loc := index.Location{Extent: uint32(src.slot), Offset: off, Length: h.Length}
	if !s.indexed(h.Key, loc) {
		return nil // deleted
	}
	if err := s.claimKey(ctx, h.Key); err != nil {
		return err
	}
	defer s.releaseKey(h.Key)
	if !s.indexed(h.Key, loc) {
		return nil // deleted while we waited
	}
	// The copy keeps the checksum the scan verified rather than one
	// computed from the buffer again, so a blob damaged in memory on its
	// way through compaction fails its reads instead of being rewritten
	// under a checksum that matches the damage.
	payload := raw[record.HeaderSize : record.HeaderSize+int(h.Length)]
	_, devOff, err := s.appendRecord(ctx, dst, record.Header{Type: record.TypeBlob, Key: h.Key}, payload, record.PayloadChecksum(raw, h), appendCompact)
	if err != nil {
		return err
	}
	size := int64(record.Size(int(h.Length), s.lay.info.LogicalBlockSize))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idx.Delete(h.Key[:], loc)
	if err := s.idx.Insert(h.Key[:], dst.location(s.lay, devOff, int(h.Length))); err != nil {
		return err
	}
	src.liveBytes -= size
	src.deadBytes += size
	dst.liveBytes += size
	return nil
}

// indexed reports whether the index holds key at exactly loc.
func (s *Store) indexed(key record.Key, loc index.Location) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	found := false
	s.idx.Find(key[:], func(l index.Location) bool {
		found = l == loc
		return !found
	})
	return found
}

// copyTombstone copies a tombstone of src to dst if the blob it deletes is
// in a third extent that still exists.
func (s *Store) copyTombstone(src, dst *extent, h record.Header, raw []byte) error {
	t, err := decodeTombstone(raw[record.HeaderSize : record.HeaderSize+int(h.Length)])
	if err != nil {
		return nil // unreadable target: it deletes nothing recovery could find
	}
	s.mu.Lock()
	needed := t.extent != src.id && t.extent != dst.id && s.byID[t.extent] != nil
	s.mu.Unlock()
	if !needed {
		return nil
	}
	tomb := t.marshal()
	if _, _, err := s.appendRecord(context.Background(), dst, record.Header{Type: record.TypeTombstone, Key: h.Key}, tomb, record.Checksum(tomb), appendCompact); err != nil {
		return err
	}
	s.mu.Lock()
	dst.deadBytes += int64(record.Size(tombstoneSize, s.lay.info.LogicalBlockSize))
	dst.tombstoneTargets[t.extent]++
	s.mu.Unlock()
	return nil
}
