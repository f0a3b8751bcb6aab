package zoned

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// EmulatorConfig is the geometry of a new emulated device. The zero value of
// each field takes the default shown.
type EmulatorConfig struct {
	// ZoneSize is the zone size in bytes (256 MiB, as on SMR drives).
	ZoneSize int64
	// ZoneCapacity is the writable part of each sequential zone (ZoneSize).
	// Set it lower to emulate NVMe ZNS.
	ZoneCapacity int64
	// ZoneCount is the number of zones (64).
	ZoneCount int
	// ConventionalZones is how many zones at the start are conventional (0).
	ConventionalZones int
	// MaxOpenZones limits open zones; 0 means no limit.
	MaxOpenZones int
	// MaxActiveZones limits open plus closed zones; 0 means no limit.
	MaxActiveZones int
	// LogicalBlockSize is the I/O unit (4096).
	LogicalBlockSize int
	// PhysicalBlockSize is the media block size (LogicalBlockSize).
	PhysicalBlockSize int
}

func (c EmulatorConfig) info(path string) Info {
	info := Info{
		Path:              path,
		Model:             ModelHostManaged,
		ZoneSize:          c.ZoneSize,
		ZoneCapacity:      c.ZoneCapacity,
		ZoneCount:         c.ZoneCount,
		ConventionalZones: c.ConventionalZones,
		MaxOpenZones:      c.MaxOpenZones,
		MaxActiveZones:    c.MaxActiveZones,
		LogicalBlockSize:  c.LogicalBlockSize,
		PhysicalBlockSize: c.PhysicalBlockSize,
	}
	if info.ZoneSize == 0 {
		info.ZoneSize = 256 << 20
	}
	if info.ZoneCapacity == 0 {
		info.ZoneCapacity = info.ZoneSize
	}
	if info.ZoneCount == 0 {
		info.ZoneCount = 64
	}
	if info.LogicalBlockSize == 0 {
		info.LogicalBlockSize = 4096
	}
	if info.PhysicalBlockSize == 0 {
		info.PhysicalBlockSize = info.LogicalBlockSize
	}
	info.Capacity = info.ZoneSize * int64(info.ZoneCount)
	return info
}

// Emulator is a zoned device kept in one regular file: the geometry, each
// zone's write pointer and condition, then the zones' data (the layout is in
// emulator_state.go).
//
// It is faithful rather than friendly. Zone conditions, write-pointer checks,
// capacity below size and the open/active limits follow the Linux null_blk
// driver (see zoneTable). Reads of a sequential zone at or past its write
// pointer return 0xFF bytes, as null_blk does (Linux 6.1 fills the part of
// a read past the write pointer with 0xFF), and a reset zone reads as
// zeros once finished, as null_blk discards a zone's memory on reset. I/O must be block-aligned in offset, length and
// buffer address, as O_DIRECT requires. Data is read and written with
// O_DIRECT when the filesystem supports it, so benchmarks measure the disk,
// not the page cache, and Sync is one fdatasync of the file, as it is one
// cache flush on a drive.
//
// Durability is that of a drive with a volatile write cache. A write is
// visible at once but durable only after Sync. Resets and finishes are
// durable when they return, as on a drive (a finish also makes the zone's
// data durable). Close keeps
// everything written, as closing a real device does; Crash is a power cut:
// it drops every write not yet synced, optionally tearing the last one, and
// leaves the files as a restarted drive would find them. A process killed
// with SIGKILL loses the unsynced writes of sequential zones, as Crash
// does, because the zone records hold only synced write pointers; its writes
// to conventional zones survive, as they would on a drive that kept power.
//
// Zones can be turned read-only or offline with SetZoneCondition, like
// null_blk's zone_readonly and zone_offline attributes. Other faults (I/O
// errors, latency, torn writes) come from wrapping the emulator with package
// errorzone.
type Emulator struct {
	info    Info
	data    *os.File // zone data, O_DIRECT when possible
	meta    *os.File // the same file, buffered: holds the lock, reads the metadata
	metaBuf []byte   // the header and zone records, page-aligned, as on the file
	dataOff int64    // where zone 0 starts in the file
	direct  bool     // data is opened with O_DIRECT

	// ioMu is held shared by every operation and exclusively by Crash and
	// Close, so those see no operation half done.
	ioMu sync.RWMutex
	// zoneMu serialises writes to each sequential zone, as the kernel's zone
	// write locking does, so a write's data lands before its zone's write
	// pointer moves.
	zoneMu []sync.Mutex
	// stateMu serialises updates of the zone records.
	stateMu sync.Mutex
	// convMu serialises writes to conventional zones with the undo log.
	convMu sync.Mutex

	// mu guards everything below.
	mu     sync.Mutex
	table  *zoneTable
	synced []durableZone // what the zone records hold
	dirty  []int         // zones whose state differs from synced
	isDirt []bool
	// undo holds the original content of conventional blocks written since
	// the last sync, so Crash can drop those writes.
	undo map[int64][]byte
	// last is the most recent write, for Crash's torn-write option.
	last    lastWrite
	stopped error // ErrClosed or ErrCrashed once stopped
}

