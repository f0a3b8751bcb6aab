package state

import (
	"fmt"
	"io"
	"sync"

	"github.com/hashicorp/raft"
)

// FSM is the fleet state as a hashicorp/raft finite state machine. Raft calls
// Apply for every committed command, in log order, on one goroutine; readers
// use Read, which may run at the same time on any goroutine.
//
// What Apply returns reaches the proposer through raft's ApplyFuture: a
// Result when the command applied, an *Error when it was rejected. (The
// rejected entry is still in the log; every node rejects it identically.)
type FSM struct {
	mu    sync.RWMutex
	state *State
	index uint64
}

// NewFSM returns an FSM holding the empty state.
func NewFSM() *FSM {
	return &FSM{state: New()}
}

// Apply decodes and applies one committed log entry. It never panics on a
// malformed entry: a bad command is rejected with CodeInvalid like any other
// invalid command, so one bad entry cannot take down every replica.
func (f *FSM) Apply(l *raft.Log) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.index = l.Index
	if l.Type != raft.LogCommand {
		return Result{Index: l.Index}
	}
	c, err := Decode(l.Data)
	if err != nil {
		return err
	}
	r, err := f.state.Apply(c)
	if err != nil {
		return err
	}
	r.Index = l.Index
	return r
}

// Read calls fn with the current state while holding off Apply, so fn sees
// one consistent state. fn must not keep s or modify it, and should be quick:
// Apply waits for it. The accessors of State return copies that may be kept.
//
// Read on its own is a stale read: on a follower, or on a leader that has
// just been deposed, the state may lag the cluster. Call the node's
// linearizable barrier first when the caller must see every acknowledged
// write.
func (f *FSM) Read(fn func(s *State)) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	fn(f.state)
}

// AppliedIndex is the index of the last log entry applied to the state.
func (f *FSM) AppliedIndex() uint64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.index
}

// Snapshot captures a copy of the state for raft to persist. The copy is
// taken here, while Apply is held off; writing it out happens in Persist,
// while Apply carries on.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return &fsmSnapshot{state: f.state.Clone(), index: f.index}, nil
}

// Restore replaces the state with the one in a snapshot. A snapshot that
// fails CheckInvariants is refused and the current state kept.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	s, index, err := ReadSnapshot(rc)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state = s
	f.index = index
	return nil
}

// CheckSnapshot reads a snapshot without restoring it. The node calls it
// before handing an operator's backup file to raft, because raft stops the
// process if an FSM fails to restore a snapshot it has already accepted.
func (f *FSM) CheckSnapshot(r io.Reader) error {
	_, _, err := ReadSnapshot(r)
	return err
}

// fsmSnapshot is a point-in-time copy of the state waiting to be written.
type fsmSnapshot struct {
	state *State
	index uint64
}

// Persist writes the snapshot to sink, cancelling the sink on failure so
// raft does not keep a partial snapshot.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := WriteSnapshot(sink, s.state, s.index); err != nil {
		_ = sink.Cancel()
		return err
	}
	if err := sink.Close(); err != nil {
		return fmt.Errorf("close fleet state snapshot: %w", err)
	}
	return nil
}

// Release does nothing: the copy is garbage once raft lets go of it.
func (s *fsmSnapshot) Release() {}
