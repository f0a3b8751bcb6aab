package extent_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shingle-storage/shingle/agent/extent"
	"github.com/shingle-storage/shingle/agent/label"
	"github.com/shingle-storage/shingle/agent/record"
	"github.com/shingle-storage/shingle/zoned"
	"github.com/shingle-storage/shingle/zoned/zonedtest"
)

// The store's benchmarks run on an emulated drive backed by a file on
// local disk and report their speed against the physical limit measured in
// the same run on the same filesystem (zonedtest.RawWrite, RawRead).
//
//	go test -run '^$' -bench 'BenchmarkPut|BenchmarkGet|BenchmarkRecover' -benchtime 2s ./agent/extent/

// benchDrive makes an emulated drive of zones of zone bytes, 4 per extent,
// with room for at least bytes of records.
func benchDrive(b *testing.B, bytes, zone int64) (*zoned.Emulator, *extent.Store, string) {
	b.Helper()
	// Two extents more than the data needs: one open, one kept free for
	// compaction.
	zones := 2 + 4*int(bytes/(3*zone)+3)
	path := filepath.Join(b.TempDir(), "drive")
	dev, err := zoned.CreateEmulator(path, zoned.EmulatorConfig{ZoneSize: zone, ZoneCount: zones,
		ConventionalZones: 2, MaxOpenZones: 8, MaxActiveZones: 12})
	if err != nil {
		b.Fatal(err)
	}
	s, err := extent.Format(dev, extent.FormatOptions{Cluster: cluster, Drive: label.ID{0xbe}, ZonesPerExtent: 4})
	if err != nil {
		b.Fatal(err)
	}
	return dev, s, path
}

// filler puts blobs from many goroutines into the current open extent,
// starting another when it fills and sealing the full one in the
// background. wait waits for the seals.
type filler struct {
	s     *extent.Store
	mu    sync.Mutex
	cur   uint64
	seals sync.WaitGroup
}

func (f *filler) put(k record.Key, data []byte) error {
	for {
		f.mu.Lock()
		id := f.cur
		f.mu.Unlock()
		_, err := f.s.Put(ctx, id, k, data)
		if !errors.Is(err, extent.ErrFull) && !errors.Is(err, extent.ErrSealed) {
			return err
		}
		f.mu.Lock()
		if f.cur == id {
			nid, err := f.s.CreateExtent()
			if err != nil {
				f.mu.Unlock()
				return err
			}
			f.cur = nid
			// Sealing reads the extent back for its checksum; as in the
			// agent, writers do not wait for it.
			f.seals.Go(func() { f.s.Seal(ctx, id) })
		}
		f.mu.Unlock()
	}
}

func (f *filler) wait() { f.seals.Wait() }

func newFiller(b *testing.B, s *extent.Store) *filler {
	id, err := s.CreateExtent()
	if err != nil {
		b.Fatal(err)
	}
	return &filler{s: s, cur: id}
}

func benchKey(i int64) record.Key {
	var k record.Key
	for j := range 8 {
		k[j] = byte(i >> (8 * j))
	}
	k[31] = 0xbe
	return k
}

// BenchmarkPut measures acknowledged (durable) puts from many writers.
// Metrics: MB/s and puts/s, and raw-ratio: put bandwidth over a raw
// sequential write of as many bytes (64 MiB to 256 MiB, 1 MiB blocks, one
// fdatasync) measured before and after the puts and averaged.
func BenchmarkPut(b *testing.B) {
	for _, size := range []int{4 << 10, 256 << 10, 4 << 20} {
		for _, writers := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("size=%s/writers=%d", benchSize(size), writers), func(b *testing.B) {
				benchPut(b, size, writers)
			})
		}
	}
}

func benchSize(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dKiB", n>>10)
}

func benchPut(b *testing.B, size, writers int) {
	total := int64(b.N) * int64(record.Size(size, 4096))
	dev, s, path := benchDrive(b, total, 64<<20)
	defer dev.Close()
	defer s.Close()
	dir := filepath.Dir(path)
	rawBytes := min(max(total, 64<<20), 256<<20)
	raw := func() float64 {
		mbps, err := zonedtest.RawWrite(dir, rawBytes, 1<<20, writers, dev.DirectIO())
		if err != nil {
			b.Fatal(err)
		}
		return mbps
	}
	b.StopTimer()
	rawBefore := raw()
	f := newFiller(b, s)
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 7)
	}
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	b.SetBytes(int64(size))
	b.StartTimer()
	start := time.Now()
	for range writers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				if err := f.put(benchKey(i), data); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	f.wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	mbps := float64(b.N) * float64(size) / elapsed.Seconds() / 1e6
	b.ReportMetric(mbps, "MB/s")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "puts/s")
	rawMBps := (rawBefore + raw()) / 2
	b.ReportMetric(rawMBps, "raw-MB/s")
	b.ReportMetric(mbps/rawMBps, "raw-ratio")
}

