package raftnode

import (
	"errors"
	"fmt"
)

// NotLeaderError is returned by operations that only the leader can do
// when this node is not the leader. It names the leader when one is known,
// so the caller (or the API layer) can go there instead.
type NotLeaderError struct {
	// Leader is the current leader, or the zero Server if none is known
	// (an election is under way, or this node is cut off).
	Leader Server
}

// Error says who the leader is.
func (e *NotLeaderError) Error() string {
	if e.Leader.ID == "" {
		return "raftnode: not the leader, and no leader is known; retry after an election"
	}
	return fmt.Sprintf("raftnode: not the leader; the leader is %s at %s", e.Leader.ID, e.Leader.Address)
}

// ErrOutcomeUnknown is wrapped by Apply errors after which the command may
// or may not have been applied: leadership was lost, or the context ended,
// while it was in flight. Commands must therefore be safe to retry after
// re-reading the state; fleetd's commands are (they are compare-and-swap
// on generations, or harmless when repeated, or fail with "already
// exists").
var ErrOutcomeUnknown = errors.New("raftnode: the command may or may not have been applied; re-read the state before retrying")

// ErrAlreadyBootstrapped is returned by Bootstrap on a node that already
// has Raft state: it is a member of a cluster and will rejoin it on its
// own.
var ErrAlreadyBootstrapped = errors.New("raftnode: this node already has Raft state and rejoins its cluster by itself; bootstrap only a brand-new data directory")
