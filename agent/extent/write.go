package extent

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"go.opentelemetry.io/otel/attribute"
	"slices"

	"github.com/shingle-storage/shingle/agent/index"
	"github.com/shingle-storage/shingle/agent/record"
)

// tombstoneTarget is a tombstone's payload: the exact record it deletes, so
// a later blob with the same key is never deleted by an older tombstone,
// whatever order recovery reads extents in.
type tombstoneTarget struct {
	extent uint64
	offset int64
	length uint32
}

const tombstoneSize = 24

func (t tombstoneTarget) marshal() []byte {
	b := make([]byte, tombstoneSize)
	binary.LittleEndian.PutUint64(b[0:], t.extent)
	binary.LittleEndian.PutUint64(b[8:], uint64(t.offset))
	binary.LittleEndian.PutUint32(b[16:], t.length)
	return b
}

func decodeTombstone(b []byte) (tombstoneTarget, error) {
	if len(b) != tombstoneSize {
		return tombstoneTarget{}, fmt.Errorf("extent: tombstone payload of %d bytes", len(b))
	}
	return tombstoneTarget{extent: binary.LittleEndian.Uint64(b[0:]), offset: int64(binary.LittleEndian.Uint64(b[8:])),
		length: binary.LittleEndian.Uint32(b[16:])}, nil
}

// CreateExtent claims a free slot for a new open extent and returns its id.
// Nothing is written until the first record: an extent that never got one
// is gone after a restart.
func (s *Store) CreateExtent() (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	if free := s.freeZonesLocked() / s.lay.perExtent; free > s.reserveSlots() {
		return s.newExtentLocked(s.newExtentID()).id, nil
	}
	return 0, fmt.Errorf("%w: all %d extents of %s are in use (%d free zones, kept for compaction); delete or compact extents",
		ErrFull, s.lay.slots, s.lay.info.Path, s.freeZonesLocked())
}

// ErrExtentExists is returned by CreateExtentID for an id the drive
// already holds.
var ErrExtentExists = errors.New("extent: extent id already in use")

