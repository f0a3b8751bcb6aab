package zoned_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shingle-storage/shingle/zoned"
	"github.com/shingle-storage/shingle/zoned/zonedtest"
)

// BenchmarkAppender measures durable appends through the Appender on an
// emulated drive backed by a file on local disk, against the physical limit
// measured in the same run on the same filesystem: a raw sequential write of
// the same number of bytes (at least 64 MiB, at most 65,536 blocks) in blocks
// of the append size, from as many buffers as there are appenders, into a
// file of that size, O_DIRECT when the emulator uses it, with one fdatasync
// at the end (see zonedtest.RawWrite), measured just before and just after
// the appends and averaged.
//
//	go test -run '^$' -bench BenchmarkAppender -benchtime 2s ./zoned/
//
// Metrics: MB/s and appends/s of acknowledged (synced) appends, p50 and p99
// append latency, raw-ratio (append bandwidth / raw write bandwidth), and
// for 4 KiB appends two ratios against one sync per append, which is what
// a store without group commit gets, each measured before and after the
// appends and averaged like the raw write:
//
//   - sync-ratio: appends/s / the rate of one 4 KiB write plus one Sync per
//     append on an emulated drive of the same kind (zonedtest.DeviceSyncRate):
//     the same device operations the Appender groups, one at a time;
//   - file-sync-ratio: appends/s / the rate of one 4 KiB write plus one
//     fdatasync per append on a plain file (zonedtest.SyncedWriteRate),
//     which leaves out the write-pointer record the emulator's Sync writes
//     and so is the stricter of the two.
func BenchmarkAppender(b *testing.B) {
	for _, size := range []int{4 << 10, 64 << 10, 1 << 20} {
		for _, appenders := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("size=%s/appenders=%d", sizeName(size), appenders), func(b *testing.B) {
				benchAppender(b, size, appenders)
			})
		}
	}
}

func sizeName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dKiB", n>>10)
}

func benchAppender(b *testing.B, size, appenders int) {
	dir := b.TempDir()
	const zoneSize = 256 << 20
	total := int64(b.N) * int64(size)
	// Room for every append plus the tail a zone may waste when the next
	// append does not fit.
	zones := int(total/zoneSize) + 3
	dev, err := zoned.CreateEmulator(filepath.Join(dir, "drive"), zoned.EmulatorConfig{
		ZoneSize: zoneSize, ZoneCount: zones, MaxOpenZones: 8, MaxActiveZones: 12})
	if err != nil {
		b.Fatal(err)
	}
	defer dev.Close()
	a, err := zoned.NewAppender(dev, zoned.AppenderOptions{})
	if err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	// The disk's speed drifts (a virtual disk doubly so), so the physical
	// limit is measured right before and right after the appends and
	// averaged.
	b.StopTimer()
	rawBefore := rawWrite(b, dir, rawBytes(total, size), size, appenders, dev.DirectIO())
	var syncBefore, fileSyncBefore float64
	if size == 4<<10 {
		syncBefore, fileSyncBefore = syncPerAppendRates(b, dir, dev.DirectIO())
	}
	b.SetBytes(int64(size))
	b.StartTimer()
	start := time.Now()
	for range appenders {
		wg.Go(func() {
			data := zoned.AlignedBuffer(size, 4096)
			for i := range data {
				data[i] = byte(i)
			}
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				t0 := time.Now()
				if _, _, err := a.AppendAny(context.Background(), data); err != nil {
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
	a.Close()

	mbps := float64(total) / elapsed.Seconds() / 1e6
	b.ReportMetric(mbps, "MB/s")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "appends/s")
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")

	raw := (rawBefore + rawWrite(b, dir, rawBytes(total, size), size, appenders, dev.DirectIO())) / 2
	b.ReportMetric(raw, "raw-MB/s")
	b.ReportMetric(mbps/raw, "raw-ratio")
	if size == 4<<10 {
		syncAfter, fileSyncAfter := syncPerAppendRates(b, dir, dev.DirectIO())
		rate := float64(b.N) / elapsed.Seconds()
		b.ReportMetric(rate/((syncBefore+syncAfter)/2), "sync-ratio")
		b.ReportMetric(rate/((fileSyncBefore+fileSyncAfter)/2), "file-sync-ratio")
	}
}

// rawBytes is how much the raw write of blocks of block bytes measures: the
// bytes the appends wrote, at least 64 MiB so the rate is steady and at most
// 65,536 blocks so small blocks do not take minutes (256 MiB of 4 KiB
// blocks; 1 MiB blocks are never capped in practice).
func rawBytes(total int64, block int) int64 { return min(max(total, 64<<20), int64(block)<<16) }

// rawWrite measures the physical limit for the appends: see
// zonedtest.RawWrite.
func rawWrite(b *testing.B, dir string, total int64, size, buffers int, direct bool) float64 {
	b.Helper()
	mbps, err := zonedtest.RawWrite(dir, total, size, buffers, direct)
	if err != nil {
		b.Fatal(err)
	}
	return mbps
}

// syncPerAppendRates measures the rate of 4 KiB writes each followed by a
// Sync on an emulated drive and each followed by an fdatasync on a plain
// file: see zonedtest.DeviceSyncRate and zonedtest.SyncedWriteRate.
func syncPerAppendRates(b *testing.B, dir string, direct bool) (device, file float64) {
	b.Helper()
	device, err := zonedtest.DeviceSyncRate(dir)
	if err != nil {
		b.Fatal(err)
	}
	if file, err = zonedtest.SyncedWriteRate(dir, direct); err != nil {
		b.Fatal(err)
	}
	return device, file
}
