package discover

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/shingle-storage/shingle/zoned"
)

// Scanner reads drives from sysfs and their I/O statistics from procfs. The
// zero value reads the real /sys, /proc and /dev.
type Scanner struct {
	// SysRoot is where sysfs is mounted ("/sys").
	SysRoot string
	// ProcRoot is where procfs is mounted ("/proc").
	ProcRoot string
	// DevDir is the directory of device nodes ("/dev"); a drive's Path is
	// DevDir/<name>.
	DevDir string
}

func (s Scanner) sysRoot() string  { return orDefault(s.SysRoot, "/sys") }
func (s Scanner) procRoot() string { return orDefault(s.ProcRoot, "/proc") }
func (s Scanner) devDir() string   { return orDefault(s.DevDir, "/dev") }

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// skipped matches the kernel names of block devices that are not drives:
// loop, RAM and compressed-RAM disks, device-mapper and md arrays, optical
// and floppy drives, network block devices, ZFS volumes and bcache devices.
var skipped = regexp.MustCompile(`^(loop|ram|zram|dm-|md|sr|fd|nbd|drbd|rbd|zd|bcache)[0-9]`)

// Drives returns every drive under SysRoot/block, sorted by kernel name.
// Stacked and virtual devices (loop, dm, md, ...) and the hidden per-path
// disks of multipath NVMe are left out; null_blk devices are included. A
// drive whose sysfs entries cannot be read is left out and named in the
// error, which joins one error per such drive; the other drives are still
// returned.
func (s Scanner) Drives() ([]Drive, error) {
	dir := filepath.Join(s.sysRoot(), "block")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("discover: listing drives: %w; is sysfs mounted at %s?", err, s.sysRoot())
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	var drives []Drive
	var errs []error
	for _, name := range names {
		if skipped.MatchString(name) {
			continue
		}
		if v, _ := readInt(filepath.Join(dir, name), "hidden"); v == 1 {
			continue
		}
		d, err := s.Drive(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		drives = append(drives, d)
	}
	return drives, errors.Join(errs...)
}

// Drive reads the drive the kernel currently names name (sdb, nvme0n1) from
// SysRoot/block/<name>. Identity attributes that are missing (a drive
// without a WWN, a kernel that does not publish one) are left empty; the
// size and the queue/zoned file must be there.
func (s Scanner) Drive(name string) (Drive, error) {
	fail := func(format string, args ...any) (Drive, error) {
		return Drive{}, fmt.Errorf("discover: %s: %s", name, fmt.Sprintf(format, args...))
	}
	if name == "" || strings.ContainsAny(name, "/") || name == "." || name == ".." {
		return fail("not a kernel disk name")
	}
	dir := filepath.Join(s.sysRoot(), "block", name)
	if _, err := os.Stat(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fail("no such disk under %s/block; list the disks with ls %s/block", s.sysRoot(), s.sysRoot())
		}
		return fail("%v", err)
	}
	d := Drive{Name: name, Path: filepath.Join(s.devDir(), name)}

	devNum, err := readString(dir, "dev")
	if err != nil {
		return fail("reading its device number: %v", err)
	}
	if _, err := fmt.Sscanf(devNum, "%d:%d", &d.Major, &d.Minor); err != nil {
		return fail("%s/dev holds %q, not major:minor", dir, devNum)
	}
	sectors, err := readInt(dir, "size")
	if err != nil {
		return fail("reading its size: %v", err)
	}
	d.Size = sectors * 512 // sysfs counts 512-byte sectors whatever the block size
	ro, _ := readInt(dir, "ro")
	d.ReadOnly = ro == 1
	removable, _ := readInt(dir, "removable")
	d.Removable = removable == 1

	q, err := zoned.ReadQueueLimits(dir)
	if err != nil {
		return fail("reading its queue limits: %v; the kernel publishes queue/zoned since Linux 4.10", err)
	}
	d.Zoned = q.Model
	if q.Model != zoned.ModelNone {
		d.ZoneSize = q.ChunkSectors * 512
		d.ZoneCount = q.ZoneCount
		d.MaxOpenZones = q.MaxOpenZones
		d.MaxActiveZones = q.MaxActiveZones
	}
	d.LogicalBlockSize = q.LogicalBlockSize
	d.PhysicalBlockSize = q.PhysicalBlockSize
	rot, _ := readInt(dir, "queue/rotational")
	d.Rotational = rot == 1

	d.Partitions, err = partitions(dir)
	if err != nil {
		return fail("listing its partitions: %v", err)
	}
	d.Holders = listDir(filepath.Join(dir, "holders"))

	readIdentity(dir, &d)
	d.ID = driveID(d.WWN, d.Model, d.Serial, d.NSID)
	d.Slot = slotOf(dir, d)
	return d, nil
}

