//go:build linux

package zoned

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Linux is a zoned block device driven through the kernel's zone ioctls with
// O_DIRECT reads and writes.
//
// The kernel answers most zone errors with a bare EIO: a write off the write
// pointer, past the zone capacity, into a full or read-only zone. Linux
// reports the zone again after such a failure and returns an *Error that
// says which of those it was, so callers get the same sentinels as from the
// emulator.
type Linux struct {
	info        Info
	fd          int
	zoneSectors uint64

	mu     sync.RWMutex // guards closed against a concurrent Close
	closed bool
}

// OpenLinux opens the zoned block device at path (prefer a stable name such
// as /dev/disk/by-id/wwn-...) for exclusive use. It fails with ErrNotZoned
// for a missing path, a regular file, a partition or a device without zones,
// and with ErrBusy when something else (a mount, md, device-mapper) holds it.
func OpenLinux(path string) (*Linux, error) {
	fail := func(kind, cause error, format string, args ...any) (*Linux, error) {
		return nil, &Error{Op: "open", Path: path, Zone: -1, Offset: -1, Kind: kind, Err: cause,
			Detail: fmt.Sprintf(format, args...)}
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return fail(ErrNotZoned, os.ErrNotExist,
				"no such device; check the path (ls -l /dev/disk/by-id/) and that the drive is attached")
		}
		return fail(ErrIO, err, "cannot stat the device")
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return fail(ErrNotZoned, nil,
			"this is not a block device; for a file-backed emulated drive use zoned.OpenEmulator")
	}
	dir := sysfsDir(st.Rdev)
	if _, err := os.Stat(dir + "/partition"); err == nil {
		return fail(ErrNotZoned, nil,
			"this is a partition; zoned drives are used whole, with no partition table")
	}
	q, err := ReadQueueLimits(dir)
	if err != nil {
		return fail(ErrIO, err, "cannot read the queue limits under %s", dir)
	}
	if q.Model == ModelNone {
		return fail(ErrNotZoned, nil,
			"%s/queue/zoned says \"none\"; Shingle needs a host-managed or host-aware drive (SMR or NVMe ZNS)", dir)
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_DIRECT|unix.O_EXCL|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EBUSY) {
			held := "a mount or another program"
			if h := holders(dir); len(h) > 0 {
				held = strings.Join(h, ", ")
			}
			return fail(ErrBusy, err, "held by %s; unmount it or stop the holder (see lsblk and fuser)", held)
		}
		return fail(ErrIO, err, "cannot open the device for direct I/O")
	}
	d := &Linux{fd: fd}
	if err := d.loadInfo(path, q); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return d, nil
}

// loadInfo fills the device geometry from the ioctls, sysfs and one full
// zone report.
func (d *Linux) loadInfo(path string, q QueueLimits) error {
	fail := func(cause error, what string) error {
		return &Error{Op: "open", Path: path, Zone: -1, Offset: -1, Kind: ErrIO, Err: cause, Detail: what}
	}
	var zoneSectors, nrZones uint32
	if err := ioctlPtr(d.fd, blkGetZoneSz, unsafe.Pointer(&zoneSectors)); err != nil {
		return fail(err, "BLKGETZONESZ failed")
	}
	if err := ioctlPtr(d.fd, blkGetNrZones, unsafe.Pointer(&nrZones)); err != nil {
		return fail(err, "BLKGETNRZONES failed")
	}
	var size uint64
	if err := ioctlPtr(d.fd, unix.BLKGETSIZE64, unsafe.Pointer(&size)); err != nil {
		return fail(err, "BLKGETSIZE64 failed")
	}
	if zoneSectors == 0 || nrZones == 0 {
		return &Error{Op: "open", Path: path, Zone: -1, Offset: -1, Kind: ErrNotZoned,
			Detail: "the kernel reports no zones on this device"}
	}
	if q.ChunkSectors != 0 && q.ChunkSectors != int64(zoneSectors) {
		return fail(nil, fmt.Sprintf("BLKGETZONESZ says %d sectors but queue/chunk_sectors says %d", zoneSectors, q.ChunkSectors))
	}
	d.zoneSectors = uint64(zoneSectors)
	d.info = Info{
		Path:              path,
		Model:             q.Model,
		ZoneSize:          int64(zoneSectors) * sectorSize,
		ZoneCount:         int(nrZones),
		MaxOpenZones:      q.MaxOpenZones,
		MaxActiveZones:    q.MaxActiveZones,
		LogicalBlockSize:  q.LogicalBlockSize,
		PhysicalBlockSize: q.PhysicalBlockSize,
		Capacity:          int64(size),
	}
	zones, err := ReportAll(d)
	if err != nil {
		return err
	}
	for _, z := range zones {
		if z.Type == TypeConventional {
			d.info.ConventionalZones++
			continue
		}
		d.info.ZoneCapacity = z.Capacity
		break
	}
	if d.info.ZoneCapacity == 0 {
		d.info.ZoneCapacity = d.info.ZoneSize
	}
	return nil
}

