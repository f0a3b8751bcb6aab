package extent_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/shingle-storage/shingle/agent/extent"
	"github.com/shingle-storage/shingle/agent/record"
)

// TestCreateExtentIDAndLiveBlobs checks that an extent created under an id
// the caller chose takes blobs under that id, that a second create of the
// same id is refused as such, and that LiveBlobs yields exactly the blobs
// neither deleted nor moved away, before and after a restart.
func TestCreateExtentIDAndLiveBlobs(t *testing.T) {
	dev, path := newDrive(t, smr)
	s := format(t, dev)
	const id = 7 << 16
	must(t, s.CreateExtentID(id))
	if err := s.CreateExtentID(id); !errors.Is(err, extent.ErrExtentExists) {
		t.Fatalf("second create of extent %d: %v, want ErrExtentExists", id, err)
	}
	if err := s.CreateExtentID(0); err == nil {
		t.Fatal("extent id 0 was accepted")
	}
	want := map[record.Key][]byte{}
	for i := range 40 {
		_, err := s.Put(ctx, id, key(i), blob(i, 1000+i*97))
		must(t, err)
		want[key(i)] = blob(i, 1000+i*97)
	}
	for i := 0; i < 40; i += 3 {
		must(t, s.Delete(ctx, id, key(i)))
		delete(want, key(i))
	}
	// An auto-numbered extent gets an id above the chosen one.
	other, err := s.CreateExtent()
	must(t, err)
	if other <= id {
		t.Fatalf("CreateExtent gave id %d, not above chosen id %d", other, id)
	}
	_, err = s.Put(ctx, other, key(1000), blob(1000, 10))
	must(t, err)

	check := func(when string) {
		t.Helper()
		got := map[record.Key]bool{}
		err := s.LiveBlobs(ctx, id, func(k record.Key, p []byte) error {
			if got[k] {
				t.Fatalf("%s: key %x twice", when, k[:4])
			}
			got[k] = true
			if !bytes.Equal(p, want[k]) {
				t.Fatalf("%s: key %x: %d bytes, want %d", when, k[:4], len(p), len(want[k]))
			}
			return nil
		})
		must(t, err)
		if len(got) != len(want) {
			t.Fatalf("%s: %d live blobs, want %d", when, len(got), len(want))
		}
	}
	check("open")
	must(t, s.Seal(ctx, id))
	check("sealed")
	s, _ = reopen(t, s, dev, path, extent.Options{})
	check("reopened")

	stop := errors.New("stop")
	n := 0
	if err := s.LiveBlobs(ctx, id, func(record.Key, []byte) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Fatalf("LiveBlobs with a callback that stops: err %v after %d calls", err, n)
	}
	if err := s.LiveBlobs(ctx, 999, func(record.Key, []byte) error { return nil }); !errors.Is(err, extent.ErrNotFound) {
		t.Fatalf("LiveBlobs of a missing extent: %v", err)
	}
}
