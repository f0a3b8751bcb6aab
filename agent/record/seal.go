package record

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// SealSize is the size of a seal record's payload.
const SealSize = 24

// Seal is the payload of the record that ends an extent. It lets a reader
// check that it has every record of a sealed extent, and that none changed:
// erasure coding and repair read sealed extents by byte range and rely on it.
type Seal struct {
	// Records is the number of records before the seal.
	Records uint64
	// Bytes is the encoded size of those records, padding included: the
	// seal record starts at this offset in the extent.
	Bytes uint64
	// Checksum chains CRC32C over every record before the seal, in order
	// (see Chain).
	Checksum uint32
}

// Chain extends a running extent checksum with one encoded record: CRC32C
// continued over the record's header without its checksum (bytes 0..60)
// and its payload, leaving out both checksums and the padding. The checksum
// of an empty extent is 0.
//
// The record's own checksums must stay out: a CRC over a message followed by
// its own CRC is a constant, so chaining whole records would not notice a
// valid record replaced by another valid record of the same size, or two
// such records swapped.
func Chain(running uint32, encoded []byte) uint32 {
	n := int(binary.LittleEndian.Uint32(encoded[48:]))
	running = crc32.Update(running, castagnoli, encoded[:60])
	return crc32.Update(running, castagnoli, encoded[HeaderSize:HeaderSize+n])
}

// Marshal encodes the seal payload.
func (s Seal) Marshal() []byte {
	b := make([]byte, SealSize)
	le := binary.LittleEndian
	le.PutUint64(b[0:], s.Records)
	le.PutUint64(b[8:], s.Bytes)
	le.PutUint32(b[16:], s.Checksum)
	return b
}

// UnmarshalSeal decodes a seal payload.
func UnmarshalSeal(b []byte) (Seal, error) {
	if len(b) != SealSize {
		return Seal{}, fmt.Errorf("record: seal payload of %d bytes, want %d", len(b), SealSize)
	}
	le := binary.LittleEndian
	if le.Uint32(b[20:]) != 0 {
		return Seal{}, fmt.Errorf("record: seal payload has non-zero reserved bytes")
	}
	return Seal{Records: le.Uint64(b[0:]), Bytes: le.Uint64(b[8:]), Checksum: le.Uint32(b[16:])}, nil
}
