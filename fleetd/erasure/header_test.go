package erasure

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"strings"
	"testing"
)

// sampleHeaders are valid headers of a few shapes: both schemes, empty and
// one-page and two-page indexes. The seed corpus is made from them.
func sampleHeaders(t testing.TB) map[string]*Header {
	out := map[string]*Header{}
	for name, tc := range map[string]struct {
		s     Scheme
		blobs int
	}{
		"rs-empty":     {RS(6, 3), 0},
		"rs-3-blobs":   {RS(6, 3), 3},
		"lrc-2-pages":  {LRC(12, 2, 2), PageEntries + 5},
		"lrc-10-blobs": {LRC(12, 2, 2), 10},
	} {
		c := mustCodec(t, tc.s)
		b, err := NewBuilder(c, BuilderOptions{Volume: 1000 + uint64(tc.blobs), Generation: 3, ChunkSize: 64 << 10})
		if err != nil {
			t.Fatal(err)
		}
		for i := range tc.blobs {
			var k Key
			binary.BigEndian.PutUint32(k[:], uint32(i*7919))
			if err := b.Add(k, bytes.Repeat([]byte{byte(i)}, i%50)); err != nil {
				t.Fatal(err)
			}
		}
		enc, err := b.Finish()
		if err != nil {
			t.Fatal(err)
		}
		out[name] = enc.Header
	}
	return out
}

// reseal recomputes a header's trailing CRC after a test changed a field,
// so that the decoder gets past the checksum to the check under test.
func reseal(b []byte) []byte {
	b = bytes.Clone(b)
	if len(b) >= 4 {
		binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.Checksum(b[:len(b)-4], castagnoli))
	}
	return b
}

func TestHeaderRoundTrips(t *testing.T) {
	for name, h := range sampleHeaders(t) {
		b, err := EncodeHeader(h)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want := 78 + len(h.Scheme.String()) + 4*len(h.ShardCRCs) + 36*len(h.Fences); len(b) != want {
			t.Errorf("%s: %d bytes, FORMAT.md says %d", name, len(b), want)
		}
		got, err := DecodeHeader(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b2, _ := EncodeHeader(got)
		if !bytes.Equal(b, b2) {
			t.Errorf("%s: decode and re-encode changed the bytes", name)
		}
		if got.Layout() != h.Layout() || got.Volume != h.Volume || got.Scheme != h.Scheme || got.BlobCount != h.BlobCount {
			t.Errorf("%s: decoded %+v, encoded %+v", name, got, h)
		}
	}
}

// TestHeaderDamageIsDetected: every single-bit flip and every truncation of
// a valid header is rejected.
func TestHeaderDamageIsDetected(t *testing.T) {
	b, _ := EncodeHeader(sampleHeaders(t)["lrc-2-pages"])
	for i := range b {
		for bit := range 8 {
			d := bytes.Clone(b)
			d[i] ^= 1 << bit
			if _, err := DecodeHeader(d); err == nil {
				t.Fatalf("flipping bit %d of byte %d went unnoticed", bit, i)
			}
		}
	}
	for n := range len(b) {
		if _, err := DecodeHeader(b[:n]); err == nil {
			t.Fatalf("header cut to %d bytes decoded", n)
		}
	}
}

// TestHeaderRejectsInconsistentFields changes one field at a time, with a
// good CRC, and checks the error says what is wrong.
func TestHeaderRejectsInconsistentFields(t *testing.T) {
	h := sampleHeaders(t)["lrc-2-pages"]
	good, _ := EncodeHeader(h)
	le := binary.LittleEndian
	name := 74 // the scheme name; "LRC(12,2,2)" is 11 bytes
	for what, tc := range map[string]struct {
		edit func(b []byte) []byte
		want string
	}{
		"magic":      {func(b []byte) []byte { copy(b, "SHVX"); return b }, `header starts "SHVX", not "SHVH"`},
		"version":    {func(b []byte) []byte { le.PutUint16(b[4:], 2); return b }, "header version 2: this reader knows version 1"},
		"reserved":   {func(b []byte) []byte { b[7] = 1; return b }, "reserved byte 7 is 1"},
		"name len":   {func(b []byte) []byte { b[6] = 40; return b }, "scheme name of 40 bytes"},
		"name":       {func(b []byte) []byte { copy(b[name:], "LRC(12,5,2)"); return b }, "do not divide 12 data shards evenly"},
		"name zeros": {func(b []byte) []byte { copy(b[name:], "LRC(12,2,02"); return b }, "write RS(<k>,<m>)"},
		"shard len":  {func(b []byte) []byte { le.PutUint64(b[32:], uint64(h.ShardLen+h.ChunkSize)); return b }, "shard length"},
		"chunk":      {func(b []byte) []byte { le.PutUint32(b[40:], 0); return b }, "chunk size is 0"},
		"blobs":      {func(b []byte) []byte { le.PutUint64(b[48:], h.BlobCount+1); return b }, "for 4102 blobs"},
		"index off":  {func(b []byte) []byte { le.PutUint64(b[56:], uint64(h.IndexOffset-1)); return b }, "but the index ends the image"},
		"image len":  {func(b []byte) []byte { le.PutUint64(b[24:], 1<<63); return b }, "image of -9223372036854775808 bytes"},
		"shards":     {func(b []byte) []byte { le.PutUint16(b[72:], 15); return b }, "but a 11-byte scheme name, 15 shard CRCs and 2 fences make"},
		"fences":     {func(b []byte) []byte { le.PutUint32(b[44:], 1<<31); return b }, "2147483648 fences"},
		"fence order": {func(b []byte) []byte {
			f := name + 11 + 4*16
			copy(b[f:f+32], b[f+36:f+68])
			return b
		}, "fence 1"},
		"shard count vs scheme": {func(b []byte) []byte {
			// Drop one shard CRC and say so: the count is consistent
			// with the length but not with the scheme.
			le.PutUint16(b[72:], 15)
			f := name + 11 + 4*15
			return append(b[:f:f], b[f+4:]...)
		}, "15 shard CRCs for the 16 shards of LRC(12,2,2)"},
	} {
		_, err := DecodeHeader(reseal(tc.edit(bytes.Clone(good))))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", what, err, tc.want)
		}
	}
	if _, err := DecodeHeader(append(bytes.Clone(good[:len(good)-4]), 0, 0, 0, 0)); err == nil || !strings.Contains(err.Error(), "damaged or truncated") {
		t.Errorf("bad CRC: %v", err)
	}
	bad := *h
	bad.ShardCRCs = bad.ShardCRCs[:3]
	if _, err := EncodeHeader(&bad); err == nil {
		t.Error("EncodeHeader took a header with 3 shard CRCs")
	}
}

