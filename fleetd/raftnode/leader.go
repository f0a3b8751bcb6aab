package raftnode

import (
	"context"
	"errors"
	"time"

	"github.com/hashicorp/raft"
)

// IsLeader reports whether this node believes it is the leader. Another
// node may already have replaced it; operations that must not act on a
// stale belief use VerifyLeader or ReadBarrier.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// Leader returns the leader this node knows of, and false when it knows of
// none (during an election, or when it is cut off from the leader).
func (n *Node) Leader() (Server, bool) {
	addr, id := n.raft.LeaderWithID()
	if id == "" {
		return Server{}, false
	}
	return Server{ID: string(id), Address: string(addr), Voter: true}, true
}

// LeaderCh delivers true when this node becomes leader and false when it
// stops being leader. The channel is raft's: it holds one value, and raft
// drops a change nobody has received yet, so a consumer should re-check
// IsLeader after each value. fleetd starts and stops its leader-only loops
// (repair, scheduling) from it.
func (n *Node) LeaderCh() <-chan bool { return n.raft.LeaderCh() }

// WaitLeader waits until this node knows of a leader and returns it.
func (n *Node) WaitLeader(ctx context.Context) (Server, error) {
	tick := time.NewTicker(n.pollInterval())
	defer tick.Stop()
	for {
		if l, ok := n.Leader(); ok {
			return l, nil
		}
		select {
		case <-ctx.Done():
			return Server{}, &NotLeaderError{}
		case <-tick.C:
		}
	}
}

// pollInterval is how often to look for a leader while waiting: a small
// fraction of the heartbeat timeout, so waiting adds little to an election.
func (n *Node) pollInterval() time.Duration {
	hb := n.cfg.Timing.Heartbeat
	if hb == 0 {
		hb = ProductionTiming().Heartbeat
	}
	return max(hb/10, time.Millisecond)
}

// VerifyLeader confirms with a quorum that this node is still the leader.
// It writes nothing to the log.
func (n *Node) VerifyLeader(ctx context.Context) error {
	if err := wait(ctx, n.raft.VerifyLeader()); err != nil {
		return n.leaderError(err)
	}
	return nil
}

// leaderError turns raft's "not leader" errors into a *NotLeaderError that
// names the leader, and passes other errors through.
func (n *Node) leaderError(err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost), errors.Is(err, raft.ErrLeadershipTransferInProgress):
		l, _ := n.Leader()
		if l.ID == n.cfg.ID {
			l = Server{}
		}
		return &NotLeaderError{Leader: l}
	}
	return err
}

// wait waits for a raft future, or for ctx to end. Raft's futures cannot be
// cancelled: when ctx ends first, the operation may still complete.
func wait(ctx context.Context, f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// timeout turns ctx's deadline into the enqueue timeout raft's calls take
// (0, meaning none, if ctx has no deadline).
func timeout(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return max(time.Until(d), time.Millisecond)
	}
	return 0
}
