package extent_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shingle-storage/shingle/agent/extent"
	"github.com/shingle-storage/shingle/agent/record"
	"github.com/shingle-storage/shingle/zoned"
)

// fillAndThin puts n blobs into a new extent, deletes every other one
// (tombstones in holder), and seals the extent. It returns the extent.
func fillAndThin(t *testing.T, s *extent.Store, holder uint64, first, n int) uint64 {
	t.Helper()
	id, err := s.CreateExtent()
	must(t, err)
	for i := first; i < first+n; i++ {
		if _, err := s.Put(ctx, id, key(i), blob(i, 20<<10)); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	for i := first; i < first+n; i += 2 {
		must(t, s.Delete(ctx, holder, key(i)))
	}
	must(t, s.Seal(ctx, id))
	return id
}

// checkThinned checks that of blobs first..first+n (of size bytes, 20 KiB
// unless given), the odd ones read back and the even ones stay deleted.
func checkThinned(t *testing.T, s *extent.Store, first, n int, size ...int) {
	sz := 20 << 10
	if len(size) > 0 {
		sz = size[0]
	}
	t.Helper()
	for i := first; i < first+n; i++ {
		got, err := s.Get(ctx, key(i))
		switch {
		case (i-first)%2 == 0 && !errors.Is(err, extent.ErrNotFound):
			t.Fatalf("deleted blob %d: %v", i, err)
		case (i-first)%2 == 1 && err != nil:
			t.Fatalf("live blob %d: %v", i, err)
		case (i-first)%2 == 1 && !bytes.Equal(got, blob(i, sz)):
			t.Fatalf("live blob %d reads back different bytes", i)
		}
	}
}

func TestCompactMovesLiveBlobsAndFreesZones(t *testing.T) {
	dev, path := newDrive(t, smr)
	s := format(t, dev)
	holder, err := s.CreateExtent()
	must(t, err)
	src := fillAndThin(t, s, holder, 0, 40)
	if c := s.Candidates(0.3); len(c) != 1 || c[0].ID != src {
		t.Fatalf("candidates at 30%% dead: %+v, want extent %d", c, src)
	}
	before := s.Stat().FreeZones
	dst, err := s.Compact(ctx, src, extent.CompactOptions{})
	must(t, err)
	if err := s.Records(src, func(int64, record.Header, []byte) bool { return true }); !errors.Is(err, extent.ErrNotFound) {
		t.Fatalf("the compacted extent is still there: %v", err)
	}
	checkThinned(t, s, 0, 40)
	for i := 1; i < 40; i += 2 {
		if got, err := s.Locate(key(i)); err != nil || got != dst {
			t.Fatalf("blob %d is in extent %d (%v), want %d", i, got, err, dst)
		}
	}
	var in extent.Info
	for _, x := range s.List() {
		if x.ID == dst {
			in = x
		}
	}
	if in.State != extent.StateSealed || in.CompactingFrom != 0 || in.LiveBytes == 0 {
		t.Fatalf("destination after compaction: %+v", in)
	}
	// Same zone count in use: one extent replaced another.
	if after := s.Stat().FreeZones; after != before {
		t.Fatalf("free zones %d after compaction, %d before", after, before)
	}
	s, dev = restart(t, s, dev, path)
	checkThinned(t, s, 0, 40)
}

// Two sealed extents whose tombstones delete each other's blobs cannot be
// deleted; compacting one carries its tombstones over and frees both.
func TestCompactBreaksTombstoneCycle(t *testing.T) {
	dev, path := newDrive(t, smr)
	s := format(t, dev)
	a, err := s.CreateExtent()
	must(t, err)
	b, err := s.CreateExtent()
	must(t, err)
	for i := range 10 {
		_, err := s.Put(ctx, a, key(i), blob(i, 8<<10))
		must(t, err)
		_, err = s.Put(ctx, b, key(100+i), blob(100+i, 8<<10))
		must(t, err)
	}
	for i := 0; i < 10; i += 2 {
		must(t, s.Delete(ctx, b, key(i)))     // b deletes a's blobs
		must(t, s.Delete(ctx, a, key(100+i))) // a deletes b's blobs
	}
	must(t, s.Seal(ctx, a))
	must(t, s.Seal(ctx, b))
	if err := s.DeleteExtent(ctx, a); err == nil {
		t.Fatal("deleting an extent whose tombstones still matter was allowed")
	}
	c, err := s.Compact(ctx, a, extent.CompactOptions{})
	must(t, err)
	// a is gone, so b's tombstones no longer matter and b can go; c now
	// holds the tombstones for b's blobs, and must not go before b.
	if err := s.DeleteExtent(ctx, c); err == nil {
		t.Fatal("deleting the compacted extent, which holds tombstones for b, was allowed")
	}
	checkThinned(t, s, 0, 10, 8<<10)
	checkThinned(t, s, 100, 10, 8<<10)
	s, dev = restart(t, s, dev, path)
	checkThinned(t, s, 0, 10, 8<<10)
	checkThinned(t, s, 100, 10, 8<<10)
	must(t, s.DeleteExtent(ctx, b))
	must(t, s.DeleteExtent(ctx, c))
}

// Cancelling a compaction leaves a destination that recovery and a second
// Compact both understand: nothing is lost or duplicated.
func TestCompactInterruptedAndResumed(t *testing.T) {
	dev, path := newDrive(t, smr)
	s := format(t, dev)
	holder, err := s.CreateExtent()
	must(t, err)
	src := fillAndThin(t, s, holder, 0, 60)
	// 20 KiB blobs at 100 KiB/s: the cancel lands after a few.
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := s.Compact(cctx, src, extent.CompactOptions{BytesPerSecond: 100 << 10}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("interrupted compaction: %v", err)
	}
	dst := compactingInto(t, s, src)
	checkThinned(t, s, 0, 60)

	// A restart in the middle: the moved blobs are read from the copy.
	s, dev = restart(t, s, dev, path)
	if got := compactingInto(t, s, src); got != dst {
		t.Fatalf("after restart the compaction of %d goes into %d, before it went into %d", src, got, dst)
	}
	checkThinned(t, s, 0, 60)
	// Deleting a moved blob must stay deleted after the source goes.
	must(t, s.Delete(ctx, holder, key(1)))
	if _, err := s.Compact(ctx, src, extent.CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	s, dev = restart(t, s, dev, path)
	if _, err := s.Get(ctx, key(1)); !errors.Is(err, extent.ErrNotFound) {
		t.Fatalf("a blob deleted during compaction came back: %v", err)
	}
	for i := 3; i < 60; i += 2 {
		if got, err := s.Get(ctx, key(i)); err != nil || !bytes.Equal(got, blob(i, 20<<10)) {
			t.Fatalf("blob %d after the resumed compaction: %v", i, err)
		}
	}
}

// compactingInto returns the destination of src's unfinished compaction.
func compactingInto(t *testing.T, s *extent.Store, src uint64) uint64 {
	t.Helper()
	for _, in := range s.List() {
		if in.CompactingFrom == src {
			return in.ID
		}
	}
	t.Fatalf("no unfinished compaction of %d in %+v", src, s.List())
	return 0
}

// A crash at any moment of a compaction loses nothing and brings nothing
// deleted back.
func TestCompactCrashAtRandomMoments(t *testing.T) {
	for round := range 12 {
		dev, path := newDrive(t, smr)
		s := format(t, dev)
		holder, err := s.CreateExtent()
		must(t, err)
		src := fillAndThin(t, s, holder, 0, 40)
		done := make(chan error, 1)
		go func() {
			_, err := s.Compact(ctx, src, extent.CompactOptions{BytesPerSecond: 2 << 20})
			done <- err
		}()
		time.Sleep(time.Duration(round) * 40 * time.Millisecond)
		dev.Crash(zoned.CrashOptions{TearLastWrite: true})
		<-done
		s.Close()
		must(t, dev.Close())
		dev, err = zoned.OpenEmulator(path)
		must(t, err)
		s, err = extent.Open(dev, extent.Options{Cluster: cluster})
		if err != nil {
			t.Fatalf("round %d: open after a crash during compaction: %v", round, err)
		}
		checkThinned(t, s, 0, 40)
		// Whatever state it was left in, compaction can finish.
		for _, in := range s.List() {
			if in.ID == src || in.CompactingFrom == src {
				if _, err := s.Compact(ctx, src, extent.CompactOptions{}); err != nil {
					t.Fatalf("round %d: finishing the compaction: %v", round, err)
				}
				break
			}
		}
		checkThinned(t, s, 0, 40)
		// The finished compaction's destination is sealed with a summary
		// and listed in the checkpoint: a restart that trusts them must
		// find every blob, as must one that reads everything.
		for _, opts := range []extent.Options{{Cluster: cluster}, {Cluster: cluster, FullScan: true}} {
			s.Close()
			must(t, dev.Close())
			dev, err = zoned.OpenEmulator(path)
			must(t, err)
			if s, err = extent.Open(dev, opts); err != nil {
				t.Fatalf("round %d: reopen (full scan %v) after finishing the compaction: %v", round, opts.FullScan, err)
			}
			checkThinned(t, s, 0, 40)
		}
		s.Close()
		dev.Close()
	}
}

func TestCompactThrottles(t *testing.T) {
	dev, _ := newDrive(t, smr)
	defer dev.Close()
	s := format(t, dev)
	defer s.Close()
	holder, err := s.CreateExtent()
	must(t, err)
	src := fillAndThin(t, s, holder, 0, 20)
	// 10 live blobs of 24 KiB encoded at 600 KiB/s take at least 0.4 s.
	start := time.Now()
	_, err = s.Compact(ctx, src, extent.CompactOptions{BytesPerSecond: 600 << 10})
	must(t, err)
	if d := time.Since(start); d < 350*time.Millisecond {
		t.Fatalf("compaction capped at 600 KiB/s copied 240 KiB in %v", d)
	}
}

func TestCompactRefusals(t *testing.T) {
	dev, _ := newDrive(t, smr)
	defer dev.Close()
	s := format(t, dev)
	defer s.Close()
	id, err := s.CreateExtent()
	must(t, err)
	if _, err := s.Compact(ctx, id, extent.CompactOptions{}); err == nil {
		t.Fatal("compacting an open extent was allowed")
	}
	if _, err := s.Compact(ctx, 12345, extent.CompactOptions{}); !errors.Is(err, extent.ErrNotFound) {
		t.Fatalf("compacting a missing extent: %v", err)
	}
}

// TestCandidatesSkipExtentsWithNothingToReclaim checks that an extent with
// no deleted data is not worth compacting: its seal, summary and (for a
// compaction's destination) origin cost the same again in a new extent.
// Offering it anyway made compaction churn without ever freeing a slot.
func TestCandidatesSkipExtentsWithNothingToReclaim(t *testing.T) {
	dev, path := newDrive(t, smr)
	s := format(t, dev)
	id, err := s.CreateExtent()
	must(t, err)
	for i := range 20 {
		_, err := s.Put(ctx, id, key(i), blob(i, 20<<10))
		must(t, err)
	}
	must(t, s.Seal(ctx, id))
	if c := s.Candidates(0); len(c) != 0 {
		t.Fatalf("an extent without garbage is a candidate: %+v", c)
	}
	dst, err := s.Compact(ctx, id, extent.CompactOptions{})
	must(t, err)
	s, _ = reopen(t, s, dev, path, extent.Options{})
	if c := s.Candidates(0); len(c) != 0 {
		t.Fatalf("the compacted extent %d is a candidate again after a restart: %+v", dst, c)
	}
	holder, err := s.CreateExtent()
	must(t, err)
	for i := range 10 {
		must(t, s.Delete(ctx, holder, key(i)))
	}
	if c := s.Candidates(0.2); len(c) != 1 || c[0].ID != dst {
		t.Fatalf("after deleting half its blobs, candidates are %+v; want extent %d", c, dst)
	}
}

// TestCompactIntoNamedExtentAndReuseTheSourceID compacts into an id the
// caller chose, then gives the compacted extent's id to a new extent, as
// an agent does when fleetd names extents: after a restart the new
// extent must survive, though the compaction's destination still names
// its id as the extent it was compacted from.
func TestCompactIntoNamedExtentAndReuseTheSourceID(t *testing.T) {
	dev, path := newDrive(t, smr)
	s := format(t, dev)
	holder, err := s.CreateExtent()
	must(t, err)
	src := fillAndThin(t, s, holder, 0, 20)
	if _, err := s.Compact(ctx, src, extent.CompactOptions{ID: holder}); !errors.Is(err, extent.ErrExtentExists) {
		t.Fatalf("compacting into an id in use: %v, want ErrExtentExists", err)
	}
	dst, err := s.Compact(ctx, src, extent.CompactOptions{ID: 7777})
	must(t, err)
	if dst != 7777 {
		t.Fatalf("compacted into extent %d, want 7777", dst)
	}
	must(t, s.CreateExtentID(src))
	for i := 100; i < 110; i++ {
		if _, err := s.Put(ctx, src, key(i), blob(i, 4<<10)); err != nil {
			t.Fatal(err)
		}
	}
	must(t, s.Seal(ctx, src))
	for _, full := range []bool{false, true} {
		s, dev = reopen(t, s, dev, path, extent.Options{FullScan: full})
		checkThinned(t, s, 0, 20)
		for i := 100; i < 110; i++ {
			if got, err := s.Get(ctx, key(i)); err != nil || !bytes.Equal(got, blob(i, 4<<10)) {
				t.Fatalf("full scan %v: blob %d of the extent that reused id %d: %v", full, i, src, err)
			}
		}
	}
}
