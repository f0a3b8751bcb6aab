package zoned

import (
	"fmt"
	"syscall"
)

// zoneTable is the emulator's zone state machine: the condition and write
// pointer of every zone and the open/active accounting. It follows the Linux
// null_blk driver (drivers/block/null_blk/zoned.c) rule for rule, including
// its quirks, because null_blk is the reference the kernel's own zoned tests
// use:
//
//   - a write to an empty or closed zone opens it implicitly; when that would
//     pass the open limit, the driver first closes some implicitly open zone
//     (round robin) and fails only if every open zone is explicitly open;
//   - opening an empty zone checks the active limit before the open limit;
//   - a zone that a write fills becomes full with its write pointer at
//     start+capacity; a finished zone has it at start+size (reports give
//     start+size for both, as the NVMe and SCSI drivers do), and reads below
//     the table's write pointer return what is stored;
//   - closing an empty or full zone, opening a full zone and any management
//     of a conventional, read-only or offline zone fail;
//   - resetting the whole device skips conventional, read-only and offline
//     zones, as REQ_OP_ZONE_RESET_ALL does.
//
// Errors carry the errno the kernel returns for the same case (EIO for most,
// ETOOMANYREFS and EOVERFLOW for the open and active limits). The table does
// no I/O and takes no locks; the emulator holds its mutex around every call.
type zoneTable struct {
	info    Info
	zones   []Zone
	impOpen int
	expOpen int
	closed  int
	// nextImpClose is where the round-robin search for an implicitly open
	// zone to close starts, as null_blk's imp_close_zone_no.
	nextImpClose int
}

func newZoneTable(info Info) *zoneTable {
	t := &zoneTable{info: info, zones: make([]Zone, info.ZoneCount)}
	for i := range t.zones {
		z := &t.zones[i]
		z.Index = i
		z.Start = int64(i) * info.ZoneSize
		z.Size = min(info.ZoneSize, info.Capacity-z.Start)
		if i < info.ConventionalZones {
			z.Type, z.Cond = TypeConventional, CondNotWP
			z.Capacity = z.Size
			z.WritePointer = z.Start + z.Size
		} else {
			z.Type, z.Cond = TypeSequentialRequired, CondEmpty
			z.Capacity = min(info.ZoneCapacity, z.Size)
			z.WritePointer = z.Start
		}
	}
	return t
}

// restore sets zone i to a durable state read back after a restart or a
// crash. Open zones do not survive power loss: a zone that was open comes
// back closed (or empty if nothing was written), as on a real drive.
func (t *zoneTable) restore(i int, wp int64, cond Condition) {
	z := &t.zones[i]
	t.forget(z)
	if !z.Sequential() {
		return
	}
	z.WritePointer = wp
	switch cond {
	case CondImplicitOpen, CondExplicitOpen, CondClosed, CondEmpty:
		if wp == z.Start {
			z.Cond = CondEmpty
		} else {
			z.Cond = CondClosed
			t.closed++
		}
	default:
		z.Cond = cond
	}
}

// forget removes zone z from the open/active counts.
func (t *zoneTable) forget(z *Zone) {
	switch z.Cond {
	case CondImplicitOpen:
		t.impOpen--
	case CondExplicitOpen:
		t.expOpen--
	case CondClosed:
		t.closed--
	}
}

func (t *zoneTable) err(op string, z *Zone, kind error, errno syscall.Errno, format string, args ...any) *Error {
	return &Error{Op: op, Path: t.info.Path, Zone: z.Index, Offset: -1, Kind: kind, Err: errno,
		Detail: fmt.Sprintf(format, args...)}
}

// checkActive is null_check_active.
func (t *zoneTable) checkActive(op string, z *Zone) error {
	if t.info.MaxActiveZones == 0 || t.impOpen+t.expOpen+t.closed < t.info.MaxActiveZones {
		return nil
	}
	return t.err(op, z, ErrTooManyActive, syscall.EOVERFLOW,
		"%d zones are open or closed, the device allows %d active; finish or reset a zone first",
		t.impOpen+t.expOpen+t.closed, t.info.MaxActiveZones)
}

// checkOpen is null_check_open: it may close an implicitly open zone to
// make room, but only when the active limit is not reached.
func (t *zoneTable) checkOpen(op string, z *Zone) error {
	if t.info.MaxOpenZones == 0 || t.impOpen+t.expOpen < t.info.MaxOpenZones {
		return nil
	}
	// Like null_blk, close an implicitly open zone to make room only while
	// the active limit has room too.
	if t.impOpen > 0 && t.checkActive(op, z) == nil && t.closeImplicitOpen() {
		return nil
	}
	return t.err(op, z, ErrTooManyOpen, syscall.ETOOMANYREFS,
		"%d zones are explicitly open, the device allows %d open; close or finish a zone first",
		t.expOpen, t.info.MaxOpenZones)
}