func TestLookupAndFind(t *testing.T) {
	h := sampleHeaders(t)["lrc-2-pages"]
	var k Key
	binary.BigEndian.PutUint32(k[:], uint32(PageEntries*7919)) // the first key of page 1
	ref, ok := h.Lookup(k)
	if !ok || ref.Page != 1 || ref.Len != 5*IndexEntryLen || ref.Offset != h.IndexOffset+PageEntries*IndexEntryLen {
		t.Errorf("Lookup(first key of page 1) = %+v, %v", ref, ok)
	}
	k[31] = 1 // just after it: still page 1
	if ref2, _ := h.Lookup(k); ref2 != ref {
		t.Errorf("Lookup(after page 1's first key) = %+v", ref2)
	}
	binary.BigEndian.PutUint32(k[:], uint32(PageEntries*7919-1)) // just before it: page 0
	if ref0, ok := h.Lookup(k); !ok || ref0.Page != 0 || ref0.Len != PageEntries*IndexEntryLen {
		t.Errorf("Lookup(before page 1) = %+v, %v", ref0, ok)
	}
	h2 := sampleHeaders(t)["rs-3-blobs"]
	var low Key // keys are i·7919, so the smallest is all zeros: nothing is below it
	if _, ok := h2.Lookup(low); !ok {
		t.Error("Lookup of the smallest key failed")
	}
	page := AppendIndexEntries(nil, []IndexEntry{{Key: Key{1}, Offset: 0, Len: 10}})
	if _, _, err := h2.Find(PageRef{Page: 0, Len: int64(len(page))}, page, Key{1}); err == nil || !strings.Contains(err.Error(), "the page is damaged") {
		t.Errorf("Find on a page whose CRC is wrong: %v", err)
	}
	if _, _, err := h2.Find(PageRef{Page: 3}, nil, Key{1}); err == nil || !strings.Contains(err.Error(), "no index page 3") {
		t.Errorf("Find on page 3: %v", err)
	}
	// An entry pointing past the blob data, in a page whose CRC matches.
	out := &Header{IndexOffset: 5, Fences: []Fence{{CRC: pageCRC(page)}}}
	if _, _, err := out.Find(PageRef{Page: 0, Len: int64(len(page))}, page, Key{1}); err == nil || !strings.Contains(err.Error(), "lies outside the blob data (5 bytes)") {
		t.Errorf("Find of an entry outside the data: %v", err)
	}
}
