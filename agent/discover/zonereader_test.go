package discover_test

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/shingle-storage/shingle/agent/discover"
	"github.com/shingle-storage/shingle/zoned"
)

const emuZone = 1 << 20

// emulated creates an emulated drive of 8 zones of 1 MiB with conv
// conventional zones, and the Drive sysfs would describe for it.
func emulated(t *testing.T, conv int) (*zoned.Emulator, discover.Drive) {
	t.Helper()
	dev, err := zoned.CreateEmulator(filepath.Join(t.TempDir(), "drive.zoned"), zoned.EmulatorConfig{
		ZoneSize: emuZone, ZoneCount: 8, ConventionalZones: conv, LogicalBlockSize: 4096,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	info := dev.Info()
	d := smrDrive()
	d.ZoneSize, d.ZoneCount, d.Size = info.ZoneSize, info.ZoneCount, info.Capacity
	return dev, d
}

// write writes s, padded to whole blocks, at off.
func write(t *testing.T, dev zoned.Device, off int64, s string) {
	t.Helper()
	buf := zoned.AlignedBuffer((len(s)+4095)/4096*4096, 4096)
	copy(buf, s)
	if _, err := dev.WriteAt(buf, off); err != nil {
		t.Fatal(err)
	}
}

func TestZoneReaderReadsOnlyWrittenBytes(t *testing.T) {
	dev, _ := emulated(t, 1)
	write(t, dev, 0, "conventional")
	write(t, dev, 2*emuZone, "XFSB and more")
	r := discover.ZoneReader(dev)

	// An unaligned read across the end of the conventional zone, all of
	// sequential zone 1 (empty) and into zone 2 (one block written).
	p := make([]byte, 2*emuZone+100)
	n, err := r.ReadAt(p, 8)
	if err != nil || n != len(p) {
		t.Fatalf("ReadAt = %d, %v", n, err)
	}
	if !bytes.HasPrefix(p, []byte("onal\x00")) {
		t.Fatalf("conventional zone read %q", p[:16])
	}
	// The emulator, like null_blk, returns 0xFF past a write pointer; the
	// reader must return zeros without reading there.
	if i := bytes.IndexByte(p, 0xFF); i >= 0 {
		t.Fatalf("byte %d past a write pointer was read from the device", 8+i)
	}
	if got := p[2*emuZone-8:]; !bytes.HasPrefix(got, []byte("XFSB and more")) {
		t.Fatalf("zone 2 read %q", got[:16])
	}

	// Past the end: io.EOF with what there was.
	n, err = r.ReadAt(make([]byte, 8192), 8*emuZone-4096)
	if n != 4096 || !errors.Is(err, io.EOF) {
		t.Fatalf("read across the end = %d, %v; want 4096, io.EOF", n, err)
	}
	if n, err = r.ReadAt(make([]byte, 1), 8*emuZone); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("read at the end = %d, %v", n, err)
	}

	// An offline zone reads as zeros; its data are gone.
	if err := dev.SetZoneCondition(2, zoned.CondOffline); err != nil {
		t.Fatal(err)
	}
	p = make([]byte, 4096)
	if _, err := r.ReadAt(p, 2*emuZone); err != nil || !bytes.Equal(p, make([]byte, 4096)) {
		t.Fatalf("offline zone: %v, %q", err, p[:8])
	}
}

func TestVetDevice(t *testing.T) {
	t.Run("blank", func(t *testing.T) {
		dev, d := emulated(t, 1)
		v, err := allowAll().VetDevice(d, dev)
		if err != nil || v.Label != nil {
			t.Fatalf("%+v, %v", v, err)
		}
	})
	t.Run("ours-in-conventional-zone", func(t *testing.T) {
		dev, d := emulated(t, 2)
		write(t, dev, 0, labelBlock(t, newLabel(thisCluster, 1)))
		write(t, dev, 4096, labelBlock(t, newLabel(thisCluster, 2)))
		v, err := allowAll().VetDevice(d, dev)
		if err != nil || v.Label == nil || v.Label.Generation != 2 {
			t.Fatalf("%+v, %v", v, err)
		}
	})
	t.Run("ours-in-label-log", func(t *testing.T) {
		// No conventional zones: zones 0 and 1 are label logs, appended to.
		dev, d := emulated(t, 0)
		for gen := range uint64(3) {
			write(t, dev, int64(gen)*4096, labelBlock(t, newLabel(thisCluster, 10+gen)))
		}
		write(t, dev, emuZone, labelBlock(t, newLabel(thisCluster, 12)))
		v, err := allowAll().VetDevice(d, dev)
		if err != nil || v.Label == nil || v.Label.Cluster != thisCluster {
			t.Fatalf("%+v, %v", v, err)
		}
	})
	t.Run("another-cluster", func(t *testing.T) {
		dev, d := emulated(t, 0)
		write(t, dev, 0, labelBlock(t, newLabel(otherCluster, 1)))
		_, err := allowAll().VetDevice(d, dev)
		var r *discover.Refusal
		if !errors.As(err, &r) || !r.Has(discover.ReasonForeignLabel) {
			t.Fatalf("got %v, want another cluster's label refused", err)
		}
	})
	t.Run("xfs-in-sequential-zone-0", func(t *testing.T) {
		dev, d := emulated(t, 0)
		write(t, dev, 0, "XFSB")
		_, err := allowAll().VetDevice(d, dev)
		var r *discover.Refusal
		if !errors.As(err, &r) || !r.Has(discover.ReasonFilesystem) {
			t.Fatalf("got %v, want XFS refused", err)
		}
	})
}
