package raftnode

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
)

// Server is one member of the Raft group.
type Server struct {
	// ID is the member's stable id.
	ID string
	// Address is the member's Raft address (host:port).
	Address string
	// Voter is false for a non-voting member (one that replicates but does
	// not count towards a quorum).
	Voter bool
}

// Node is one running member of the Raft group. Its methods are safe for
// concurrent use.
type Node struct {
	cfg    Config
	logger hclog.Logger
	raft   *raft.Raft
	trans  *raft.NetworkTransport
	log    *wal.WAL
	snaps  *raft.FileSnapshotStore
	addr   string
	// restarted is true when Open found Raft state in the directory.
	restarted bool

	closeOnce sync.Once
	closeErr  error
}

// transportTimeout bounds one Raft RPC on the wire; an InstallSnapshot of
// a large state is the slowest.
const transportTimeout = 10 * time.Second

// Open starts a node from its data directory. A directory with Raft state
// restarts that member; an empty one starts a member that waits to be
// bootstrapped (Bootstrap) or added to a cluster by its leader (AddVoter).
func Open(cfg Config) (*Node, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Info, Output: os.Stderr})
	}
	rc, err := cfg.raftConfig(logger)
	if err != nil {
		return nil, err
	}
	walDir := filepath.Join(cfg.Dir, "wal")
	if err := os.MkdirAll(walDir, 0o700); err != nil {
		return nil, fmt.Errorf("raftnode: create data directory: %w", err)
	}
	n := &Node{cfg: cfg, logger: logger}
	ok := false
	defer func() {
		if !ok {
			n.closeStores()
		}
	}()

	segment := cfg.WALSegmentBytes
	if segment <= 0 {
		segment = wal.DefaultSegmentSize
	}
	if n.log, err = wal.Open(walDir, wal.WithLogger(logger.Named("wal")), wal.WithSegmentSize(segment)); err != nil {
		return nil, fmt.Errorf("raftnode: open the log in %s: %w", walDir, err)
	}
	retain := cfg.SnapshotRetain
	if retain <= 0 {
		retain = 3
	}
	if n.snaps, err = raft.NewFileSnapshotStoreWithLogger(cfg.Dir, retain, logger.Named("snapshots")); err != nil {
		return nil, fmt.Errorf("raftnode: open the snapshot store in %s: %w", cfg.Dir, err)
	}
	var advertise net.Addr
	if cfg.AdvertiseAddr != "" {
		if advertise, err = net.ResolveTCPAddr("tcp", cfg.AdvertiseAddr); err != nil {
			return nil, fmt.Errorf("raftnode: advertise address %q: %w", cfg.AdvertiseAddr, err)
		}
	}
	n.trans, err = raft.NewTCPTransportWithConfig(cfg.BindAddr, advertise, &raft.NetworkTransportConfig{
		MaxPool: 3,
		Timeout: transportTimeout,
		Logger:  logger.Named("transport"),
	})
	if err != nil {
		return nil, fmt.Errorf("raftnode: listen for Raft on %q: %w (set AdvertiseAddr if binding to all interfaces)", cfg.BindAddr, err)
	}
	n.addr = string(n.trans.LocalAddr())
	if n.restarted, err = raft.HasExistingState(n.log, n.log, n.snaps); err != nil {
		return nil, fmt.Errorf("raftnode: read the state in %s: %w", cfg.Dir, err)
	}
	if n.raft, err = raft.NewRaft(rc, cfg.FSM, n.log, n.log, n.snaps, n.trans); err != nil {
		return nil, fmt.Errorf("raftnode: start Raft: %w", err)
	}
	ok = true
	return n, nil
}

// ID returns the node's server id.
func (n *Node) ID() string { return n.cfg.ID }

// Addr returns the address other members reach this node's Raft at.
func (n *Node) Addr() string { return n.addr }

// Self returns this node as a Server, for Bootstrap and AddVoter.
func (n *Node) Self() Server { return Server{ID: n.cfg.ID, Address: n.addr, Voter: true} }

// Restarted reports whether Open found Raft state in the data directory:
// the node is a member of a cluster and rejoins it by itself, so it needs
// neither Bootstrap nor a leader's AddVoter.
func (n *Node) Restarted() bool { return n.restarted }

// Bootstrap makes this node the first member of a new cluster, with the
// given voters (this node alone if none are given). Call it once, on a
// brand-new data directory; calling it on every initial member with the same
// list is also correct. It returns ErrAlreadyBootstrapped on a node with
// Raft state.
func (n *Node) Bootstrap(servers ...Server) error {
	if len(servers) == 0 {
		servers = []Server{n.Self()}
	}
	var conf raft.Configuration
	for _, s := range servers {
		suffrage := raft.Voter
		if !s.Voter {
			suffrage = raft.Nonvoter
		}
		conf.Servers = append(conf.Servers, raft.Server{Suffrage: suffrage, ID: raft.ServerID(s.ID), Address: raft.ServerAddress(s.Address)})
	}
	err := n.raft.BootstrapCluster(conf).Error()
	if errors.Is(err, raft.ErrCantBootstrap) {
		return ErrAlreadyBootstrapped
	}
	if err != nil {
		return fmt.Errorf("raftnode: bootstrap: %w", err)
	}
	return nil
}

// Stats returns raft's counters (state, term, indexes, last contact), for
// status pages and debugging.
func (n *Node) Stats() map[string]string { return n.raft.Stats() }

// AppliedIndex is the index of the last entry raft has handed to the state
// machine.
func (n *Node) AppliedIndex() uint64 { return n.raft.AppliedIndex() }

// LastContact is when this node last heard from the leader (zero on the
// leader itself). It bounds how stale a read on a follower can be.
func (n *Node) LastContact() time.Time { return n.raft.LastContact() }

// Close stops the node: Raft, then its transport, then its stores. The data
// directory keeps everything needed to Open it again. Close is what a crash
// looks like to the other members, so tests use it to kill nodes.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		var errs []error
		if n.raft != nil {
			if err := n.raft.Shutdown().Error(); err != nil {
				errs = append(errs, fmt.Errorf("raftnode: shut down Raft: %w", err))
			}
		}
		errs = append(errs, n.closeStores())
		n.closeErr = errors.Join(errs...)
	})
	return n.closeErr
}

// closeStores closes what Open opened besides Raft itself.
func (n *Node) closeStores() error {
	var errs []error
	if n.trans != nil {
		if err := n.trans.Close(); err != nil {
			errs = append(errs, fmt.Errorf("raftnode: close transport: %w", err))
		}
	}
	if n.log != nil {
		if err := n.log.Close(); err != nil {
			errs = append(errs, fmt.Errorf("raftnode: close log: %w", err))
		}
	}
	return errors.Join(errs...)
}
