package zoned_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shingle-storage/shingle/zoned"
)

// smallEmulator creates an SMR-shaped emulator with 1 MiB zones.
func smallEmulator(t *testing.T, cfg zoned.EmulatorConfig) (*zoned.Emulator, string) {
	t.Helper()
	if cfg.ZoneSize == 0 {
		cfg.ZoneSize = 1 << 20
	}
	if cfg.ZoneCount == 0 {
		cfg.ZoneCount = 16
	}
	path := filepath.Join(t.TempDir(), "drive")
	dev, err := zoned.CreateEmulator(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return dev, path
}

func reopen(t *testing.T, path string) *zoned.Emulator {
	t.Helper()
	dev, err := zoned.OpenEmulator(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	t.Cleanup(func() { dev.Close() })
	return dev
}

func pattern(n int, seed byte) []byte {
	b := zoned.AlignedBuffer(n, 4096)
	for i := range b {
		b[i] = seed + byte(i*31)
	}
	return b
}

// unwritten is what the emulator returns past a zone's write pointer.
func unwritten(n int) []byte { return bytes.Repeat([]byte{0xFF}, n) }

func readAt(t *testing.T, dev zoned.Device, off int64, n int) []byte {
	t.Helper()
	b := zoned.AlignedBuffer(n, 4096)
	if _, err := dev.ReadAt(b, off); err != nil {
		t.Fatalf("read %d at %d: %v", n, off, err)
	}
	return b
}

func writeAt(t *testing.T, dev zoned.Device, b []byte, off int64) {
	t.Helper()
	if _, err := dev.WriteAt(b, off); err != nil {
		t.Fatalf("write %d at %d: %v", len(b), off, err)
	}
}

func zoneOf(t *testing.T, dev zoned.Device, z int) zoned.Zone {
	t.Helper()
	zone, err := zoned.ReportZone(dev, z)
	if err != nil {
		t.Fatal(err)
	}
	return zone
}

func TestEmulatorPersistsAcrossReopen(t *testing.T) {
	dev, path := smallEmulator(t, zoned.EmulatorConfig{ConventionalZones: 1})
	start := dev.Info().ZoneStart(1)
	synced, unsynced := pattern(8192, 1), pattern(4096, 2)
	writeAt(t, dev, synced, start)
	if err := dev.Sync(); err != nil {
		t.Fatal(err)
	}
	writeAt(t, dev, unsynced, start+8192)
	conv := pattern(4096, 3)
	writeAt(t, dev, conv, 4096)
	must(t, dev.FinishZones(2, 1))
	// A clean close keeps everything written, synced or not.
	must(t, dev.Close())
	if _, err := dev.ReadAt(make([]byte, 0), 0); !errors.Is(err, zoned.ErrClosed) {
		t.Fatalf("use after close: %v, want ErrClosed", err)
	}
	dev = reopen(t, path)
	if z := zoneOf(t, dev, 1); z.WritePointer != start+12288 || z.Cond != zoned.CondClosed {
		t.Fatalf("zone 1 after reopen: %v, want closed with 12288 bytes", z)
	}
	if z := zoneOf(t, dev, 2); z.Cond != zoned.CondFull {
		t.Fatalf("finished zone after reopen: %v", z)
	}
	if !bytes.Equal(readAt(t, dev, start, 12288), append(append([]byte{}, synced...), unsynced...)) {
		t.Fatal("data differs after reopen")
	}
	if !bytes.Equal(readAt(t, dev, 4096, 4096), conv) {
		t.Fatal("conventional data differs after reopen")
	}
}

func TestEmulatorCrashDropsUnsynced(t *testing.T) {
	dev, path := smallEmulator(t, zoned.EmulatorConfig{ConventionalZones: 1})
	info := dev.Info()
	a, b := pattern(8192, 10), pattern(8192, 11)
	writeAt(t, dev, a, info.ZoneStart(1))
	conv1 := pattern(4096, 12)
	writeAt(t, dev, conv1, 0)
	must(t, dev.Sync())
	writeAt(t, dev, b, info.ZoneStart(1)+8192)
	writeAt(t, dev, pattern(4096, 13), info.ZoneStart(2))
	writeAt(t, dev, pattern(4096, 14), 0) // overwrite a synced conventional block
	writeAt(t, dev, pattern(4096, 15), 8192)
	must(t, dev.OpenZones(3, 1))

	report, err := dev.Crash(zoned.CrashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if report.TornZone != -1 {
		t.Fatalf("crash without tearing tore zone %d", report.TornZone)
	}
	if _, err := dev.ReadAt(zoned.AlignedBuffer(4096, 4096), 0); !errors.Is(err, zoned.ErrCrashed) {
		t.Fatalf("use after crash: %v, want ErrCrashed", err)
	}
	dev = reopen(t, path)
	if z := zoneOf(t, dev, 1); z.WritePointer != z.Start+8192 || z.Cond != zoned.CondClosed {
		t.Fatalf("zone 1 after crash: %v, want closed at +8192", z)
	}
	if z := zoneOf(t, dev, 2); z.Cond != zoned.CondEmpty {
		t.Fatalf("zone 2 (never synced) after crash: %v, want empty", z)
	}
	if z := zoneOf(t, dev, 3); z.Cond != zoned.CondEmpty {
		t.Fatalf("explicitly opened zone after crash: %v, want empty (open does not survive power loss)", z)
	}
	if !bytes.Equal(readAt(t, dev, info.ZoneStart(1), 16384), append(append([]byte{}, a...), unwritten(8192)...)) {
		t.Fatal("zone 1 should hold the synced data followed by unwritten blocks")
	}
	if !bytes.Equal(readAt(t, dev, 0, 4096), conv1) {
		t.Fatal("the unsynced overwrite of a conventional block survived the crash")
	}
	if !bytes.Equal(readAt(t, dev, 8192, 4096), make([]byte, 4096)) {
		t.Fatal("an unsynced conventional write survived the crash")
	}
	// The dropped write does not come back when the zone is finished and
	// everything below its new write pointer becomes readable.
	must(t, dev.FinishZones(2, 1))
	if got := readAt(t, dev, info.ZoneStart(2), 4096); bytes.Equal(got, pattern(4096, 13)) {
		t.Fatal("a write dropped by the crash reappeared after the zone was finished")
	}
}

func TestEmulatorCrashTearsLastWrite(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		dev, path := smallEmulator(t, zoned.EmulatorConfig{})
		start := dev.Info().ZoneStart(3)
		a := pattern(4096, 20)
		writeAt(t, dev, a, start)
		must(t, dev.Sync())
		b, c := pattern(8192, 21), pattern(8*4096, 22)
		writeAt(t, dev, b, start+4096)
		writeAt(t, dev, c, start+4096+8192)
		report, err := dev.Crash(zoned.CrashOptions{TearLastWrite: true, Rand: rand.New(rand.NewPCG(seed, 0))})
		if err != nil {
			t.Fatal(err)
		}
		if report.TornZone != 3 || report.TornOffset != start+12288 || report.KeptBytes%4096 != 0 ||
			report.KeptBytes < 0 || report.KeptBytes >= int64(len(c)) {
			t.Fatalf("seed %d: crash report %+v", seed, report)
		}
		dev = reopen(t, path)
		wantLen := 12288 + report.KeptBytes
		if z := zoneOf(t, dev, 3); z.WritePointer != start+wantLen {
			t.Fatalf("seed %d: write pointer at +%d, want +%d", seed, z.WritePointer-start, wantLen)
		}
		want := append(append(append([]byte{}, a...), b...), c[:report.KeptBytes]...)
		want = append(want, unwritten(len(c)-int(report.KeptBytes))...)
		if !bytes.Equal(readAt(t, dev, start, len(want)), want) {
			t.Fatalf("seed %d: the torn zone does not hold the kept prefix followed by unwritten blocks", seed)
		}
	}
}

func TestEmulatorCrashTearsConventionalWrite(t *testing.T) {
	dev, path := smallEmulator(t, zoned.EmulatorConfig{ConventionalZones: 2})
	old := pattern(4*4096, 30)
	writeAt(t, dev, old, 0)
	must(t, dev.Sync())
	neu := pattern(4*4096, 31)
	writeAt(t, dev, neu, 0)
	report, err := dev.Crash(zoned.CrashOptions{TearLastWrite: true, Rand: rand.New(rand.NewPCG(5, 5))})
	if err != nil {
		t.Fatal(err)
	}
	dev = reopen(t, path)
	got := readAt(t, dev, 0, len(old))
	k := int(report.KeptBytes)
	if !bytes.Equal(got[:k], neu[:k]) || !bytes.Equal(got[k:], old[k:]) {
		t.Fatalf("after a torn conventional write (kept %d bytes) the blocks are neither new prefix nor old rest", k)
	}
}

func TestEmulatorZoneConditions(t *testing.T) {
	dev, path := smallEmulator(t, zoned.EmulatorConfig{MaxOpenZones: 2, MaxActiveZones: 3})
	info := dev.Info()
	data := pattern(4096, 40)
	writeAt(t, dev, data, info.ZoneStart(1))
	must(t, dev.SetZoneCondition(1, zoned.CondReadOnly))
	_, err := dev.WriteAt(data, info.ZoneStart(1)+4096)
	if !errors.Is(err, zoned.ErrReadOnly) {
		t.Fatalf("write to a read-only zone: %v", err)
	}
	if err := dev.ResetZones(1, 1); !errors.Is(err, zoned.ErrReadOnly) {
		t.Fatalf("reset of a read-only zone: %v", err)
	}
	if !bytes.Equal(readAt(t, dev, info.ZoneStart(1), 4096), data) {
		t.Fatal("a read-only zone must still read back")
	}
	// The read-only zone released its open and active resources.
	for z := 2; z < 5; z++ {
		writeAt(t, dev, data, info.ZoneStart(z))
		must(t, dev.CloseZones(z, 1))
	}
	must(t, dev.SetZoneCondition(6, zoned.CondOffline))
	if _, err := dev.ReadAt(zoned.AlignedBuffer(4096, 4096), info.ZoneStart(6)); !errors.Is(err, zoned.ErrOffline) {
		t.Fatalf("read of an offline zone: %v", err)
	}
	// Conditions survive a crash: they are the drive's, not the host's.
	if _, err := dev.Crash(zoned.CrashOptions{}); err != nil {
		t.Fatal(err)
	}
	dev = reopen(t, path)
	if z := zoneOf(t, dev, 1); z.Cond != zoned.CondReadOnly {
		t.Fatalf("zone 1 after reopen: %v", z)
	}
	if z := zoneOf(t, dev, 6); z.Cond != zoned.CondOffline {
		t.Fatalf("zone 6 after reopen: %v", z)
	}
	// Reset all skips them; setting the same condition again restores the
	// zone, as null_blk does.
	must(t, dev.ResetZones(0, info.ZoneCount))
	must(t, dev.SetZoneCondition(6, zoned.CondOffline))
	if z := zoneOf(t, dev, 6); z.Cond != zoned.CondEmpty {
		t.Fatalf("zone 6 after clearing offline: %v", z)
	}
	if err := dev.SetZoneCondition(2, zoned.CondFull); !errors.Is(err, zoned.ErrInvalidTransition) {
		t.Fatalf("injecting a full condition: %v", err)
	}
	conv, _ := smallEmulator(t, zoned.EmulatorConfig{ConventionalZones: 1})
	defer conv.Close()
	if err := conv.SetZoneCondition(0, zoned.CondReadOnly); !errors.Is(err, zoned.ErrInvalidTransition) {
		t.Fatalf("making a conventional zone read-only: %v", err)
	}
}

func TestEmulatorImplicitOpenClosesRoundRobin(t *testing.T) {
	// null_blk closes implicitly open zones round robin when a write needs
	// an open resource; explicit opens are never closed.
	dev, _ := smallEmulator(t, zoned.EmulatorConfig{MaxOpenZones: 2})
	defer dev.Close()
	info := dev.Info()
	b := pattern(4096, 50)
	writeAt(t, dev, b, info.ZoneStart(0))
	writeAt(t, dev, b, info.ZoneStart(1))
	writeAt(t, dev, b, info.ZoneStart(2))
	if z := zoneOf(t, dev, 0); z.Cond != zoned.CondClosed {
		t.Fatalf("zone 0 should have been closed to open zone 2: %v", z)
	}
	writeAt(t, dev, b, info.ZoneStart(3))
	if z := zoneOf(t, dev, 1); z.Cond != zoned.CondClosed {
		t.Fatalf("zone 1 should have been closed next: %v", z)
	}
	must(t, dev.OpenZones(4, 1))
	// Zone 2 (implicit) is closed for the explicit open of 4, so 3 and 4
	// are open and 4 is explicit.
	if z := zoneOf(t, dev, 2); z.Cond != zoned.CondClosed {
		t.Fatalf("zone 2: %v", z)
	}
	must(t, dev.OpenZones(5, 1))
	if err := dev.OpenZones(6, 1); !errors.Is(err, zoned.ErrTooManyOpen) {
		t.Fatalf("third explicit open with a limit of 2: %v", err)
	}
}

func TestEmulatorOpenErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := zoned.OpenEmulator(filepath.Join(dir, "missing"))
	if !errors.Is(err, zoned.ErrNotZoned) || !strings.Contains(err.Error(), "CreateEmulator") {
		t.Fatalf("missing device: %v", err)
	}
	dev, path := smallEmulator(t, zoned.EmulatorConfig{})
	if _, err := zoned.OpenEmulator(path); !errors.Is(err, zoned.ErrBusy) {
		t.Fatalf("second open: %v, want ErrBusy", err)
	}
	if _, err := zoned.CreateEmulator(path, zoned.EmulatorConfig{}); !errors.Is(err, zoned.ErrBusy) {
		t.Fatalf("create over an existing device: %v", err)
	}
	must(t, dev.Close())
	bad := []zoned.EmulatorConfig{
		{ZoneSize: 1000},
		{ZoneSize: 1 << 20, ZoneCapacity: 2 << 20},
		{LogicalBlockSize: 1000},
		{ConventionalZones: 100, ZoneCount: 10},
		{MaxOpenZones: 5, MaxActiveZones: 2},
		{ZoneSize: 1 << 62, ZoneCount: 4},
		{ZoneSize: 4096, ZoneCount: 1 << 21},
	}
	for _, cfg := range bad {
		if _, err := zoned.CreateEmulator(filepath.Join(dir, "bad"), cfg); err == nil {
			t.Fatalf("config %+v accepted", cfg)
		}
	}
}

func TestEmulatorCorruptState(t *testing.T) {
	dev, path := smallEmulator(t, zoned.EmulatorConfig{})
	writeAt(t, dev, pattern(4096, 60), dev.Info().ZoneStart(2))
	must(t, dev.Close())
	// Flip a byte in zone 2's record: that zone's state is unknown, so it
	// comes back offline; the others are untouched.
	st, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.WriteAt([]byte{0xff}, 4096+2*16+1); err != nil {
		t.Fatal(err)
	}
	st.Close()
	dev = reopen(t, path)
	if z := zoneOf(t, dev, 2); z.Cond != zoned.CondOffline {
		t.Fatalf("zone with a corrupt record: %v, want offline", z)
	}
	if z := zoneOf(t, dev, 1); z.Cond != zoned.CondEmpty {
		t.Fatalf("zone 1: %v", z)
	}
	must(t, dev.Close())
	// A record with a valid checksum but an impossible write pointer is
	// refused the same way.
	st, _ = os.OpenFile(path, os.O_RDWR, 0)
	rec := make([]byte, 16)
	binary.LittleEndian.PutUint64(rec, 1<<40) // far past the zone's end
	rec[8] = byte(zoned.CondClosed)
	binary.LittleEndian.PutUint32(rec[12:], crc32.Checksum(rec[:12], crc32.MakeTable(crc32.Castagnoli)))
	st.WriteAt(rec, 4096+3*16)
	st.Close()
	dev = reopen(t, path)
	if z := zoneOf(t, dev, 3); z.Cond != zoned.CondOffline {
		t.Fatalf("zone with an impossible record: %v, want offline", z)
	}
	must(t, dev.Close())
	// A corrupt header is refused with a clear message.
	st, _ = os.OpenFile(path, os.O_RDWR, 0)
	st.WriteAt([]byte{0xff}, 20)
	st.Close()
	if _, err := zoned.OpenEmulator(path); !errors.Is(err, zoned.ErrNotZoned) || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("corrupt header: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
