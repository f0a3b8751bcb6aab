//go:build discoverguest

// The tests in this file run inside the QEMU guest that qemu_test.go boots,
// against the real /sys, /proc and /dev of Debian's kernel. They are
// compiled only into the guest's test binary (go test -c -tags
// discoverguest) and fail, rather than skip, when the drives they expect are
// missing.

package discover_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shingle-storage/shingle/agent/discover"
	"github.com/shingle-storage/shingle/agent/label"
	"github.com/shingle-storage/shingle/zoned"
)

// guestDrives scans the guest and returns its drives by serial, and
// null_blk's under "nullb0".
func guestDrives(t *testing.T) map[string]discover.Drive {
	t.Helper()
	if os.Getenv("SHINGLE_DISCOVER_GUEST") == "" {
		t.Fatal("SHINGLE_DISCOVER_GUEST is not set; these tests run inside the QEMU guest started by `go test -tags qemu ./agent/discover/`")
	}
	drives, err := discover.Scanner{}.Drives()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]discover.Drive{}
	for _, d := range drives {
		key := d.Serial
		if key == "" {
			key = d.Name
		}
		out[key] = d
	}
	for _, want := range []string{"nullb0", guestZNSSerial, guestSATASerial, guestSCSISerial} {
		if _, ok := out[want]; !ok {
			t.Fatalf("no drive %s among %+v", want, drives)
		}
	}
	return out
}

func TestKernelDrives(t *testing.T) {
	drives := guestDrives(t)
	for _, d := range drives {
		t.Logf("%#v", d)
		if strings.HasPrefix(d.Name, "loop") || strings.Contains(d.Name, "c0n") {
			t.Errorf("%s is listed; stacked devices and hidden NVMe path disks are not drives", d.Name)
		}
	}

	null := drives["nullb0"]
	if null.ID != "" || null.Transport != discover.TransportOther || null.Zoned != zoned.ModelHostManaged ||
		null.ZoneSize != 4<<20 || null.ZoneCount != 256 || null.MaxOpenZones != 8 || null.MaxActiveZones != 12 ||
		null.LogicalBlockSize != 4096 || null.Size != 1<<30 || null.Path != "/dev/nullb0" {
		t.Errorf("nullb0: %#v", null)
	}

	zns := drives[guestZNSSerial]
	if zns.Transport != discover.TransportNVMe || zns.Model != "QEMU NVMe Ctrl" || zns.Firmware == "" || zns.NSID != 1 ||
		zns.WWN != wantZNSWWN(zns.WWID) || zns.ID != wantZNSID(zns.WWID) ||
		zns.Zoned != zoned.ModelHostManaged || zns.ZoneSize != 4<<20 || zns.ZoneCount != 64 ||
		zns.MaxOpenZones != 8 || zns.MaxActiveZones != 12 || zns.LogicalBlockSize != 4096 ||
		zns.Size != znsSize || zns.Rotational {
		t.Errorf("NVMe ZNS: %#v", zns)
	}

	sata := drives[guestSATASerial]
	if sata.Transport != discover.TransportATA || sata.Vendor != "ATA" || sata.Model != guestSATAModel ||
		sata.WWN != guestSATAWWN || sata.ID != "wwn-"+guestSATAWWN || sata.Firmware == "" ||
		sata.Zoned != zoned.ModelNone || sata.ZoneSize != 0 || sata.Size != diskSize ||
		!slices.Equal(sata.Partitions, []string{sata.Name + "1"}) {
		t.Errorf("SATA: %#v", sata)
	}

	scsi := drives[guestSCSISerial]
	if scsi.Transport != discover.TransportSCSI || scsi.Vendor != "SHINGLE" || scsi.Model != "TESTSCSI" ||
		scsi.WWN != guestSCSIWWN || scsi.Firmware == "" || scsi.Zoned != zoned.ModelNone || scsi.Size != diskSize ||
		len(scsi.Partitions) != 0 {
		t.Errorf("SCSI: %#v", scsi)
	}

	// Slots: each drive's path from its controller, as udev's by-path
	// names it; null_blk has none.
	for _, c := range []struct {
		name string
		d    discover.Drive
		want *regexp.Regexp
	}{
		{"NVMe ZNS", zns, regexp.MustCompile(`^pci-0000:00:[0-9a-f]{2}\.0-nvme-1$`)},
		{"SATA", sata, regexp.MustCompile(`^pci-0000:00:[0-9a-f]{2}\.0-ata-[0-9]+$`)},
		{"SCSI", scsi, regexp.MustCompile(`^pci-0000:00:[0-9a-f]{2}\.0-scsi-[0-9]+:[0-9]+:[0-9]+:[0-9]+$`)},
	} {
		if !c.want.MatchString(c.d.Slot) {
			t.Errorf("%s: slot %q, want one matching %s", c.name, c.d.Slot, c.want)
		}
	}
	if null.Slot != "" {
		t.Errorf("nullb0: slot %q, want none", null.Slot)
	}
}

