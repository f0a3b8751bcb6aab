package erasure

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"
)

// HeaderMagic opens every encoded volume header.
const HeaderMagic = "SHVH"

// HeaderVersion is the header format this package writes and reads.
const HeaderVersion = 1

// Header describes an encoded volume: how its image is coded and laid out,
// the checksum of every shard, and where its index is. It is small and is
// stored, whole, beside every shard, so any shard that survives says how to
// read the rest. FORMAT.md gives the bytes.
type Header struct {
	// Volume is the volume's id.
	Volume uint64
	// Scheme is the code the image is encoded with.
	Scheme Scheme
	// Generation is the volume's placement generation when it was encoded;
	// a shard whose header carries an older one is fenced.
	Generation uint64
	// ImageLen is the image's length: blob data, then the index.
	ImageLen int64
	// ShardLen is every shard's length (see Layout).
	ShardLen int64
	// ChunkSize is the size of the records shards are stored as.
	ChunkSize int64
	// BlobCount is the number of blobs, and of index entries.
	BlobCount uint64
	// IndexOffset is where the index starts in the image; the blob data is
	// the image before it.
	IndexOffset int64
	// IndexLen is the index's length: BlobCount·IndexEntryLen.
	IndexLen int64
	// ShardCRCs holds the CRC32C of each whole shard, in shard order, so a
	// scrub or a repair can check a shard without decoding anything.
	ShardCRCs []uint32
	// Fences holds one entry per index page (PageEntries entries).
	Fences []Fence
}

// Fence is what the header keeps of one index page.
type Fence struct {
	// First is the first key on the page: a key belongs on the last page
	// whose First is not above it.
	First Key
	// CRC is the CRC32C of the page's bytes. The index is inside the
	// image, whose shards are checked only whole; this lets a reader that
	// fetched one page trust its binary search.
	CRC uint32
}

// PageRef is the index page a key would be on, as a range of the image.
type PageRef struct {
	// Page is the page's number.
	Page int
	// Offset is where the page starts in the image.
	Offset int64
	// Len is the page's length in bytes.
	Len int64
}

// headerFixedLen is the size of the fixed fields before the scheme name.
const headerFixedLen = 74

// maxSchemeName bounds the scheme name field; "LRC(255,255,255)" is 16.
const maxSchemeName = 32

// Layout returns the layout the header describes.
func (h *Header) Layout() Layout {
	return Layout{Data: h.Scheme.Data, ImageLen: h.ImageLen, ChunkSize: h.ChunkSize, ShardLen: h.ShardLen}
}

// Validate checks that the fields agree with each other; DecodeHeader and
// EncodeHeader both call it.
func (h *Header) Validate() error {
	s := h.Scheme
	if err := s.Validate(); err != nil {
		return err
	}
	l, err := NewLayout(h.ImageLen, s.Data, h.ChunkSize)
	switch {
	case h.ChunkSize == 0:
		return fmt.Errorf("erasure: header: chunk size is 0")
	case err != nil:
		return fmt.Errorf("erasure: header: %w", err)
	case h.ShardLen != l.ShardLen:
		return fmt.Errorf("erasure: header: shard length %d, but %d bytes over %d data shards in %d-byte chunks make %d",
			h.ShardLen, h.ImageLen, s.Data, h.ChunkSize, l.ShardLen)
	case h.BlobCount > uint64(h.ImageLen)/IndexEntryLen || h.IndexLen != int64(h.BlobCount)*IndexEntryLen:
		return fmt.Errorf("erasure: header: index of %d bytes for %d blobs (each entry is %d bytes) in an image of %d",
			h.IndexLen, h.BlobCount, IndexEntryLen, h.ImageLen)
	case h.IndexOffset < 0 || h.IndexOffset != h.ImageLen-h.IndexLen:
		return fmt.Errorf("erasure: header: index at %d+%d, but the index ends the image at %d", h.IndexOffset, h.IndexLen, h.ImageLen)
	case len(h.ShardCRCs) != s.Width():
		return fmt.Errorf("erasure: header: %d shard CRCs for the %d shards of %v", len(h.ShardCRCs), s.Width(), s)
	case uint64(len(h.Fences)) != (h.BlobCount+PageEntries-1)/PageEntries:
		return fmt.Errorf("erasure: header: %d fences for %d blobs (one per %d)", len(h.Fences), h.BlobCount, PageEntries)
	}
	for i := 1; i < len(h.Fences); i++ {
		if h.Fences[i].First.Compare(h.Fences[i-1].First) <= 0 {
			return fmt.Errorf("erasure: header: fence %d (%v) does not sort after fence %d (%v)", i, h.Fences[i].First, i-1, h.Fences[i-1].First)
		}
	}
	return nil
}

