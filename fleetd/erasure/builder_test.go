package erasure

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// volumeReader reads image ranges from a volume's shards the way a
// degraded read does: straight from the data shard that holds the bytes,
// or, when that shard is lost, by rebuilding the same byte range from the
// others.
type volumeReader struct {
	codec  *Codec
	header *Header
	shards [][]byte // nil for a lost shard
	pages  map[int][]byte
}

func (r *volumeReader) read(t tb, off, n int64) []byte {
	t.Helper()
	pieces, err := r.header.Layout().Pieces(off, n)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, p := range pieces {
		if sh := r.shards[p.Shard]; sh != nil {
			out = append(out, sh[p.Offset:p.Offset+p.Len]...)
			continue
		}
		part := make([][]byte, len(r.shards))
		for i, sh := range r.shards {
			if sh != nil {
				part[i] = sh[p.Offset : p.Offset+p.Len]
			}
		}
		if err := r.codec.Reconstruct(part); err != nil {
			t.Fatal(err)
		}
		out = append(out, part[p.Shard]...)
	}
	return out
}

// get finds and reads one blob through the header, as a reader would.
func (r *volumeReader) get(t tb, key Key) ([]byte, bool) {
	t.Helper()
	ref, ok := r.header.Lookup(key)
	if !ok {
		return nil, false
	}
	// A reader keeps the index pages it fetched, as this one does, and
	// the tests stay fast under -race.
	page, ok := r.pages[ref.Page]
	if !ok {
		page = r.read(t, ref.Offset, ref.Len)
		if r.pages == nil {
			r.pages = map[int][]byte{}
		}
		r.pages[ref.Page] = page
	}
	e, found, err := r.header.Find(ref, page, key)
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		return nil, false
	}
	blob := r.read(t, int64(e.Offset), int64(e.Len))
	if err := e.Verify(blob); err != nil {
		t.Fatal(err)
	}
	return blob, true
}

func randomKey(rng *rand.Rand) Key {
	var k Key
	for i := range k {
		k[i] = byte(rng.Uint32())
	}
	return k
}

// TestBuilderImageReadsBack builds a volume of 9,000 blobs (three index
// pages), checks its header survives encoding, and reads every blob back
// through the index, first with every shard, then with three lost.
func TestBuilderImageReadsBack(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	blobs := map[Key][]byte{}
	for len(blobs) < 9000 {
		b := make([]byte, rng.IntN(300))
		if rng.IntN(100) == 0 {
			b = make([]byte, 20000+rng.IntN(50000))
		}
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		blobs[randomKey(rng)] = b
	}
	for _, s := range []Scheme{RS(6, 3), LRC(12, 2, 2)} {
		c := mustCodec(t, s)
		b, err := NewBuilder(c, BuilderOptions{Volume: 42, Generation: 7, ChunkSize: 4096})
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range blobs {
			if err := b.Add(k, v); err != nil {
				t.Fatal(err)
			}
		}
		enc, err := b.Finish()
		if err != nil {
			t.Fatal(err)
		}
		h := enc.Header
		if h.BlobCount != 9000 || len(h.Fences) != 3 || h.Volume != 42 || h.Generation != 7 || h.Scheme != s {
			t.Fatalf("%v header: %d blobs, %d fences, volume %d gen %d", s, h.BlobCount, len(h.Fences), h.Volume, h.Generation)
		}
		hb, err := EncodeHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		h2, err := DecodeHeader(hb)
		if err != nil {
			t.Fatal(err)
		}
		for i, sh := range enc.Shards {
			if err := h2.CheckShard(i, sh); err != nil {
				t.Error(err)
			}
		}
		if !bytes.Equal(enc.Image, slices.Concat(enc.Shards[:s.Data]...)[:h.ImageLen]) {
			t.Fatalf("%v: the data shards are not the image", s)
		}
		entries, err := DecodeIndexPage(enc.Image[h.IndexOffset:][:PageEntries*IndexEntryLen])
		if err != nil || len(entries) != PageEntries || entries[0].Key != h.Fences[0].First {
			t.Fatalf("%v: first index page: %d entries, %v", s, len(entries), err)
		}

		for _, lost := range [][]int{nil, {0, 1, s.Width() - 1}, {2, 3, 4}} {
			r := &volumeReader{codec: c, header: h2, shards: without(enc.Shards, lost)}
			for k, want := range blobs {
				got, ok := r.get(t, k)
				if !ok || !bytes.Equal(got, want) {
					t.Fatalf("%v lost %v: blob %v read back as %d bytes (found %v), want %d", s, lost, k, len(got), ok, len(want))
				}
			}
			for range 100 {
				if _, ok := r.get(t, randomKey(rng)); ok {
					t.Fatalf("%v: found a key never added", s)
				}
			}
		}
	}
}

