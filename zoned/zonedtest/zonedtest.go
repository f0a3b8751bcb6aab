// Package zonedtest is the conformance suite every zoned.Device backend
// must pass. The same cases run against the emulator in every `go test`
// and, inside QEMU, against the kernel's null_blk zoned device and an NVMe
// ZNS namespace, so the emulator is checked against the real kernel rather
// than against its author's reading of it.
//
// A case may only assert what the kernel guarantees for every zoned device.
// Where drivers legitimately differ (null_blk closes an implicitly open zone
// to make room for another, QEMU's NVMe controller refuses instead), the
// case asserts the invariant both keep.
package zonedtest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/shingle-storage/shingle/zoned"
)

// Target is a device under test.
type Target struct {
	// Name labels the target in test names.
	Name string
	// Open returns the device. It is opened once and shared by all cases;
	// each case starts by resetting every sequential zone. The suite closes
	// it at the end.
	Open func(t *testing.T) zoned.Device
	// PastWritePointer is the byte that reads at or past a sequential
	// zone's write pointer return on this target: 0xFF for null_blk (Linux
	// 6.1) and the emulator, 0x00 for QEMU's NVMe ZNS.
	PastWritePointer byte
}

// testCase is one conformance case.
type testCase struct {
	name string
	fn   func(t *testing.T, s *suite)
}

// suite is the state shared by the cases of one run.
type suite struct {
	dev  zoned.Device
	info zoned.Info
	tgt  Target
	rng  *rand.Rand
}

// Run runs every conformance case against the target.
func Run(t *testing.T, tgt Target) {
	dev := tgt.Open(t)
	t.Cleanup(func() {
		if err := dev.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	s := &suite{dev: dev, info: dev.Info(), tgt: tgt, rng: rand.New(rand.NewPCG(42, 7))}
	t.Logf("%s: %+v", tgt.Name, s.info)
	var cases []testCase
	cases = append(cases, zoneCases...)
	cases = append(cases, limitCases...)
	cases = append(cases, ioCases...)
	cases = append(cases, appenderCases...)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s.resetAll(t)
			c.fn(t, s)
		})
	}
}

// resetAll resets every sequential zone, which also closes every open zone.
func (s *suite) resetAll(t *testing.T) {
	t.Helper()
	if err := s.dev.ResetZones(0, s.info.ZoneCount); err != nil {
		t.Fatalf("reset all zones: %v", err)
	}
}

// seq returns the index of the k-th sequential zone, failing the test if
// the device has too few.
func (s *suite) seq(t *testing.T, k int) int {
	t.Helper()
	z := s.info.ConventionalZones + k
	if z >= s.info.ZoneCount {
		t.Fatalf("the device has %d sequential zones; the case needs %d", s.info.ZoneCount-s.info.ConventionalZones, k+1)
	}
	return z
}

// zone reports one zone.
func (s *suite) zone(t *testing.T, i int) zoned.Zone {
	t.Helper()
	z, err := zoned.ReportZone(s.dev, i)
	if err != nil {
		t.Fatalf("report zone %d: %v", i, err)
	}
	return z
}

// expect checks a zone's condition and write pointer (relative to its start;
// -1 skips the write pointer check).
func (s *suite) expect(t *testing.T, i int, cond zoned.Condition, wp int64) zoned.Zone {
	t.Helper()
	z := s.zone(t, i)
	if z.Cond != cond {
		t.Fatalf("zone %d is %s, want %s (%v)", i, z.Cond, cond, z)
	}
	if wp >= 0 && z.WritePointer-z.Start != wp {
		t.Fatalf("zone %d write pointer at +%d, want +%d (%v)", i, z.WritePointer-z.Start, wp, z)
	}
	return z
}

// unwritten returns n bytes as a read past the write pointer returns them.
func (s *suite) unwritten(n int) []byte {
	return bytes.Repeat([]byte{s.tgt.PastWritePointer}, n)
}

// blocks returns an aligned buffer of n blocks filled from seed.
func (s *suite) blocks(n int, seed uint64) []byte {
	bs := s.info.LogicalBlockSize
	b := zoned.AlignedBuffer(n*bs, bs)
	fillPattern(b, seed)
	return b
}

// fillPattern fills b with bytes derived from seed, with the seed itself in
// the first 8 bytes of every 512-byte sector so misplaced data is
// recognisable.
func fillPattern(b []byte, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	for i := 0; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	for i := 0; i+8 <= len(b); i += 512 {
		binary.LittleEndian.PutUint64(b[i:], seed)
	}
}

// write writes b at off and fails the test on error.
func (s *suite) write(t *testing.T, b []byte, off int64) {
	t.Helper()
	if n, err := s.dev.WriteAt(b, off); err != nil || n != len(b) {
		t.Fatalf("write %d bytes at %d: n=%d err=%v", len(b), off, n, err)
	}
}

// readBack reads len(want) bytes at off and compares them with want.
func (s *suite) readBack(t *testing.T, want []byte, off int64) {
	t.Helper()
	got := zoned.AlignedBuffer(len(want), s.info.LogicalBlockSize)
	if n, err := s.dev.ReadAt(got, off); err != nil || n != len(got) {
		t.Fatalf("read %d bytes at %d: n=%d err=%v", len(got), off, n, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read at %d: data differs from what was written (first difference at byte %d)", off, firstDiff(got, want))
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// wantErr fails the test unless err matches kind and names the device.
func wantErr(t *testing.T, err error, kind error, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: succeeded, want %v", what, kind)
	}
	if !errors.Is(err, kind) {
		t.Fatalf("%s: got %v, want %v", what, err, kind)
	}
	var ze *zoned.Error
	if !errors.As(err, &ze) || ze.Path == "" {
		t.Fatalf("%s: error %v does not name the device", what, err)
	}
}

// countConds counts zones by condition over the whole device.
func (s *suite) countConds(t *testing.T) map[zoned.Condition]int {
	t.Helper()
	zones, err := zoned.ReportAll(s.dev)
	if err != nil {
		t.Fatalf("report: %v", err)
	}
	m := map[zoned.Condition]int{}
	for _, z := range zones {
		m[z.Cond]++
	}
	return m
}

func (s *suite) String() string { return fmt.Sprintf("%s (%s)", s.tgt.Name, s.info.Path) }

// must fails the test on a non-nil error.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
