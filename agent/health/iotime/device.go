package iotime

import (
	"errors"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/shingle-storage/shingle/zoned"
)

// Device is a zoned.Device whose operations are counted and timed. It is
// safe for concurrent use, as the device it wraps is.
type Device struct {
	dev zoned.Device
	ops [numOps]counters
}

// counters are one Op's live counters.
type counters struct {
	ops, bytes, errors atomic.Uint64
	latency            Histogram
}

var _ zoned.Device = (*Device)(nil)

// Wrap returns dev with its operations counted and timed from now on.
func Wrap(dev zoned.Device) *Device {
	return &Device{dev: dev}
}

// Unwrap returns the wrapped device, so that helpers such as
// errorzone.SetZoneCondition can reach the emulator underneath.
func (d *Device) Unwrap() zoned.Device { return d.dev }

// Stats returns the counters as they stand. The kinds are read one after
// another while operations go on, so they may be a few operations apart.
func (d *Device) Stats() Stats {
	var s Stats
	for i := range d.ops {
		c := &d.ops[i]
		s[i] = OpStats{Ops: c.ops.Load(), Bytes: c.bytes.Load(), Errors: c.errors.Load(), Latency: c.latency.Snapshot()}
	}
	return s
}

// done records one operation of kind op that started at start, moved n
// bytes and returned err.
func (d *Device) done(op Op, start time.Time, n int, err error) {
	c := &d.ops[op]
	c.latency.Observe(time.Since(start))
	c.ops.Add(1)
	if n > 0 {
		c.bytes.Add(uint64(n))
	}
	if err != nil && IsDeviceError(err) {
		c.errors.Add(1)
	}
}

// IsDeviceError reports whether err says the device failed, rather than
// the caller: an I/O error (zoned.ErrIO), or a zone that has gone
// read-only or offline. An error of package zoned is judged by its Kind
// alone, since a drive answers a write off the write pointer with EIO too;
// any other error by whether it wraps EIO.
func IsDeviceError(err error) bool {
	var ze *zoned.Error
	if errors.As(err, &ze) && ze.Kind != nil {
		return ze.Kind == zoned.ErrIO || ze.Kind == zoned.ErrReadOnly || ze.Kind == zoned.ErrOffline
	}
	return errors.Is(err, syscall.EIO)
}

// Info returns the wrapped device's geometry.
func (d *Device) Info() zoned.Info { return d.dev.Info() }

// ReadAt reads through the wrapped device, counting and timing the read.
func (d *Device) ReadAt(p []byte, off int64) (int, error) {
	start := time.Now()
	n, err := d.dev.ReadAt(p, off)
	d.done(Read, start, n, err)
	return n, err
}

// WriteAt writes through the wrapped device, counting and timing the
// write.
func (d *Device) WriteAt(p []byte, off int64) (int, error) {
	start := time.Now()
	n, err := d.dev.WriteAt(p, off)
	d.done(Write, start, n, err)
	return n, err
}

// Sync flushes the wrapped device, counting and timing the flush.
func (d *Device) Sync() error {
	start := time.Now()
	err := d.dev.Sync()
	d.done(Sync, start, 0, err)
	return err
}

// ReportZones reports zones of the wrapped device, counted as a zone
// operation.
func (d *Device) ReportZones(first int, zones []zoned.Zone) (int, error) {
	start := time.Now()
	n, err := d.dev.ReportZones(first, zones)
	d.done(Zone, start, 0, err)
	return n, err
}

// ResetZones resets zones of the wrapped device, counted as a zone
// operation.
func (d *Device) ResetZones(first, count int) error {
	return d.zoneOp(d.dev.ResetZones, first, count)
}

// OpenZones opens zones of the wrapped device, counted as a zone
// operation.
func (d *Device) OpenZones(first, count int) error {
	return d.zoneOp(d.dev.OpenZones, first, count)
}

// CloseZones closes zones of the wrapped device, counted as a zone
// operation.
func (d *Device) CloseZones(first, count int) error {
	return d.zoneOp(d.dev.CloseZones, first, count)
}

// FinishZones finishes zones of the wrapped device, counted as a zone
// operation.
func (d *Device) FinishZones(first, count int) error {
	return d.zoneOp(d.dev.FinishZones, first, count)
}

func (d *Device) zoneOp(do func(int, int) error, first, count int) error {
	start := time.Now()
	err := do(first, count)
	d.done(Zone, start, 0, err)
	return err
}

// Close closes the wrapped device; it is not counted.
func (d *Device) Close() error { return d.dev.Close() }
