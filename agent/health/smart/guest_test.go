//go:build smartguest

// The tests in this file run inside the QEMU guest that qemu_test.go boots,
// against the drives QEMU emulates: an AHCI SATA disk, two NVMe
// controllers and a virtio-scsi disk. They are compiled only into the
// guest's test binary (go test -c -tags smartguest) and fail, rather than
// skip, when a drive they expect is missing.

package smart_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shingle-storage/shingle/agent/health/smart"
)

// smartctlPath returns the smartctl the host put in the guest.
func smartctlPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("SHINGLE_SMARTCTL")
	if p == "" {
		t.Fatal("SHINGLE_SMARTCTL is not set; these tests run inside the QEMU guest started by `go test -tags qemu ./agent/health/smart/`")
	}
	return p
}

// sysfsString reads a sysfs attribute, trimmed.
func sysfsString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// scsiDisk returns the /dev/sdX whose SCSI INQUIRY vendor is vendor: "ATA"
// for a disk behind libata, "QEMU" for a virtio-scsi disk. Probing is
// asynchronous, so the letters are not fixed.
func scsiDisk(t *testing.T, vendor string) string {
	t.Helper()
	disks, _ := filepath.Glob("/sys/block/sd*")
	var seen []string
	for _, d := range disks {
		v := sysfsString(t, filepath.Join(d, "device/vendor"))
		seen = append(seen, filepath.Base(d)+"="+v)
		if v == vendor {
			return "/dev/" + filepath.Base(d)
		}
	}
	t.Fatalf("no SCSI disk with vendor %q (disks: %v)", vendor, seen)
	return ""
}

// nvmeController returns the name (nvmeN) of the NVMe controller with the
// given serial number.
func nvmeController(t *testing.T, serial string) string {
	t.Helper()
	ctrls, _ := filepath.Glob("/sys/class/nvme/nvme*")
	for _, c := range ctrls {
		if sysfsString(t, filepath.Join(c, "serial")) == serial {
			return filepath.Base(c)
		}
	}
	t.Fatalf("no NVMe controller with serial %q among %v", serial, ctrls)
	return ""
}

// nvmeNamespace returns the block device (/dev/nvmeXnY) of the first
// namespace of the NVMe controller with the given serial number. Its
// number need not match the controller's: with native multipath the
// kernel numbers namespaces by subsystem.
func nvmeNamespace(t *testing.T, serial string) string {
	t.Helper()
	nss, _ := filepath.Glob("/sys/block/nvme*n1")
	for _, ns := range nss {
		if sysfsString(t, filepath.Join(ns, "device/serial")) == serial {
			return "/dev/" + filepath.Base(ns)
		}
	}
	t.Fatalf("no NVMe namespace of the controller with serial %q among %v", serial, nss)
	return ""
}

// readSample reads path through the package's Reader.
func readSample(t *testing.T, path string) smart.Sample {
	t.Helper()
	var r smart.Reader = smart.Device{Path: path}
	start := time.Now()
	s, err := r.Read(context.Background())
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	t.Logf("%s: read the %s sample in %v", path, s.Kind, time.Since(start).Round(time.Millisecond))
	if err := s.Validate(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if s.Path != path || s.Time.IsZero() {
		t.Errorf("%s: sample path %q, time %v", path, s.Path, s.Time)
	}
	return s
}

// runSmartctl runs smartctl -j -a on path and returns its report and raw
// output. smartctl's exit status is a bit mask: bits 0-2 mean it could not
// parse its command line, open the device or run a SMART command; the
// others report on the drive's health and are expected here.
func runSmartctl(t *testing.T, path string) (smartctlReport, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, smartctlPath(t), "-j", "-a", path)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("smartctl -j -a %s: %v", path, err)
	}
	r, perr := parseSmartctl(out)
	if perr != nil {
		t.Fatalf("smartctl -j -a %s: %v\n%s%s", path, perr, out, stderr.Bytes())
	}
	if r.Smartctl.ExitStatus&0b111 != 0 {
		t.Fatalf("smartctl -j -a %s exited with status %#x: %+v\n%s", path, r.Smartctl.ExitStatus, r.Smartctl.Messages, stderr.Bytes())
	}
	t.Logf("%s: smartctl exit status %#x", path, r.Smartctl.ExitStatus)
	return r, out
}