// CreateExtentID is CreateExtent with an id the caller chose: the fleet
// names the extent that holds a member of a volume after the volume, so
// any agent and client can find it without asking. An id already on the
// drive gets ErrExtentExists, so a retried create is recognised. Like
// CreateExtent, nothing is written until the first record.
func (s *Store) CreateExtentID(id uint64) error {
	if id == 0 {
		return fmt.Errorf("extent: extent id 0 is not valid; give a positive id")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.byID[id] != nil {
		return fmt.Errorf("%w: %s already has extent %d", ErrExtentExists, s.lay.info.Path, id)
	}
	if free := s.freeZonesLocked() / s.lay.perExtent; free <= s.reserveSlots() {
		return fmt.Errorf("%w: all %d extents of %s are in use (%d free zones, kept for compaction); delete or compact extents",
			ErrFull, s.lay.slots, s.lay.info.Path, s.freeZonesLocked())
	}
	s.newExtentLocked(id)
	return nil
}

// reserveSlots is how many free extent slots CreateExtent leaves for
// compaction, which needs one to copy into: without it, a drive full of
// extents whose tombstones delete each other's blobs could never free
// space. Drives too small to spare one keep none.
func (s *Store) reserveSlots() int {
	if s.lay.slots > 2 {
		return 1
	}
	return 0
}

// newExtentLocked puts a new open extent with id in the first free slot,
// which the caller has made sure exists. s.mu is held.
func (s *Store) newExtentLocked(id uint64) *extent {
	for slot, e := range s.slots {
		if e == nil {
			e = newExtent(slot, id, s.lay.perExtent)
			s.slots[slot] = e
			s.byID[e.id] = e
			return e
		}
	}
	panic("extent: newExtentLocked with no free slot")
}

// writable returns extent id if it can take records. s.mu is held.
func (s *Store) writable(id uint64) (*extent, error) {
	if s.closed {
		return nil, ErrClosed
	}
	e := s.byID[id]
	switch {
	case e == nil:
		return nil, fmt.Errorf("%w: no extent %d on %s", ErrNotFound, id, s.lay.info.Path)
	case e.state == StateSealed:
		return nil, fmt.Errorf("%w: extent %d", ErrSealed, id)
	case e.state == StateReadOnly:
		return nil, fmt.Errorf("%w: extent %d: %s", ErrReadOnly, id, e.damage)
	case e.closing:
		return nil, fmt.Errorf("%w: extent %d is being sealed, compacted or deleted", ErrSealed, id)
	case e.compactFrom != 0:
		return nil, fmt.Errorf("%w: extent %d takes only the records compaction copies into it", ErrSealed, id)
	}
	return e, nil
}

// appendKind says who appends a record, which decides what the extent must
// allow.
type appendKind uint8

const (
	// appendUser: a put or delete; the extent must be writable.
	appendUser appendKind = iota
	// appendSeal: the seal record, written by the Seal that claimed the
	// extent; it may use the room kept for it.
	appendSeal
	// appendCompact: a record copied by the compaction that owns the
	// extent.
	appendCompact
)

// appendRecord encodes and appends one record to extent e and returns its
// zone (in the extent) and device offset. On a device error the extent
// goes read-only. It takes and releases s.mu.
func (s *Store) appendRecord(ctx context.Context, e *extent, h record.Header, payload []byte, sum uint32, kind appendKind) (int, int64, error) {
	return s.appendRecordIn(ctx, e, h, payload, nil, sum, kind)
}

// appendRecordIn is appendRecord with the buffer the record is encoded in,
// which holds the payload at record.HeaderSize already (a Blob's), or nil
// for one from the pool.
func (s *Store) appendRecordIn(ctx context.Context, e *extent, h record.Header, payload, buf []byte, sum uint32, kind appendKind) (int, int64, error) {
	bs := s.lay.info.LogicalBlockSize
	size := record.Size(len(payload), bs)
	s.mu.Lock()
	// Check again under the lock that reserves the space: a Seal or
	// DeleteExtent may have begun since the caller looked, and they wait
	// only for the appends counted in inflight.
	var err error
	switch {
	case s.closed:
		err = ErrClosed
	case s.byID[e.id] != e:
		err = fmt.Errorf("%w: extent %d was deleted", ErrNotFound, e.id)
	case kind == appendUser:
		_, err = s.writable(e.id)
	case kind == appendCompact && (e.compactFrom == 0 || e.state != StateOpen):
		err = fmt.Errorf("%w: extent %d is no longer a compaction destination", ErrSealed, e.id)
	}
	if err != nil {
		s.mu.Unlock()
		return 0, 0, err
	}
	k, left, err := e.reserve(int64(size), summaryEntrySize(h.Type, len(payload)), s.lay, kind == appendSeal)
	if err != nil {
		s.mu.Unlock()
		s.finishDrained(e, left)
		return 0, 0, err
	}
	h.Extent, h.Seq = e.id, e.seq
	e.seq++
	e.inflight[k]++
	s.mu.Unlock()
	s.finishDrained(e, left)

	if buf == nil {
		buf = s.bufs.get(size)
		defer s.bufs.put(buf)
	}
	buf, err = record.EncodeWithChecksum(buf, h, payload, sum, bs)
	if err != nil {
		s.mu.Lock()
		e.inflight[k]--
		s.mu.Unlock()
		return 0, 0, err
	}
	// The append is not cancelled with the caller's context: once queued it
	// lands, and an unindexed record would reappear after a restart.
	_, span := startSpan(ctx, "zoned.Append", attribute.Int("shingle.zone", s.lay.zone(e.slot, k)), attribute.Int("shingle.bytes", size))
	off, err := s.app.Append(context.Background(), s.lay.zone(e.slot, k), buf)
	endSpan(span, err)

	s.mu.Lock()
	e.inflight[k]--
	if err != nil {
		e.state = StateReadOnly
		e.damage = fmt.Sprintf("a write to zone %d failed: %v", s.lay.zone(e.slot, k), err)
		e.done[k] = true
		s.mu.Unlock()
		s.zoneFailed(e, k, err)
		return 0, 0, fmt.Errorf("%w: extent %d: %w", ErrReadOnly, e.id, err)
	}
	e.records++
	e.noteWritten(off-s.lay.info.ZoneStart(s.lay.zone(e.slot, 0)), buf, size)
	var finish []int
	if e.done[k] && e.inflight[k] == 0 {
		finish = []int{k}
	}
	s.mu.Unlock()
	s.finishDrained(e, finish)
	return k, off, nil
}

// finishDrained finishes zones the extent moved on from once nothing is
// being written to them, so they hold no open or active zone resources.
func (s *Store) finishDrained(e *extent, zones []int) {
	for _, k := range zones {
		s.mu.Lock()
		ready := e.inflight[k] == 0
		s.mu.Unlock()
		if ready {
			// A failure leaves the zone closed, which only costs a resource.
			_ = s.app.FinishZones(s.lay.zone(e.slot, k), 1)
		}
	}
}

// Put appends blob data under key to open extent id and returns where it
// went, once it is durable. A key that already has a live blob is refused
// with ErrExists; delete it first.
func (s *Store) Put(ctx context.Context, id uint64, key record.Key, data []byte) (index.Location, error) {
	return s.PutChecked(ctx, id, key, data, record.Checksum(data))
}

// PutChecked is Put for a caller that has the blob's CRC32C already, having
// checked it against the bytes it received: sum is stored as the record's
// checksum without being computed again (see record.EncodeWithChecksum).
// A sum that does not match data makes the blob fail every read.
func (s *Store) PutChecked(ctx context.Context, id uint64, key record.Key, data []byte, sum uint32) (index.Location, error) {
	return s.put(ctx, id, key, data, nil, sum)
}

// put is PutChecked with the buffer the record is encoded in (see
// appendRecordIn), or nil.
func (s *Store) put(ctx context.Context, id uint64, key record.Key, data, buf []byte, sum uint32) (loc index.Location, err error) {
	ctx, span := startSpan(ctx, "extent.Put", attribute.Int64("shingle.extent", int64(id)), attribute.Int("shingle.bytes", len(data)))
	defer func() { endSpan(span, err) }()
	if len(data) > record.MaxPayload {
		return index.Location{}, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, len(data), record.MaxPayload)
	}
	if err := ctx.Err(); err != nil {
		return index.Location{}, err
	}
	if _, err := s.find(key); err == nil {
		return index.Location{}, fmt.Errorf("%w: key %x", ErrExists, key[:8])
	} else if !errors.Is(err, ErrNotFound) {
		return index.Location{}, err
	}
	s.mu.Lock()
	e, err := s.writable(id)
	if err == nil && s.pending[key] {
		err = fmt.Errorf("%w: key %x is being written", ErrExists, key[:8])
	}
	if err != nil {
		s.mu.Unlock()
		return index.Location{}, err
	}
	s.pending[key] = true
	s.mu.Unlock()
	defer s.releaseKey(key)

	_, off, err := s.appendRecordIn(ctx, e, record.Header{Type: record.TypeBlob, Key: key}, data, buf, sum, appendUser)
	if err != nil {
		return index.Location{}, err
	}
	loc = e.location(s.lay, off, len(data))
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.idx.Insert(key[:], loc); err != nil {
		return index.Location{}, err
	}
	e.liveBytes += int64(record.Size(len(data), s.lay.info.LogicalBlockSize))
	return loc, nil
}

