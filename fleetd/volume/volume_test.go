package volume

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/shingle-storage/shingle/agent/datapath"
	"github.com/shingle-storage/shingle/fleetd/state"
)

// TestForEachChunkRunsEveryChunkOnce checks the bounded parallel loop:
// every chunk once, never more than the workers at a time, and the first
// error stops new chunks and is returned.
func TestForEachChunkRunsEveryChunkOnce(t *testing.T) {
	var mu sync.Mutex
	seen := map[int64]int{}
	var running, peak atomic.Int32
	err := forEachChunk(context.Background(), 100, 4, func(ctx context.Context, c int64) error {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		mu.Lock()
		seen[c]++
		mu.Unlock()
		running.Add(-1)
		return nil
	})
	if err != nil || len(seen) != 100 {
		t.Fatalf("err %v, %d chunks seen, want 100", err, len(seen))
	}
	for c, n := range seen {
		if n != 1 {
			t.Fatalf("chunk %d ran %d times", c, n)
		}
	}
	if peak.Load() > 4 {
		t.Fatalf("%d chunks ran at once, more than the 4 workers", peak.Load())
	}
	boom := errors.New("boom")
	var ran atomic.Int32
	err = forEachChunk(context.Background(), 1000, 2, func(ctx context.Context, c int64) error {
		ran.Add(1)
		if c == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || ran.Load() > 10 {
		t.Fatalf("after an error at chunk 3: err %v, %d chunks ran", err, ran.Load())
	}
}

// TestMemberExtentNames checks that a replica's extent is named after its
// volume, below the pool's and the agents' own ids, that shards go to the
// pool, and that member ids (the manager's records) never collide.
func TestMemberExtentNames(t *testing.T) {
	seen := map[uint64]bool{}
	for _, v := range []state.VolumeID{1, 2, 1 << 39} {
		r := MemberExtent(v, false, 0)
		if r >= fleetExtentLimit || r>>16 != uint64(v) {
			t.Fatalf("volume %d: replica extent %d does not name its volume below the pool's ids", v, r)
		}
		if s := MemberExtent(v, true, 3); s != datapath.PoolExtent {
			t.Fatalf("volume %d: shard extent %d, want the pool", v, s)
		}
		ids := []uint64{memberID(v, false, 0)}
		for i := range 16 {
			ids = append(ids, memberID(v, true, i))
		}
		for i, id := range ids {
			if seen[id] {
				t.Fatalf("volume %d member %d: id %d taken by another member", v, i, id)
			}
			seen[id] = true
		}
	}
}

// fakeFleet answers the manager's questions about hosts and drives from
// maps; the state is a real state machine.
type fakeFleet struct {
	st     *state.State
	hosts  map[string]HostView
	drives map[string]DriveView
}

func (f *fakeFleet) Read(fn func(*state.State)) { fn(f.st) }
func (f *fakeFleet) Propose(context.Context, state.Command) (state.Result, error) {
	return state.Result{}, errors.New("not in this test")
}
func (f *fakeFleet) Host(id string) HostView { return f.hosts[id] }
func (f *fakeFleet) Drive(id string) (DriveView, bool) {
	v, ok := f.drives[id]
	return v, ok
}

// TestLostMembers checks when a member counts as lost: a failed drive, a
// drive its agent reports failed, a damaged extent, a host past the
// grace period; an unreachable host only when urgent; a host not heard
// from since a failover never.
func TestLostMembers(t *testing.T) {
	f := &fakeFleet{hosts: map[string]HostView{}, drives: map[string]DriveView{}}
	m := New(f, nil, Options{}, nil)
	vol := state.Volume{ID: 7, Scheme: state.RS(2, 1), State: state.VolumeEncoded, Placement: []string{"d0", "d1", "d2"}}
	holders := func(states ...state.DriveState) Location {
		loc := Location{Volume: vol}
		for i, s := range states {
			loc.Holders = append(loc.Holders, Holder{Index: i, Drive: vol.Placement[i], Host: "h" + vol.Placement[i][1:],
				Address: "a", Extent: ExtentOf(vol, i), DriveState: s})
		}
		return loc
	}
	ok := state.DriveInService
	for _, h := range []string{"h0", "h1", "h2"} {
		f.hosts[h] = HostView{Reachability: Reachable}
	}
	if lost := m.lostMembers(holders(ok, ok, ok), true); len(lost) != 0 {
		t.Fatalf("healthy volume: lost %v", lost)
	}
	if lost := m.lostMembers(holders(state.DriveFailed, ok, ok), false); len(lost) != 1 || lost[0] == "" {
		t.Fatalf("failed drive: lost %v", lost)
	}
	f.drives["d1"] = DriveView{Health: HealthFailed}
	f.drives["d2"] = DriveView{BadExtents: []uint64{ExtentOf(vol, 2)}}
	if lost := m.lostMembers(holders(ok, ok, ok), false); len(lost) != 2 || lost[1] == "" || lost[2] == "" {
		t.Fatalf("drive reported failed, extent reported damaged: lost %v", lost)
	}
	f.drives = map[string]DriveView{}
	f.hosts["h0"] = HostView{Reachability: Unreachable}
	if lost := m.lostMembers(holders(ok, ok, ok), false); len(lost) != 0 {
		t.Fatalf("unreachable within the grace period, not urgent: lost %v", lost)
	}
	if lost := m.lostMembers(holders(ok, ok, ok), true); len(lost) != 1 {
		t.Fatalf("unreachable, urgent: lost %v", lost)
	}
	f.hosts["h0"] = HostView{Reachability: Unreachable, RepairCandidate: true}
	if lost := m.lostMembers(holders(ok, ok, ok), false); len(lost) != 1 {
		t.Fatalf("past the grace period: lost %v", lost)
	}
	f.hosts["h0"] = HostView{Reachability: "unknown"}
	if lost := m.lostMembers(holders(ok, ok, ok), true); len(lost) != 0 {
		t.Fatalf("not heard from since a failover: lost %v", lost)
	}
}