// readIdentity fills the transport, vendor, model, serial, WWN, NSID and
// firmware of the disk at dir. Where each lives depends on the transport:
//
//   - NVMe: the namespace's disk has wwid and nsid; its device link points
//     to the controller (nvme0) or, with native multipath, the subsystem
//     (nvme-subsys0), and both have model, serial and firmware_rev.
//   - SCSI and SATA: device links to the SCSI device, which has vendor,
//     model, rev (firmware), wwid, and vpd_pg80 (the unit serial number
//     page). For SATA, libata's ata_device/devX.Y/id has the full IDENTIFY
//     data, whose model and firmware are not cut short.
//   - virtio-blk: the disk has a serial attribute.
func readIdentity(dir string, d *Drive) {
	dev := filepath.Join(dir, "device")
	d.Model = firstString(dev, "model")
	d.Serial = firstString(dev, "serial")
	if d.Serial == "" {
		d.Serial = firstString(dir, "serial")
	}
	if d.Serial == "" {
		d.Serial = vpdSerial(filepath.Join(dev, "vpd_pg80"))
	}
	d.Firmware = firstString(dev, "firmware_rev", "rev", "fwrev")
	d.WWID = firstString(dir, "wwid")
	if d.WWID == "" {
		d.WWID = firstString(dev, "wwid")
	}
	d.WWN = NormalizeWWN(d.WWID)
	if n, err := readInt(dir, "nsid"); err == nil {
		d.NSID = int(n)
	}

	scsi := exists(filepath.Join(dev, "scsi_level"))
	if scsi {
		d.Vendor = firstString(dev, "vendor")
	}
	switch {
	case strings.HasPrefix(d.Name, "nvme"):
		d.Transport = TransportNVMe
	case scsi && d.Vendor == "ATA":
		d.Transport = TransportATA
		if id, ok := ataIdentify(dev, d.Serial); ok {
			d.Model = orDefault(id.model, d.Model)
			d.Serial = orDefault(id.serial, d.Serial)
			d.Firmware = orDefault(id.firmware, d.Firmware)
			if d.WWN == "" {
				d.WWN = id.wwn
			}
		}
	case scsi:
		d.Transport = TransportSCSI
	case strings.HasPrefix(d.Name, "vd"):
		d.Transport = TransportVirtio
	default:
		d.Transport = TransportOther
	}
}

// vpdSerial returns the unit serial number from a SCSI VPD page 0x80 as
// sysfs gives it: the raw page, a 4-byte header (the page length in bytes
// 2–3) and the serial in ASCII.
func vpdSerial(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) < 4 || b[1] != 0x80 {
		return ""
	}
	n := int(b[2])<<8 | int(b[3])
	return cleanString(b[4:min(len(b), 4+n)])
}

// ataID is what the IDENTIFY DEVICE data says about a SATA drive.
type ataID struct {
	model, serial, firmware, wwn string
}

// ataIdentify finds the IDENTIFY data of the SATA drive behind the SCSI
// device at dev: libata keeps it in ataN/link*/devN.*/ata_device/devN.*/id
// under the ATA port the SCSI host hangs from. When the port has several
// devices (a port multiplier), the one whose serial is serial is taken.
func ataIdentify(dev, serial string) (ataID, bool) {
	real, err := filepath.EvalSymlinks(dev)
	if err != nil {
		return ataID{}, false
	}
	port := real
	for !ataPort.MatchString(filepath.Base(port)) {
		parent := filepath.Dir(port)
		if parent == port {
			return ataID{}, false
		}
		port = parent
	}
	files, _ := filepath.Glob(filepath.Join(port, "link*", "dev*", "ata_device", "dev*", "id"))
	var found []ataID
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if id, ok := parseIdentify(string(b)); ok {
			found = append(found, id)
		}
	}
	if len(found) == 1 {
		return found[0], true
	}
	for _, id := range found {
		if serial != "" && id.serial == serial {
			return id, true
		}
	}
	return ataID{}, false
}

