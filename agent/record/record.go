// Package record is the on-disk record format of Shingle's extents.
//
// A drive holds no filesystem and, since the SSD metadata cache of earlier
// designs was dropped, no separate index: every record must describe itself
// well enough that a drive can be re-indexed by reading its zones from the
// start to each write pointer. So each record carries its type, the extent it
// belongs to, its position in that extent, its key and its length, with one
// checksum over the header and another over the payload. A torn write shows
// up as a checksum mismatch; the end of the written data shows up as a block
// without the magic number (zones read as 0xFF or zeros past the write
// pointer).
//
// The layout, byte by byte, is in agent/extent/FORMAT.md. Records are padded
// to the device's logical block size so each starts on a block boundary,
// where the zone appender puts it.
package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Layout constants. See FORMAT.md.
const (
	// Magic starts every record: "SHR1".
	Magic = uint32(0x31524853)
	// Version is the record format version this package writes.
	Version = 1
	// HeaderSize is the size of the fixed header.
	HeaderSize = 64
	// TrailerSize is the size of the payload checksum after the payload.
	TrailerSize = 4
	// MaxPayload bounds a payload: a blob is at most 4 MiB. Decoders treat a
	// longer length as corruption.
	MaxPayload = 4 << 20
	// KeySize is the size of a key.
	KeySize = 32
)

// Type is the kind of a record.
type Type uint8

const (
	// TypeBlob holds a blob: the key and its bytes.
	TypeBlob Type = 1
	// TypeTombstone deletes the blob with its key; it has no payload.
	TypeTombstone Type = 2
	// TypeSeal ends an extent; its payload is a Seal.
	TypeSeal Type = 3
	// TypeSkip follows a torn write that recovery cut off: it vouches that
	// the bytes between the previous record and itself hold nothing that
	// was ever acknowledged, so later scans do not report them as damage.
	// Its payload is a Skip.
	TypeSkip Type = 4
	// TypeOrigin is the first record of an extent that compaction fills:
	// it names the extent whose live records it copies. Its payload is an
	// Origin.
	TypeOrigin Type = 5
	// TypeSummary lists, for a sealed extent, the records before it that
	// recovery needs (blobs, tombstones, origins), so reopening a drive
	// reads each sealed extent's summary instead of all its bytes. A large
	// summary is split over several consecutive summary records. Its
	// payload is a Summary.
	TypeSummary Type = 6
)

