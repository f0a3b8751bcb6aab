package raftnode

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/shingle-storage/shingle/fleetd/state"
)

// The tests run real nodes: raft-wal on disk in t.TempDir(), the TCP
// transport on loopback, the fleet state machine, and loopback timing.

// testLog sends raft's warnings to the test log, and drops them once the
// test has ended (raft's goroutines may log while shutting down).
type testLog struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// member is one node of a test cluster, up or down.
type member struct {
	id   string
	dir  string
	addr string
	fsm  *state.FSM
	node *Node // nil while down
}

// cluster is a set of members on loopback, with an in-process Forwarder
// standing in for the API layer.
type cluster struct {
	t       testing.TB
	log     hclog.Logger
	mu      sync.Mutex
	members []*member
	forward bool
	opts    clusterOptions
}

// clusterOptions are the members' settings that tests and benchmarks
// choose differently.
type clusterOptions struct {
	timing     Timing
	walSegment int
}

// newCluster starts n members and bootstraps them as one cluster. With
// forward set, followers forward writes to the leader.
func newCluster(t testing.TB, n int, forward bool) *cluster {
	t.Helper()
	return newClusterWith(t, n, forward, clusterOptions{timing: LoopbackTiming(), walSegment: 1 << 20})
}

// newClusterWith is newCluster with the members' timing and WAL segment
// size given.
func newClusterWith(t testing.TB, n int, forward bool, opts clusterOptions) *cluster {
	t.Helper()
	tl := &testLog{t: t}
	t.Cleanup(func() { tl.mu.Lock(); tl.done = true; tl.mu.Unlock() })
	c := &cluster{t: t, forward: forward, opts: opts, log: hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: tl})}
	t.Cleanup(c.stopAll)
	var servers []Server
	for i := range n {
		m := c.add(fmt.Sprintf("n%d", i))
		servers = append(servers, m.node.Self())
	}
	for _, m := range c.members {
		if err := m.node.Bootstrap(servers...); err != nil {
			t.Fatalf("bootstrap %s: %v", m.id, err)
		}
	}
	c.leader()
	return c
}

// add starts a new member with an empty data directory.
func (c *cluster) add(id string) *member {
	m := &member{id: id, dir: filepath.Join(c.t.TempDir(), id), addr: "127.0.0.1:0"}
	c.mu.Lock()
	c.members = append(c.members, m)
	c.mu.Unlock()
	c.start(m)
	return m
}

// start opens m from its data directory, on the address it had before.
func (c *cluster) start(m *member) {
	c.t.Helper()
	m.fsm = state.NewFSM()
	cfg := Config{
		ID: m.id, Dir: m.dir, BindAddr: m.addr, FSM: m.fsm, Logger: c.log.Named(m.id),
		Timing: c.opts.timing, WALSegmentBytes: c.opts.walSegment,
	}
	if c.forward {
		cfg.Forwarder = c
	}
	n, err := Open(cfg)
	if err != nil {
		c.t.Fatalf("open %s: %v", m.id, err)
	}
	c.mu.Lock()
	m.node, m.addr = n, n.Addr()
	c.mu.Unlock()
}

// stop closes m, which looks like a crash to the others.
func (c *cluster) stop(m *member) {
	c.t.Helper()
	c.mu.Lock()
	n := m.node
	m.node = nil
	c.mu.Unlock()
	if n == nil {
		return
	}
	if err := n.Close(); err != nil {
		c.t.Errorf("close %s: %v", m.id, err)
	}
}

func (c *cluster) stopAll() {
	for _, m := range c.members {
		c.stop(m)
	}
}

// up returns the members that are running.
func (c *cluster) up() []*member {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*member
	for _, m := range c.members {
		if m.node != nil {
			out = append(out, m)
		}
	}
	return out
}

// running returns the running nodes by id, for goroutines other than the
// test's own (which alone starts and stops members).
func (c *cluster) running() map[string]*Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]*Node{}
	for _, m := range c.members {
		if m.node != nil {
			out[m.id] = m.node
		}
	}
	return out
}

