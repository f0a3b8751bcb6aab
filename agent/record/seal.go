package record

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Sizes of a seal record's payload: SealSize with a pointer to the
// extent's summary, SealSizeV1 without (an extent sealed without room for
// its summary, or by an older agent).
const (
	SealSize   = 40
	SealSizeV1 = 24
)

// Seal is the payload of the record that ends an extent. It lets a reader
// check that it has every record of a sealed extent, and that none changed:
// erasure coding and repair read sealed extents by byte range and rely on it.
type Seal struct {
	// Records is the number of records before the seal.
	Records uint64
	// Bytes is the encoded size of those records, padding included: the
	// seal record starts at this offset in the extent.
	Bytes uint64
	// Checksum chains CRC32C over every record before the seal, in drive
	// order (see Chain).
	Checksum uint32
	// SummaryRecords is the number of summary records that end the
	// extent just before the seal, in the same zone; 0 when the extent has
	// no summary and recovery must read it all.
	SummaryRecords uint32
	// SummaryOffset is the offset in the extent of the first of them.
	SummaryOffset int64
}

// Chain extends a running extent checksum with one encoded record found at
// byte offset off of its extent: CRC32C continued over off (8 bytes), the
// record's header checksum and its payload checksum (4 bytes each, as
// stored), all little-endian. The checksum of an empty extent is 0. Chained
// over an extent's records in drive order, it changes when a record is
// lost, moved, or replaced by another (a valid record of the same size
// included), yet a writer can compute it from the records' own checksums
// without reading the extent back; see ChainSums.
func Chain(running uint32, off int64, encoded []byte) uint32 {
	n := int(binary.LittleEndian.Uint32(encoded[48:]))
	return ChainSums(running, off, binary.LittleEndian.Uint32(encoded[60:]),
		binary.LittleEndian.Uint32(encoded[HeaderSize+n:]))
}

// ChainSums is Chain for a record known by its offset and its header and
// payload checksums.
func ChainSums(running uint32, off int64, headerCRC, payloadCRC uint32) uint32 {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[0:], uint64(off))
	binary.LittleEndian.PutUint32(b[8:], headerCRC)
	binary.LittleEndian.PutUint32(b[12:], payloadCRC)
	return crc32.Update(running, castagnoli, b[:])
}

// Marshal encodes the seal payload: SealSize bytes, or SealSizeV1 when
// there is no summary.
func (s Seal) Marshal() []byte {
	n := SealSize
	if s.SummaryRecords == 0 {
		n = SealSizeV1
	}
	b := make([]byte, n)
	le := binary.LittleEndian
	le.PutUint64(b[0:], s.Records)
	le.PutUint64(b[8:], s.Bytes)
	le.PutUint32(b[16:], s.Checksum)
	if n == SealSize {
		le.PutUint32(b[20:], s.SummaryRecords)
		le.PutUint64(b[24:], uint64(s.SummaryOffset))
	}
	return b
}

// UnmarshalSeal decodes a seal payload.
func UnmarshalSeal(b []byte) (Seal, error) {
	if len(b) != SealSize && len(b) != SealSizeV1 {
		return Seal{}, fmt.Errorf("record: seal payload of %d bytes, want %d or %d", len(b), SealSize, SealSizeV1)
	}
	le := binary.LittleEndian
	s := Seal{Records: le.Uint64(b[0:]), Bytes: le.Uint64(b[8:]), Checksum: le.Uint32(b[16:])}
	if len(b) == SealSizeV1 {
		if le.Uint32(b[20:]) != 0 {
			return Seal{}, fmt.Errorf("record: seal payload has non-zero reserved bytes")
		}
		return s, nil
	}
	s.SummaryRecords = le.Uint32(b[20:])
	s.SummaryOffset = int64(le.Uint64(b[24:]))
	if s.SummaryRecords == 0 || s.SummaryOffset < 0 || le.Uint64(b[32:]) != 0 {
		return Seal{}, fmt.Errorf("record: seal payload has a bad summary pointer or non-zero reserved bytes")
	}
	return s, nil
}
