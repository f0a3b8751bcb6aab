package server

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/shingle-storage/shingle/zoned"
	"github.com/shingle-storage/shingle/zoned/errorzone"
)

// Faults on demand for emulated drives. A development cluster fails a
// drive from another process (devcluster fail-drive) by writing a fault
// file beside the drive's file; the agent that has the drive open polls
// the file and, when it says DevFaultOffline, takes every zone of the
// drive offline through package errorzone, as a dead drive would go. A
// file is the simplest channel between processes that also outlives them:
// the agent checks it again whenever it opens the drive, so a failed drive
// is still failed after its host restarts.
//
// The zones go offline in the running agent's memory (devZones), not in
// the drive file: the file stays whole, so removing the fault file and
// restarting the agent brings the drive back with its data. Removing the
// file does not heal the drive in the running agent, because a real
// drive's offline zones never come back, and the store has already
// written off the extents it found offline: a drive stays failed until its
// agent restarts.

// DevFaultOffline is what a fault file says to fail its drive: every zone
// goes offline, and the drive's reads, writes, zone management and cache
// flushes fail as a dead drive's would. The file says it on its first line
// that is neither blank nor a comment (#); the comments are for people.
const DevFaultOffline = "offline"

// devFaultPoll is how often a fault file is checked: often enough that a
// fault shows at once to someone watching, rarely enough to cost nothing.
const devFaultPoll = 250 * time.Millisecond

// DevDrivePath is the file of the emulated drive in slot (counting from 0)
// of the drives directory dir.
func DevDrivePath(dir string, slot int) string {
	return filepath.Join(dir, fmt.Sprintf("drive-%02d.zoned", slot))
}

// DevFaultPath is the fault file of the emulated drive kept at drivePath:
// drive-NN.fault beside drive-NN.zoned.
func DevFaultPath(drivePath string) string {
	return strings.TrimSuffix(drivePath, ".zoned") + ".fault"
}

// devFault fails one emulated drive when its fault file says so. It sits
// under the drive's store: the emulator, then devZones, then errorzone's
// wrapper, which the store (through TimeDevice) writes to.
type devFault struct {
	path string // the fault file
	dev  *errorzone.Device
	log  *slog.Logger

	// closer is the device stack closed after the watch ends.
	closer io.Closer
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once

	// Only check touches these: before watch starts its goroutine, then
	// that goroutine.
	drive  string // the drive's id, for the logs
	failed bool
	seen   string // what the file held at the last check, to log each change once
}

// newDevFault wraps the emulated drive dev, kept at drivePath, in the
// layers a fault reaches it through. Open the store on device(), then
// call watch.
func newDevFault(drivePath string, dev zoned.Device, log *slog.Logger) *devFault {
	zones := &devZones{Device: dev, fault: DevFaultPath(drivePath), cond: map[int]zoned.Condition{}}
	return &devFault{path: zones.fault, dev: errorzone.Wrap(zones, nil), log: log,
		stop: make(chan struct{}), done: make(chan struct{})}
}

// device is the drive as its store must see it, faults included.
func (f *devFault) device() zoned.Device { return f.dev }

// watch checks the fault file at once, so that a drive failed before the
// agent started is failed before it serves anything, and then every
// devFaultPoll until Close. Close closes closer, the device stack over
// device(), after the watch ends: set the Drive's Device to f.
func (f *devFault) watch(driveID string, closer io.Closer) *devFault {
	f.drive, f.closer = driveID, closer
	f.check()
	go func() {
		defer close(f.done)
		t := time.NewTicker(devFaultPoll)
		defer t.Stop()
		for {
			select {
			case <-f.stop:
				return
			case <-t.C:
				f.check()
			}
		}
	}()
	return f
}

// Close stops watching the fault file and closes the drive's devices.
func (f *devFault) Close() error {
	f.once.Do(func() {
		close(f.stop)
		<-f.done
	})
	return f.closer.Close()
}

// check reads the fault file and fails the drive if it says so.
func (f *devFault) check() {
	b, err := os.ReadFile(f.path)
	state := ParseDevFault(b)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		state, err = "", nil
	case err != nil:
		state = "unreadable: " + err.Error()
	}
	changed := state != f.seen
	f.seen = state
	switch {
	case state == DevFaultOffline:
		if !f.failed {
			f.fail()
		}
	case !changed:
	case err != nil:
		f.log.Warn("cannot read the drive's fault file; fix its permissions, or remove it", "drive", f.drive, "fault_file", f.path, "err", err)
	case state == "" && f.failed:
		f.log.Warn("the drive's fault file is gone, but the drive stays offline until the agent restarts, as a real drive's offline zones do; restart the agent to bring it back",
			"drive", f.drive, "fault_file", f.path)
	case state != "":
		f.log.Warn(fmt.Sprintf("the drive's fault file holds %q, which is no fault; write %q to fail the drive, or remove the file", state, DevFaultOffline),
			"drive", f.drive, "fault_file", f.path)
	}
}

// ParseDevFault returns what the fault file holding b says: its first
// line that is neither blank nor a comment, trimmed; DevFaultOffline fails
// the drive.
func ParseDevFault(b []byte) string {
	for line := range strings.Lines(string(b)) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			return line
		}
	}
	return ""
}

// fail takes every zone of the drive offline and fails its cache flushes:
// reads, writes and zone management then fail with zoned.ErrOffline, the
// zone report shows every zone offline, and Sync fails with EIO.
func (f *devFault) fail() {
	f.failed = true
	n := f.dev.Info().ZoneCount
	for z := range n {
		// devZones takes any zone offline, so this cannot fail.
		_ = errorzone.SetZoneCondition(f.dev, z, zoned.CondOffline)
	}
	f.dev.SetInjector(errorzone.InjectorFunc(func(op errorzone.Op) errorzone.Fault {
		return errorzone.Fault{Fail: op.Kind == errorzone.Sync}
	}))
	f.log.Error("drive failed by its fault file: every zone is offline and its I/O fails, as a dead drive's would; remove the file and restart the agent to bring the drive back",
		"drive", f.drive, "fault_file", f.path, "zones", n)
}

