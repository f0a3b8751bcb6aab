package discover

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/shingle-storage/shingle/zoned"
)

// Transport is how a drive is attached. It decides where its identity is
// read from and how its health is read (ATA SMART or the NVMe health log).
type Transport string

// Transports.
const (
	// TransportATA is a SATA drive behind libata (the SCSI layer's vendor
	// is "ATA").
	TransportATA Transport = "ata"
	// TransportSCSI is a SAS or other SCSI drive.
	TransportSCSI Transport = "scsi"
	// TransportNVMe is an NVMe namespace.
	TransportNVMe Transport = "nvme"
	// TransportVirtio is a virtio-blk disk of a virtual machine.
	TransportVirtio Transport = "virtio"
	// TransportOther is anything else, such as a null_blk device.
	TransportOther Transport = "other"
)

// Drive is one disk found on the host, as sysfs describes it.
type Drive struct {
	// ID is the drive's stable identity: "wwn-" and its WWN when it has
	// one, otherwise "serial-" and its model, serial number and (for NVMe)
	// namespace id. It is empty when the drive reports neither WWN nor
	// serial; such a drive is never claimed.
	ID string

	// Name is the kernel's current name for the drive (sdb, nvme0n1), and
	// Path its current device node (/dev/sdb). Both can change at the next
	// boot or hot-plug; never keep them as the drive's identity.
	Name string
	Path string
	// Major and Minor are the current device number, from
	// /sys/block/<name>/dev.
	Major, Minor uint32

	// Transport is how the drive is attached.
	Transport Transport
	// Vendor is the SCSI vendor ("ATA" for SATA drives, "SEAGATE", ...);
	// empty for NVMe.
	Vendor string
	// Model is the drive's model. For SATA drives it is the full ATA model
	// from the IDENTIFY data when the kernel publishes it; the SCSI layer's
	// own copy is cut to 16 characters.
	Model string
	// Serial is the drive's serial number (for NVMe, the controller's).
	Serial string
	// WWN is the world wide name, normalized: "0x" and lower-case hex for
	// an NAA identifier (as in /dev/disk/by-id/wwn-0x...), "eui." or
	// "uuid." and lower-case hex for an NVMe namespace. Empty when the
	// drive has none.
	WWN string
	// WWID is the kernel's world wide identifier as sysfs gives it
	// ("naa.5000c500a1b2c3d4", "eui.00...", "t10.ATA ..."), which may be
	// a vendor-specific string rather than a WWN.
	WWID string
	// NSID is the NVMe namespace id; 0 for other drives.
	NSID int
	// Firmware is the firmware revision. For SATA drives it is the full
	// revision from the IDENTIFY data when the kernel publishes it; the
	// SCSI layer's own copy is cut to 4 characters.
	Firmware string

	// Slot is where the drive sits, which a drive put in its place
	// inherits (see slotOf and the package README): the bay a SCSI
	// enclosure (SES) names, "enclosure-<id>-<bay>", or else the path
	// from its PCI controller, built from numbers the hardware gives as
	// udev's /dev/disk/by-path names are: "pci-0000:3c:00.0-nvme-1",
	// "pci-0000:00:17.0-ata-1" (the port on its controller),
	// "pci-0000:01:00.0-sas-phy3-lun-0" or
	// "pci-0000:01:00.0-sas-exp0x5000…-phy12-lun-0" (the phy the drive is
	// cabled to), "pci-0000:02:00.0-scsi-0:0:1:0". Empty for a drive
	// with no such path (null_blk).
	Slot string

	// Zoned is the zone model from queue/zoned.
	Zoned zoned.Model
	// ZoneSize is the zone size in bytes (queue/chunk_sectors); 0 for a
	// drive without zones.
	ZoneSize int64
	// ZoneCount is queue/nr_zones.
	ZoneCount int
	// MaxOpenZones and MaxActiveZones are the zone limits; 0 means none.
	MaxOpenZones   int
	MaxActiveZones int
	// LogicalBlockSize and PhysicalBlockSize are in bytes.
	LogicalBlockSize  int
	PhysicalBlockSize int
	// Size is the drive's size in bytes.
	Size int64
	// Rotational is queue/rotational: a spinning disk.
	Rotational bool
	// ReadOnly is the kernel's read-only flag (ro).
	ReadOnly bool
	// Removable is the kernel's removable-media flag.
	Removable bool

	// Partitions are the partitions the kernel found on the drive (sdb1,
	// ...).
	Partitions []string
	// Holders are the devices stacked on the drive (dm-0, md127).
	Holders []string
}

// String names the drive by its identity and current path, as refusals and
// logs do.
func (d Drive) String() string {
	switch {
	case d.ID == "" && d.Path == "":
		return "(no WWN or serial)"
	case d.ID == "":
		return d.Path + " (no WWN or serial)"
	case d.Path == "":
		return d.ID
	}
	return fmt.Sprintf("%s (%s)", d.ID, d.Path)
}

// key is what an operator would list the drive under: its WWN, or its
// serial when it has none.
func (d Drive) key() string {
	switch {
	case d.WWN != "":
		return "WWN " + d.WWN
	case d.Serial != "":
		return "serial " + d.Serial
	}
	return "ID " + d.ID
}

// driveID returns the stable ID for a drive with the given identity, or ""
// when there is none.
func driveID(wwn, model, serial string, nsid int) string {
	if wwn != "" {
		return "wwn-" + wwn
	}
	if serial == "" {
		return ""
	}
	parts := []string{}
	if model != "" {
		parts = append(parts, idPart(model))
	}
	parts = append(parts, idPart(serial))
	if nsid > 0 {
		parts = append(parts, strconv.Itoa(nsid))
	}
	return "serial-" + strings.Join(parts, "_")
}

var idUnsafe = regexp.MustCompile(`[^A-Za-z0-9.\-]+`)

// idPart makes s safe in an ID, the way udev names /dev/disk/by-id links:
// runs of anything but letters, digits, dots and dashes become one
// underscore.
func idPart(s string) string {
	return strings.Trim(idUnsafe.ReplaceAllString(strings.TrimSpace(s), "_"), "_")
}

// NormalizeWWN returns the canonical form of a WWN as an operator might
// write it: "naa.5000C500A1B2C3D4", "wwn-0x5000c500a1b2c3d4" and
// "5000c500a1b2c3d4" all become "0x5000c500a1b2c3d4"; NVMe "eui." and
// "uuid." identifiers are lower-cased. It returns "" for anything that is not
// a WWN, such as a T10 vendor identifier.
func NormalizeWWN(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "wwn-")
	s = strings.TrimPrefix(s, "nvme-") // /dev/disk/by-id/nvme-eui.…
	switch {
	case strings.HasPrefix(s, "naa."):
		s = "0x" + s[len("naa."):]
	case strings.HasPrefix(s, "eui."):
		if isHex(s[len("eui."):]) {
			return s
		}
		return ""
	case strings.HasPrefix(s, "uuid."):
		u := s[len("uuid."):]
		if len(u) == 36 && isHex(strings.ReplaceAll(u, "-", "")) {
			return s
		}
		return ""
	case !strings.HasPrefix(s, "0x") && (len(s) == 16 || len(s) == 32):
		s = "0x" + s
	}
	hex := strings.TrimPrefix(s, "0x")
	if len(s) == len(hex) || (len(hex) != 16 && len(hex) != 32) || !isHex(hex) || strings.Trim(hex, "0") == "" {
		return ""
	}
	return s
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
