package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/shingle-storage/shingle/agent/discover"
	"github.com/shingle-storage/shingle/agent/extent"
	"github.com/shingle-storage/shingle/agent/label"
	"github.com/shingle-storage/shingle/agent/record"
	"github.com/shingle-storage/shingle/agent/server"
	"github.com/shingle-storage/shingle/zoned"
)

// The geometry of the fake host's zoned drives: 16 zones of 8 MiB.
const (
	zoneSize  = 8 << 20
	zoneCount = 16
)

var (
	thisCluster  = label.ID{0x11, 0x11}
	otherCluster = label.ID{0x22, 0x22}
)

// fakeHost is a host of fake drives: a sysfs tree shaped like the kernel's
// (see agent/discover's tests) and, behind each zoned drive, an emulated
// device that the test's claim function opens in place of the block device.
type fakeHost struct {
	t       *testing.T
	sys     string            // stands for /sys
	dev     string            // stands for /dev
	devices map[string]string // kernel name → emulator file
}

func newFakeHost(t *testing.T) *fakeHost {
	dir := t.TempDir()
	h := &fakeHost{t: t, sys: filepath.Join(dir, "sys"), dev: filepath.Join(dir, "dev"), devices: map[string]string{}}
	for _, d := range []string{filepath.Join(h.sys, "block"), h.dev, filepath.Join(dir, "media")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func (h *fakeHost) write(path, content string) {
	h.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content+"\n"), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// fakeDisk describes a SAS disk of the fake host.
type fakeDisk struct {
	name, wwn, serial, model string
	minor                    int
	conventional             bool // no zones
	partitions               []string
}

// add lays out d under sys/devices and links it from sys/block; a zoned
// disk gets an emulated device, created empty.
func (h *fakeHost) add(d fakeDisk) {
	h.t.Helper()
	scsi := fmt.Sprintf("devices/pci0000:00/0000:00:01.0/host6/target6:0:%d/6:0:%d:0", d.minor, d.minor)
	h.write(filepath.Join(h.sys, scsi, "vendor"), "SEAGATE ")
	h.write(filepath.Join(h.sys, scsi, "model"), d.model)
	h.write(filepath.Join(h.sys, scsi, "rev"), "0004")
	h.write(filepath.Join(h.sys, scsi, "scsi_level"), "7")
	if d.wwn != "" {
		h.write(filepath.Join(h.sys, scsi, "wwid"), "naa."+d.wwn)
	}
	if d.serial != "" {
		if err := os.WriteFile(filepath.Join(h.sys, scsi, "vpd_pg80"), append([]byte{0, 0x80, 0, byte(len(d.serial))}, d.serial...), 0o644); err != nil {
			h.t.Fatal(err)
		}
	}
	disk := filepath.Join(h.sys, scsi, "block", d.name)
	model, chunk, zones := "host-managed", zoneSize/512, zoneCount
	if d.conventional {
		model, chunk, zones = "none", 0, 0
	}
	for name, v := range map[string]string{
		"dev": fmt.Sprintf("8:%d", 16*d.minor), "size": fmt.Sprint(zoneSize * zoneCount / 512), "ro": "0", "removable": "0",
		"queue/zoned": model, "queue/chunk_sectors": fmt.Sprint(chunk), "queue/nr_zones": fmt.Sprint(zones),
		"queue/max_open_zones": "0", "queue/max_active_zones": "0", "queue/logical_block_size": "4096",
		"queue/physical_block_size": "4096", "queue/rotational": "1",
	} {
		h.write(filepath.Join(disk, name), v)
	}
	if err := os.MkdirAll(filepath.Join(disk, "holders"), 0o755); err != nil {
		h.t.Fatal(err)
	}
	for i, p := range d.partitions {
		h.write(filepath.Join(disk, p, "partition"), fmt.Sprint(i+1))
	}
	if err := os.Symlink("../..", filepath.Join(disk, "device")); err != nil {
		h.t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..", scsi, "block", d.name), filepath.Join(h.sys, "block", d.name)); err != nil {
		h.t.Fatal(err)
	}
	if !d.conventional {
		path := filepath.Join(filepath.Dir(h.sys), "media", d.name+".zoned")
		dev, err := zoned.CreateEmulator(path, zoned.EmulatorConfig{ZoneSize: zoneSize, ZoneCount: zoneCount})
		if err != nil {
			h.t.Fatal(err)
		}
		if err := dev.Close(); err != nil {
			h.t.Fatal(err)
		}
		h.devices[d.name] = path
	}
}

// format formats the emulated device of disk name for cluster and puts one
// blob on it; it returns the drive id.
func (h *fakeHost) format(name string, cluster label.ID, key record.Key, blob []byte) label.ID {
	h.t.Helper()
	dev, err := zoned.OpenEmulator(h.devices[name])
	if err != nil {
		h.t.Fatal(err)
	}
	defer dev.Close()
	s, err := extent.Format(dev, extent.FormatOptions{Cluster: cluster, Drive: server.NewID(), ZonesPerExtent: 2})
	if err != nil {
		h.t.Fatal(err)
	}
	id, err := s.CreateExtent()
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := s.Put(context.Background(), id, key, blob); err != nil {
		h.t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		h.t.Fatal(err)
	}
	return s.Label().Drive
}

// label reads the label on disk name's emulated device.
func (h *fakeHost) label(name string) label.Label {
	h.t.Helper()
	dev, err := zoned.OpenEmulator(h.devices[name])
	if err != nil {
		h.t.Fatal(err)
	}
	defer dev.Close()
	s, err := extent.Open(dev, extent.Options{})
	if err != nil {
		h.t.Fatalf("%s: %v", name, err)
	}
	defer s.Close()
	return s.Label()
}

// claim is Scanner.Claim with the emulated device in place of the block
// device: the drive is vetted through its write pointers as on Linux.
func (h *fakeHost) claim(p discover.Policy, d discover.Drive) (discover.Verdict, zoned.Device, error) {
	path, ok := h.devices[d.Name]
	if !ok {
		// Like Scanner.Claim, a drive refused whatever it holds is refused
		// without being opened; a conventional disk has no emulator.
		v, err := p.Vet(d, bytes.NewReader(nil))
		return v, nil, err
	}
	dev, err := zoned.OpenEmulator(path)
	if err != nil {
		return discover.Verdict{}, nil, err
	}
	v, err := p.VetDevice(d, dev)
	if err != nil {
		dev.Close()
		return discover.Verdict{}, nil, err
	}
	return v, dev, nil
}

// logLine is one JSON log line.
type logLine struct {
	Level, Msg, Disk, Path, Drive, Error string
	Reasons                              []string
	Overridden                           []string
}

func logLines(t *testing.T, buf *bytes.Buffer) []logLine {
	t.Helper()
	var out []logLine
	for _, l := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var ll logLine
		if err := json.Unmarshal(l, &ll); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, ll)
	}
	return out
}

