package extent_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/shingle-storage/shingle/agent/extent"
	"github.com/shingle-storage/shingle/zoned"
	"github.com/shingle-storage/shingle/zoned/errorzone"
)

// snapshot is what a store knows, to compare a recovery from the checkpoint
// with a full scan of the same drive.
type snapshot struct {
	extents []extent.Info
	blobs   map[int]string // key number → blob bytes, or the error
	count   int
}

func take(t *testing.T, s *extent.Store, keys int) snapshot {
	t.Helper()
	snap := snapshot{extents: s.List(), blobs: map[int]string{}, count: s.Stat().Blobs}
	slices.SortFunc(snap.extents, func(a, b extent.Info) int { return a.Slot - b.Slot })
	for i := range keys {
		b, err := s.Get(ctx, key(i))
		if err != nil {
			snap.blobs[i] = "error: " + err.Error()
		} else {
			snap.blobs[i] = string(b)
		}
	}
	return snap
}

// diff describes how b differs from a. With sameUsed false, extents' Used
// may differ: a running store counts the bytes written to a zone it has
// finished, a reopened one the whole zone.
func (a snapshot) diff(b snapshot, sameUsed bool) string {
	if a.count != b.count {
		return fmt.Sprintf("%d blobs indexed against %d", a.count, b.count)
	}
	if len(a.extents) != len(b.extents) {
		return fmt.Sprintf("%d extents against %d", len(a.extents), len(b.extents))
	}
	for i := range a.extents {
		x, y := a.extents[i], b.extents[i]
		if !sameUsed {
			x.Used, y.Used = 0, 0
		}
		if fmt.Sprint(x) != fmt.Sprint(y) {
			return fmt.Sprintf("extent in slot %d:\n  %+v\nagainst\n  %+v", x.Slot, x, y)
		}
	}
	for k, v := range a.blobs {
		if b.blobs[k] != v {
			return fmt.Sprintf("key %d reads %.40q against %.40q", k, v, b.blobs[k])
		}
	}
	return ""
}

func reopen(t *testing.T, s *extent.Store, dev *zoned.Emulator, path string, opts extent.Options) (*extent.Store, *zoned.Emulator) {
	t.Helper()
	must(t, s.Close())
	must(t, dev.Close())
	dev, err := zoned.OpenEmulator(path)
	must(t, err)
	t.Cleanup(func() { dev.Close() })
	opts.Cluster = cluster
	s, err = extent.Open(dev, opts)
	must(t, err)
	t.Cleanup(func() { s.Close() })
	return s, dev
}

// fillForCheckpoint leaves on s: sealed extents with blobs and deletes
// (some deleting blobs of other extents), a compacted extent, and an open
// extent, using keys 0..keys-1.
func fillForCheckpoint(t *testing.T, s *extent.Store) (keys int) {
	t.Helper()
	holder, err := s.CreateExtent()
	must(t, err)
	a := fillAndThin(t, s, holder, 0, 40)  // sealed; its deletes live in holder
	b := fillAndThin(t, s, holder, 40, 40) // sealed
	_ = fillAndThin(t, s, holder, 80, 20)  // sealed, left as is
	_, err = s.Compact(ctx, a, extent.CompactOptions{})
	must(t, err)
	must(t, s.Seal(ctx, holder)) // the tombstones' extent, sealed too
	open, err := s.CreateExtent()
	must(t, err)
	for i := 100; i < 120; i++ {
		_, err := s.Put(ctx, open, key(i), blob(i, 3000))
		must(t, err)
	}
	must(t, s.Delete(ctx, open, key(41)))
	_ = b
	return 120
}

// TestCheckpointRecoveryMatchesFullScan checks that opening a drive from
// its checkpoint and the sealed extents' summaries rebuilds exactly what a
// full read of every extent does: the same extents with the same
// accounting, the same blobs, the same deletes, on a drive with
// conventional zones (checkpoint in conventional space) and on one without
// (checkpoint in sequential zones).
func TestCheckpointRecoveryMatchesFullScan(t *testing.T) {
	zns := zoned.EmulatorConfig{ZoneSize: 1 << 20, ZoneCapacity: 768 << 10, ZoneCount: 44, MaxOpenZones: 8, MaxActiveZones: 12}
	for name, cfg := range map[string]zoned.EmulatorConfig{"smr": smr, "zns": zns} {
		t.Run(name, func(t *testing.T) {
			dev, path := newDrive(t, cfg)
			s := format(t, dev)
			keys := fillForCheckpoint(t, s)
			if st := s.Stat().Checkpoint; st.Generation == 0 || st.Extents == 0 || st.Err != "" {
				t.Fatalf("no checkpoint was written: %+v", st)
			}
			before := take(t, s, keys)

			s, dev = reopen(t, s, dev, path, extent.Options{})
			fast := take(t, s, keys)
			st := s.Stat().Checkpoint
			sealed := 0
			for _, in := range fast.extents {
				if in.State == extent.StateSealed {
					sealed++
				}
			}
			if st.Recovered != sealed || st.Scanned != len(fast.extents)-sealed {
				t.Fatalf("recovered %d extents from summaries and scanned %d; want %d and %d", st.Recovered, st.Scanned,
					sealed, len(fast.extents)-sealed)
			}

			s, dev = reopen(t, s, dev, path, extent.Options{FullScan: true})
			full := take(t, s, keys)
			if st := s.Stat().Checkpoint; st.Recovered != 0 {
				t.Fatalf("a full scan recovered %d extents from summaries", st.Recovered)
			}
			if d := fast.diff(full, true); d != "" {
				t.Fatalf("recovery from the checkpoint differs from a full scan: %s", d)
			}
			if d := before.diff(full, false); d != "" {
				t.Fatalf("after a restart the store differs from before it: %s", d)
			}
		})
	}
}

