package discover_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/shingle-storage/shingle/agent/discover"
	"github.com/shingle-storage/shingle/zoned"
)

func TestDrives(t *testing.T) {
	fs := hostSys(t)
	s := discover.Scanner{SysRoot: fs.root, DevDir: "/dev"}
	drives, err := s.Drives()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	byName := map[string]discover.Drive{}
	for _, d := range drives {
		names = append(names, d.Name)
		byName[d.Name] = d
	}
	if want := []string{"nullb0", "nvme0n1", "nvme1n1", "sda", "sdb", "sdd", "vda"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("drives %v, want %v (loop, dm and hidden NVMe path disks left out)", names, want)
	}

	tests := []struct {
		name string
		want discover.Drive
	}{
		{"sdb", discover.Drive{ // SATA host-managed SMR: full model and firmware from IDENTIFY
			ID: "wwn-0x5000cca2a1b2c3d4", Name: "sdb", Path: "/dev/sdb", Major: 8, Minor: 16,
			Transport: discover.TransportATA, Vendor: "ATA", Model: "HGST HSH721414ALE6M0", Serial: "9JG1ABCD",
			WWN: "0x5000cca2a1b2c3d4", WWID: "naa.5000cca2a1b2c3d4", Firmware: "LDGNW07G", Slot: "pci-0000:00:17.0-ata-2",
			Zoned: zoned.ModelHostManaged, ZoneSize: 256 << 20, ZoneCount: 52156, MaxOpenZones: 128,
			LogicalBlockSize: 4096, PhysicalBlockSize: 4096, Size: 52156 * 256 << 20, Rotational: true,
		}},
		{"nvme0n1", discover.Drive{ // NVMe ZNS behind native multipath: identity from the subsystem
			ID: "wwn-eui.e8238fa6bf530001001b448b4a0b1c2d", Name: "nvme0n1", Path: "/dev/nvme0n1", Major: 259, Minor: 0,
			Transport: discover.TransportNVMe, Model: "WUS4BB096D7P3E3", Serial: "A0A1B2C3",
			WWN: "eui.e8238fa6bf530001001b448b4a0b1c2d", WWID: "eui.e8238fa6bf530001001b448b4a0b1c2d", NSID: 1, Firmware: "R2110021", Slot: "pci-0000:3c:00.0-nvme-1",
			Zoned: zoned.ModelHostManaged, ZoneSize: 2 << 30, ZoneCount: 3688, MaxOpenZones: 14, MaxActiveZones: 14,
			LogicalBlockSize: 4096, PhysicalBlockSize: 4096, Size: 3688 << 31,
		}},
		{"sda", discover.Drive{ // conventional SATA with partitions; the WWN only in IDENTIFY
			ID: "wwn-0x5000c500b1c2d3e4", Name: "sda", Path: "/dev/sda", Major: 8, Minor: 0,
			Transport: discover.TransportATA, Vendor: "ATA", Model: "ST4000NM000A-2HZ100", Serial: "WJG0ABCD",
			WWN: "0x5000c500b1c2d3e4", WWID: "t10.ATA     ST4000NM000A-2HZ100                       WJG0ABCD", Firmware: "SN03", Slot: "pci-0000:00:17.0-ata-1",
			LogicalBlockSize: 512, PhysicalBlockSize: 512, Size: 7814037168 * 512, Rotational: true,
			Partitions: []string{"sda1", "sda2"},
		}},
		{"sdd", discover.Drive{ // SAS without wwid on an old kernel: identity from model and serial
			ID: "serial-ST4000NM0023_Z1Z2Z3Z4", Name: "sdd", Path: "/dev/sdd", Major: 8, Minor: 48,
			Transport: discover.TransportSCSI, Vendor: "SEAGATE", Model: "ST4000NM0023", Serial: "Z1Z2Z3Z4", Firmware: "0004", Slot: "enclosure-0x500605b0000a1b2c-SLOT_12",
			LogicalBlockSize: 512, PhysicalBlockSize: 512, Size: 7814037168 * 512, Rotational: true,
			Holders: []string{"dm-0"},
		}},
		{"nvme1n1", discover.Drive{ // NVMe whose wwid is not a WWN: model, serial and namespace
			ID: "serial-Samsung_SSD_980_PRO_1TB_S5GXNF0R123456_1", Name: "nvme1n1", Path: "/dev/nvme1n1", Major: 259, Minor: 1,
			Transport: discover.TransportNVMe, Model: "Samsung SSD 980 PRO 1TB", Serial: "S5GXNF0R123456",
			WWID: "nvme.144d-53354758-53616d73756e67-00000001", NSID: 1, Firmware: "5B2QGXA7", Slot: "pci-0000:3d:00.0-nvme-1",
			LogicalBlockSize: 512, PhysicalBlockSize: 512, Size: 1953525168 * 512,
		}},
		{"nullb0", discover.Drive{ // null_blk: zoned, but nothing to identify it by
			Name: "nullb0", Path: "/dev/nullb0", Major: 251, Minor: 0, Transport: discover.TransportOther,
			Zoned: zoned.ModelHostManaged, ZoneSize: 4 << 20, ZoneCount: 256, MaxOpenZones: 8, MaxActiveZones: 12,
			LogicalBlockSize: 4096, PhysicalBlockSize: 4096, Size: 1 << 30,
		}},
		{"vda", discover.Drive{
			ID: "serial-shingle-vd1", Name: "vda", Path: "/dev/vda", Major: 254, Minor: 0, Transport: discover.TransportVirtio,
			Serial: "shingle-vd1", Slot: "pci-0000:00:04.0-virtio", LogicalBlockSize: 512, PhysicalBlockSize: 512, Size: 10 << 30, Rotational: true,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := byName[tc.name]; !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

// TestDriveIdentityFollowsTheDrive moves the SMR drive to another port and
// name: its ID stays, only the name, path and device number change.
func TestDriveIdentityFollowsTheDrive(t *testing.T) {
	fs := hostSys(t)
	s := discover.Scanner{SysRoot: fs.root}
	before, err := s.Drive("sdb")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(fs.root, "block", "sdb")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(fs.root, ataPort4), filepath.Join(fs.root, "devices/pci0000:00/0000:00:17.0/ata7")); err != nil {
		t.Fatal(err)
	}
	moved := "devices/pci0000:00/0000:00:17.0/ata7/host3/target3:0:0/3:0:0:0/block/sdb"
	if err := os.Rename(filepath.Join(fs.root, moved), filepath.Join(fs.root, filepath.Dir(moved), "sdf")); err != nil {
		t.Fatal(err)
	}
	fs.file(filepath.Join(filepath.Dir(moved), "sdf", "dev"), "8:80\n")
	fs.link("block/sdf", "../"+filepath.Join(filepath.Dir(moved), "sdf"))

	after, err := s.Drive("sdf")
	if err != nil {
		t.Fatal(err)
	}
	if after.ID != before.ID || after.Path != "/dev/sdf" || after.Minor != 80 || after.Firmware != "LDGNW07G" {
		t.Fatalf("after the move: %+v; want ID %s at /dev/sdf", after, before.ID)
	}
	if _, err := s.Drive("sdb"); err == nil || !strings.Contains(err.Error(), "no such disk") {
		t.Fatalf("old name: %v", err)
	}
}

func TestDrivesReportsUnreadableDisks(t *testing.T) {
	fs := hostSys(t)
	// A disk without queue/zoned (a kernel before 4.10) and one whose size
	// is garbage.
	fs.addDisk(disk{name: "sdx", devpath: "devices/virtual/block/sdx", dev: "8:96", sectors: 1000,
		queue: queue("none", 0, 0, 0, 0, 512, true), omit: []string{"zoned"}})
	fs.addDisk(disk{name: "sdy", devpath: "devices/virtual/block/sdy", dev: "8:112", sectors: 1000,
		queue: queue("none", 0, 0, 0, 0, 512, true)})
	fs.file("devices/virtual/block/sdy/size", "lots\n")
	drives, err := discover.Scanner{SysRoot: fs.root}.Drives()
	if err == nil || !strings.Contains(err.Error(), "sdx: reading its queue limits") ||
		!strings.Contains(err.Error(), "sdy: reading its size") || !strings.Contains(err.Error(), `"lots"`) {
		t.Fatalf("error %v, want one naming sdx and sdy", err)
	}
	if len(drives) != 7 {
		t.Fatalf("%d drives returned alongside the error, want the 7 readable ones", len(drives))
	}

	_, err = discover.Scanner{SysRoot: filepath.Join(t.TempDir(), "nothing")}.Drives()
	if err == nil || !strings.Contains(err.Error(), "is sysfs mounted") {
		t.Fatalf("no sysfs: %v", err)
	}
	_, err = discover.Scanner{SysRoot: fs.root}.Drive("../block/sda")
	if err == nil {
		t.Fatal("a name with a slash was accepted")
	}
}

func TestNormalizeWWN(t *testing.T) {
	for in, want := range map[string]string{
		"naa.5000C500A1B2C3D4":                         "0x5000c500a1b2c3d4",
		"wwn-0x5000c500a1b2c3d4":                       "0x5000c500a1b2c3d4",
		"0x5000C500A1B2C3D4":                           "0x5000c500a1b2c3d4",
		"5000c500a1b2c3d4":                             "0x5000c500a1b2c3d4",
		"naa.600a098038303053453f463045727a37":         "0x600a098038303053453f463045727a37",
		"eui.0025388B91B1C6A0":                         "eui.0025388b91b1c6a0",
		"nvme-eui.0025388b91b1c6a0":                    "eui.0025388b91b1c6a0",
		"uuid.6c8e6e7a-1b2c-4d5e-8f90-a1b2c3d4e5f6":    "uuid.6c8e6e7a-1b2c-4d5e-8f90-a1b2c3d4e5f6",
		"t10.ATA     QEMU HARDDISK   QM00001":          "",
		"nvme.1b36-6465616462656566-51454d55-00000001": "",
		"0x0000000000000000":                           "",
		"0x5000c500":                                   "",
		"sdb":                                          "",
		"":                                             "",
	} {
		if got := discover.NormalizeWWN(in); got != want {
			t.Errorf("NormalizeWWN(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSlotsOfHarderLayouts checks the slots of the layouts where a naive
// path would repeat or change between boots: SAS drives cabled straight
// to an HBA and behind an expander (by phy, not by the target number the
// kernel hands out in discovery order), NVMe behind Intel VMD (five-digit
// PCI domains) and a second namespace, SATA drives behind a port
// multiplier, and a controller with two SCSI hosts. No two drives share a
// slot.
func TestSlotsOfHarderLayouts(t *testing.T) {
	fs := newFakeSys(t)
	scsi := func(dev, vendor, serial string) {
		fs.files(dev, map[string]string{"vendor": vendor, "model": "M", "rev": "1", "scsi_level": "7"})
		fs.file(dev+"/vpd_pg80", vpdPage80(serial))
	}
	addDisk := func(name, devpath, device, dev string) {
		fs.addDisk(disk{name: name, devpath: devpath, device: device, dev: dev, sectors: 1 << 20, queue: queue("none", 0, 0, 0, 0, 512, true)})
	}
	const hba = "devices/pci0000:00/0000:00:01.0/0000:01:00.0"
	// SAS, direct: phy 3 of the HBA; the kernel gave it target 9.
	direct := hba + "/host7/port-7:3/end_device-7:3"
	fs.file(direct+"/sas_device/end_device-7:3/phy_identifier", "3\n")
	scsi(direct+"/target7:0:9/7:0:9:0", "SEAGATE ", "SAS1")
	addDisk("sda", direct+"/target7:0:9/7:0:9:0/block/sda", "../../../7:0:9:0", "8:0")
	// SAS behind an expander: phy 12 of expander 0x500605b000000001.
	exp := hba + "/host7/port-7:0/expander-7:0"
	fs.file(exp+"/sas_device/expander-7:0/sas_address", "0x500605b000000001\n")
	behind := exp + "/port-7:0:12/end_device-7:0:12"
	fs.file(behind+"/sas_device/end_device-7:0:12/phy_identifier", "12\n")
	scsi(behind+"/target7:0:4/7:0:4:0", "SEAGATE ", "SAS2")
	addDisk("sdb", behind+"/target7:0:4/7:0:4:0/block/sdb", "../../../7:0:4:0", "8:16")
	// The same drive's second LUN (a dual-actuator drive).
	scsi(behind+"/target7:0:4/7:0:4:1", "SEAGATE ", "SAS2B")
	addDisk("sdc", behind+"/target7:0:4/7:0:4:1/block/sdc", "../../../7:0:4:1", "8:32")
	// SATA behind a port multiplier on port 2: its ports are channels.
	const ahci = "devices/pci0000:00/0000:00:17.0/ata5"
	fs.file(ahci+"/ata_port/ata5/port_no", "2\n")
	scsi(ahci+"/host4/target4:0:0/4:0:0:0", "ATA     ", "PM0")
	addDisk("sdd", ahci+"/host4/target4:0:0/4:0:0:0/block/sdd", "../../../4:0:0:0", "8:48")
	scsi(ahci+"/host4/target4:1:0/4:1:0:0", "ATA     ", "PM1")
	addDisk("sde", ahci+"/host4/target4:1:0/4:1:0:0/block/sde", "../../../4:1:0:0", "8:64")
	// A RAID controller in HBA mode with two SCSI hosts, 9 and 10.
	const raid = "devices/pci0000:00/0000:00:02.0/0000:02:00.0"
	scsi(raid+"/host9/target9:0:1/9:0:1:0", "LSI     ", "R1")
	addDisk("sdf", raid+"/host9/target9:0:1/9:0:1:0/block/sdf", "../../../9:0:1:0", "8:80")
	scsi(raid+"/host10/target10:0:1/10:0:1:0", "LSI     ", "R2")
	addDisk("sdg", raid+"/host10/target10:0:1/10:0:1:0/block/sdg", "../../../10:0:1:0", "8:96")
	// NVMe behind VMD, two namespaces.
	const vmd = "devices/pci0000:00/0000:00:0e.0/pci10000:e0/10000:e0:06.0/10000:e1:00.0/nvme/nvme3"
	fs.files(vmd, map[string]string{"model": "N", "serial": "V1", "firmware_rev": "1"})
	for ns, dev := range map[string]string{"1": "259:4", "2": "259:5"} {
		name := "nvme3n" + ns
		fs.addDisk(disk{name: name, devpath: vmd + "/" + name, device: "../../nvme3", dev: dev, sectors: 1 << 20,
			queue: queue("none", 0, 0, 0, 0, 512, false), attrs: map[string]string{"nsid": ns, "hidden": "0"}})
	}

	drives, err := discover.Scanner{SysRoot: fs.root, DevDir: "/dev"}.Drives()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range drives {
		got[d.Name] = d.Slot
	}
	want := map[string]string{
		"sda":     "pci-0000:01:00.0-sas-phy3-lun-0",
		"sdb":     "pci-0000:01:00.0-sas-exp0x500605b000000001-phy12-lun-0",
		"sdc":     "pci-0000:01:00.0-sas-exp0x500605b000000001-phy12-lun-1",
		"sdd":     "pci-0000:00:17.0-ata-2",
		"sde":     "pci-0000:00:17.0-ata-2.1.0",
		"sdf":     "pci-0000:02:00.0-scsi-0:0:1:0",
		"sdg":     "pci-0000:02:00.0-scsi-1:0:1:0",
		"nvme3n1": "pci-10000:e1:00.0-nvme-1",
		"nvme3n2": "pci-10000:e1:00.0-nvme-2",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("slots:\n got  %v\n want %v", got, want)
	}
}
