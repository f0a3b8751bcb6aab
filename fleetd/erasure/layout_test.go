package erasure

import (
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func TestNewLayout(t *testing.T) {
	for _, tc := range []struct {
		image, chunk, shard int64
		k                   int
	}{
		{0, 0, DefaultChunkSize, 6}, // empty image: one chunk
		{1, 0, DefaultChunkSize, 6}, // one byte
		{6 * DefaultChunkSize, 0, DefaultChunkSize, 6},
		{6*DefaultChunkSize + 1, 0, 2 * DefaultChunkSize, 6},
		{1 << 30, 0, 683 * DefaultChunkSize, 6},  // 1 GiB / 6 = 682.67 chunks
		{1 << 30, 0, 342 * DefaultChunkSize, 12}, // 1 GiB / 12 = 341.33 chunks
		{100, 7, 21, 5},
	} {
		l, err := NewLayout(tc.image, tc.k, tc.chunk)
		if err != nil || l.ShardLen != tc.shard {
			t.Errorf("NewLayout(%d, %d, %d) = %+v, %v; want shards of %d", tc.image, tc.k, tc.chunk, l, err, tc.shard)
		}
	}
	for _, tc := range []struct {
		image, chunk int64
		k            int
		want         string
	}{
		{-1, 0, 6, "image of -1 bytes"},
		{MaxImageLen + 1, 0, 6, "image of 1099511627777 bytes"},
		{10, -1, 6, "chunk size -1"},
		{10, MaxChunkSize + 1, 6, "chunk size 1073741825"},
		{10, 0, 0, "over 0 data shards"},
	} {
		if _, err := NewLayout(tc.image, tc.k, tc.chunk); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewLayout(%d, %d, %d): %v, want an error saying %q", tc.image, tc.k, tc.chunk, err, tc.want)
		}
	}
}

// TestPiecesCoverTheRange: the pieces of any range are contiguous, in image
// order, each within one data shard and at the offset the layout rule puts
// it, and together exactly the range; their chunks are the chunks holding
// them.
func TestPiecesCoverTheRange(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		k := rapid.IntRange(1, 16).Draw(rt, "k")
		chunk := rapid.Int64Range(1, 64).Draw(rt, "chunk")
		image := rapid.Int64Range(0, 5000).Draw(rt, "image")
		l, err := NewLayout(image, k, chunk)
		if err != nil {
			rt.Fatal(err)
		}
		if l.ShardLen%chunk != 0 || l.ShardLen*int64(k) < image || l.ShardLen-chunk >= max((image+int64(k)-1)/int64(k), 1) {
			rt.Fatalf("shard length %d for %d bytes over %d shards in chunks of %d", l.ShardLen, image, k, chunk)
		}
		off := rapid.Int64Range(0, image).Draw(rt, "off")
		n := rapid.Int64Range(0, image-off).Draw(rt, "n")
		pieces, err := l.Pieces(off, n)
		if err != nil {
			rt.Fatal(err)
		}
		at := off
		for _, p := range pieces {
			if p.ImageOffset != at || p.Len <= 0 {
				rt.Fatalf("piece %+v: expected one starting at %d", p, at)
			}
			if int64(p.Shard)*l.ShardLen+p.Offset != p.ImageOffset || p.Offset+p.Len > l.ShardLen || p.Shard >= k {
				rt.Fatalf("piece %+v is not where the layout puts image byte %d", p, at)
			}
			first, last := l.ChunkRange(p.Offset, p.Len)
			if first*chunk > p.Offset || (last+1)*chunk < p.Offset+p.Len || last >= l.Chunks() ||
				(first+1)*chunk <= p.Offset || last*chunk >= p.Offset+p.Len {
				rt.Fatalf("piece %+v: chunks %d..%d of %d bytes do not tightly hold it", p, first, last, chunk)
			}
			at += p.Len
		}
		if at != off+n {
			rt.Fatalf("pieces of [%d,+%d) end at %d", off, n, at)
		}
	})
}

func TestPiecesRejectRangesOutsideTheImage(t *testing.T) {
	l, _ := NewLayout(1000, 6, 64)
	for _, r := range [][2]int64{{-1, 1}, {0, 1001}, {1000, 1}, {1001, 0}, {10, -1}, {1, 1<<63 - 1}} {
		if _, err := l.Pieces(r[0], r[1]); err == nil || !strings.Contains(err.Error(), "not within the image of 1000 bytes") {
			t.Errorf("Pieces(%d, %d): %v", r[0], r[1], err)
		}
	}
	if first, last := l.ChunkRange(130, 0); last != first-1 || first != 2 {
		t.Errorf("ChunkRange of nothing = %d, %d", first, last)
	}
}
