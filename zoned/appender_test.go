package zoned_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shingle-storage/shingle/zoned"
	"github.com/shingle-storage/shingle/zoned/errorzone"
)

// record is one acknowledged append.
type record struct {
	zone int
	off  int64
	data []byte
}

// TestAppenderAcknowledgedAppendsSurviveCrash appends from many goroutines
// and cuts the power at a random moment, tearing the last write: every
// append that was acknowledged must read back byte for byte after the
// restart.
func TestAppenderAcknowledgedAppendsSurviveCrash(t *testing.T) {
	rounds := 40
	if testing.Short() {
		rounds = 10
	}
	totalAcked := 0
	defer func() {
		// A crash that always came before the first acknowledgement would
		// test nothing.
		if !t.Failed() && totalAcked < rounds*10 {
			t.Errorf("only %d appends were acknowledged over %d rounds", totalAcked, rounds)
		}
	}()
	for round := range rounds {
		rng := rand.New(rand.NewPCG(uint64(round), 99))
		dev, path := smallEmulator(t, zoned.EmulatorConfig{ZoneCount: 32, MaxOpenZones: 4, MaxActiveZones: 6})
		a, err := zoned.NewAppender(dev, zoned.AppenderOptions{MaxBatchBytes: 64 << 10})
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var acked []record
		var wg sync.WaitGroup
		for g := range 16 {
			wg.Go(func() {
				for k := 0; ; k++ {
					data := make([]byte, 4096*(1+(g+k)%5))
					fillRecord(data, g, k)
					z, off, err := a.AppendAny(context.Background(), data)
					if err != nil {
						return // the crash
					}
					mu.Lock()
					acked = append(acked, record{z, off, data})
					mu.Unlock()
				}
			})
		}
		time.Sleep(time.Duration(rng.IntN(15_000)) * time.Microsecond)
		if _, err := dev.Crash(zoned.CrashOptions{TearLastWrite: true, Rand: rng}); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		a.Close()

		totalAcked += len(acked)
		dev = reopen(t, path)
		for _, r := range acked {
			got := readAt(t, dev, r.off, len(r.data))
			if !bytes.Equal(got, r.data) {
				t.Fatalf("round %d: acknowledged append at zone %d offset %d did not survive the crash", round, r.zone, r.off)
			}
		}
		must(t, dev.Close())
		if round == 0 {
			t.Logf("round 0: %d appends acknowledged before the crash", len(acked))
		}
	}
}

func fillRecord(b []byte, g, k int) {
	for i := range b {
		b[i] = byte(g*31 + k*7 + i)
	}
	binary.LittleEndian.PutUint64(b, uint64(g)<<32|uint64(k))
}

// concurrencyProbe wraps a device and records how many distinct zones had a
// write in flight at once.
type concurrencyProbe struct {
	zoned.Device
	mu       sync.Mutex
	inFlight map[int]int
	maxZones int
}

func (p *concurrencyProbe) WriteAt(b []byte, off int64) (int, error) {
	z := p.Info().ZoneOf(off)
	p.mu.Lock()
	p.inFlight[z]++
	p.maxZones = max(p.maxZones, len(p.inFlight))
	p.mu.Unlock()
	time.Sleep(200 * time.Microsecond)
	n, err := p.Device.WriteAt(b, off)
	p.mu.Lock()
	if p.inFlight[z]--; p.inFlight[z] == 0 {
		delete(p.inFlight, z)
	}
	p.mu.Unlock()
	return n, err
}

