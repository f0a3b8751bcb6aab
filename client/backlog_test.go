package client_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/shingle-storage/shingle/agent/datapath"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/fleetd/erasure"
	"github.com/shingle-storage/shingle/fleetd/state"
)

// TestRepairDoesNotWaitForTheEncodingBacklog loses a shard while sealed
// volumes wait to be encoded, each encoding slowed to take seconds, and
// checks that the repair starts while volumes are still waiting: the
// leader hands its loop back to repair between encodings
// (volume.Options.WorkSlice) instead of encoding the whole backlog first.
// The shard is lost by deleting its header behind fleetd's back, which
// the cross-check finds, rather than by failing a drive: every drive stays
// fit for the waiting volumes' shards, so none of their encodings fails
// and leaves it waiting for that reason. Every blob reads back once all
// is done.
func TestRepairDoesNotWaitForTheEncodingBacklog(t *testing.T) {
	const volumes = 5
	f := startFleet(t, fleetShape{hosts: 10, code: state.RS(6, 3), openVolumes: volumes,
		repairRate: 1 << 20, workSlice: 100 * time.Millisecond})
	ctx := context.Background()

	// Blobs in every open volume: leases spread clients over them.
	blobs := stored{}
	for range volumes {
		for l, b := range f.putWith(f.newClient(), 4, 1<<20) {
			blobs[l] = b
		}
	}
	var open []uint64
	for _, v := range f.volumes() {
		if v.GetState() == "open" {
			open = append(open, v.GetId())
		}
	}
	if len(open) < volumes {
		t.Fatalf("%d open volumes, want %d", len(open), volumes)
	}
	// Seal one, and once its encoding is under way the others: they
	// wait for it together, a backlog of volumes-1.
	seal := func(id uint64) {
		if _, err := f.vols.SealVolume(ctx, connect.NewRequest(&fleetv1.SealVolumeRequest{Id: id})); err != nil {
			t.Fatal(err)
		}
	}
	first := open[0]
	seal(first)
	time.Sleep(time.Second)
	for _, id := range open[1:] {
		seal(id)
	}

	// Once the first is encoded, delete its shard 0's header.
	f.eventually("the first volume encoded", 60*time.Second, func() error {
		if v := f.volume(first); v.GetState() != "encoded" {
			return fmt.Errorf("volume %d is %s", first, v.GetState())
		}
		return nil
	})
	lostDrive := f.volume(first).GetPlacement()[0]
	dc := &datapath.Client{HTTP: f.operatorHTTP()}
	if err := dc.Delete(ctx, f.agents[f.drivesOf()[lostDrive]].addr, lostDrive, datapath.PoolExtent, erasure.HeaderKey(first, 0, 0)); err != nil {
		t.Fatal(err)
	}

	// When the first repair starts, a volume must still be waiting: had
	// the leader encoded the backlog first, every volume would be encoded
	// by then.
	f.eventually("a repair under way", 120*time.Second, func() error {
		st, err := f.vols.GetRepairStatus(ctx, connect.NewRequest(&fleetv1.GetRepairStatusRequest{}))
		if err != nil {
			return err
		}
		if len(st.Msg.GetRunning()) == 0 && st.Msg.GetRepaired() == 0 {
			return fmt.Errorf("no repair yet (%d volumes waiting to be encoded)", st.Msg.GetEncodeWaiting())
		}
		return nil
	})
	var waiting []uint64
	for _, v := range f.volumes() {
		if v.GetState() == "sealed" {
			waiting = append(waiting, v.GetId())
		}
	}
	if len(waiting) == 0 {
		t.Fatalf("the repair of volume %d started only after every sealed volume was encoded", first)
	}
	t.Logf("repair started with volumes %v still waiting to be encoded", waiting)

	f.eventually("the lost shard rebuilt", 120*time.Second, func() error {
		st, err := f.vols.GetRepairStatus(ctx, connect.NewRequest(&fleetv1.GetRepairStatusRequest{}))
		if err != nil {
			return err
		}
		if st.Msg.GetRepaired() == 0 || len(st.Msg.GetQueued())+len(st.Msg.GetRunning()) > 0 {
			return fmt.Errorf("%d repaired, %d queued, %d running", st.Msg.GetRepaired(), len(st.Msg.GetQueued()), len(st.Msg.GetRunning()))
		}
		return nil
	})
	f.eventually("every volume encoded", 180*time.Second, func() error {
		for _, v := range f.volumes() {
			if v.GetState() == "sealed" {
				return fmt.Errorf("volume %d is sealed", v.GetId())
			}
		}
		return nil
	})
	f.checkAll(blobs, "after the repair and the backlog")
}
