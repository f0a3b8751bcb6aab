package erasure

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the fuzz seed corpus under testdata/fuzz")

// FuzzDecodeHeader feeds DecodeHeader arbitrary bytes: it must not panic,
// and whatever it accepts must re-encode to the same bytes (one header,
// one encoding). Random bytes rarely carry a good CRC, so each input is
// also tried with its CRC recomputed, which lets the fuzzer reach the
// checks behind the checksum.
//
// The seeds are the files under testdata/fuzz/FuzzDecodeHeader (see
// TestSeedCorpus).
func FuzzDecodeHeader(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, in := range [][]byte{b, reseal(b)} {
			h, err := DecodeHeader(in)
			if err != nil {
				if err.Error() == "" {
					t.Fatal("an error that says nothing")
				}
				continue
			}
			out, err := EncodeHeader(h)
			if err != nil {
				t.Fatalf("decoded a header EncodeHeader refuses: %v", err)
			}
			if !bytes.Equal(in, out) {
				t.Fatalf("decode and re-encode changed the header:\n%x\n%x", in, out)
			}
			// A decoded header's lookups must not panic either.
			var k Key
			copy(k[:], in)
			if ref, ok := h.Lookup(k); ok {
				_, _, _ = h.Find(ref, make([]byte, ref.Len%(1<<20)), k)
			}
		}
	})
}

// FuzzDecodeIndexPage feeds DecodeIndexPage and FindInPage arbitrary bytes:
// no panics; an accepted page re-encodes to the same bytes, and every key
// on it is found where it is.
// The seeds are the files under testdata/fuzz/FuzzDecodeIndexPage.
func FuzzDecodeIndexPage(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		var probe Key
		copy(probe[:], b)
		_, _, _ = FindInPage(b, probe)
		entries, err := DecodeIndexPage(b)
		if err != nil {
			return
		}
		if !bytes.Equal(AppendIndexEntries(nil, entries), b) {
			t.Fatal("decode and re-encode changed the page")
		}
		for _, e := range entries {
			got, found, err := FindInPage(b, e.Key)
			if err != nil || !found || got != e {
				t.Fatalf("FindInPage(%v) = %+v, %v, %v; want %+v", e.Key, got, found, err, e)
			}
		}
	})
}

// headerSeeds are the valid sample headers and a few broken ones: cut
// short, wrong magic, bad CRC, a field changed with the CRC fixed.
func headerSeeds(t testing.TB) map[string][]byte {
	seeds := map[string][]byte{}
	for name, h := range sampleHeaders(t) {
		b, err := EncodeHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		seeds["valid-"+name] = b
	}
	good := seeds["valid-rs-3-blobs"]
	seeds["invalid-empty"] = []byte{}
	seeds["invalid-truncated"] = good[:len(good)/2]
	seeds["invalid-magic"] = reseal(append([]byte("SHVX"), good[4:]...))
	seeds["invalid-crc"] = append(slices.Clone(good[:len(good)-1]), good[len(good)-1]^0xff)
	shardLen := slices.Clone(good)
	shardLen[33]++
	seeds["invalid-shard-length"] = reseal(shardLen)
	return seeds
}

// indexSeeds are index pages, good and bad.
func indexSeeds() map[string][]byte {
	one := AppendIndexEntries(nil, samplePage(1))
	three := AppendIndexEntries(nil, samplePage(3))
	return map[string][]byte{
		"valid-empty":       {},
		"valid-1":           one,
		"valid-3":           three,
		"valid-30":          AppendIndexEntries(nil, samplePage(30)),
		"invalid-partial":   three[:70],
		"invalid-unsorted":  append(slices.Clone(three[IndexEntryLen:2*IndexEntryLen]), three[:IndexEntryLen]...),
		"invalid-duplicate": append(slices.Clone(one), one...),
		"invalid-wrap":      AppendIndexEntries(nil, []IndexEntry{{Offset: 1<<64 - 1, Len: 2}}),
	}
}

// TestSeedCorpus keeps testdata/fuzz in step with the seeds above, so the
// committed corpus is what `go test` (which runs it) and `go test -fuzz`
// start from. After a format change: go test -run TestSeedCorpus -update-corpus.
func TestSeedCorpus(t *testing.T) {
	for fuzz, seeds := range map[string]map[string][]byte{
		"FuzzDecodeHeader":    headerSeeds(t),
		"FuzzDecodeIndexPage": indexSeeds(),
	} {
		dir := filepath.Join("testdata", "fuzz", fuzz)
		for name, b := range seeds {
			want := "go test fuzz v1\n[]byte(" + strconv.QuoteToASCII(string(b)) + ")\n"
			path := filepath.Join(dir, name)
			if *updateCorpus {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != want {
				t.Errorf("%s is missing or stale: go test -run TestSeedCorpus -update-corpus ./fleetd/erasure/", path)
			}
		}
	}
}
