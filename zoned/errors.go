package zoned

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// Sentinel errors. Every error from this package is an *Error that wraps one
// of these, so callers branch with errors.Is and people read the message.
var (
	// ErrNotZoned means the path is not a zoned block device.
	ErrNotZoned = errors.New("not a zoned block device")
	// ErrBusy means another program holds the device (a mount, a RAID
	// member, another agent).
	ErrBusy = errors.New("device is in use")
	// ErrUnaligned means an offset, a length or a buffer address is not a
	// multiple of the logical block size.
	ErrUnaligned = errors.New("not aligned to the logical block size")
	// ErrOutOfRange means a zone index or byte offset lies outside the
	// device.
	ErrOutOfRange = errors.New("out of range")
	// ErrWritePointer means a write to a sequential zone was not at the
	// zone's write pointer.
	ErrWritePointer = errors.New("write is not at the write pointer")
	// ErrZoneFull means the write does not fit in what is left of the zone's
	// capacity, or the zone is full.
	ErrZoneFull = errors.New("zone has no room for the write")
	// ErrTooManyOpen means opening one more zone would pass the device's
	// open-zone limit.
	ErrTooManyOpen = errors.New("too many open zones")
	// ErrTooManyActive means activating one more zone would pass the
	// device's active-zone limit.
	ErrTooManyActive = errors.New("too many active zones")
	// ErrInvalidTransition means the zone operation is not allowed in the
	// zone's current condition (closing an empty zone, opening a full one,
	// managing a conventional zone).
	ErrInvalidTransition = errors.New("operation not allowed in the zone's condition")
	// ErrReadOnly means the zone has gone read-only: its data can be read,
	// it can never be written again.
	ErrReadOnly = errors.New("zone is read-only")
	// ErrOffline means the zone has gone offline: its data is lost.
	ErrOffline = errors.New("zone is offline")
	// ErrIO is a media or transport error reported by the device.
	ErrIO = errors.New("I/O error")
	// ErrClosed means the Device was closed.
	ErrClosed = errors.New("device is closed")
	// ErrCrashed means an emulated device went through a simulated crash;
	// reopen it to see what survived.
	ErrCrashed = errors.New("device crashed")
)

// Error is the error type of this package. It says which operation failed on
// which device, zone and offset, why, and what to do about it.
type Error struct {
	// Op is the operation: "open", "report", "reset", "open-zone",
	// "close-zone", "finish", "write", "read", "sync", "close", "append".
	Op string
	// Path is the device path.
	Path string
	// Zone is the zone involved, or -1.
	Zone int
	// Offset is the byte offset involved, or -1.
	Offset int64
	// Kind is the sentinel error (ErrWritePointer, ErrUnaligned, ...).
	Kind error
	// Err is the underlying cause, such as a syscall.Errno, or nil.
	Err error
	// Detail gives the facts behind the error and what to do next.
	Detail string
}

