package discover_test

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shingle-storage/shingle/agent/discover"
	"github.com/shingle-storage/shingle/agent/label"
	"github.com/shingle-storage/shingle/zoned"
)

var (
	thisCluster  = label.ID{0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x33, 0x33, 0x44, 0x44, 1, 2, 3, 4, 5, 6}
	otherCluster = label.ID{0xaa, 0xaa, 0xaa, 0xaa, 0xbb, 0xbb, 0xcc, 0xcc, 0xdd, 0xdd, 1, 2, 3, 4, 5, 6}
)

// imageSize is the size of the test images: 4 zones of 1 MiB.
const imageSize = 4 << 20

// smrDrive is the drive the images stand for: host-managed, 4 KiB blocks,
// 1 MiB zones.
func smrDrive() discover.Drive {
	return discover.Drive{
		ID: "wwn-0x5000cca2a1b2c3d4", Name: "sdb", Path: "/dev/sdb", WWN: "0x5000cca2a1b2c3d4",
		Transport: discover.TransportATA, Model: "HGST HSH721414ALE6M0", Serial: "9JG1ABCD",
		Zoned: zoned.ModelHostManaged, ZoneSize: 1 << 20, ZoneCount: 4, LogicalBlockSize: 4096, PhysicalBlockSize: 4096,
		Size: imageSize, Rotational: true,
	}
}

func allowAll() discover.Policy {
	return discover.Policy{Cluster: thisCluster, AllowAllZoned: true}
}

