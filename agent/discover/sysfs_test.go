package discover_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeSys builds a sysfs tree under a temporary directory shaped like the
// kernel's: disks live under /sys/devices/... with their parents (SCSI
// device, NVMe controller or subsystem, ATA port), and /sys/block holds
// relative symlinks to them.
type fakeSys struct {
	t    *testing.T
	root string // the directory that stands for /sys
}

func newFakeSys(t *testing.T) *fakeSys {
	t.Helper()
	root := filepath.Join(t.TempDir(), "sys")
	fs := &fakeSys{t: t, root: root}
	fs.mkdir("block")
	return fs
}

func (fs *fakeSys) mkdir(rel string) {
	fs.t.Helper()
	if err := os.MkdirAll(filepath.Join(fs.root, rel), 0o755); err != nil {
		fs.t.Fatal(err)
	}
}

// file writes rel, creating its directory.
func (fs *fakeSys) file(rel, content string) {
	fs.t.Helper()
	fs.mkdir(filepath.Dir(rel))
	if err := os.WriteFile(filepath.Join(fs.root, rel), []byte(content), 0o644); err != nil {
		fs.t.Fatal(err)
	}
}

// files writes dir/name for each entry, each value followed by a newline as
// sysfs prints it.
func (fs *fakeSys) files(dir string, attrs map[string]string) {
	fs.t.Helper()
	for name, v := range attrs {
		fs.file(filepath.Join(dir, name), v+"\n")
	}
}

// link makes rel a symlink to target, which is relative to rel's directory
// as in the kernel's tree.
func (fs *fakeSys) link(rel, target string) {
	fs.t.Helper()
	fs.mkdir(filepath.Dir(rel))
	if err := os.Symlink(target, filepath.Join(fs.root, rel)); err != nil {
		fs.t.Fatal(err)
	}
}

// disk describes one disk for addDisk.
type disk struct {
	name    string
	devpath string // directory of the disk under /sys, "devices/.../block/sdb"
	device  string // relative target of the disk's device link, "" for none
	dev     string // major:minor
	sectors int64
	queue   map[string]string
	attrs   map[string]string // more attributes of the disk itself
	omit    []string          // queue files to leave out
}

// queue returns the queue files of a disk with the given zoned model and
// limits, as Linux 6.1 publishes them.
func queue(model string, chunk, zones, maxOpen, maxActive, lbs int, rotational bool) map[string]string {
	rot := "0"
	if rotational {
		rot = "1"
	}
	return map[string]string{
		"zoned": model, "chunk_sectors": fmt.Sprint(chunk), "nr_zones": fmt.Sprint(zones),
		"max_open_zones": fmt.Sprint(maxOpen), "max_active_zones": fmt.Sprint(maxActive),
		"logical_block_size": fmt.Sprint(lbs), "physical_block_size": fmt.Sprint(lbs),
		"rotational": rot, "max_sectors_kb": "1280",
	}
}

func (fs *fakeSys) addDisk(d disk) {
	fs.t.Helper()
	fs.files(d.devpath, map[string]string{
		"dev": d.dev, "size": fmt.Sprint(d.sectors), "ro": "0", "removable": "0",
		"stat": "0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0",
	})
	fs.files(d.devpath, d.attrs)
	q := map[string]string{}
	for k, v := range d.queue {
		q[k] = v
	}
	for _, o := range d.omit {
		delete(q, o)
	}
	fs.files(filepath.Join(d.devpath, "queue"), q)
	fs.mkdir(filepath.Join(d.devpath, "holders"))
	if d.device != "" {
		fs.link(filepath.Join(d.devpath, "device"), d.device)
	}
	fs.link(filepath.Join("block", d.name), "../"+d.devpath)
}

// addPartition adds partition part of the disk at devpath.
func (fs *fakeSys) addPartition(devpath, part string, n int, dev string) {
	fs.files(filepath.Join(devpath, part), map[string]string{
		"partition": fmt.Sprint(n), "dev": dev, "start": "2048", "size": "1024000",
	})
}

// vpdPage80 returns a SCSI unit serial number VPD page as sysfs gives it.
func vpdPage80(serial string) string {
	return string([]byte{0, 0x80, 0, byte(len(serial))}) + serial
}

// ataIdentify returns libata's id attribute for a drive with the given
// strings and WWN (0 for none): 256 hex words, eight to a line.
func ataIdentify(serial, firmware, model string, wwn uint64) string {
	var w [256]uint16
	put := func(first, words int, s string) {
		s += strings.Repeat(" ", 2*words-len(s))
		for i := range words {
			w[first+i] = uint16(s[2*i])<<8 | uint16(s[2*i+1])
		}
	}
	put(10, 10, serial)
	put(23, 4, firmware)
	put(27, 20, model)
	w[87] = 0x4000
	if wwn != 0 {
		w[87] |= 0x0100
		w[108], w[109], w[110], w[111] = uint16(wwn>>48), uint16(wwn>>32), uint16(wwn>>16), uint16(wwn)
	}
	var b strings.Builder
	for i, v := range w {
		sep := " "
		if (i+1)%8 == 0 {
			sep = "\n"
		}
		fmt.Fprintf(&b, "%04x%s", v, sep)
	}
	return b.String()
}