var ataPort = regexp.MustCompile(`^ata[0-9]+$`)

// parseIdentify decodes libata's id attribute: the 256 words of IDENTIFY
// DEVICE as four-digit hex, eight to a line.
func parseIdentify(s string) (ataID, bool) {
	fields := strings.Fields(s)
	if len(fields) != 256 {
		return ataID{}, false
	}
	var w [256]uint16
	for i, f := range fields {
		v, err := strconv.ParseUint(f, 16, 16)
		if err != nil {
			return ataID{}, false
		}
		w[i] = uint16(v)
	}
	// ATA strings hold two characters per word, the first in the high byte.
	str := func(first, words int) string {
		b := make([]byte, 0, 2*words)
		for _, v := range w[first : first+words] {
			b = append(b, byte(v>>8), byte(v))
		}
		return cleanString(b)
	}
	id := ataID{serial: str(10, 10), firmware: str(23, 4), model: str(27, 20)}
	// Word 87 bits 14:13 = 01 mark it valid; bit 8 says words 108–111 hold
	// the world wide name.
	if w[87]&0xC100 == 0x4100 {
		id.wwn = NormalizeWWN(fmt.Sprintf("%04x%04x%04x%04x", w[108], w[109], w[110], w[111]))
	}
	return id, true
}

// partitions lists the partitions of the disk at dir: its subdirectories
// that have a partition attribute.
func partitions(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var parts []string
	for _, e := range entries {
		if exists(filepath.Join(dir, e.Name(), "partition")) {
			parts = append(parts, e.Name())
		}
	}
	return parts, nil
}

func listDir(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func readString(dir, name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

func readInt(dir, name string) (int64, error) {
	s, err := readString(dir, name)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s/%s holds %q, not a number", dir, name, s)
	}
	return v, nil
}

// firstString returns the first of dir/names that exists and is not blank,
// cleaned of padding.
func firstString(dir string, names ...string) string {
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			continue
		}
		if s := cleanString(b); s != "" {
			return s
		}
	}
	return ""
}

// cleanString trims the spaces and NULs drives pad their strings with.
func cleanString(b []byte) string {
	return strings.TrimSpace(strings.Trim(string(b), "\x00 \n\t"))
}

// pciAddress matches a PCI device's directory name, 0000:3c:00.0, or
// 10000:e1:00.0 behind Intel VMD, whose domains have five digits.
var pciAddress = regexp.MustCompile(`^[0-9a-f]{4,}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$`)

// scsiAddress matches a SCSI device's directory name, host:channel:target:lun.
var scsiAddress = regexp.MustCompile(`^([0-9]+):([0-9]+):([0-9]+):([0-9]+)$`)

// scsiHost matches a SCSI host's directory name, host6.
var scsiHost = regexp.MustCompile(`^host([0-9]+)$`)

