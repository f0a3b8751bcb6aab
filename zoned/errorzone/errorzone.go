// Package errorzone injects faults into a zoned.Device, in the manner of
// Pebble's errorfs: a Device wraps another Device and, before each
// operation, asks an Injector whether to delay it, fail it, or (for writes)
// store only a prefix of it and then fail.
//
// The wrapper sits behind the same interface as the real thing, so the code
// under test cannot tell it is there, and it works over any backend. Faults
// that change the device itself — a zone going read-only or offline, a power
// cut — belong to the device: the emulator provides SetZoneCondition and
// Crash, and SetZoneCondition here reaches them through the wrapper.
//
// Injected errors are *zoned.Error values with Kind zoned.ErrIO wrapping
// syscall.EIO, exactly what a failing drive produces, plus ErrInjected so a
// test can tell its own faults from real ones.
package errorzone

import (
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/shingle-storage/shingle/zoned"
)

// ErrInjected marks every error this package injects.
var ErrInjected = errors.New("injected fault")

// Kind is the kind of an operation.
type Kind uint8

const (
	// Read is Device.ReadAt.
	Read Kind = 1 << iota
	// Write is Device.WriteAt.
	Write
	// Sync is Device.Sync.
	Sync
	// Report is Device.ReportZones.
	Report
	// Manage is ResetZones, OpenZones, CloseZones and FinishZones.
	Manage
	// AnyKind matches every operation.
	AnyKind = Read | Write | Sync | Report | Manage
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case Read:
		return "read"
	case Write:
		return "write"
	case Sync:
		return "sync"
	case Report:
		return "report"
	case Manage:
		return "manage"
	}
	return fmt.Sprintf("kinds(%#x)", uint8(k))
}

// Op is one operation about to reach the device.
type Op struct {
	// Kind is the operation's kind.
	Kind Kind
	// Zone is the first zone the operation touches, or -1 (Sync).
	Zone int
	// Zones is how many zones it touches.
	Zones int
	// Offset and Len are the byte range of a read or write.
	Offset int64
	Len    int
	// BlockSize is the device's logical block size.
	BlockSize int
}

// Touches reports whether the operation touches any zone in [first,
// first+count).
func (op Op) Touches(first, count int) bool {
	return op.Zone >= 0 && op.Zone < first+count && op.Zone+op.Zones > first
}

// Fault is what an Injector decided for one operation. The zero Fault lets
// the operation through untouched.
type Fault struct {
	// Delay is slept before the operation.
	Delay time.Duration
	// Fail makes the operation fail without reaching the device, except for
	// a torn write (below).
	Fail bool
	// TornBlocks, for a failing write, is how many leading blocks of the
	// write reach the device before it fails; the rest never do.
	TornBlocks int
	// Flip, for a read that succeeds, is a device offset whose byte the
	// read returns with its bits inverted, if the read covers it: silent
	// corruption (bit rot) that only checksums catch. -1 or 0 for none
	// (offset 0 holds the label, read through other paths in tests).
	Flip int64
}

// Injector decides the fault for each operation. It is called from many
// goroutines at once.
type Injector interface {
	Inject(op Op) Fault
}

// InjectorFunc adapts a function to Injector.
type InjectorFunc func(op Op) Fault

// Inject calls f.
func (f InjectorFunc) Inject(op Op) Fault { return f(op) }

// Device is a zoned.Device with faults injected.
type Device struct {
	dev zoned.Device
	inj atomic.Pointer[Injector]
}

// Wrap returns dev with faults from inj injected; inj may be nil and set
// later with SetInjector.
func Wrap(dev zoned.Device, inj Injector) *Device {
	d := &Device{dev: dev}
	d.SetInjector(inj)
	return d
}

// SetInjector replaces the injector; nil stops injecting.
func (d *Device) SetInjector(inj Injector) {
	if inj == nil {
		d.inj.Store(nil)
		return
	}
	d.inj.Store(&inj)
}

// Unwrap returns the wrapped device.
func (d *Device) Unwrap() zoned.Device { return d.dev }

func (d *Device) inject(op Op) Fault {
	p := d.inj.Load()
	if p == nil {
		return Fault{}
	}
	f := (*p).Inject(op)
	if f.Delay > 0 {
		time.Sleep(f.Delay)
	}
	return f
}

