package record

import (
	"bytes"
	"errors"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, bs := range []int{512, 4096} {
		for _, n := range []int{0, 1, bs - HeaderSize - TrailerSize, bs - HeaderSize - TrailerSize + 1, 3 * bs, MaxPayload} {
			payload := bytes.Repeat([]byte{0xA5}, n)
			h := Header{Type: TypeBlob, Extent: 77, Seq: 5, Key: Key{1, 2, 3}}
			buf := make([]byte, Size(n, bs))
			for i := range buf {
				buf[i] = 0xEE // the padding must be cleared
			}
			enc, err := Encode(buf, h, payload, bs)
			if err != nil {
				t.Fatal(err)
			}
			if len(enc)%bs != 0 || len(enc) < HeaderSize+n+TrailerSize {
				t.Fatalf("bs %d n %d: encoded size %d", bs, n, len(enc))
			}
			for _, c := range enc[HeaderSize+n+TrailerSize:] {
				if c != 0 {
					t.Fatal("padding not zeroed")
				}
			}
			got, p, size, err := Decode(enc, bs)
			if err != nil {
				t.Fatalf("bs %d n %d: %v", bs, n, err)
			}
			h.Length = uint32(n)
			if got != h || !bytes.Equal(p, payload) || size != len(enc) {
				t.Fatalf("bs %d n %d: decoded %+v (%d bytes, size %d)", bs, n, got, len(p), size)
			}
		}
	}
}

// TestEncodeInPlace encodes a record around a payload that already sits
// at dst[HeaderSize:]: the bytes are the same as encoding from a copy.
func TestEncodeInPlace(t *testing.T) {
	const bs = 4096
	for _, n := range []int{1, bs - HeaderSize - TrailerSize, 3*bs + 17} {
		payload := bytes.Repeat([]byte{0x5C, 0x3A}, n)[:n]
		h := Header{Type: TypeBlob, Extent: 9, Seq: 2, Key: Key{7}}
		want, err := Encode(make([]byte, Size(n, bs)), h, payload, bs)
		if err != nil {
			t.Fatal(err)
		}
		buf := bytes.Repeat([]byte{0xEE}, Size(n, bs)+bs)
		copy(buf[HeaderSize:], payload)
		got, err := EncodeWithChecksum(buf, h, buf[HeaderSize:HeaderSize+n], Checksum(payload), bs)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("n %d: the record encoded in place differs from the one encoded from a copy", n)
		}
	}
}

func TestDecodeDetectsDamage(t *testing.T) {
	payload := []byte("the quick brown fox")
	enc, err := Encode(make([]byte, 4096), Header{Type: TypeBlob, Extent: 1, Key: Key{9}}, payload, 4096)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		mut  func(b []byte)
		want error
	}{
		{"unwritten 0xFF", func(b []byte) { copy(b, bytes.Repeat([]byte{0xFF}, len(b))) }, ErrNoRecord},
		{"zeros", func(b []byte) { clear(b) }, ErrNoRecord},
		{"header bit flip", func(b []byte) { b[20] ^= 1 }, ErrHeaderChecksum},
		{"payload bit flip", func(b []byte) { b[HeaderSize+3] ^= 0x80 }, ErrPayloadChecksum},
		{"payload checksum flip", func(b []byte) { b[HeaderSize+len(payload)] ^= 1 }, ErrPayloadChecksum},
	}
	for _, c := range cases {
		b := bytes.Clone(enc)
		c.mut(b)
		_, _, _, err := Decode(b, 4096)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		if c.want != ErrNoRecord && !IsCorrupt(err) {
			t.Errorf("%s: IsCorrupt(%v) is false", c.name, err)
		}
	}
	// A header that claims more payload than the buffer holds asks for more.
	big, _ := Encode(make([]byte, Size(10000, 4096)), Header{Type: TypeBlob}, make([]byte, 10000), 4096)
	if _, _, size, err := Decode(big[:4096], 4096); !errors.Is(err, ErrShort) || size != len(big) {
		t.Fatalf("short buffer: size %d err %v", size, err)
	}
}

func TestEncodeRefuses(t *testing.T) {
	if _, err := Encode(make([]byte, 4096), Header{Type: 9}, nil, 4096); err == nil {
		t.Fatal("encoded an unknown type")
	}
	if _, err := Encode(make([]byte, 64), Header{Type: TypeBlob}, nil, 4096); err == nil {
		t.Fatal("encoded into a buffer that is too small")
	}
	if _, err := Encode(make([]byte, Size(MaxPayload+1, 4096)), Header{Type: TypeBlob}, make([]byte, MaxPayload+1), 4096); err == nil {
		t.Fatal("encoded a payload over the limit")
	}
}

func TestSealRoundTripAndChain(t *testing.T) {
	a, _ := Encode(make([]byte, 4096), Header{Type: TypeBlob, Key: Key{1}}, []byte("a"), 4096)
	b, _ := Encode(make([]byte, 4096), Header{Type: TypeBlob, Key: Key{2}, Seq: 1}, []byte("b"), 4096)
	sum := Chain(Chain(0, 0, a), 4096, b)
	if sum == Chain(Chain(0, 0, b), 4096, a) {
		t.Fatal("the running checksum does not depend on order")
	}
	if sum == Chain(Chain(0, 0, a), 8192, b) {
		t.Fatal("the running checksum does not depend on where records are")
	}
	// A valid record replaced by another valid record of the same size
	// changes the running checksum.
	c, _ := Encode(make([]byte, 4096), Header{Type: TypeBlob, Key: Key{2}, Seq: 1}, []byte("c"), 4096)
	if sum == Chain(Chain(0, 0, a), 4096, c) {
		t.Fatal("the running checksum missed a substituted record")
	}
	s := Seal{Records: 2, Bytes: uint64(len(a) + len(b)), Checksum: sum}
	got, err := UnmarshalSeal(s.Marshal())
	if err != nil || got != s {
		t.Fatalf("seal round trip: %+v %v", got, err)
	}
	if _, err := UnmarshalSeal(make([]byte, 5)); err == nil {
		t.Fatal("short seal accepted")
	}
}

// FuzzDecode checks that the decoder never panics and that whatever it
// accepts re-encodes to the same bytes.
func FuzzDecode(f *testing.F) {
	for _, n := range []int{0, 5, 600} {
		enc, _ := Encode(make([]byte, Size(n, 512)), Header{Type: TypeBlob, Extent: 3, Seq: 1, Key: Key{7}}, bytes.Repeat([]byte{1}, n), 512)
		f.Add(enc)
	}
	seal, _ := Encode(make([]byte, 512), Header{Type: TypeSeal, Extent: 3, Seq: 2}, Seal{Records: 2, Bytes: 1024}.Marshal(), 512)
	f.Add(seal)
	f.Add(bytes.Repeat([]byte{0xFF}, 512))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, payload, size, err := Decode(b, 512)
		if err != nil {
			return
		}
		if size%512 != 0 || int(h.Length) != len(payload) {
			t.Fatalf("inconsistent decode: %+v, %d payload bytes, size %d", h, len(payload), size)
		}
		enc, err := Encode(make([]byte, size), h, payload, 512)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		n := HeaderSize + len(payload) + TrailerSize
		if !bytes.Equal(enc[:n], b[:n]) {
			t.Fatalf("re-encoding differs from the decoded bytes")
		}
		if h.Type == TypeSeal {
			UnmarshalSeal(payload)
		}
	})
}
