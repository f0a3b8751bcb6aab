package discover_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shingle-storage/shingle/agent/discover"
)

// diskstats is /proc/diskstats as Linux 6.1 prints it (20 fields), with a
// partition, a loop device, and nvme1n1 in the older 14-field form.
const diskstats = `   7       0 loop0 12 0 30 1 0 0 0 0 0 4 1 0 0 0 0 0 0
   8       0 sda 9021 112 612345 4410 3302 871 90211 8123 0 6120 12533 0 0 0 0 412 90
   8       1 sda1 8000 100 600000 4000 3000 800 90000 8000 0 6000 12000 0 0 0 0 0 0
   8      16 sdb 125000 17 256000000 1830000 98000 2 802816000 2410000 3 1650000 4240000 11 0 88 7 1204 5100
 259       0 nvme0n1 4400 0 1126400 880 2200 0 4505600 990 0 1300 1870 0 0 0 0 0 0
 259       1 nvme1n1 1 2 3 4 5 6 7 8 9 10 11
`

func TestStats(t *testing.T) {
	fs := hostSys(t)
	proc := filepath.Join(t.TempDir(), "proc")
	if err := os.MkdirAll(proc, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(proc, "diskstats"), []byte(diskstats), 0o444); err != nil {
		t.Fatal(err)
	}
	s := discover.Scanner{SysRoot: fs.root, ProcRoot: proc}
	var drives []discover.Drive
	for _, name := range []string{"sdb", "sda", "nvme0n1", "nvme1n1", "vda"} {
		d, err := s.Drive(name)
		if err != nil {
			t.Fatal(err)
		}
		drives = append(drives, d)
	}
	// A drive whose device number now belongs to another disk.
	renamed := drives[0]
	renamed.Name = "sdq"
	drives = append(drives, renamed)

	stats, err := s.Stats(drives)
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != len(drives) {
		t.Fatalf("%d stats for %d drives", len(stats), len(drives))
	}
	ms := time.Millisecond
	want := discover.IOStats{
		Present: true, ReadIOs: 125000, ReadMerges: 17, ReadSectors: 256000000, ReadTime: 1830000 * ms,
		WriteIOs: 98000, WriteMerges: 2, WriteSectors: 802816000, WriteTime: 2410000 * ms,
		InFlight: 3, BusyTime: 1650000 * ms, WeightedTime: 4240000 * ms,
		DiscardIOs: 11, DiscardSectors: 88, DiscardTime: 7 * ms, FlushIOs: 1204, FlushTime: 5100 * ms,
	}
	if stats[0] != want {
		t.Errorf("sdb: got %+v\nwant %+v", stats[0], want)
	}
	if stats[1].ReadIOs != 9021 || stats[1].WriteSectors != 90211 {
		t.Errorf("sda (the disk, not its partition): %+v", stats[1])
	}
	if !stats[2].Present || stats[2].WriteSectors != 4505600 {
		t.Errorf("nvme0n1: %+v", stats[2])
	}
	if !stats[3].Present || stats[3].BusyTime != 10*ms || stats[3].DiscardIOs != 0 {
		t.Errorf("nvme1n1 (14 fields, no discard counters): %+v", stats[3])
	}
	if stats[4].Present {
		t.Errorf("vda is not in diskstats but reads as present: %+v", stats[4])
	}
	if stats[5].Present {
		t.Errorf("a drive renamed since the scan took sdb's counters: %+v", stats[5])
	}

	_, err = discover.Scanner{SysRoot: fs.root, ProcRoot: filepath.Join(t.TempDir(), "none")}.Stats(drives)
	if err == nil || !strings.Contains(err.Error(), "procfs") {
		t.Fatalf("no procfs: %v", err)
	}
}
