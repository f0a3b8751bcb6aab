// Package raftnode runs one member of fleetd's Raft group: hashicorp/raft
// with raft-wal as its log and stable store, raft's file snapshot store, and
// raft's TCP transport, all under one data directory.
//
// A Node is generic over the state machine (any raft.FSM); fleetd passes
// *state.FSM. It adds to raft what every caller would otherwise repeat:
// context-aware waiting on raft's futures, errors that name the leader to
// go to, forwarding of writes from followers, a linearizable read barrier,
// snapshots written to and restored from files, and membership changes.
//
// Data directory layout:
//
//	<dir>/wal/          raft-wal segment files and its meta database
//	<dir>/snapshots/    raft's file snapshots (<term>-<index>-<ms>/meta.json, state.bin)
//
// Opening a directory that holds Raft state restarts the node from it: the
// state machine is restored from the newest snapshot, and the log entries
// after it are applied again once a leader confirms they are committed.
// A new directory needs Bootstrap (first node of a new cluster) or a
// leader's AddVoter (a node joining a cluster).
//
// Reads: the state machine can be read directly at any time (a stale read:
// on a follower, or on a leader that has just lost an election, it may lag).
// A caller that must see every write acknowledged before its read began
// calls ReadBarrier on the leader first.
//
// Writes: Apply on the leader proposes the command and waits for the state
// machine's result. Apply on a follower hands the command to the Forwarder
// (the API layer, which sends it to the leader's API endpoint, where it
// arrives through ApplyLocal); without a Forwarder it returns a
// *NotLeaderError naming the leader.
package raftnode
