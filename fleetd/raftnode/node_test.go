package raftnode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shingle-storage/shingle/fleetd/state"
)

func TestApplyReplicatesToEveryNode(t *testing.T) {
	c := newCluster(t, 3, true)
	leader := c.leader()
	follower := c.follower()

	var last uint64
	indexed := 0
	for i := range 10 {
		// Half the writes go through a follower, which forwards them.
		via := leader
		if i%2 == 1 {
			via = follower
		}
		r := mustPropose(t, via.node, &state.AddSite{ID: fmt.Sprintf("site-%02d", i)})
		if r.Index == 0 {
			continue // applied by an earlier attempt that lost its leader
		}
		if r.Index <= last {
			t.Fatalf("write %d applied at index %d, after a write at %d", i, r.Index, last)
		}
		last = r.Index
		indexed++
	}
	if indexed < 8 {
		t.Fatalf("only %d of 10 writes returned their log index", indexed)
	}
	// A rejected command comes back as the state machine's error, through
	// the forwarding path too.
	for _, via := range []*member{leader, follower} {
		_, err := propose(ctxTimeout(t, 5*time.Second), via.node, &state.AddSite{ID: "site-00"})
		if !errors.Is(err, state.ErrExists) {
			t.Fatalf("duplicate site via %s: %v, want state.ErrExists", via.id, err)
		}
	}

	// Linearizable read: only on the leader, and it sees every write.
	if err := leader.node.ReadBarrier(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := sites(leader); len(got) != 10 {
		t.Fatalf("leader has %d sites after the barrier, want 10", len(got))
	}
	var nl *NotLeaderError
	if err := follower.node.ReadBarrier(ctxTimeout(t, 5*time.Second)); !errors.As(err, &nl) || nl.Leader.ID != leader.id {
		t.Fatalf("barrier on a follower: %v, want a NotLeaderError naming %s", err, leader.id)
	}
	if err := leader.node.VerifyLeader(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatalf("VerifyLeader on the leader: %v", err)
	}
	c.converged(leader)
}

func TestFollowerWithoutForwarderNamesTheLeader(t *testing.T) {
	c := newCluster(t, 3, false)
	leader := c.leader()
	data, _ := state.Encode(&state.AddSite{ID: "a"})
	_, err := c.follower().node.Apply(ctxTimeout(t, 5*time.Second), data)
	var nl *NotLeaderError
	if !errors.As(err, &nl) || nl.Leader.ID != leader.id || nl.Leader.Address != leader.addr {
		t.Fatalf("Apply on a follower: %v, want a NotLeaderError naming %s at %s", err, leader.id, leader.addr)
	}
	if _, err := c.follower().node.ApplyLocal(ctxTimeout(t, 5*time.Second), data); !errors.As(err, &nl) {
		t.Fatalf("ApplyLocal on a follower: %v", err)
	}
	if len(sites(leader)) != 0 {
		t.Fatalf("a refused write was applied")
	}
}

// TestLeaderFailoverLosesNoAcknowledgedWrite writes continuously through
// every node while the leader is killed, then checks that a new leader is
// elected, every acknowledged write survived, and the old leader catches up
// when it comes back.
func TestLeaderFailoverLosesNoAcknowledgedWrite(t *testing.T) {
	c := newCluster(t, 3, true)
	old := c.leader()

	var (
		mu    sync.Mutex
		acked []string
		stop  = make(chan struct{})
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			nodes := slices.Collect(maps.Values(c.running()))
			if len(nodes) == 0 {
				continue
			}
			n := nodes[i%len(nodes)]
			id := fmt.Sprintf("w%04d", i)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, err := propose(ctx, n, &state.AddSite{ID: id})
			cancel()
			if err == nil {
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
			}
		}
	}()
	waitAcked := func(n int) {
		eventually(t, 10*time.Second, func() error {
			mu.Lock()
			defer mu.Unlock()
			if len(acked) < n {
				return fmt.Errorf("%d writes acknowledged, waiting for %d", len(acked), n)
			}
			return nil
		})
	}
	waitAcked(20)
	c.stop(old)
	newLeader := c.leader()
	if newLeader == old {
		t.Fatalf("the stopped node is still leader")
	}
	mu.Lock()
	before := len(acked)
	mu.Unlock()
	waitAcked(before + 20)
	close(stop)
	<-done

	if err := newLeader.node.ReadBarrier(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	have := sites(newLeader)
	for _, id := range acked {
		if !slices.Contains(have, id) {
			t.Fatalf("acknowledged write %s is lost after failover", id)
		}
	}
	t.Logf("%d writes acknowledged across the failover, all present", len(acked))

	c.start(old)
	c.leader()
	c.converged(newLeader)
}

// TestRestartAllFromDisk stops every node and starts them again from their
// data directories: the state comes back, partly from a snapshot and partly
// from the log after it.
func TestRestartAllFromDisk(t *testing.T) {
	c := newCluster(t, 3, true)
	l := c.leader()
	if l.node.Restarted() {
		t.Fatalf("a node opened on an empty directory says it restarted")
	}
	for i := range 20 {
		mustPropose(t, l.node, &state.AddSite{ID: fmt.Sprintf("before-%02d", i)})
	}
	info, err := l.node.Snapshot(ctxTimeout(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if info.Index == 0 || info.Size == 0 {
		t.Fatalf("snapshot info %+v", info)
	}
	if _, err := os.Stat(filepath.Join(info.Path, "state.bin")); err != nil {
		t.Fatalf("snapshot files: %v", err)
	}
	// Asking again with nothing new returns the same snapshot.
	if again, err := l.node.Snapshot(ctxTimeout(t, 5*time.Second)); err != nil || again.ID != info.ID {
		t.Fatalf("second snapshot: %+v, %v; want %s", again, err, info.ID)
	}
	for i := range 20 {
		mustPropose(t, l.node, &state.AddSite{ID: fmt.Sprintf("after-%02d", i)})
	}
	c.converged(l)
	want := snapshotOf(l)

	c.stopAll()
	for _, m := range c.members {
		c.start(m)
	}
	l = c.leader()
	if err := l.node.ReadBarrier(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := snapshotOf(l); got != want {
		t.Fatalf("state after restart differs:\n got %s\nwant %s", got, want)
	}
	c.converged(l)
	for _, m := range c.members {
		if !m.node.Restarted() {
			t.Fatalf("%s reopened its data directory but does not say it restarted", m.id)
		}
	}
	if err := c.members[0].node.Bootstrap(); !errors.Is(err, ErrAlreadyBootstrapped) {
		t.Fatalf("bootstrap of a restarted node: %v, want ErrAlreadyBootstrapped", err)
	}
	mustPropose(t, c.follower().node, &state.AddSite{ID: "after-restart"})
}

func TestBackupAndRestore(t *testing.T) {
	c := newCluster(t, 3, true)
	l := c.leader()
	for i := range 5 {
		mustPropose(t, l.node, &state.AddSite{ID: fmt.Sprintf("kept-%d", i)})
	}
	var backup bytes.Buffer
	if _, err := l.node.Backup(ctxTimeout(t, 5*time.Second), &backup); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "fleet.snap")
	if err := os.WriteFile(file, backup.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	want := snapshotOf(l)
	for i := range 5 {
		mustPropose(t, l.node, &state.AddSite{ID: fmt.Sprintf("undone-%d", i)})
	}

	// A file that is not a snapshot is refused before raft sees it.
	junk := filepath.Join(t.TempDir(), "junk")
	os.WriteFile(junk, []byte(`{"format":"something else"}`), 0o600)
	if err := l.node.Restore(ctxTimeout(t, 5*time.Second), junk); err == nil {
		t.Fatalf("restoring junk succeeded")
	}
	var nl *NotLeaderError
	if err := c.follower().node.Restore(ctxTimeout(t, 5*time.Second), file); !errors.As(err, &nl) {
		t.Fatalf("restore on a follower: %v, want NotLeaderError", err)
	}

	if err := l.node.Restore(ctxTimeout(t, 10*time.Second), file); err != nil {
		t.Fatal(err)
	}
	if got := snapshotOf(l); got != want {
		t.Fatalf("leader state after restore:\n got %s\nwant %s", got, want)
	}
	c.converged(l)
	// The cluster goes on from the restored state.
	mustPropose(t, c.follower().node, &state.AddSite{ID: "after-restore"})
	if got := sites(l); slices.Contains(got, "undone-0") || !slices.Contains(got, "kept-4") || !slices.Contains(got, "after-restore") {
		t.Fatalf("sites after restore and a new write: %v", got)
	}
}

func TestJoinAndLeave(t *testing.T) {
	c := newCluster(t, 3, true)
	l := c.leader()
	for i := range 5 {
		mustPropose(t, l.node, &state.AddSite{ID: fmt.Sprintf("s%d", i)})
	}
	follower := c.follower()
	joiner := c.add("n3") // up, but not a member: c.leader() waits for it only after the join
	if err := follower.node.AddVoter(ctxTimeout(t, 5*time.Second), joiner.id, joiner.addr); !errors.As(err, new(*NotLeaderError)) {
		t.Fatalf("AddVoter on a follower: %v, want NotLeaderError", err)
	}
	if err := l.node.AddVoter(ctxTimeout(t, 5*time.Second), joiner.id, joiner.addr); err != nil {
		t.Fatal(err)
	}
	c.converged(l)
	servers, err := l.node.Servers(ctxTimeout(t, 5*time.Second))
	if err != nil || len(servers) != 4 || !slices.ContainsFunc(servers, func(s Server) bool { return s.ID == "n3" && s.Voter }) {
		t.Fatalf("servers after join: %+v, %v", servers, err)
	}
	// The new member takes writes too (forwarded to the leader).
	mustPropose(t, joiner.node, &state.AddSite{ID: "via-joiner"})

	// Remove the joiner and one original follower: two members remain and
	// still make a quorum of the new configuration.
	gone := follower
	for _, m := range []*member{joiner, gone} {
		if err := l.node.RemoveServer(ctxTimeout(t, 5*time.Second), m.id); err != nil {
			t.Fatal(err)
		}
		c.stop(m)
	}
	servers, err = l.node.Servers(ctxTimeout(t, 5*time.Second))
	if err != nil || len(servers) != 2 {
		t.Fatalf("servers after leave: %+v, %v", servers, err)
	}
	mustPropose(t, l.node, &state.AddSite{ID: "after-leave"})
	c.converged(l)
}

func TestTransferLeadership(t *testing.T) {
	c := newCluster(t, 3, true)
	l := c.leader()
	target := c.follower()
	if err := l.node.TransferLeadership(ctxTimeout(t, 5*time.Second), target.id); err != nil {
		t.Fatal(err)
	}
	if got := c.leader(); got != target {
		t.Fatalf("leader after transfer is %s, want %s", got.id, target.id)
	}
	if err := target.node.TransferLeadership(ctxTimeout(t, 5*time.Second), "nobody"); err == nil {
		t.Fatalf("transfer to a non-member succeeded")
	}
	if err := target.node.TransferLeadership(ctxTimeout(t, 5*time.Second), ""); err != nil {
		t.Fatal(err)
	}
	if got := c.leader(); got == target {
		t.Fatalf("leadership did not move away from %s", target.id)
	}
	mustPropose(t, target.node, &state.AddSite{ID: "after-transfers"})
}

func TestOpenRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no id", Config{Dir: t.TempDir(), FSM: state.NewFSM()}, "ID is empty"},
		{"no dir", Config{ID: "a", FSM: state.NewFSM()}, "Dir is empty"},
		{"no fsm", Config{ID: "a", Dir: t.TempDir()}, "FSM is nil"},
		{"lease above heartbeat", Config{ID: "a", Dir: t.TempDir(), FSM: state.NewFSM(),
			Timing: Timing{Heartbeat: 10 * time.Millisecond, Election: 10 * time.Millisecond, LeaderLease: 20 * time.Millisecond, Commit: time.Millisecond}}, "LeaderLeaseTimeout"},
		{"unadvertisable", Config{ID: "a", Dir: t.TempDir(), FSM: state.NewFSM(), BindAddr: "0.0.0.0:0", Timing: LoopbackTiming()}, "AdvertiseAddr"},
	} {
		n, err := Open(tc.cfg)
		if err == nil {
			n.Close()
			t.Errorf("%s: Open succeeded", tc.name)
			continue
		}
		if !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
			t.Errorf("%s: error %q does not mention %q", tc.name, err, tc.want)
		}
	}
}
