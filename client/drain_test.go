package client_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/fleetd/state"
)

// TestDrainMovesEveryMember drains a drive that holds shards of encoded
// volumes and a replica of an open one, as an operator does with a drive
// the predictor flags: the open volume is sealed, every member moves to
// other drives while every blob reads back, the drive becomes drained on
// its own once no placement names it, and the extents it held are
// deleted. Then another host's agent restarts with a failing drive's
// SMART history, and the leader drains that drive without being asked.
func TestDrainMovesEveryMember(t *testing.T) {
	f := startFleet(t, fleetShape{hosts: 11, code: state.RS(6, 3)})
	ctx := context.Background()
	coded := f.put(30, 700<<10)
	f.sealAndEncode()
	replicated := f.put(6, 300<<10)

	// The drive of an open volume's replica that holds the most shards.
	holds := map[string]int{}
	var open []string
	for _, v := range f.volumes() {
		for _, d := range v.GetPlacement() {
			if v.GetState() == "encoded" {
				holds[d]++
			} else if v.GetState() == "open" {
				open = append(open, d)
			}
		}
	}
	drive := ""
	for _, d := range open {
		if drive == "" || holds[d] > holds[drive] {
			drive = d
		}
	}
	if drive == "" || holds[drive] == 0 {
		t.Fatalf("no drive holds both a replica of an open volume and a shard (open: %v, shards: %v)", open, holds)
	}
	host := f.drivesOf()[drive]
	t.Logf("draining %s on %s: %d shards and a replica", drive, host, holds[drive])

	if _, err := f.fleet.SetDriveState(ctx, connect.NewRequest(&fleetv1.SetDriveStateRequest{Id: drive, State: "draining", Reason: "test"})); err != nil {
		t.Fatal(err)
	}
	f.checkAll(coded, "draining")
	f.checkAll(replicated, "draining")

	f.waitDrained(drive)
	f.checkAll(coded, "drained")
	f.checkAll(replicated, "drained")
	f.eventually("the drained drive's extents deleted", 60*time.Second, func() error {
		if stale := f.fleetExtents(f.agents[host]); len(stale) > 0 {
			return fmt.Errorf("%s still holds extents %v that no placement names", host, stale)
		}
		return nil
	})

	// A drive whose agent reports it failing is drained by the leader.
	sick := f.hostWithShards(host)
	a := f.agents[sick]
	a.stop()
	a.smart = filepath.Join("..", "agent", "health", "smart", "testdata", "failing-ata.json")
	f.startAgent(a)
	var sickDrive string
	for d, h := range f.drivesOf() {
		if h == sick {
			sickDrive = d
		}
	}
	f.eventually("the failing drive draining", 60*time.Second, func() error {
		res, err := f.fleet.GetDrive(ctx, connect.NewRequest(&fleetv1.GetDriveRequest{Id: sickDrive}))
		if err != nil {
			return err
		}
		if d := res.Msg.GetDrive(); d.GetState() != "draining" && d.GetState() != "drained" {
			return fmt.Errorf("%s is %s (health %s)", sickDrive, d.GetState(), d.GetReport().GetHealth())
		} else if !strings.HasPrefix(d.GetReason(), "agent reports it failing: ") && d.GetState() == "draining" {
			return fmt.Errorf("draining, but the reason given is %q", d.GetReason())
		}
		return nil
	})
	f.waitDrained(sickDrive)
	f.checkAll(coded, "the failing drive drained")
	f.checkAll(replicated, "the failing drive drained")
}

// waitDrained waits until the drive is drained, with the reason the
// leader gives, and checks that no volume is placed on it.
func (f *fleet) waitDrained(drive string) {
	f.t.Helper()
	ctx := context.Background()
	f.eventually("the drive drained", 120*time.Second, func() error {
		res, err := f.fleet.GetDrive(ctx, connect.NewRequest(&fleetv1.GetDriveRequest{Id: drive}))
		if err != nil {
			return err
		}
		if d := res.Msg.GetDrive(); d.GetState() != "drained" {
			st, _ := f.vols.GetRepairStatus(ctx, connect.NewRequest(&fleetv1.GetRepairStatusRequest{}))
			return fmt.Errorf("%s is %s (repairs: %v)", drive, d.GetState(), st.Msg)
		}
		if r := res.Msg.GetDrive().GetReason(); !strings.Contains(r, "drain finished") {
			return fmt.Errorf("drained, but the reason given is %q", r)
		}
		return nil
	})
	for _, v := range f.volumes() {
		for _, d := range v.GetPlacement() {
			if d == drive {
				f.t.Fatalf("volume %d (%s) is still placed on the drained drive %s", v.GetId(), v.GetState(), drive)
			}
		}
	}
}
