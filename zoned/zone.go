package zoned

import "fmt"

// Model is how a device handles zones, as the kernel reports it in
// /sys/block/<dev>/queue/zoned.
type Model uint8

const (
	// ModelNone is an ordinary block device without zones.
	ModelNone Model = iota
	// ModelHostAware is a device with sequential-write-preferred zones: it
	// accepts random writes but is fastest written sequentially.
	ModelHostAware
	// ModelHostManaged is a device whose sequential zones reject any write
	// that is not at the write pointer: host-managed SMR and NVMe ZNS.
	ModelHostManaged
)

// String returns the name the kernel uses in sysfs.
func (m Model) String() string {
	switch m {
	case ModelNone:
		return "none"
	case ModelHostAware:
		return "host-aware"
	case ModelHostManaged:
		return "host-managed"
	}
	return fmt.Sprintf("model(%d)", uint8(m))
}

// ZoneType is the kind of one zone. The values are the kernel's
// BLK_ZONE_TYPE_* constants.
type ZoneType uint8

const (
	// TypeConventional zones accept writes anywhere and have no write pointer.
	TypeConventional ZoneType = 1
	// TypeSequentialRequired zones accept writes only at the write pointer.
	TypeSequentialRequired ZoneType = 2
	// TypeSequentialPreferred zones (host-aware devices) accept any write but
	// keep a write pointer.
	TypeSequentialPreferred ZoneType = 3
)

// String returns a short name for the zone type.
func (t ZoneType) String() string {
	switch t {
	case TypeConventional:
		return "conventional"
	case TypeSequentialRequired:
		return "seq-required"
	case TypeSequentialPreferred:
		return "seq-preferred"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Condition is the state of a zone. The values are the kernel's
// BLK_ZONE_COND_* constants, so they can be compared with `blkzone report`.
type Condition uint8

const (
	// CondNotWP is the condition of conventional zones: no write pointer.
	CondNotWP Condition = 0x0
	// CondEmpty zones have their write pointer at the zone start.
	CondEmpty Condition = 0x1
	// CondImplicitOpen zones were opened by a write.
	CondImplicitOpen Condition = 0x2
	// CondExplicitOpen zones were opened by an open command.
	CondExplicitOpen Condition = 0x3
	// CondClosed zones are partly written and not open; they still count
	// against the active-zone limit.
	CondClosed Condition = 0x4
	// CondReadOnly zones can be read but never written or reset again.
	CondReadOnly Condition = 0xD
	// CondFull zones have no room left (write pointer at capacity, or
	// finished).
	CondFull Condition = 0xE
	// CondOffline zones can be neither read nor written.
	CondOffline Condition = 0xF
)

// String returns the name `blkzone report` uses for the condition.
func (c Condition) String() string {
	switch c {
	case CondNotWP:
		return "nw"
	case CondEmpty:
		return "em"
	case CondImplicitOpen:
		return "oi"
	case CondExplicitOpen:
		return "oe"
	case CondClosed:
		return "cl"
	case CondReadOnly:
		return "ro"
	case CondFull:
		return "fu"
	case CondOffline:
		return "ol"
	}
	return fmt.Sprintf("cond(%#x)", uint8(c))
}

// IsOpen reports whether the condition counts against the open-zone limit.
func (c Condition) IsOpen() bool { return c == CondImplicitOpen || c == CondExplicitOpen }

// IsActive reports whether the condition counts against the active-zone
// limit: open or closed.
func (c Condition) IsActive() bool { return c.IsOpen() || c == CondClosed }

// Zone describes one zone as a zone report returns it. Offsets and sizes are
// in bytes from the start of the device.
type Zone struct {
	// Index is the zone's number, counting from 0 at the start of the device.
	Index int
	// Start is the byte offset of the zone's first block.
	Start int64
	// Size is the zone's length in bytes; every zone of a device has the same
	// size except possibly a smaller last zone.
	Size int64
	// Capacity is how many bytes of the zone can be written; it may be less
	// than Size (NVMe ZNS). The bytes between Start+Capacity and Start+Size
	// can never be written.
	Capacity int64
	// WritePointer is the byte offset of the next write for sequential zones.
	// For a full zone it is Start+Size, as the kernel reports it. It is
	// meaningless for conventional zones.
	WritePointer int64
	// Type is the kind of zone.
	Type ZoneType
	// Cond is the zone's condition.
	Cond Condition
}

// Sequential reports whether the zone has a write pointer.
func (z Zone) Sequential() bool { return z.Type != TypeConventional }

// Remaining returns how many bytes can still be written at the write pointer.
// It is 0 for full, read-only and offline zones, and for conventional zones
// (which have no write pointer; write them anywhere).
func (z Zone) Remaining() int64 {
	if !z.Sequential() {
		return 0
	}
	switch z.Cond {
	case CondFull, CondReadOnly, CondOffline:
		return 0
	}
	return z.Start + z.Capacity - z.WritePointer
}

// String formats the zone the way `blkzone report` does, in bytes.
func (z Zone) String() string {
	return fmt.Sprintf("zone %d: start %d size %d cap %d wp %d %s %s",
		z.Index, z.Start, z.Size, z.Capacity, z.WritePointer-z.Start, z.Type, z.Cond)
}

// Info describes a device. It is fixed for the life of an open device.
type Info struct {
	// Path is the device's path, used in error messages.
	Path string
	// Model is the zone model.
	Model Model
	// ZoneSize is the size in bytes of every zone (except possibly the last).
	ZoneSize int64
	// ZoneCapacity is the writable capacity in bytes of the first sequential
	// zone. Devices may in principle give zones different capacities; the
	// zone report has each zone's own.
	ZoneCapacity int64
	// ZoneCount is the number of zones.
	ZoneCount int
	// ConventionalZones is how many zones at the start of the device are
	// conventional.
	ConventionalZones int
	// MaxOpenZones is the limit on zones open at once; 0 means no limit.
	MaxOpenZones int
	// MaxActiveZones is the limit on zones open or closed at once; 0 means no
	// limit.
	MaxActiveZones int
	// LogicalBlockSize is the unit of I/O in bytes. Offsets, lengths and, for
	// O_DIRECT, buffer addresses must be multiples of it.
	LogicalBlockSize int
	// PhysicalBlockSize is the media's block size in bytes.
	PhysicalBlockSize int
	// Capacity is the device's size in bytes.
	Capacity int64
}

// ZoneOf returns the index of the zone holding byte offset off.
func (i Info) ZoneOf(off int64) int { return int(off / i.ZoneSize) }

// ZoneStart returns the byte offset of zone z.
func (i Info) ZoneStart(z int) int64 { return int64(z) * i.ZoneSize }
