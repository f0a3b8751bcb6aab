package record

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A summary is what recovery needs to know about a sealed extent without
// reading it: for every blob, tombstone and origin record before the seal,
// its type, key, place and length, with the small payloads of tombstones
// and origins inline. Seal writes it just before the seal record, and the
// seal points at it (Seal.SummaryOffset). A blob costs 48 bytes of summary
// against at least one 4 KiB block of extent, so reading summaries instead
// of extents cuts the bytes a restart reads by a factor of 85 or more.
//
// A summary payload is a 4-byte entry count, 4 zero bytes, then the
// entries. An entry is
//
//	offset size field
//	0      1    record type (blob, tombstone or origin)
//	1      3    zero
//	4      4    the record's payload length
//	8      8    the record's offset in its extent
//	16     32   the record's key
//	48     n    tombstone and origin only: their payload (n = length)
//
// A summary longer than MaxPayload is split over several summary records,
// each a whole number of entries.

// SummaryEntryHeaderSize is the size of an entry without its inline payload.
const SummaryEntryHeaderSize = 48

// summaryPrefix is the size of a summary payload's count and zero bytes.
const summaryPrefix = 8

// SummaryEntry describes one record of a sealed extent.
type SummaryEntry struct {
	// Type is TypeBlob, TypeTombstone or TypeOrigin.
	Type Type
	// Offset is the record's byte offset in its extent.
	Offset int64
	// Length is the record's payload length.
	Length uint32
	// Key is the record's key (zero for an origin).
	Key Key
	// Inline is the payload of a tombstone or origin record; nil for a
	// blob.
	Inline []byte
}

// Size is the encoded size of the entry.
func (e SummaryEntry) Size() int { return SummaryEntryHeaderSize + len(e.Inline) }

// inlineLength is the payload a summary carries inline for a record type,
// and whether the type belongs in a summary at all.
func inlineLength(t Type, length uint32) (int, bool) {
	switch t {
	case TypeBlob:
		return 0, true
	case TypeTombstone, TypeOrigin:
		return int(length), true
	}
	return 0, false
}

// Summarized reports whether a record of type t has a summary entry.
func Summarized(t Type) bool {
	_, ok := inlineLength(t, 0)
	return ok
}

// SummaryBuilder splits entries into summary payloads of at most MaxPayload
// bytes.
type SummaryBuilder struct {
	chunks [][]byte
	cur    []byte
	n      uint32
}

// Add appends an entry.
func (b *SummaryBuilder) Add(e SummaryEntry) {
	if b.cur == nil || len(b.cur)+e.Size() > MaxPayload {
		b.flush()
		b.cur = make([]byte, summaryPrefix, 64<<10)
	}
	var h [SummaryEntryHeaderSize]byte
	h[0] = byte(e.Type)
	binary.LittleEndian.PutUint32(h[4:], e.Length)
	binary.LittleEndian.PutUint64(h[8:], uint64(e.Offset))
	copy(h[16:], e.Key[:])
	b.cur = append(b.cur, h[:]...)
	b.cur = append(b.cur, e.Inline...)
	b.n++
}

func (b *SummaryBuilder) flush() {
	if b.cur != nil {
		binary.LittleEndian.PutUint32(b.cur, b.n)
		b.chunks = append(b.chunks, b.cur)
	}
	b.cur, b.n = nil, 0
}

// Payloads returns the summary payloads, one per summary record, in order.
// An empty summary is one payload with no entries.
func (b *SummaryBuilder) Payloads() [][]byte {
	if b.cur == nil && len(b.chunks) == 0 {
		b.cur = make([]byte, summaryPrefix)
	}
	b.flush()
	return b.chunks
}

// SummaryRecordsSize is an upper bound on the encoded size (padding
// included) of the summary records holding entries of entryBytes bytes in
// all, so an extent can keep room for its summary as it fills.
func SummaryRecordsSize(entryBytes int64, blockSize int) int64 {
	chunks := entryBytes/(MaxPayload-summaryPrefix-SummaryEntryHeaderSize-32) + 1
	return entryBytes + chunks*int64(summaryPrefix+HeaderSize+TrailerSize+blockSize)
}

// ErrSummary means a summary payload is malformed.
var ErrSummary = errors.New("record: malformed summary")

// EachSummaryEntry decodes a summary payload and calls fn for each entry
// until fn returns false. The entry's Inline aliases b. It returns an error
// wrapping ErrSummary, before calling fn at all, if the payload is
// malformed.
func EachSummaryEntry(b []byte, fn func(SummaryEntry) bool) error {
	if err := walkSummary(b, nil); err != nil {
		return err
	}
	return walkSummary(b, fn)
}

// walkSummary decodes a summary payload, calling fn (if not nil) for each
// entry until it returns false.
func walkSummary(b []byte, fn func(SummaryEntry) bool) error {
	le := binary.LittleEndian
	if len(b) < summaryPrefix {
		return fmt.Errorf("%w: %d bytes, too short for its count", ErrSummary, len(b))
	}
	if le.Uint32(b[4:]) != 0 {
		return fmt.Errorf("%w: reserved bytes are not zero", ErrSummary)
	}
	count := int(le.Uint32(b))
	if count > (len(b)-summaryPrefix)/SummaryEntryHeaderSize {
		return fmt.Errorf("%w: %d entries cannot fit in %d bytes", ErrSummary, count, len(b))
	}
	pos := summaryPrefix
	for i := range count {
		if len(b)-pos < SummaryEntryHeaderSize {
			return fmt.Errorf("%w: entry %d is cut off", ErrSummary, i)
		}
		h := b[pos : pos+SummaryEntryHeaderSize]
		e := SummaryEntry{Type: Type(h[0]), Length: le.Uint32(h[4:]), Offset: int64(le.Uint64(h[8:]))}
		copy(e.Key[:], h[16:48])
		n, ok := inlineLength(e.Type, e.Length)
		switch {
		case !ok:
			return fmt.Errorf("%w: entry %d has record type %v", ErrSummary, i, e.Type)
		case h[1] != 0 || h[2] != 0 || h[3] != 0:
			return fmt.Errorf("%w: entry %d has non-zero reserved bytes", ErrSummary, i)
		case e.Length > MaxPayload || e.Offset < 0:
			return fmt.Errorf("%w: entry %d has length %d at offset %d", ErrSummary, i, e.Length, e.Offset)
		case n > len(b)-pos-SummaryEntryHeaderSize:
			return fmt.Errorf("%w: entry %d's %d inline bytes are cut off", ErrSummary, i, n)
		}
		pos += SummaryEntryHeaderSize
		if n > 0 {
			e.Inline = b[pos : pos+n : pos+n]
			pos += n
		}
		if fn != nil && !fn(e) {
			return nil
		}
	}
	if pos != len(b) {
		return fmt.Errorf("%w: %d bytes follow the last entry", ErrSummary, len(b)-pos)
	}
	return nil
}
