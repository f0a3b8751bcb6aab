//go:build qemu

package extent_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shingle-storage/shingle/images/qemu"
)

// The guest's two kernel devices, the same as zoned's kernel test boots
// (see zoned/qemu_test.go): small zones, so that extents fill and seal
// quickly under TCG.
const (
	// nullBlkParams makes /dev/nullb0 shaped like a host-managed SMR disk:
	// 1 GiB of 4 MiB zones (256), the first four conventional, 4 KiB
	// logical blocks, at most 8 open and 12 active zones.
	nullBlkParams = "nr_devices=1 zoned=1 zone_size=4 zone_nr_conv=4 memory_backed=1 gb=1 " +
		"zone_max_open=8 zone_max_active=12 bs=4096"

	// znsSize is the size of the file backing the NVMe ZNS namespace
	// /dev/nvme0n1: 64 zones of 4 MiB, of which 3 MiB are writable, and no
	// conventional zones.
	znsSize = 256 << 20
	znsNS   = "nvme-ns,drive=zns0,bus=nvme0,nsid=1,logical_block_size=4096,physical_block_size=4096," +
		"zoned=true,zoned.zone_size=4M,zoned.zone_capacity=3M,zoned.max_open=8,zoned.max_active=12"

	guestTest = "/extent.test"
)

// TestKernelExtentStore runs this package's TestKernel* tests (built with
// the extentguest tag) inside a QEMU guest running Debian's kernel: the
// extent store on a zoned null_blk device with conventional zones and on a
// QEMU-emulated NVMe ZNS namespace, through zoned.OpenLinux, across closes
// and reopens. See package images/qemu. Run it with
//
//	go test -tags qemu -v -run TestKernelExtentStore ./agent/extent/
//
// It needs qemu-system-x86, linux-image-amd64 and busybox-static on the
// host and fails if any is missing.
func TestKernelExtentStore(t *testing.T) {
	tmp := t.TempDir()

	testBin := qemu.BuildGuestTest(t, "github.com/shingle-storage/shingle/agent/extent", "extentguest", tmp)

	backing := filepath.Join(tmp, "zns.img")
	f, err := os.Create(backing)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(znsSize); err != nil {
		t.Fatal(err)
	}
	f.Close()

	// As in zoned's kernel test: the guest's test binary gets a minute less
	// than QEMU, so that a hung test panics with its goroutines on the
	// console instead of being killed silently.
	timeout := 20 * time.Minute
	if d, ok := t.Deadline(); ok {
		timeout = min(timeout, time.Until(d)-30*time.Second)
	}
	guestTimeout := max(timeout-time.Minute, time.Minute)

	cfg := qemu.Config{
		Modules:      []string{"null_blk", "nvme"},
		ModuleParams: map[string]string{"null_blk": nullBlkParams},
		Files:        map[string]string{guestTest: testBin},
		QEMUArgs: []string{
			"-drive", "file=" + backing + ",id=zns0,format=raw,if=none",
			"-device", "nvme,serial=shinglezns,id=nvme0",
			"-device", znsNS,
		},
		Script: fmt.Sprintf(`waitfor /dev/nullb0 /dev/nvme0n1 || exit 1
for dev in nullb0 nvme0n1; do
	for attr in zoned chunk_sectors nr_zones max_open_zones max_active_zones logical_block_size; do
		echo "$dev/queue/$attr: $(cat /sys/block/$dev/queue/$attr)"
	done
done
export SHINGLE_EXTENT_DEVICES=/dev/nullb0,/dev/nvme0n1
%s -test.v -test.run '^TestKernel' -test.timeout %s
`, guestTest, guestTimeout),
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
	qemu.CheckGuestTest(t, res, "extentguest")
}
