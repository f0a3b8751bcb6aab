package client_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"connectrpc.com/connect"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/fleetd/state"
)

// TestRepairDoesNotWaitForTheEncodingBacklog fails a drive while sealed
// volumes wait to be encoded, each encoding slowed to take seconds, and
// checks that the repair starts while volumes with nothing on the dead
// drive are still waiting: the leader hands its loop back to repair
// between encodings (volume.Options.WorkSlice) instead of encoding the
// whole backlog first. Every blob reads back once all is done.
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

	// Once the first is encoded, fail a drive holding one of its shards.
	var victim, victimDrive string
	f.eventually("the first volume encoded", 60*time.Second, func() error {
		if v := f.volume(first); v.GetState() != "encoded" {
			return fmt.Errorf("volume %d is %s", first, v.GetState())
		}
		victimDrive = f.volume(first).GetPlacement()[0]
		victim = f.drivesOf()[victimDrive]
		return nil
	})
	f.failDrive(victim)

	// When the first repair starts, a volume with nothing on the dead
	// drive must still be waiting: had the leader encoded the backlog
	// first, every such volume would be encoded by then.
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
		if v.GetState() == "sealed" && !slices.Contains(v.GetPlacement(), victimDrive) {
			waiting = append(waiting, v.GetId())
		}
	}
	if len(waiting) == 0 {
		t.Fatalf("the repair of drive %s started only after every sealed volume was encoded", victimDrive)
	}
	t.Logf("repair started with volumes %v still waiting to be encoded", waiting)

	f.waitRepaired(victim)
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
