// Package checkpoint is the drive checkpoint: a small table, kept in the
// drive's reserved zones, of the sealed extents on the drive and where each
// one's seal record is.
//
// It exists because of how zoned drives report what is written. An open
// zone's write pointer says where its data ends, but sealing an extent
// finishes its zones (a finished zone holds no open or active zone
// resource, and drives allow few), and a finished zone reports no write
// pointer. Without help, finding the seal record of a sealed extent means
// reading the whole extent. With the checkpoint, recovery reads one block to
// find the seal, which points at the extent's summary (see package record),
// and reads the summary instead of the extent: the bytes a restart reads
// shrink by a factor of about a hundred.
//
// The checkpoint is rewritten whole each time an extent is sealed or
// deleted, alternately in two places, each write carrying a generation and
// checksums, so a torn write leaves the previous one valid. An entry is a
// hint, not a promise: recovery reads the seal it points at and falls back
// to reading the extent when the seal is not there (the extent was deleted
// since, or the crash came between the seal and the checkpoint).
//
// The encoding (all integers little-endian, checksums CRC32C):
//
//	offset size field
//	0      8    magic "SHGCHKPT"
//	8      4    version (1)
//	12     4    number of entries n
//	16     8    generation
//	24     16   drive id (a checkpoint left by an earlier format of the
//	            drive is ignored)
//	40     4    zero
//	44     4    CRC32C of bytes 0-43
//	48     24n  entries: slot (4), zero (4), extent id (8), offset of the
//	            seal record in the extent (8)
//	48+24n 4    CRC32C of the entries
package checkpoint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Layout constants.
const (
	// Magic starts every checkpoint.
	Magic = "SHGCHKPT"
	// Version is the checkpoint format this build writes and reads.
	Version = 1
	// HeaderSize is the size of the header, which says how long the rest is.
	HeaderSize = 48
	// EntrySize is the size of one entry.
	EntrySize = 24
	// TrailerSize is the size of the entries' checksum.
	TrailerSize = 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Sealed locates one sealed extent.
type Sealed struct {
	// Slot is the extent's slot on the drive.
	Slot uint32
	// Extent is the extent's id.
	Extent uint64
	// SealOffset is the offset of its seal record in the extent.
	SealOffset int64
}

// Checkpoint is the decoded table.
type Checkpoint struct {
	// Generation increases with every checkpoint written; the valid copy
	// with the highest wins.
	Generation uint64
	// Drive is the drive id from the label the checkpoint was written under.
	Drive [16]byte
	// Extents are the sealed extents.
	Extents []Sealed
}

// Errors returned by Decode.
var (
	// ErrNone means the bytes do not start with a checkpoint (a blank area).
	ErrNone = errors.New("checkpoint: no checkpoint")
	// ErrCorrupt means the bytes start like a checkpoint but fail a check.
	ErrCorrupt = errors.New("checkpoint: corrupt")
	// ErrShort means more bytes are needed: Size of the header says how many.
	ErrShort = errors.New("checkpoint: truncated")
)

// Size returns the encoded size of a checkpoint of n entries.
func Size(n int) int { return HeaderSize + n*EntrySize + TrailerSize }

// Encode returns the encoding of c, padded with zeros to a multiple of
// blockSize.
func Encode(c Checkpoint, blockSize int) []byte {
	n := Size(len(c.Extents))
	b := make([]byte, (n+blockSize-1)/blockSize*blockSize)
	le := binary.LittleEndian
	copy(b, Magic)
	le.PutUint32(b[8:], Version)
	le.PutUint32(b[12:], uint32(len(c.Extents)))
	le.PutUint64(b[16:], c.Generation)
	copy(b[24:40], c.Drive[:])
	le.PutUint32(b[44:], crc32.Checksum(b[:44], castagnoli))
	p := b[HeaderSize:]
	for i, e := range c.Extents {
		q := p[i*EntrySize:]
		le.PutUint32(q[0:], e.Slot)
		le.PutUint64(q[8:], e.Extent)
		le.PutUint64(q[16:], uint64(e.SealOffset))
	}
	entries := p[:len(c.Extents)*EntrySize]
	le.PutUint32(p[len(entries):], crc32.Checksum(entries, castagnoli))
	return b
}

// EncodedSize decodes just the header at the start of b (at least
// HeaderSize bytes) and returns the size of the whole checkpoint, so a
// reader knows how much more to read.
func EncodedSize(b []byte) (int, error) {
	n, err := decodeHeader(b)
	if err != nil {
		return 0, err
	}
	return Size(n), nil
}

func decodeHeader(b []byte) (int, error) {
	if len(b) < HeaderSize {
		if len(b) >= len(Magic) && string(b[:len(Magic)]) == Magic {
			return 0, ErrShort
		}
		return 0, ErrNone
	}
	if !bytes.Equal(b[:len(Magic)], []byte(Magic)) {
		return 0, ErrNone
	}
	le := binary.LittleEndian
	if crc32.Checksum(b[:44], castagnoli) != le.Uint32(b[44:]) {
		return 0, fmt.Errorf("%w: header checksum mismatch", ErrCorrupt)
	}
	if v := le.Uint32(b[8:]); v != Version {
		return 0, fmt.Errorf("%w: version %d; this agent reads version %d", ErrCorrupt, v, Version)
	}
	if le.Uint32(b[40:]) != 0 {
		return 0, fmt.Errorf("%w: reserved header bytes are not zero", ErrCorrupt)
	}
	n := le.Uint32(b[12:])
	if n > 1<<26 {
		return 0, fmt.Errorf("%w: %d entries", ErrCorrupt, n)
	}
	return int(n), nil
}

// Decode decodes the checkpoint at the start of b; bytes after it are
// ignored. It returns ErrNone if b does not start with one, ErrShort if b
// is shorter than the checkpoint (see EncodedSize), and an error wrapping
// ErrCorrupt if a check fails.
func Decode(b []byte) (Checkpoint, error) {
	n, err := decodeHeader(b)
	if err != nil {
		return Checkpoint{}, err
	}
	if len(b) < Size(n) {
		return Checkpoint{}, ErrShort
	}
	le := binary.LittleEndian
	entries := b[HeaderSize : HeaderSize+n*EntrySize]
	if crc32.Checksum(entries, castagnoli) != le.Uint32(b[HeaderSize+n*EntrySize:]) {
		return Checkpoint{}, fmt.Errorf("%w: entries checksum mismatch", ErrCorrupt)
	}
	c := Checkpoint{Generation: le.Uint64(b[16:]), Extents: make([]Sealed, n)}
	copy(c.Drive[:], b[24:40])
	slots := make(map[uint32]bool, n)
	for i := range c.Extents {
		q := entries[i*EntrySize:]
		e := Sealed{Slot: le.Uint32(q[0:]), Extent: le.Uint64(q[8:]), SealOffset: int64(le.Uint64(q[16:]))}
		if le.Uint32(q[4:]) != 0 || e.SealOffset < 0 || slots[e.Slot] {
			return Checkpoint{}, fmt.Errorf("%w: entry %d (slot %d) is malformed or repeats a slot", ErrCorrupt, i, e.Slot)
		}
		slots[e.Slot] = true
		c.Extents[i] = e
	}
	return c, nil
}
