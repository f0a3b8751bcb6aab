package raftnode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"
)

// SnapshotInfo describes a snapshot in the node's snapshot store.
type SnapshotInfo struct {
	// ID names the snapshot in the store; its files are under
	// <dir>/snapshots/<ID>/.
	ID string
	// Index and Term are those of the last log entry the snapshot covers.
	Index, Term uint64
	// Size is the size of the state machine's data, in bytes.
	Size int64
	// Path is the directory holding the snapshot's files (meta.json and
	// state.bin); Restore takes it.
	Path string
}

// infoOf describes a snapshot of this node's store.
func (n *Node) infoOf(m *raft.SnapshotMeta) SnapshotInfo {
	return SnapshotInfo{ID: m.ID, Index: m.Index, Term: m.Term, Size: m.Size, Path: filepath.Join(n.cfg.Dir, "snapshots", m.ID)}
}

// SnapshotChecker is implemented by state machines that can check a
// snapshot without restoring it. Restore uses it, if the FSM has it, to
// refuse a damaged or foreign file before raft takes it: raft stops the
// process when an FSM fails to restore a snapshot it has already accepted.
type SnapshotChecker interface {
	// CheckSnapshot reads a whole snapshot and reports why it could not be
	// restored, or nil.
	CheckSnapshot(r io.Reader) error
}

// Snapshot takes a snapshot now (Raft also takes them by itself as the log
// grows) and returns it. If nothing has been applied since the newest
// snapshot, it returns that one.
func (n *Node) Snapshot(ctx context.Context) (SnapshotInfo, error) {
	if latest, err := n.latestSnapshot(); err == nil && latest.Index >= n.raft.AppliedIndex() {
		return latest, nil
	}
	f := n.raft.Snapshot()
	err := wait(ctx, f)
	if errors.Is(err, raft.ErrNothingNewToSnapshot) {
		return n.latestSnapshot()
	}
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("raftnode: snapshot: %w", err)
	}
	meta, rc, err := f.Open()
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("raftnode: open new snapshot: %w", err)
	}
	rc.Close()
	return n.infoOf(meta), nil
}

func (n *Node) latestSnapshot() (SnapshotInfo, error) {
	metas, err := n.snaps.List()
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("raftnode: list snapshots: %w", err)
	}
	if len(metas) == 0 {
		return SnapshotInfo{}, errors.New("raftnode: snapshot: nothing has been applied yet")
	}
	return n.infoOf(metas[0]), nil
}

// Backup takes a snapshot and writes the state machine's data to w: the
// file Restore takes. The snapshot store checks the snapshot's checksum as
// it is read.
func (n *Node) Backup(ctx context.Context, w io.Writer) (SnapshotInfo, error) {
	info, err := n.Snapshot(ctx)
	if err != nil {
		return SnapshotInfo{}, err
	}
	_, rc, err := n.snaps.Open(info.ID)
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("raftnode: open snapshot %s: %w", info.ID, err)
	}
	defer rc.Close()
	if _, err := io.Copy(w, rc); err != nil {
		return SnapshotInfo{}, fmt.Errorf("raftnode: copy snapshot %s: %w", info.ID, err)
	}
	return info, nil
}

// Restore replaces the cluster's state with the one in a backup: a file
// written by Backup, or a snapshot directory (or its state.bin) from a data
// directory. It runs on the leader, which takes the state and sends it to
// the followers; writes in flight are aborted. The cluster's membership is
// kept, not taken from the backup.
//
// It is for disaster recovery (restoring into a fresh cluster, or undoing a
// catastrophic mistake), not routine operation: every write since the
// backup is lost.
func (n *Node) Restore(ctx context.Context, path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("raftnode: restore: %w", err)
	}
	if st.IsDir() {
		path = filepath.Join(path, "state.bin")
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("raftnode: restore: %w", err)
	}
	defer f.Close()
	if st, err = f.Stat(); err != nil {
		return fmt.Errorf("raftnode: restore: %w", err)
	}
	if c, ok := n.cfg.FSM.(SnapshotChecker); ok {
		if err := c.CheckSnapshot(f); err != nil {
			return fmt.Errorf("raftnode: restore: %s is not a usable snapshot: %w", path, err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("raftnode: restore: %w", err)
		}
	}
	if !n.IsLeader() {
		l, _ := n.Leader()
		return fmt.Errorf("raftnode: restore: %w", &NotLeaderError{Leader: l})
	}
	meta := &raft.SnapshotMeta{Version: raft.SnapshotVersionMax, Size: st.Size()}
	if err := n.raft.Restore(meta, f, timeout(ctx)); err != nil {
		return fmt.Errorf("raftnode: restore %s: %w", path, n.leaderError(err))
	}
	return nil
}