// Delete deletes the blob with key by appending a tombstone to open extent
// holder (any open extent; usually the one being written) and returns once
// the tombstone is durable.
func (s *Store) Delete(ctx context.Context, holder uint64, key record.Key) (err error) {
	ctx, span := startSpan(ctx, "extent.Delete", attribute.Int64("shingle.extent", int64(holder)))
	defer func() { endSpan(span, err) }()
	if err := ctx.Err(); err != nil {
		return err
	}
	// Hold the key so compaction cannot move the blob between finding it
	// and deleting it: the tombstone names the exact record it deletes.
	if err := s.claimKey(ctx, key); err != nil {
		return err
	}
	defer s.releaseKey(key)
	loc, err := s.find(key)
	if err != nil {
		return err
	}
	s.mu.Lock()
	h, err := s.writable(holder)
	target := s.slots[loc.Extent]
	s.mu.Unlock()
	if err != nil {
		return err
	}
	t := tombstoneTarget{extent: target.id, offset: loc.Offset, length: loc.Length}
	tomb := t.marshal()
	if _, _, err := s.appendRecord(ctx, h, record.Header{Type: record.TypeTombstone, Key: key}, tomb, record.Checksum(tomb), appendUser); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.idx.Delete(key[:], loc) {
		size := int64(record.Size(int(loc.Length), s.lay.info.LogicalBlockSize))
		target.liveBytes -= size
		target.deadBytes += size
	}
	h.deadBytes += int64(record.Size(tombstoneSize, s.lay.info.LogicalBlockSize))
	h.tombstoneTargets[target.id]++
	return nil
}

