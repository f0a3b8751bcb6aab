package extent_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/shingle-storage/shingle/agent/extent"
	"github.com/shingle-storage/shingle/agent/record"
)

// TestBlobIsWrittenWhereItWasRead puts blobs read into a Blob, as the
// data path does: of the length made, cut shorter (a body of unknown
// length), and empty; each reads back and survives a restart. A Blob
// of another store, and a length past its buffer, are refused.
func TestBlobIsWrittenWhereItWasRead(t *testing.T) {
	dev, path := newDrive(t, smr)
	s := format(t, dev)
	id, err := s.CreateExtent()
	must(t, err)
	want := map[record.Key][]byte{}
	for i, c := range []struct{ made, n int }{{5000, 5000}, {record.MaxPayload + 1, 70000}, {0, 0}, {4096 - record.HeaderSize - record.TrailerSize, 4096 - record.HeaderSize - record.TrailerSize}} {
		b := s.NewBlob(c.made)
		if len(b.Bytes()) != c.made {
			t.Fatalf("NewBlob(%d) has %d bytes", c.made, len(b.Bytes()))
		}
		// Garbage beyond the blob must not reach the record.
		for j := range b.Bytes() {
			b.Bytes()[j] = 0xEE
		}
		must(t, b.SetLen(c.n))
		data := blob(i, c.n)
		copy(b.Bytes(), data)
		if _, err := s.PutBlob(ctx, id, key(i), b, record.Checksum(data)); err != nil {
			t.Fatalf("PutBlob of %d bytes: %v", c.n, err)
		}
		b.Release()
		want[key(i)] = data
	}
	check := func(s *extent.Store, when string) {
		for k, data := range want {
			got, err := s.Get(ctx, k)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("%s: get of a %d-byte blob put from a Blob: %d bytes, %v", when, len(data), len(got), err)
			}
		}
	}
	check(s, "after the puts")
	s, _ = restart(t, s, dev, path)
	check(s, "after a restart")

	b := s.NewBlob(100)
	defer b.Release()
	if err := b.SetLen(100000); err == nil {
		t.Fatal("SetLen past the Blob's buffer was accepted")
	}
	otherDev, _ := newDrive(t, smr)
	other := format(t, otherDev)
	oid, err := other.CreateExtent()
	must(t, err)
	if _, err := other.PutBlob(ctx, oid, key(99), b, 0); err == nil {
		t.Fatal("PutBlob took a Blob made by another store")
	}
	if _, err := s.Get(ctx, key(99)); !errors.Is(err, extent.ErrNotFound) {
		t.Fatalf("get after a refused PutBlob: %v, want not found", err)
	}
}

// TestGetBlobReadsIntoThePool gets blobs of several sizes into pooled
// Blobs, as the data path does, releasing each before the next, and checks
// each against Get: the same bytes and checksum, and a slice from Get
// that a later GetBlob's reuse of the pool does not touch. A missing key
// is not found.
func TestGetBlobReadsIntoThePool(t *testing.T) {
	dev, _ := newDrive(t, smr)
	s := format(t, dev)
	id, err := s.CreateExtent()
	must(t, err)
	sizes := []int{0, 1, 5000, 70000, 300000}
	for i, n := range sizes {
		_, err := s.Put(ctx, id, key(i), blob(i, n))
		must(t, err)
	}
	kept, err := s.Get(ctx, key(3))
	must(t, err)
	for round := range 2 {
		for i, n := range sizes {
			b, sum, err := s.GetBlob(ctx, key(i))
			if err != nil {
				t.Fatalf("GetBlob of a %d-byte blob: %v", n, err)
			}
			if !bytes.Equal(b.Bytes(), blob(i, n)) || sum != record.Checksum(blob(i, n)) {
				t.Fatalf("round %d: GetBlob of a %d-byte blob: %d bytes, checksum %08x, want %08x", round, n, len(b.Bytes()), sum, record.Checksum(blob(i, n)))
			}
			// Scribble over the pooled buffer before it goes back, as a
			// caller's later use of the pool would.
			for j := range b.Bytes() {
				b.Bytes()[j] = 0xEE
			}
			b.Release()
		}
	}
	if !bytes.Equal(kept, blob(3, sizes[3])) {
		t.Fatal("a blob from Get changed when GetBlob's buffers were reused")
	}
	if _, _, err := s.GetBlob(ctx, key(99)); !errors.Is(err, extent.ErrNotFound) {
		t.Fatalf("GetBlob of a missing key: %v, want ErrNotFound", err)
	}
}
