package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/shingle-storage/shingle/agent/datapath"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/api/fleet/v1/fleetv1connect"
	"github.com/shingle-storage/shingle/client"
	"github.com/shingle-storage/shingle/fleetd/erasure"
	"github.com/shingle-storage/shingle/fleetd/state"
)

// TestDeletesAndCompaction deletes blobs at every stage of a volume's
// life: from open volumes (tombstones on the replicas), and from encoded
// ones (recorded in fleetd). Deleted blobs read as not found at once and
// deleting one again says so; once a volume has enough deleted, fleetd
// rewrites its image without them under the next epoch, the old shards go,
// and every other blob still reads back.
func TestDeletesAndCompaction(t *testing.T) {
	f := startFleet(t, fleetShape{hosts: 10, code: state.RS(6, 3)})
	ctx := context.Background()
	blobs := f.put(40, 200<<10)

	// From open volumes.
	gone := stored{}
	for l, b := range blobs {
		if len(gone) == 3 {
			break
		}
		if err := f.client.Delete(ctx, l); err != nil {
			t.Fatalf("delete %v from an open volume: %v", l, err)
		}
		gone[l] = b
		delete(blobs, l)
	}
	f.checkGone(gone, "deleted from open volumes")

	// A delete that reached only one replica (its other tombstones
	// failed) is finished by deleting again.
	dc := &datapath.Client{HTTP: f.operatorHTTP()}
	for l, b := range blobs {
		loc, err := f.client.Locate(ctx, l.Volume)
		if err != nil {
			t.Fatal(err)
		}
		if loc.GetVolume().GetState() != "open" {
			continue
		}
		h := loc.GetHolders()[0]
		if err := dc.Delete(ctx, h.GetAddress(), h.GetDrive(), h.GetExtent(), l.Key); err != nil {
			t.Fatal(err)
		}
		if err := f.client.Delete(ctx, l); err != nil {
			t.Fatalf("deleting %v again after one replica took the tombstone: %v", l, err)
		}
		gone[l] = b
		delete(blobs, l)
		break
	}
	f.checkGone(gone, "a partly deleted blob deleted again")

	// Where each volume is while open and once encoded, for a reader
	// that is told so too late (below).
	replicated := f.locations(blobs)
	f.sealAndEncode()
	encoded := f.locations(blobs)
	f.checkGone(gone, "encoded")
	f.checkAll(blobs, "encoded")

	// From an encoded volume: enough of its blobs for a compaction.
	byVol := map[uint64][]client.Locator{}
	for l := range blobs {
		byVol[l.Volume] = append(byVol[l.Volume], l)
	}
	var target uint64
	for v, ls := range byVol {
		if len(ls) > len(byVol[target]) {
			target = v
		}
	}
	before := f.volume(target)
	if before.GetBlobs() != uint64(len(byVol[target])) {
		t.Fatalf("volume %d: fleetd counts %d blobs in its image, the test put %d there and deleted none", target, before.GetBlobs(), len(byVol[target]))
	}
	beforeImage := f.imageLen(dc, before)
	n := (len(byVol[target]) + 1) / 2
	for _, l := range byVol[target][:n] {
		if err := f.client.Delete(ctx, l); err != nil {
			t.Fatalf("delete %v from an encoded volume: %v", l, err)
		}
		gone[l] = blobs[l]
		delete(blobs, l)
	}
	f.checkGone(gone, "deleted from an encoded volume")

	// Compactions start once a fifth of the volume is deleted, maybe
	// before the test is done deleting; wait until one has run and no
	// other is due.
	f.eventually("the volume compacted", 120*time.Second, func() error {
		v := f.volume(target)
		if v.GetEpoch() == 0 || float64(v.GetDeletedBlobs()) >= 0.2*float64(v.GetBlobs()) {
			return fmt.Errorf("volume %d at epoch %d with %d of %d blobs deleted", target, v.GetEpoch(), v.GetDeletedBlobs(), v.GetBlobs())
		}
		return nil
	})
	after := f.volume(target)
	if live, want := after.GetBlobs()-after.GetDeletedBlobs(), uint64(len(byVol[target])-n); live != want {
		t.Fatalf("compacted volume %d holds %d blobs, %d of them deleted; want %d live", target, after.GetBlobs(), after.GetDeletedBlobs(), want)
	}
	// The image lost at least the bytes of the blobs purged: those deleted
	// that the volume no longer lists as deleted (a compaction may run
	// before the last deletions, which then wait for the next). The
	// shards, whole chunks of it, are no larger.
	loc, err := f.client.Locate(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	purged := 0
	for _, l := range byVol[target][:n] {
		if !slices.ContainsFunc(loc.GetDeleted(), func(k []byte) bool { return bytes.Equal(k, l.Key[:]) }) {
			purged += len(gone[l])
		}
	}
	if afterImage := f.imageLen(dc, after); purged == 0 || afterImage > beforeImage-int64(purged) {
		t.Fatalf("compaction left an image of %d bytes; it was %d, and %d bytes of blobs were purged", afterImage, beforeImage, purged)
	}
	if after.GetMemberBytes() > before.GetMemberBytes() {
		t.Fatalf("compaction left shards of %d bytes, larger than the %d before", after.GetMemberBytes(), before.GetMemberBytes())
	}
	f.checkAll(blobs, "after the compaction")
	f.checkGone(gone, "after the compaction")
	f.checkFollowsMoves(blobs, target, replicated[target], encoded[target])

	// The old epochs' shards are deleted from their drives.
	owner := f.drivesOf()
	f.eventually("the old shards deleted", 60*time.Second, func() error {
		for epoch := range after.GetEpoch() {
			for i, d := range before.GetPlacement() {
				_, err := dc.Get(ctx, f.agents[owner[d]].addr, d, datapath.PoolExtent, erasure.HeaderKey(target, epoch, i))
				if !datapath.IsCode(err, "not_found") {
					return fmt.Errorf("drive %s still has the epoch %d header of shard %d (%v)", d, epoch, i, err)
				}
			}
		}
		return nil
	})
	// An old epoch's shard left behind (as a leader change during the
	// compaction's clean-up would leave it) is found by the cross-check
	// and deleted: header and chunks.
	d0, a0 := after.GetPlacement()[0], f.agents[owner[after.GetPlacement()[0]]].addr
	header, err := dc.Get(ctx, a0, d0, datapath.PoolExtent, erasure.HeaderKey(target, after.GetEpoch(), 0))
	if err != nil {
		t.Fatal(err)
	}
	staleHeader, staleChunk := erasure.HeaderKey(target, 0, 0), erasure.ChunkKey(target, 0, 0, 0)
	for k, b := range map[datapath.Key][]byte{staleHeader: header, staleChunk: []byte("a chunk of an old epoch")} {
		if err := dc.Put(ctx, a0, d0, datapath.PoolExtent, k, b); err != nil {
			t.Fatal(err)
		}
	}
	f.eventually("the left-behind old shard deleted", 60*time.Second, func() error {
		for _, k := range []datapath.Key{staleChunk, staleHeader} {
			if _, err := dc.Get(ctx, a0, d0, datapath.PoolExtent, k); !datapath.IsCode(err, "not_found") {
				return fmt.Errorf("drive %s still has a blob of the old epoch (%v)", d0, err)
			}
		}
		return nil
	})
	f.checkAll(blobs, "after the cross-check's clean-up")
	st, err := f.vols.GetRepairStatus(ctx, connect.NewRequest(&fleetv1.GetRepairStatusRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	// What the compactions freed is what the shards shrank by, which may
	// be nothing: a shard is whole chunks of the image.
	freed := (before.GetMemberBytes() - after.GetMemberBytes()) * uint64(len(after.GetPlacement()))
	if st.Msg.GetCompacted() == 0 || st.Msg.GetCompactedBytes() != freed {
		t.Fatalf("repair status reports %d compactions freeing %d bytes; the shards shrank by %d bytes in all", st.Msg.GetCompacted(), st.Msg.GetCompactedBytes(), freed)
	}
}

// checkGone checks that every blob of s reads as not found, and that
// deleting it again says so.
func (f *fleet) checkGone(s stored, when string) {
	f.t.Helper()
	for l := range s {
		if _, err := f.client.Get(context.Background(), l); !errors.Is(err, client.ErrNotFound) {
			f.t.Fatalf("%s: get of deleted %v: %v, want not found", when, l, err)
		}
		if err := f.client.Delete(context.Background(), l); !errors.Is(err, client.ErrNotFound) {
			f.t.Fatalf("%s: deleting deleted %v again: %v, want not found", when, l, err)
		}
	}
}

// volume returns volume id as fleetd lists it.
func (f *fleet) volume(id uint64) *fleetv1.Volume {
	f.t.Helper()
	for _, v := range f.volumes() {
		if v.GetId() == id {
			return v
		}
	}
	f.t.Fatalf("volume %d is not listed", id)
	return nil
}

// imageLen returns the image length that the header of shard 0 of
// encoded volume v, at its epoch, gives.
func (f *fleet) imageLen(dc *datapath.Client, v *fleetv1.Volume) int64 {
	f.t.Helper()
	d := v.GetPlacement()[0]
	b, err := dc.Get(context.Background(), f.agents[f.drivesOf()[d]].addr, d, datapath.PoolExtent, erasure.HeaderKey(v.GetId(), v.GetEpoch(), 0))
	if err != nil {
		f.t.Fatalf("volume %d epoch %d: header of shard 0: %v", v.GetId(), v.GetEpoch(), err)
	}
	h, err := erasure.DecodeHeader(b)
	if err != nil {
		f.t.Fatal(err)
	}
	return h.ImageLen
}

// locations returns where fleetd says each volume of s is now.
func (f *fleet) locations(s stored) map[uint64]*fleetv1.Location {
	f.t.Helper()
	locs := map[uint64]*fleetv1.Location{}
	for l := range s {
		if locs[l.Volume] != nil {
			continue
		}
		loc, err := f.client.Locate(context.Background(), l.Volume)
		if err != nil {
			f.t.Fatal(err)
		}
		locs[l.Volume] = loc
	}
	return locs
}

// checkFollowsMoves reads the blobs of volume id with a client whose
// first locations of it come too late: each is fleetd's answer from just
// before the volume moved again (its replicas deleted by the encoding,
// its epoch's shards deleted by a compaction), as a reader gets when a
// move lands between fleetd's answer and its reads. The client must
// follow the volume to where it is now, not report the blob lost.
func (f *fleet) checkFollowsMoves(s stored, id uint64, stale ...*fleetv1.Location) {
	f.t.Helper()
	c := f.newClient()
	sf := &staleFleet{volume: id, stale: stale}
	client.WrapFleet(c, func(vs fleetv1connect.VolumeServiceClient) fleetv1connect.VolumeServiceClient {
		sf.VolumeServiceClient = vs
		return sf
	})
	for l, want := range s {
		if l.Volume != id {
			continue
		}
		got, err := c.Get(context.Background(), l)
		if err != nil {
			f.t.Fatalf("get %v through locations %d moves old: %v", l, len(stale), err)
		}
		if !bytes.Equal(got, want) {
			f.t.Fatalf("get %v through locations %d moves old: %d bytes that differ from the %d put", l, len(stale), len(got), len(want))
		}
		break
	}
	if left := sf.left(); left != 0 {
		f.t.Fatalf("the client read volume %d without asking fleetd for %d of the %d stale locations", id, left, len(stale))
	}
}

// staleFleet answers a client's Locate calls for one volume with stale
// locations, oldest first, then passes the calls on to fleetd.
type staleFleet struct {
	fleetv1connect.VolumeServiceClient
	volume uint64

	mu    sync.Mutex
	stale []*fleetv1.Location
}

// Locate answers with the next stale location of the volume, if any is
// left, else asks fleetd.
func (s *staleFleet) Locate(ctx context.Context, req *connect.Request[fleetv1.LocateRequest]) (*connect.Response[fleetv1.LocateResponse], error) {
	s.mu.Lock()
	if req.Msg.GetVolume() == s.volume && len(s.stale) > 0 {
		loc := s.stale[0]
		s.stale = s.stale[1:]
		s.mu.Unlock()
		return connect.NewResponse(&fleetv1.LocateResponse{Location: loc}), nil
	}
	s.mu.Unlock()
	return s.VolumeServiceClient.Locate(ctx, req)
}

// left returns how many stale locations were not asked for.
func (s *staleFleet) left() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.stale)
}