func findLog(lines []logLine, msg, disk string) (logLine, bool) {
	for _, l := range lines {
		if l.Msg == msg && l.Disk == disk {
			return l, true
		}
	}
	return logLine{}, false
}

// TestRealDrives claims the fake host's drives under a policy: the blank
// drive is formatted, this cluster's drive is opened with its blob, the
// forced drive of another cluster is formatted over, and every other drive
// is left alone with its reasons logged.
func TestRealDrives(t *testing.T) {
	h := newFakeHost(t)
	h.add(fakeDisk{name: "sda", wwn: "5000c500000000a1", serial: "A1", model: "ST4000NM0023", minor: 0, conventional: true, partitions: []string{"sda1"}})
	h.add(fakeDisk{name: "sdb", wwn: "5000cca2000000b1", serial: "B1", model: "HGST HSH721414AL", minor: 1}) // blank
	h.add(fakeDisk{name: "sdc", wwn: "5000cca2000000c1", serial: "C1", model: "HGST HSH721414AL", minor: 2}) // this cluster
	h.add(fakeDisk{name: "sdd", wwn: "5000cca2000000d1", serial: "D1", model: "HGST HSH721414AL", minor: 3}) // another cluster
	h.add(fakeDisk{name: "sde", wwn: "5000cca2000000e1", serial: "E1", model: "HGST HSH721414AL", minor: 4}) // another cluster, forced
	h.add(fakeDisk{name: "sdf", wwn: "5000cca2000000f1", serial: "F1", model: "HGST HSH721414AL", minor: 5, partitions: []string{"sdf1"}})
	h.add(fakeDisk{name: "sdg", model: "HGST HSH721414AL", minor: 6})                                    // no WWN, no serial
	h.add(fakeDisk{name: "sdh", wwn: "5000c500000000a8", serial: "H1", model: "ST8000AS0002", minor: 7}) // not allowed

	key := record.Key{1, 2, 3}
	blob := []byte("a blob put before the agent started")
	ours := h.format("sdc", thisCluster, key, blob)
	theirs := h.format("sdd", otherCluster, key, blob)
	h.format("sde", otherCluster, key, blob)

	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rd := server.RealDrives{
		Policy: discover.Policy{Cluster: thisCluster, AllowModels: []string{"HGST HSH72*"},
			Force: []string{"0x5000cca2000000e1"}},
		ZonesPerExtent: 2,
		Scanner:        discover.Scanner{SysRoot: h.sys, DevDir: h.dev},
		Claim:          h.claim,
	}
	drives, err := rd.Open(log)
	if err != nil {
		t.Fatalf("%v\n%s", err, logs.String())
	}
	byPath := map[string]*server.Drive{}
	var paths []string
	for _, d := range drives {
		byPath[d.Path] = d
		paths = append(paths, filepath.Base(d.Path))
	}
	if want := []string{"sdb", "sdc", "sde"}; !slices.Equal(paths, want) {
		t.Fatalf("claimed %v, want %v\n%s", paths, want, logs.String())
	}
	for _, d := range drives {
		if d.Model != "HGST HSH721414AL" {
			t.Errorf("%s: model %q", d.Path, d.Model)
		}
		if l := d.Store.Label(); l.Cluster != thisCluster || l.ZonesPerExtent != 2 {
			t.Errorf("%s: label %+v, want cluster %s with 2 zones per extent", d.Path, l, thisCluster)
		}
	}
	sdc := byPath[filepath.Join(h.dev, "sdc")]
	if sdc.ID != ours.String() {
		t.Errorf("sdc has drive id %s, want %s as formatted", sdc.ID, ours)
	}
	if got, err := sdc.Store.Get(context.Background(), key); err != nil || !bytes.Equal(got, blob) {
		t.Errorf("sdc: Get = %q, %v; want the blob put before", got, err)
	}
	if _, err := byPath[filepath.Join(h.dev, "sde")].Store.Get(context.Background(), key); !errors.Is(err, extent.ErrNotFound) {
		t.Errorf("sde: Get = %v; want not found after the forced format", err)
	}
	for _, d := range drives {
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if l := h.label("sdd"); l.Cluster != otherCluster || l.Drive != theirs {
		t.Errorf("sdd was touched: label %+v", l)
	}

	lines := logLines(t, &logs)
	for _, c := range []struct {
		disk, level, msg, reason, says string
	}{
		{"wwn-0x5000c500000000a1", "INFO", "drive not claimed: no allow rule names it", "not allowed", "no allow rule"},
		{"wwn-0x5000c500000000a8", "INFO", "drive not claimed: no allow rule names it", "not allowed", "add its WWN"},
		{"wwn-0x5000cca2000000d1", "WARN", "drive refused", "another cluster's label", otherCluster.String()},
		{"wwn-0x5000cca2000000f1", "WARN", "drive refused", "partition table", "sdf1"},
		{"", "WARN", "drive refused", "no identity", "neither a WWN nor a serial"},
	} {
		l, ok := findLog(lines, c.msg, c.disk)
		if !ok || l.Level != c.level || !slices.Contains(l.Reasons, c.reason) || !strings.Contains(l.Error, c.says) {
			t.Errorf("%s: want a %s %q log with reason %q saying %q; got %+v (found %v)", c.disk, c.level, c.msg, c.reason, c.says, l, ok)
		}
	}
	if l, ok := findLog(lines, "formatting a forced drive: what it held is destroyed", "wwn-0x5000cca2000000e1"); !ok || l.Level != "WARN" || len(l.Overridden) == 0 {
		t.Errorf("no warning for formatting the forced drive: %+v", l)
	}
	if _, ok := findLog(lines, "formatted drive", "wwn-0x5000cca2000000b1"); !ok {
		t.Error("the blank drive's format is not logged")
	}
	if _, ok := findLog(lines, "formatted drive", "wwn-0x5000cca2000000c1"); ok {
		t.Error("this cluster's drive was formatted")
	}
}

// TestRealDrivesSkipsBrokenDrives: a drive whose claim fails for another
// reason than a refusal, or whose store cannot be opened, is logged and left
// out; the agent goes on with the others.
func TestRealDrivesSkipsBrokenDrives(t *testing.T) {
	h := newFakeHost(t)
	h.add(fakeDisk{name: "sdb", wwn: "5000cca2000000b1", serial: "B1", model: "HGST HSH721414AL", minor: 1})
	h.add(fakeDisk{name: "sdc", wwn: "5000cca2000000c1", serial: "C1", model: "HGST HSH721414AL", minor: 2})
	h.add(fakeDisk{name: "sdd", wwn: "5000cca2000000d1", serial: "D1", model: "HGST HSH721414AL", minor: 3})
	h.format("sdd", thisCluster, record.Key{1}, []byte("x"))

	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	claim := func(p discover.Policy, d discover.Drive) (discover.Verdict, zoned.Device, error) {
		switch d.Name {
		case "sdb":
			return discover.Verdict{}, nil, errors.New("discover: claiming sdb: input/output error")
		case "sdd":
			// Vetted as this cluster's drive, then every read fails.
			v, dev, err := h.claim(p, d)
			if err == nil {
				return v, failingReads{dev}, nil
			}
			return v, dev, err
		}
		return h.claim(p, d)
	}
	rd := server.RealDrives{Policy: discover.Policy{Cluster: thisCluster, AllowAllZoned: true}, ZonesPerExtent: 2,
		Scanner: discover.Scanner{SysRoot: h.sys, DevDir: h.dev}, Claim: claim}
	drives, err := rd.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	if len(drives) != 1 || filepath.Base(drives[0].Path) != "sdc" {
		t.Fatalf("drives %v; want only sdc", drives)
	}
	drives[0].Close()
	lines := logLines(t, &logs)
	if l, ok := findLog(lines, "drive could not be claimed", "wwn-0x5000cca2000000b1"); !ok || l.Level != "ERROR" || !strings.Contains(l.Error, "input/output error") {
		t.Errorf("sdb's failed claim: %+v (found %v)", l, ok)
	}
	if l, ok := findLog(lines, "drive claimed but not opened; going on without it", "wwn-0x5000cca2000000d1"); !ok || l.Level != "ERROR" {
		t.Errorf("sdd's failed open: %+v (found %v)", l, ok)
	}
}

// failingReads is a device whose every read fails, so no store can be
// opened on it.
type failingReads struct{ zoned.Device }

func (failingReads) ReadAt(p []byte, off int64) (int, error) {
	return 0, errors.New("injected read error")
}

// TestRealDrivesNoneClaimed: when no drive can be claimed, Open fails
// saying why for each drive found.
func TestRealDrivesNoneClaimed(t *testing.T) {
	h := newFakeHost(t)
	h.add(fakeDisk{name: "sda", wwn: "5000c500000000a1", serial: "A1", model: "ST4000NM0023", minor: 0, conventional: true})
	h.add(fakeDisk{name: "sdb", wwn: "5000cca2000000b1", serial: "B1", model: "HGST HSH721414AL", minor: 1})
	h.format("sdb", otherCluster, record.Key{1}, []byte("x"))
	var logs bytes.Buffer
	rd := server.RealDrives{Policy: discover.Policy{Cluster: thisCluster, AllowAllZoned: true},
		Scanner: discover.Scanner{SysRoot: h.sys, DevDir: h.dev}, Claim: h.claim}
	_, err := rd.Open(slog.New(slog.NewJSONHandler(&logs, nil)))
	if err == nil {
		t.Fatal("Open succeeded with no drive to claim")
	}
	for _, want := range []string{"no drive could be claimed of the 2 found", "wwn-0x5000c500000000a1 (" + h.dev + "/sda): not allowed",
		"wwn-0x5000cca2000000b1 (" + h.dev + "/sdb): another cluster's label", "drives: section"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if h.label("sdb").Cluster != otherCluster {
		t.Error("the refused drive was touched")
	}

	empty := newFakeHost(t)
	_, err = server.RealDrives{Policy: rd.Policy, Scanner: discover.Scanner{SysRoot: empty.sys, DevDir: empty.dev}, Claim: empty.claim}.Open(slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "no drives found") {
		t.Errorf("a host without drives: %v", err)
	}

	_, err = server.RealDrives{Policy: discover.Policy{AllowAllZoned: true}, Scanner: discover.Scanner{SysRoot: h.sys, DevDir: h.dev}, Claim: h.claim}.Open(slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "no cluster id") {
		t.Errorf("a policy without a cluster: %v", err)
	}
}

// TestRealDrivesClaimLinux runs the default claim, zoned.OpenLinux, on the
// fake host, whose /dev holds regular files: every drive the policy allows
// is opened and turned down as not a block device, and the error says so.
func TestRealDrivesClaimLinux(t *testing.T) {
	h := newFakeHost(t)
	h.add(fakeDisk{name: "sdb", wwn: "5000cca2000000b1", serial: "B1", model: "HGST HSH721414AL", minor: 1})
	if err := os.WriteFile(filepath.Join(h.dev, "sdb"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := server.RealDrives{Policy: discover.Policy{Cluster: thisCluster, AllowAllZoned: true},
		Scanner: discover.Scanner{SysRoot: h.sys, DevDir: h.dev}}.Open(slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "not a block device") {
		t.Fatalf("Open = %v; want the claim to find a regular file, not a block device", err)
	}
}