// image writes an image file of imageSize bytes with the given bytes at the
// given offsets (negative offsets count from the end) and opens it.
func image(t *testing.T, writes map[int64]string) *os.File {
	t.Helper()
	buf := make([]byte, imageSize)
	for off, s := range writes {
		if off < 0 {
			off += imageSize
		}
		copy(buf[off:], s)
	}
	path := filepath.Join(t.TempDir(), "drive.img")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func le16(v uint16) string { return string(binary.LittleEndian.AppendUint16(nil, v)) }
func le32(v uint32) string { return string(binary.LittleEndian.AppendUint32(nil, v)) }

// mbrEntry is a partition table entry of the given type.
func mbrEntry(boot, typ byte) string {
	e := make([]byte, 16)
	e[0], e[4] = boot, typ
	binary.LittleEndian.PutUint32(e[8:], 2048)
	binary.LittleEndian.PutUint32(e[12:], 8192)
	return string(e)
}

// extSuperblock returns an ext superblock's first 100 bytes with the given
// feature flags.
func extSuperblock(compat, incompat uint32) string {
	sb := make([]byte, 100)
	binary.LittleEndian.PutUint32(sb[24:], 2) // 4 KiB blocks
	binary.LittleEndian.PutUint16(sb[56:], 0xEF53)
	binary.LittleEndian.PutUint32(sb[76:], 1) // dynamic revision
	binary.LittleEndian.PutUint32(sb[92:], compat)
	binary.LittleEndian.PutUint32(sb[96:], incompat)
	return string(sb)
}

func labelBlock(t *testing.T, l label.Label) string {
	t.Helper()
	b, err := label.Encode(make([]byte, label.Size), l)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func newLabel(cluster label.ID, gen uint64) label.Label {
	return label.Label{Version: label.Version, Cluster: cluster, Drive: label.ID{9, 9, 9}, ZoneSize: 1 << 20,
		ZoneCapacity: 1 << 20, ZoneCount: 4, BlockSize: 4096, ZonesPerExtent: 1,
		Created: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), Generation: gen}
}

// TestVetSignatures vets images holding each signature Inspect knows: each
// is refused, with a message naming the drive, the signature and the way
// out, and each is claimed when forced.
func TestVetSignatures(t *testing.T) {
	const sect = 512
	tests := []struct {
		name   string
		writes map[int64]string
		reason discover.Reason
		says   string // in the refusal message
	}{
		{"gpt", map[int64]string{446: mbrEntry(0, 0xEE), 510: "\x55\xaa", sect: "EFI PART"}, discover.ReasonPartitionTable, "a partition table (GPT, signature at byte 512)"},
		{"gpt-4k", map[int64]string{446: mbrEntry(0, 0xEE), 510: "\x55\xaa", 4096: "EFI PART"}, discover.ReasonPartitionTable, "a partition table (GPT, signature at byte 4096)"},
		{"gpt-backup-only", map[int64]string{-4096: "EFI PART"}, discover.ReasonPartitionTable, "GPT (backup header)"},
		{"gpt-protective-mbr-only", map[int64]string{446: mbrEntry(0, 0xEE), 510: "\x55\xaa"}, discover.ReasonPartitionTable, "GPT (protective MBR)"},
		{"mbr", map[int64]string{446: mbrEntry(0x80, 0x83), 462: mbrEntry(0, 0x82), 510: "\x55\xaa"}, discover.ReasonPartitionTable, "a partition table (MBR, signature at byte 510)"},
		{"ext4", map[int64]string{1024: extSuperblock(0x3c, 0x2c2)}, discover.ReasonFilesystem, "a filesystem (ext4, signature at byte 1080)"},
		{"ext3", map[int64]string{1024: extSuperblock(0x4, 0x2)}, discover.ReasonFilesystem, "ext3"},
		{"ext2", map[int64]string{1024: extSuperblock(0, 0x2)}, discover.ReasonFilesystem, "ext2"},
		{"xfs", map[int64]string{0: "XFSB\x00\x00\x10\x00"}, discover.ReasonFilesystem, "a filesystem (XFS, signature at byte 0)"},
		{"btrfs", map[int64]string{65536 + 64: "_BHRfS_M"}, discover.ReasonFilesystem, "(btrfs, signature at byte 65600)"},
		{"btrfs-zoned", map[int64]string{1<<20 + 64: "_BHRfS_M"}, discover.ReasonFilesystem, "(btrfs, signature at byte 1048640)"},
		{"swap", map[int64]string{4096 - 10: "SWAPSPACE2"}, discover.ReasonFilesystem, "(swap, signature at byte 4086)"},
		{"swap-64k-pages", map[int64]string{65536 - 10: "SWAPSPACE2"}, discover.ReasonFilesystem, "(swap, signature at byte 65526)"},
		{"hibernation", map[int64]string{4096 - 10: "S1SUSPEND\x00"}, discover.ReasonFilesystem, "hibernation image"},
		{"lvm2", map[int64]string{sect: "LABELONE\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x20\x00\x00\x00LVM2 001"}, discover.ReasonFilesystem, "a volume member (LVM2 physical volume, signature at byte 512)"},
		{"md-1.2", map[int64]string{4096: le32(0xa92b4efc)}, discover.ReasonFilesystem, "md RAID 1.2"},
		{"md-1.0", map[int64]string{imageSize - 8192: le32(0xa92b4efc)}, discover.ReasonFilesystem, "md RAID 1.0"},
		{"md-0.90", map[int64]string{imageSize - 65536: le32(0xa92b4efc)}, discover.ReasonFilesystem, "md RAID 0.90"},
		{"luks", map[int64]string{0: "LUKS\xba\xbe\x00\x02"}, discover.ReasonFilesystem, "LUKS"},
		{"bcache", map[int64]string{4096 + 24: "\xc6\x85\x73\xf6\x4e\x1a\x45\xca\x82\x65\xf5\x7f\x48\xba\x6d\x81"}, discover.ReasonFilesystem, "bcache"},
		{"bluestore", map[int64]string{0: "bluestore block device\n"}, discover.ReasonFilesystem, "Ceph BlueStore"},
		{"zfs", map[int64]string{128<<10 + 3<<10: string(binary.LittleEndian.AppendUint64(nil, 0x00bab10c))}, discover.ReasonFilesystem, "(ZFS, signature at byte 134144)"},
		{"fat32", map[int64]string{3: "MSDOS5.0", 82: "FAT32   ", 510: "\x55\xaa"}, discover.ReasonFilesystem, "FAT32"},
		{"ntfs", map[int64]string{3: "NTFS    ", 510: "\x55\xaa"}, discover.ReasonFilesystem, "NTFS"},
		{"exfat", map[int64]string{3: "EXFAT   ", 510: "\x55\xaa"}, discover.ReasonFilesystem, "exFAT"},
		{"f2fs", map[int64]string{1024: le32(0xF2F52010)}, discover.ReasonFilesystem, "F2FS"},
		{"iso9660", map[int64]string{32768: "\x01CD001"}, discover.ReasonFilesystem, "ISO 9660"},
		{"squashfs", map[int64]string{0: "hsqs"}, discover.ReasonFilesystem, "SquashFS"},
		{"zonefs", map[int64]string{0: le32(0x5a4f4653)}, discover.ReasonFilesystem, "zonefs"},
		{"reiserfs", map[int64]string{65536 + 52: "ReIsEr2Fs"}, discover.ReasonFilesystem, "ReiserFS"},
		{"gpt-and-ext4", map[int64]string{446: mbrEntry(0, 0xEE), 510: "\x55\xaa", sect: "EFI PART", 1024: extSuperblock(0x3c, 0x2c2)},
			discover.ReasonPartitionTable, "a partition table (GPT, signature at byte 512); it has a filesystem (ext4, signature at byte 1080)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := smrDrive()
			_, err := allowAll().Vet(d, image(t, tc.writes))
			var r *discover.Refusal
			if !errors.As(err, &r) {
				t.Fatalf("got %v, want a *Refusal", err)
			}
			if !r.Has(tc.reason) || !r.Forceable() {
				t.Fatalf("refusal %+v: want reason %v, forceable", r.Problems, tc.reason)
			}
			msg := err.Error()
			for _, want := range []string{
				"refusing drive wwn-0x5000cca2a1b2c3d4 (/dev/sdb), HGST HSH721414ALE6M0, serial 9JG1ABCD",
				tc.says,
				"blkzone reset /dev/sdb",
				"wipefs -a /dev/sdb",
				"list its WWN 0x5000cca2a1b2c3d4 under force",
			} {
				if !strings.Contains(msg, want) {
					t.Errorf("message lacks %q:\n%s", want, msg)
				}
			}

			forced := allowAll()
			forced.Force = []string{"naa.5000CCA2A1B2C3D4"}
			v, err := forced.Vet(d, image(t, tc.writes))
			if err != nil {
				t.Fatalf("forced: %v", err)
			}
			if len(v.Overridden) != len(r.Problems) || v.Label != nil || v.Rule != "all zoned" {
				t.Fatalf("forced verdict %+v, want the %d problems overridden", v, len(r.Problems))
			}
		})
	}
}

