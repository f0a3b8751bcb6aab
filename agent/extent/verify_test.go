package extent_test

import (
	"errors"
	"testing"

	"github.com/shingle-storage/shingle/agent/extent"
	"github.com/shingle-storage/shingle/zoned/errorzone"
)

// verifySealed checks every sealed extent of s against its seal.
func verifySealed(t *testing.T, s *extent.Store) int {
	t.Helper()
	n := 0
	for _, in := range s.List() {
		if in.State != extent.StateSealed {
			continue
		}
		if err := s.Verify(ctx, in.ID); err != nil {
			t.Fatalf("sealed extent %d: %v", in.ID, err)
		}
		n++
	}
	return n
}

// TestVerify checks that seals computed from what the store wrote (nothing
// is read back when sealing) match what a read of the extents finds,
// before and after a restart, and that a flipped byte in a sealed extent is
// caught.
func TestVerify(t *testing.T) {
	dev, path := newDrive(t, smr)
	s := format(t, dev)
	fillForCheckpoint(t, s)
	if n := verifySealed(t, s); n < 4 {
		t.Fatalf("only %d sealed extents to verify", n)
	}
	s, dev = reopen(t, s, dev, path, extent.Options{})
	verifySealed(t, s)
	// A sealed extent whose open life spanned a restart: its first
	// records are known from the recovery scan, the rest from the writes.
	id, err := s.CreateExtent()
	must(t, err)
	for i := 500; i < 510; i++ {
		_, err := s.Put(ctx, id, key(i), blob(i, 7000))
		must(t, err)
	}
	s, dev = reopen(t, s, dev, path, extent.Options{})
	for i := 510; i < 520; i++ {
		_, err := s.Put(ctx, id, key(i), blob(i, 7000))
		must(t, err)
	}
	must(t, s.Seal(ctx, id))
	must(t, s.Verify(ctx, id))

	if err := s.Verify(ctx, 12345); !errors.Is(err, extent.ErrNotFound) {
		t.Fatalf("verifying a missing extent: %v", err)
	}
	// Flip one byte of a blob's payload in the middle of the sealed extent,
	// as bit rot would: reads succeed, only checksums notice.
	var zone int
	for _, in := range s.List() {
		if in.ID == id {
			zone = in.Zones[0]
		}
	}
	must(t, s.Close())
	faulty := errorzone.Wrap(dev, errorzone.FlipByte(dev.Info().ZoneStart(zone)+3*8192+1000))
	s, err = extent.Open(faulty, extent.Options{Cluster: cluster, FullScan: true})
	must(t, err)
	defer s.Close()
	if err := s.Verify(ctx, id); !errors.Is(err, extent.ErrVerify) {
		t.Fatalf("verifying an extent with a flipped byte: %v, want ErrVerify", err)
	}
}