// TestPropertyBuilderFindsEveryBlob: for any set of blobs, every blob is
// found by its key with its bytes, and keys not added are not found.
func TestPropertyBuilderFindsEveryBlob(t *testing.T) {
	c := mustCodec(t, RS(6, 3))
	rapid.Check(t, func(rt *rapid.T) {
		keyGen := rapid.Custom(func(t *rapid.T) Key {
			var k Key
			// Few distinct first bytes, so keys share prefixes and fences.
			k[0] = rapid.ByteRange(0, 3).Draw(t, "k0")
			copy(k[1:], rapid.SliceOfN(rapid.Byte(), 31, 31).Draw(t, "rest"))
			return k
		})
		blobs := rapid.MapOfN(keyGen, rapid.SliceOfN(rapid.Byte(), 0, 200), 0, 50).Draw(rt, "blobs")
		b, err := NewBuilder(c, BuilderOptions{ChunkSize: rapid.Int64Range(1, 512).Draw(rt, "chunk")})
		if err != nil {
			rt.Fatal(err)
		}
		for k, v := range blobs {
			if err := b.Add(k, v); err != nil {
				rt.Fatal(err)
			}
		}
		enc, err := b.Finish()
		if err != nil {
			rt.Fatal(err)
		}
		r := &volumeReader{codec: c, header: enc.Header, shards: enc.Shards}
		for k, want := range blobs {
			if got, ok := r.get(rt, k); !ok || !bytes.Equal(got, want) {
				rt.Fatalf("blob %v: found %v, %d bytes, want %d", k, ok, len(got), len(want))
			}
		}
		other := keyGen.Draw(rt, "other")
		if _, added := blobs[other]; !added {
			if _, ok := r.get(rt, other); ok {
				rt.Fatalf("found %v, never added", other)
			}
		}
	})
}

func TestBuilderRejects(t *testing.T) {
	c := mustCodec(t, RS(6, 3))
	b, _ := NewBuilder(c, BuilderOptions{})
	if err := b.Add(Key{1}, make([]byte, MaxBlobLen+1)); err == nil || !strings.Contains(err.Error(), "blobs are at most 4194304") {
		t.Errorf("oversized blob: %v", err)
	}
	_ = b.Add(Key{1}, []byte("a"))
	_ = b.Add(Key{2}, []byte("b"))
	_ = b.Add(Key{1}, []byte("c"))
	if _, err := b.Finish(); err == nil || !strings.Contains(err.Error(), "blob 0100000000000000000000000000000000000000000000000000000000000000 was added twice") {
		t.Errorf("duplicate key: %v", err)
	}
	if _, err := NewBuilder(c, BuilderOptions{ChunkSize: -4}); err == nil {
		t.Error("negative chunk size accepted")
	}
}

func TestEmptyVolume(t *testing.T) {
	c := mustCodec(t, LRC(12, 2, 2))
	b, _ := NewBuilder(c, BuilderOptions{Volume: 1})
	enc, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	h := enc.Header
	if h.ImageLen != 0 || h.ShardLen != DefaultChunkSize || len(enc.Shards) != 16 || len(h.Fences) != 0 {
		t.Fatalf("empty volume: %+v", h)
	}
	hb, err := EncodeHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeHeader(hb); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.Lookup(Key{}); ok {
		t.Error("an empty volume has an index page")
	}
}