type lastWrite struct {
	zone   int
	off, n int64
}

// CreateEmulator creates a new emulated zoned drive in the file at path
// (sparse: it takes disk space only for what is written). It refuses to
// overwrite an existing file.
func CreateEmulator(path string, cfg EmulatorConfig) (*Emulator, error) {
	info := cfg.info(path)
	if err := validateGeometry(info); err != nil {
		return nil, &Error{Op: "create", Path: path, Zone: -1, Offset: -1, Kind: ErrOutOfRange, Err: err,
			Detail: "fix the emulator configuration"}
	}
	if _, err := os.Stat(path); err == nil {
		return nil, &Error{Op: "create", Path: path, Zone: -1, Offset: -1, Kind: ErrBusy, Err: os.ErrExist,
			Detail: "the file already exists; open it with zoned.OpenEmulator or remove it first"}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, createErr(path, err)
	}
	meta := make([]byte, stateHeaderSize+stateRecordSize*info.ZoneCount)
	copy(meta, encodeStateHeader(info))
	t := newZoneTable(info)
	for i := range t.zones {
		encodeStateRecord(meta[stateHeaderSize+i*stateRecordSize:], durableOf(&t.zones[i]))
	}
	_, err = f.WriteAt(meta, 0)
	if err == nil {
		err = f.Truncate(dataOffset(info.ZoneCount) + info.Capacity)
	}
	if err == nil {
		err = f.Sync()
	}
	f.Close()
	if err != nil {
		os.Remove(path)
		return nil, createErr(path, err)
	}
	return OpenEmulator(path)
}

func createErr(path string, err error) error {
	return &Error{Op: "create", Path: path, Zone: -1, Offset: -1, Kind: ErrIO, Err: err,
		Detail: "cannot create the emulated drive's file; check the directory exists and is writable"}
}

