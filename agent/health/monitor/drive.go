package monitor

import (
	"github.com/shingle-storage/shingle/agent/health/iotime"
	"github.com/shingle-storage/shingle/agent/health/smart"
	"github.com/shingle-storage/shingle/zoned"
)

// Drive is one drive to watch, and where its signals come from. Every
// source but ID may be nil: the signals it would give are then missing,
// not bad.
type Drive struct {
	// ID is the drive's id, as the agent reports it.
	ID string
	// SMART reads the drive's SMART data: smart.Device for a real drive,
	// a smart.Replay for an emulated one; nil for a drive without SMART.
	// A Replay that has run out (io.EOF) leaves its last sample standing.
	SMART smart.Reader
	// Zones is the device to read the zone report from.
	Zones zoned.Device
	// IO is the device's I/O counters, for device errors and fail-slow.
	IO *iotime.Device
	// Damage lists, one line each, the damage the drive's store found
	// (regions it could not read when it was opened).
	Damage func() []string
}
