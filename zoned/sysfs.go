//go:build linux

package zoned

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// sysfsDir returns /sys/dev/block/<major>:<minor>, the sysfs directory of the
// block device with device number rdev.
func sysfsDir(rdev uint64) string {
	return fmt.Sprintf("/sys/dev/block/%d:%d", unix.Major(rdev), unix.Minor(rdev))
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