// closeImplicitOpen is null_close_imp_open_zone.
func (t *zoneTable) closeImplicitOpen() bool {
	n := len(t.zones)
	for k := 0; k < n; k++ {
		i := (t.nextImpClose + k) % n
		z := &t.zones[i]
		if z.Cond != CondImplicitOpen {
			continue
		}
		t.nextImpClose = (i + 1) % n
		t.impOpen--
		if z.WritePointer == z.Start {
			z.Cond = CondEmpty
		} else {
			z.Cond = CondClosed
			t.closed++
		}
		return true
	}
	return false
}

// checkResources is null_check_zone_resources.
func (t *zoneTable) checkResources(op string, z *Zone) error {
	if z.Cond == CondEmpty {
		if err := t.checkActive(op, z); err != nil {
			return err
		}
	}
	return t.checkOpen(op, z)
}

// refuse returns refusal's verdict on op as a complete *Error, or nil.
func (t *zoneTable) refuse(op string, z *Zone, off, n int64) error {
	if e := refusal(op, z, off, n); e != nil {
		e.Op, e.Path, e.Zone, e.Offset = op, t.info.Path, z.Index, off
		return e
	}
	return nil
}

// beginWrite validates a write of n bytes at off in zone z and opens the zone
// implicitly if needed (null_zone_write up to the data transfer). The caller
// advances the write pointer with endWrite once the data is stored.
func (t *zoneTable) beginWrite(z *Zone, off, n int64) error {
	const op = "write"
	if !z.Sequential() {
		return nil
	}
	if err := t.refuse(op, z, off, n); err != nil {
		return err
	}
	if z.Cond == CondEmpty || z.Cond == CondClosed {
		if err := t.checkResources(op, z); err != nil {
			return err
		}
		if z.Cond == CondClosed {
			t.closed--
		}
		t.impOpen++
		z.Cond = CondImplicitOpen
	}
	return nil
}

// endWrite advances the write pointer after n bytes were stored at it.
func (t *zoneTable) endWrite(z *Zone, n int64) {
	if !z.Sequential() {
		return
	}
	z.WritePointer += n
	if z.WritePointer == z.Start+z.Capacity {
		t.forget(z)
		z.Cond = CondFull
	}
}

// manage applies one zone management operation to zone z.
func (t *zoneTable) manage(op string, z *Zone) error {
	if err := t.refuse(op, z, -1, 0); err != nil {
		return err
	}
	switch op {
	case opReset:
		t.forget(z)
		z.Cond, z.WritePointer = CondEmpty, z.Start
	case opOpen:
		switch z.Cond {
		case CondExplicitOpen:
			return nil
		case CondEmpty, CondClosed:
			if err := t.checkResources(op, z); err != nil {
				return err
			}
		}
		t.forget(z)
		z.Cond = CondExplicitOpen
		t.expOpen++
	case opClose:
		switch z.Cond {
		case CondClosed:
			return nil
		}
		t.forget(z)
		if z.WritePointer == z.Start {
			z.Cond = CondEmpty
		} else {
			z.Cond = CondClosed
			t.closed++
		}
	case opFinish:
		switch z.Cond {
		case CondFull:
			return nil
		case CondEmpty, CondClosed:
			if err := t.checkResources(op, z); err != nil {
				return err
			}
		}
		t.forget(z)
		z.Cond, z.WritePointer = CondFull, z.Start+z.Size
	}
	return nil
}

// setCondition turns sequential zone z read-only or offline, as null_blk's
// zone_readonly and zone_offline configfs attributes do (Linux 6.2 and
// later): the zone leaves the open/active accounting. Unlike null_blk the
// write pointer is kept, so reads of a read-only zone still end where its
// data did. Setting the condition a zone already has restores it to empty.
func (t *zoneTable) setCondition(z *Zone, cond Condition) {
	if z.Cond == cond {
		z.Cond, z.WritePointer = CondEmpty, z.Start
		return
	}
	t.forget(z)
	z.Cond = cond
}

func condName(c Condition) string {
	switch c {
	case CondEmpty:
		return "empty"
	case CondImplicitOpen:
		return "implicitly open"
	case CondExplicitOpen:
		return "explicitly open"
	case CondClosed:
		return "closed"
	case CondFull:
		return "full"
	case CondReadOnly:
		return "read-only"
	case CondOffline:
		return "offline"
	}
	return c.String()
}

// Names of the zone management operations, used in errors.
const (
	opReset  = "reset"
	opOpen   = "open-zone"
	opClose  = "close-zone"
	opFinish = "finish"
)

// report returns zone i as a zone report shows it: a full zone's write
// pointer is at its end.
func (t *zoneTable) report(i int) Zone {
	z := t.zones[i]
	if z.Cond == CondFull {
		z.WritePointer = z.Start + z.Size
	}
	return z
}
