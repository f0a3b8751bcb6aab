package erasure

import (
	"fmt"
	"hash/crc32"
	"slices"
)

// MaxBlobLen is the largest blob a Builder takes: blobs are at most 4 MiB.
const MaxBlobLen = 4 << 20

// Builder makes the encoded form of a sealed volume from its live blobs:
// the image (the blobs one after another, in the order added, then the
// index sorted by key), its shards and the header that goes with each.
//
// It holds the image in memory (a volume is about 1 GiB), in a buffer laid
// out as the data shards so that encoding copies nothing. It cannot write
// shards as blobs arrive: where a byte lands depends on the shard length,
// which depends on the total size. A caller that knows the total (a sealed
// replica's size bounds it) can pass it as the size hint to avoid
// regrowing the buffer.
type Builder struct {
	codec      *Codec
	volume     uint64
	generation uint64
	chunkSize  int64
	data       []byte
	entries    []IndexEntry
}

// BuilderOptions describe the volume a Builder encodes.
type BuilderOptions struct {
	// Volume is the volume's id and Generation its placement generation,
	// both recorded in the header.
	Volume, Generation uint64
	// ChunkSize is the shards' record size; 0 means DefaultChunkSize.
	ChunkSize int64
	// SizeHint is the expected total of the blobs' lengths, if known: the
	// image buffer starts that large, with room for an index and the
	// padding, so that it is rarely regrown (a regrowth copies it).
	SizeHint int64
}

// NewBuilder returns a Builder that encodes with codec.
func NewBuilder(codec *Codec, o BuilderOptions) (*Builder, error) {
	if o.ChunkSize == 0 {
		o.ChunkSize = DefaultChunkSize
	}
	if o.ChunkSize < 1 || o.ChunkSize > MaxChunkSize {
		return nil, fmt.Errorf("erasure: chunk size %d: need 1 to %d bytes", o.ChunkSize, MaxChunkSize)
	}
	hint := min(max(o.SizeHint, 0), MaxImageLen)
	if hint > 0 {
		// The index takes 48 bytes a blob: 1/32 covers blobs of 1.5 KiB
		// and up. The padding is less than a chunk per data shard.
		hint += hint/32 + int64(codec.Scheme().Data)*o.ChunkSize
	}
	return &Builder{
		codec: codec, volume: o.Volume, generation: o.Generation, chunkSize: o.ChunkSize,
		data: make([]byte, 0, hint),
	}, nil
}

// Add appends one blob. The bytes are copied; keys must be distinct (Finish
// says which is not).
func (b *Builder) Add(key Key, blob []byte) error {
	if len(blob) > MaxBlobLen {
		return fmt.Errorf("erasure: blob %v of %d bytes: blobs are at most %d", key, len(blob), MaxBlobLen)
	}
	if int64(len(b.data))+int64(len(blob))+int64(len(b.entries)+1)*IndexEntryLen > MaxImageLen {
		return fmt.Errorf("erasure: blob %v would make the image larger than %d bytes", key, int64(MaxImageLen))
	}
	b.entries = append(b.entries, IndexEntry{
		Key: key, Offset: uint64(len(b.data)), Len: uint32(len(blob)),
		CRC: crc32.Checksum(blob, castagnoli),
	})
	b.data = append(b.data, blob...)
	return nil
}

// Encoded is a volume ready to be written: a header and Width() shards,
// each shard to be stored with the header beside it.
type Encoded struct {
	// Header describes the volume; EncodeHeader gives its bytes.
	Header *Header
	// Image is the volume image, ImageLen bytes. It shares memory with
	// the data shards.
	Image []byte
	// Shards are the shards in shard order, ShardLen bytes each.
	Shards [][]byte
}

// Finish sorts the index, lays the image out, encodes it and returns the
// result. The Builder must not be used after.
func (b *Builder) Finish() (*Encoded, error) {
	slices.SortFunc(b.entries, func(x, y IndexEntry) int { return x.Key.Compare(y.Key) })
	for i := 1; i < len(b.entries); i++ {
		if b.entries[i].Key == b.entries[i-1].Key {
			return nil, fmt.Errorf("erasure: blob %v was added twice", b.entries[i].Key)
		}
	}
	s := b.codec.Scheme()
	indexOff := int64(len(b.data))
	indexLen := int64(len(b.entries)) * IndexEntryLen
	l, err := NewLayout(indexOff+indexLen, s.Data, b.chunkSize)
	if err != nil {
		return nil, err
	}
	// One buffer for all the data shards, so the image is the front of it
	// and the zero padding after the image is the rest.
	total := l.ShardLen * int64(s.Data)
	buf := slices.Grow(b.data, int(total)-len(b.data))
	buf = AppendIndexEntries(buf, b.entries)
	buf = buf[:total]
	clear(buf[l.ImageLen:])
	b.data = nil

	h := &Header{
		Volume: b.volume, Scheme: s, Generation: b.generation,
		ImageLen: l.ImageLen, ShardLen: l.ShardLen, ChunkSize: l.ChunkSize,
		BlobCount: uint64(len(b.entries)), IndexOffset: indexOff, IndexLen: indexLen,
		ShardCRCs: make([]uint32, s.Width()),
	}
	index := buf[indexOff:l.ImageLen]
	for p := 0; p*PageEntries < len(b.entries); p++ {
		n := min(PageEntries, len(b.entries)-p*PageEntries)
		page := index[p*PageEntries*IndexEntryLen:][:n*IndexEntryLen]
		h.Fences = append(h.Fences, Fence{First: b.entries[p*PageEntries].Key, CRC: pageCRC(page)})
	}
	shards := make([][]byte, s.Width())
	for i := range s.Data {
		shards[i] = buf[int64(i)*l.ShardLen : int64(i+1)*l.ShardLen : int64(i+1)*l.ShardLen]
	}
	if err := b.codec.Encode(shards); err != nil {
		return nil, err
	}
	for i, sh := range shards {
		h.ShardCRCs[i] = crc32.Checksum(sh, castagnoli)
	}
	if err := h.Validate(); err != nil {
		return nil, fmt.Errorf("erasure: builder made a bad header (a bug): %w", err)
	}
	return &Encoded{Header: h, Image: buf[:l.ImageLen:l.ImageLen], Shards: shards}, nil
}