// Paths of the fake host's devices.
const (
	ataPort3     = "devices/pci0000:00/0000:00:17.0/ata3"
	ataPort4     = "devices/pci0000:00/0000:00:17.0/ata4"
	sasHost      = "devices/pci0000:00/0000:00:01.0/0000:01:00.0/host6/port-6:0/end_device-6:0/target6:0:0/6:0:0:0"
	sasEnclosure = "devices/pci0000:00/0000:00:01.0/0000:01:00.0/host6/port-6:1/expander-6:0/port-6:0:12/end_device-6:0:12/target6:0:12/6:0:12:0/enclosure/6:0:12:0"
	nvmeSubsys0  = "devices/virtual/nvme-subsystem/nvme-subsys0"
	nvmeCtrl0    = "devices/pci0000:00/0000:00:1d.0/0000:3c:00.0/nvme/nvme0"
	nvmeCtrl1    = "devices/pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme1"
)

// hostSys builds the fake host used by most tests:
//
//	sda       SATA conventional disk with two partitions, WWN only in IDENTIFY
//	sdb       SATA host-managed SMR drive (HGST HC620), WWN from the SCSI wwid
//	sdd       SAS conventional disk held by dm-0, no wwid, old kernel (no zone files)
//	nvme0n1   NVMe ZNS namespace behind native multipath (WD ZN540)
//	nvme0c0n1 its hidden per-path disk
//	nvme1n1   NVMe conventional namespace, no controller multipath, wwid without a WWN
//	nullb0    null_blk zoned device: no identity at all
//	vda       virtio-blk disk with a serial
//	loop0, dm-0  not drives
func hostSys(t *testing.T) *fakeSys {
	fs := newFakeSys(t)

	// The SATA ports' numbers on their controller (ata3 and ata4 are
	// libata's numbers across all controllers).
	fs.file(ataPort3+"/ata_port/ata3/port_no", "1\n")
	fs.file(ataPort4+"/ata_port/ata4/port_no", "2\n")

	// sda: SATA, partitioned, t10 wwid, WWN in IDENTIFY.
	fs.files(ataPort3+"/host2/target2:0:0/2:0:0:0", map[string]string{
		"vendor": "ATA     ", "model": "ST4000NM000A-2HZ", "rev": "SN03", "scsi_level": "6",
		"wwid": "t10.ATA     ST4000NM000A-2HZ100                       WJG0ABCD",
	})
	fs.file(ataPort3+"/host2/target2:0:0/2:0:0:0/vpd_pg80", vpdPage80("            WJG0ABCD"))
	fs.file(ataPort3+"/link3/dev3.0/ata_device/dev3.0/id",
		ataIdentify("            WJG0ABCD", "SN03    ", "ST4000NM000A-2HZ100", 0x5000c500b1c2d3e4))
	sda := ataPort3 + "/host2/target2:0:0/2:0:0:0/block/sda"
	fs.addDisk(disk{name: "sda", devpath: sda, device: "../../../2:0:0:0", dev: "8:0", sectors: 7814037168,
		queue: queue("none", 0, 0, 0, 0, 512, true)})
	fs.addPartition(sda, "sda1", 1, "8:1")
	fs.addPartition(sda, "sda2", 2, "8:2")

	// sdb: SATA host-managed SMR, 256 MiB zones.
	fs.files(ataPort4+"/host3/target3:0:0/3:0:0:0", map[string]string{
		"vendor": "ATA     ", "model": "HGST HSH721414AL", "rev": "W07G", "scsi_level": "6",
		"wwid": "naa.5000cca2a1b2c3d4",
	})
	fs.file(ataPort4+"/host3/target3:0:0/3:0:0:0/vpd_pg80", vpdPage80("        9JG1ABCD"))
	fs.file(ataPort4+"/link4/dev4.0/ata_device/dev4.0/id",
		ataIdentify("        9JG1ABCD", "LDGNW07G", "HGST HSH721414ALE6M0", 0x5000cca2a1b2c3d4))
	fs.addDisk(disk{name: "sdb", devpath: ataPort4 + "/host3/target3:0:0/3:0:0:0/block/sdb", device: "../../../3:0:0:0",
		dev: "8:16", sectors: 52156 * 524288, queue: queue("host-managed", 524288, 52156, 128, 0, 4096, true)})

	// sdd: SAS, no wwid, an old kernel without nr_zones and the zone limits.
	fs.files(sasHost, map[string]string{"vendor": "SEAGATE ", "model": "ST4000NM0023    ", "rev": "0004", "scsi_level": "7"})
	fs.file(sasHost+"/vpd_pg80", vpdPage80("Z1Z2Z3Z4"))
	fs.addDisk(disk{name: "sdd", devpath: sasHost + "/block/sdd", device: "../../../6:0:0:0", dev: "8:48", sectors: 7814037168,
		queue: queue("none", 0, 0, 0, 0, 512, true), omit: []string{"nr_zones", "max_open_zones", "max_active_zones"}})
	fs.mkdir(sasHost + "/block/sdd/holders/dm-0")
	// Its bay, as the SAS expander's enclosure (SES) names it.
	fs.file(sasEnclosure+"/id", "0x500605b0000a1b2c\n")
	fs.mkdir(sasEnclosure + "/SLOT 12")
	fs.link(sasHost+"/enclosure_device:SLOT 12", "../../../../../../../../../"+sasEnclosure+"/SLOT 12")

	// nvme0n1: ZNS behind native multipath; the disk hangs from the
	// subsystem, which has the identity.
	fs.files(nvmeSubsys0, map[string]string{
		"model": "WUS4BB096D7P3E3                         ", "serial": "A0A1B2C3            ",
		"firmware_rev": "R2110021", "subsysnqn": "nqn.2014-08.org.nvmexpress:1b96...",
	})
	fs.addDisk(disk{name: "nvme0n1", devpath: nvmeSubsys0 + "/nvme0n1", device: "../../nvme-subsys0", dev: "259:0",
		sectors: 3688 * 4194304, queue: queue("host-managed", 4194304, 3688, 14, 14, 4096, false),
		attrs: map[string]string{"wwid": "eui.e8238fa6bf530001001b448b4a0b1c2d", "nsid": "1", "hidden": "0"}})
	fs.files(nvmeCtrl0, map[string]string{"model": "WUS4BB096D7P3E3", "serial": "A0A1B2C3", "firmware_rev": "R2110021"})
	fs.link(nvmeSubsys0+"/nvme0", "../../../../"+nvmeCtrl0)
	fs.addDisk(disk{name: "nvme0c0n1", devpath: nvmeCtrl0 + "/nvme0c0n1", device: "../../nvme0", dev: "0:0",
		sectors: 3688 * 4194304, queue: queue("host-managed", 4194304, 3688, 14, 14, 4096, false),
		attrs: map[string]string{"wwid": "eui.e8238fa6bf530001001b448b4a0b1c2d", "nsid": "1", "hidden": "1"}})

	// nvme1n1: a conventional NVMe namespace without native multipath; its
	// wwid is the kernel's vendor-serial-model-nsid fallback.
	fs.files(nvmeCtrl1, map[string]string{"model": "Samsung SSD 980 PRO 1TB", "serial": "S5GXNF0R123456", "firmware_rev": "5B2QGXA7"})
	fs.addDisk(disk{name: "nvme1n1", devpath: nvmeCtrl1 + "/nvme1n1", device: "../../nvme1", dev: "259:1",
		sectors: 1953525168, queue: queue("none", 0, 0, 0, 0, 512, false),
		attrs: map[string]string{"wwid": "nvme.144d-53354758-53616d73756e67-00000001", "nsid": "1", "hidden": "0"}})

	// nullb0: null_blk, zoned, no device link.
	fs.addDisk(disk{name: "nullb0", devpath: "devices/virtual/block/nullb0", dev: "251:0", sectors: 256 * 8192,
		queue: queue("host-managed", 8192, 256, 8, 12, 4096, false)})

	// vda: virtio-blk with a serial on the disk.
	fs.files("devices/pci0000:00/0000:00:04.0/virtio2", map[string]string{"vendor": "0x1af4", "device": "0x0002"})
	fs.addDisk(disk{name: "vda", devpath: "devices/pci0000:00/0000:00:04.0/virtio2/block/vda", device: "../../../virtio2",
		dev: "254:0", sectors: 20971520, queue: queue("none", 0, 0, 0, 0, 512, true),
		attrs: map[string]string{"serial": "shingle-vd1"}})

	// Not drives.
	fs.addDisk(disk{name: "loop0", devpath: "devices/virtual/block/loop0", dev: "7:0", sectors: 0,
		queue: queue("none", 0, 0, 0, 0, 512, false)})
	fs.addDisk(disk{name: "dm-0", devpath: "devices/virtual/block/dm-0", dev: "253:0", sectors: 7814037168,
		queue: queue("none", 0, 0, 0, 0, 512, false)})
	return fs
}
