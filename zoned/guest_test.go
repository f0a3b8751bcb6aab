//go:build zonedguest

// The tests in this file run inside the QEMU guest that qemu_test.go boots,
// against real kernel zoned block devices. They are compiled only into the
// guest's test binary (go test -c -tags zonedguest) and fail, rather than
// skip, when the devices they expect are missing.

package zoned_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shingle-storage/shingle/zoned"
	"github.com/shingle-storage/shingle/zoned/zonedtest"
)

// guestDevices returns the kernel zoned devices the guest was booted with.
func guestDevices(t *testing.T) []string {
	t.Helper()
	v := os.Getenv("SHINGLE_ZONED_DEVICES")
	if v == "" {
		t.Fatal("SHINGLE_ZONED_DEVICES is not set; these tests run inside the QEMU guest started by `go test -tags qemu ./zoned/`")
	}
	return strings.Split(v, ",")
}

func openLinux(t *testing.T, path string) *zoned.Linux {
	t.Helper()
	dev, err := zoned.OpenLinux(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	return dev
}

func TestKernelConformance(t *testing.T) {
	for _, path := range guestDevices(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			zonedtest.Run(t, zonedtest.Target{
				Name:             filepath.Base(path),
				Open:             func(t *testing.T) zoned.Device { return openLinux(t, path) },
				PastWritePointer: pastWritePointerFill(path),
			})
		})
	}
}

// pastWritePointerFill is what reads past the write pointer return on the
// guest's devices: null_blk fills them with 0xFF, QEMU's NVMe ZNS with zeros
// (the NVMe specification leaves them undefined).
func pastWritePointerFill(path string) byte {
	if strings.HasPrefix(filepath.Base(path), "nullb") {
		return 0xFF
	}
	return 0
}

// TestKernelReopen checks that what was written and synced is there after
// the device is closed and opened again.
func TestKernelReopen(t *testing.T) {
	for _, path := range guestDevices(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			dev := openLinux(t, path)
			info := dev.Info()
			if err := dev.ResetZones(0, info.ZoneCount); err != nil {
				t.Fatal(err)
			}
			z := info.ConventionalZones
			buf := zoned.AlignedBuffer(3*info.LogicalBlockSize, info.LogicalBlockSize)
			for i := range buf {
				buf[i] = byte(i * 7)
			}
			if _, err := dev.WriteAt(buf, info.ZoneStart(z)); err != nil {
				t.Fatal(err)
			}
			if err := dev.Sync(); err != nil {
				t.Fatal(err)
			}
			if err := dev.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := dev.ReadAt(buf, 0); !errors.Is(err, zoned.ErrClosed) {
				t.Fatalf("read after close: %v, want ErrClosed", err)
			}
			dev = openLinux(t, path)
			defer dev.Close()
			zone, err := zoned.ReportZone(dev, z)
			if err != nil {
				t.Fatal(err)
			}
			if zone.WritePointer != zone.Start+int64(len(buf)) {
				t.Fatalf("after reopen zone %d is %v, want the write pointer at +%d", z, zone, len(buf))
			}
			got := zoned.AlignedBuffer(len(buf), info.LogicalBlockSize)
			if _, err := dev.ReadAt(got, info.ZoneStart(z)); err != nil {
				t.Fatal(err)
			}
			if string(got) != string(buf) {
				t.Fatal("data differs after reopen")
			}
		})
	}
}

// TestKernelOpenErrors checks the errors for paths that are not usable
// zoned devices.
func TestKernelOpenErrors(t *testing.T) {
	path := guestDevices(t)[0]

	_, err := zoned.OpenLinux("/dev/does-not-exist")
	if !errors.Is(err, zoned.ErrNotZoned) || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "/dev/does-not-exist") {
		t.Fatalf("missing path: %v", err)
	}
	_, err = zoned.OpenLinux("/dev/null")
	if !errors.Is(err, zoned.ErrNotZoned) || !strings.Contains(err.Error(), "not a block device") {
		t.Fatalf("character device: %v", err)
	}

	// A regular null_blk device made through configfs has no zones.
	plain := makePlainNullBlk(t)
	_, err = zoned.OpenLinux(plain)
	if !errors.Is(err, zoned.ErrNotZoned) || !strings.Contains(err.Error(), "none") {
		t.Fatalf("non-zoned block device %s: %v", plain, err)
	}

	// The device is opened exclusively: a second open is refused.
	dev := openLinux(t, path)
	defer dev.Close()
	_, err = zoned.OpenLinux(path)
	if !errors.Is(err, zoned.ErrBusy) || !strings.Contains(err.Error(), path) {
		t.Fatalf("second open of %s: %v, want ErrBusy naming the device", path, err)
	}
}

