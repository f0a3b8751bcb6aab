package zoned

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// An emulated drive is one file. It starts with what the drive's firmware
// would keep in its own metadata, the geometry and each zone's durable write
// pointer and condition, and the zones' data follows from a 1 MiB-aligned
// offset. Keeping both in one file lets one fdatasync make a write and the
// write pointer that covers it durable together, as one cache flush does on
// a drive.
//
//	offset 0, 4096 bytes: header
//	   0  8  magic "SHGZONE1"
//	   8  4  format version (1)
//	  12  4  logical block size
//	  16  4  physical block size
//	  20  8  zone size
//	  28  8  zone capacity
//	  36  4  zone count
//	  40  4  conventional zones
//	  44  4  max open zones (0 = no limit)
//	  48  4  max active zones (0 = no limit)
//	  52  8  data offset: where zone 0 starts in the file
//	  60  4  CRC32C (Castagnoli) of bytes 0..60
//	offset 4096 + 16*i: zone i
//	   0  8  end of the zone's data, in bytes from the zone start
//	   8  1  condition (BLK_ZONE_COND_*; open zones are stored as closed)
//	   9  3  zero
//	  12  4  CRC32C of bytes 0..12
//	data offset + byte offset on the device: the zones' data
//
// All integers are little-endian. A zone record is 16 bytes inside one 4 KiB
// page, so it is written whole or not at all; its CRC catches the rest.
const (
	stateMagic      = "SHGZONE1"
	stateVersion    = 1
	stateHeaderSize = 4096
	stateRecordSize = 16
	dataAlignment   = 1 << 20

	// maxZones and maxCapacity bound an emulated drive (1 Mi zones, 1 PiB)
	// so that no header, however damaged, makes the emulator allocate or
	// compute beyond them.
	maxZones    = 1 << 20
	maxCapacity = 1 << 50
)