// claimKey waits until no put, delete or compaction works on key, then
// marks it taken until releaseKey.
func (s *Store) claimKey(ctx context.Context, key record.Key) error {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return ErrClosed
		}
		if !s.pending[key] {
			s.pending[key] = true
			s.mu.Unlock()
			return nil
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.tick():
		}
	}
}

func (s *Store) releaseKey(key record.Key) {
	s.mu.Lock()
	delete(s.pending, key)
	s.mu.Unlock()
}

// Seal ends open extent id: it waits for the records in flight, then
// appends a seal record carrying the record count, their size and a running
// checksum of them, and finishes the extent's zones.
func (s *Store) Seal(ctx context.Context, id uint64) error {
	s.mu.Lock()
	e, err := s.writable(id)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	e.closing = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		e.closing = false
		s.mu.Unlock()
	}()
	return s.seal(ctx, e)
}

// seal seals extent e, which the caller has claimed by setting e.closing:
// from the records the extent has written (e.written; nothing is read
// back) it makes the summary, appends the summary records and then the seal
// with the records' count and running checksum, all in one zone, finishes
// the zones and records the seal in the drive checkpoint. Without room for
// the summary (a drive with tiny zones), the seal goes alone and recovery
// reads the whole extent.
func (s *Store) seal(ctx context.Context, e *extent) error {
	if err := s.waitIdle(ctx, e); err != nil {
		return err
	}
	s.mu.Lock()
	written := slices.Clone(e.written)
	s.mu.Unlock()
	slices.SortFunc(written, func(a, b writtenRecord) int { return cmp.Compare(a.off, b.off) })
	var summary record.SummaryBuilder
	for _, w := range written {
		if record.Summarized(w.typ) {
			summary.Add(record.SummaryEntry{Type: w.typ, Offset: w.off, Length: w.length, Key: w.key, Inline: w.inline})
		}
	}
	bs := s.lay.info.LogicalBlockSize
	payloads := summary.Payloads()
	run := int64(record.Size(record.SealSize, bs))
	for _, p := range payloads {
		run += int64(record.Size(len(p), bs))
	}
	s.mu.Lock()
	fits, left := e.reserveRun(run, s.lay)
	s.mu.Unlock()
	s.finishDrained(e, left)
	var seal record.Seal
	if fits {
		base := s.lay.info.ZoneStart(s.lay.zone(e.slot, 0))
		for i, p := range payloads {
			_, off, err := s.appendRecord(ctx, e, record.Header{Type: record.TypeSummary}, p, record.Checksum(p), appendSeal)
			if err != nil {
				return err
			}
			if i == 0 {
				seal.SummaryOffset = off - base
			}
		}
		seal.SummaryRecords = uint32(len(payloads))
		s.mu.Lock()
		written = slices.Clone(e.written)
		s.mu.Unlock()
		slices.SortFunc(written, func(a, b writtenRecord) int { return cmp.Compare(a.off, b.off) })
	}
	for _, w := range written {
		seal.Records++
		seal.Bytes += uint64(w.size)
		seal.Checksum = record.ChainSums(seal.Checksum, w.off, w.headerCRC, w.payloadCRC)
	}
	sealed := seal.Marshal()
	_, off, err := s.appendRecord(ctx, e, record.Header{Type: record.TypeSeal}, sealed, record.Checksum(sealed), appendSeal)
	if err != nil {
		return err
	}
	s.mu.Lock()
	e.state = StateSealed
	e.sealOff = off - s.lay.info.ZoneStart(s.lay.zone(e.slot, 0))
	e.written = nil
	e.deadBytes += int64(record.Size(record.SealSize, bs))
	for _, p := range payloads[:min(len(payloads), int(seal.SummaryRecords))] {
		e.deadBytes += int64(record.Size(len(p), bs))
		e.summaryRecordBytes += int64(record.Size(len(p), bs))
	}
	var finish []int
	for k := range e.used {
		if e.used[k] > 0 && e.used[k] < s.lay.zoneCapacity {
			finish = append(finish, k)
		}
		e.done[k] = true
	}
	s.mu.Unlock()
	s.finishDrained(e, finish)
	s.checkpoint()
	return nil
}

