package zoned

// Device is a zoned block device. Implementations are safe for concurrent
// use, but like the kernel they do not order writes for the caller: two
// goroutines writing one sequential zone at the same time will see one of
// them rejected. [Appender] is the way to share a zone between writers.
//
// Offsets and lengths are in bytes and must be multiples of
// Info().LogicalBlockSize; buffers passed to ReadAt and WriteAt must start at
// an address aligned to the logical block size (allocate them with
// [AlignedBuffer]) because the Linux backend uses O_DIRECT. The emulator
// enforces the same rules so that code that works on it works on a drive.
type Device interface {
	// Info returns the device's geometry and limits.
	Info() Info

	// ReportZones fills zones with the state of consecutive zones starting at
	// zone first and returns how many it filled: fewer than len(zones) only
	// at the end of the device. Page through a large device by calling it
	// again with first advanced by the count returned.
	ReportZones(first int, zones []Zone) (int, error)

	// ResetZones resets count zones starting at first: they become empty
	// with the write pointer at their start, and their data is gone.
	ResetZones(first, count int) error
	// OpenZones explicitly opens count zones starting at first.
	OpenZones(first, count int) error
	// CloseZones closes count open zones starting at first, releasing their
	// open-zone resource; a closed zone keeps its write pointer.
	CloseZones(first, count int) error
	// FinishZones moves count zones starting at first to full, so they need
	// no more resources and can never be written until reset.
	FinishZones(first, count int) error

	// WriteAt writes p at byte offset off. In a sequential zone off must be
	// the zone's write pointer and the write must fit in the zone's capacity.
	// The data is not durable until Sync returns.
	WriteAt(p []byte, off int64) (int, error)
	// ReadAt reads len(p) bytes at off. Bytes of a sequential zone at or past
	// its write pointer hold no data: null_blk and the emulator return 0xFF
	// for them, QEMU's NVMe ZNS zeros, a real drive whatever it likes. Never
	// read them as data.
	ReadAt(p []byte, off int64) (int, error)
	// Sync makes every write that completed before it durable (a cache
	// flush).
	Sync() error
	// Close releases the device. It promises no durability: call Sync
	// first for that.
	Close() error
}

// ReportAll returns the state of every zone of dev, paging through the
// report a thousand zones at a time.
func ReportAll(dev Device) ([]Zone, error) {
	n := dev.Info().ZoneCount
	zones := make([]Zone, n)
	for got := 0; got < n; {
		page := zones[got:min(n, got+1024)]
		k, err := dev.ReportZones(got, page)
		if err != nil {
			return nil, err
		}
		if k == 0 {
			return zones[:got], nil
		}
		got += k
	}
	return zones, nil
}

// ReportZone returns the state of zone z.
func ReportZone(dev Device, z int) (Zone, error) {
	var one [1]Zone
	n, err := dev.ReportZones(z, one[:])
	if err != nil {
		return Zone{}, err
	}
	if n != 1 {
		info := dev.Info()
		return Zone{}, zoneRangeError("report", info, z, 1)
	}
	return one[0], nil
}