// Info returns the device geometry.
func (d *Linux) Info() Info { return d.info }

func (d *Linux) begin(op string) error {
	d.mu.RLock()
	if d.closed {
		d.mu.RUnlock()
		return &Error{Op: op, Path: d.info.Path, Zone: -1, Offset: -1, Kind: ErrClosed,
			Detail: "the device was closed; open it again"}
	}
	return nil
}

// ReportZones fills zones with the state of zones first, first+1, ...,
// through BLKREPORTZONE.
func (d *Linux) ReportZones(first int, zones []Zone) (int, error) {
	if err := d.begin("report"); err != nil {
		return 0, err
	}
	defer d.mu.RUnlock()
	return d.report(first, zones)
}

// report is ReportZones without the closed check, for use inside other
// operations.
func (d *Linux) report(first int, zones []Zone) (int, error) {
	if first < 0 || first > d.info.ZoneCount {
		return 0, zoneRangeError("report", d.info, first, len(zones))
	}
	n := min(len(zones), d.info.ZoneCount-first)
	if n == 0 {
		return 0, nil
	}
	hdrSize := int(unsafe.Sizeof(blkZoneReport{}))
	zoneSize := int(unsafe.Sizeof(blkZone{}))
	// A []uint64 keeps the buffer 8-byte aligned for the structs in it.
	buf := make([]uint64, (hdrSize+n*zoneSize)/8)
	hdr := (*blkZoneReport)(unsafe.Pointer(&buf[0]))
	hdr.Sector = uint64(first) * d.zoneSectors
	hdr.NrZones = uint32(n)
	if err := ioctlPtr(d.fd, blkReportZone, unsafe.Pointer(&buf[0])); err != nil {
		return 0, &Error{Op: "report", Path: d.info.Path, Zone: first, Offset: -1, Kind: ErrIO, Err: err,
			Detail: "BLKREPORTZONE failed"}
	}
	raw := unsafe.Slice((*blkZone)(unsafe.Add(unsafe.Pointer(&buf[0]), hdrSize)), n)
	got := int(hdr.NrZones)
	for i := 0; i < got; i++ {
		bz := raw[i]
		z := Zone{
			Index:        int(bz.Start / d.zoneSectors),
			Start:        int64(bz.Start) * sectorSize,
			Size:         int64(bz.Len) * sectorSize,
			Capacity:     int64(bz.Len) * sectorSize,
			WritePointer: int64(bz.WP) * sectorSize,
			Type:         ZoneType(bz.Type),
			Cond:         Condition(bz.Cond),
		}
		if hdr.Flags&blkZoneRepCapacity != 0 {
			z.Capacity = int64(bz.Capacity) * sectorSize
		}
		switch z.Cond {
		case CondFull, CondNotWP:
			// Drivers disagree on a full zone's write pointer (null_blk
			// leaves it at the capacity); report the end of the zone.
			z.WritePointer = z.Start + z.Size
		}
		zones[i] = z
	}
	return got, nil
}

// ResetZones resets count zones from first (BLKRESETZONE).
func (d *Linux) ResetZones(first, count int) error {
	return d.manage(opReset, blkResetZone, first, count)
}

// OpenZones explicitly opens count zones from first (BLKOPENZONE).
func (d *Linux) OpenZones(first, count int) error {
	return d.manage(opOpen, blkOpenZone, first, count)
}

// CloseZones closes count zones from first (BLKCLOSEZONE).
func (d *Linux) CloseZones(first, count int) error {
	return d.manage(opClose, blkCloseZone, first, count)
}

// FinishZones finishes count zones from first (BLKFINISHZONE).
func (d *Linux) FinishZones(first, count int) error {
	return d.manage(opFinish, blkFinishZone, first, count)
}

