package extent

import (
	"errors"
	"fmt"

	"github.com/shingle-storage/shingle/agent/checkpoint"
	"github.com/shingle-storage/shingle/agent/index"
	"github.com/shingle-storage/shingle/agent/record"
	"github.com/shingle-storage/shingle/zoned"
)

// The drive checkpoint (package agent/checkpoint) lists the sealed extents
// and where their seal records are. With it, recovery reads a sealed
// extent's seal and summary instead of the whole extent. It is rewritten
// after every seal and every deletion of a sealed extent, alternately in
// the layout's two checkpoint areas, and is only ever a hint: recovery
// checks the seal it points at and reads the extent when that fails.

// CheckpointStat describes the drive checkpoint.
type CheckpointStat struct {
	// Generation is the generation of the last checkpoint written or read
	// (0: none yet).
	Generation uint64
	// Extents is how many sealed extents it lists.
	Extents int
	// Err is why the last checkpoint could not be written, if it could not;
	// recovery then reads the extents sealed since the last good one.
	Err string
	// Recovered is how many extents the last Open recovered from their
	// summaries, and Scanned how many it read in full.
	Recovered, Scanned int
}

// checkpoint writes a new checkpoint of the sealed extents. A failure is
// kept for Stat and otherwise ignored: the checkpoint is a hint, and the
// seal or deletion it follows is durable already.
func (s *Store) checkpoint() {
	s.ckMu.Lock()
	defer s.ckMu.Unlock()
	s.mu.Lock()
	c := checkpoint.Checkpoint{Generation: s.ck.Generation + 1, Drive: s.label.Drive}
	for _, e := range s.slots {
		if e != nil && e.state == StateSealed {
			c.Extents = append(c.Extents, checkpoint.Sealed{Slot: uint32(e.slot), Extent: e.id, SealOffset: e.sealOff})
		}
	}
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return
	}
	err := s.writeCheckpoint(c)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.ck.Err = err.Error()
		return
	}
	s.ck.Generation, s.ck.Extents, s.ck.Err = c.Generation, len(c.Extents), ""
}

// writeCheckpoint writes c to the area its generation picks, the other
// holding the previous checkpoint until this one is durable.
func (s *Store) writeCheckpoint(c checkpoint.Checkpoint) error {
	bs := s.lay.info.LogicalBlockSize
	area := s.lay.checkpoints[c.Generation%2]
	b := checkpoint.Encode(c, bs)
	if int64(len(b)) > area.size {
		return fmt.Errorf("extent: a checkpoint of %d sealed extents takes %d bytes; the drive has room for %d",
			len(c.Extents), len(b), area.size)
	}
	if area.zone >= 0 {
		if err := s.dev.ResetZones(area.zone, 1); err != nil {
			return fmt.Errorf("extent: resetting checkpoint zone %d: %w", area.zone, err)
		}
	}
	buf := zoned.AlignedBuffer(len(b), bs)
	copy(buf, b)
	if _, err := s.dev.WriteAt(buf, area.off); err != nil {
		return fmt.Errorf("extent: writing checkpoint %d: %w", c.Generation, err)
	}
	if err := s.dev.Sync(); err != nil {
		return fmt.Errorf("extent: syncing checkpoint %d: %w", c.Generation, err)
	}
	if area.zone >= 0 {
		// Hold no open-zone resource for it.
		_ = s.dev.FinishZones(area.zone, 1)
	}
	return nil
}

// loadCheckpoint returns the newest valid checkpoint written under this
// drive's label, or one with no extents.
func (s *Store) loadCheckpoint() checkpoint.Checkpoint {
	var best checkpoint.Checkpoint
	for _, area := range s.lay.checkpoints {
		if area.zone >= 0 {
			// A crash between writing a checkpoint and finishing its
			// zone leaves the zone holding an active-zone resource.
			if z, err := zoned.ReportZone(s.dev, area.zone); err == nil &&
				(z.Cond == zoned.CondImplicitOpen || z.Cond == zoned.CondExplicitOpen || z.Cond == zoned.CondClosed) {
				_ = s.dev.FinishZones(area.zone, 1)
			}
		}
		c, err := s.readCheckpoint(area)
		if err == nil && c.Drive == s.label.Drive && c.Generation > best.Generation {
			best = c
		}
	}
	return best
}

func (s *Store) readCheckpoint(area checkpointArea) (checkpoint.Checkpoint, error) {
	bs := s.lay.info.LogicalBlockSize
	limit := area.size
	if area.zone >= 0 {
		z, err := zoned.ReportZone(s.dev, area.zone)
		if err != nil {
			return checkpoint.Checkpoint{}, err
		}
		if z.Cond == zoned.CondEmpty || z.Cond == zoned.CondOffline {
			return checkpoint.Checkpoint{}, checkpoint.ErrNone
		}
		limit = zoneLimit(z) - z.Start
	}
	if limit < int64(bs) {
		return checkpoint.Checkpoint{}, checkpoint.ErrNone
	}
	head := zoned.AlignedBuffer(bs, bs)
	if _, err := s.dev.ReadAt(head, area.off); err != nil {
		return checkpoint.Checkpoint{}, err
	}
	n, err := checkpoint.EncodedSize(head)
	if err != nil {
		return checkpoint.Checkpoint{}, err
	}
	n = (n + bs - 1) / bs * bs
	if int64(n) > limit {
		return checkpoint.Checkpoint{}, fmt.Errorf("%w: runs past its area", checkpoint.ErrCorrupt)
	}
	buf := zoned.AlignedBuffer(n, bs)
	if _, err := s.dev.ReadAt(buf, area.off); err != nil {
		return checkpoint.Checkpoint{}, err
	}
	return checkpoint.Decode(buf)
}

