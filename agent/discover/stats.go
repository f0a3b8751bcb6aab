package discover

import (
	"fmt"
	"time"

	"github.com/prometheus/procfs/blockdevice"
)

// IOStats are a drive's cumulative I/O counters from /proc/diskstats, as the
// kernel's Documentation/admin-guide/iostats.rst describes them. Take two
// readings and subtract to get rates and latencies. Kernels before 4.18 have
// no discard counters and before 5.5 no flush counters; those read as zero.
type IOStats struct {
	// Present is false when the drive was not in /proc/diskstats (detached,
	// or its device number now belongs to another disk); the counters are
	// then zero.
	Present bool

	// ReadIOs, WriteIOs, DiscardIOs and FlushIOs count completed requests;
	// the Merges count requests merged into adjacent ones; the Sectors count
	// 512-byte sectors transferred; the Times are the total time requests
	// of each kind spent, summed over requests.
	ReadIOs, ReadMerges, ReadSectors          uint64
	ReadTime                                  time.Duration
	WriteIOs, WriteMerges, WriteSectors       uint64
	WriteTime                                 time.Duration
	DiscardIOs, DiscardMerges, DiscardSectors uint64
	DiscardTime                               time.Duration
	FlushIOs                                  uint64
	FlushTime                                 time.Duration
	// InFlight is the number of I/Os in progress now.
	InFlight uint64
	// BusyTime is the time the drive had at least one I/O in progress.
	BusyTime time.Duration
	// WeightedTime is the time spent doing I/O weighted by the number of
	// I/Os in progress: its growth over BusyTime's is the average queue
	// depth.
	WeightedTime time.Duration
}

// Stats reads /proc/diskstats under ProcRoot through prometheus/procfs and
// returns the counters of each of drives, in the same order. A drive is
// matched by its device number and name, so a number that now belongs to
// another disk does not pass that disk's counters off as the drive's.
func (s Scanner) Stats(drives []Drive) ([]IOStats, error) {
	fsys, err := blockdevice.NewFS(s.procRoot(), s.sysRoot())
	if err != nil {
		return nil, fmt.Errorf("discover: reading I/O statistics: %w; is procfs mounted at %s?", err, s.procRoot())
	}
	all, err := fsys.ProcDiskstats()
	if err != nil {
		return nil, fmt.Errorf("discover: reading %s/diskstats: %w", s.procRoot(), err)
	}
	type devNum struct{ major, minor uint32 }
	byNum := make(map[devNum]blockdevice.Diskstats, len(all))
	for _, ds := range all {
		byNum[devNum{ds.MajorNumber, ds.MinorNumber}] = ds
	}
	out := make([]IOStats, len(drives))
	for i, d := range drives {
		ds, ok := byNum[devNum{d.Major, d.Minor}]
		if !ok || ds.DeviceName != d.Name {
			continue
		}
		out[i] = ioStats(ds.IOStats)
	}
	return out, nil
}

func ioStats(s blockdevice.IOStats) IOStats {
	ms := func(v uint64) time.Duration { return time.Duration(v) * time.Millisecond }
	return IOStats{
		Present:        true,
		ReadIOs:        s.ReadIOs,
		ReadMerges:     s.ReadMerges,
		ReadSectors:    s.ReadSectors,
		ReadTime:       ms(s.ReadTicks),
		WriteIOs:       s.WriteIOs,
		WriteMerges:    s.WriteMerges,
		WriteSectors:   s.WriteSectors,
		WriteTime:      ms(s.WriteTicks),
		DiscardIOs:     s.DiscardIOs,
		DiscardMerges:  s.DiscardMerges,
		DiscardSectors: s.DiscardSectors,
		DiscardTime:    ms(s.DiscardTicks),
		FlushIOs:       s.FlushRequestsCompleted,
		FlushTime:      ms(s.TimeSpentFlushing),
		InFlight:       s.IOsInProgress,
		BusyTime:       ms(s.IOsTotalTicks),
		WeightedTime:   ms(s.WeightedIOTicks),
	}
}