// slotOf returns the slot of the disk at dir (see Drive.Slot): the bay an
// enclosure names, or else the path from the PCI controller, built the
// way udev's path_id builds /dev/disk/by-path names, from numbers that
// belong to the hardware rather than to the order of this boot's
// discovery where sysfs has them.
func slotOf(dir string, d Drive) string {
	path, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return ""
	}
	parts := strings.Split(path, string(filepath.Separator))
	lun := ""
	for i := len(parts) - 1; i >= 0; i-- {
		if m := scsiAddress.FindStringSubmatch(parts[i]); m != nil {
			if m[4] != "0" {
				lun = "-lun-" + m[4]
			}
			break
		}
	}
	if slot := enclosureSlot(filepath.Join(dir, "device")); slot != "" {
		return slot + lun
	}
	if d.Transport == TransportNVMe && strings.Contains(path, "/nvme-subsystem/") {
		// Native multipath: the disk hangs from the subsystem, and the
		// controllers are links in it. The lowest PCI address places the
		// drive, whichever controller this boot probed first.
		var paths []string
		ctrls, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "nvme[0-9]*"))
		for _, c := range ctrls {
			if p, err := filepath.EvalSymlinks(c); err == nil && pciOf(strings.Split(p, string(filepath.Separator))) >= 0 {
				paths = append(paths, p)
			}
		}
		slices.SortFunc(paths, func(a, b string) int {
			pa, pb := strings.Split(a, string(filepath.Separator)), strings.Split(b, string(filepath.Separator))
			return strings.Compare(pa[pciOf(pa)], pb[pciOf(pb)])
		})
		if len(paths) == 0 {
			return ""
		}
		parts = strings.Split(paths[0], string(filepath.Separator))
	}
	pci := pciOf(parts)
	if pci < 0 {
		return ""
	}
	root := string(filepath.Separator) + filepath.Join(parts[:pci+1]...)
	slot := "pci-" + parts[pci]
	switch d.Transport {
	case TransportNVMe:
		return fmt.Sprintf("%s-nvme-%d", slot, max(d.NSID, 1))
	case TransportVirtio:
		return slot + "-virtio"
	}
	var scsi []string // host, channel, target, lun of the disk's SCSI device
	for i := len(parts) - 1; i > pci; i-- {
		if m := scsiAddress.FindStringSubmatch(parts[i]); m != nil {
			scsi = m[1:]
			break
		}
	}
	// SATA: the port's number on its controller (libata's ataN is counted
	// across controllers in the order they were found), then, behind a
	// port multiplier, the multiplier's port.
	for i, p := range parts[pci+1:] {
		if !ataPort.MatchString(p) {
			continue
		}
		portDir := string(filepath.Separator) + filepath.Join(parts[:pci+2+i]...)
		port := firstString(filepath.Join(portDir, "ata_port", p), "port_no")
		if port == "" {
			port = strings.TrimPrefix(p, "ata")
		}
		if scsi != nil && (scsi[1] != "0" || scsi[2] != "0") {
			return fmt.Sprintf("%s-ata-%s.%s.%s", slot, port, scsi[1], scsi[2])
		}
		return slot + "-ata-" + port
	}
	// SAS: the phy of the HBA, or of the expander, the drive is cabled to.
	for i := len(parts) - 1; i > pci; i-- {
		if !strings.HasPrefix(parts[i], "end_device-") {
			continue
		}
		endDir := string(filepath.Separator) + filepath.Join(parts[:i+1]...)
		phy := firstString(filepath.Join(endDir, "sas_device", parts[i]), "phy_identifier")
		if phy == "" {
			break
		}
		for j := i - 1; j > pci; j-- {
			if strings.HasPrefix(parts[j], "expander-") {
				expDir := string(filepath.Separator) + filepath.Join(parts[:j+1]...)
				if addr := firstString(filepath.Join(expDir, "sas_device", parts[j]), "sas_address"); addr != "" {
					return fmt.Sprintf("%s-sas-exp%s-phy%s%s", slot, addr, phy, orDefault(lun, "-lun-0"))
				}
			}
		}
		return fmt.Sprintf("%s-sas-phy%s%s", slot, phy, orDefault(lun, "-lun-0"))
	}
	// Other SCSI: the host counted from the controller's first (a
	// controller can have several), channel, target and LUN.
	if scsi != nil {
		host, _ := strconv.Atoi(scsi[0])
		first := host
		for _, h := range listDir(root) {
			if m := scsiHost.FindStringSubmatch(h); m != nil {
				if n, err := strconv.Atoi(m[1]); err == nil {
					first = min(first, n)
				}
			}
		}
		return fmt.Sprintf("%s-scsi-%d:%s:%s:%s", slot, host-first, scsi[1], scsi[2], scsi[3])
	}
	return slot
}

// pciOf returns the index of the last PCI device in a sysfs path's parts,
// or -1.
func pciOf(parts []string) int {
	at := -1
	for i, p := range parts {
		if pciAddress.MatchString(p) {
			at = i
		}
	}
	return at
}

// enclosureSlot returns the bay a SCSI enclosure (SES) names for the disk
// whose device is at dev, "enclosure-<enclosure id>-<bay>", or "" if no
// enclosure names it, or its enclosure has no id: bay names repeat from
// one enclosure to the next.
func enclosureSlot(dev string) string {
	links, _ := filepath.Glob(filepath.Join(dev, "enclosure_device:*"))
	if len(links) == 0 {
		return ""
	}
	slices.Sort(links)
	target, err := filepath.EvalSymlinks(links[0])
	if err != nil {
		return ""
	}
	id := idPart(firstString(filepath.Dir(target), "id"))
	bay := idPart(strings.TrimPrefix(filepath.Base(links[0]), "enclosure_device:"))
	if id == "" || bay == "" {
		return ""
	}
	return "enclosure-" + id + "-" + bay
}