// wantZNSWWN is the WWN expected of the QEMU NVMe namespace with the given
// wwid. Linux applies NVME_QUIRK_BOGUS_NID to QEMU's controller (PCI
// 1b36:0010) and ignores the namespace's UUID and EUI-64, so its wwid is the
// vendor-serial-model-nsid fallback ("nvme.1b36-..."), which is not a WWN;
// a kernel without the quirk would report the UUID QEMU makes up.
func wantZNSWWN(wwid string) string {
	if strings.HasPrefix(wwid, "nvme.") {
		return ""
	}
	return discover.NormalizeWWN(wwid)
}

// wantZNSID is the ID expected of the QEMU NVMe namespace with the given
// wwid: from its WWN, or else its model, serial and namespace id.
func wantZNSID(wwid string) string {
	if w := wantZNSWWN(wwid); w != "" {
		return "wwn-" + w
	}
	return "serial-QEMU_NVMe_Ctrl_" + guestZNSSerial + "_1"
}

func TestKernelStats(t *testing.T) {
	zns := guestDrives(t)[guestZNSSerial]
	s := discover.Scanner{}
	before, err := s.Stats([]discover.Drive{zns})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(zns.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Read 1 MiB inside zone 10, where nothing has been read before.
	if _, err := f.ReadAt(make([]byte, 1<<20), 40<<20); err != nil {
		t.Fatal(err)
	}
	after, err := s.Stats([]discover.Drive{zns})
	if err != nil {
		t.Fatal(err)
	}
	if !after[0].Present || after[0].ReadSectors-before[0].ReadSectors < 2048 || after[0].ReadIOs <= before[0].ReadIOs {
		t.Fatalf("reading 1 MiB moved the counters from %+v to %+v", before[0], after[0])
	}
}

var (
	guestCluster = label.ID{0x5, 0x4, 0x3, 0x2, 0x1, 0, 0x4e, 0x11, 0x80, 0, 1, 2, 3, 4, 5, 6}
	otherGuest   = label.ID{0xee, 0xee, 0xee, 0xee, 0, 0, 0x4e, 0x11, 0x80, 0, 1, 2, 3, 4, 5, 6}
)

// rewriteZone0 resets the ZNS drive's zones and writes block at the start
// of zone 0.
func rewriteZone0(t *testing.T, path string, block []byte) {
	t.Helper()
	dev, err := zoned.OpenLinux(path)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	if err := dev.ResetZones(0, dev.Info().ZoneCount); err != nil {
		t.Fatal(err)
	}
	if block == nil {
		return
	}
	buf := zoned.AlignedBuffer(4096, 4096)
	copy(buf, block)
	if _, err := dev.WriteAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	if err := dev.Sync(); err != nil {
		t.Fatal(err)
	}
}

func guestLabel(t *testing.T, cluster label.ID) []byte {
	t.Helper()
	b, err := label.Encode(make([]byte, label.Size), label.Label{Version: label.Version, Cluster: cluster,
		Drive: label.ID{7}, ZoneSize: 4 << 20, ZoneCapacity: 3 << 20, ZoneCount: 64, BlockSize: 4096, ZonesPerExtent: 4, Generation: 1,
		Created: time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestKernelClaim(t *testing.T) {
	drives := guestDrives(t)
	s := discover.Scanner{}
	p := discover.Policy{Cluster: guestCluster, AllowAllZoned: true}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	refused := func(d discover.Drive, p discover.Policy, reasons ...discover.Reason) *discover.Refusal {
		t.Helper()
		c, err := s.Claim(p, d)
		var r *discover.Refusal
		if !errors.As(err, &r) {
			if c != nil {
				c.Device.Close()
			}
			t.Fatalf("claiming %s: got %v, want a refusal for %v", d, err, reasons)
		}
		for _, want := range reasons {
			if !r.Has(want) {
				t.Fatalf("claiming %s: %v; want reason %v", d, err, want)
			}
		}
		if !strings.Contains(err.Error(), d.Path) {
			t.Fatalf("the refusal does not name %s: %v", d.Path, err)
		}
		t.Logf("refused as expected: %v", err)
		return r
	}
	claimed := func(d discover.Drive, p discover.Policy) *discover.Claimed {
		t.Helper()
		c, err := s.Claim(p, d)
		if err != nil {
			t.Fatalf("claiming %s: %v", d, err)
		}
		return c
	}

	refused(drives["nullb0"], p, discover.ReasonNoIdentity)
	sata := drives[guestSATASerial]
	refused(sata, p, discover.ReasonNotAllowed)
	bySerial := p
	bySerial.AllowSerials = []string{guestSATASerial}
	if r := refused(sata, bySerial, discover.ReasonNotZoned, discover.ReasonPartitionTable); r.Forceable() {
		t.Fatal("a drive without zones can be forced")
	}

	zns := drives[guestZNSSerial]
	t.Run("blank", func(t *testing.T) {
		rewriteZone0(t, zns.Path, nil)
		c := claimed(zns, p)
		defer c.Device.Close()
		if c.Label != nil || len(c.Overridden) != 0 || c.Rule != "all zoned" || c.Device.Info().ZoneCount != 64 {
			t.Fatalf("%+v", c.Verdict)
		}
		// The claim holds the drive exclusively.
		refused(zns, p, discover.ReasonInUse)
	})
	t.Run("xfs", func(t *testing.T) {
		rewriteZone0(t, zns.Path, []byte("XFSB"))
		r := refused(zns, p, discover.ReasonFilesystem)
		key := "serial " + guestZNSSerial
		if zns.WWN != "" {
			key = "WWN " + zns.WWN
		}
		if !strings.Contains(r.Error(), zns.ID) || !strings.Contains(r.Error(), "list its "+key+" under force") {
			t.Fatalf("message: %v", r)
		}
		forced := p
		forced.Force = []string{guestZNSSerial}
		c := claimed(zns, forced)
		c.Device.Close()
		if len(c.Overridden) != 1 {
			t.Fatalf("forced: %+v", c.Verdict)
		}
	})
	t.Run("ours", func(t *testing.T) {
		rewriteZone0(t, zns.Path, guestLabel(t, guestCluster))
		c := claimed(zns, p)
		c.Device.Close()
		if c.Label == nil || c.Label.Cluster != guestCluster {
			t.Fatalf("%+v", c.Verdict)
		}
	})
	t.Run("another-cluster", func(t *testing.T) {
		rewriteZone0(t, zns.Path, guestLabel(t, otherGuest))
		refused(zns, p, discover.ReasonForeignLabel)
	})
	t.Run("renamed-since-scan", func(t *testing.T) {
		rewriteZone0(t, zns.Path, nil)
		stale := zns
		stale.ID = "wwn-0x5000c50000000001"
		_, err := s.Claim(discover.Policy{Cluster: guestCluster, AllowAllZoned: true}, stale)
		if err == nil || !strings.Contains(err.Error(), "scan again") {
			t.Fatalf("claiming a drive whose identity changed: %v", err)
		}
	})
}

// TestKernelZoneReader checks on null_blk, which returns 0xFF past a write
// pointer, that the reader returns zeros there and the data below it.
func TestKernelZoneReader(t *testing.T) {
	null := guestDrives(t)["nullb0"]
	dev, err := zoned.OpenLinux(null.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	info := dev.Info()
	if err := dev.ResetZones(info.ConventionalZones, info.ZoneCount-info.ConventionalZones); err != nil {
		t.Fatal(err)
	}
	seq := info.ZoneStart(info.ConventionalZones)
	buf := zoned.AlignedBuffer(4096, 4096)
	copy(buf, "written")
	if _, err := dev.WriteAt(buf, seq); err != nil {
		t.Fatal(err)
	}
	raw := zoned.AlignedBuffer(4096, 4096)
	if _, err := dev.ReadAt(raw, seq+4096); err != nil || raw[0] != 0xFF {
		t.Fatalf("null_blk past the write pointer reads %#x, %v; the test expects 0xFF", raw[0], err)
	}
	p := make([]byte, 3*4096)
	if _, err := discover.ZoneReader(dev).ReadAt(p, seq); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(p, []byte("written")) || bytes.IndexByte(p[4096:], 0xFF) >= 0 {
		t.Fatalf("ZoneReader read %q ... %x", p[:8], p[4096:4104])
	}
	// Vetting the whole drive through it finds nothing.
	null.ID = "test-nullb0"
	if _, err := (discover.Policy{Cluster: guestCluster, AllowAllZoned: true}).VetDevice(null, dev); err != nil {
		t.Fatal(err)
	}
}
