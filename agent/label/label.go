// Package label is the drive label: the small record at a fixed place on
// every Shingle drive that says which cluster and drive it is, in which
// format, with which zone geometry.
//
// The agent reads the label before anything else. It is what keeps a drive
// from another cluster, or a drive moved between slots, from being written
// by mistake, and what lets a drive be identified without trusting the
// device name. The label is kept in two copies (see FORMAT.md in
// agent/extent for where); each copy carries a generation number and a
// checksum, and the valid copy with the highest generation wins, so a torn
// rewrite of one copy never loses the label.
package label

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"
)

// Layout constants. See agent/extent/FORMAT.md.
const (
	// Magic starts every label copy.
	Magic = "SHGLABEL"
	// Version is the on-drive format version this build writes and reads.
	Version = 1
	// Size is the encoded size of a label before padding to a block.
	Size = 96
)

// ID is a 16-byte identifier (a UUID's bytes).
type ID [16]byte

// String formats the ID as a UUID.
func (id ID) String() string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", id[0:4], id[4:6], id[6:8], id[8:10], id[10:16])
}

// Label is the decoded drive label.
type Label struct {
	// Version is the on-drive format version of everything on the drive.
	Version uint32
	// Cluster is the cluster the drive belongs to.
	Cluster ID
	// Drive is the drive's own id, assigned when it was formatted.
	Drive ID
	// ZoneSize, ZoneCapacity, ZoneCount and BlockSize are the geometry the
	// drive was formatted with; a drive that reports another is refused.
	ZoneSize     int64
	ZoneCapacity int64
	ZoneCount    uint32
	BlockSize    uint32
	// ZonesPerExtent is how many zones each extent spans; the layout of the
	// whole drive follows from it.
	ZonesPerExtent uint32
	// Created is when the drive was formatted.
	Created time.Time
	// Generation increases each time the label is rewritten.
	Generation uint64
}

// Errors from Decode.
var (
	// ErrNoLabel means the bytes hold no label (a blank or foreign drive).
	ErrNoLabel = errors.New("label: no Shingle label")
	// ErrChecksum means a label is there but damaged.
	ErrChecksum = errors.New("label: checksum mismatch")
	// ErrVersion means the label is from a format this build cannot read.
	ErrVersion = errors.New("label: unsupported format version")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Encode writes l into dst, which must hold at least Size bytes; the rest of
// dst is zeroed so a whole block can be written.
func Encode(dst []byte, l Label) ([]byte, error) {
	if len(dst) < Size {
		return nil, fmt.Errorf("label: buffer of %d bytes, need %d", len(dst), Size)
	}
	clear(dst)
	le := binary.LittleEndian
	copy(dst[0:8], Magic)
	le.PutUint32(dst[8:], l.Version)
	copy(dst[16:32], l.Cluster[:])
	copy(dst[32:48], l.Drive[:])
	le.PutUint64(dst[48:], uint64(l.ZoneSize))
	le.PutUint64(dst[56:], uint64(l.ZoneCapacity))
	le.PutUint32(dst[64:], l.ZoneCount)
	le.PutUint32(dst[68:], l.BlockSize)
	le.PutUint64(dst[72:], uint64(l.Created.UnixNano()))
	le.PutUint64(dst[80:], l.Generation)
	le.PutUint32(dst[88:], l.ZonesPerExtent)
	le.PutUint32(dst[92:], crc32.Checksum(dst[:92], castagnoli))
	return dst, nil
}

// Decode decodes and verifies a label copy at the start of b.
func Decode(b []byte) (Label, error) {
	if len(b) < Size || string(b[0:8]) != Magic {
		return Label{}, ErrNoLabel
	}
	le := binary.LittleEndian
	if le.Uint32(b[92:]) != crc32.Checksum(b[:92], castagnoli) {
		return Label{}, ErrChecksum
	}
	if le.Uint32(b[12:]) != 0 {
		return Label{}, fmt.Errorf("%w: reserved bytes are set", ErrVersion)
	}
	l := Label{
		Version:        le.Uint32(b[8:]),
		ZoneSize:       int64(le.Uint64(b[48:])),
		ZoneCapacity:   int64(le.Uint64(b[56:])),
		ZoneCount:      le.Uint32(b[64:]),
		BlockSize:      le.Uint32(b[68:]),
		Created:        time.Unix(0, int64(le.Uint64(b[72:]))).UTC(),
		Generation:     le.Uint64(b[80:]),
		ZonesPerExtent: le.Uint32(b[88:]),
	}
	copy(l.Cluster[:], b[16:32])
	copy(l.Drive[:], b[32:48])
	if l.Version != Version {
		return Label{}, fmt.Errorf("%w %d (this build reads %d); upgrade the agent", ErrVersion, l.Version, Version)
	}
	return l, nil
}

// Newest returns the valid copy with the highest generation among copies,
// and whether any copy was valid. Damaged and missing copies are skipped.
func Newest(copies ...[]byte) (Label, bool) {
	var best Label
	found := false
	for _, c := range copies {
		l, err := Decode(c)
		if err != nil {
			continue
		}
		if !found || l.Generation > best.Generation {
			best, found = l, true
		}
	}
	return best, found
}
