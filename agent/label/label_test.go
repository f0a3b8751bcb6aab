package label

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func sample(gen uint64) Label {
	return Label{Version: Version, Cluster: ID{1, 2, 3}, Drive: ID{9, 9}, ZoneSize: 256 << 20,
		ZoneCapacity: 256 << 20, ZoneCount: 52000, BlockSize: 4096,
		Created: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC), Generation: gen, ZonesPerExtent: 4}
}

func TestRoundTrip(t *testing.T) {
	buf := bytes.Repeat([]byte{0xAA}, 4096)
	enc, err := Encode(buf, sample(3))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range enc[Size:] {
		if c != 0 {
			t.Fatal("the rest of the block is not zeroed")
		}
	}
	got, err := Decode(enc)
	if err != nil || got != sample(3) {
		t.Fatalf("decoded %+v, %v", got, err)
	}
}

func TestDecodeErrors(t *testing.T) {
	if _, err := Decode(bytes.Repeat([]byte{0xFF}, 4096)); !errors.Is(err, ErrNoLabel) {
		t.Fatalf("blank drive: %v", err)
	}
	enc, _ := Encode(make([]byte, 4096), sample(1))
	enc[40] ^= 1
	if _, err := Decode(enc); !errors.Is(err, ErrChecksum) {
		t.Fatalf("damaged label: %v", err)
	}
	l := sample(1)
	l.Version = 7
	enc, _ = Encode(make([]byte, 4096), l)
	if _, err := Decode(enc); !errors.Is(err, ErrVersion) {
		t.Fatalf("future version: %v", err)
	}
}

func TestNewestSurvivesATornCopy(t *testing.T) {
	old, _ := Encode(make([]byte, 4096), sample(4))
	neu, _ := Encode(make([]byte, 4096), sample(5))
	torn := bytes.Clone(neu)
	torn[70] ^= 0xFF
	if l, ok := Newest(old, neu); !ok || l.Generation != 5 {
		t.Fatalf("newest of 4 and 5: %+v %v", l, ok)
	}
	if l, ok := Newest(torn, old); !ok || l.Generation != 4 {
		t.Fatalf("with the newer copy torn: %+v %v", l, ok)
	}
	if _, ok := Newest(torn, make([]byte, 4096)); ok {
		t.Fatal("found a label where none is valid")
	}
}

func FuzzDecode(f *testing.F) {
	enc, _ := Encode(make([]byte, Size), sample(1))
	f.Add(enc)
	f.Add(make([]byte, Size))
	f.Add([]byte(Magic))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := Decode(b)
		if err != nil {
			return
		}
		again, err := Encode(make([]byte, Size), l)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again[:Size], b[:Size]) {
			t.Fatal("re-encoding a decoded label gave different bytes")
		}
	})
}
