package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
)

// TestPartitionMinorityCannotCommit cuts the leader off from the other two
// servers by taking its switch port down (network namespaces made by the
// test; see netLab) while the test can still talk to it. It proves that:
//
//   - the majority elects a new leader and goes on committing writes;
//   - the cut-off server stops believing it leads, and commits nothing
//     while cut off: its commit index stands still, a write sent to it
//     fails within seconds with fleetd's "no leader" answer and is never
//     applied, a linearizable read through it fails the same way, and a
//     stale read through it does not show the majority's new writes;
//   - once the port is up again it rejoins as a follower and catches up:
//     its own copy holds every write the majority committed, every server
//     agrees on one leader, and writes through it commit again.
func TestPartitionMinorityCannotCommit(t *testing.T) {
	lab := newNetLab(t, 3)
	f := labFleet(t, lab)
	old := f.leader()
	f.seed(old)
	for i := range 5 {
		if err := f.addRack(ctx(t, 10*time.Second), f.follower(), fmt.Sprintf("before-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	var majority []*proc
	for _, p := range f.up() {
		if p != old {
			majority = append(majority, p)
		}
	}

	t.Logf("cutting off the leader %s", old.id)
	lab.cut(lab.indexOf(old))

	// The majority elects one of its own.
	var newLeader *proc
	eventually(t, 30*time.Second, func() error {
		newLeader = nil
		for _, p := range majority {
			st, err := f.status(p, 2*time.Second)
			if err != nil {
				return err
			}
			if st.GetRaftState() == "Leader" && st.GetLeaderApiAddress() != "" {
				newLeader = p
			}
		}
		if newLeader == nil {
			return errors.New("the majority has not elected a leader yet")
		}
		return nil
	})
	// The cut-off server steps down and knows no leader.
	var isoCommit uint64
	eventually(t, 30*time.Second, func() error {
		st, err := f.status(old, 2*time.Second)
		if err != nil {
			return err
		}
		if st.GetRaftState() == "Leader" || st.GetLeaderId() != "" {
			return fmt.Errorf("cut-off %s is %s and names leader %q", old.id, st.GetRaftState(), st.GetLeaderId())
		}
		isoCommit = st.GetCommitIndex()
		return nil
	})

	// The majority commits, through the new leader and through its
	// follower (which forwards to the new leader).
	var committed []string
	for i := range 6 {
		id := fmt.Sprintf("majority-%d", i)
		via := majority[i%2]
		f.addRackRetrying(via, id)
		committed = append(committed, id)
	}

	// The minority cannot commit: a write through it fails quickly with a
	// clear error.
	start := time.Now()
	err := f.addRack(ctx(t, 30*time.Second), old, "minority-0")
	took := time.Since(start)
	if err == nil {
		t.Fatalf("a write through the cut-off %s was acknowledged", old.id)
	}
	if !isNoLeader(err) || !strings.Contains(err.Error(), "cut off from a quorum") {
		t.Fatalf("a write through the cut-off %s failed with %v; want Unavailable with Shingle-No-Leader saying it is cut off from a quorum", old.id, err)
	}
	if took > 15*time.Second {
		t.Errorf("the write through the cut-off %s took %v to fail", old.id, took)
	}
	t.Logf("write through the cut-off %s: %v (after %v)", old.id, err, took.Round(time.Millisecond))
	if _, err := f.racks(old, false); !isNoLeader(err) {
		t.Fatalf("a linearizable read through the cut-off %s: %v; want Unavailable with Shingle-No-Leader", old.id, err)
	}
	mine, err := f.racks(old, true)
	if err != nil {
		t.Fatalf("a stale read through the cut-off %s: %v", old.id, err)
	}
	for _, id := range committed {
		if mine[id] {
			t.Fatalf("the cut-off %s already holds %s, committed by the majority after the cut", old.id, id)
		}
	}
	if !mine["before-4"] {
		t.Fatalf("the cut-off %s lacks before-4, committed before the cut: %v", old.id, mine)
	}
	st, err := f.status(old, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if st.GetCommitIndex() != isoCommit {
		t.Fatalf("the cut-off %s moved its commit index from %d to %d", old.id, isoCommit, st.GetCommitIndex())
	}

	t.Logf("healing %s", old.id)
	lab.heal(lab.indexOf(old))

	// The old leader catches up from the new one: its own copy (a stale
	// read, no leader involved) holds every write the majority made.
	eventually(t, 30*time.Second, func() error {
		mine, err := f.racks(old, true)
		if err != nil {
			return err
		}
		for _, id := range committed {
			if !mine[id] {
				return fmt.Errorf("healed %s still lacks %s", old.id, id)
			}
		}
		return nil
	})
	f.leader()
	// The refused write never happened, on any server, and the healed
	// server takes writes again.
	f.addRackRetrying(old, "after-heal")
	for _, p := range f.up() {
		eventually(t, 20*time.Second, func() error {
			got, err := f.racks(p, true)
			if err != nil {
				return err
			}
			if got["minority-0"] {
				t.Fatalf("%s holds minority-0, whose write was refused", p.id)
			}
			if !got["after-heal"] {
				return fmt.Errorf("%s lacks after-heal", p.id)
			}
			return nil
		})
	}
}

// addRackRetrying adds a rack through p, retrying while the cluster
// settles; "already exists" means an earlier try that failed ambiguously
// did apply.
func (f *fleet) addRackRetrying(p *proc, id string) {
	f.t.Helper()
	eventually(f.t, 20*time.Second, func() error {
		err := f.addRack(ctx(f.t, 10*time.Second), p, id)
		if connect.CodeOf(err) == connect.CodeAlreadyExists {
			return nil
		}
		return err
	})
}