// TestStaleCheckpoint checks that recovery does not trust the checkpoint:
// when the newest checkpoint is damaged, the older one lists an extent that
// was deleted since and misses one sealed since, and recovery still
// rebuilds exactly what a full scan does, then writes a fresh checkpoint.
func TestStaleCheckpoint(t *testing.T) {
	dev, path := newDrive(t, smr)
	s := format(t, dev)
	holder, err := s.CreateExtent()
	must(t, err)
	a := fillAndThin(t, s, holder, 0, 20)
	_ = fillAndThin(t, s, holder, 20, 20)
	gen := s.Stat().Checkpoint.Generation
	// The next two checkpoints: one after deleting a, one after sealing
	// holder. a's slot is reused by a new extent afterwards.
	must(t, s.Seal(ctx, holder))
	_, err = s.Compact(ctx, a, extent.CompactOptions{})
	must(t, err)
	fresh, err := s.CreateExtent()
	must(t, err)
	for i := 200; i < 210; i++ {
		_, err := s.Put(ctx, fresh, key(i), blob(i, 5000))
		must(t, err)
	}
	must(t, s.Seal(ctx, fresh))
	last := s.Stat().Checkpoint.Generation
	if last < gen+3 {
		t.Fatalf("checkpoint generation went from %d to %d; want a checkpoint per seal and deletion", gen, last)
	}
	keys := 210
	must(t, s.Close())

	// Damage the newest checkpoint: the other area holds the one before.
	info := dev.Info()
	bs := info.LogicalBlockSize
	half := (info.ZoneStart(info.ConventionalZones) - int64(2*bs)) / 2 / int64(bs) * int64(bs)
	at := int64(2*bs) + int64(last%2)*half
	junk := zoned.AlignedBuffer(bs, bs)
	_, err = dev.ReadAt(junk, at)
	must(t, err)
	junk[100] ^= 0xFF
	_, err = dev.WriteAt(junk, at)
	must(t, err)
	must(t, dev.Sync())
	s, err = extent.Open(dev, extent.Options{Cluster: cluster})
	must(t, err)
	st := s.Stat().Checkpoint
	if st.Scanned == 0 {
		t.Fatalf("recovery scanned nothing although the checkpoint it used was stale: %+v", st)
	}
	if st.Generation <= last-1 {
		t.Fatalf("no fresh checkpoint after recovering from a stale one: %+v", st)
	}
	fast := take(t, s, keys)
	s, dev = reopen(t, s, dev, path, extent.Options{FullScan: true})
	if d := fast.diff(take(t, s, keys), true); d != "" {
		t.Fatalf("recovery from a stale checkpoint differs from a full scan: %s", d)
	}
	s, _ = reopen(t, s, dev, path, extent.Options{})
	if st := s.Stat().Checkpoint; st.Scanned != 0 {
		t.Fatalf("after the fresh checkpoint, recovery still scanned %d extents", st.Scanned)
	}
}

// TestRecoveryFinishesIdleZones checks that zones a crash left open or
// closed although they take no more records (here: the finishes after a
// seal failed) are finished when the drive is next opened, so they stop
// holding the device's few active-zone resources.
func TestRecoveryFinishesIdleZones(t *testing.T) {
	dev, path := newDrive(t, smr)
	s := format(t, dev)
	must(t, s.Close())
	faulty := errorzone.Wrap(dev, nil)
	s, err := extent.Open(faulty, extent.Options{Cluster: cluster})
	must(t, err)
	id, err := s.CreateExtent()
	must(t, err)
	for i := range 60 { // 60 blobs of 20 KiB: two of the four 1 MiB zones
		_, err := s.Put(ctx, id, key(i), blob(i, 20<<10))
		must(t, err)
	}
	faulty.SetInjector(errorzone.OnZones(errorzone.Manage, smr.ConventionalZones, smr.ZoneCount))
	must(t, s.Seal(ctx, id))
	faulty.SetInjector(nil)
	var zones []int
	for _, in := range s.List() {
		zones = in.Zones
	}
	active := func() int {
		n := 0
		for _, zi := range zones {
			z, err := zoned.ReportZone(dev, zi)
			must(t, err)
			if z.Cond == zoned.CondImplicitOpen || z.Cond == zoned.CondExplicitOpen || z.Cond == zoned.CondClosed {
				n++
			}
		}
		return n
	}
	if active() == 0 {
		t.Fatal("the injected failures left no zone active; the test sets up nothing")
	}
	s, dev = reopen(t, s, dev, path, extent.Options{})
	if n := active(); n != 0 {
		t.Fatalf("after reopening, %d zones of the sealed extent still hold active-zone resources", n)
	}
	checkBlobs := take(t, s, 60)
	for i := range 60 {
		if checkBlobs.blobs[i] != string(blob(i, 20<<10)) {
			t.Fatalf("blob %d lost", i)
		}
	}
}
