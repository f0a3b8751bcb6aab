package checkpoint

import (
	"bytes"
	"errors"
	"testing"
)

func sample() Checkpoint {
	return Checkpoint{Generation: 7, Drive: [16]byte{1, 2, 3}, Extents: []Sealed{
		{Slot: 0, Extent: 1_700_000_000_000_000_001, SealOffset: 4096 * 1000},
		{Slot: 5, Extent: 1_700_000_000_000_000_009, SealOffset: 3 << 28},
	}}
}

func TestRoundTrip(t *testing.T) {
	for _, c := range []Checkpoint{sample(), {Generation: 1}} {
		b := Encode(c, 4096)
		if len(b)%4096 != 0 {
			t.Fatalf("encoding of %d bytes is not padded to a block", len(b))
		}
		size, err := EncodedSize(b[:HeaderSize])
		if err != nil || size != Size(len(c.Extents)) {
			t.Fatalf("EncodedSize = %d, %v; want %d", size, err, Size(len(c.Extents)))
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if got.Generation != c.Generation || got.Drive != c.Drive || len(got.Extents) != len(c.Extents) {
			t.Fatalf("round trip: got %+v, want %+v", got, c)
		}
		for i := range c.Extents {
			if got.Extents[i] != c.Extents[i] {
				t.Fatalf("entry %d: got %+v, want %+v", i, got.Extents[i], c.Extents[i])
			}
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	good := Encode(sample(), 512)
	if _, err := Decode(make([]byte, 512)); !errors.Is(err, ErrNone) {
		t.Fatalf("zeros: %v, want ErrNone", err)
	}
	if _, err := Decode(bytes.Repeat([]byte{0xFF}, 512)); !errors.Is(err, ErrNone) {
		t.Fatalf("0xFF: %v, want ErrNone", err)
	}
	if _, err := Decode(good[:HeaderSize+10]); !errors.Is(err, ErrShort) {
		t.Fatalf("cut off: %v, want ErrShort", err)
	}
	// Every single bit flip in the checkpoint's bytes is caught.
	for i := 0; i < Size(2); i++ {
		for bit := range 8 {
			b := bytes.Clone(good)
			b[i] ^= 1 << bit
			if _, err := Decode(b); err == nil {
				t.Fatalf("flipping bit %d of byte %d went unnoticed", bit, i)
			}
		}
	}
	// A repeated slot is refused even with valid checksums.
	c := sample()
	c.Extents[1].Slot = c.Extents[0].Slot
	if _, err := Decode(Encode(c, 512)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("repeated slot: %v, want ErrCorrupt", err)
	}
}

// FuzzDecode checks that Decode never panics and that whatever it accepts
// encodes back to the same bytes.
func FuzzDecode(f *testing.F) {
	f.Add(Encode(sample(), 512))
	f.Add(Encode(Checkpoint{Generation: 1}, 512))
	f.Add(make([]byte, 64))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Decode(b)
		if err != nil {
			return
		}
		n := Size(len(c.Extents))
		if !bytes.Equal(Encode(c, 1)[:n], b[:n]) {
			t.Fatalf("decoded %+v does not encode back to its bytes", c)
		}
	})
}
