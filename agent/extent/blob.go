package extent

import (
	"context"
	"errors"
	"fmt"

	"github.com/shingle-storage/shingle/agent/index"
	"github.com/shingle-storage/shingle/agent/record"
)

// Blob is a buffer for one blob's bytes laid out as the record that will
// carry them: room for the record's header before the bytes, and for its
// trailer and padding after, in an aligned buffer from the store's pool.
// A caller that receives a blob over the network reads it into Bytes, and
// PutBlob writes the record from the same buffer: on a data path that
// already spends its CPU on TLS and sockets, not copying every blob once
// more is worth a tenth of the agent's time. Put and PutChecked copy.
// GetBlob is the other way: it reads a blob's record into a pooled buffer
// for a caller that sends the bytes on and is then done with them.
//
// A Blob is used by one goroutine; give it back with Release.
type Blob struct {
	s   *Store
	buf []byte
	n   int
}

// NewBlob returns a Blob with room for up to max bytes, its length max.
func (s *Store) NewBlob(max int) *Blob {
	return &Blob{s: s, buf: s.bufs.get(record.Size(max, s.lay.info.LogicalBlockSize)), n: max}
}

// Bytes returns the blob's bytes, to read the blob into. The slice is
// clipped: appending to it cannot reach the record's trailer.
func (b *Blob) Bytes() []byte {
	return b.buf[record.HeaderSize : record.HeaderSize+b.n : record.HeaderSize+b.n]
}

// SetLen sets the blob's length, at most the max it was made with: a
// blob read from a body of unknown length is made as large as a blob may
// be, then cut to what arrived.
func (b *Blob) SetLen(n int) error {
	if n < 0 || record.Size(n, b.s.lay.info.LogicalBlockSize) > len(b.buf) {
		return fmt.Errorf("extent: blob length %d does not fit its %d-byte buffer", n, len(b.buf))
	}
	b.n = n
	return nil
}

// Release gives the buffer back to the store's pool; b must not be used
// afterwards.
func (b *Blob) Release() {
	b.s.bufs.put(b.buf)
	b.buf = nil
}

// PutBlob is PutChecked for a blob read into a Blob of this store: the
// record is encoded around the bytes where they are. sum is the blob's
// CRC32C, checked by the caller as the bytes arrived.
func (s *Store) PutBlob(ctx context.Context, id uint64, key record.Key, b *Blob, sum uint32) (index.Location, error) {
	if b.s != s {
		return index.Location{}, errors.New("extent: PutBlob was given a Blob made by another store; make it with this store's NewBlob")
	}
	return s.put(ctx, id, key, b.Bytes(), b.buf, sum)
}

// GetBlob is GetChecked for a caller that is done with the blob once it
// has sent it on: the record is read into a buffer from the store's pool,
// which Release gives back, rather than into fresh memory the runtime
// must zero and later collect (6% of all CPU in a profile of the agent's
// 4 MiB gets, clients' included). The Blob's Bytes are the blob.
func (s *Store) GetBlob(ctx context.Context, key record.Key) (*Blob, uint32, error) {
	payload, sum, buf, err := s.get(ctx, key, true)
	if err != nil {
		return nil, 0, err
	}
	return &Blob{s: s, buf: buf, n: len(payload)}, sum, nil
}