// OpenEmulator opens an emulated zoned drive made by CreateEmulator. Only
// one Emulator may have a drive open at a time, across processes: a second
// open fails with ErrBusy.
func OpenEmulator(path string) (*Emulator, error) {
	meta, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, &Error{Op: "open", Path: path, Zone: -1, Offset: -1, Kind: ErrNotZoned, Err: err,
				Detail: "no such emulated drive; create one with zoned.CreateEmulator"}
		}
		return nil, &Error{Op: "open", Path: path, Zone: -1, Offset: -1, Kind: ErrIO, Err: err}
	}
	if err := unix.Flock(int(meta.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		meta.Close()
		return nil, &Error{Op: "open", Path: path, Zone: -1, Offset: -1, Kind: ErrBusy, Err: err,
			Detail: "another process or Emulator has this drive open; stop it first"}
	}
	info, durable, valid, err := readStateFile(path, meta)
	if err != nil {
		meta.Close()
		return nil, err
	}
	data, direct, err := openData(path)
	if err != nil {
		meta.Close()
		return nil, err
	}
	metaBuf := AlignedBuffer(int(dataOffset(info.ZoneCount)), 4096)
	if _, err := meta.ReadAt(metaBuf, 0); err != nil {
		meta.Close()
		data.Close()
		return nil, &Error{Op: "open", Path: path, Zone: -1, Offset: -1, Kind: ErrIO, Err: err,
			Detail: "cannot read the drive's metadata"}
	}
	// From here on the file is only read and written with O_DIRECT. Drop
	// the pages the buffered reads and writes above left in the page
	// cache: while a file has cached pages, every direct write must flush
	// and invalidate the page cache over its range.
	_ = unix.Fadvise(int(meta.Fd()), 0, 0, unix.FADV_DONTNEED)
	e := &Emulator{
		info:    info,
		data:    data,
		meta:    meta,
		metaBuf: metaBuf,
		dataOff: dataOffset(info.ZoneCount),
		direct:  direct,
		zoneMu:  make([]sync.Mutex, info.ZoneCount),
		table:   newZoneTable(info),
		synced:  durable,
		isDirt:  make([]bool, info.ZoneCount),
		undo:    map[int64][]byte{},
	}
	for i := range durable {
		if !valid[i] {
			// A record that fails its checksum is a zone whose state is
			// unknown: like a drive, report it offline rather than guess.
			e.table.zones[i].Cond = CondOffline
			e.synced[i] = durableOf(&e.table.zones[i])
			continue
		}
		e.table.restore(i, e.table.zones[i].Start+durable[i].dataEnd, durable[i].cond)
	}
	e.discardPastWritePointers()
	return e, nil
}

// discardPastWritePointers drops whatever the file holds past the write
// pointer of each zone that can still be written: writes a crash (or a
// SIGKILL) took back. A drive does not keep them either, and a zone
// finished later must not show them as data.
func (e *Emulator) discardPastWritePointers() {
	for i := range e.table.zones {
		z := &e.table.zones[i]
		if !z.Sequential() || z.Cond == CondFull || z.Cond == CondReadOnly || z.Cond == CondOffline {
			continue
		}
		if end := z.Start + z.Size; z.WritePointer < end {
			_ = unix.Fallocate(int(e.data.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE,
				e.dataOff+z.WritePointer, end-z.WritePointer)
		}
	}
}

// openData opens the data file with O_DIRECT, or without it on filesystems
// that refuse it (tmpfs on older kernels). It reports which.
func openData(path string) (*os.File, bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_DIRECT, 0)
	direct := err == nil
	if errors.Is(err, syscall.EINVAL) {
		f, err = os.OpenFile(path, os.O_RDWR, 0)
	}
	if err != nil {
		return nil, false, &Error{Op: "open", Path: path, Zone: -1, Offset: -1, Kind: ErrIO, Err: err,
			Detail: "cannot open the emulated drive's file for data"}
	}
	return f, direct, nil
}

// DirectIO reports whether zone data is read and written with O_DIRECT,
// bypassing the page cache.
func (e *Emulator) DirectIO() bool { return e.direct }

func durableOf(z *Zone) durableZone {
	d := durableZone{dataEnd: z.WritePointer - z.Start, cond: z.Cond}
	switch z.Cond {
	case CondImplicitOpen, CondExplicitOpen:
		// Open zones do not survive a power cut.
		d.cond = CondClosed
		if d.dataEnd == 0 {
			d.cond = CondEmpty
		}
	case CondNotWP:
		d.dataEnd = 0
	}
	return d
}

// Info returns the device geometry.
func (e *Emulator) Info() Info { return e.info }