// String names the type.
func (t Type) String() string {
	switch t {
	case TypeBlob:
		return "blob"
	case TypeTombstone:
		return "tombstone"
	case TypeSeal:
		return "seal"
	case TypeSkip:
		return "skip"
	case TypeOrigin:
		return "origin"
	case TypeSummary:
		return "summary"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

func (t Type) known() bool { return t >= TypeBlob && t <= TypeSummary }

// Key names a blob: 32 bytes chosen by the caller (typically a hash).
type Key [KeySize]byte

// Header is the decoded fixed header of a record.
type Header struct {
	// Type is the record's kind.
	Type Type
	// Flags are reserved and zero in version 1.
	Flags uint16
	// Extent is the id of the extent the record belongs to. Extent ids are
	// never reused on a drive, so a record left over from a zone's earlier
	// life cannot be mistaken for one of the current extent.
	Extent uint64
	// Seq is the record's position in its extent, counting from 0.
	Seq uint32
	// Key is the blob's key (blob and tombstone records).
	Key Key
	// Length is the payload length in bytes.
	Length uint32
}

// Errors returned by the decoders. ErrNoRecord means the bytes are not a
// record at all (the end of written data); the others mean a record is
// there but damaged (a torn write or media corruption).
var (
	ErrNoRecord        = errors.New("record: no record here (magic number missing)")
	ErrVersion         = errors.New("record: unknown format version")
	ErrHeaderChecksum  = errors.New("record: header checksum mismatch")
	ErrPayloadChecksum = errors.New("record: payload checksum mismatch")
	ErrLength          = errors.New("record: payload length out of range")
	ErrType            = errors.New("record: unknown record type")
	ErrShort           = errors.New("record: buffer ends inside the record")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checksum is the CRC32C (Castagnoli) used throughout the format.
func Checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// Size returns the encoded size of a record with a payload of n bytes,
// padded to blockSize.
func Size(n, blockSize int) int {
	raw := HeaderSize + n + TrailerSize
	return (raw + blockSize - 1) / blockSize * blockSize
}

// Encode writes the record into dst, which must be at least
// Size(len(payload), blockSize) bytes, and returns the encoded record (a
// prefix of dst). The padding is zeroed. h.Length is set from the payload.
func Encode(dst []byte, h Header, payload []byte, blockSize int) ([]byte, error) {
	return EncodeWithChecksum(dst, h, payload, Checksum(payload), blockSize)
}

// EncodeWithChecksum is Encode with the payload's checksum given instead of
// computed: sum must be Checksum(payload), which a caller that received the
// payload with its CRC32C and checked it as the bytes arrived already has.
// Storing the checksum that was checked on receipt, rather than one
// computed again from the buffer, also carries it end to end: if the
// buffer were damaged in between, every read would refuse the record
// instead of returning damaged bytes under a matching checksum.
//
// The payload may already sit where the record keeps it, at
// dst[HeaderSize:]: a caller that reads a blob from the network straight
// into a record-sized buffer saves copying it again. Then only the header,
// the trailer and the padding are written.
func EncodeWithChecksum(dst []byte, h Header, payload []byte, sum uint32, blockSize int) ([]byte, error) {
	if len(payload) > MaxPayload {
		return nil, fmt.Errorf("record: payload of %d bytes is over the %d-byte limit", len(payload), MaxPayload)
	}
	if !h.Type.known() {
		return nil, fmt.Errorf("record: cannot encode %v", h.Type)
	}
	size := Size(len(payload), blockSize)
	if len(dst) < size {
		return nil, fmt.Errorf("record: buffer of %d bytes is too small for a %d-byte record", len(dst), size)
	}
	b := dst[:size]
	h.Length = uint32(len(payload))
	putHeader(b, h)
	if len(payload) > 0 && &payload[0] != &b[HeaderSize] {
		copy(b[HeaderSize:], payload)
	}
	end := HeaderSize + len(payload)
	binary.LittleEndian.PutUint32(b[end:], sum)
	clear(b[end+TrailerSize:])
	return b, nil
}

func putHeader(b []byte, h Header) {
	le := binary.LittleEndian
	le.PutUint32(b[0:], Magic)
	b[4] = Version
	b[5] = byte(h.Type)
	le.PutUint16(b[6:], h.Flags)
	le.PutUint64(b[8:], h.Extent)
	copy(b[16:48], h.Key[:])
	le.PutUint32(b[48:], h.Length)
	le.PutUint32(b[52:], h.Seq)
	le.PutUint32(b[56:], 0)
	le.PutUint32(b[60:], Checksum(b[:60]))
}

// DecodeHeader decodes and verifies the header at the start of b. It does
// not read the payload.
func DecodeHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, ErrShort
	}
	le := binary.LittleEndian
	if le.Uint32(b[0:]) != Magic {
		return Header{}, ErrNoRecord
	}
	if le.Uint32(b[60:]) != Checksum(b[:60]) {
		return Header{}, ErrHeaderChecksum
	}
	if b[4] != Version {
		return Header{}, fmt.Errorf("%w %d (this build reads %d)", ErrVersion, b[4], Version)
	}
	if le.Uint32(b[56:]) != 0 {
		return Header{}, fmt.Errorf("%w: reserved header bytes are set", ErrVersion)
	}
	h := Header{
		Type:   Type(b[5]),
		Flags:  le.Uint16(b[6:]),
		Extent: le.Uint64(b[8:]),
		Length: le.Uint32(b[48:]),
		Seq:    le.Uint32(b[52:]),
	}
	copy(h.Key[:], b[16:48])
	if !h.Type.known() {
		return Header{}, ErrType
	}
	if h.Length > MaxPayload {
		return Header{}, ErrLength
	}
	return h, nil
}

// PayloadChecksum is the payload checksum stored in the record at the start
// of b, whose header is h: the CRC32C of the payload that Decode checked.
// b must hold the whole record.
func PayloadChecksum(b []byte, h Header) uint32 {
	return binary.LittleEndian.Uint32(b[HeaderSize+int(h.Length):])
}

// Decode decodes and verifies the record at the start of b and returns its
// header, its payload (a sub-slice of b) and its encoded size. b must hold
// the whole record; if it does not, Decode returns ErrShort and the size
// needed, so the caller can read more and retry.
func Decode(b []byte, blockSize int) (h Header, payload []byte, size int, err error) {
	h, err = DecodeHeader(b)
	if err != nil {
		return Header{}, nil, 0, err
	}
	size = Size(int(h.Length), blockSize)
	if len(b) < HeaderSize+int(h.Length)+TrailerSize {
		return h, nil, size, ErrShort
	}
	payload = b[HeaderSize : HeaderSize+int(h.Length)]
	if binary.LittleEndian.Uint32(b[HeaderSize+int(h.Length):]) != Checksum(payload) {
		return Header{}, nil, 0, ErrPayloadChecksum
	}
	return h, payload, size, nil
}

// IsCorrupt reports whether err from a decoder means a damaged record, as
// opposed to no record (ErrNoRecord) or a short buffer (ErrShort).
func IsCorrupt(err error) bool {
	return err != nil && !errors.Is(err, ErrNoRecord) && !errors.Is(err, ErrShort)
}