// TestVetCleanDrives checks that what blank and used-looking Shingle drives
// hold raises nothing: zeros, the 0xFF that null_blk returns past a write
// pointer, and random data (extent payload).
func TestVetCleanDrives(t *testing.T) {
	random := make([]byte, imageSize)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	ff := strings.Repeat("\xff", imageSize)
	for name, writes := range map[string]map[int64]string{
		"zeros":  nil,
		"0xff":   {0: ff},
		"random": {0: string(random)},
	} {
		t.Run(name, func(t *testing.T) {
			v, err := allowAll().Vet(smrDrive(), image(t, writes))
			if err != nil {
				t.Fatal(err)
			}
			if v.Label != nil || len(v.Overridden) != 0 || v.Drive.ID != smrDrive().ID {
				t.Fatalf("verdict %+v, want a blank drive to format", v)
			}
		})
	}
}

func TestVetLabels(t *testing.T) {
	ours := newLabel(thisCluster, 7)
	older := newLabel(thisCluster, 6)
	theirs := newLabel(otherCluster, 3)
	damaged := []byte(labelBlock(t, ours))
	damaged[40] ^= 1
	newer := []byte(labelBlock(t, ours))
	binary.LittleEndian.PutUint32(newer[8:], label.Version+1)
	binary.LittleEndian.PutUint32(newer[92:], crc32c(newer[:92]))

	t.Run("ours-in-conventional-zone", func(t *testing.T) {
		v, err := allowAll().Vet(smrDrive(), image(t, map[int64]string{0: labelBlock(t, older), 4096: labelBlock(t, ours)}))
		if err != nil {
			t.Fatal(err)
		}
		if v.Label == nil || v.Label.Generation != 7 || v.Label.Cluster != thisCluster {
			t.Fatalf("verdict %+v, want this cluster's label of generation 7", v)
		}
	})
	t.Run("ours-in-label-log-zone-1", func(t *testing.T) {
		// Zone 0 of a drive without conventional zones was reset while the
		// label was rewritten; zone 1 holds the only copy.
		v, err := allowAll().Vet(smrDrive(), image(t, map[int64]string{1 << 20: labelBlock(t, ours)}))
		if err != nil || v.Label == nil || v.Label.Generation != 7 {
			t.Fatalf("verdict %+v, %v, want this cluster's label from zone 1", v, err)
		}
	})
	t.Run("ours-hides-nothing-else", func(t *testing.T) {
		// Shingle's own label blocks are not mistaken for a filesystem even
		// when the bytes after the label happen to match one.
		v, err := allowAll().Vet(smrDrive(), image(t, map[int64]string{0: labelBlock(t, ours), 1024: extSuperblock(0, 2)}))
		if err != nil || v.Label == nil {
			t.Fatalf("verdict %+v, %v", v, err)
		}
	})

	refusals := []struct {
		name   string
		policy discover.Policy
		writes map[int64]string
		reason discover.Reason
		says   []string
	}{
		{"another-cluster", allowAll(), map[int64]string{0: labelBlock(t, theirs), 4096: labelBlock(t, theirs)},
			discover.ReasonForeignLabel, []string{"Shingle label of cluster " + otherCluster.String(), "formatted 2026-03-01", "not this cluster's " + thisCluster.String(), "return it there"}},
		{"no-cluster-configured", discover.Policy{AllowAllZoned: true}, map[int64]string{0: labelBlock(t, ours)},
			discover.ReasonForeignLabel, []string{"this agent has no cluster id"}},
		{"damaged", allowAll(), map[int64]string{0: string(damaged)},
			discover.ReasonDamagedLabel, []string{"label copy at byte 0", "checksum mismatch"}},
		{"newer-format", allowAll(), map[int64]string{0: string(newer)},
			discover.ReasonDamagedLabel, []string{"unsupported format version", "upgrade the agent"}},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.policy.Vet(smrDrive(), image(t, tc.writes))
			var r *discover.Refusal
			if !errors.As(err, &r) || !r.Has(tc.reason) || len(r.Problems) != 1 {
				t.Fatalf("got %v, want a refusal for %v alone", err, tc.reason)
			}
			for _, want := range append(tc.says, "list its WWN 0x5000cca2a1b2c3d4 under force") {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message lacks %q:\n%v", want, err)
				}
			}
			if strings.Contains(err.Error(), "wipefs") {
				t.Errorf("the message offers wipefs, which does not know Shingle labels:\n%v", err)
			}
			p := tc.policy
			p.Force = []string{"9JG1ABCD"} // by serial
			v, err := p.Vet(smrDrive(), image(t, tc.writes))
			if err != nil || len(v.Overridden) != 1 || v.Label != nil {
				t.Fatalf("forced: %+v, %v; want the label overridden and no label kept", v, err)
			}
		})
	}
}