func (d *Linux) manage(op string, req uintptr, first, count int) error {
	if err := d.begin(op); err != nil {
		return err
	}
	defer d.mu.RUnlock()
	if err := checkZoneRange(op, d.info, first, count); err != nil {
		return err
	}
	start := uint64(first) * d.zoneSectors
	end := min(uint64(first+count)*d.zoneSectors, uint64(d.info.Capacity)/sectorSize)
	r := blkZoneRange{Sector: start, NrSectors: end - start}
	err := ioctlPtr(d.fd, req, unsafe.Pointer(&r))
	if err == nil {
		return nil
	}
	return d.diagnose(op, first, count, -1, 0, err)
}

// WriteAt writes p at off with pwrite on the O_DIRECT descriptor.
func (d *Linux) WriteAt(p []byte, off int64) (int, error) {
	if err := d.begin("write"); err != nil {
		return 0, err
	}
	defer d.mu.RUnlock()
	if err := checkIO("write", d.info, p, off); err != nil {
		return 0, err
	}
	done := 0
	for done < len(p) {
		n, err := unix.Pwrite(d.fd, p[done:], off+int64(done))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			pos := off + int64(done)
			return done, d.diagnose("write", d.info.ZoneOf(pos), 1, pos, int64(len(p)-done), err)
		}
		if n == 0 {
			return done, &Error{Op: "write", Path: d.info.Path, Zone: d.info.ZoneOf(off), Offset: off, Kind: ErrIO,
				Err: syscall.EIO, Detail: "the device accepted no bytes"}
		}
		done += n
	}
	return done, nil
}

// ReadAt reads len(p) bytes at off with pread on the O_DIRECT descriptor.
func (d *Linux) ReadAt(p []byte, off int64) (int, error) {
	if err := d.begin("read"); err != nil {
		return 0, err
	}
	defer d.mu.RUnlock()
	if err := checkIO("read", d.info, p, off); err != nil {
		return 0, err
	}
	done := 0
	for done < len(p) {
		n, err := unix.Pread(d.fd, p[done:], off+int64(done))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			zi := d.info.ZoneOf(off + int64(done))
			return done, d.diagnose("read", zi, 1, off+int64(done), int64(len(p)-done), err)
		}
		if n == 0 {
			return done, &Error{Op: "read", Path: d.info.Path, Zone: d.info.ZoneOf(off), Offset: off, Kind: ErrIO,
				Err: syscall.EIO, Detail: "unexpected end of device"}
		}
		done += n
	}
	return done, nil
}

// Sync flushes the device's write cache (fdatasync on a block device sends a
// cache flush).
func (d *Linux) Sync() error {
	if err := d.begin("sync"); err != nil {
		return err
	}
	defer d.mu.RUnlock()
	if err := unix.Fdatasync(d.fd); err != nil {
		return &Error{Op: "sync", Path: d.info.Path, Zone: -1, Offset: -1, Kind: ErrIO, Err: err,
			Detail: "the cache flush failed; writes since the last successful sync may be lost"}
	}
	return nil
}

// Close releases the device.
func (d *Linux) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	if err := unix.Close(d.fd); err != nil {
		return &Error{Op: "close", Path: d.info.Path, Zone: -1, Offset: -1, Kind: ErrIO, Err: err}
	}
	return nil
}

// diagnose turns the errno of a failed zone operation or I/O into an *Error
// that says why, by reporting the zone again. n is the length of a failed
// write or read (0 for zone management).
func (d *Linux) diagnose(op string, zone, count int, off, n int64, cause error) error {
	e := &Error{Op: op, Path: d.info.Path, Zone: zone, Offset: off, Kind: ErrIO, Err: cause}
	switch {
	case errors.Is(cause, unix.ETOOMANYREFS):
		e.Kind = ErrTooManyOpen
		e.Detail = fmt.Sprintf("the device allows %d open zones; close or finish a zone first", d.info.MaxOpenZones)
		return e
	case errors.Is(cause, unix.EOVERFLOW):
		e.Kind = ErrTooManyActive
		e.Detail = fmt.Sprintf("the device allows %d active zones; finish or reset a zone first", d.info.MaxActiveZones)
		return e
	case !errors.Is(cause, unix.EIO) && !errors.Is(cause, unix.EINVAL):
		return e
	}
	zones := make([]Zone, count)
	k, err := d.report(zone, zones)
	if err != nil || k == 0 {
		e.Detail = "the device failed the operation and the zone could not be reported again"
		return e
	}
	for _, z := range zones[:k] {
		if reason := refusal(op, &z, off, n); reason != nil {
			e.Zone = z.Index
			e.Kind, e.Detail = reason.Kind, reason.Detail
			return e
		}
	}
	e.Detail = "the device reported an error the zone state does not explain; check dmesg and the drive's health"
	return e
}