// makePlainNullBlk creates a non-zoned null_blk device through configfs and
// returns its path.
func makePlainNullBlk(t *testing.T) string {
	t.Helper()
	dir := "/sys/kernel/config/nullb/plain"
	if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
		t.Fatalf("configfs null_blk (is configfs mounted at /sys/kernel/config?): %v", err)
	}
	// New configfs devices take the module parameters as defaults, and the
	// module was loaded with zoned=1.
	for _, kv := range [][2]string{{"zoned", "0"}, {"size", "64"}, {"memory_backed", "1"}, {"power", "1"}} {
		if err := os.WriteFile(filepath.Join(dir, kv[0]), []byte(kv[1]), 0o644); err != nil {
			t.Fatalf("configfs %s: %v", kv[0], err)
		}
	}
	idx, err := os.ReadFile(filepath.Join(dir, "index"))
	if err != nil {
		t.Fatal(err)
	}
	// Depending on the kernel the disk is named after the index or after
	// the configfs directory.
	candidates := []string{"/dev/nullb" + strings.TrimSpace(string(idx)), "/dev/plain"}
	for range 50 {
		for _, path := range candidates {
			if _, err := os.Stat(path); err == nil {
				return path
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	entries, _ := os.ReadDir("/dev")
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	t.Fatalf("none of %v appeared; /dev has %v", candidates, names)
	return ""
}

// blkzoneLine matches one zone of `blkzone report`, e.g.
//
//	start: 0x000002000, len 0x002000, cap 0x001800, wptr 0x000008 reset:0 non-seq:0, zcond: 2(oi) [type: 2(SEQ_WRITE_REQUIRED)]
var blkzoneLine = regexp.MustCompile(`start: 0x([0-9a-f]+), len 0x([0-9a-f]+),(?: cap 0x([0-9a-f]+),)? wptr 0x([0-9a-f]+).*zcond:\s*(\d+)\(\w+\) \[type: (\d+)`)

// TestKernelBlkzoneCrossCheck compares ReportZones with util-linux's
// `blkzone report` after putting zones in varied states.
func TestKernelBlkzoneCrossCheck(t *testing.T) {
	blkzone := os.Getenv("SHINGLE_BLKZONE")
	if blkzone == "" {
		t.Fatal("SHINGLE_BLKZONE is not set to the blkzone binary")
	}
	for _, path := range guestDevices(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			dev := openLinux(t, path)
			info := dev.Info()
			if err := dev.ResetZones(0, info.ZoneCount); err != nil {
				t.Fatal(err)
			}
			bs := info.LogicalBlockSize
			first := info.ConventionalZones
			for k := range 5 {
				z := first + k
				if _, err := dev.WriteAt(zoned.AlignedBuffer((k+1)*bs, bs), info.ZoneStart(z)); err != nil {
					t.Fatal(err)
				}
			}
			must(t, dev.FinishZones(first+1, 1))
			must(t, dev.CloseZones(first+2, 1))
			must(t, dev.OpenZones(first+6, 1))
			must(t, dev.Sync())
			ours, err := zoned.ReportAll(dev)
			if err != nil {
				t.Fatal(err)
			}
			// blkzone opens the device without O_EXCL, so it can run while
			// we hold it.
			out, err := exec.Command(blkzone, "report", path).CombinedOutput()
			if err != nil {
				t.Fatalf("blkzone report %s: %v\n%s", path, err, out)
			}
			theirs := parseBlkzone(t, string(out))
			if len(theirs) != len(ours) {
				t.Fatalf("blkzone reports %d zones, ReportZones %d", len(theirs), len(ours))
			}
			for i, z := range ours {
				b := theirs[i]
				if z.Start != b.Start || z.Size != b.Size || z.Capacity != b.Capacity || z.Type != b.Type || z.Cond != b.Cond {
					t.Fatalf("zone %d: ReportZones %v, blkzone %v", i, z, b)
				}
				if z.Sequential() && z.Cond != zoned.CondFull && z.WritePointer != b.WritePointer {
					t.Fatalf("zone %d write pointer: ReportZones %d, blkzone %d", i, z.WritePointer, b.WritePointer)
				}
			}
			t.Logf("%s: %d zones agree with blkzone; first lines:\n%s", path, len(ours), firstLines(string(out), 12))
			must(t, dev.Close())
		})
	}
}

func parseBlkzone(t *testing.T, out string) []zoned.Zone {
	t.Helper()
	var zones []zoned.Zone
	hex := func(s string) int64 {
		v, err := strconv.ParseInt(s, 16, 64)
		if err != nil {
			t.Fatalf("blkzone: bad number %q", s)
		}
		return v
	}
	for _, line := range strings.Split(out, "\n") {
		m := blkzoneLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		z := zoned.Zone{Start: hex(m[1]) * 512, Size: hex(m[2]) * 512}
		z.Capacity = z.Size
		if m[3] != "" {
			z.Capacity = hex(m[3]) * 512
		}
		z.WritePointer = z.Start + hex(m[4])*512
		cond, _ := strconv.Atoi(m[5])
		typ, _ := strconv.Atoi(m[6])
		z.Cond, z.Type = zoned.Condition(cond), zoned.ZoneType(typ)
		zones = append(zones, z)
	}
	if len(zones) == 0 {
		t.Fatalf("no zones parsed from blkzone output:\n%s", firstLines(out, 20))
	}
	return zones
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}