// dataOffset is where zone data starts in a file for zoneCount zones.
func dataOffset(zoneCount int) int64 {
	meta := int64(stateHeaderSize + stateRecordSize*zoneCount)
	return (meta + dataAlignment - 1) / dataAlignment * dataAlignment
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// durableZone is what the drive's metadata holds for one zone.
type durableZone struct {
	dataEnd int64 // relative to the zone start
	cond    Condition
}

func encodeStateHeader(info Info) []byte {
	b := make([]byte, stateHeaderSize)
	copy(b, stateMagic)
	le := binary.LittleEndian
	le.PutUint32(b[8:], stateVersion)
	le.PutUint32(b[12:], uint32(info.LogicalBlockSize))
	le.PutUint32(b[16:], uint32(info.PhysicalBlockSize))
	le.PutUint64(b[20:], uint64(info.ZoneSize))
	le.PutUint64(b[28:], uint64(info.ZoneCapacity))
	le.PutUint32(b[36:], uint32(info.ZoneCount))
	le.PutUint32(b[40:], uint32(info.ConventionalZones))
	le.PutUint32(b[44:], uint32(info.MaxOpenZones))
	le.PutUint32(b[48:], uint32(info.MaxActiveZones))
	le.PutUint64(b[52:], uint64(dataOffset(info.ZoneCount)))
	le.PutUint32(b[60:], crc32.Checksum(b[:60], castagnoli))
	return b
}

// decodeStateHeader parses a state file header into the device geometry.
func decodeStateHeader(path string, b []byte) (Info, error) {
	bad := func(why string) (Info, error) {
		return Info{}, &Error{Op: "open", Path: path, Zone: -1, Offset: -1, Kind: ErrNotZoned,
			Detail: fmt.Sprintf("%s is not an emulated zoned drive (%s); create one with zoned.CreateEmulator", path, why)}
	}
	if len(b) < 64 || string(b[:8]) != stateMagic {
		return bad("bad magic")
	}
	le := binary.LittleEndian
	if crc32.Checksum(b[:60], castagnoli) != le.Uint32(b[60:]) {
		return bad("header checksum mismatch")
	}
	if v := le.Uint32(b[8:]); v != stateVersion {
		return bad(fmt.Sprintf("format version %d, this build reads %d", v, stateVersion))
	}
	info := Info{
		Path:              path,
		Model:             ModelHostManaged,
		LogicalBlockSize:  int(le.Uint32(b[12:])),
		PhysicalBlockSize: int(le.Uint32(b[16:])),
		ZoneSize:          int64(le.Uint64(b[20:])),
		ZoneCapacity:      int64(le.Uint64(b[28:])),
		ZoneCount:         int(le.Uint32(b[36:])),
		ConventionalZones: int(le.Uint32(b[40:])),
		MaxOpenZones:      int(le.Uint32(b[44:])),
		MaxActiveZones:    int(le.Uint32(b[48:])),
	}
	info.Capacity = info.ZoneSize * int64(info.ZoneCount)
	if err := validateGeometry(info); err != nil {
		return bad(err.Error())
	}
	if off := int64(le.Uint64(b[52:])); off != dataOffset(info.ZoneCount) {
		return bad(fmt.Sprintf("data offset %d, expected %d", off, dataOffset(info.ZoneCount)))
	}
	return info, nil
}

func encodeStateRecord(b []byte, d durableZone) {
	le := binary.LittleEndian
	le.PutUint64(b[0:], uint64(d.dataEnd))
	b[8] = byte(d.cond)
	b[9], b[10], b[11] = 0, 0, 0
	le.PutUint32(b[12:], crc32.Checksum(b[:12], castagnoli))
}

// decodeStateRecord parses one zone record; ok is false when it is torn or
// corrupt.
func decodeStateRecord(b []byte) (d durableZone, ok bool) {
	le := binary.LittleEndian
	if crc32.Checksum(b[:12], castagnoli) != le.Uint32(b[12:]) {
		return durableZone{}, false
	}
	return durableZone{dataEnd: int64(le.Uint64(b[0:])), cond: Condition(b[8])}, true
}

// readStateFile reads the geometry and every zone record from the start of
// the drive file.
func readStateFile(path string, f *os.File) (Info, []durableZone, []bool, error) {
	hdr := make([]byte, stateHeaderSize)
	if _, err := f.ReadAt(hdr, 0); err != nil && !errors.Is(err, io.EOF) {
		return Info{}, nil, nil, &Error{Op: "open", Path: path, Zone: -1, Offset: -1, Kind: ErrIO, Err: err,
			Detail: "cannot read the drive's metadata"}
	}
	info, err := decodeStateHeader(path, hdr)
	if err != nil {
		return Info{}, nil, nil, err
	}
	// Check the size before trusting the header's zone count with an
	// allocation.
	fi, err := f.Stat()
	if err != nil || fi.Size() < dataOffset(info.ZoneCount)+info.Capacity {
		return Info{}, nil, nil, &Error{Op: "open", Path: path, Zone: -1, Offset: -1, Kind: ErrNotZoned, Err: err,
			Detail: fmt.Sprintf("the file is too short for %d zones of %d bytes; it is damaged", info.ZoneCount, info.ZoneSize)}
	}
	recs := make([]byte, stateRecordSize*info.ZoneCount)
	if _, err := f.ReadAt(recs, stateHeaderSize); err != nil {
		return Info{}, nil, nil, &Error{Op: "open", Path: path, Zone: -1, Offset: -1, Kind: ErrIO, Err: err,
			Detail: "cannot read the zone records"}
	}
	zones := make([]durableZone, info.ZoneCount)
	valid := make([]bool, info.ZoneCount)
	for i := range zones {
		zones[i], valid[i] = decodeStateRecord(recs[i*stateRecordSize:])
		if valid[i] && !plausible(info, i, zones[i]) {
			valid[i] = false
		}
	}
	return info, zones, valid, nil
}

// validateGeometry checks an emulated device's geometry for consistency.
func validateGeometry(info Info) error {
	bs := int64(info.LogicalBlockSize)
	switch {
	case bs < 512 || bs&(bs-1) != 0:
		return fmt.Errorf("logical block size %d is not a power of two of at least 512", bs)
	case info.PhysicalBlockSize < int(bs) || info.PhysicalBlockSize%int(bs) != 0:
		return fmt.Errorf("physical block size %d is not a multiple of the logical block size %d", info.PhysicalBlockSize, bs)
	case info.ZoneSize <= 0 || info.ZoneSize%bs != 0:
		return fmt.Errorf("zone size %d is not a positive multiple of the block size %d", info.ZoneSize, bs)
	case info.ZoneCapacity <= 0 || info.ZoneCapacity > info.ZoneSize || info.ZoneCapacity%bs != 0:
		return fmt.Errorf("zone capacity %d must be a multiple of %d between 1 block and the zone size %d", info.ZoneCapacity, bs, info.ZoneSize)
	case info.ZoneCount <= 0 || info.ConventionalZones < 0 || info.ConventionalZones > info.ZoneCount:
		return fmt.Errorf("%d zones with %d conventional is not a valid layout", info.ZoneCount, info.ConventionalZones)
	case info.MaxOpenZones < 0 || info.MaxActiveZones < 0:
		return fmt.Errorf("zone limits cannot be negative")
	case info.ZoneCount > maxZones:
		return fmt.Errorf("%d zones is more than the %d an emulated drive may have", info.ZoneCount, maxZones)
	case info.ZoneSize > maxCapacity/int64(info.ZoneCount):
		return fmt.Errorf("%d zones of %d bytes pass the %d-byte limit of an emulated drive", info.ZoneCount, info.ZoneSize, int64(maxCapacity))
	case info.MaxActiveZones > 0 && info.MaxOpenZones > info.MaxActiveZones:
		return fmt.Errorf("max open zones %d exceeds max active zones %d", info.MaxOpenZones, info.MaxActiveZones)
	}
	return nil
}

// plausible reports whether a zone record that passed its checksum also
// makes sense for zone i: a known condition, and data that ends inside the
// zone (within the capacity unless the zone is full).
func plausible(info Info, i int, d durableZone) bool {
	if i < info.ConventionalZones {
		return d.cond == CondNotWP && d.dataEnd == 0
	}
	switch d.cond {
	case CondEmpty:
		return d.dataEnd == 0
	case CondClosed:
		return d.dataEnd > 0 && d.dataEnd <= info.ZoneCapacity
	case CondFull, CondReadOnly, CondOffline:
		return d.dataEnd >= 0 && d.dataEnd <= info.ZoneSize
	}
	return false
}

// EmulatorFileOffset is where byte off of the device lies in the file of
// an emulated drive of zoneCount zones: after the zone-state header. Tests
// and fault drills that damage a drive file from outside (bit rot under a
// running agent) use it.
func EmulatorFileOffset(zoneCount int, off int64) int64 { return dataOffset(zoneCount) + off }