func TestAppenderBoundsZonesWrittenAtOnce(t *testing.T) {
	for _, limit := range []int{1, 2, 3} {
		dev, _ := smallEmulator(t, zoned.EmulatorConfig{ZoneCount: 16})
		probe := &concurrencyProbe{Device: dev, inFlight: map[int]int{}}
		a, err := zoned.NewAppender(probe, zoned.AppenderOptions{MaxActiveZones: limit})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var failures atomic.Int32
		for g := range 24 {
			wg.Go(func() {
				zone := 2 + g%6
				for range 8 {
					if _, err := a.Append(context.Background(), zone, pattern(4096, byte(g))); err != nil {
						t.Error(err)
						failures.Add(1)
					}
				}
			})
		}
		wg.Wait()
		a.Close()
		if failures.Load() > 0 {
			t.FailNow()
		}
		if probe.maxZones > limit {
			t.Fatalf("limit %d: %d zones were written at once", limit, probe.maxZones)
		}
		if limit > 1 && probe.maxZones < 2 {
			t.Fatalf("limit %d: never more than one zone in flight; the test does not exercise the bound", limit)
		}
		// Every zone holds exactly its 32 appends.
		for z := 2; z < 8; z++ {
			if zone := zoneOf(t, dev, z); zone.WritePointer-zone.Start != 4*8*4096 {
				t.Fatalf("zone %d has %d bytes, want %d", z, zone.WritePointer-zone.Start, 4*8*4096)
			}
		}
		dev.Close()
	}
}

