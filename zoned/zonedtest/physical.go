package zonedtest

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shingle-storage/shingle/zoned"
)

// Benchmarks above the zoned layer report their speed as a ratio against
// the physical limit measured in the same run, on the same filesystem as
// the emulated drive: these functions measure that limit.

// RawWrite writes total bytes sequentially in blocks of block bytes to a
// new file in dir (O_DIRECT when direct, as the emulator uses it), then
// fdatasyncs once, removes the file and returns the bandwidth in MB/s.
//
// Two details make it the limit for the emulated drive rather than a
// flattering one; both were measured on the 2-core VM the benchmarks run on:
//
//   - The file is first truncated to total bytes, so each write fills a
//     hole inside the file's size instead of extending the file. That is
//     how an emulated drive writes its medium (its file is created at the
//     drive's full size). On ext4 an O_DIRECT write into a hole is
//     allocated unwritten and converted when it completes, 5-10% slower
//     than a write that extends the file.
//   - The blocks come from distinct buffers of distinct bytes in turn, as many as the benchmark has writers each writing from its own
//     memory. Rewriting one buffer keeps it in the CPU caches of whatever
//     copies it (the hypervisor, for a virtual disk); sixteen 1 MiB
//     buffers in turn wrote 10-20% slower than one.
func RawWrite(dir string, total int64, block, buffers int, direct bool) (float64, error) {
	f, path, err := openRaw(dir, direct)
	if err != nil {
		return 0, err
	}
	defer os.Remove(path)
	defer f.Close()
	if err := f.Truncate(total); err != nil {
		return 0, err
	}
	bufs := make([][]byte, max(buffers, 1))
	for k := range bufs {
		bufs[k] = zoned.AlignedBuffer(block, 4096)
		for i := range bufs[k] {
			bufs[k][i] = byte(i + k)
		}
	}
	start := time.Now()
	for k, off := 0, int64(0); off < total; k, off = k+1, off+int64(block) {
		if _, err := f.WriteAt(bufs[k%len(bufs)], off); err != nil {
			return 0, err
		}
	}
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		return 0, err
	}
	return float64(total) / time.Since(start).Seconds() / 1e6, nil
}

// SyncedWriteRate writes 1,000 blocks of 4 KiB sequentially to a new file in
// dir, each followed by an fdatasync, and returns how many it did per
// second: what a store without group commit gets for small writes. A
// thousand syncs take a few tenths of a second, long enough that one slow
// flush of a virtual disk does not swing the rate.
func SyncedWriteRate(dir string, direct bool) (float64, error) {
	f, path, err := openRaw(dir, direct)
	if err != nil {
		return 0, err
	}
	defer os.Remove(path)
	defer f.Close()
	return syncedWrites(f, func() error { return unix.Fdatasync(int(f.Fd())) })
}

// DeviceSyncRate is SyncedWriteRate on an emulated drive instead of a plain
// file: it creates one in dir, writes 1,000 blocks of 4 KiB at the write
// pointer of its first zone, each followed by a Sync, deletes the drive and
// returns how many it did per second. That is what a store without group
// commit gets from the device itself. It is below SyncedWriteRate because
// the emulator's Sync also writes the zone's new write pointer to its
// records before the fdatasync, as a drive keeps its write pointers; a
// benchmark of appends on an emulated drive compares against this rate,
// and may give the plain file's too.
func DeviceSyncRate(dir string) (float64, error) {
	path := filepath.Join(dir, "sync-baseline")
	defer os.Remove(path)
	dev, err := zoned.CreateEmulator(path, zoned.EmulatorConfig{ZoneSize: 16 << 20, ZoneCount: 1})
	if err != nil {
		return 0, err
	}
	defer dev.Close()
	return syncedWrites(dev, dev.Sync)
}

// syncedWrites writes 1,000 blocks of 4 KiB one after another from offset
// 0 of w, each followed by sync, and returns how many it did per second.
func syncedWrites(w io.WriterAt, sync func() error) (float64, error) {
	buf := zoned.AlignedBuffer(4096, 4096)
	const n = 1000
	start := time.Now()
	for i := range n {
		if _, err := w.WriteAt(buf, int64(i)*4096); err != nil {
			return 0, err
		}
		if err := sync(); err != nil {
			return 0, err
		}
	}
	return n / time.Since(start).Seconds(), nil
}

// RawRead reads the file at path sequentially in blocks of block bytes from
// offset from to offset to (O_DIRECT when direct) and returns the
// bandwidth in MB/s: the physical limit of a scan of that file.
func RawRead(path string, from, to int64, block int, direct bool) (float64, error) {
	flags := os.O_RDONLY
	if direct {
		flags |= syscall.O_DIRECT
	}
	f, err := os.OpenFile(path, flags, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := zoned.AlignedBuffer(block, 4096)
	start := time.Now()
	for off := from; off < to; off += int64(block) {
		n := min(int64(block), to-off)
		if _, err := f.ReadAt(buf[:n], off); err != nil {
			return 0, fmt.Errorf("raw read at %d: %w", off, err)
		}
	}
	return float64(to-from) / time.Since(start).Seconds() / 1e6, nil
}

func openRaw(dir string, direct bool) (*os.File, string, error) {
	path := filepath.Join(dir, "raw")
	os.Remove(path)
	flags := os.O_RDWR | os.O_CREATE
	if direct {
		flags |= syscall.O_DIRECT
	}
	f, err := os.OpenFile(path, flags, 0o644)
	return f, path, err
}
