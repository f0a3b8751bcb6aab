package raftnode

import (
	"errors"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// Config says how to run a node.
type Config struct {
	// ID is the server's id in the Raft configuration. It must be stable
	// across restarts and unique in the cluster; the host name is a good
	// choice.
	ID string
	// Dir is the data directory. It is created if missing.
	Dir string
	// BindAddr is the TCP address Raft listens on, e.g. "0.0.0.0:7301" or,
	// in tests, "127.0.0.1:0".
	BindAddr string
	// AdvertiseAddr is the address other members dial. Empty means the
	// address BindAddr resolved to, which must then be a specific IP.
	AdvertiseAddr string
	// FSM is the replicated state machine.
	FSM raft.FSM
	// Forwarder, if set, carries writes made on a follower to the leader.
	Forwarder Forwarder
	// Logger receives Raft's and the WAL's logs. Nil means Info and above
	// to stderr.
	Logger hclog.Logger
	// Timing sets Raft's timeouts; the zero value means production timing.
	Timing Timing
	// SnapshotRetain is how many snapshots to keep on disk; 0 means 3.
	SnapshotRetain int
	// SnapshotThreshold is how many log entries since the last snapshot
	// make Raft take a new one; 0 means raft's default (8192).
	SnapshotThreshold uint64
	// TrailingLogs is how many log entries a snapshot leaves in the log,
	// so that a briefly lagging follower catches up from the log rather
	// than a snapshot; 0 means raft's default (10240).
	TrailingLogs uint64
	// WALSegmentBytes is the size of one WAL segment file; 0 means
	// raft-wal's default (64 MiB). Tests use small segments.
	WALSegmentBytes int
}

// Timing holds Raft's timeouts. Election and heartbeat timeouts bound how
// long a cluster is without a leader after a failure; making them short
// makes failover fast but risks needless elections on a busy network.
type Timing struct {
	// Heartbeat is how long a follower waits without hearing from the
	// leader before it starts an election.
	Heartbeat time.Duration
	// Election is how long a candidate waits for votes.
	Election time.Duration
	// LeaderLease is how long a leader stays leader without hearing from a
	// quorum; at most Heartbeat.
	LeaderLease time.Duration
	// Commit is the longest a leader waits before sending new entries,
	// to batch them.
	Commit time.Duration
}

// ProductionTiming is raft's default timing, right for a data-centre LAN.
func ProductionTiming() Timing {
	d := raft.DefaultConfig()
	return Timing{Heartbeat: d.HeartbeatTimeout, Election: d.ElectionTimeout, LeaderLease: d.LeaderLeaseTimeout, Commit: d.CommitTimeout}
}

// LoopbackTiming is timing for clusters on one machine (tests and the dev
// cluster): a new leader within about half a second, yet slack enough that
// a loaded machine (the race detector, slow fsyncs) does not depose
// leaders at random.
func LoopbackTiming() Timing {
	return Timing{Heartbeat: 200 * time.Millisecond, Election: 200 * time.Millisecond, LeaderLease: 100 * time.Millisecond, Commit: 5 * time.Millisecond}
}

// raftConfig turns c into raft's configuration.
func (c Config) raftConfig(logger hclog.Logger) (*raft.Config, error) {
	if c.ID == "" {
		return nil, errors.New("raftnode: Config.ID is empty; give every node a stable, unique id")
	}
	if c.Dir == "" {
		return nil, errors.New("raftnode: Config.Dir is empty")
	}
	if c.FSM == nil {
		return nil, errors.New("raftnode: Config.FSM is nil")
	}
	t := c.Timing
	if t == (Timing{}) {
		t = ProductionTiming()
	}
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(c.ID)
	rc.HeartbeatTimeout = t.Heartbeat
	rc.ElectionTimeout = t.Election
	rc.LeaderLeaseTimeout = t.LeaderLease
	rc.CommitTimeout = t.Commit
	rc.Logger = logger
	if c.SnapshotThreshold > 0 {
		rc.SnapshotThreshold = c.SnapshotThreshold
	}
	if c.TrailingLogs > 0 {
		rc.TrailingLogs = c.TrailingLogs
	}
	if err := raft.ValidateConfig(rc); err != nil {
		return nil, errors.Join(errors.New("raftnode: invalid timing or limits"), err)
	}
	return rc, nil
}
