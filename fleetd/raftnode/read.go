package raftnode

import "context"

// ReadBarrier makes the next read of the state machine on this node
// linearizable: once it returns nil, the state machine holds every write
// acknowledged (by any node) before ReadBarrier was called.
//
// It works by committing a barrier entry through the log: that can only
// succeed on a leader a quorum still follows, and raft returns only after
// everything before the barrier has been applied. It costs one log write
// and one round trip to a quorum. It must run on the leader; elsewhere it
// returns a *NotLeaderError naming the leader, where the API layer sends
// linearizable reads.
//
// Reads that can tolerate staleness (listing for an operator, planning
// that will be checked again by Apply anyway) skip the barrier and read
// the state machine directly.
func (n *Node) ReadBarrier(ctx context.Context) error {
	if !n.IsLeader() {
		l, _ := n.Leader()
		return &NotLeaderError{Leader: l}
	}
	if err := wait(ctx, n.raft.Barrier(timeout(ctx))); err != nil {
		return n.leaderError(err)
	}
	return nil
}