// Forward implements Forwarder the way the API layer will: it finds the
// leader's endpoint by id and calls ApplyLocal there.
func (c *cluster) Forward(ctx context.Context, leader Server, cmd []byte) (any, error) {
	n, ok := c.running()[leader.ID]
	if !ok {
		return nil, fmt.Errorf("forward: leader %s is unreachable", leader.ID)
	}
	return n.ApplyLocal(ctx, cmd)
}

// leader waits until exactly one running member is leader and every
// running member knows it, and returns it.
func (c *cluster) leader() *member {
	c.t.Helper()
	var found *member
	eventually(c.t, 10*time.Second, func() error {
		found = nil
		for _, m := range c.up() {
			if m.node.IsLeader() {
				if found != nil {
					return fmt.Errorf("two leaders: %s and %s", found.id, m.id)
				}
				found = m
			}
		}
		if found == nil {
			return errors.New("no leader")
		}
		for _, m := range c.up() {
			if l, ok := m.node.Leader(); !ok || l.ID != found.id {
				return fmt.Errorf("%s does not know the leader %s yet (it knows %+v): %v", m.id, found.id, l, m.node.Stats())
			}
		}
		return nil
	})
	return found
}

// follower returns a running member that is not the leader.
func (c *cluster) follower() *member {
	c.t.Helper()
	l := c.leader()
	for _, m := range c.up() {
		if m != l {
			return m
		}
	}
	c.t.Fatalf("no follower is running")
	return nil
}

// eventually retries check until it returns nil or the time is up.
func eventually(t testing.TB, limit time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", limit, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// propose encodes c and applies it through n.
func propose(ctx context.Context, n *Node, c state.Command) (state.Result, error) {
	data, err := state.Encode(c)
	if err != nil {
		return state.Result{}, err
	}
	res, err := n.Apply(ctx, data)
	if err != nil {
		return state.Result{}, err
	}
	r, ok := res.(state.Result)
	if !ok {
		return state.Result{}, fmt.Errorf("apply returned %T, want state.Result", res)
	}
	return r, nil
}

// mustPropose applies c through n and fails the test if it is rejected.
// Like a real client, it retries a command whose outcome is unknown (the
// leader lost its leadership mid-write), and takes "already exists" on a
// retry as proof that the first attempt applied.
func mustPropose(t testing.TB, n *Node, c state.Command) state.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for retry := false; ; retry = true {
		r, err := propose(ctx, n, c)
		switch {
		case err == nil:
			return r
		case errors.Is(err, ErrOutcomeUnknown) && ctx.Err() == nil:
			t.Logf("%s: %v; retrying", c.Type(), err)
			continue
		case retry && errors.Is(err, state.ErrExists):
			return state.Result{}
		}
		t.Fatalf("%s: %v", c.Type(), err)
	}
}

// sites lists the site ids in m's state machine (a stale read).
func sites(m *member) []string {
	var out []string
	m.fsm.Read(func(s *state.State) {
		for _, site := range s.Sites() {
			out = append(out, site.ID)
		}
	})
	return out
}

// snapshotOf renders m's whole state, for comparing members.
func snapshotOf(m *member) string {
	var b strings.Builder
	m.fsm.Read(func(s *state.State) {
		if err := state.WriteSnapshot(&b, s, 0); err != nil {
			panic(err)
		}
	})
	return b.String()
}

// converged waits until every running member holds the same state as want.
func (c *cluster) converged(want *member) {
	c.t.Helper()
	eventually(c.t, 10*time.Second, func() error {
		w := snapshotOf(want)
		for _, m := range c.up() {
			if got := snapshotOf(m); got != w {
				return fmt.Errorf("%s differs from %s (applied %d vs %d)", m.id, want.id, m.fsm.AppliedIndex(), want.fsm.AppliedIndex())
			}
		}
		return nil
	})
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
