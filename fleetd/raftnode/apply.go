package raftnode

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
)

// Forwarder carries a write from a follower to the leader. The API layer
// implements it: it maps the leader's server id to its API endpoint, sends
// the command there, and the leader's API server calls ApplyLocal. What
// Forward returns is what ApplyLocal returned on the leader, decoded: the
// state machine's result, or its error.
//
// Keeping forwarding behind this interface means Raft's transport carries
// only Raft traffic, and a write takes the same authenticated path whether
// it arrives at the leader directly or not.
type Forwarder interface {
	// Forward sends cmd to leader and returns the leader's ApplyLocal
	// result. An error that leaves the outcome unknown (the connection
	// broke after sending) should wrap ErrOutcomeUnknown.
	Forward(ctx context.Context, leader Server, cmd []byte) (any, error)
}

// Apply proposes cmd and returns what the state machine returned for it.
// On the leader it applies cmd here; on a follower it forwards cmd to the
// leader through the Forwarder, or without one returns a *NotLeaderError
// naming the leader. While no leader is known it waits for one, until ctx
// ends.
//
// An error the state machine returns (a rejected command) is returned as
// the error, unchanged, so callers can errors.As it to their FSM's error
// type. An error wrapping ErrOutcomeUnknown means the command may or may
// not have been applied.
func (n *Node) Apply(ctx context.Context, cmd []byte) (any, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		leader, err := n.WaitLeader(ctx)
		if err != nil {
			return nil, err
		}
		if leader.ID == n.cfg.ID {
			res, err := n.ApplyLocal(ctx, cmd)
			var nl *NotLeaderError
			if errors.As(err, &nl) {
				// Leadership moved (or is being transferred) before the
				// command entered the log; it was not applied, so trying
				// again at the new leader is safe.
				n.sleep(ctx, n.pollInterval())
				continue
			}
			return res, err
		}
		if n.cfg.Forwarder == nil {
			return nil, &NotLeaderError{Leader: leader}
		}
		return n.cfg.Forwarder.Forward(ctx, leader, cmd)
	}
}

// sleep waits for d or until ctx ends.
func (n *Node) sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// ApplyLocal applies cmd on this node, which must be the leader; it never
// forwards. The API server calls it for writes forwarded to it, so a write
// is forwarded at most once.
func (n *Node) ApplyLocal(ctx context.Context, cmd []byte) (any, error) {
	if !n.IsLeader() {
		l, _ := n.Leader()
		return nil, &NotLeaderError{Leader: l}
	}
	f := n.raft.Apply(cmd, timeout(ctx))
	err := wait(ctx, f)
	switch {
	case err == nil:
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipTransferInProgress):
		// Refused before it entered the log: not applied.
		return nil, n.leaderError(raft.ErrNotLeader)
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return nil, fmt.Errorf("raftnode: apply: Raft did not take the command before the deadline (it is overloaded); not applied: %w", err)
	case errors.Is(err, raft.ErrLeadershipLost), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, raft.ErrRaftShutdown), errors.Is(err, raft.ErrAbortedByRestore):
		return nil, fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
	default:
		return nil, fmt.Errorf("raftnode: apply: %w", err)
	}
	res := f.Response()
	if err, ok := res.(error); ok {
		return nil, err
	}
	return res, nil
}
