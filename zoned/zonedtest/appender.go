package zonedtest

import (
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/shingle-storage/shingle/zoned"
	"github.com/shingle-storage/shingle/zoned/errorzone"
)

// appenderCases check the Appender's group commit and its recovery from
// failed writes on every backend.
var appenderCases = []testCase{
	{"AppenderConcurrentOffsets", func(t *testing.T, s *suite) {
		z := s.seq(t, 0)
		a, err := zoned.NewAppender(s.dev, zoned.AppenderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		bs := s.info.LogicalBlockSize
		// 64 appenders, 2 appends each of 1-3 blocks: at most 384 blocks,
		// which fits the smallest zone the suite runs on.
		const appenders, each = 64, 2
		perZone := int(s.info.ZoneCapacity) / bs
		if appenders*each*3 > perZone {
			t.Fatalf("zone capacity of %d blocks is too small for the case", perZone)
		}
		results := s.runAppenders(t, appenders, each, 3, func(ctx context.Context, data []byte) (int, int64, error) {
			off, err := a.Append(ctx, z, data)
			return z, off, err
		})
		s.checkAppends(t, results)
	}},
	{"AppenderAnyZone", func(t *testing.T, s *suite) {
		pool := []int{s.seq(t, 0), s.seq(t, 1), s.seq(t, 2), s.seq(t, 3)}
		a, err := zoned.NewAppender(s.dev, zoned.AppenderOptions{Zones: pool, MaxActiveZones: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		bs := s.info.LogicalBlockSize
		// About two and a half zones of data (appends average 4.5
		// blocks), so the pool rolls over past the two active zones.
		perZone := int(s.info.ZoneCapacity) / bs
		each := perZone*5/(2*64*9/2) + 1
		results := s.runAppenders(t, 64, each, 8, a.AppendAny)
		s.checkAppends(t, results)
		used := map[int]bool{}
		for _, r := range results {
			used[r.zone] = true
			if !slices.Contains(pool, r.zone) {
				t.Fatalf("append landed in zone %d outside the pool %v", r.zone, pool)
			}
		}
		if len(used) < 3 {
			t.Fatalf("appends used zones %v; expected the pool to roll over past two zones", used)
		}
		// A zone the appender moved on from was finished, so it holds no
		// active resource; at most two zones are open now.
		conds := s.countConds(t)
		if open := conds[zoned.CondImplicitOpen] + conds[zoned.CondExplicitOpen] + conds[zoned.CondClosed]; open > 2 {
			t.Fatalf("%d zones still active after AppendAny, want at most 2", open)
		}
	}},
	{"AppenderRecoversFromRejectedWrite", func(t *testing.T, s *suite) {
		z := s.seq(t, 0)
		start := s.info.ZoneStart(z)
		bs := int64(s.info.LogicalBlockSize)
		a, err := zoned.NewAppender(s.dev, zoned.AppenderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		ctx := context.Background()
		first := s.blocks(1, 200)
		if off, err := a.Append(ctx, z, first); err != nil || off != start {
			t.Fatalf("first append: off=%d err=%v, want %d", off, err, start)
		}
		// Someone else writes the zone behind the appender's back, so its
		// idea of the write pointer is stale and the kernel rejects its
		// next write.
		intruder := s.blocks(2, 201)
		s.write(t, intruder, start+bs)
		_, err = a.Append(ctx, z, s.blocks(1, 202))
		var ae *zoned.AppendError
		if !errors.As(err, &ae) || !errors.Is(err, zoned.ErrWritePointer) {
			t.Fatalf("append after the intrusion: %v, want an AppendError for ErrWritePointer", err)
		}
		if ae.Zone != z || ae.BatchOffset != start+bs || ae.WritePointer != start+3*bs {
			t.Fatalf("append error %+v: want batch at %d and the write pointer re-read as %d", ae, start+bs, start+3*bs)
		}
		// The appender re-read the write pointer and goes on after it.
		next := s.blocks(2, 203)
		off, err := a.Append(ctx, z, next)
		if err != nil || off != start+3*bs {
			t.Fatalf("append after recovery: off=%d err=%v, want %d", off, err, start+3*bs)
		}
		s.readBack(t, first, start)
		s.readBack(t, intruder, start+bs)
		s.readBack(t, next, start+3*bs)
	}},
	{"AppenderRecoversFromInjectedErrors", func(t *testing.T, s *suite) {
		z := s.seq(t, 0)
		start := s.info.ZoneStart(z)
		bs := int64(s.info.LogicalBlockSize)
		faulty := errorzone.Wrap(s.dev, nil)
		a, err := zoned.NewAppender(faulty, zoned.AppenderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		ctx := context.Background()
		first := s.blocks(1, 300)
		if _, err := a.Append(ctx, z, first); err != nil {
			t.Fatal(err)
		}
		// A write that fails after storing one of its three blocks.
		faulty.SetInjector(errorzone.OnNth(errorzone.Write, 1, 1))
		_, err = a.Append(ctx, z, s.blocks(3, 301))
		var ae *zoned.AppendError
		if !errors.As(err, &ae) || !errors.Is(err, errorzone.ErrInjected) {
			t.Fatalf("torn append: %v, want an injected AppendError", err)
		}
		if ae.WritePointer != start+2*bs {
			t.Fatalf("after a torn write of 1 of 3 blocks the write pointer was re-read as %d, want %d", ae.WritePointer, start+2*bs)
		}
		// A failed flush: the data reached the zone but is not known durable.
		faulty.SetInjector(errorzone.OnNth(errorzone.Sync, 1, 0))
		_, err = a.Append(ctx, z, s.blocks(1, 302))
		if !errors.As(err, &ae) || ae.WritePointer != start+3*bs {
			t.Fatalf("append with a failed sync: %v, want an AppendError with the write pointer at %d", err, start+3*bs)
		}
		faulty.SetInjector(nil)
		next := s.blocks(2, 303)
		off, err := a.Append(ctx, z, next)
		if err != nil || off != start+3*bs {
			t.Fatalf("append after the faults: off=%d err=%v, want %d", off, err, start+3*bs)
		}
		s.readBack(t, first, start)
		s.readBack(t, next, start+3*bs)

		// Random write and sync failures under concurrency: every append
		// either fails or lands, intact, where it says.
		// Group commit can fold the appends into a handful of batches, so
		// the second write is failed for certain and the rest at random.
		faulty.SetInjector(errorzone.All(errorzone.OnNth(errorzone.Write, 2, 1),
			errorzone.Randomly(errorzone.Write|errorzone.Sync, 0.2, 7)))
		z1 := s.seq(t, 1)
		results := s.runAppenders(t, 16, 4, 2, func(ctx context.Context, data []byte) (int, int64, error) {
			off, err := a.Append(ctx, z1, data)
			return z1, off, err
		})
		faulty.SetInjector(nil)
		var ok []appendResult
		failed := 0
		for _, r := range results {
			if r.err != nil {
				if !errors.As(r.err, &ae) {
					t.Fatalf("failed append returned %v, want an AppendError", r.err)
				}
				failed++
				continue
			}
			ok = append(ok, r)
		}
		if failed == 0 || len(ok) == 0 {
			t.Fatalf("%d appends failed and %d succeeded; the injector should cause some of each", failed, len(ok))
		}
		s.checkLanded(t, ok)
	}},
}

// appendResult is one append and where it went.
type appendResult struct {
	zone int
	off  int64
	data []byte
	err  error
}

type appendFunc func(ctx context.Context, data []byte) (zone int, off int64, err error)

// runAppenders runs n goroutines that each append `each` buffers of 1 to
// maxBlocks blocks, tagged with a unique id.
func (s *suite) runAppenders(t *testing.T, n, each, maxBlocks int, appendFn appendFunc) []appendResult {
	t.Helper()
	bs := s.info.LogicalBlockSize
	sizes := make([]int, n*each)
	for i := range sizes {
		sizes[i] = 1 + s.rng.IntN(maxBlocks)
	}
	results := make([]appendResult, n*each)
	var wg sync.WaitGroup
	for g := range n {
		wg.Go(func() {
			for k := range each {
				i := g*each + k
				// Unaligned memory on purpose: the appender copies.
				data := make([]byte, sizes[i]*bs)
				fillPattern(data, uint64(10000+i))
				binary.LittleEndian.PutUint64(data[8:], uint64(i))
				zone, off, err := appendFn(context.Background(), data)
				results[i] = appendResult{zone: zone, off: off, data: data, err: err}
			}
		})
	}
	wg.Wait()
	return results
}

// checkAppends checks that every append succeeded, that appends to each
// zone are contiguous from the zone start to its write pointer without
// overlap, and that each reads back intact.
func (s *suite) checkAppends(t *testing.T, results []appendResult) {
	t.Helper()
	byZone := map[int][]appendResult{}
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("append %d failed: %v", i, r.err)
		}
		byZone[r.zone] = append(byZone[r.zone], r)
	}
	for z, rs := range byZone {
		slices.SortFunc(rs, func(a, b appendResult) int { return int(a.off - b.off) })
		next := s.info.ZoneStart(z)
		for _, r := range rs {
			if r.off != next {
				t.Fatalf("zone %d: append at %d, expected the next one at %d (gap or overlap)", z, r.off, next)
			}
			next += int64(len(r.data))
		}
		zone := s.zone(t, z)
		if zone.Cond != zoned.CondFull && zone.WritePointer != next {
			t.Fatalf("zone %d: write pointer %d, appends end at %d", z, zone.WritePointer, next)
		}
	}
	s.checkLanded(t, results)
}

// checkLanded reads every successful append back and checks that none
// overlap.
func (s *suite) checkLanded(t *testing.T, results []appendResult) {
	t.Helper()
	sorted := slices.Clone(results)
	slices.SortFunc(sorted, func(a, b appendResult) int { return int(a.off - b.off) })
	for i := 1; i < len(sorted); i++ {
		if prev := sorted[i-1]; prev.off+int64(len(prev.data)) > sorted[i].off {
			t.Fatalf("appends at %d (+%d) and %d overlap", prev.off, len(prev.data), sorted[i].off)
		}
	}
	for _, r := range results {
		want := zoned.AlignedBuffer(len(r.data), s.info.LogicalBlockSize)
		copy(want, r.data)
		s.readBack(t, want, r.off)
	}
}
