package server

import (
	"bytes"
	"net/http"
	"testing"

	"connectrpc.com/connect"
	"github.com/shingle-storage/shingle/agent/datapath"
	"github.com/shingle-storage/shingle/agent/extent"
	"github.com/shingle-storage/shingle/agent/record"
	agentv1 "github.com/shingle-storage/shingle/api/agent/v1"
)

// TestShardPool puts more blobs to a drive's pool than one extent holds:
// the agent fills a pool extent, seals it and opens the next; every blob
// reads back by key; a pool delete removes one; a missing key is
// not_found.
func TestShardPool(t *testing.T) {
	e := newTestEnv(t, smallDrives)
	drive := e.drives[0].ID
	if room := e.drives[0].PoolRoomBytes(); room != 0 {
		t.Fatalf("pool room %d before any pool extent exists", room)
	}
	want := map[record.Key][]byte{}
	l := e.drives[0].Store.Label()
	extentBytes := uint64(l.ZonesPerExtent) * uint64(l.ZoneCapacity)
	for i := range 40 { // 40 × 1 MiB over 16 MiB extents
		k, d := randomKey(), randomBytes(1<<20)
		if err := e.put(e.hc, datapath.BlobPath(drive, datapath.PoolExtent, k), d); err != nil {
			t.Fatal(err)
		}
		want[k] = d
		// The open pool extent's room is what its records leave.
		room := e.drives[0].PoolRoomBytes()
		if room == 0 || room >= extentBytes || (i == 0 && room > extentBytes-uint64(record.Size(1<<20, 4096))) {
			t.Fatalf("after %d MiB put to the pool, its room is %d of an extent of %d", i+1, room, extentBytes)
		}
	}
	res, err := e.ctl.ListExtents(t.Context(), connect.NewRequest(&agentv1.ListExtentsRequest{Drive: drive}))
	if err != nil {
		t.Fatal(err)
	}
	pools, open := 0, 0
	for _, x := range res.Msg.GetExtents() {
		if !isPool(x.GetId()) {
			t.Fatalf("extent %d is not a pool extent; only the pool was written", x.GetId())
		}
		pools++
		if x.GetState() == agentv1.ExtentState_EXTENT_STATE_OPEN {
			open++
		}
	}
	if pools < 3 || open != 1 {
		t.Fatalf("%d pool extents, %d open; want at least 3 for 40 MiB, exactly one open", pools, open)
	}
	for k, d := range want {
		got, err := e.get(e.hc, datapath.BlobPath(drive, datapath.PoolExtent, k))
		if err != nil || !bytes.Equal(got, d) {
			t.Fatalf("blob %x: %v", k[:4], err)
		}
	}
	var gone record.Key
	for k := range want {
		gone = k
		break
	}
	r, err := e.do(e.hc, "DELETE", datapath.BlobPath(drive, datapath.PoolExtent, gone), nil, nil)
	if err != nil || r.status != http.StatusNoContent {
		t.Fatalf("pool delete: %v %d %s", err, r.status, r.body)
	}
	if _, err := e.drives[0].Store.Get(t.Context(), gone); err == nil {
		t.Fatal("a deleted pool blob still reads")
	}
	r, _ = e.do(e.hc, "DELETE", datapath.BlobPath(drive, datapath.PoolExtent, gone), nil, nil)
	if r.status != http.StatusNotFound {
		t.Fatalf("deleting it again: status %d, want 404", r.status)
	}
	// After a restart the agent finds the pool extent it was filling.
	var p shardPool
	id, err := p.current(e.drives[0].Store)
	if err != nil || !isPool(id) {
		t.Fatalf("pool after restart: %d, %v", id, err)
	}
	if info := infoOf(t, e.drives[0].Store, id); info.State != extent.StateOpen {
		t.Fatalf("pool resumed at extent %d, which is %v", id, info.State)
	}
}

// infoOf returns the store's description of extent id.
func infoOf(t *testing.T, s *extent.Store, id uint64) extent.Info {
	t.Helper()
	for _, in := range s.List() {
		if in.ID == id {
			return in
		}
	}
	t.Fatalf("no extent %d", id)
	return extent.Info{}
}

// TestShardPoolConcurrentWriters has eight writers fill the pool past
// several extents at once: every put succeeds although writers find the
// extent they aimed at full, or being sealed by another writer.
func TestShardPoolConcurrentWriters(t *testing.T) {
	e := newTestEnv(t, smallDrives)
	drive := e.drives[0].ID
	errs := make(chan error, 48)
	sem := make(chan struct{}, 8)
	for range 48 {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			errs <- e.put(e.hc, datapath.BlobPath(drive, datapath.PoolExtent, randomKey()), randomBytes(1<<20))
		}()
	}
	for range 48 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestPoolCompaction fills pool extents, deletes most of their blobs
// through the pool, and compacts: the sealed pool extents that freed
// enough are replaced by new pool extents holding the live blobs, which
// read back by key, and new writes go to an open pool extent, never to
// a compaction's destination.
func TestPoolCompaction(t *testing.T) {
	e := newTestEnv(t, smallDrives)
	d := e.drives[0]
	keep := map[record.Key][]byte{}
	var drop []record.Key
	for i := range 40 { // 40 × 1 MiB over 16 MiB extents
		k, b := randomKey(), randomBytes(1<<20)
		if err := e.put(e.hc, datapath.BlobPath(d.ID, datapath.PoolExtent, k), b); err != nil {
			t.Fatal(err)
		}
		if i%4 == 0 {
			keep[k] = b
		} else {
			drop = append(drop, k)
		}
	}
	for _, k := range drop {
		if err := d.poolDelete(t.Context(), k); err != nil {
			t.Fatal(err)
		}
	}
	var sealed []uint64
	for _, in := range d.Store.List() {
		if in.State == extent.StateSealed {
			sealed = append(sealed, in.ID)
		}
	}
	n, freed, err := d.compactPool(t.Context(), PoolCompaction{MinReclaimable: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 || n != len(sealed) || freed <= 0 {
		t.Fatalf("compacted %d of the %d sealed pool extents, freeing %d bytes; want all, with three quarters of their blobs deleted", n, len(sealed), freed)
	}
	ids := map[uint64]bool{}
	for _, in := range d.Store.List() {
		if !isPool(in.ID) {
			t.Fatalf("extent %d after compaction is not a pool extent", in.ID)
		}
		ids[in.ID] = true
	}
	for _, id := range sealed {
		if ids[id] {
			t.Fatalf("sealed pool extent %d is still there after its compaction", id)
		}
	}
	for k, b := range keep {
		if got, err := e.get(e.hc, datapath.BlobPath(d.ID, datapath.PoolExtent, k)); err != nil || !bytes.Equal(got, b) {
			t.Fatalf("kept blob %x after compaction: %v", k[:4], err)
		}
	}
	for _, k := range drop[:3] {
		if _, err := d.Store.Get(t.Context(), k); err == nil {
			t.Fatalf("deleted blob %x is back after compaction", k[:4])
		}
	}
	k, b := randomKey(), randomBytes(1<<20)
	if err := e.put(e.hc, datapath.BlobPath(d.ID, datapath.PoolExtent, k), b); err != nil {
		t.Fatalf("a pool write after compaction: %v", err)
	}
}
