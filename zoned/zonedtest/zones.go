package zonedtest

import (
	"testing"

	"github.com/shingle-storage/shingle/zoned"
)

// zoneCases check the zone state machine: write pointers, conditions and
// the transitions between them.
var zoneCases = []testCase{
	{"Geometry", func(t *testing.T, s *suite) {
		i := s.info
		if i.Model != zoned.ModelHostManaged && i.Model != zoned.ModelHostAware {
			t.Fatalf("model %s, want a zoned model", i.Model)
		}
		bs := int64(i.LogicalBlockSize)
		if bs < 512 || i.ZoneSize%bs != 0 || i.ZoneCapacity > i.ZoneSize || i.ZoneCapacity <= 0 {
			t.Fatalf("inconsistent geometry %+v", i)
		}
		if want := int64(i.ZoneCount) * i.ZoneSize; i.Capacity > want || i.Capacity <= want-i.ZoneSize {
			t.Fatalf("capacity %d does not match %d zones of %d bytes", i.Capacity, i.ZoneCount, i.ZoneSize)
		}
		zones, err := zoned.ReportAll(s.dev)
		if err != nil {
			t.Fatal(err)
		}
		if len(zones) != i.ZoneCount {
			t.Fatalf("report returned %d zones, device has %d", len(zones), i.ZoneCount)
		}
		conv := 0
		for k, z := range zones {
			if z.Index != k || z.Start != int64(k)*i.ZoneSize {
				t.Fatalf("zone %d reported as %v", k, z)
			}
			if z.Type == zoned.TypeConventional {
				if k != conv {
					t.Fatalf("conventional zone %d after sequential zones", k)
				}
				conv++
				if z.Cond != zoned.CondNotWP {
					t.Fatalf("conventional zone %d has condition %s", k, z.Cond)
				}
			} else if z.Capacity != i.ZoneCapacity {
				t.Fatalf("zone %d capacity %d, device says %d", k, z.Capacity, i.ZoneCapacity)
			}
		}
		if conv != i.ConventionalZones {
			t.Fatalf("report shows %d conventional zones, Info says %d", conv, i.ConventionalZones)
		}
	}},
	{"WriteAtWritePointer", func(t *testing.T, s *suite) {
		z := s.seq(t, 0)
		start := s.info.ZoneStart(z)
		a, b := s.blocks(3, 1), s.blocks(2, 2)
		s.write(t, a, start)
		s.expect(t, z, zoned.CondImplicitOpen, int64(len(a)))
		s.write(t, b, start+int64(len(a)))
		s.expect(t, z, zoned.CondImplicitOpen, int64(len(a)+len(b)))
		if err := s.dev.Sync(); err != nil {
			t.Fatal(err)
		}
		s.readBack(t, a, start)
		s.readBack(t, b, start+int64(len(a)))
	}},
	{"WriteOffWritePointerRejected", func(t *testing.T, s *suite) {
		z := s.seq(t, 0)
		start := s.info.ZoneStart(z)
		bs := int64(s.info.LogicalBlockSize)
		_, err := s.dev.WriteAt(s.blocks(1, 3), start+bs)
		wantErr(t, err, zoned.ErrWritePointer, "write one block past the write pointer of an empty zone")
		s.write(t, s.blocks(2, 4), start)
		_, err = s.dev.WriteAt(s.blocks(1, 5), start)
		wantErr(t, err, zoned.ErrWritePointer, "write behind the write pointer")
		_, err = s.dev.WriteAt(s.blocks(1, 5), start+3*bs)
		wantErr(t, err, zoned.ErrWritePointer, "write ahead of the write pointer")
		s.expect(t, z, zoned.CondImplicitOpen, 2*bs)
		s.readBack(t, s.blocks(2, 4), start)
	}},
	{"WritePastCapacityRejected", func(t *testing.T, s *suite) {
		z := s.seq(t, 0)
		start := s.info.ZoneStart(z)
		capacity := s.info.ZoneCapacity
		bs := int64(s.info.LogicalBlockSize)
		// Fill all but one block.
		fill := s.blocks(int((capacity-bs)/bs), 6)
		s.write(t, fill, start)
		if capacity < s.info.ZoneSize {
			// Two blocks do not fit in the last block of capacity. (When
			// capacity equals size, the same write is split at the zone
			// boundary and its second block goes to the next zone.)
			_, err := s.dev.WriteAt(s.blocks(2, 7), start+capacity-bs)
			wantErr(t, err, zoned.ErrZoneFull, "write two blocks into the last block of capacity")
			s.expect(t, z, zoned.CondImplicitOpen, capacity-bs)
		}
		// The last block fits and fills the zone.
		last := s.blocks(1, 8)
		s.write(t, last, start+capacity-bs)
		full := s.expect(t, z, zoned.CondFull, -1)
		if full.Remaining() != 0 || full.WritePointer != full.Start+full.Size {
			t.Fatalf("full zone reported as %v", full)
		}
		_, err := s.dev.WriteAt(s.blocks(1, 9), start+capacity-bs)
		wantErr(t, err, zoned.ErrZoneFull, "write to a full zone")
		s.readBack(t, last, start+capacity-bs)
	}},
	{"ResetEmptiesZone", func(t *testing.T, s *suite) {
		z := s.seq(t, 0)
		start := s.info.ZoneStart(z)
		s.write(t, s.blocks(4, 10), start)
		if err := s.dev.ResetZones(z, 1); err != nil {
			t.Fatal(err)
		}
		s.expect(t, z, zoned.CondEmpty, 0)
		s.readBack(t, s.unwritten(4*s.info.LogicalBlockSize), start)
		// The zone takes writes from its start again.
		b := s.blocks(1, 11)
		s.write(t, b, start)
		s.readBack(t, b, start)
		// Resetting a range resets every zone in it.
		z2 := s.seq(t, 1)
		s.write(t, s.blocks(1, 12), s.info.ZoneStart(z2))
		if err := s.dev.ResetZones(z, 2); err != nil {
			t.Fatal(err)
		}
		s.expect(t, z, zoned.CondEmpty, 0)
		s.expect(t, z2, zoned.CondEmpty, 0)
	}},
	{"FinishFillsZone", func(t *testing.T, s *suite) {
		z, z2 := s.seq(t, 0), s.seq(t, 1)
		s.write(t, s.blocks(2, 13), s.info.ZoneStart(z))
		if err := s.dev.FinishZones(z, 1); err != nil {
			t.Fatal(err)
		}
		full := s.expect(t, z, zoned.CondFull, -1)
		if full.Remaining() != 0 {
			t.Fatalf("finished zone has %d bytes left", full.Remaining())
		}
		_, err := s.dev.WriteAt(s.blocks(1, 14), s.info.ZoneStart(z)+2*int64(s.info.LogicalBlockSize))
		wantErr(t, err, zoned.ErrZoneFull, "write to a finished zone")
		// An empty zone can be finished too, and finishing a full zone is
		// not an error.
		if err := s.dev.FinishZones(z2, 1); err != nil {
			t.Fatalf("finish empty zone: %v", err)
		}
		s.expect(t, z2, zoned.CondFull, -1)
		if err := s.dev.FinishZones(z, 2); err != nil {
			t.Fatalf("finish full zones: %v", err)
		}
		// Data written before the finish is still there.
		s.readBack(t, s.blocks(2, 13), s.info.ZoneStart(z))
	}},
	{"OpenCloseTransitions", func(t *testing.T, s *suite) {
		z, z2 := s.seq(t, 0), s.seq(t, 1)
		start := s.info.ZoneStart(z)
		bs := int64(s.info.LogicalBlockSize)
		// Explicit open of an empty zone.
		if err := s.dev.OpenZones(z, 1); err != nil {
			t.Fatal(err)
		}
		s.expect(t, z, zoned.CondExplicitOpen, 0)
		// Writing an explicitly open zone keeps it explicitly open.
		s.write(t, s.blocks(1, 15), start)
		s.expect(t, z, zoned.CondExplicitOpen, bs)
		// Closing a written zone keeps its write pointer.
		if err := s.dev.CloseZones(z, 1); err != nil {
			t.Fatal(err)
		}
		s.expect(t, z, zoned.CondClosed, bs)
		// Closing a closed zone is not an error.
		if err := s.dev.CloseZones(z, 1); err != nil {
			t.Fatalf("close a closed zone: %v", err)
		}
		// A write reopens a closed zone implicitly, at its write pointer.
		s.write(t, s.blocks(1, 16), start+bs)
		s.expect(t, z, zoned.CondImplicitOpen, 2*bs)
		// An explicit open of an implicitly open zone makes it explicit.
		if err := s.dev.OpenZones(z, 1); err != nil {
			t.Fatal(err)
		}
		s.expect(t, z, zoned.CondExplicitOpen, 2*bs)
		if err := s.dev.CloseZones(z, 1); err != nil {
			t.Fatal(err)
		}
		// Open a closed zone explicitly.
		if err := s.dev.OpenZones(z, 1); err != nil {
			t.Fatal(err)
		}
		s.expect(t, z, zoned.CondExplicitOpen, 2*bs)
		// Closing an empty zone and opening a full one are refused.
		err := s.dev.CloseZones(z2, 1)
		wantErr(t, err, zoned.ErrInvalidTransition, "close an empty zone")
		if err := s.dev.FinishZones(z2, 1); err != nil {
			t.Fatal(err)
		}
		err = s.dev.OpenZones(z2, 1)
		wantErr(t, err, zoned.ErrInvalidTransition, "open a full zone")
		s.readBack(t, s.blocks(1, 15), start)
		s.readBack(t, s.blocks(1, 16), start+bs)
	}},
	{"ReadPastWritePointer", func(t *testing.T, s *suite) {
		z := s.seq(t, 0)
		start := s.info.ZoneStart(z)
		bs := s.info.LogicalBlockSize
		b := s.blocks(2, 17)
		s.write(t, b, start)
		want := append(append([]byte{}, b...), s.unwritten(2*bs)...)
		s.readBack(t, want, start)
		// An empty zone reads as unwritten throughout.
		s.readBack(t, s.unwritten(2*bs), s.info.ZoneStart(s.seq(t, 1)))
	}},
	{"PagedReport", func(t *testing.T, s *suite) {
		// Leave zones in varied states so pages have something to compare.
		for k := range min(6, s.info.ZoneCount-s.info.ConventionalZones) {
			z := s.seq(t, k)
			s.write(t, s.blocks(k+1, uint64(100+k)), s.info.ZoneStart(z))
			if k%2 == 1 {
				if err := s.dev.FinishZones(z, 1); err != nil {
					t.Fatal(err)
				}
			}
		}
		all, err := zoned.ReportAll(s.dev)
		if err != nil {
			t.Fatal(err)
		}
		for _, page := range []int{1, 7, 100, s.info.ZoneCount + 5} {
			got := 0
			buf := make([]zoned.Zone, page)
			for got < s.info.ZoneCount {
				n, err := s.dev.ReportZones(got, buf)
				if err != nil {
					t.Fatalf("page %d at %d: %v", page, got, err)
				}
				if n == 0 || n > page {
					t.Fatalf("page %d at zone %d returned %d zones", page, got, n)
				}
				for k := range n {
					if buf[k] != all[got+k] {
						t.Fatalf("page %d: zone %d is %v, full report says %v", page, got+k, buf[k], all[got+k])
					}
				}
				got += n
			}
			if got != s.info.ZoneCount {
				t.Fatalf("pages of %d covered %d zones, want %d", page, got, s.info.ZoneCount)
			}
		}
		if n, err := s.dev.ReportZones(s.info.ZoneCount, make([]zoned.Zone, 4)); err != nil || n != 0 {
			t.Fatalf("report past the last zone: n=%d err=%v, want 0 zones", n, err)
		}
		_, err = s.dev.ReportZones(-1, make([]zoned.Zone, 4))
		wantErr(t, err, zoned.ErrOutOfRange, "report from zone -1")
	}},
}
