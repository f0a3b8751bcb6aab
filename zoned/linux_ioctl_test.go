//go:build linux

package zoned

import "testing"

// TestIoctlNumbers pins the zone ioctl request numbers to the values the
// kernel headers produce (linux/blkzoned.h on x86-64), so a change to the
// struct layouts or the encoding cannot slip through.
func TestIoctlNumbers(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"BLKREPORTZONE", blkReportZone, 0xC0101282},
		{"BLKRESETZONE", blkResetZone, 0x40101283},
		{"BLKGETZONESZ", blkGetZoneSz, 0x80041284},
		{"BLKGETNRZONES", blkGetNrZones, 0x80041285},
		{"BLKOPENZONE", blkOpenZone, 0x40101286},
		{"BLKCLOSEZONE", blkCloseZone, 0x40101287},
		{"BLKFINISHZONE", blkFinishZone, 0x40101288},
	} {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
}