// EncodeHeader returns the header's bytes (FORMAT.md).
func EncodeHeader(h *Header) ([]byte, error) {
	if err := h.Validate(); err != nil {
		return nil, err
	}
	name := h.Scheme.String()
	b := make([]byte, headerFixedLen, headerFixedLen+len(name)+4*len(h.ShardCRCs)+36*len(h.Fences)+4)
	copy(b, HeaderMagic)
	le := binary.LittleEndian
	le.PutUint16(b[4:], HeaderVersion)
	b[6] = byte(len(name))
	le.PutUint64(b[8:], h.Volume)
	le.PutUint64(b[16:], h.Generation)
	le.PutUint64(b[24:], uint64(h.ImageLen))
	le.PutUint64(b[32:], uint64(h.ShardLen))
	le.PutUint32(b[40:], uint32(h.ChunkSize))
	le.PutUint32(b[44:], uint32(len(h.Fences)))
	le.PutUint64(b[48:], h.BlobCount)
	le.PutUint64(b[56:], uint64(h.IndexOffset))
	le.PutUint64(b[64:], uint64(h.IndexLen))
	le.PutUint16(b[72:], uint16(len(h.ShardCRCs)))
	b = append(b, name...)
	for _, c := range h.ShardCRCs {
		b = le.AppendUint32(b, c)
	}
	for _, f := range h.Fences {
		b = append(b, f.First[:]...)
		b = le.AppendUint32(b, f.CRC)
	}
	return le.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
}

// DecodeHeader parses a header, checking its magic, version, checksum and
// that its fields agree (Validate). It never panics, whatever b holds, and
// an error says what is wrong.
func DecodeHeader(b []byte) (*Header, error) {
	const minLen = headerFixedLen + 4
	if len(b) < minLen {
		return nil, fmt.Errorf("erasure: header of %d bytes: it is at least %d", len(b), minLen)
	}
	if string(b[:4]) != HeaderMagic {
		return nil, fmt.Errorf("erasure: header starts %q, not %q: not a volume header", b[:4], HeaderMagic)
	}
	le := binary.LittleEndian
	if v := le.Uint16(b[4:]); v != HeaderVersion {
		return nil, fmt.Errorf("erasure: header version %d: this reader knows version %d", v, HeaderVersion)
	}
	body := b[:len(b)-4]
	if got, want := crc32.Checksum(body, castagnoli), le.Uint32(b[len(b)-4:]); got != want {
		return nil, fmt.Errorf("erasure: header CRC32C is %08x, the header says %08x: damaged or truncated", got, want)
	}
	if b[7] != 0 {
		return nil, fmt.Errorf("erasure: header reserved byte 7 is %d, not 0", b[7])
	}
	nameLen := int(b[6])
	shards := int(le.Uint16(b[72:]))
	fences := int64(le.Uint32(b[44:]))
	if nameLen < 1 || nameLen > maxSchemeName {
		return nil, fmt.Errorf("erasure: header scheme name of %d bytes: need 1 to %d", nameLen, maxSchemeName)
	}
	want := int64(headerFixedLen+nameLen+4*shards) + 36*fences
	if int64(len(body)) != want {
		return nil, fmt.Errorf("erasure: header of %d bytes, but a %d-byte scheme name, %d shard CRCs and %d fences make %d",
			len(b), nameLen, shards, fences, want+4)
	}
	name := string(body[headerFixedLen : headerFixedLen+nameLen])
	s, err := ParseScheme(name)
	if err != nil {
		return nil, fmt.Errorf("erasure: header: %w", err)
	}
	if s.String() != name {
		// One scheme, one spelling: "RS(06,3)" would otherwise decode, and
		// re-encode differently.
		return nil, fmt.Errorf("erasure: header scheme %q is not written the usual way, %q", name, s.String())
	}
	h := &Header{
		Volume:      le.Uint64(b[8:]),
		Scheme:      s,
		Generation:  le.Uint64(b[16:]),
		ImageLen:    int64(le.Uint64(b[24:])),
		ShardLen:    int64(le.Uint64(b[32:])),
		ChunkSize:   int64(le.Uint32(b[40:])),
		BlobCount:   le.Uint64(b[48:]),
		IndexOffset: int64(le.Uint64(b[56:])),
		IndexLen:    int64(le.Uint64(b[64:])),
		ShardCRCs:   make([]uint32, shards),
		Fences:      make([]Fence, fences),
	}
	// Lengths above 2^63 turn negative here, which Validate rejects.
	rest := body[headerFixedLen+nameLen:]
	for i := range h.ShardCRCs {
		h.ShardCRCs[i] = le.Uint32(rest[4*i:])
	}
	rest = rest[4*shards:]
	for i := range h.Fences {
		copy(h.Fences[i].First[:], rest[36*i:])
		h.Fences[i].CRC = le.Uint32(rest[36*i+32:])
	}
	if err := h.Validate(); err != nil {
		return nil, err
	}
	return h, nil
}

