//go:build linux

package zoned

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// queueAttrs are the zone limits the kernel publishes in
// /sys/block/<dev>/queue/. They are read directly rather than through
// prometheus/procfs, whose SysBlockDeviceQueueStats fails as soon as any one
// queue file is missing, and zone files are missing on older kernels.
type queueAttrs struct {
	model             Model
	chunkSectors      int64
	nrZones           int
	maxOpenZones      int
	maxActiveZones    int
	logicalBlockSize  int
	physicalBlockSize int
}

// sysfsDir returns /sys/dev/block/<major>:<minor>, the sysfs directory of the
// block device with device number rdev.
func sysfsDir(rdev uint64) string {
	return fmt.Sprintf("/sys/dev/block/%d:%d", unix.Major(rdev), unix.Minor(rdev))
}

// readQueueAttrs reads the queue attributes of the disk at dir. Files that do
// not exist read as zero (max_active_zones appeared in Linux 5.9).
func readQueueAttrs(dir string) (queueAttrs, error) {
	var q queueAttrs
	model, err := readSysfs(dir, "queue/zoned")
	if err != nil {
		return q, err
	}
	switch model {
	case "host-managed":
		q.model = ModelHostManaged
	case "host-aware":
		q.model = ModelHostAware
	default:
		q.model = ModelNone
	}
	ints := []struct {
		name string
		dst  *int64
	}{{"queue/chunk_sectors", &q.chunkSectors}}
	for _, f := range ints {
		if *f.dst, err = readSysfsInt(dir, f.name); err != nil {
			return q, err
		}
	}
	smalls := []struct {
		name string
		dst  *int
	}{
		{"queue/nr_zones", &q.nrZones},
		{"queue/max_open_zones", &q.maxOpenZones},
		{"queue/max_active_zones", &q.maxActiveZones},
		{"queue/logical_block_size", &q.logicalBlockSize},
		{"queue/physical_block_size", &q.physicalBlockSize},
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

// holders lists what holds the device (device-mapper, md), from
// /sys/.../holders, for the message when an exclusive open fails.
func holders(dir string) []string {
	entries, _ := os.ReadDir(filepath.Join(dir, "holders"))
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
