package record

import (
	"bytes"
	"errors"
	"testing"
)

func sampleEntries() []SummaryEntry {
	return []SummaryEntry{
		{Type: TypeOrigin, Offset: 0, Length: OriginSize, Inline: Origin{Source: 42}.Marshal()},
		{Type: TypeBlob, Offset: 4096, Length: 100, Key: Key{1}},
		{Type: TypeTombstone, Offset: 8192, Length: 24, Key: Key{2}, Inline: bytes.Repeat([]byte{3}, 24)},
	}
}

func TestSummaryRoundTrip(t *testing.T) {
	var b SummaryBuilder
	want := sampleEntries()
	for _, e := range want {
		b.Add(e)
	}
	payloads := b.Payloads()
	if len(payloads) != 1 {
		t.Fatalf("%d payloads, want 1", len(payloads))
	}
	var got []SummaryEntry
	if err := EachSummaryEntry(payloads[0], func(e SummaryEntry) bool { got = append(got, e); return true }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Type != want[i].Type || got[i].Offset != want[i].Offset || got[i].Length != want[i].Length ||
			got[i].Key != want[i].Key || !bytes.Equal(got[i].Inline, want[i].Inline) {
			t.Fatalf("entry %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestSummarySplitsAtMaxPayload(t *testing.T) {
	var b SummaryBuilder
	const n = 200_000 // 9.6 MB of entries: three payloads
	for i := range n {
		b.Add(SummaryEntry{Type: TypeBlob, Offset: int64(i) * 4096, Length: 4000, Key: Key{byte(i), byte(i >> 8), byte(i >> 16)}})
	}
	payloads := b.Payloads()
	if len(payloads) != 3 {
		t.Fatalf("%d payloads, want 3", len(payloads))
	}
	total, next := 0, int64(0)
	var encoded int64
	for _, p := range payloads {
		if len(p) > MaxPayload {
			t.Fatalf("payload of %d bytes is over MaxPayload", len(p))
		}
		encoded += int64(Size(len(p), 4096))
		err := EachSummaryEntry(p, func(e SummaryEntry) bool {
			if e.Offset != next {
				t.Fatalf("entry at %d, want %d: entries out of order or lost", e.Offset, next)
			}
			next += 4096
			total++
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if total != n {
		t.Fatalf("%d entries, want %d", total, n)
	}
	if bound := SummaryRecordsSize(n*SummaryEntryHeaderSize, 4096); encoded > bound {
		t.Fatalf("summary records take %d bytes, over the %d bytes SummaryRecordsSize promised", encoded, bound)
	}
}

func TestSummaryRejects(t *testing.T) {
	var b SummaryBuilder
	for _, e := range sampleEntries() {
		b.Add(e)
	}
	good := b.Payloads()[0]
	bad := map[string][]byte{
		"short":         good[:5],
		"count too big": append([]byte{200, 0, 0, 0}, good[4:]...),
		"cut off":       good[:len(good)-1],
		"trailing":      append(bytes.Clone(good), 0),
	}
	seal := bytes.Clone(good)
	seal[summaryPrefix+SummaryEntryHeaderSize+OriginSize] = byte(TypeSeal) // second entry's type
	bad["seal entry"] = seal
	for name, p := range bad {
		if err := EachSummaryEntry(p, func(SummaryEntry) bool {
			t.Fatalf("%s: entry passed to fn before the payload was checked", name)
			return true
		}); !errors.Is(err, ErrSummary) {
			t.Errorf("%s: %v, want ErrSummary", name, err)
		}
	}
}

func TestSealSummaryPointer(t *testing.T) {
	s := Seal{Records: 9, Bytes: 1 << 20, Checksum: 5, SummaryRecords: 2, SummaryOffset: 3 << 20}
	b := s.Marshal()
	if len(b) != SealSize {
		t.Fatalf("seal with a summary encodes to %d bytes, want %d", len(b), SealSize)
	}
	got, err := UnmarshalSeal(b)
	if err != nil || got != s {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	s.SummaryRecords, s.SummaryOffset = 0, 0
	if b := s.Marshal(); len(b) != SealSizeV1 {
		t.Fatalf("seal without a summary encodes to %d bytes, want %d", len(b), SealSizeV1)
	}
}

// FuzzEachSummaryEntry checks that the summary decoder never panics and that
// what it accepts builds back to the same bytes.
func FuzzEachSummaryEntry(f *testing.F) {
	var b SummaryBuilder
	for _, e := range sampleEntries() {
		b.Add(e)
	}
	f.Add(b.Payloads()[0])
	f.Add(make([]byte, 8))
	f.Fuzz(func(t *testing.T, p []byte) {
		var rebuilt SummaryBuilder
		if err := EachSummaryEntry(p, func(e SummaryEntry) bool { rebuilt.Add(e); return true }); err != nil {
			return
		}
		if out := rebuilt.Payloads(); len(out) != 1 || !bytes.Equal(out[0], p) {
			t.Fatalf("accepted summary does not rebuild to its bytes")
		}
	})
}