// begin takes the shared I/O lock and fails if the device is stopped.
func (e *Emulator) begin(op string) error {
	e.ioMu.RLock()
	e.mu.Lock()
	err := e.stopped
	e.mu.Unlock()
	if err != nil {
		e.ioMu.RUnlock()
		return &Error{Op: op, Path: e.info.Path, Zone: -1, Offset: -1, Kind: err,
			Detail: "the device was closed or crashed; open it again"}
	}
	return nil
}

// ReportZones fills zones with the state of zones first, first+1, ...
func (e *Emulator) ReportZones(first int, zones []Zone) (int, error) {
	if err := e.begin("report"); err != nil {
		return 0, err
	}
	defer e.ioMu.RUnlock()
	if first < 0 || first > e.info.ZoneCount {
		return 0, zoneRangeError("report", e.info, first, len(zones))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	n := min(len(zones), e.info.ZoneCount-first)
	for i := range n {
		zones[i] = e.table.report(first + i)
	}
	return n, nil
}

// ResetZones resets count zones from first. Resetting the whole device
// skips conventional, read-only and offline zones, as the kernel's reset-all
// does. For every zone operation on a range, zones that cannot take the
// operation fail it but do not stop the others, as in the kernel.
func (e *Emulator) ResetZones(first, count int) error { return e.manage(opReset, first, count) }

// OpenZones explicitly opens count zones from first.
func (e *Emulator) OpenZones(first, count int) error { return e.manage(opOpen, first, count) }

// CloseZones closes count zones from first.
func (e *Emulator) CloseZones(first, count int) error { return e.manage(opClose, first, count) }

// FinishZones finishes count zones from first.
func (e *Emulator) FinishZones(first, count int) error { return e.manage(opFinish, first, count) }

func (e *Emulator) manage(op string, first, count int) error {
	if err := e.begin(op); err != nil {
		return err
	}
	defer e.ioMu.RUnlock()
	if err := checkZoneRange(op, e.info, first, count); err != nil {
		return err
	}
	resetAll := op == opReset && first == 0 && count == e.info.ZoneCount
	// Hold each zone's write lock so no write is half done in a zone whose
	// state changes under it.
	for i := first; i < first+count; i++ {
		e.zoneMu[i].Lock()
	}
	defer func() {
		for i := first; i < first+count; i++ {
			e.zoneMu[i].Unlock()
		}
	}()
	e.stateMu.Lock()
	defer e.stateMu.Unlock()
	var opErr error
	var changed, reset []int
	e.mu.Lock()
	for i := first; i < first+count; i++ {
		z := &e.table.zones[i]
		if resetAll && (!z.Sequential() || z.Cond == CondReadOnly || z.Cond == CondOffline) {
			continue
		}
		if err := e.table.manage(op, z); err != nil {
			// The kernel sends one command per zone and reports the first
			// failure; the other zones still change.
			if opErr == nil {
				opErr = err
			}
			continue
		}
		e.markDirty(i)
		changed = append(changed, i)
		if e.last.zone == i {
			e.last = lastWrite{}
		}
		if op == opReset {
			reset = append(reset, i)
		}
	}
	e.mu.Unlock()
	// Resets and finishes are durable on completion, as on a drive: a reset
	// zone never comes back with its old data, a finished zone never comes
	// back writable. Opening and closing change nothing that survives a
	// power cut (open zones come back closed), so they persist nothing.
	if op == opReset || op == opFinish {
		if err := e.persist(op, false, changed); err != nil {
			return err
		}
	}
	// Only once the reset is durable, discard the zones' data, as null_blk
	// frees their memory, so a zone finished after a reset reads as zeros.
	// Filesystems that cannot punch holes keep the old bytes; they stay
	// behind the write pointer.
	for _, i := range reset {
		_ = unix.Fallocate(int(e.data.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE,
			e.dataOff+e.info.ZoneStart(i), e.table.zones[i].Size)
	}
	return opErr
}

// markDirty notes that zone i's state differs from its record. e.mu is
// held.
func (e *Emulator) markDirty(i int) {
	if !e.isDirt[i] {
		e.isDirt[i] = true
		e.dirty = append(e.dirty, i)
	}
}

// SetZoneCondition turns zone z read-only (CondReadOnly) or offline
// (CondOffline) for good, as a failing drive would, and persists it. Setting
// the condition the zone already has restores it to empty, as null_blk does.
func (e *Emulator) SetZoneCondition(z int, cond Condition) error {
	const op = "set-condition"
	if err := e.begin(op); err != nil {
		return err
	}
	defer e.ioMu.RUnlock()
	if err := checkZoneRange(op, e.info, z, 1); err != nil {
		return err
	}
	if cond != CondReadOnly && cond != CondOffline {
		return &Error{Op: op, Path: e.info.Path, Zone: z, Offset: -1, Kind: ErrInvalidTransition,
			Detail: fmt.Sprintf("only read-only and offline can be injected, not %s", cond)}
	}
	if z < e.info.ConventionalZones {
		return &Error{Op: op, Path: e.info.Path, Zone: z, Offset: -1, Kind: ErrInvalidTransition,
			Detail: "the condition of a conventional zone cannot be changed (null_blk refuses it too)"}
	}
	e.zoneMu[z].Lock()
	defer e.zoneMu[z].Unlock()
	e.stateMu.Lock()
	defer e.stateMu.Unlock()
	e.mu.Lock()
	e.table.setCondition(&e.table.zones[z], cond)
	e.markDirty(z)
	if e.last.zone == z {
		e.last = lastWrite{}
	}
	e.mu.Unlock()
	return e.persist(op, false, []int{z})
}

// WriteAt writes p at off. See Device.
func (e *Emulator) WriteAt(p []byte, off int64) (int, error) {
	if err := e.begin("write"); err != nil {
		return 0, err
	}
	defer e.ioMu.RUnlock()
	if err := checkIO("write", e.info, p, off); err != nil {
		return 0, err
	}
	// Like the block layer, split a write at zone boundaries (the queue's
	// chunk_sectors) and issue the pieces in order; the first piece that
	// fails ends the write.
	done := 0
	for done < len(p) {
		pos := off + int64(done)
		zi := e.info.ZoneOf(pos)
		piece := int(min(int64(len(p)-done), e.info.ZoneStart(zi+1)-pos))
		var n int
		var err error
		if zi < e.info.ConventionalZones {
			n, err = e.writeConventional(p[done:done+piece], pos)
		} else {
			n, err = e.writeSequential(zi, p[done:done+piece], pos)
		}
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// writeSequential writes p at off inside sequential zone zi.
func (e *Emulator) writeSequential(zi int, p []byte, off int64) (int, error) {
	e.zoneMu[zi].Lock()
	defer e.zoneMu[zi].Unlock()
	e.mu.Lock()
	z := &e.table.zones[zi]
	if err := e.table.beginWrite(z, off, int64(len(p))); err != nil {
		e.mu.Unlock()
		return 0, withOffset(err, off)
	}
	e.mu.Unlock()
	n, err := e.data.WriteAt(p, e.dataOff+off)
	e.mu.Lock()
	defer e.mu.Unlock()
	if err != nil {
		// The backing file failed; like a drive after a media error, the
		// write pointer is wherever the data stopped, rounded down to a
		// block.
		n -= n % e.info.LogicalBlockSize
		if n > 0 {
			e.table.endWrite(z, int64(n))
			e.markDirty(zi)
		}
		return n, &Error{Op: "write", Path: e.info.Path, Zone: zi, Offset: off, Kind: ErrIO, Err: err,
			Detail: "the emulator's backing file failed; check the host disk"}
	}
	e.table.endWrite(z, int64(n))
	e.markDirty(zi)
	e.last = lastWrite{zone: zi, off: off, n: int64(n)}
	return n, nil
}

// writeConventional writes conventional zones, keeping the blocks' previous
// content until the next Sync so Crash can drop the write.
func (e *Emulator) writeConventional(p []byte, off int64) (int, error) {
	e.convMu.Lock()
	defer e.convMu.Unlock()
	bs := int64(e.info.LogicalBlockSize)
	old := AlignedBuffer(len(p), int(bs))
	if _, err := e.data.ReadAt(old, e.dataOff+off); err != nil {
		return 0, &Error{Op: "write", Path: e.info.Path, Zone: e.info.ZoneOf(off), Offset: off, Kind: ErrIO, Err: err,
			Detail: "the emulator's backing file failed; check the host disk"}
	}
	e.mu.Lock()
	for b := int64(0); b < int64(len(p)); b += bs {
		if _, ok := e.undo[off+b]; !ok {
			e.undo[off+b] = old[b : b+bs]
		}
	}
	e.mu.Unlock()
	n, err := e.data.WriteAt(p, e.dataOff+off)
	if err != nil {
		return n, &Error{Op: "write", Path: e.info.Path, Zone: e.info.ZoneOf(off), Offset: off, Kind: ErrIO, Err: err,
			Detail: "the emulator's backing file failed; check the host disk"}
	}
	e.mu.Lock()
	e.last = lastWrite{zone: e.info.ZoneOf(off), off: off, n: int64(n)}
	e.mu.Unlock()
	return n, nil
}

func withOffset(err error, off int64) error {
	var ze *Error
	if errors.As(err, &ze) && ze.Offset < 0 {
		ze.Offset = off
	}
	return err
}

// pastWritePointer is what the emulator returns for bytes at or past a
// sequential zone's write pointer: null_blk's fill byte.
const pastWritePointer = 0xFF

// ReadAt reads len(p) bytes at off. Bytes of a sequential zone at or past
// its write pointer read as 0xFF; reading an offline zone fails.
func (e *Emulator) ReadAt(p []byte, off int64) (int, error) {
	if err := e.begin("read"); err != nil {
		return 0, err
	}
	defer e.ioMu.RUnlock()
	if err := checkIO("read", e.info, p, off); err != nil {
		return 0, err
	}
	done := 0
	for done < len(p) {
		pos := off + int64(done)
		zi := e.info.ZoneOf(pos)
		e.mu.Lock()
		z := e.table.zones[zi]
		e.mu.Unlock()
		chunk := min(int64(len(p)-done), z.Start+z.Size-pos)
		if z.Cond == CondOffline {
			return done, &Error{Op: "read", Path: e.info.Path, Zone: zi, Offset: pos, Kind: ErrOffline, Err: syscall.EIO,
				Detail: "the zone went offline and its data is lost; read another copy"}
		}
		valid := chunk
		if z.Sequential() {
			valid = max(0, min(chunk, z.WritePointer-pos))
		}
		dst := p[done : done+int(chunk)]
		if valid > 0 {
			if _, err := e.data.ReadAt(dst[:valid], e.dataOff+pos); err != nil {
				return done, &Error{Op: "read", Path: e.info.Path, Zone: zi, Offset: pos, Kind: ErrIO, Err: err,
					Detail: "the emulator's backing file failed; check the host disk"}
			}
		}
		for i := valid; i < chunk; i++ {
			dst[i] = pastWritePointer
		}
		done += int(chunk)
	}
	return done, nil
}

// Sync makes every completed write durable: it records the new write
// pointers and flushes the file once.
func (e *Emulator) Sync() error {
	if err := e.begin("sync"); err != nil {
		return err
	}
	defer e.ioMu.RUnlock()
	e.stateMu.Lock()
	defer e.stateMu.Unlock()
	return e.persist("sync", true, nil)
}

// persist makes completed writes and zone state changes durable. stateMu is
// held. The zone states are captured first, so a record never covers a write
// that completed after it was taken; the records and the data then become
// durable in one fdatasync.
//
// With all set (Sync, Close) every zone is persisted. Otherwise (a zone
// management operation) only the zones listed are, those the operation
// changed: a reset or finish is durable when it returns, but it does not
// make other zones' unsynced writes durable, just as a zone command does not
// flush a drive's write cache.
func (e *Emulator) persist(op string, all bool, zones []int) error {
	e.convMu.Lock()
	e.mu.Lock()
	var undo map[int64][]byte
	if all {
		undo = e.undo
		e.undo = map[int64][]byte{}
	}
	only := make(map[int]bool, len(zones))
	for _, i := range zones {
		only[i] = true
	}
	var dirty, keep []int
	for _, i := range e.dirty {
		if all || only[i] {
			dirty = append(dirty, i)
		} else {
			keep = append(keep, i)
		}
	}
	e.dirty = keep
	states := make([]durableZone, len(dirty))
	for k, i := range dirty {
		e.isDirt[i] = false
		states[k] = durableOf(&e.table.zones[i])
	}
	e.mu.Unlock()
	e.convMu.Unlock()

	fail := func(err error) error {
		// Nothing became durable: put the old records back (best effort;
		// the device is failing) and keep the undo log and the dirty marks.
		e.mu.Lock()
		old := make([]durableZone, len(dirty))
		for k, i := range dirty {
			old[k] = e.synced[i]
		}
		e.mu.Unlock()
		_ = e.writeRecords(dirty, old)
		e.mu.Lock()
		for off, b := range undo {
			if _, newer := e.undo[off]; !newer {
				e.undo[off] = b
			}
		}
		for _, i := range dirty {
			e.markDirty(i)
		}
		e.mu.Unlock()
		return &Error{Op: op, Path: e.info.Path, Zone: -1, Offset: -1, Kind: ErrIO, Err: err,
			Detail: "flushing the emulator's files failed; check the host disk"}
	}
	if err := e.writeRecords(dirty, states); err != nil {
		return fail(err)
	}
	if err := unix.Fdatasync(int(e.data.Fd())); err != nil {
		return fail(err)
	}
	e.mu.Lock()
	for k, i := range dirty {
		e.synced[i] = states[k]
	}
	e.mu.Unlock()
	return nil
}

// writeRecords writes zone records; the caller flushes them. The records
// are kept in an aligned in-memory copy and written back a 4 KiB page at a
// time through the data descriptor, so the file sees O_DIRECT I/O only:
// mixing buffered writes into a file written with O_DIRECT makes the kernel
// flush and invalidate the page cache around every direct write.
func (e *Emulator) writeRecords(zones []int, states []durableZone) error {
	const page = 4096
	dirty := map[int64]bool{}
	for k, i := range zones {
		off := int64(stateHeaderSize + i*stateRecordSize)
		encodeStateRecord(e.metaBuf[off:off+stateRecordSize], states[k])
		dirty[off/page] = true
	}
	for p := range dirty {
		if _, err := e.data.WriteAt(e.metaBuf[p*page:(p+1)*page], p*page); err != nil {
			return err
		}
	}
	return nil
}

// Close persists the zone state (a clean shutdown loses nothing written) and
// releases the files. Using the Emulator afterwards fails with ErrClosed.
func (e *Emulator) Close() error {
	e.ioMu.Lock()
	defer e.ioMu.Unlock()
	e.mu.Lock()
	stopped := e.stopped
	e.mu.Unlock()
	if stopped != nil {
		return nil
	}
	e.stateMu.Lock()
	err := e.persist("close", true, nil)
	e.stateMu.Unlock()
	e.mu.Lock()
	e.stopped = ErrClosed
	e.mu.Unlock()
	e.data.Close()
	e.meta.Close()
	return err
}
