package extent_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/shingle-storage/shingle/agent/extent"
	"github.com/shingle-storage/shingle/agent/label"
	"github.com/shingle-storage/shingle/agent/record"
	"github.com/shingle-storage/shingle/zoned"
	"github.com/shingle-storage/shingle/zoned/errorzone"
)

var (
	ctx     = context.Background()
	cluster = label.ID{0xc1}
)

// smr is a small SMR-shaped drive: 1 MiB zones, 2 conventional.
var smr = zoned.EmulatorConfig{ZoneSize: 1 << 20, ZoneCount: 42, ConventionalZones: 2, MaxOpenZones: 8, MaxActiveZones: 12}

func newDrive(t *testing.T, cfg zoned.EmulatorConfig) (*zoned.Emulator, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "drive")
	dev, err := zoned.CreateEmulator(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return dev, path
}

func format(t *testing.T, dev zoned.Device) *extent.Store {
	t.Helper()
	s, err := extent.Format(dev, extent.FormatOptions{Cluster: cluster, Drive: label.ID{0xd1}, ZonesPerExtent: 4})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func key(i int) record.Key {
	var k record.Key
	k[0], k[1], k[2] = byte(i), byte(i>>8), byte(i>>16)
	k[31] = 0x5a
	return k
}

func blob(i, n int) []byte {
	b := make([]byte, n)
	for j := range b {
		b[j] = byte(i*7 + j)
	}
	return b
}

// restart closes the store and its drive and opens both again, as a
// restart of the agent would.
func restart(t *testing.T, s *extent.Store, dev *zoned.Emulator, path string) (*extent.Store, *zoned.Emulator) {
	t.Helper()
	must(t, s.Close())
	must(t, dev.Close())
	dev, err := zoned.OpenEmulator(path)
	must(t, err)
	t.Cleanup(func() { dev.Close() })
	s, err = extent.Open(dev, extent.Options{Cluster: cluster})
	must(t, err)
	t.Cleanup(func() { s.Close() })
	return s, dev
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestPutGetDeleteSealReopen(t *testing.T) {
	dev, path := newDrive(t, smr)
	s := format(t, dev)
	id, err := s.CreateExtent()
	must(t, err)
	for i := range 60 {
		if _, err := s.Put(ctx, id, key(i), blob(i, 100+i*997)); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	for i := range 60 {
		got, err := s.Get(ctx, key(i))
		if err != nil || !bytes.Equal(got, blob(i, 100+i*997)) {
			t.Fatalf("get %d: %v", i, err)
		}
	}
	if _, err := s.Put(ctx, id, key(3), []byte("again")); !errors.Is(err, extent.ErrExists) {
		t.Fatalf("second put of a key: %v", err)
	}
	must(t, s.Delete(ctx, id, key(5)))
	if _, err := s.Get(ctx, key(5)); !errors.Is(err, extent.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	if err := s.Delete(ctx, id, key(5)); !errors.Is(err, extent.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	must(t, s.Seal(ctx, id))
	if _, err := s.Put(ctx, id, key(100), []byte("late")); !errors.Is(err, extent.ErrSealed) {
		t.Fatalf("put to a sealed extent: %v", err)
	}
	var blobs, stones, summaries, seals int
	var sealed record.Seal
	must(t, s.Records(id, func(_ int64, h record.Header, p []byte) bool {
		switch h.Type {
		case record.TypeBlob:
			blobs++
		case record.TypeTombstone:
			stones++
		case record.TypeSummary:
			summaries++
		case record.TypeSeal:
			seals++
			sealed, err = record.UnmarshalSeal(p)
			must(t, err)
		}
		return true
	}))
	if blobs != 60 || stones != 1 || summaries != 1 || seals != 1 || sealed.Records != 62 || sealed.SummaryRecords != 1 {
		t.Fatalf("records: %d blobs, %d tombstones, %d summaries, %d seals; seal says %d records, %d of summary",
			blobs, stones, summaries, seals, sealed.Records, sealed.SummaryRecords)
	}

	// Restart: everything comes back from the drive alone.
	s, dev = restart(t, s, dev, path)
	for i := range 60 {
		got, err := s.Get(ctx, key(i))
		if i == 5 {
			if !errors.Is(err, extent.ErrNotFound) {
				t.Fatalf("deleted blob after reopen: %v", err)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, blob(i, 100+i*997)) {
			t.Fatalf("get %d after reopen: %v", i, err)
		}
	}
	list := s.List()
	if len(list) != 1 || list[0].State != extent.StateSealed || list[0].ID != id {
		t.Fatalf("extents after reopen: %+v", list)
	}
	must(t, s.DeleteExtent(ctx, id))
	if _, err := s.Get(ctx, key(1)); !errors.Is(err, extent.ErrNotFound) {
		t.Fatalf("get after deleting the extent: %v", err)
	}
	if st := s.Stat(); st.Extents != 0 || st.Blobs != 0 {
		t.Fatalf("stat after deleting the extent: %+v", st)
	}
}

func TestLabelChecks(t *testing.T) {
	dev, _ := newDrive(t, smr)
	defer dev.Close()
	if _, err := extent.Open(dev, extent.Options{}); !errors.Is(err, extent.ErrNoLabel) {
		t.Fatalf("open of a blank drive: %v", err)
	}
	s := format(t, dev)
	must(t, s.Close())
	if _, err := extent.Format(dev, extent.FormatOptions{Cluster: cluster}); err == nil {
		t.Fatal("formatted a drive that has a label without Force")
	}
	if _, err := extent.Open(dev, extent.Options{Cluster: label.ID{0xee}}); !errors.Is(err, extent.ErrWrongDrive) {
		t.Fatalf("open with another cluster's id: %v", err)
	}
	s, err := extent.Format(dev, extent.FormatOptions{Cluster: label.ID{0xee}, Force: true})
	must(t, err)
	must(t, s.Close())
}

func TestZNSLabelLogAndCapacity(t *testing.T) {
	// No conventional zones, zone capacity below zone size.
	dev, path := newDrive(t, zoned.EmulatorConfig{ZoneSize: 1 << 20, ZoneCapacity: 768 << 10, ZoneCount: 20, MaxOpenZones: 8, MaxActiveZones: 12})
	s := format(t, dev)
	id, err := s.CreateExtent()
	must(t, err)
	// More than one zone's capacity of blobs, so the extent spans zones.
	for i := range 20 {
		if _, err := s.Put(ctx, id, key(i), blob(i, 100<<10)); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	s, dev = restart(t, s, dev, path)
	for i := range 20 {
		if got, err := s.Get(ctx, key(i)); err != nil || !bytes.Equal(got, blob(i, 100<<10)) {
			t.Fatalf("get %d after reopen: %v", i, err)
		}
	}
}

func TestFullAndTooLarge(t *testing.T) {
	dev, _ := newDrive(t, zoned.EmulatorConfig{ZoneSize: 256 << 10, ZoneCount: 10, ConventionalZones: 2})
	defer dev.Close()
	s, err := extent.Format(dev, extent.FormatOptions{Cluster: cluster, ZonesPerExtent: 2})
	must(t, err)
	defer s.Close()
	var ids []uint64
	for {
		id, err := s.CreateExtent()
		if err != nil {
			if !errors.Is(err, extent.ErrFull) {
				t.Fatalf("create past the last slot: %v", err)
			}
			break
		}
		ids = append(ids, id)
	}
	// Four slots, one kept free for compaction.
	if len(ids) != 3 {
		t.Fatalf("%d extents on 8 data zones of 2, want 3 (one slot is kept for compaction)", len(ids))
	}
	if st := s.Stat(); st.FreeZones != 2 {
		t.Fatalf("%d free zones with every extent in use, want the 2 kept for compaction", st.FreeZones)
	}
	if _, err := s.Put(ctx, ids[0], key(1), make([]byte, record.MaxPayload+1)); !errors.Is(err, extent.ErrTooLarge) {
		t.Fatalf("oversized blob: %v", err)
	}
	n := 0
	for ; ; n++ {
		if _, err := s.Put(ctx, ids[0], key(n), blob(n, 60<<10)); err != nil {
			if !errors.Is(err, extent.ErrFull) {
				t.Fatalf("put into a full extent: %v", err)
			}
			break
		}
	}
	// The room kept for the seal lets a full extent still be sealed.
	must(t, s.Seal(ctx, ids[0]))
	if n < 6 {
		t.Fatalf("only %d blobs of 60 KiB fit in 512 KiB", n)
	}
}

func TestDeviceErrorMakesExtentReadOnly(t *testing.T) {
	dev, _ := newDrive(t, smr)
	defer dev.Close()
	faulty := errorzone.Wrap(dev, nil)
	s, err := extent.Format(faulty, extent.FormatOptions{Cluster: cluster, ZonesPerExtent: 4})
	must(t, err)
	defer s.Close()
	id, err := s.CreateExtent()
	must(t, err)
	_, err = s.Put(ctx, id, key(1), blob(1, 5000))
	must(t, err)
	faulty.SetInjector(errorzone.OnNth(errorzone.Write, 1, 0))
	if _, err := s.Put(ctx, id, key(2), blob(2, 5000)); !errors.Is(err, extent.ErrReadOnly) || !errors.Is(err, errorzone.ErrInjected) {
		t.Fatalf("put with a failing write: %v, want ErrReadOnly wrapping the device error", err)
	}
	faulty.SetInjector(nil)
	if _, err := s.Put(ctx, id, key(3), blob(3, 10)); !errors.Is(err, extent.ErrReadOnly) {
		t.Fatalf("put to the read-only extent: %v", err)
	}
	if got, err := s.Get(ctx, key(1)); err != nil || !bytes.Equal(got, blob(1, 5000)) {
		t.Fatalf("read from the read-only extent: %v", err)
	}
	if _, err := s.Get(ctx, key(2)); !errors.Is(err, extent.ErrNotFound) {
		t.Fatalf("the failed put is visible: %v", err)
	}
	if l := s.List(); l[0].State != extent.StateReadOnly || l[0].Damage == "" {
		t.Fatalf("extent after the error: %+v", l[0])
	}
}

// A zone that goes offline or read-only while the store runs is noticed on
// the next read or write: its extent goes read-only and is reported
// damaged, without waiting for a restart.
func TestZoneGoingOfflineAtRunTime(t *testing.T) {
	dev, _ := newDrive(t, smr)
	defer dev.Close()
	s := format(t, dev)
	defer s.Close()
	a, err := s.CreateExtent()
	must(t, err)
	b, err := s.CreateExtent()
	must(t, err)
	_, err = s.Put(ctx, a, key(1), blob(1, 5000))
	must(t, err)
	_, err = s.Put(ctx, b, key(2), blob(2, 5000))
	must(t, err)
	zones := map[uint64][]int{}
	for _, in := range s.List() {
		zones[in.ID] = in.Zones
	}
	must(t, errorzone.SetZoneCondition(dev, zones[a][0], zoned.CondOffline))
	must(t, errorzone.SetZoneCondition(dev, zones[b][0], zoned.CondReadOnly))

	if _, err := s.Get(ctx, key(1)); !errors.Is(err, zoned.ErrOffline) {
		t.Fatalf("get from an offline zone: %v, want ErrOffline", err)
	}
	if _, err := s.Put(ctx, b, key(3), blob(3, 100)); !errors.Is(err, extent.ErrReadOnly) {
		t.Fatalf("put into a read-only zone: %v, want ErrReadOnly", err)
	}
	// The read-only zone still reads.
	if got, err := s.Get(ctx, key(2)); err != nil || !bytes.Equal(got, blob(2, 5000)) {
		t.Fatalf("get from a read-only zone: %v", err)
	}
	damaged := map[uint64]string{}
	for _, d := range s.Stat().Damaged {
		damaged[d.Extent] = d.Reason
	}
	if damaged[a] != "zone is offline" || damaged[b] != "zone went read-only" {
		t.Fatalf("damage reported: %v, want extent %d offline and %d read-only", damaged, a, b)
	}
	for _, in := range s.List() {
		if in.State != extent.StateReadOnly || in.Damage == "" {
			t.Fatalf("extent %d after its zone failed: %+v", in.ID, in)
		}
	}
	if _, err := s.Put(ctx, a, key(4), blob(4, 100)); !errors.Is(err, extent.ErrReadOnly) {
		t.Fatalf("put into the extent with an offline zone: %v", err)
	}
}

// TestPutAfterDeleteReusesSlot checks that an extent created in the slot of
// one just deleted takes puts: the zones were reset, and the appender must
// not write where the deleted extent had left off.
func TestPutAfterDeleteReusesSlot(t *testing.T) {
	dev, _ := newDrive(t, smr)
	s := format(t, dev)
	defer s.Close()
	for round := range 3 {
		id, err := s.CreateExtent()
		must(t, err)
		for i := range 5 {
			if _, err := s.Put(ctx, id, key(round*10+i), blob(i, 9000)); err != nil {
				t.Fatalf("round %d, put %d into a reused slot: %v", round, i, err)
			}
		}
		must(t, s.Seal(ctx, id))
		must(t, s.DeleteExtent(ctx, id))
	}
}

// A put with the checksum the caller checked stores that checksum, a get
// hands it back, and a checksum that does not match the bytes makes the
// blob fail its reads rather than return them.
func TestChecksumsTravelWithTheBlob(t *testing.T) {
	dev, _ := newDrive(t, smr)
	s := format(t, dev)
	id, err := s.CreateExtent()
	must(t, err)
	data := blob(1, 5000)
	if _, err := s.PutChecked(ctx, id, key(1), data, record.Checksum(data)); err != nil {
		t.Fatal(err)
	}
	got, sum, err := s.GetChecked(ctx, key(1))
	if err != nil || !bytes.Equal(got, data) || sum != record.Checksum(data) {
		t.Fatalf("GetChecked: %d bytes, sum %08x (want %08x), %v", len(got), sum, record.Checksum(data), err)
	}
	// The blob handed out is the caller's to keep: growing it must not
	// reach into the store's record.
	_ = append(got, 0xAA)
	if again, _, err := s.GetChecked(ctx, key(1)); err != nil || !bytes.Equal(again, data) {
		t.Fatalf("second get: %v", err)
	}

	bad := blob(2, 5000)
	if _, err := s.PutChecked(ctx, id, key(2), bad, record.Checksum(bad)^1); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.GetChecked(ctx, key(2)); !errors.Is(err, extent.ErrCorrupt) {
		t.Fatalf("get of a blob put with a wrong checksum: %v, want ErrCorrupt", err)
	}
}
