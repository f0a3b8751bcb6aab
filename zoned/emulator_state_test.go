package zoned

import (
	"testing"
)

// FuzzDecodeStateHeader checks that no header bytes, however damaged, make
// the decoder panic, and that whatever it accepts is a valid geometry.
func FuzzDecodeStateHeader(f *testing.F) {
	good := encodeStateHeader(EmulatorConfig{ZoneSize: 1 << 20, ZoneCount: 8, ConventionalZones: 1,
		MaxOpenZones: 2, MaxActiveZones: 3}.info("seed"))
	f.Add(good[:64])
	f.Add(make([]byte, 64))
	f.Add([]byte("SHGZONE1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := decodeStateHeader("fuzz", b)
		if err != nil {
			return
		}
		if verr := validateGeometry(info); verr != nil {
			t.Fatalf("accepted an invalid geometry %+v: %v", info, verr)
		}
		again, err := decodeStateHeader("fuzz", encodeStateHeader(info))
		if err != nil || again != info {
			t.Fatalf("round trip of %+v gave %+v, %v", info, again, err)
		}
	})
}

// FuzzDecodeStateRecord checks zone records the same way.
func FuzzDecodeStateRecord(f *testing.F) {
	var rec [stateRecordSize]byte
	encodeStateRecord(rec[:], durableZone{dataEnd: 8192, cond: CondClosed})
	f.Add(rec[:])
	f.Add(make([]byte, stateRecordSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < stateRecordSize {
			return
		}
		d, ok := decodeStateRecord(b)
		if !ok {
			return
		}
		var out [stateRecordSize]byte
		encodeStateRecord(out[:], d)
		if again, ok := decodeStateRecord(out[:]); !ok || again != d {
			t.Fatalf("round trip of %+v failed", d)
		}
	})
}
