package extent

import (
	"context"
	"errors"
	"fmt"
	"go.opentelemetry.io/otel/attribute"
	"time"

	"github.com/shingle-storage/shingle/agent/index"
	"github.com/shingle-storage/shingle/agent/record"
	"github.com/shingle-storage/shingle/zoned"
)

// ErrExists means a live blob already has the key.
var ErrExists = errors.New("extent: key already exists")

// Get returns the blob stored under key.
func (s *Store) Get(ctx context.Context, key record.Key) ([]byte, error) {
	data, _, err := s.GetChecked(ctx, key)
	return data, err
}

// GetChecked returns the blob stored under key and its CRC32C as the drive
// holds it, which this read has checked against the bytes: a caller that
// sends the blob on with its checksum need not compute it again.
func (s *Store) GetChecked(ctx context.Context, key record.Key) ([]byte, uint32, error) {
	payload, sum, _, err := s.get(ctx, key, false)
	return payload, sum, err
}

// get reads key's live blob and its checksum; with pooled, into buf, a
// buffer from the store's pool (see lookup).
func (s *Store) get(ctx context.Context, key record.Key, pooled bool) (payload []byte, sum uint32, buf []byte, err error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, nil, err
	}
	_, span := startSpan(ctx, "extent.Get")
	_, payload, sum, buf, err = s.lookup(key, true, pooled)
	span.SetAttributes(attribute.Int("shingle.bytes", len(payload)))
	endSpan(span, err)
	return payload, sum, buf, err
}

// find returns the location of key's live blob.
func (s *Store) find(key record.Key) (index.Location, error) {
	loc, _, _, buf, err := s.lookup(key, false, true)
	if buf != nil {
		s.bufs.put(buf)
	}
	return loc, err
}

// lookup finds key's live blob among the index's candidates by reading
// each candidate record and comparing keys (the index holds only a tag).
// With wantPayload it returns the blob and its checksum too; with pooled,
// the blob is in buf, a buffer from the store's pool the caller gives
// back (see readRecord).
func (s *Store) lookup(key record.Key, wantPayload, pooled bool) (loc index.Location, payload []byte, sum uint32, buf []byte, err error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return index.Location{}, nil, 0, nil, ErrClosed
	}
	var cands []index.Location
	s.idx.Find(key[:], func(l index.Location) bool { cands = append(cands, l); return true })
	s.mu.Unlock()
	var firstErr error
	for _, loc := range cands {
		h, payload, sum, buf, err := s.readRecord(loc, wantPayload, pooled)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if h.Type == record.TypeBlob && h.Key == key {
			return loc, payload, sum, buf, nil
		}
		if pooled {
			s.bufs.put(buf)
		}
	}
	if firstErr != nil {
		return index.Location{}, nil, 0, nil, firstErr
	}
	return index.Location{}, nil, 0, nil, fmt.Errorf("%w: key %x", ErrNotFound, key[:8])
}

// readRecord reads and verifies the record at loc; with wantPayload false
// it reads only the first block (header). It reads into buf, which it
// returns: with pooled, a buffer from the store's pool that the caller
// gives back (readRecord does so itself when it fails); otherwise memory
// of the call's own, which the payload may be handed out in.
func (s *Store) readRecord(loc index.Location, wantPayload, pooled bool) (h record.Header, payload []byte, sum uint32, buf []byte, err error) {
	bs := s.lay.info.LogicalBlockSize
	n := bs
	if wantPayload {
		n = record.Size(int(loc.Length), bs)
	}
	if pooled {
		buf = s.bufs.get(n)
		defer func() {
			if err != nil {
				s.bufs.put(buf)
				buf = nil
			}
		}()
	} else {
		buf = zoned.AlignedBuffer(n, bs)
	}
	if _, err := s.dev.ReadAt(buf, s.lay.deviceOffset(int(loc.Extent), loc.Offset)); err != nil {
		s.mu.Lock()
		e := s.slots[loc.Extent]
		s.mu.Unlock()
		if e != nil {
			s.zoneFailed(e, int(loc.Offset/s.lay.info.ZoneSize), err)
		}
		return record.Header{}, nil, 0, buf, err
	}
	if !wantPayload {
		h, err := record.DecodeHeader(buf)
		if err != nil {
			return record.Header{}, nil, 0, buf, fmt.Errorf("%w at extent slot %d offset %d: %v", ErrCorrupt, loc.Extent, loc.Offset, err)
		}
		return h, nil, 0, buf, nil
	}
	h, payload, _, err = record.Decode(buf, bs)
	if err != nil {
		return record.Header{}, nil, 0, buf, fmt.Errorf("%w at extent slot %d offset %d: %v", ErrCorrupt, loc.Extent, loc.Offset, err)
	}
	// The payload is handed out in place rather than copied; its capacity
	// is clipped so an append cannot reach the checksum after it.
	return h, payload[:len(payload):len(payload)], record.PayloadChecksum(buf, h), buf, nil
}

// recordFunc receives one record of an extent: its offset in the extent,
// header, encoded bytes (valid only during the call) and encoded size.
type recordFunc func(off int64, h record.Header, raw []byte, size int) bool

// Records calls fn for every readable record of extent id, in the order
// they are on the drive, until fn returns false.
func (s *Store) Records(id uint64, fn func(off int64, h record.Header, payload []byte) bool) error {
	s.mu.Lock()
	e := s.byID[id]
	s.mu.Unlock()
	if e == nil {
		return fmt.Errorf("%w: no extent %d", ErrNotFound, id)
	}
	return s.records(e, func(off int64, h record.Header, raw []byte, _ int) bool {
		return fn(off, h, raw[record.HeaderSize:record.HeaderSize+int(h.Length)])
	})
}