func (d *Device) injected(op Op, opName string) error {
	off := int64(-1)
	if op.Kind == Read || op.Kind == Write {
		off = op.Offset
	}
	return &zoned.Error{Op: opName, Path: d.dev.Info().Path, Zone: op.Zone, Offset: off, Kind: zoned.ErrIO,
		Err:    errors.Join(syscall.EIO, ErrInjected),
		Detail: fmt.Sprintf("injected %s fault", op.Kind)}
}

// Info returns the wrapped device's geometry.
func (d *Device) Info() zoned.Info { return d.dev.Info() }

// ReportZones reports zones unless a fault is injected.
func (d *Device) ReportZones(first int, zones []zoned.Zone) (int, error) {
	op := Op{Kind: Report, Zone: first, Zones: max(len(zones), 1)}
	if d.inject(op).Fail {
		return 0, d.injected(op, "report")
	}
	return d.dev.ReportZones(first, zones)
}

func (d *Device) manage(name string, first, count int, do func(int, int) error) error {
	op := Op{Kind: Manage, Zone: first, Zones: count}
	if d.inject(op).Fail {
		return d.injected(op, name)
	}
	return do(first, count)
}

// ResetZones resets zones unless a fault is injected.
func (d *Device) ResetZones(first, count int) error {
	return d.manage("reset", first, count, d.dev.ResetZones)
}

// OpenZones opens zones unless a fault is injected.
func (d *Device) OpenZones(first, count int) error {
	return d.manage("open-zone", first, count, d.dev.OpenZones)
}

// CloseZones closes zones unless a fault is injected.
func (d *Device) CloseZones(first, count int) error {
	return d.manage("close-zone", first, count, d.dev.CloseZones)
}

// FinishZones finishes zones unless a fault is injected.
func (d *Device) FinishZones(first, count int) error {
	return d.manage("finish", first, count, d.dev.FinishZones)
}

func (d *Device) ioOp(kind Kind, p []byte, off int64) Op {
	info := d.dev.Info()
	first := info.ZoneOf(off)
	last := first
	if len(p) > 0 {
		last = info.ZoneOf(off + int64(len(p)) - 1)
	}
	return Op{Kind: kind, Zone: first, Zones: last - first + 1, Offset: off, Len: len(p),
		BlockSize: info.LogicalBlockSize}
}

// WriteAt writes p unless a fault is injected; a torn write stores a prefix
// of p and then fails.
func (d *Device) WriteAt(p []byte, off int64) (int, error) {
	op := d.ioOp(Write, p, off)
	f := d.inject(op)
	if !f.Fail {
		return d.dev.WriteAt(p, off)
	}
	n := 0
	if keep := min(f.TornBlocks*d.dev.Info().LogicalBlockSize, len(p)); keep > 0 {
		var err error
		if n, err = d.dev.WriteAt(p[:keep], off); err != nil {
			return n, err
		}
	}
	return n, d.injected(op, "write")
}

// ReadAt reads unless a fault is injected.
func (d *Device) ReadAt(p []byte, off int64) (int, error) {
	op := d.ioOp(Read, p, off)
	f := d.inject(op)
	if f.Fail {
		return 0, d.injected(op, "read")
	}
	n, err := d.dev.ReadAt(p, off)
	if f.Flip > 0 && f.Flip >= off && f.Flip < off+int64(n) {
		p[f.Flip-off] ^= 0xFF
	}
	return n, err
}

// Sync syncs unless a fault is injected.
func (d *Device) Sync() error {
	op := Op{Kind: Sync, Zone: -1}
	if d.inject(op).Fail {
		return d.injected(op, "sync")
	}
	return d.dev.Sync()
}

// Close closes the wrapped device; it is never failed.
func (d *Device) Close() error { return d.dev.Close() }

// conditionSetter is implemented by devices that can turn a zone read-only
// or offline (the emulator).
type conditionSetter interface {
	SetZoneCondition(zone int, cond zoned.Condition) error
}

// SetZoneCondition turns a zone of dev read-only or offline, looking
// through any wrappers for a device that supports it (the emulator). It
// fails for devices that do not, such as a real drive.
func SetZoneCondition(dev zoned.Device, zone int, cond zoned.Condition) error {
	for {
		if s, ok := dev.(conditionSetter); ok {
			return s.SetZoneCondition(zone, cond)
		}
		u, ok := dev.(interface{ Unwrap() zoned.Device })
		if !ok {
			return fmt.Errorf("errorzone: %s cannot change a zone's condition; only the emulator can", dev.Info().Path)
		}
		dev = u.Unwrap()
	}
}