// failReader fails the test if anything reads the drive.
type failReader struct{ t *testing.T }

func (f failReader) ReadAt([]byte, int64) (int, error) {
	f.t.Error("the drive's media were read")
	return 0, io.ErrUnexpectedEOF
}

func TestVetWhatSysfsSays(t *testing.T) {
	gpt := map[int64]string{446: mbrEntry(0, 0xEE), 510: "\x55\xaa", 512: "EFI PART"}
	conventional := smrDrive()
	conventional.Zoned, conventional.ZoneSize, conventional.ZoneCount = zoned.ModelNone, 0, 0
	noID := smrDrive()
	noID.ID, noID.WWN, noID.Serial = "", "", ""
	held := smrDrive()
	held.Holders = []string{"dm-0", "md127"}
	readOnly := smrDrive()
	readOnly.ReadOnly = true
	partitioned := smrDrive()
	partitioned.Partitions = []string{"sdb1"}

	everything := allowAll()
	everything.AllowWWNs = []string{"0x5000cca2a1b2c3d4"} // allows the conventional drive too
	everything.Force = []string{"wwn-0x5000cca2a1b2c3d4"}

	tests := []struct {
		name      string
		policy    discover.Policy
		drive     discover.Drive
		media     io.ReaderAt // nil: must not be read
		reasons   []discover.Reason
		forceable bool
		says      []string
	}{
		{"no-identity", everything, noID, nil, []discover.Reason{discover.ReasonNoIdentity}, false,
			[]string{"refusing drive /dev/sdb (no WWN or serial)", "neither a WWN nor a serial", "stable identity"}},
		{"not-allowed", discover.Policy{Cluster: thisCluster, AllowSerials: []string{"OTHER"}}, smrDrive(), nil,
			[]discover.Reason{discover.ReasonNotAllowed}, false,
			[]string{"no allow rule", "add its WWN 0x5000cca2a1b2c3d4 (or its serial or a model glob) to the allow list"}},
		{"not-zoned", everything, conventional, nil, []discover.Reason{discover.ReasonNotZoned}, false,
			[]string{"queue/zoned says none", "host-managed or host-aware"}},
		{"not-zoned-not-allowed", allowAll(), conventional, nil, []discover.Reason{discover.ReasonNotAllowed}, false,
			[]string{"it has no zones, and no allow rule", "leaves this one alone"}},
		{"held", everything, held, nil, []discover.Reason{discover.ReasonInUse}, false,
			[]string{"held by dm-0, md127", "dmsetup remove"}},
		{"read-only-and-partitioned", everything, func() discover.Drive { d := readOnly; d.Partitions = []string{"sdb1"}; return d }(), nil,
			[]discover.Reason{discover.ReasonReadOnly, discover.ReasonPartitionTable}, false,
			[]string{"read-only", "partitions on it (sdb1)", "Its contents would also have to be wiped or forced"}},
		{"partitions-in-sysfs", allowAll(), partitioned, image(t, gpt),
			[]discover.Reason{discover.ReasonPartitionTable, discover.ReasonPartitionTable}, true,
			[]string{"the kernel found partitions on it (sdb1); it has a partition table (GPT", "wipefs -a /dev/sdb"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			media := tc.media
			if media == nil {
				media = failReader{t}
			}
			_, err := tc.policy.Vet(tc.drive, media)
			var r *discover.Refusal
			if !errors.As(err, &r) {
				t.Fatalf("got %v, want a refusal", err)
			}
			if len(r.Problems) != len(tc.reasons) || r.Forceable() != tc.forceable {
				t.Fatalf("problems %+v (forceable %v), want reasons %v (forceable %v)", r.Problems, r.Forceable(), tc.reasons, tc.forceable)
			}
			for i, want := range tc.reasons {
				if r.Problems[i].Reason != want {
					t.Fatalf("problem %d is %v, want %v", i, r.Problems[i].Reason, want)
				}
			}
			for _, want := range tc.says {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message lacks %q:\n%v", want, err)
				}
			}
			if !tc.forceable && strings.Contains(err.Error(), "under force") {
				t.Errorf("the message offers force for a refusal force does not override:\n%v", err)
			}
		})
	}

	// A read error is not a refusal, and says where to look.
	_, err := allowAll().Vet(smrDrive(), errReader{})
	var r *discover.Refusal
	if err == nil || errors.As(err, &r) || !strings.Contains(err.Error(), "first sectors") || !strings.Contains(err.Error(), "dmesg") {
		t.Fatalf("read error: %v", err)
	}
}

type errReader struct{}

func (errReader) ReadAt([]byte, int64) (int, error) { return 0, errors.New("input/output error") }

func crc32c(b []byte) uint32 { return crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)) }
