package iotime_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/shingle-storage/shingle/agent/health/iotime"
	"github.com/shingle-storage/shingle/zoned"
	"github.com/shingle-storage/shingle/zoned/errorzone"
)

func emulator(t *testing.T) *zoned.Emulator {
	t.Helper()
	dev, err := zoned.CreateEmulator(filepath.Join(t.TempDir(), "d.zoned"), zoned.EmulatorConfig{ZoneSize: 1 << 20, ZoneCount: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	return dev
}

func TestDeviceCounts(t *testing.T) {
	faults := errorzone.Wrap(emulator(t), nil)
	dev := iotime.Wrap(faults)
	var _ zoned.Device = dev
	if dev.Unwrap() != faults {
		t.Fatal("Unwrap does not return the wrapped device")
	}
	buf := zoned.AlignedBuffer(8192, 4096)
	if _, err := dev.WriteAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	if err := dev.Sync(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := dev.ReadAt(buf[:4096], 4096); err != nil {
			t.Fatal(err)
		}
	}
	// A caller's mistake is not a device error.
	if _, err := dev.WriteAt(buf[:4096], 0); err == nil {
		t.Fatal("a write behind the write pointer succeeded")
	}
	// An injected I/O error is, and a slow read shows in the histogram.
	faults.SetInjector(errorzone.OnNth(errorzone.Read, 1, 0))
	if _, err := dev.ReadAt(buf[:4096], 0); err == nil {
		t.Fatal("the injected read error did not happen")
	}
	faults.SetInjector(errorzone.Latency(errorzone.Read, 30*time.Millisecond))
	if _, err := dev.ReadAt(buf[:4096], 0); err != nil {
		t.Fatal(err)
	}
	faults.SetInjector(errorzone.OnZones(errorzone.Report, 0, 8))
	if _, err := zoned.ReportZone(dev, 0); err == nil {
		t.Fatal("the injected report error did not happen")
	}
	if err := dev.ResetZones(1, 1); err != nil {
		t.Fatal(err)
	}

	s := dev.Stats()
	if r := s.Of(iotime.Read); r.Ops != 5 || r.Bytes != 4*4096 || r.Errors != 1 || r.Latency.Count() != 5 {
		t.Errorf("reads %+v, want 5 ops, 16 KiB, 1 error", r)
	} else if p := r.Latency.Quantile(1); p < 20*time.Millisecond {
		t.Errorf("slowest read %v, want the injected 30ms", p)
	}
	if w := s.Of(iotime.Write); w.Ops != 2 || w.Bytes != 8192 || w.Errors != 0 {
		t.Errorf("writes %+v, want 2 ops, 8 KiB, no device error", w)
	}
	if y := s.Of(iotime.Sync); y.Ops != 1 || y.Errors != 0 {
		t.Errorf("syncs %+v", y)
	}
	if z := s.Of(iotime.Zone); z.Ops != 2 || z.Errors != 1 {
		t.Errorf("zone ops %+v, want a failed report and a reset", z)
	}
	if s.Errors() != 2 {
		t.Errorf("%d errors in all, want 2", s.Errors())
	}
	later := dev.Stats()
	if d := later.Sub(s); d.Of(iotime.Read).Ops != 0 || d.Errors() != 0 {
		t.Errorf("nothing happened, yet the difference is %+v", d)
	}

	// Zone conditions set through the wrapper reach the emulator.
	faults.SetInjector(nil)
	if err := errorzone.SetZoneCondition(dev, 3, zoned.CondOffline); err != nil {
		t.Fatal(err)
	}
	if z, err := zoned.ReportZone(dev, 3); err != nil || z.Cond != zoned.CondOffline {
		t.Fatalf("zone 3: %v %v", z, err)
	}
	if err := dev.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpNames(t *testing.T) {
	var names []string
	for _, op := range iotime.Ops() {
		names = append(names, op.String())
	}
	if got := filepath.Join(names...); got != "read/write/sync/zone" {
		t.Errorf("ops %s", got)
	}
}

func TestIsDeviceError(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&zoned.Error{Op: "read", Kind: zoned.ErrIO, Err: syscall.EIO}, true},
		{&zoned.Error{Op: "write", Kind: zoned.ErrReadOnly}, true},
		{&zoned.Error{Op: "read", Kind: zoned.ErrOffline}, true},
		// A drive answers a write off the write pointer with EIO too.
		{&zoned.Error{Op: "write", Kind: zoned.ErrWritePointer, Err: syscall.EIO}, false},
		{&zoned.Error{Op: "write", Kind: zoned.ErrZoneFull}, false},
		{&zoned.Error{Op: "read", Kind: zoned.ErrClosed}, false},
		{fmt.Errorf("read: %w", syscall.EIO), true},
		{errors.New("something else"), false},
	} {
		if got := iotime.IsDeviceError(c.err); got != c.want {
			t.Errorf("IsDeviceError(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