// record prints the sample and smartctl's report on the console for the
// host to save as test data (see qemu_test.go).
func record(t *testing.T, name string, s smart.Sample, smartctlJSON []byte) {
	t.Helper()
	js, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, smartctlJSON); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("\n%s %s.sample.json %s\n", guestRecordMarker, name, js)
	fmt.Printf("\n%s %s.smartctl.json %s\n", guestRecordMarker, name, compact.Bytes())
}

// checkAgainstSmartctl reads path both ways and fails on any difference.
func checkAgainstSmartctl(t *testing.T, path string) (smart.Sample, []byte) {
	t.Helper()
	s := readSample(t, path)
	r, out := runSmartctl(t, path)
	for _, d := range compareSmartctl(s, r) {
		t.Errorf("%s: %s", path, d)
	}
	return s, out
}

func TestKernelSMARTATA(t *testing.T) {
	path := scsiDisk(t, "ATA")
	s, out := checkAgainstSmartctl(t, path)
	record(t, "qemu-sata", s, out)

	if s.Kind != smart.ATA || s.Serial != guestATASerial {
		t.Fatalf("%s: kind %q serial %q, want ata %q", path, s.Kind, s.Serial, guestATASerial)
	}
	if len(s.ATA) == 0 {
		t.Fatalf("%s: no attributes", path)
	}
	for _, a := range s.ATA {
		t.Logf("%s: attribute %3d %-24s flags %#04x value %3d worst %3d threshold %3d raw %d",
			path, a.ID, a.Name, a.Flags, a.Value, a.Worst, a.Threshold, a.Raw)
	}
	g := s.Signals()
	if !g.HasTemperature {
		t.Errorf("%s: no temperature", path)
	}
	if p := g.Problems(); len(p) != 0 {
		t.Errorf("%s: a fresh emulated disk has problems: %v", path, p)
	}
	// QEMU's table has attribute 5 among the Backblaze five, and none of
	// the others: absent, not zero.
	for _, id := range smart.BackblazeAttributes() {
		_, inSample := s.Attribute(id)
		v, inSignals := g.Backblaze[id]
		if inSample != inSignals || (inSignals && v != 0) {
			t.Errorf("%s: Backblaze attribute %d: in sample %v, in signals %v (value %d)", path, id, inSample, inSignals, v)
		}
	}
}

func TestKernelSMARTNVMe(t *testing.T) {
	for _, c := range []struct {
		serial, name string
		warning      smart.CriticalWarning
	}{
		{guestNVMeSerial, "qemu-nvme", 0},
		{guestWarningSerial, "qemu-nvme-warning", guestWarning},
	} {
		t.Run(c.name, func(t *testing.T) {
			// The controller's character device and its namespace's
			// block device both answer admin commands.
			ns := nvmeNamespace(t, c.serial)
			for _, path := range []string{"/dev/" + nvmeController(t, c.serial), ns} {
				s, out := checkAgainstSmartctl(t, path)
				if path == ns {
					record(t, c.name, s, out)
				}
				if s.Kind != smart.NVMe || s.Serial != c.serial {
					t.Fatalf("%s: kind %q serial %q, want nvme %q", path, s.Kind, s.Serial, c.serial)
				}
				g := s.Signals()
				t.Logf("%s: %+v; critical warning %v", path, *s.NVMe, g.CriticalWarning)
				if g.CriticalWarning != c.warning {
					t.Errorf("%s: critical warning %v, want %v", path, g.CriticalWarning, c.warning)
				}
				if !g.HasTemperature || g.TemperatureC <= 0 {
					t.Errorf("%s: temperature %d °C (reported: %v)", path, g.TemperatureC, g.HasTemperature)
				}
				if got, want := len(g.Problems()), len(c.warning.Conditions()); got != want {
					t.Errorf("%s: problems %q, want one per critical warning bit (%d)", path, g.Problems(), want)
				}
			}
		})
	}
}

// TestKernelSMARTUnsupported reads a virtio-scsi disk, which answers SCSI
// commands but not ATA pass-through: the error must say so.
func TestKernelSMARTUnsupported(t *testing.T) {
	path := scsiDisk(t, "QEMU")
	_, err := smart.Device{Path: path}.Read(context.Background())
	t.Logf("%s: %v", path, err)
	if !errors.Is(err, smart.ErrUnsupported) {
		t.Fatalf("%s: error %v, want one wrapping ErrUnsupported", path, err)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "SCSI") {
		t.Errorf("%s: error %q does not name the device and say it is SCSI", path, err)
	}
}
