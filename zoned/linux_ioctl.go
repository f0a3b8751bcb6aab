//go:build linux

package zoned

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The kernel's zoned block device ioctls, from include/uapi/linux/blkzoned.h.
// golang.org/x/sys/unix does not define them.
//
//	#define BLKREPORTZONE   _IOWR(0x12, 130, struct blk_zone_report)
//	#define BLKRESETZONE    _IOW(0x12, 131, struct blk_zone_range)
//	#define BLKGETZONESZ    _IOR(0x12, 132, __u32)
//	#define BLKGETNRZONES   _IOR(0x12, 133, __u32)
//	#define BLKOPENZONE     _IOW(0x12, 134, struct blk_zone_range)
//	#define BLKCLOSEZONE    _IOW(0x12, 135, struct blk_zone_range)
//	#define BLKFINISHZONE   _IOW(0x12, 136, struct blk_zone_range)
const (
	iocWrite = 1
	iocRead  = 2

	blkReportZone = (iocRead|iocWrite)<<30 | unsafe.Sizeof(blkZoneReport{})<<16 | 0x12<<8 | 130
	blkResetZone  = iocWrite<<30 | unsafe.Sizeof(blkZoneRange{})<<16 | 0x12<<8 | 131
	blkGetZoneSz  = iocRead<<30 | 4<<16 | 0x12<<8 | 132
	blkGetNrZones = iocRead<<30 | 4<<16 | 0x12<<8 | 133
	blkOpenZone   = iocWrite<<30 | unsafe.Sizeof(blkZoneRange{})<<16 | 0x12<<8 | 134
	blkCloseZone  = iocWrite<<30 | unsafe.Sizeof(blkZoneRange{})<<16 | 0x12<<8 | 135
	blkFinishZone = iocWrite<<30 | unsafe.Sizeof(blkZoneRange{})<<16 | 0x12<<8 | 136

	// blkZoneRepCapacity is set in blk_zone_report.flags when the kernel
	// filled in each zone's capacity (Linux 5.9 and later).
	blkZoneRepCapacity = 1 << 0
)

// blkZone is struct blk_zone. Positions are in 512-byte sectors whatever the
// logical block size.
type blkZone struct {
	Start    uint64
	Len      uint64
	WP       uint64
	Type     uint8
	Cond     uint8
	NonSeq   uint8
	Reset    uint8
	Resv     [4]uint8
	Capacity uint64
	Reserved [24]uint8
}

// blkZoneReport is struct blk_zone_report; the zones follow it in memory.
type blkZoneReport struct {
	Sector  uint64
	NrZones uint32
	Flags   uint32
}

// blkZoneRange is struct blk_zone_range.
type blkZoneRange struct {
	Sector    uint64
	NrSectors uint64
}

// Compile-time checks that the Go layouts match the kernel's.
var (
	_ [64 - unsafe.Sizeof(blkZone{})]struct{}
	_ [unsafe.Sizeof(blkZone{}) - 64]struct{}
	_ [16 - unsafe.Sizeof(blkZoneReport{})]struct{}
	_ [16 - unsafe.Sizeof(blkZoneRange{})]struct{}
)

const sectorSize = 512

func ioctlPtr(fd int, req uintptr, arg unsafe.Pointer) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
	if errno != 0 {
		return errno
	}
	return nil
}
