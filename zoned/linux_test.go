//go:build linux

package zoned_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shingle-storage/shingle/zoned"
)

// TestOpenLinuxRefusesNonDevices runs on the host, which may have no zoned
// device at all; the kernel-level suite under QEMU covers real ones.
func TestOpenLinuxRefusesNonDevices(t *testing.T) {
	_, err := zoned.OpenLinux("/dev/shingle-no-such-device")
	if !errors.Is(err, zoned.ErrNotZoned) || !errors.Is(err, os.ErrNotExist) ||
		!strings.Contains(err.Error(), "/dev/shingle-no-such-device") || !strings.Contains(err.Error(), "by-id") {
		t.Fatalf("missing path: %v", err)
	}
	file := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(file, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = zoned.OpenLinux(file)
	if !errors.Is(err, zoned.ErrNotZoned) || !strings.Contains(err.Error(), "OpenEmulator") {
		t.Fatalf("regular file: %v", err)
	}
	_, err = zoned.OpenLinux("/dev/null")
	if !errors.Is(err, zoned.ErrNotZoned) {
		t.Fatalf("character device: %v", err)
	}
}
