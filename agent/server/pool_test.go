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
	want := map[record.Key][]byte{}
	for range 40 { // 40 × 1 MiB over 16 MiB extents
		k, d := randomKey(), randomBytes(1<<20)
		if err := e.put(e.hc, datapath.BlobPath(drive, datapath.PoolExtent, k), d); err != nil {
			t.Fatal(err)
		}
		want[k] = d
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
