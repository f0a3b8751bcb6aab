package erasure

import "fmt"

// DefaultChunkSize is the size of the records a shard is stored as: a
// shard extent is a run of whole chunks, each a record with its own CRC on
// the drive, so a read of a few bytes fetches (and checks) one chunk. 256
// KiB is large enough that a 1 GiB volume's shards are a few hundred
// records and small enough that a degraded read of one blob rebuilds
// little more than the blob.
const DefaultChunkSize = 256 << 10

// MaxChunkSize is the largest chunk size the volume header can record.
const MaxChunkSize = 1 << 30

// Layout maps a volume image onto the data shards of its code. Data shard i
// holds image bytes [i·ShardLen, (i+1)·ShardLen); past the end of the image
// the shards are zeros. Parity shards are ShardLen long too.
type Layout struct {
	// Data is k, the number of data shards.
	Data int
	// ImageLen is the length of the image in bytes.
	ImageLen int64
	// ChunkSize is the size of the records the shards are stored as.
	ChunkSize int64
	// ShardLen is the length of every shard: ImageLen/k rounded up to a
	// whole number of chunks, and at least one chunk (the coder needs
	// bytes, even for an empty image).
	ShardLen int64
}

// NewLayout lays an image of imageLen bytes out over k data shards of
// chunks of chunkSize bytes (0 means DefaultChunkSize).
func NewLayout(imageLen int64, k int, chunkSize int64) (Layout, error) {
	if chunkSize == 0 {
		chunkSize = DefaultChunkSize
	}
	switch {
	case k < 1 || k > MaxWidth:
		return Layout{}, fmt.Errorf("erasure: layout over %d data shards: need 1 to %d", k, MaxWidth)
	case chunkSize < 1 || chunkSize > MaxChunkSize:
		return Layout{}, fmt.Errorf("erasure: chunk size %d: need 1 to %d bytes", chunkSize, MaxChunkSize)
	case imageLen < 0 || imageLen > MaxImageLen:
		return Layout{}, fmt.Errorf("erasure: image of %d bytes: need 0 to %d", imageLen, int64(MaxImageLen))
	}
	per := (imageLen + int64(k) - 1) / int64(k)
	chunks := max(1, (per+chunkSize-1)/chunkSize)
	return Layout{Data: k, ImageLen: imageLen, ChunkSize: chunkSize, ShardLen: chunks * chunkSize}, nil
}

// MaxImageLen bounds a volume image. Volumes are about 1 GiB; the bound
// only keeps every offset computation far from overflowing.
const MaxImageLen = 1 << 40

// Chunks is the number of chunks in each shard.
func (l Layout) Chunks() int64 { return l.ShardLen / l.ChunkSize }

// Piece is the part of an image range that one data shard holds.
type Piece struct {
	// Shard is the data shard holding the bytes.
	Shard int
	// Offset is where they start in the shard.
	Offset int64
	// Len is how many there are.
	Len int64
	// ImageOffset is where they start in the image.
	ImageOffset int64
}

// Pieces splits image range [off, off+n) at data shard boundaries, in image
// order. A blob straddles at most two shards unless it is longer than a
// shard. n == 0 gives no pieces.
func (l Layout) Pieces(off, n int64) ([]Piece, error) {
	if off < 0 || n < 0 || off > l.ImageLen || n > l.ImageLen-off {
		return nil, fmt.Errorf("erasure: range [%d, %d+%d) is not within the image of %d bytes", off, off, n, l.ImageLen)
	}
	var pieces []Piece
	for n > 0 {
		shard := off / l.ShardLen
		in := off % l.ShardLen
		take := min(n, l.ShardLen-in)
		pieces = append(pieces, Piece{Shard: int(shard), Offset: in, Len: take, ImageOffset: off})
		off += take
		n -= take
	}
	return pieces, nil
}

// ChunkRange returns the first and last chunk (0-based, inclusive) holding
// shard bytes [shardOff, shardOff+n), which is what must be fetched to read
// them. For n <= 0 it returns last = first-1, an empty range.
func (l Layout) ChunkRange(shardOff, n int64) (first, last int64) {
	first = shardOff / l.ChunkSize
	if n <= 0 {
		return first, first - 1
	}
	return first, (shardOff + n - 1) / l.ChunkSize
}
