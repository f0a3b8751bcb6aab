package zonedtest

import (
	"math"
	"strings"
	"testing"

	"github.com/shingle-storage/shingle/zoned"
)

// ioCases check argument validation and the messages of errors.
var ioCases = []testCase{
	{"UnalignedIORefused", func(t *testing.T, s *suite) {
		z := s.seq(t, 0)
		start := s.info.ZoneStart(z)
		bs := s.info.LogicalBlockSize
		buf := zoned.AlignedBuffer(2*bs, bs)
		_, err := s.dev.WriteAt(buf[:bs-512+1], start)
		wantErr(t, err, zoned.ErrUnaligned, "write of an unaligned length")
		_, err = s.dev.WriteAt(buf[:bs], start+int64(bs/2))
		wantErr(t, err, zoned.ErrUnaligned, "write at an unaligned offset")
		// A buffer whose address is off by one byte.
		odd := zoned.AlignedBuffer(2*bs, bs)[1 : bs+1]
		_, err = s.dev.WriteAt(odd, start)
		wantErr(t, err, zoned.ErrUnaligned, "write from an unaligned buffer")
		if !strings.Contains(err.Error(), "AlignedBuffer") {
			t.Fatalf("unaligned buffer error does not say what to do: %v", err)
		}
		_, err = s.dev.ReadAt(odd, start)
		wantErr(t, err, zoned.ErrUnaligned, "read into an unaligned buffer")
		// Nothing was written.
		s.expect(t, z, zoned.CondEmpty, 0)
	}},
	{"OutOfRangeRefused", func(t *testing.T, s *suite) {
		bs := s.info.LogicalBlockSize
		buf := zoned.AlignedBuffer(bs, bs)
		_, err := s.dev.ReadAt(buf, s.info.Capacity)
		wantErr(t, err, zoned.ErrOutOfRange, "read past the end of the device")
		_, err = s.dev.WriteAt(buf, -int64(bs))
		wantErr(t, err, zoned.ErrOutOfRange, "write at a negative offset")
		// An offset so large that offset+length overflows.
		huge := int64(math.MaxInt64) &^ int64(bs-1)
		_, err = s.dev.WriteAt(buf, huge)
		wantErr(t, err, zoned.ErrOutOfRange, "write near the largest offset")
		_, err = s.dev.ReadAt(buf, huge)
		wantErr(t, err, zoned.ErrOutOfRange, "read near the largest offset")
		for _, op := range []struct {
			name string
			fn   func(int, int) error
		}{{"reset", s.dev.ResetZones}, {"open", s.dev.OpenZones}, {"close", s.dev.CloseZones}, {"finish", s.dev.FinishZones}} {
			err := op.fn(s.info.ZoneCount, 1)
			wantErr(t, err, zoned.ErrOutOfRange, op.name+" of the zone after the last")
			if !strings.Contains(err.Error(), "zone") {
				t.Fatalf("%s: error does not name the zone: %v", op.name, err)
			}
			err = op.fn(s.info.ZoneCount-1, 2)
			wantErr(t, err, zoned.ErrOutOfRange, op.name+" of a range past the end")
			err = op.fn(-1, 1)
			wantErr(t, err, zoned.ErrOutOfRange, op.name+" of zone -1")
		}
	}},
	{"ErrorsNameDeviceAndZone", func(t *testing.T, s *suite) {
		z := s.seq(t, 0)
		_, err := s.dev.WriteAt(s.blocks(1, 90), s.info.ZoneStart(z)+int64(s.info.LogicalBlockSize))
		wantErr(t, err, zoned.ErrWritePointer, "write off the write pointer")
		msg := err.Error()
		for _, want := range []string{s.info.Path, "zone", "write pointer"} {
			if !strings.Contains(msg, want) {
				t.Fatalf("error %q does not mention %q", msg, want)
			}
		}
		if zoned.ErrorZone(err) != z {
			t.Fatalf("error is about zone %d, want %d", zoned.ErrorZone(err), z)
		}
	}},
	{"ReadAcrossZones", func(t *testing.T, s *suite) {
		z0, z1 := s.seq(t, 0), s.seq(t, 1)
		bs := s.info.LogicalBlockSize
		if s.info.ZoneCapacity != s.info.ZoneSize {
			// Capacity below size leaves a gap that cannot be written; one
			// read still spans both zones.
			s.write(t, s.blocks(1, 92), s.info.ZoneStart(z1))
			buf := zoned.AlignedBuffer(2*bs, bs)
			if _, err := s.dev.ReadAt(buf, s.info.ZoneStart(z1)-int64(bs)); err != nil {
				t.Fatalf("read across zones %d and %d: %v", z0, z1, err)
			}
			want := s.blocks(1, 92)
			if string(buf[bs:]) != string(want) {
				t.Fatal("read across zones returned the wrong data")
			}
			return
		}
		// Fill zone 0 and start zone 1, then read across the boundary.
		fill := s.blocks(int(s.info.ZoneCapacity)/bs, 93)
		s.write(t, fill, s.info.ZoneStart(z0))
		next := s.blocks(1, 94)
		s.write(t, next, s.info.ZoneStart(z1))
		want := append(append([]byte{}, fill[len(fill)-bs:]...), next...)
		aligned := zoned.AlignedBuffer(len(want), bs)
		copy(aligned, want)
		s.readBack(t, aligned, s.info.ZoneStart(z1)-int64(bs))
	}},
}
