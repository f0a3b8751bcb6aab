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