// CheckShard checks a whole shard against its length and CRC32C.
func (h *Header) CheckShard(i int, shard []byte) error {
	if i < 0 || i >= len(h.ShardCRCs) {
		return fmt.Errorf("erasure: volume %d has no shard %d", h.Volume, i)
	}
	if int64(len(shard)) != h.ShardLen {
		return fmt.Errorf("erasure: volume %d shard %d: %d bytes, the header says %d", h.Volume, i, len(shard), h.ShardLen)
	}
	if got := crc32.Checksum(shard, castagnoli); got != h.ShardCRCs[i] {
		return fmt.Errorf("erasure: volume %d shard %d: CRC32C %08x, the header says %08x: the shard is damaged", h.Volume, i, got, h.ShardCRCs[i])
	}
	return nil
}

// Lookup says which index page would hold key, as a range of the image to
// fetch: the last page whose fence is not above key. ok is false when no
// page can (no blobs, or key sorts before the first).
func (h *Header) Lookup(key Key) (ref PageRef, ok bool) {
	// The first fence above key; the page before it is the one.
	p, _ := slices.BinarySearchFunc(h.Fences, key, func(f Fence, k Key) int {
		if f.First.Compare(k) <= 0 {
			return -1
		}
		return 1
	})
	if p == 0 {
		return PageRef{}, false
	}
	p--
	entries := min(uint64(PageEntries), h.BlobCount-uint64(p)*PageEntries)
	return PageRef{
		Page:   p,
		Offset: h.IndexOffset + int64(p)*PageEntries*IndexEntryLen,
		Len:    int64(entries) * IndexEntryLen,
	}, true
}

// Find looks key up in the index page ref (from Lookup) after checking the
// page's length and CRC32C against the header, and checks that the entry
// found points into the blob data. found is false when the key is not in
// the volume.
func (h *Header) Find(ref PageRef, page []byte, key Key) (e IndexEntry, found bool, err error) {
	if ref.Page < 0 || ref.Page >= len(h.Fences) {
		return e, false, fmt.Errorf("erasure: volume %d has no index page %d", h.Volume, ref.Page)
	}
	if int64(len(page)) != ref.Len {
		return e, false, fmt.Errorf("erasure: volume %d index page %d: %d bytes, expected %d", h.Volume, ref.Page, len(page), ref.Len)
	}
	if got := pageCRC(page); got != h.Fences[ref.Page].CRC {
		return e, false, fmt.Errorf("erasure: volume %d index page %d: CRC32C %08x, the header says %08x: the page is damaged", h.Volume, ref.Page, got, h.Fences[ref.Page].CRC)
	}
	e, found, err = FindInPage(page, key)
	if err != nil || !found {
		return e, found, err
	}
	if e.Offset > uint64(h.IndexOffset) || uint64(e.Len) > uint64(h.IndexOffset)-e.Offset {
		return e, false, fmt.Errorf("erasure: volume %d blob %v at %d+%d lies outside the blob data (%d bytes)", h.Volume, key, e.Offset, e.Len, h.IndexOffset)
	}
	return e, true, nil
}