// Error formats the error as one line:
//
//	zoned: write /dev/nullb0 zone 12 at 50331648: write is not at the write pointer (input/output error): the write pointer is at 50335744; append at the write pointer, or re-read it with ReportZones
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("zoned: ")
	b.WriteString(e.Op)
	if e.Path != "" {
		b.WriteString(" ")
		b.WriteString(e.Path)
	}
	if e.Zone >= 0 {
		fmt.Fprintf(&b, " zone %d", e.Zone)
	}
	if e.Offset >= 0 {
		fmt.Fprintf(&b, " at %d", e.Offset)
	}
	b.WriteString(": ")
	if e.Kind != nil {
		b.WriteString(e.Kind.Error())
	}
	if e.Err != nil {
		if e.Kind != nil {
			fmt.Fprintf(&b, " (%v)", e.Err)
		} else {
			b.WriteString(e.Err.Error())
		}
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

// Unwrap returns the sentinel and the cause, so errors.Is matches both
// zoned.ErrWritePointer and, say, syscall.EIO.
func (e *Error) Unwrap() []error {
	errs := make([]error, 0, 2)
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// ErrorZone returns the zone an error from this package is about, or -1.
func ErrorZone(err error) int {
	var ze *Error
	if errors.As(err, &ze) {
		return ze.Zone
	}
	return -1
}

// zoneRangeError reports zones [first, first+count) not all on the device.
func zoneRangeError(op string, info Info, first, count int) *Error {
	return &Error{
		Op: op, Path: info.Path, Zone: first, Offset: -1, Kind: ErrOutOfRange,
		Detail: fmt.Sprintf("zones %d..%d requested, the device has zones 0..%d; check the zone index",
			first, first+count-1, info.ZoneCount-1),
	}
}

// checkZoneRange validates a zone range for a zone operation.
func checkZoneRange(op string, info Info, first, count int) error {
	if first < 0 || count < 1 || first+count > info.ZoneCount || first+count < first {
		return zoneRangeError(op, info, first, count)
	}
	return nil
}

// checkIO validates the alignment and range of a read or write of len(p)
// bytes at off.
func checkIO(op string, info Info, p []byte, off int64) error {
	bs := int64(info.LogicalBlockSize)
	switch {
	case off < 0 || off > info.Capacity || int64(len(p)) > info.Capacity-off:
		return &Error{Op: op, Path: info.Path, Zone: -1, Offset: off, Kind: ErrOutOfRange,
			Detail: fmt.Sprintf("%d bytes at %d pass the end of the %d-byte device", len(p), off, info.Capacity)}
	case off%bs != 0 || int64(len(p))%bs != 0:
		return &Error{Op: op, Path: info.Path, Zone: info.ZoneOf(off), Offset: off, Kind: ErrUnaligned,
			Detail: fmt.Sprintf("offset %d and length %d must both be multiples of the %d-byte logical block size",
				off, len(p), bs)}
	case len(p) > 0 && !IsAligned(p, info.LogicalBlockSize):
		return &Error{Op: op, Path: info.Path, Zone: info.ZoneOf(off), Offset: off, Kind: ErrUnaligned,
			Detail: fmt.Sprintf("the buffer's address is not %d-byte aligned, which O_DIRECT requires; allocate it with zoned.AlignedBuffer", bs)}
	}
	return nil
}

// refusal says why zone z refuses op ("write", "read" or a zone management
// operation) of n bytes at off, or returns nil. Both backends use it: the
// emulator to decide, the Linux backend to explain the kernel's bare EIO.
// The returned error has only Kind, Err and Detail set.
func refusal(op string, z *Zone, off, n int64) *Error {
	refuse := func(kind error, format string, args ...any) *Error {
		return &Error{Kind: kind, Err: syscall.EIO, Detail: fmt.Sprintf(format, args...)}
	}
	switch z.Cond {
	case CondOffline:
		return refuse(ErrOffline, "the zone went offline and its data is lost; repair it from other copies")
	case CondReadOnly:
		if op != "read" {
			return refuse(ErrReadOnly, "the zone went read-only; read what it holds and write elsewhere")
		}
	}
	switch op {
	case "read":
		return nil
	case "write":
		switch {
		case !z.Sequential():
			return nil
		case z.Cond == CondFull:
			return refuse(ErrZoneFull, "the zone is full; reset it or write another zone")
		case off != z.WritePointer:
			return refuse(ErrWritePointer,
				"write at %d but the write pointer is at %d; write at the write pointer, or re-read it with ReportZones",
				off, z.WritePointer)
		case off+n > z.Start+z.Capacity:
			return refuse(ErrZoneFull, "%d bytes do not fit: %d of the zone's %d-byte capacity are left",
				n, z.Start+z.Capacity-z.WritePointer, z.Capacity)
		}
		return nil
	}
	switch {
	case !z.Sequential():
		return refuse(ErrInvalidTransition, "zone %d is conventional and has no write pointer to manage", z.Index)
	case op == opClose && (z.Cond == CondEmpty || z.Cond == CondFull):
		return refuse(ErrInvalidTransition, "only an open zone can be closed; this one is %s", condName(z.Cond))
	case op == opOpen && z.Cond == CondFull:
		return refuse(ErrInvalidTransition, "a full zone cannot be opened; reset it first")
	}
	return nil
}