// BenchmarkGet measures random reads of blobs from 16 readers: MB/s, and
// p50 and p99 latency. The emulated drive is a file, so reads are served
// from the page cache once read: these are the store's own costs (index
// lookup, key check, checksums), not a disk's seek time.
func BenchmarkGet(b *testing.B) {
	for _, size := range []int{4 << 10, 256 << 10} {
		b.Run("size="+benchSize(size), func(b *testing.B) { benchGet(b, size) })
	}
}

func benchGet(b *testing.B, size int) {
	const blobs = 2000
	dev, s, _ := benchDrive(b, int64(blobs)*int64(record.Size(size, 4096)), 64<<20)
	defer dev.Close()
	defer s.Close()
	f := newFiller(b, s)
	data := make([]byte, size)
	for i := range int64(blobs) {
		if err := f.put(benchKey(i), data); err != nil {
			b.Fatal(err)
		}
	}
	f.wait()
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	b.SetBytes(int64(size))
	b.ResetTimer()
	start := time.Now()
	for g := range 16 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				t0 := time.Now()
				if _, err := s.Get(ctx, benchKey(rng.Int64N(blobs))); err != nil {
					failed.Store(err)
					return
				}
				lat[i] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)*float64(size)/elapsed.Seconds()/1e6, "MB/s")
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkRecover measures opening a drive holding 100,000 blobs of 4 KiB
// in extents of 64 MiB sealed as they filled, the last one still open (on a
// real drive, with extents of 1 GiB, a handful of open extents among
// thousands):
//
//   - checkpoint=yes: the normal path, from the drive checkpoint and the
//     sealed extents' summaries; target at most 1 s per million blobs.
//   - checkpoint=no: Options.FullScan, reading every record; scan-ratio is
//     its read bandwidth over a raw sequential read of the same bytes of
//     the drive's file (target at least 0.80).
func BenchmarkRecover(b *testing.B) {
	const blobs = 100_000
	dev, s, path := benchDrive(b, blobs*4096, 16<<20)
	f := newFiller(b, s)
	data := make([]byte, 4096-record.HeaderSize-record.TrailerSize)
	var wg sync.WaitGroup
	var next atomic.Int64
	var failed atomic.Value
	for range 64 {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= blobs {
					return
				}
				if err := f.put(benchKey(i), data); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	f.wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	var scanned int64
	for _, in := range s.List() {
		scanned += in.Used
	}
	direct := dev.DirectIO()
	info := dev.Info()
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	if err := dev.Close(); err != nil {
		b.Fatal(err)
	}
	open := func(b *testing.B, opts extent.Options) (time.Duration, extent.CheckpointStat) {
		dev, err := zoned.OpenEmulator(path)
		if err != nil {
			b.Fatal(err)
		}
		defer dev.Close()
		opts.Cluster = cluster
		start := time.Now()
		s, err := extent.Open(dev, opts)
		elapsed := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		st := s.Stat()
		if st.Blobs != blobs {
			b.Fatalf("recovered %d blobs, want %d", st.Blobs, blobs)
		}
		return elapsed, st.Checkpoint
	}
	b.Run("checkpoint=yes", func(b *testing.B) {
		var elapsed time.Duration
		var ck extent.CheckpointStat
		for range b.N {
			d, st := open(b, extent.Options{})
			elapsed, ck = elapsed+d, st
		}
		if ck.Recovered == 0 {
			b.Fatalf("no extent was recovered from the checkpoint: %+v", ck)
		}
		per := elapsed.Seconds() / float64(b.N)
		b.ReportMetric(per/blobs*1e6, "s/Mblob")
		b.ReportMetric(float64(ck.Recovered), "summarized-extents")
		b.ReportMetric(float64(ck.Scanned), "scanned-extents")
	})
	b.Run("checkpoint=no", func(b *testing.B) {
		var elapsed time.Duration
		for range b.N {
			d, _ := open(b, extent.Options{FullScan: true})
			elapsed += d
		}
		per := elapsed.Seconds() / float64(b.N)
		b.ReportMetric(per/blobs*1e6, "s/Mblob")
		scanMBps := float64(scanned) / per / 1e6
		b.ReportMetric(scanMBps, "scan-MB/s")
		// The emulator's file holds the drive's bytes after a 1 MiB
		// header; the records start at the first extent zone.
		from := int64(1<<20) + info.ZoneStart(2)
		rawMBps, err := zonedtest.RawRead(path, from, from+scanned, 8<<20, direct)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(rawMBps, "raw-read-MB/s")
		b.ReportMetric(scanMBps/rawMBps, "scan-ratio")
	})
}
