//go:build qemu || discoverguest

package discover_test

// The guest's drives. The guest tests find them by serial, not by kernel
// name: which of the SATA and SCSI disks becomes sda depends on probe order.
const (
	// nullBlkParams is zoned's null_blk: 256 zones of 4 MiB, the first four
	// conventional, at most 8 open and 12 active.
	nullBlkParams = "nr_devices=1 zoned=1 zone_size=4 zone_nr_conv=4 memory_backed=1 gb=1 " +
		"zone_max_open=8 zone_max_active=12 bs=4096"

	guestZNSSerial  = "shinglezns"
	guestSATASerial = "SHGSATA0001"
	guestSATAModel  = "SHINGLE TEST SATA DISK WITH A LONG MODEL"
	guestSATAWWN    = "0x5000c500a1b2c3d4"
	guestSCSISerial = "SHGSCSI0001"
	guestSCSIWWN    = "0x5000c500d1e2f3a4"

	znsSize  = 256 << 20 // 64 zones of 4 MiB, 3 MiB writable each
	diskSize = 16 << 20

	guestTest = "/discover.test"
)
