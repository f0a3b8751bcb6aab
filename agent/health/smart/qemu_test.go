//go:build qemu

package smart_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/shingle-storage/shingle/images/qemu"
)

const (
	guestTest = "/smart.test"
	// diskSize is the size of each emulated drive's backing file; SMART
	// does not care, and small files keep the run light.
	diskSize = 16 << 20
)

// TestKernelSMART runs this package's TestKernel* tests (built with the
// smartguest tag) inside a QEMU guest running Debian's kernel. The guest
// has an AHCI SATA disk, two NVMe controllers (the second with critical
// warnings injected through QEMU's smart_critical_warning property) and a
// virtio-scsi disk; the tests read each through the package's Reader and
// check every value against `smartctl -j -a` run on the same device in the
// same guest. See package images/qemu for the harness. Run it with
//
//	go test -tags qemu -v -run TestKernelSMART ./agent/health/smart/
//
// It needs qemu-system-x86, linux-image-amd64, busybox-static and
// smartmontools on the host and fails if any is missing. With
// SHINGLE_SMART_RECORD=DIR it also writes the guest's samples and smartctl
// reports to DIR (testdata/qemu holds the committed ones).
func TestKernelSMART(t *testing.T) {
	tmp := t.TempDir()

	testBin := qemu.BuildGuestTest(t, "github.com/shingle-storage/shingle/agent/health/smart", "smartguest", tmp)

	smartctl, err := exec.LookPath("smartctl")
	if err != nil {
		smartctl = "/usr/sbin/smartctl" // sbin is often not in PATH
		if _, err := os.Stat(smartctl); err != nil {
			t.Fatalf("smartctl: %v; install it: apt-get install -y smartmontools", err)
		}
	}

	disk := func(name string) string {
		p := filepath.Join(tmp, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := f.Truncate(diskSize); err != nil {
			t.Fatal(err)
		}
		return p
	}
	drive := func(id, file string) []string {
		return []string{"-drive", "file=" + file + ",if=none,format=raw,id=" + id}
	}
	var args []string
	args = append(args, drive("s0", disk("sata.img"))...)
	args = append(args, "-device", "ahci,id=ahci",
		"-device", "ide-hd,drive=s0,bus=ahci.0,serial="+guestATASerial)
	args = append(args, drive("n0", disk("nvme0.img"))...)
	args = append(args, "-device", "nvme,drive=n0,serial="+guestNVMeSerial)
	args = append(args, drive("n1", disk("nvme1.img"))...)
	args = append(args, "-device", fmt.Sprintf("nvme,drive=n1,serial=%s,smart_critical_warning=%d", guestWarningSerial, guestWarning))
	args = append(args, drive("v0", disk("scsi.img"))...)
	args = append(args, "-device", "virtio-scsi-pci,id=vscsi", "-device", "scsi-hd,drive=v0,bus=vscsi.0")

	// As in zoned's kernel test: the guest's test binary gets a minute
	// less than QEMU, so that a hung test panics with its goroutines on
	// the console instead of being killed silently.
	timeout := 15 * time.Minute
	if d, ok := t.Deadline(); ok {
		timeout = min(timeout, time.Until(d)-30*time.Second)
	}
	guestTimeout := max(timeout-time.Minute, time.Minute)

	cfg := qemu.Config{
		Modules:  []string{"ahci", "sd_mod", "nvme", "virtio_pci", "virtio_scsi"},
		Files:    map[string]string{guestTest: testBin},
		Binaries: []string{smartctl},
		QEMUArgs: args,
		Script: fmt.Sprintf(`waitfor /dev/sda /dev/sdb /dev/nvme0 /dev/nvme1 /dev/nvme0n1 /dev/nvme1n1 || exit 1
export SHINGLE_SMARTCTL=%s
%s -test.v -test.run '^TestKernel' -test.timeout %s
`, smartctl, guestTest, guestTimeout),
		Timeout: timeout,
	}
	if testing.Verbose() {
		cfg.Stdout = os.Stdout
	}
	res, err := qemu.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	qemu.CheckGuestTest(t, res, "smartguest")
	records, err := guestRecords(res.Console)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"qemu-sata", "qemu-nvme", "qemu-nvme-warning"} {
		for _, suffix := range []string{".sample.json", ".smartctl.json"} {
			if _, ok := records[name+suffix]; !ok {
				t.Errorf("the guest did not record %s%s", name, suffix)
			}
		}
	}

	if dir := os.Getenv("SHINGLE_SMART_RECORD"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range slices.Sorted(maps.Keys(records)) {
			var out bytes.Buffer
			if err := json.Indent(&out, records[name], "", "  "); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			out.WriteByte('\n')
			if err := os.WriteFile(filepath.Join(dir, name), out.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("wrote %d files to %s", len(records), dir)
	}
}

// recordLine matches a line on which the guest recorded a sample or a
// smartctl report (see record in guest_test.go).
var recordLine = regexp.MustCompile(`(?m)^` + guestRecordMarker + ` (\S+) (\{.*\})$`)

// guestRecords returns the JSON documents the guest recorded, by file name.
func guestRecords(console string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, m := range recordLine.FindAllStringSubmatch(console, -1) {
		if !json.Valid([]byte(m[2])) {
			return nil, fmt.Errorf("the guest's record of %s is not valid JSON (a kernel message in the middle?)", m[1])
		}
		out[m[1]] = []byte(m[2])
	}
	return out, nil
}