// records scans extent e's zones up to what is written.
func (s *Store) records(e *extent, fn recordFunc) error {
	base := s.lay.info.ZoneStart(s.lay.zone(e.slot, 0))
	spans := make([]span, s.lay.perExtent)
	s.mu.Lock()
	for k := range spans {
		start := s.lay.info.ZoneStart(s.lay.zone(e.slot, k))
		spans[k] = span{from: start, limit: start + e.used[k]}
	}
	s.mu.Unlock()
	readers := chainReadAhead(s.dev, spans, scanChunk, s.bufs)
	defer closeAll(readers)
	for k, sp := range spans {
		if sp.limit == sp.from {
			continue
		}
		stop := false
		_, _, err := scanZone(readers[k], func(off int64, h record.Header, raw []byte, size int) bool {
			if h.Extent != e.id {
				return false
			}
			if !fn(off-base, h, raw, size) {
				stop = true
				return false
			}
			return true
		}, func(h record.Header) bool { return h.Extent == e.id })
		readers[k].release() // its buffers go to the zones after it
		if err != nil && !errors.Is(err, record.ErrNoRecord) && !record.IsCorrupt(err) {
			return err
		}
		if stop {
			return nil
		}
	}
	return nil
}

// ReadRange reads n bytes at offset off of extent id's byte space (zone k
// of the extent starts at k times the zone size), for erasure coding and
// repair. Bytes past what is written read as the device returns them.
func (s *Store) ReadRange(id uint64, off int64, p []byte) error {
	s.mu.Lock()
	e := s.byID[id]
	s.mu.Unlock()
	if e == nil {
		return fmt.Errorf("%w: no extent %d", ErrNotFound, id)
	}
	if off < 0 || off+int64(len(p)) > s.lay.extentBytes {
		return fmt.Errorf("extent: range %d+%d is outside extent %d's %d bytes", off, len(p), id, s.lay.extentBytes)
	}
	_, err := s.dev.ReadAt(p, s.lay.deviceOffset(e.slot, off))
	return err
}

// Info returns extent id, and whether the drive has it.
func (s *Store) Info(id uint64) (Info, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.byID[id]
	if e == nil {
		return Info{}, false
	}
	return s.infoOf(e), true
}

// List returns every extent.
func (s *Store) List() []Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Info
	for _, e := range s.slots {
		if e != nil {
			out = append(out, s.infoOf(e))
		}
	}
	return out
}

// Stat describes the drive's use.
type Stat struct {
	Extents     int
	FreeExtents int
	// CreatableExtents is how many more extents CreateExtent will make:
	// the free ones less the one kept for compaction.
	CreatableExtents int
	// UsableExtents is how many extents the drive holds at most: all
	// its extent slots but those kept for compaction.
	UsableExtents int
	FreeZones     int
	Blobs         int
	Damaged       []Damage
	Checkpoint    CheckpointStat
}

// Stat returns the drive's use.
func (s *Store) Stat() Stat {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stat{Blobs: s.idx.Len(), FreeZones: s.freeZonesLocked(), Damaged: append([]Damage(nil), s.damaged...),
		Checkpoint: s.ck}
	for _, e := range s.slots {
		if e == nil {
			st.FreeExtents++
		} else {
			st.Extents++
		}
	}
	st.CreatableExtents = max(0, st.FreeExtents-s.reserveSlots())
	st.UsableExtents = max(0, s.lay.slots-s.reserveSlots())
	return st
}

func (s *Store) freeZonesLocked() int {
	n := 0
	for _, e := range s.slots {
		if e == nil {
			n += s.lay.perExtent
		}
	}
	return n
}

// tick paces waitIdle.
func (s *Store) tick() <-chan time.Time { return time.After(time.Millisecond) }

// Locate returns the id of the extent that holds key's live blob.
// Compaction moves blobs, so the answer can change over time.
func (s *Store) Locate(key record.Key) (uint64, error) {
	loc, err := s.find(key)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.slots[loc.Extent]; e != nil {
		return e.id, nil
	}
	return 0, fmt.Errorf("%w: key %x", ErrNotFound, key[:8])
}

// LiveBlobs calls fn with the key and bytes of every blob of extent id
// that is neither deleted nor moved by compaction, in the order they are
// on the drive, until fn returns an error, which LiveBlobs returns. It
// reads the extent once, sequentially: the way to copy a whole extent
// (erasure coding a volume, rebuilding a replica). The payload is valid
// only during the call.
func (s *Store) LiveBlobs(ctx context.Context, id uint64, fn func(key record.Key, payload []byte) error) error {
	s.mu.Lock()
	e := s.byID[id]
	s.mu.Unlock()
	if e == nil {
		return fmt.Errorf("%w: no extent %d", ErrNotFound, id)
	}
	var fnErr error
	err := s.records(e, func(off int64, h record.Header, raw []byte, _ int) bool {
		if h.Type != record.TypeBlob {
			return true
		}
		if !s.indexed(h.Key, index.Location{Extent: uint32(e.slot), Offset: off, Length: h.Length}) {
			return true
		}
		if fnErr = ctx.Err(); fnErr == nil {
			fnErr = fn(h.Key, raw[record.HeaderSize:record.HeaderSize+int(h.Length)])
		}
		return fnErr == nil
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}
