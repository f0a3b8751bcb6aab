package zoned

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// QueueLimits are the zone model, zone limits and block sizes the kernel
// publishes for a disk in /sys/block/<disk>/queue/. They are read directly
// rather than through prometheus/procfs, whose SysBlockDeviceQueueStats fails
// as soon as any one queue file is missing, and zone files are missing on
// older kernels.
type QueueLimits struct {
	// Model is from queue/zoned.
	Model Model
	// ChunkSectors is queue/chunk_sectors: on a zoned disk, the zone size
	// in 512-byte sectors.
	ChunkSectors int64
	// ZoneCount is queue/nr_zones.
	ZoneCount int
	// MaxOpenZones and MaxActiveZones are queue/max_open_zones and
	// queue/max_active_zones; zero means no limit.
	MaxOpenZones   int
	MaxActiveZones int
	// LogicalBlockSize and PhysicalBlockSize are in bytes.
	LogicalBlockSize  int
	PhysicalBlockSize int
}

// ReadQueueLimits reads the queue limits of the disk whose sysfs directory
// is dir (/sys/block/<disk> or /sys/dev/block/<major>:<minor>). The
// queue/zoned file must exist; the other files read as zero when they do not
// (max_active_zones appeared in Linux 5.9). A file that holds no number is
// an error naming it.
func ReadQueueLimits(dir string) (QueueLimits, error) {
	var q QueueLimits
	model, err := readSysfs(dir, "queue/zoned")
	if err != nil {
		return q, err
	}
	switch model {
	case "host-managed":
		q.Model = ModelHostManaged
	case "host-aware":
		q.Model = ModelHostAware
	default:
		q.Model = ModelNone
	}
	if q.ChunkSectors, err = readSysfsInt(dir, "queue/chunk_sectors"); err != nil {
		return q, err
	}
	smalls := []struct {
		name string
		dst  *int
	}{
		{"queue/nr_zones", &q.ZoneCount},
		{"queue/max_open_zones", &q.MaxOpenZones},
		{"queue/max_active_zones", &q.MaxActiveZones},
		{"queue/logical_block_size", &q.LogicalBlockSize},
		{"queue/physical_block_size", &q.PhysicalBlockSize},
	}
	for _, f := range smalls {
		v, err := readSysfsInt(dir, f.name)
		if err != nil {
			return q, err
		}
		*f.dst = int(v)
	}
	return q, nil
}

func readSysfs(dir, name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

func readSysfsInt(dir, name string) (int64, error) {
	s, err := readSysfs(dir, name)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s/%s: %q is not a number", dir, name, s)
	}
	return v, nil
}
