//go:build qemu

package discover_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shingle-storage/shingle/images/qemu"
)

// TestKernelDiscover runs this package's TestKernel* tests (built with the
// discoverguest tag) inside a QEMU guest running Debian's kernel, with a
// zoned null_blk device, an NVMe ZNS namespace, an AHCI SATA disk whose
// backing file holds an MBR, and a virtio-scsi disk: discovery, statistics
// and claiming against the real sysfs and procfs. See package images/qemu.
// Run it with
//
//	go test -tags qemu -v -run TestKernelDiscover ./agent/discover/
//
// It needs qemu-system-x86, linux-image-amd64 and busybox-static on the
// host and fails if any is missing.
func TestKernelDiscover(t *testing.T) {
	tmp := t.TempDir()
	testBin := qemu.BuildGuestTest(t, "github.com/shingle-storage/shingle/agent/discover", "discoverguest", tmp)

	backing := func(name string, size int64, head []byte) string {
		p := filepath.Join(tmp, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := f.Truncate(size); err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt(head, 0); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The SATA disk has an MBR with one Linux partition, which the guest's
	// kernel finds.
	mbr := make([]byte, 512)
	copy(mbr[446:], mbrEntry(0, 0x83))
	copy(mbr[510:], "\x55\xaa")

	args := []string{
		"-drive", "file=" + backing("zns.img", znsSize, nil) + ",id=zns0,format=raw,if=none",
		"-device", "nvme,serial=" + guestZNSSerial + ",id=nvme0",
		"-device", "nvme-ns,drive=zns0,bus=nvme0,nsid=1,logical_block_size=4096,physical_block_size=4096," +
			"zoned=true,zoned.zone_size=4M,zoned.zone_capacity=3M,zoned.max_open=8,zoned.max_active=12",
		"-drive", "file=" + backing("sata.img", diskSize, mbr) + ",if=none,format=raw,id=s0",
		"-device", "ahci,id=ahci",
		"-device", "ide-hd,drive=s0,bus=ahci.0,serial=" + guestSATASerial + ",model=" + guestSATAModel + ",wwn=" + guestSATAWWN,
		"-drive", "file=" + backing("scsi.img", diskSize, nil) + ",if=none,format=raw,id=v0",
		"-device", "virtio-scsi-pci,id=vscsi",
		"-device", "scsi-hd,drive=v0,bus=vscsi.0,serial=" + guestSCSISerial + ",wwn=" + guestSCSIWWN + ",vendor=SHINGLE,product=TESTSCSI",
	}

	// As in zoned's kernel test: the guest's test binary gets a minute less
	// than QEMU, so that a hung test panics with its goroutines on the
	// console instead of being killed silently.
	timeout := 15 * time.Minute
	if d, ok := t.Deadline(); ok {
		timeout = min(timeout, time.Until(d)-30*time.Second)
	}
	guestTimeout := max(timeout-time.Minute, time.Minute)

	cfg := qemu.Config{
		Modules:      []string{"null_blk", "nvme", "ahci", "sd_mod", "virtio_pci", "virtio_scsi"},
		ModuleParams: map[string]string{"null_blk": nullBlkParams},
		Files:        map[string]string{guestTest: testBin},
		QEMUArgs:     args,
		Script: fmt.Sprintf(`waitfor /dev/nullb0 /dev/nvme0n1 /dev/sda /dev/sdb || exit 1
# The sysfs layout the tests read, for the log.
ls -l /sys/block/
for d in /sys/block/*; do
	echo "$d -> $(readlink $d)"
	for a in wwid nsid hidden device/model device/serial device/vendor device/rev device/firmware_rev device/wwid queue/zoned; do
		[ -e $d/$a ] && echo "  $a: $(cat $d/$a)"
	done
done
export SHINGLE_DISCOVER_GUEST=1
%s -test.v -test.run '^TestKernel' -test.timeout %s
`, guestTest, guestTimeout),
		MemoryMB: 2048,
		Timeout:  timeout,
	}
	if testing.Verbose() {
		cfg.Stdout = os.Stdout
	}
	res, err := qemu.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	qemu.CheckGuestTest(t, res, "discoverguest")
}
