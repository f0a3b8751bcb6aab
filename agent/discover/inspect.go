package discover

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/shingle-storage/shingle/agent/label"
)

// FindingKind is what a signature on a drive says it holds.
type FindingKind int

// Finding kinds.
const (
	// PartitionTable is an MBR or GPT partition table.
	PartitionTable FindingKind = iota + 1
	// Filesystem is a filesystem superblock (ext4, XFS, btrfs, ...) or swap.
	Filesystem
	// VolumeMember is a member of a volume manager, RAID or encryption
	// layer (LVM2, md, LUKS, bcache, ZFS).
	VolumeMember
)

// String names the kind.
func (k FindingKind) String() string {
	switch k {
	case PartitionTable:
		return "partition table"
	case Filesystem:
		return "filesystem"
	case VolumeMember:
		return "volume member"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Finding is one signature found on a drive that says it is in use.
type Finding struct {
	// Kind is what the signature says the drive holds.
	Kind FindingKind
	// Name says what it is: "GPT", "ext4", "LVM2 physical volume", ...
	Name string
	// Offset is the byte offset of the signature on the drive.
	Offset int64
}

// String describes the finding for a refusal message: "a partition table
// (GPT, signature at byte 512)".
func (f Finding) String() string {
	what := map[FindingKind]string{
		PartitionTable: "a partition table",
		Filesystem:     "a filesystem",
		VolumeMember:   "a volume member",
	}[f.Kind]
	if what == "" {
		what = "a " + f.Kind.String()
	}
	return fmt.Sprintf("%s (%s, signature at byte %d)", what, f.Name, f.Offset)
}

// Inspection is what the first and last sectors of a drive hold.
type Inspection struct {
	// Findings are the partition tables and filesystem and volume
	// signatures found, in the order of their offsets. They are not looked
	// for on a drive with a valid Shingle label, whose bytes are Shingle's.
	Findings []Finding
	// Label is the newest valid Shingle label copy, if any.
	Label *label.Label
	// LabelErr is why a label copy that starts with the label magic could not
	// be decoded (damaged, or from a format this build cannot read), when no
	// copy is valid.
	LabelErr error
}

// Where Inspect reads. The head covers every signature it knows in the first
// sectors (ZFS's uberblocks end at 256 KiB); the tail covers the backup GPT
// header and md superblocks of versions 0.90 and 1.0.
const (
	headBytes = 264 << 10
	tailBytes = 128 << 10
	zone1Size = 8 << 10
)

// Inspect reads the first and last sectors of a drive through media, and the
// start of its second zone when it has zones, and reports the partition
// tables, filesystem and volume signatures and Shingle label found there.
// It uses d's Size, LogicalBlockSize and ZoneSize. Bytes media cannot supply
// (past its end) read as zeros; any other read error is returned.
func Inspect(d Drive, media io.ReaderAt) (Inspection, error) {
	m := &regions{size: d.Size}
	if err := m.read(media, 0, min(headBytes, d.Size)); err != nil {
		return Inspection{}, fmt.Errorf("discover: reading the first sectors of %s: %w; check the drive's health (dmesg)", d, err)
	}
	if d.Size > headBytes {
		start := max(headBytes, d.Size-tailBytes)
		if err := m.read(media, start, d.Size-start); err != nil {
			return Inspection{}, fmt.Errorf("discover: reading the last sectors of %s: %w; check the drive's health (dmesg)", d, err)
		}
	}
	if d.ZoneSize >= headBytes && d.ZoneSize <= d.Size/2 {
		if err := m.read(media, d.ZoneSize, zone1Size); err != nil {
			return Inspection{}, fmt.Errorf("discover: reading the start of zone 1 of %s: %w; check the drive's health (dmesg)", d, err)
		}
	}

	var in Inspection
	in.Label, in.LabelErr = findLabel(m, d)
	if in.Label != nil {
		return in, nil
	}
	for _, probe := range probes {
		in.Findings = append(in.Findings, probe(m, d)...)
	}
	sortFindings(in.Findings)
	return in, nil
}

// findLabel decodes the Shingle label copies: blocks 0 and 1 of zone 0 (a
// drive with conventional zones keeps both copies there; on one without,
// zone 0 is a label log that starts with a copy) and block 0 of zone 1 (the
// other label log). See agent/extent/FORMAT.md.
func findLabel(m *regions, d Drive) (*label.Label, error) {
	bs := int64(max(d.LogicalBlockSize, 512))
	offsets := []int64{0, bs}
	if d.ZoneSize > 0 {
		offsets = append(offsets, d.ZoneSize)
	}
	var copies [][]byte
	var damaged error
	for _, off := range offsets {
		b := m.at(off, label.Size)
		if b == nil {
			continue
		}
		if _, err := label.Decode(b); err != nil && !errors.Is(err, label.ErrNoLabel) && damaged == nil {
			damaged = fmt.Errorf("label copy at byte %d: %w", off, err)
		}
		copies = append(copies, b)
	}
	if l, ok := label.Newest(copies...); ok {
		return &l, nil
	}
	return nil, damaged
}

// regions holds the byte ranges of a drive read so far.
type regions struct {
	size int64
	list []region
}

type region struct {
	off  int64
	data []byte
}

// read reads n bytes at off. Bytes past the end of media read as zeros.
func (m *regions) read(media io.ReaderAt, off, n int64) error {
	if n <= 0 {
		return nil
	}
	buf := make([]byte, n)
	got, err := media.ReadAt(buf, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	clear(buf[got:])
	m.list = append(m.list, region{off, buf})
	return nil
}

// at returns the n bytes at off, or nil if they were not read.
func (m *regions) at(off int64, n int) []byte {
	if off < 0 {
		return nil
	}
	for _, r := range m.list {
		if off >= r.off && off+int64(n) <= r.off+int64(len(r.data)) {
			return r.data[off-r.off : off-r.off+int64(n)]
		}
	}
	return nil
}

// has reports whether the bytes at off are sig.
func (m *regions) has(off int64, sig string) bool {
	b := m.at(off, len(sig))
	return b != nil && string(b) == sig
}

func (m *regions) le32(off int64) (uint32, bool) {
	b := m.at(off, 4)
	if b == nil {
		return 0, false
	}
	return binary.LittleEndian.Uint32(b), true
}

// A probe looks for one family of signatures.
type probe func(m *regions, d Drive) []Finding

// probes are the signatures looked for. The offsets are those of the
// on-disk formats, as util-linux's libblkid and wipefs find them.
var probes = []probe{
	probeMBR,
	probeGPT,
	probeExt,
	magicAt(Filesystem, "XFS", 0, "XFSB"),
	probeBtrfs,
	probeSwap,
	probeLVM2,
	probeMD,
	magicAt(VolumeMember, "LUKS", 0, "LUKS\xba\xbe"),
	magicAt(VolumeMember, "bcache", 4096+24, "\xc6\x85\x73\xf6\x4e\x1a\x45\xca\x82\x65\xf5\x7f\x48\xba\x6d\x81"),
	magicAt(VolumeMember, "Ceph BlueStore", 0, "bluestore block device"),
	probeZFS,
	probeFAT,
	magicAt(Filesystem, "NTFS", 3, "NTFS    "),
	magicAt(Filesystem, "exFAT", 3, "EXFAT   "),
	magicAt(Filesystem, "F2FS", 1024, "\x10\x20\xf5\xf2"),
	magicAt(Filesystem, "ISO 9660", 32769, "CD001"),
	magicAt(Filesystem, "SquashFS", 0, "hsqs"),
	magicAt(Filesystem, "zonefs", 0, "SFOZ"),
	probeReiser,
}

// magicAt finds sig at byte off.
func magicAt(kind FindingKind, name string, off int64, sig string) probe {
	return func(m *regions, _ Drive) []Finding {
		if m.has(off, sig) {
			return []Finding{{kind, name, off}}
		}
		return nil
	}
}

// probeMBR finds an MBR partition table: the 0x55AA boot signature and at
// least one well-formed partition entry, in a sector that is not a FAT,
// NTFS or exFAT boot sector (which end with 0x55AA too). A protective MBR
// (an entry of type 0xEE) belongs to a GPT; probeGPT reports it.
func probeMBR(m *regions, _ Drive) []Finding {
	used, protective, ok := mbrEntries(m)
	if !ok || !used || protective {
		return nil
	}
	return []Finding{{PartitionTable, "MBR", 510}}
}

// mbrEntries reads the four partition entries of an MBR: whether any is
// used, whether one is a GPT's protective entry, and whether the sector is
// an MBR at all.
func mbrEntries(m *regions) (used, protective, ok bool) {
	if !m.has(510, "\x55\xaa") || isBootSector(m) {
		return false, false, false
	}
	for i := range 4 {
		e := m.at(446+int64(16*i), 16)
		if e[0] != 0 && e[0] != 0x80 {
			return false, false, false // a boot flag that is neither: not a partition table
		}
		used = used || e[4] != 0
		protective = protective || e[4] == 0xEE
	}
	return used, protective, true
}

func isBootSector(m *regions) bool {
	return m.has(3, "NTFS    ") || m.has(3, "EXFAT   ") || len(probeFAT(m, Drive{})) > 0
}

// probeGPT finds a GPT header at LBA 1, or a backup header at the last LBA,
// for 512- and 4096-byte blocks alike (an image written with one block size
// may be on a drive with the other), or else the protective MBR a GPT
// leaves behind when only its headers were wiped.
func probeGPT(m *regions, _ Drive) []Finding {
	for _, bs := range []int64{512, 4096} {
		if m.has(bs, "EFI PART") {
			return []Finding{{PartitionTable, "GPT", bs}}
		}
	}
	for _, bs := range []int64{512, 4096} {
		if off := m.size - bs; off > 0 && m.has(off, "EFI PART") {
			return []Finding{{PartitionTable, "GPT (backup header)", off}}
		}
	}
	if _, protective, ok := mbrEntries(m); ok && protective {
		return []Finding{{PartitionTable, "GPT (protective MBR)", 510}}
	}
	return nil
}

// probeExt finds an ext2/3/4 superblock (at 1024; magic 0xEF53 at 1080)
// and names the version from its feature flags.
func probeExt(m *regions, _ Drive) []Finding {
	sb := m.at(1024, 1024)
	if sb == nil || binary.LittleEndian.Uint16(sb[56:]) != 0xEF53 {
		return nil
	}
	// The magic is two bytes; check that the rest looks like a superblock:
	// a block size of 1 KiB to 64 KiB and a known revision.
	logBlock := binary.LittleEndian.Uint32(sb[24:])
	rev := binary.LittleEndian.Uint32(sb[76:])
	if logBlock > 6 || rev > 1 {
		return nil
	}
	compat := binary.LittleEndian.Uint32(sb[92:])
	incompat := binary.LittleEndian.Uint32(sb[96:])
	name := "ext2"
	switch {
	case incompat&0x2c0 != 0: // extents, 64bit, flex_bg
		name = "ext4"
	case compat&0x4 != 0: // has_journal
		name = "ext3"
	}
	return []Finding{{Filesystem, name, 1080}}
}

// probeBtrfs finds a btrfs superblock at 64 KiB, or, on a zoned drive, at
// the start of zone 0 or 1, where zoned btrfs keeps its superblock log.
func probeBtrfs(m *regions, d Drive) []Finding {
	const magic = "_BHRfS_M"
	offs := []int64{64<<10 + 64, 64}
	if d.ZoneSize > 0 {
		offs = append(offs, d.ZoneSize+64)
	}
	for _, off := range offs {
		if m.has(off, magic) {
			return []Finding{{Filesystem, "btrfs", off}}
		}
	}
	return nil
}

// probeSwap finds a swap area or a hibernation image: its signature ends
// the first page, whose size depends on the machine that made it.
func probeSwap(m *regions, _ Drive) []Finding {
	sigs := []struct{ sig, name string }{
		{"SWAPSPACE2", "swap"}, {"SWAP-SPACE", "swap"},
		{"S1SUSPEND\x00", "hibernation image"}, {"S2SUSPEND\x00", "hibernation image"},
		{"ULSUSPEND\x00", "hibernation image"}, {"LINHIB0001", "hibernation image"},
	}
	for _, page := range []int64{4096, 8192, 16384, 65536} {
		for _, s := range sigs {
			if m.has(page-10, s.sig) {
				return []Finding{{Filesystem, s.name, page - 10}}
			}
		}
	}
	return nil
}

// probeLVM2 finds an LVM2 physical volume label in any of the first four
// sectors.
func probeLVM2(m *regions, _ Drive) []Finding {
	for s := range int64(4) {
		if m.has(s*512, "LABELONE") && m.has(s*512+24, "LVM2 001") {
			return []Finding{{VolumeMember, "LVM2 physical volume", s * 512}}
		}
	}
	return nil
}

// probeMD finds a Linux md RAID superblock: version 1.1 at the start, 1.2
// at 4 KiB, 1.0 8 KiB before the end (4 KiB aligned), 0.90 in the last
// 64 KiB-aligned 64 KiB.
func probeMD(m *regions, _ Drive) []Finding {
	const magic = 0xa92b4efc
	offs := []struct {
		version string
		off     int64
	}{
		{"1.1", 0},
		{"1.2", 4096},
		{"1.0", (m.size - 8192) &^ 4095},
		{"0.90", m.size&^(64<<10-1) - 64<<10},
	}
	for _, o := range offs {
		if v, ok := m.le32(o.off); ok && o.off >= 0 && v == magic {
			return []Finding{{VolumeMember, "md RAID " + o.version, o.off}}
		}
	}
	return nil
}

// probeZFS finds a ZFS pool member by the uberblocks of its first vdev
// label, which sit from 128 KiB to 256 KiB in 1 KiB slots or larger.
func probeZFS(m *regions, _ Drive) []Finding {
	const magic = 0x00bab10c
	for off := int64(128 << 10); off < 256<<10; off += 1 << 10 {
		b := m.at(off, 8)
		if b == nil {
			return nil
		}
		if binary.LittleEndian.Uint64(b) == magic || binary.BigEndian.Uint64(b) == magic {
			return []Finding{{VolumeMember, "ZFS", off}}
		}
	}
	return nil
}

// probeFAT finds a FAT boot sector by its filesystem type string and the
// boot signature.
func probeFAT(m *regions, _ Drive) []Finding {
	if !m.has(510, "\x55\xaa") {
		return nil
	}
	for _, c := range []struct {
		off  int64
		sig  string
		name string
	}{{54, "FAT12   ", "FAT12"}, {54, "FAT16   ", "FAT16"}, {54, "FAT     ", "FAT"}, {82, "FAT32   ", "FAT32"}} {
		if m.has(c.off, c.sig) {
			return []Finding{{Filesystem, c.name, c.off}}
		}
	}
	return nil
}

// probeReiser finds a ReiserFS superblock at 64 KiB.
func probeReiser(m *regions, _ Drive) []Finding {
	for _, sig := range []string{"ReIsErFs", "ReIsEr2Fs", "ReIsEr3Fs"} {
		if m.has(64<<10+52, sig) {
			return []Finding{{Filesystem, "ReiserFS", 64<<10 + 52}}
		}
	}
	return nil
}

func sortFindings(f []Finding) {
	slices.SortStableFunc(f, func(a, b Finding) int { return cmp.Compare(a.Offset, b.Offset) })
}
