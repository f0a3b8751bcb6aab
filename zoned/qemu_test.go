//go:build qemu

package zoned_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shingle-storage/shingle/images/qemu"
)

// Geometry of the two kernel devices the guest tests run against. Zones are
// small so that filling one is quick under TCG.
const (
	// nullBlkParams makes /dev/nullb0 shaped like a host-managed SMR disk:
	// 1 GiB of 4 MiB zones (256), the first four conventional, 4 KiB
	// logical blocks, at most 8 open and 12 active zones.
	nullBlkParams = "nr_devices=1 zoned=1 zone_size=4 zone_nr_conv=4 memory_backed=1 gb=1 " +
		"zone_max_open=8 zone_max_active=12 bs=4096"

	// znsSize is the size of the file backing the NVMe ZNS namespace
	// /dev/nvme0n1: 64 zones of 4 MiB, of which 3 MiB are writable
	// (zone capacity below zone size, as on real ZNS drives).
	znsSize = 256 << 20
	znsNS   = "nvme-ns,drive=zns0,bus=nvme0,nsid=1,logical_block_size=4096,physical_block_size=4096," +
		"zoned=true,zoned.zone_size=4M,zoned.zone_capacity=3M,zoned.max_open=8,zoned.max_active=12"

	guestBlkzone = "/usr/sbin/blkzone"
	guestTest    = "/zoned.test"
)

// TestKernelZonedDevices runs this package's TestKernel* tests (built with
// the zonedguest tag) inside a QEMU guest running Debian's kernel, against
// a zoned null_blk device and a QEMU-emulated NVMe ZNS namespace. See
// package images/qemu for why. Run it with
//
//	go test -tags qemu -v -run TestKernelZonedDevices ./zoned/
//
// It needs qemu-system-x86, linux-image-amd64, busybox-static and
// util-linux (blkzone) on the host and fails if any is missing.
func TestKernelZonedDevices(t *testing.T) {
	tmp := t.TempDir()

	testBin := qemu.BuildGuestTest(t, "github.com/shingle-storage/shingle/zoned", "zonedguest", tmp)
	if _, err := os.Stat(guestBlkzone); err != nil {
		t.Fatalf("blkzone: %v; install it: apt-get install -y util-linux", err)
	}

	backing := filepath.Join(tmp, "zns.img")
	f, err := os.Create(backing)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(znsSize); err != nil {
		t.Fatal(err)
	}
	f.Close()

	// Leave room in the test's own deadline for reporting; inside that,
	// give the guest's test binary a minute less than QEMU so that a hung
	// guest test panics with its goroutines on the console instead of
	// being killed silently.
	timeout := 30 * time.Minute
	if d, ok := t.Deadline(); ok {
		timeout = min(timeout, time.Until(d)-30*time.Second)
	}
	guestTimeout := max(timeout-time.Minute, time.Minute)

	files := map[string]string{guestTest: testBin}
	if _, err := os.Stat("testdata"); err == nil {
		files["/zoned/testdata"] = "testdata"
	}
	cfg := qemu.Config{
		Modules:      []string{"null_blk", "nvme"},
		ModuleParams: map[string]string{"null_blk": nullBlkParams},
		Files:        files,
		Binaries:     []string{guestBlkzone},
		QEMUArgs: []string{
			"-drive", "file=" + backing + ",id=zns0,format=raw,if=none",
			"-device", "nvme,serial=shinglezns,id=nvme0",
			"-device", znsNS,
		},
		Script:   guestScript(guestTimeout),
		MemoryMB: 2048,
		CPUs:     2,
		Timeout:  timeout,
	}
	if testing.Verbose() {
		cfg.Stdout = os.Stdout
	}
	res, err := qemu.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	qemu.CheckGuestTest(t, res, "zonedguest")
}

// guestScript returns the script the guest runs: it waits for both
// devices, prints their queue limits for the log, and runs the TestKernel*
// tests against them.
func guestScript(timeout time.Duration) string {
	return fmt.Sprintf(`waitfor /dev/nullb0 /dev/nvme0n1 || exit 1
for dev in nullb0 nvme0n1; do
	for attr in zoned chunk_sectors nr_zones max_open_zones max_active_zones \
		logical_block_size physical_block_size max_sectors_kb zone_append_max_bytes write_cache; do
		echo "$dev/queue/$attr: $(cat /sys/block/$dev/queue/$attr)"
	done
done
mkdir -p /zoned && cd /zoned || exit 1
export SHINGLE_ZONED_DEVICES=/dev/nullb0,/dev/nvme0n1
export SHINGLE_BLKZONE=%s
%s -test.v -test.run '^TestKernel' -test.timeout %s
`, guestBlkzone, guestTest, timeout)
}
