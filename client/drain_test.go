package client_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/fleetd/state"
)

// TestDrainMovesEveryMember drains, at once, four drives holding shards
// of one RS(6,3) volume, one more than it can lose, and one of them a
// replica of an open volume, as an operator does before pulling drives:
// the open volume is sealed, every member moves to other drives while
// every blob reads back, each drive becomes drained on its own once no
// placement names it, and the replica extents they held are deleted.
// The operator retires them. Then another host's agent restarts with a
// failing drive's SMART history, and the leader drains that drive without
// being asked (the repair grace is long, so nothing but the drain moves
// its members).
func TestDrainMovesEveryMember(t *testing.T) {
	f := startFleet(t, fleetShape{hosts: 14, code: state.RS(6, 3), repairGrace: 10 * time.Minute})
	ctx := context.Background()
	coded := f.put(30, 700<<10)
	f.sealAndEncode()
	replicated := f.put(6, 300<<10)

	// The drive of an open volume's replica that holds the most shards,
	// and three more shard holders of one of its coded volumes.
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
	first := ""
	for _, d := range open {
		if first == "" || holds[d] > holds[first] {
			first = d
		}
	}
	if first == "" || holds[first] == 0 {
		t.Fatalf("no drive holds both a replica of an open volume and a shard (open: %v, shards: %v)", open, holds)
	}
	drain := []string{first}
	for _, v := range f.volumes() {
		if v.GetState() == "encoded" && slices.Contains(v.GetPlacement(), first) {
			for _, d := range v.GetPlacement() {
				if len(drain) < 4 && d != first {
					drain = append(drain, d)
				}
			}
			break
		}
	}
	owner := f.drivesOf()
	t.Logf("draining %v (hosts %s, %s, %s, %s)", drain, owner[drain[0]], owner[drain[1]], owner[drain[2]], owner[drain[3]])

	for _, d := range drain {
		if _, err := f.fleet.SetDriveState(ctx, connect.NewRequest(&fleetv1.SetDriveStateRequest{Id: d, State: "draining", Reason: "test"})); err != nil {
			t.Fatal(err)
		}
	}
	f.checkAll(coded, "draining")
	f.checkAll(replicated, "draining")
	for _, d := range drain {
		f.waitDrained(d)
	}
	f.checkAll(coded, "drained")
	f.checkAll(replicated, "drained")
	for _, d := range drain {
		f.eventually("the drained drive's extents deleted", 60*time.Second, func() error {
			if stale := f.fleetExtents(f.agents[owner[d]]); len(stale) > 0 {
				return fmt.Errorf("%s still holds extents %v that no placement names", owner[d], stale)
			}
			return nil
		})
		if _, err := f.fleet.SetDriveState(ctx, connect.NewRequest(&fleetv1.SetDriveStateRequest{Id: d, State: "retired", Reason: "pulled"})); err != nil {
			t.Fatal(err)
		}
	}

	// A drive whose agent reports it failing is drained by the leader.
	sick := f.hostWithShards(owner[drain[0]], owner[drain[1]], owner[drain[2]], owner[drain[3]])
	var sickDrive string
	for d, h := range owner {
		if h == sick {
			sickDrive = d
		}
	}
	a := f.agents[sick]
	a.stop()
	a.smart = filepath.Join("..", "agent", "health", "smart", "testdata", "failing-ata.json")
	f.startAgent(a)
	f.eventually("the failing drive draining", 60*time.Second, func() error {
		res, err := f.fleet.GetDrive(ctx, connect.NewRequest(&fleetv1.GetDriveRequest{Id: sickDrive}))
		if err != nil {
			return err
		}
		d := res.Msg.GetDrive()
		switch {
		case d.GetState() == "in_service":
			return fmt.Errorf("%s is %s (health %s)", sickDrive, d.GetState(), d.GetReport().GetHealth())
		case !strings.Contains(d.GetReason(), "agent reports it failing: "):
			return fmt.Errorf("%s is %s, but the reason given is %q", sickDrive, d.GetState(), d.GetReason())
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
		if r := res.Msg.GetDrive().GetReason(); !strings.HasPrefix(r, "drain finished") {
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