// devZones is an emulated drive whose zones can be taken offline or
// read-only in memory only, with errorzone.SetZoneCondition, which finds
// it through errorzone's wrapper. The emulator's own SetZoneCondition
// writes the condition into the drive file for good; this keeps the file
// whole, so that a drive failed on demand comes back when its fault file
// is removed and the agent restarts.
type devZones struct {
	zoned.Device
	fault string // the fault file, named in errors

	mu   sync.RWMutex
	cond map[int]zoned.Condition // zones taken offline or read-only
}

// Unwrap returns the emulator.
func (d *devZones) Unwrap() zoned.Device { return d.Device }

// SetZoneCondition takes zone z offline (zoned.CondOffline) or read-only
// (zoned.CondReadOnly) until the device is closed. Unlike the emulator,
// it never brings a zone back, and it takes conventional zones too: a dead
// drive answers for none of its zones.
func (d *devZones) SetZoneCondition(z int, cond zoned.Condition) error {
	info := d.Info()
	if z < 0 || z >= info.ZoneCount {
		return &zoned.Error{Op: "set-condition", Path: info.Path, Zone: z, Offset: -1, Kind: zoned.ErrOutOfRange,
			Detail: fmt.Sprintf("the drive has zones 0 to %d", info.ZoneCount-1)}
	}
	if cond != zoned.CondOffline && cond != zoned.CondReadOnly {
		return &zoned.Error{Op: "set-condition", Path: info.Path, Zone: z, Offset: -1, Kind: zoned.ErrInvalidTransition,
			Detail: fmt.Sprintf("only read-only and offline can be injected, not %s", cond)}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cond[z] != zoned.CondOffline {
		d.cond[z] = cond
	}
	return nil
}

// refuse returns the error for op on zones [first, last], or nil if none
// of them was taken offline or read-only (read-only zones refuse all but
// reads).
func (d *devZones) refuse(op string, first, last int, off int64) error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if len(d.cond) == 0 {
		return nil
	}
	for z := first; z <= last; z++ {
		kind, detail := error(nil), ""
		switch d.cond[z] {
		case zoned.CondOffline:
			kind, detail = zoned.ErrOffline, "the zone is offline because the drive was failed on demand ("+d.fault+"); its data is lost to this agent: read another copy"
		case zoned.CondReadOnly:
			if op != "read" {
				kind, detail = zoned.ErrReadOnly, "the zone was made read-only on demand; read what it holds and write elsewhere"
			}
		}
		if kind != nil {
			return &zoned.Error{Op: op, Path: d.Info().Path, Zone: z, Offset: off, Kind: kind, Err: syscall.EIO, Detail: detail}
		}
	}
	return nil
}

// refuseIO is refuse for a read or write of n bytes at off; a range
// outside the drive is left to the emulator to refuse.
func (d *devZones) refuseIO(op string, off int64, n int) error {
	info := d.Info()
	if n == 0 || off < 0 || off+int64(n) > info.Capacity {
		return nil
	}
	return d.refuse(op, info.ZoneOf(off), info.ZoneOf(off+int64(n)-1), off)
}

// refuseZones is refuse for a zone management operation on count zones
// from first; a range outside the drive is left to the emulator.
func (d *devZones) refuseZones(op string, first, count int) error {
	if first < 0 || count <= 0 || first+count > d.Info().ZoneCount {
		return nil
	}
	return d.refuse(op, first, first+count-1, -1)
}

// ReportZones reports the emulator's zones with the conditions taken on
// demand over theirs.
func (d *devZones) ReportZones(first int, zones []zoned.Zone) (int, error) {
	n, err := d.Device.ReportZones(first, zones)
	d.mu.RLock()
	defer d.mu.RUnlock()
	for i := range zones[:n] {
		if c, ok := d.cond[zones[i].Index]; ok {
			zones[i].Cond = c
		}
	}
	return n, err
}

// ReadAt reads unless the range touches an offline zone.
func (d *devZones) ReadAt(p []byte, off int64) (int, error) {
	if err := d.refuseIO("read", off, len(p)); err != nil {
		return 0, err
	}
	return d.Device.ReadAt(p, off)
}

// WriteAt writes unless the range touches an offline or read-only zone.
func (d *devZones) WriteAt(p []byte, off int64) (int, error) {
	if err := d.refuseIO("write", off, len(p)); err != nil {
		return 0, err
	}
	return d.Device.WriteAt(p, off)
}

// ResetZones resets zones unless one is offline or read-only.
func (d *devZones) ResetZones(first, count int) error {
	if err := d.refuseZones("reset", first, count); err != nil {
		return err
	}
	return d.Device.ResetZones(first, count)
}

// OpenZones opens zones unless one is offline or read-only.
func (d *devZones) OpenZones(first, count int) error {
	if err := d.refuseZones("open-zone", first, count); err != nil {
		return err
	}
	return d.Device.OpenZones(first, count)
}

// CloseZones closes zones unless one is offline or read-only.
func (d *devZones) CloseZones(first, count int) error {
	if err := d.refuseZones("close-zone", first, count); err != nil {
		return err
	}
	return d.Device.CloseZones(first, count)
}

// FinishZones finishes zones unless one is offline or read-only.
func (d *devZones) FinishZones(first, count int) error {
	if err := d.refuseZones("finish", first, count); err != nil {
		return err
	}
	return d.Device.FinishZones(first, count)
}