func TestAppenderLargeAndUnalignedAppends(t *testing.T) {
	dev, _ := smallEmulator(t, zoned.EmulatorConfig{ZoneSize: 8 << 20, ZoneCount: 8})
	defer dev.Close()
	a, err := zoned.NewAppender(dev, zoned.AppenderOptions{MaxBatchBytes: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var wg sync.WaitGroup
	results := make([]record, 24)
	for i := range results {
		wg.Go(func() {
			// Mix small and large appends, aligned and not, some larger
			// than a batch buffer.
			size := []int{4096, 200 << 10, 512 << 10, 12288}[i%4]
			raw := make([]byte, size+1)
			data := raw[1:] // unaligned on purpose
			if i%3 == 0 {
				data = zoned.AlignedBuffer(size, 4096)
			}
			for k := range data {
				data[k] = byte(i*13 + k)
			}
			z, off, err := a.AppendAny(context.Background(), data)
			if err != nil {
				t.Error(err)
				return
			}
			results[i] = record{z, off, append([]byte{}, data...)}
		})
	}
	wg.Wait()
	for i, r := range results {
		if r.data == nil {
			continue
		}
		if got := readAt(t, dev, r.off, len(r.data)); !bytes.Equal(got, r.data) {
			t.Fatalf("append %d (%d bytes) at %d reads back wrong", i, len(r.data), r.off)
		}
	}
}

func TestAppenderRefusesBadAppends(t *testing.T) {
	dev, _ := smallEmulator(t, zoned.EmulatorConfig{ConventionalZones: 1})
	defer dev.Close()
	a, err := zoned.NewAppender(dev, zoned.AppenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := a.Append(ctx, 1, make([]byte, 100)); !errors.Is(err, zoned.ErrUnaligned) {
		t.Fatalf("append of 100 bytes: %v", err)
	}
	if _, err := a.Append(ctx, 1, nil); !errors.Is(err, zoned.ErrUnaligned) {
		t.Fatalf("empty append: %v", err)
	}
	if _, err := a.Append(ctx, 1, make([]byte, 2<<20)); !errors.Is(err, zoned.ErrZoneFull) {
		t.Fatalf("append larger than a zone: %v", err)
	}
	if _, err := a.Append(ctx, 0, make([]byte, 4096)); !errors.Is(err, zoned.ErrInvalidTransition) {
		t.Fatalf("append to a conventional zone: %v", err)
	}
	if _, err := a.Append(ctx, 99, make([]byte, 4096)); !errors.Is(err, zoned.ErrOutOfRange) {
		t.Fatalf("append to zone 99: %v", err)
	}
	// Fill zone 2 but for one block; two blocks no longer fit.
	if _, err := a.Append(ctx, 2, make([]byte, (1<<20)-4096)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Append(ctx, 2, make([]byte, 8192)); !errors.Is(err, zoned.ErrZoneFull) {
		t.Fatalf("append past the zone's capacity: %v", err)
	}
	must(t, dev.SetZoneCondition(3, zoned.CondOffline))
	if _, err := a.Append(ctx, 3, make([]byte, 4096)); !errors.Is(err, zoned.ErrOffline) {
		t.Fatalf("append to an offline zone: %v", err)
	}
	must(t, a.Close())
	if _, err := a.Append(ctx, 4, make([]byte, 4096)); !errors.Is(err, zoned.ErrClosed) {
		t.Fatalf("append after Close: %v", err)
	}
}

func TestAppenderAnyZoneExhaustsPool(t *testing.T) {
	dev, _ := smallEmulator(t, zoned.EmulatorConfig{ZoneSize: 64 << 10, ZoneCount: 8})
	defer dev.Close()
	must(t, dev.SetZoneCondition(5, zoned.CondOffline))
	a, err := zoned.NewAppender(dev, zoned.AppenderOptions{Zones: []int{4, 5, 6}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	zones := map[int]int{}
	for {
		z, _, err := a.AppendAny(context.Background(), make([]byte, 16<<10))
		if err != nil {
			if !errors.Is(err, zoned.ErrZoneFull) {
				t.Fatalf("exhausted pool: %v, want ErrZoneFull", err)
			}
			break
		}
		zones[z]++
	}
	// The offline zone is skipped; the others take four appends each.
	if zones[4] != 4 || zones[6] != 4 || zones[5] != 0 {
		t.Fatalf("appends per zone: %v", zones)
	}
}

func TestAppenderContextCancel(t *testing.T) {
	dev, _ := smallEmulator(t, zoned.EmulatorConfig{})
	defer dev.Close()
	slow := errorzone.Wrap(dev, errorzone.Latency(errorzone.Write, 50*time.Millisecond))
	a, err := zoned.NewAppender(slow, zoned.AppenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	if _, err := a.Append(ctx, 1, make([]byte, 4096)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("append with an expired context: %v", err)
	}
	// Close waits for the abandoned append, which still lands.
	must(t, a.Close())
	if z := zoneOf(t, dev, 1); z.WritePointer != z.Start+4096 {
		t.Fatalf("abandoned append: zone is %v", z)
	}
}

// TestAppenderWaitsForASlotUntilContextOrClose checks that an explicit
// append waiting for a zone slot gives up when its context ends, and that
// Close wakes it.
func TestAppenderWaitsForASlotUntilContextOrClose(t *testing.T) {
	dev, _ := smallEmulator(t, zoned.EmulatorConfig{ZoneCount: 8})
	defer dev.Close()
	slow := errorzone.Wrap(dev, nil)
	a, err := zoned.NewAppender(slow, zoned.AppenderOptions{MaxActiveZones: 1, Zones: []int{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	// An idle pool zone does not hold the only slot against an explicit
	// append to another zone.
	if _, _, err := a.AppendAny(context.Background(), make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Append(context.Background(), 5, make([]byte, 4096)); err != nil {
		t.Fatalf("explicit append with the pool zone idle: %v", err)
	}
	// AppendAny resumes the zone it let go of.
	if z, off, err := a.AppendAny(context.Background(), make([]byte, 4096)); err != nil || z != 1 || off != dev.Info().ZoneStart(1)+4096 {
		t.Fatalf("AppendAny after the eviction: zone %d off %d err %v", z, off, err)
	}

	// Hold the slot with a slow write to zone 6; an append to zone 7 waits.
	slow.SetInjector(errorzone.Latency(errorzone.Write, 300*time.Millisecond))
	done := make(chan error, 1)
	go func() { _, err := a.Append(context.Background(), 6, make([]byte, 4096)); done <- err }()
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := a.Append(ctx, 7, make([]byte, 4096)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("append waiting for a slot past its deadline: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	slow.SetInjector(nil)
	must(t, a.Close())
	if _, err := a.Append(context.Background(), 7, make([]byte, 4096)); !errors.Is(err, zoned.ErrClosed) {
		t.Fatalf("append after Close: %v", err)
	}
}

func TestAppenderRespectsDeviceLimits(t *testing.T) {
	dev, _ := smallEmulator(t, zoned.EmulatorConfig{MaxOpenZones: 1, MaxActiveZones: 1})
	defer dev.Close()
	if _, err := zoned.NewAppender(dev, zoned.AppenderOptions{MaxActiveZones: 3}); !errors.Is(err, zoned.ErrTooManyOpen) {
		t.Fatalf("3 zones at once on a device that allows 1: %v", err)
	}
	a, err := zoned.NewAppender(dev, zoned.AppenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	// With the default (one zone, the device's limit) AppendAny rolls over
	// zones without running into the device's limit.
	for range 2*256 + 10 {
		if _, _, err := a.AppendAny(context.Background(), make([]byte, 4096)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAppenderKeepsPoolZoneAfterTransientError(t *testing.T) {
	dev, _ := smallEmulator(t, zoned.EmulatorConfig{ZoneCount: 8})
	defer dev.Close()
	faulty := errorzone.Wrap(dev, nil)
	a, err := zoned.NewAppender(faulty, zoned.AppenderOptions{Zones: []int{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	faulty.SetInjector(errorzone.OnNth(errorzone.Report, 1, 0))
	if _, _, err := a.AppendAny(context.Background(), make([]byte, 4096)); !errors.Is(err, errorzone.ErrInjected) {
		t.Fatalf("append while the zone report fails: %v", err)
	}
	faulty.SetInjector(nil)
	if z, _, err := a.AppendAny(context.Background(), make([]byte, 4096)); err != nil || z != 1 {
		t.Fatalf("after the transient failure: zone %d, %v; want zone 1 still used", z, err)
	}
}

// TestAppenderResetAndFinishThroughIt checks that a zone reset through the
// Appender takes appends at its start again (the Appender forgets where it
// had left the zone), that a reset behind its back is what this guards
// against, and that a finish through it frees the zone's slot.
func TestAppenderResetAndFinishThroughIt(t *testing.T) {
	dev, _ := smallEmulator(t, zoned.EmulatorConfig{})
	defer dev.Close()
	a, err := zoned.NewAppender(dev, zoned.AppenderOptions{MaxActiveZones: 1})
	must(t, err)
	defer a.Close()
	ctx := context.Background()
	start := dev.Info().ZoneStart(1)
	for range 3 {
		_, err := a.Append(ctx, 1, make([]byte, 8192))
		must(t, err)
	}
	must(t, a.ResetZones(1, 1))
	off, err := a.Append(ctx, 1, make([]byte, 4096))
	must(t, err)
	if off != start {
		t.Fatalf("first append after the reset landed at %d, want the zone's start %d", off, start)
	}

	// Behind its back, the Appender's idea of the zone goes stale: the
	// next append is refused by the device.
	must(t, dev.ResetZones(1, 1))
	if _, err := a.Append(ctx, 1, make([]byte, 4096)); !errors.Is(err, zoned.ErrWritePointer) {
		t.Fatalf("append after a reset behind the appender's back: %v, want a write pointer error", err)
	}

	// With one active zone allowed, zone 2 can start only once zone 1 is
	// let go of; finishing it through the Appender does that.
	must(t, a.FinishZones(1, 1))
	z, err := zoned.ReportZone(dev, 1)
	must(t, err)
	if z.Cond != zoned.CondFull {
		t.Fatalf("zone 1 is %v after FinishZones, want full", z.Cond)
	}
	if _, err := a.Append(ctx, 2, make([]byte, 4096)); err != nil {
		t.Fatalf("append to zone 2 after zone 1 was finished: %v", err)
	}
	if err := a.ResetZones(99, 1); !errors.Is(err, zoned.ErrOutOfRange) {
		t.Fatalf("reset of zone 99: %v", err)
	}
}