// errNoSummary means a checkpointed extent cannot be recovered from its
// summary; recovery reads the extent instead.
var errNoSummary = errors.New("no usable seal and summary")

// recoverSealed rebuilds sealed extent c in slot from its seal and summary,
// given the slot's zone report. It changes nothing (index, tombstones) until
// everything it read has checked out, and returns errNoSummary (wrapped)
// when the extent must be read in full instead: the checkpoint is stale,
// the extent has no summary, or a zone is damaged (a full read reports
// what was lost).
func (s *Store) recoverSealed(slot int, zones []zoned.Zone, c checkpoint.Sealed, stones *[]tombstone) (*extent, error) {
	bs := s.lay.info.LogicalBlockSize
	zoneSize := s.lay.info.ZoneSize
	k := int(c.SealOffset / zoneSize)
	if k >= len(zones) {
		return nil, fmt.Errorf("%w: seal offset %d is outside the extent", errNoSummary, c.SealOffset)
	}
	for _, z := range zones {
		if z.Cond == zoned.CondOffline || z.Cond == zoned.CondReadOnly {
			return nil, fmt.Errorf("%w: zone %d is %v", errNoSummary, z.Index, z.Cond)
		}
	}
	z := zones[k]
	sealDev := z.Start + c.SealOffset%zoneSize
	if sealDev+int64(bs) > zoneLimit(z) {
		return nil, fmt.Errorf("%w: zone %d is not written up to the seal", errNoSummary, z.Index)
	}
	block := zoned.AlignedBuffer(record.Size(record.SealSize, bs), bs)
	if _, err := s.dev.ReadAt(block, sealDev); err != nil {
		return nil, fmt.Errorf("%w: reading the seal: %v", errNoSummary, err)
	}
	h, payload, _, err := record.Decode(block, bs)
	if err != nil || h.Type != record.TypeSeal || h.Extent != c.Extent {
		return nil, fmt.Errorf("%w: no seal of extent %d at offset %d", errNoSummary, c.Extent, c.SealOffset)
	}
	seal, err := record.UnmarshalSeal(payload)
	if err != nil || seal.SummaryRecords == 0 {
		return nil, fmt.Errorf("%w: extent %d was sealed without a summary", errNoSummary, c.Extent)
	}
	sumDev := z.Start + seal.SummaryOffset%zoneSize
	if seal.SummaryOffset/zoneSize != int64(k) || sumDev >= sealDev {
		return nil, fmt.Errorf("%w: the seal's summary pointer is not in the seal's zone", errNoSummary)
	}
	buf := zoned.AlignedBuffer(int(sealDev-sumDev), bs)
	if _, err := s.dev.ReadAt(buf, sumDev); err != nil {
		return nil, fmt.Errorf("%w: reading the summary: %v", errNoSummary, err)
	}
	var chunks [][]byte
	var summaryBytes int64
	for pos := 0; pos < len(buf); {
		h, p, size, err := record.Decode(buf[pos:], bs)
		if err != nil || h.Type != record.TypeSummary || h.Extent != c.Extent {
			return nil, fmt.Errorf("%w: summary record %d of extent %d is unreadable", errNoSummary, len(chunks), c.Extent)
		}
		if err := record.EachSummaryEntry(p, func(record.SummaryEntry) bool { return true }); err != nil {
			return nil, fmt.Errorf("%w: %v", errNoSummary, err)
		}
		chunks = append(chunks, p)
		summaryBytes += int64(size)
		pos += size
	}
	if len(chunks) != int(seal.SummaryRecords) {
		return nil, fmt.Errorf("%w: %d summary records where the seal says %d", errNoSummary, len(chunks), seal.SummaryRecords)
	}

	// Everything checked out: build the extent.
	e := newExtent(slot, c.Extent, len(zones))
	e.state = StateSealed
	e.sealOff = c.SealOffset
	e.seq = h.Seq + 1
	e.records = int64(seal.Records) + 1
	e.summaryRecordBytes = summaryBytes
	for i, z := range zones {
		if z.Cond != zoned.CondEmpty {
			e.used[i] = zoneLimit(z) - z.Start
			e.cur = i
		}
		e.done[i] = true
	}
	for _, p := range chunks {
		_ = record.EachSummaryEntry(p, func(en record.SummaryEntry) bool {
			switch en.Type {
			case record.TypeBlob:
				loc := index.Location{Extent: uint32(slot), Offset: en.Offset, Length: en.Length}
				if s.idx.Insert(en.Key[:], loc) == nil {
					e.liveBytes += int64(record.Size(int(en.Length), bs))
				}
			case record.TypeTombstone:
				if t, err := decodeTombstone(en.Inline); err == nil {
					*stones = append(*stones, tombstone{key: en.Key, target: t, holder: e,
						size: int64(record.Size(int(en.Length), bs))})
				}
			case record.TypeOrigin:
				if o, err := record.UnmarshalOrigin(en.Inline); err == nil {
					e.compactFrom = o.Source
				}
			}
			return true
		})
	}
	e.deadBytes = int64(seal.Bytes) + int64(record.Size(len(payload), bs)) - e.liveBytes
	return e, nil
}

// sealedBySlot indexes a checkpoint's entries by slot.
func sealedBySlot(c checkpoint.Checkpoint) map[int]checkpoint.Sealed {
	m := make(map[int]checkpoint.Sealed, len(c.Extents))
	for _, e := range c.Extents {
		m[int(e.Slot)] = e
	}
	return m
}
