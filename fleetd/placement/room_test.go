package placement

import (
	"slices"
	"strings"
	"testing"

	"github.com/shingle-storage/shingle/fleetd/state"
)

// TestShardsUseThePoolsRoom checks the room rules: a shard may go to the
// room in a drive's open pool extent as well as its free extents, a
// replica only to free extents; what a rule keeps free counts the pool's
// room; placing a shard takes the pool's room first; Domains counts the
// domains a rule fits; and a fleet wide enough but out of room is called
// full.
func TestShardsUseThePoolsRoom(t *testing.T) {
	drives := grid(3, 1, 1, 100*gib)
	drives[0].FreeBytes, drives[0].PoolRoomBytes = 10*gib, 5*gib // r1
	drives[1].FreeBytes, drives[1].PoolRoomBytes = 3*gib, 20*gib // r2
	drives[2].FreeBytes, drives[2].PoolRoomBytes = 0, 0          // r3
	p := newPlanner(t, drives, Options{})
	id := func(i int) string { return drives[i].ID }

	if n := p.Domains(Rule{Width: 1, MemberBytes: 12 * gib}); n != 0 {
		t.Fatalf("%d domains take a 12 GiB replica; none has 12 GiB of free extents", n)
	}
	if n := p.Domains(Rule{Width: 1, MemberBytes: 12 * gib, Shards: true}); n != 2 {
		t.Fatalf("%d domains take a 12 GiB shard, want r1 (10+5) and r2 (3+20)", n)
	}
	// A replica of 8 GiB keeping 6 GiB for shards: r1 has 10 free and 5
	// in its pool; r2 has too few free extents.
	got, err := p.Place(Rule{Width: 1, MemberBytes: 8 * gib, KeepFree: 6 * gib})
	if err != nil || !slices.Equal(got, []string{id(0)}) {
		t.Fatalf("replica keeping room: %v, %v; want %s", got, err, id(0))
	}
	if _, err := p.Place(Rule{Width: 1, MemberBytes: 1 * gib, KeepFree: 6 * gib}); err != nil {
		t.Fatalf("r1 has 2 GiB free and 5 in its pool, r2 3 and 20: %v", err)
	}
	// A shard of 12 GiB fits only r2 now, and takes its pool's room
	// first.
	got, err = p.Place(Rule{Width: 1, MemberBytes: 12 * gib, Shards: true})
	if err != nil || !slices.Equal(got, []string{id(1)}) {
		t.Fatalf("shard: %v, %v; want %s", got, err, id(1))
	}
	if d, _ := p.Drive(id(1)); d.PoolRoomBytes != 8*gib || d.FreeBytes < 2*gib {
		t.Fatalf("after a 12 GiB shard r2 has %d pool room and %d free; want 8 GiB of pool room, free extents untouched", d.PoolRoomBytes, d.FreeBytes)
	}
	_, err = p.Place(Rule{Width: 3, MemberBytes: 50 * gib, Shards: true})
	if err == nil || !strings.Contains(err.Error(), "the fleet is full") {
		t.Fatalf("3 racks, none with room: %v, want the fleet called full", err)
	}
}

// TestCandidatesCountThePoolsRoom checks that a drive's pool room comes
// from its agent's report, bounded by what the state's reservations
// leave of its capacity.
func TestCandidatesCountThePoolsRoom(t *testing.T) {
	s := state.New()
	apply(t, s, &state.AddSite{ID: "s"}, &state.AddRoom{ID: "m", Site: "s"}, &state.AddRow{ID: "w", Room: "m"},
		&state.AddRack{ID: "r", Row: "w"}, &state.AddHost{ID: "h", Rack: "r"},
		&state.SetHostState{ID: "h", State: state.HostInService},
		&state.AddDrive{ID: "d", Host: "h", Slot: "1", CapacityBytes: 100 * gib, Model: "m"},
		&state.SetDriveState{ID: "d", State: state.DriveInService},
		&state.CreateVolume{Scheme: state.Replication(1), Placement: []string{"d"}, MemberBytes: 80 * gib})
	for _, c := range []struct {
		free, pool, wantFree, wantPool uint64
	}{
		{free: 10 * gib, pool: 5 * gib, wantFree: 10 * gib, wantPool: 5 * gib},
		// The agent's report lags: the state leaves 20 GiB in all.
		{free: 18 * gib, pool: 10 * gib, wantFree: 18 * gib, wantPool: 2 * gib},
		{free: 30 * gib, pool: 10 * gib, wantFree: 20 * gib, wantPool: 0},
	} {
		d := Candidates(s, func(string) (Report, bool) { return Report{FreeBytes: c.free, PoolRoomBytes: c.pool}, true })[0]
		if d.FreeBytes != c.wantFree || d.PoolRoomBytes != c.wantPool {
			t.Fatalf("report %d free, %d pool room: candidate %d, %d; want %d, %d", c.free, c.pool, d.FreeBytes, d.PoolRoomBytes, c.wantFree, c.wantPool)
		}
	}
}