// DeleteExtent removes extent id: its blobs leave the index and its zones
// are reset. An extent whose tombstones still delete blobs of other
// extents is refused: deleting it would bring those blobs back; compact it
// instead, which carries those tombstones over.
func (s *Store) DeleteExtent(ctx context.Context, id uint64) error {
	s.mu.Lock()
	e := s.byID[id]
	switch {
	case s.closed:
		s.mu.Unlock()
		return ErrClosed
	case e == nil:
		s.mu.Unlock()
		return fmt.Errorf("%w: no extent %d", ErrNotFound, id)
	case e.closing:
		s.mu.Unlock()
		return fmt.Errorf("%w: extent %d is being sealed, compacted or deleted", ErrSealed, id)
	case e.compactFrom != 0:
		s.mu.Unlock()
		return fmt.Errorf("extent: extent %d is the destination of an unfinished compaction of extent %d; compact %d again to finish it",
			id, e.compactFrom, e.compactFrom)
	}
	for target, n := range e.tombstoneTargets {
		if n > 0 && target != id && s.byID[target] != nil {
			s.mu.Unlock()
			return fmt.Errorf("extent: extent %d holds tombstones for blobs of extent %d; compact it, or delete or compact %d first",
				id, target, target)
		}
	}
	e.closing = true
	s.mu.Unlock()
	if err := s.drop(ctx, e); err != nil {
		s.mu.Lock()
		e.closing = false
		s.mu.Unlock()
		return err
	}
	return nil
}

// drop removes extent e, which the caller has claimed: its blobs leave the
// index, its zones are reset and its slot is freed.
func (s *Store) drop(ctx context.Context, e *extent) error {
	if err := s.waitIdle(ctx, e); err != nil {
		return err
	}
	err := s.records(e, func(off int64, h record.Header, _ []byte, size int) bool {
		if h.Type == record.TypeBlob {
			loc := index.Location{Extent: uint32(e.slot), Offset: off, Length: h.Length}
			s.mu.Lock()
			s.idx.Delete(h.Key[:], loc)
			s.mu.Unlock()
		}
		return true
	})
	if err != nil && e.state != StateReadOnly {
		return err
	}
	if err := s.app.ResetZones(s.lay.zone(e.slot, 0), s.lay.perExtent); err != nil {
		s.mu.Lock()
		e.state, e.damage = StateReadOnly, fmt.Sprintf("reset failed: %v", err)
		s.mu.Unlock()
		return fmt.Errorf("%w: deleting extent %d: %w", ErrReadOnly, e.id, err)
	}
	s.mu.Lock()
	s.slots[e.slot] = nil
	delete(s.byID, e.id)
	sealed := e.state == StateSealed
	s.mu.Unlock()
	if sealed {
		s.checkpoint()
	}
	return nil
}

// waitIdle waits until extent e has no appends in flight.
func (s *Store) waitIdle(ctx context.Context, e *extent) error {
	for {
		s.mu.Lock()
		n := e.inflightTotal()
		s.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.tick():
		}
	}
}
