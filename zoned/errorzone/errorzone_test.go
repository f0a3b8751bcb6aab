package errorzone_test

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/shingle-storage/shingle/zoned"
	"github.com/shingle-storage/shingle/zoned/errorzone"
)

func newDevice(t *testing.T) (*zoned.Emulator, *errorzone.Device) {
	t.Helper()
	dev, err := zoned.CreateEmulator(filepath.Join(t.TempDir(), "drive"),
		zoned.EmulatorConfig{ZoneSize: 1 << 20, ZoneCount: 8, ConventionalZones: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	return dev, errorzone.Wrap(dev, nil)
}

func block(n int) []byte { return zoned.AlignedBuffer(n*4096, 4096) }

func TestOnNthFailsOnceAndLooksLikeADriveError(t *testing.T) {
	_, d := newDevice(t)
	d.SetInjector(errorzone.OnNth(errorzone.Read, 2, 0))
	buf := block(1)
	if _, err := d.ReadAt(buf, 0); err != nil {
		t.Fatalf("first read: %v", err)
	}
	_, err := d.ReadAt(buf, 1<<20)
	if !errors.Is(err, zoned.ErrIO) || !errors.Is(err, syscall.EIO) || !errors.Is(err, errorzone.ErrInjected) {
		t.Fatalf("second read: %v, want an injected EIO", err)
	}
	if zoned.ErrorZone(err) != 1 {
		t.Fatalf("injected error names zone %d, want 1", zoned.ErrorZone(err))
	}
	if _, err := d.ReadAt(buf, 0); err != nil {
		t.Fatalf("third read: %v", err)
	}
	// Writes are not counted by a read injector.
	if _, err := d.WriteAt(block(1), 1<<20); err != nil {
		t.Fatal(err)
	}
}

func TestOnZonesFailsOnlyThatRange(t *testing.T) {
	_, d := newDevice(t)
	d.SetInjector(errorzone.OnZones(errorzone.Write|errorzone.Manage, 3, 2))
	if _, err := d.WriteAt(block(1), 2<<20); err != nil {
		t.Fatalf("write zone 2: %v", err)
	}
	for _, z := range []int{3, 4} {
		if _, err := d.WriteAt(block(1), int64(z)<<20); !errors.Is(err, errorzone.ErrInjected) {
			t.Fatalf("write zone %d: %v", z, err)
		}
	}
	if err := d.ResetZones(2, 2); !errors.Is(err, errorzone.ErrInjected) {
		t.Fatalf("reset of zones 2-3 touches the bad range: %v", err)
	}
	if err := d.ResetZones(5, 1); err != nil {
		t.Fatalf("reset zone 5: %v", err)
	}
	buf := block(1)
	if _, err := d.ReadAt(buf, 3<<20); err != nil {
		t.Fatalf("reads are not in the injected kinds: %v", err)
	}
}

func TestTornWriteKeepsPrefix(t *testing.T) {
	dev, d := newDevice(t)
	d.SetInjector(errorzone.OnNth(errorzone.Write, 1, 2))
	data := block(5)
	for i := range data {
		data[i] = byte(i)
	}
	n, err := d.WriteAt(data, 1<<20)
	if !errors.Is(err, errorzone.ErrInjected) || n != 2*4096 {
		t.Fatalf("torn write: n=%d err=%v, want 8192 bytes and an injected error", n, err)
	}
	z, err := zoned.ReportZone(dev, 1)
	if err != nil {
		t.Fatal(err)
	}
	if z.WritePointer != z.Start+2*4096 {
		t.Fatalf("after a torn write of 2 blocks the zone is %v", z)
	}
}

func TestLatencyDelays(t *testing.T) {
	_, d := newDevice(t)
	d.SetInjector(errorzone.Latency(errorzone.Sync, 20*time.Millisecond))
	start := time.Now()
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 20*time.Millisecond {
		t.Fatalf("sync took %v with 20ms of injected latency", el)
	}
}

func TestRandomlyIsReproducible(t *testing.T) {
	decide := func() []bool {
		inj := errorzone.Randomly(errorzone.Write, 0.3, 42)
		var out []bool
		for i := range 200 {
			f := inj.Inject(errorzone.Op{Kind: errorzone.Write, Zone: 1, Zones: 1, Offset: int64(i) * 4096, Len: 8192, BlockSize: 4096})
			out = append(out, f.Fail)
			if f.Fail && f.TornBlocks >= 2 {
				t.Fatalf("a torn 2-block write keeps %d blocks", f.TornBlocks)
			}
		}
		return out
	}
	a, b := decide(), decide()
	fails := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("the same seed gave different faults")
		}
		if a[i] {
			fails++
		}
	}
	if fails < 30 || fails > 90 {
		t.Fatalf("%d of 200 operations failed at p=0.3", fails)
	}
}

func TestAllCombines(t *testing.T) {
	inj := errorzone.All(errorzone.Latency(errorzone.AnyKind, time.Millisecond),
		errorzone.Latency(errorzone.Write, time.Millisecond), errorzone.OnNth(errorzone.Write, 1, 3))
	f := inj.Inject(errorzone.Op{Kind: errorzone.Write})
	if f.Delay != 2*time.Millisecond || !f.Fail || f.TornBlocks != 3 {
		t.Fatalf("combined fault %+v", f)
	}
	if f := inj.Inject(errorzone.Op{Kind: errorzone.Read}); f.Fail || f.Delay != time.Millisecond {
		t.Fatalf("read fault %+v", f)
	}
}

func TestSetZoneConditionThroughWrapper(t *testing.T) {
	dev, d := newDevice(t)
	if err := errorzone.SetZoneCondition(d, 2, zoned.CondReadOnly); err != nil {
		t.Fatal(err)
	}
	z, _ := zoned.ReportZone(dev, 2)
	if z.Cond != zoned.CondReadOnly {
		t.Fatalf("zone 2 is %v", z)
	}
	if _, err := d.WriteAt(block(1), 2<<20); !errors.Is(err, zoned.ErrReadOnly) {
		t.Fatalf("write to the read-only zone through the wrapper: %v", err)
	}
	// A device that cannot change conditions says so.
	type plain struct{ zoned.Device }
	if err := errorzone.SetZoneCondition(plain{dev}, 3, zoned.CondOffline); err == nil {
		t.Fatal("SetZoneCondition on a device without support succeeded")
	}
}

func TestFlipByteCorruptsReadsSilently(t *testing.T) {
	_, d := newDevice(t)
	data := block(2)
	for i := range data {
		data[i] = byte(i)
	}
	if _, err := d.WriteAt(data, 0); err != nil { // conventional zone 0
		t.Fatal(err)
	}
	d.SetInjector(errorzone.FlipByte(5000))
	got := block(2)
	if _, err := d.ReadAt(got, 0); err != nil {
		t.Fatalf("a corrupted read must still succeed: %v", err)
	}
	for i := range got {
		want := data[i]
		if i == 5000 {
			want ^= 0xFF
		}
		if got[i] != want {
			t.Fatalf("byte %d reads %#x, want %#x", i, got[i], want)
		}
	}
	// A read that does not cover the offset is untouched, and the medium
	// itself keeps the right bytes.
	if _, err := d.ReadAt(got[:4096], 0); err != nil || got[100] != data[100] {
		t.Fatalf("read of another block: %v", err)
	}
	d.SetInjector(nil)
	if _, err := d.ReadAt(got, 0); err != nil || got[5000] != data[5000] {
		t.Fatalf("after the injector is removed, byte 5000 reads %#x, want %#x (%v)", got[5000], data[5000], err)
	}
}
