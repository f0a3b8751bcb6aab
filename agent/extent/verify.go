package extent

import (
	"context"
	"fmt"

	"github.com/shingle-storage/shingle/agent/record"
)

// ErrVerify means a sealed extent does not match its seal.
var ErrVerify = fmt.Errorf("%w: extent does not match its seal", ErrCorrupt)

// Verify reads sealed extent id back and checks it against its seal: every
// record's checksums, their number, their encoded size and the running
// checksum of the whole extent. It is what a scrubber runs; an error
// wrapping ErrVerify (or ErrCorrupt) says what does not match, and the
// fleet should repair the extent from other copies.
func (s *Store) Verify(ctx context.Context, id uint64) error {
	s.mu.Lock()
	e := s.byID[id]
	var state State
	if e != nil {
		state = e.state
	}
	s.mu.Unlock()
	switch {
	case e == nil:
		return fmt.Errorf("%w: no extent %d", ErrNotFound, id)
	case state != StateSealed:
		return fmt.Errorf("extent: extent %d is %v; only sealed extents can be verified", id, state)
	}
	var got record.Seal
	var want *record.Seal
	var bad error
	err := s.records(e, func(off int64, h record.Header, raw []byte, size int) bool {
		if err := ctx.Err(); err != nil {
			bad = err
			return false
		}
		if h.Type == record.TypeSeal {
			seal, err := record.UnmarshalSeal(raw[record.HeaderSize : record.HeaderSize+int(h.Length)])
			if err != nil {
				bad = fmt.Errorf("%w: extent %d: its seal at offset %d does not decode: %v", ErrVerify, id, off, err)
			}
			want = &seal
			return false
		}
		got.Records++
		got.Bytes += uint64(size)
		got.Checksum = record.Chain(got.Checksum, off, raw)
		return true
	})
	switch {
	case err != nil:
		return fmt.Errorf("extent: verifying extent %d: %w", id, err)
	case bad != nil:
		return bad
	case want == nil:
		return fmt.Errorf("%w: extent %d: no seal found after %d readable records", ErrVerify, id, got.Records)
	case got.Records != want.Records || got.Bytes != want.Bytes || got.Checksum != want.Checksum:
		return fmt.Errorf("%w: extent %d: read %d records, %d bytes, checksum %08x; the seal says %d, %d, %08x",
			ErrVerify, id, got.Records, got.Bytes, got.Checksum, want.Records, want.Bytes, want.Checksum)
	}
	return nil
}
