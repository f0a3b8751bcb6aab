package erasure

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
)

// Key names a blob within its volume.
type Key [32]byte

// String is the key in hex.
func (k Key) String() string { return hex.EncodeToString(k[:]) }

// Compare orders keys as the index does: bytewise.
func (k Key) Compare(o Key) int { return bytes.Compare(k[:], o[:]) }

// IndexEntryLen is the size of one encoded index entry (see FORMAT.md).
const IndexEntryLen = 48

// PageEntries is how many index entries make one index page: the volume
// header keeps the first key of each page, so a reader fetches one page
// (192 KiB, within one or two chunks) to find any blob.
const PageEntries = 4096

// castagnoli is the CRC32C table every checksum of this package uses: the
// same checksum the extent records and the data path carry.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// IndexEntry locates one blob in the volume image.
type IndexEntry struct {
	// Key is the blob's key.
	Key Key
	// Offset is where the blob starts in the image.
	Offset uint64
	// Len is the blob's length in bytes.
	Len uint32
	// CRC is the CRC32C of the blob's bytes.
	CRC uint32
}

// Verify checks blob against the entry's length and CRC.
func (e IndexEntry) Verify(blob []byte) error {
	if uint64(len(blob)) != uint64(e.Len) {
		return fmt.Errorf("erasure: blob %v: read %d bytes, the index says %d", e.Key, len(blob), e.Len)
	}
	if got := crc32.Checksum(blob, castagnoli); got != e.CRC {
		return fmt.Errorf("erasure: blob %v: CRC32C %08x, the index says %08x: the bytes read are damaged", e.Key, got, e.CRC)
	}
	return nil
}

// AppendIndexEntries appends the encoding of entries (sorted by key, see
// FORMAT.md) to dst. A page is PageEntries of them, or the rest.
func AppendIndexEntries(dst []byte, entries []IndexEntry) []byte {
	for _, e := range entries {
		dst = append(dst, e.Key[:]...)
		dst = binary.LittleEndian.AppendUint64(dst, e.Offset)
		dst = binary.LittleEndian.AppendUint32(dst, e.Len)
		dst = binary.LittleEndian.AppendUint32(dst, e.CRC)
	}
	return dst
}

// decodeEntry reads the entry at the start of b, which holds at least
// IndexEntryLen bytes.
func decodeEntry(b []byte) IndexEntry {
	var e IndexEntry
	copy(e.Key[:], b)
	e.Offset = binary.LittleEndian.Uint64(b[32:])
	e.Len = binary.LittleEndian.Uint32(b[40:])
	e.CRC = binary.LittleEndian.Uint32(b[44:])
	return e
}

// DecodeIndexPage decodes a page of index entries and checks what can be
// checked without the header: whole entries, keys strictly ascending, and
// each blob's range not wrapping around 2^64.
func DecodeIndexPage(b []byte) ([]IndexEntry, error) {
	if len(b)%IndexEntryLen != 0 {
		return nil, fmt.Errorf("erasure: index page of %d bytes is not a whole number of %d-byte entries", len(b), IndexEntryLen)
	}
	if len(b)/IndexEntryLen > PageEntries {
		return nil, fmt.Errorf("erasure: index page of %d entries: a page holds at most %d", len(b)/IndexEntryLen, PageEntries)
	}
	entries := make([]IndexEntry, len(b)/IndexEntryLen)
	for i := range entries {
		e := decodeEntry(b[i*IndexEntryLen:])
		if i > 0 && e.Key.Compare(entries[i-1].Key) <= 0 {
			return nil, fmt.Errorf("erasure: index page entry %d: key %v does not sort after %v", i, e.Key, entries[i-1].Key)
		}
		if e.Offset+uint64(e.Len) < e.Offset {
			return nil, fmt.Errorf("erasure: index page entry %d (key %v): offset %d + length %d overflows", i, e.Key, e.Offset, e.Len)
		}
		entries[i] = e
	}
	return entries, nil
}

// FindInPage looks key up in an encoded index page by binary search,
// decoding only the entry it lands on. It trusts the page to be sorted
// (the header's page CRC is what vouches for that; see Header.Find).
func FindInPage(page []byte, key Key) (IndexEntry, bool, error) {
	if len(page)%IndexEntryLen != 0 {
		return IndexEntry{}, false, fmt.Errorf("erasure: index page of %d bytes is not a whole number of %d-byte entries", len(page), IndexEntryLen)
	}
	n := len(page) / IndexEntryLen
	lo, hi := 0, n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if bytes.Compare(page[mid*IndexEntryLen:mid*IndexEntryLen+32], key[:]) < 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == n || !bytes.Equal(page[lo*IndexEntryLen:lo*IndexEntryLen+32], key[:]) {
		return IndexEntry{}, false, nil
	}
	return decodeEntry(page[lo*IndexEntryLen:]), true, nil
}

// pageCRC is the checksum the header keeps for each index page.
func pageCRC(page []byte) uint32 { return crc32.Checksum(page, castagnoli) }
