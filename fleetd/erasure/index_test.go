package erasure

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

func samplePage(n int) []IndexEntry {
	rng := rand.New(rand.NewPCG(uint64(n), 19))
	entries := make([]IndexEntry, n)
	var off uint64
	for i := range entries {
		entries[i].Key[0] = byte(i >> 8)
		entries[i].Key[1] = byte(i)
		entries[i].Key[2] = byte(rng.Uint32())
		entries[i].Offset = off
		entries[i].Len = uint32(rng.IntN(5000))
		entries[i].CRC = rng.Uint32()
		off += uint64(entries[i].Len)
	}
	return entries
}

func TestIndexPageRoundTrips(t *testing.T) {
	for _, n := range []int{0, 1, 2, 100, PageEntries} {
		entries := samplePage(n)
		b := AppendIndexEntries(nil, entries)
		if len(b) != n*IndexEntryLen {
			t.Fatalf("%d entries encode to %d bytes", n, len(b))
		}
		got, err := DecodeIndexPage(b)
		if err != nil || len(got) != n {
			t.Fatalf("%d entries: %v", n, err)
		}
		for i := range got {
			if got[i] != entries[i] {
				t.Fatalf("entry %d: %+v, want %+v", i, got[i], entries[i])
			}
			e, found, err := FindInPage(b, entries[i].Key)
			if err != nil || !found || e != entries[i] {
				t.Fatalf("FindInPage(entry %d) = %+v, %v, %v", i, e, found, err)
			}
			k := entries[i].Key
			k[31] = 1 // sorts just after, never added
			if _, found, _ := FindInPage(b, k); found {
				t.Fatalf("FindInPage found a key never added")
			}
		}
	}
	// The layout FORMAT.md gives: key, then offset, length and CRC, little-endian.
	b := AppendIndexEntries(nil, []IndexEntry{{Key: Key{0xaa}, Offset: 0x0102030405060708, Len: 0x0a0b0c0d, CRC: 0x11223344}})
	want := append(append([]byte{0xaa}, make([]byte, 31)...), 8, 7, 6, 5, 4, 3, 2, 1, 0x0d, 0x0c, 0x0b, 0x0a, 0x44, 0x33, 0x22, 0x11)
	if !bytes.Equal(b, want) {
		t.Errorf("entry encodes as %x, want %x", b, want)
	}
}

func TestIndexPageRejects(t *testing.T) {
	good := AppendIndexEntries(nil, samplePage(3))
	swapped := AppendIndexEntries(nil, []IndexEntry{samplePage(3)[1], samplePage(3)[0]})
	dup := AppendIndexEntries(nil, []IndexEntry{samplePage(3)[0], samplePage(3)[0]})
	wrap := AppendIndexEntries(nil, []IndexEntry{{Offset: 1<<64 - 5, Len: 10}})
	for name, tc := range map[string]struct {
		b    []byte
		want string
	}{
		"partial": {good[:100], "index page of 100 bytes is not a whole number of 48-byte entries"},
		"order":   {swapped, "entry 1: key 0000"},
		"dup":     {dup, "does not sort after"},
		"wrap":    {wrap, "overflows"},
		"big":     {make([]byte, (PageEntries+1)*IndexEntryLen), "a page holds at most 4096"},
	} {
		if _, err := DecodeIndexPage(tc.b); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, tc.want)
		}
	}
	if _, _, err := FindInPage(good[:47], Key{}); err == nil {
		t.Error("FindInPage took a partial entry")
	}
}

func TestVerify(t *testing.T) {
	// CRC32C's published check value: the CRC of "123456789" is e3069283.
	blob := []byte("123456789")
	e := IndexEntry{Key: Key{9}, Len: uint32(len(blob)), CRC: 0xe3069283}
	if err := e.Verify(blob); err != nil {
		t.Fatal(err)
	}
	if err := e.Verify(blob[1:]); err == nil || !strings.Contains(err.Error(), "read 8 bytes, the index says 9") {
		t.Errorf("short blob: %v", err)
	}
	blob[0] ^= 1
	if err := e.Verify(blob); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("damaged blob: %v", err)
	}
}
