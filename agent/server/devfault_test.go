package server

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shingle-storage/shingle/agent/extent"
	"github.com/shingle-storage/shingle/agent/health/monitor"
	"github.com/shingle-storage/shingle/zoned"
	"github.com/shingle-storage/shingle/zoned/errorzone"
)

// openDevDrive opens the one emulated drive in dir.
func openDevDrive(t *testing.T, dir string) *Drive {
	t.Helper()
	drives, err := DevDrives{Dir: dir, Count: 1, Size: 128 << 20, ZoneSize: 8 << 20, ZonesPerExtent: 2}.Open(discard)
	if err != nil {
		t.Fatal(err)
	}
	return drives[0]
}

// offlineZones counts the zones d's zone report shows offline.
func offlineZones(t *testing.T, d *Drive) int {
	t.Helper()
	counts, err := monitor.CountZones(d.Zones)
	if err != nil {
		t.Fatalf("zone report: %v", err)
	}
	return counts.Offline()
}

// waitFor polls cond for up to five seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 5s", what)
		}
	}
}

// TestDevFaultFile fails an emulated drive by writing its fault file while
// the drive is open: its blob no longer reads, writes fail, every zone is
// reported offline and the cache flush fails. Removing the file leaves the
// drive failed until it is opened again, as a real drive's offline zones
// stay offline; a drive opened with its fault file present is failed from
// the start; and once the file is gone a new open finds the drive whole,
// with its blob.
func TestDevFaultFile(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	d := openDevDrive(t, dir)
	zones := d.Zones.Info().ZoneCount
	ext, err := d.Store.CreateExtent()
	if err != nil {
		t.Fatal(err)
	}
	key, blob := randomKey(), []byte("on a drive about to die")
	if _, err := d.Store.Put(ctx, ext, key, blob); err != nil {
		t.Fatal(err)
	}
	if n := offlineZones(t, d); n != 0 {
		t.Fatalf("a healthy drive reports %d zones offline", n)
	}

	fault := DevFaultPath(d.Path)
	if d.Path != filepath.Join(dir, "drive-00.zoned") || fault != filepath.Join(dir, "drive-00.fault") {
		t.Fatalf("drive at %s with fault file %s, want drive-00.zoned and drive-00.fault in %s", d.Path, fault, dir)
	}
	// Not a fault: the drive carries on.
	if err := os.WriteFile(fault, []byte("wobbly\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * devFaultPoll)
	if got, err := d.Store.Get(ctx, key); err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("with a fault file holding no fault, the blob reads %q, %v", got, err)
	}

	if err := os.WriteFile(fault, []byte(DevFaultOffline+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the blob fails to read with zoned.ErrOffline after the fault", func() bool {
		_, err := d.Store.Get(ctx, key)
		return errors.Is(err, zoned.ErrOffline)
	})
	checkDead := func(d *Drive) {
		t.Helper()
		if _, err := d.Store.Get(ctx, key); !errors.Is(err, zoned.ErrOffline) {
			t.Errorf("reading the blob of a failed drive: %v, want zoned.ErrOffline", err)
		}
		// The read took the extent's zone offline in the store, which
		// writes the extent off: it takes no more writes.
		if _, err := d.Store.Put(ctx, ext, randomKey(), []byte("lost")); !errors.Is(err, zoned.ErrOffline) && !errors.Is(err, extent.ErrReadOnly) {
			t.Errorf("writing to a failed drive: %v, want zoned.ErrOffline or extent.ErrReadOnly", err)
		}
		if dmg := d.Store.Stat().Damaged; len(dmg) == 0 || dmg[0].Reason != "zone is offline" {
			t.Errorf("the store of a failed drive reports damage %+v, want its zone offline", dmg)
		}
		info := d.Zones.Info()
		buf := zoned.AlignedBuffer(4096, 4096)
		if _, err := d.Zones.WriteAt(buf, info.ZoneStart(zones-1)); !errors.Is(err, zoned.ErrOffline) {
			t.Errorf("writing the last zone of a failed drive: %v, want zoned.ErrOffline", err)
		}
		if _, err := d.Zones.ReadAt(buf, 0); !errors.Is(err, zoned.ErrOffline) {
			t.Errorf("reading zone 0 of a failed drive: %v, want zoned.ErrOffline", err)
		}
		if err := d.Zones.ResetZones(zones-1, 1); !errors.Is(err, zoned.ErrOffline) {
			t.Errorf("resetting a zone of a failed drive: %v, want zoned.ErrOffline", err)
		}
		if err := d.Zones.Sync(); !errors.Is(err, errorzone.ErrInjected) {
			t.Errorf("flushing a failed drive's cache: %v, want an injected I/O error", err)
		}
		if n := offlineZones(t, d); n != zones {
			t.Errorf("a failed drive reports %d of its %d zones offline", n, zones)
		}
	}
	checkDead(d)
	if d.IO.Stats().Errors() == 0 {
		t.Error("the failed drive's I/O errors are not counted for its health")
	}

	// Removing the file does not bring the zones back under the running
	// agent.
	if err := os.Remove(fault); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * devFaultPoll)
	checkDead(d)

	// A drive opened with its fault file present is failed before anything
	// can use it.
	if err := d.Close(); err != nil {
		t.Fatalf("closing a failed drive: %v", err)
	}
	if err := os.WriteFile(fault, []byte(DevFaultOffline), 0o644); err != nil {
		t.Fatal(err)
	}
	d = openDevDrive(t, dir)
	checkDead(d)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	// Without the file the drive comes back whole: the fault never reached
	// the drive file.
	if err := os.Remove(fault); err != nil {
		t.Fatal(err)
	}
	d = openDevDrive(t, dir)
	defer d.Close()
	if got, err := d.Store.Get(ctx, key); err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("after the fault file is gone the blob reads %q, %v; want %q", got, err, blob)
	}
	if n := offlineZones(t, d); n != 0 {
		t.Fatalf("after the fault file is gone %d zones are offline", n)
	}
	if _, err := d.Store.Put(ctx, ext, randomKey(), []byte("alive")); err != nil {
		t.Fatalf("writing after the fault file is gone: %v", err)
	}
}

// TestDevZonesReadOnly checks that a zone made read-only through
// errorzone.SetZoneCondition on an agent's emulated drive reads but
// refuses writes, and that the report shows it.
func TestDevZonesReadOnly(t *testing.T) {
	d := openDevDrive(t, t.TempDir())
	defer d.Close()
	last := d.Zones.Info().ZoneCount - 1
	if err := errorzone.SetZoneCondition(d.Zones, last, zoned.CondReadOnly); err != nil {
		t.Fatal(err)
	}
	info := d.Zones.Info()
	buf := zoned.AlignedBuffer(4096, 4096)
	if _, err := d.Zones.ReadAt(buf, info.ZoneStart(last)); err != nil {
		t.Fatalf("reading a read-only zone: %v", err)
	}
	if _, err := d.Zones.WriteAt(buf, info.ZoneStart(last)); !errors.Is(err, zoned.ErrReadOnly) {
		t.Fatalf("writing a read-only zone: %v, want zoned.ErrReadOnly", err)
	}
	z, err := zoned.ReportZone(d.Zones, last)
	if err != nil || z.Cond != zoned.CondReadOnly {
		t.Fatalf("the read-only zone reports %v, %v", z.Cond, err)
	}
	if err := errorzone.SetZoneCondition(d.Zones, last, zoned.CondFull); !errors.Is(err, zoned.ErrInvalidTransition) {
		t.Fatalf("making a zone full on demand: %v, want zoned.ErrInvalidTransition", err)
	}
}
