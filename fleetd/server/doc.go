// Package server is a running fleetd server: one member of the Raft group
// (package raftnode over the state machine of package state) and the
// Connect API it serves over mutual TLS.
//
// One net/http server speaks Connect, gRPC and gRPC-Web (JSON or binary
// protobuf) for every service in api/fleet/v1, plus Prometheus metrics at
// /metrics. Raft has its own TCP port.
//
// Who serves what:
//
//   - Writes (topology, tokens, agent registration) are state commands.
//     Any server takes them; a follower forwards the encoded command to the
//     leader's ForwardService.Apply (the raftnode.Forwarder this package
//     implements), so every write takes the same authenticated path.
//   - Reads are linearizable by default: the leader confirms it still leads
//     with a read barrier before reading its state, and a follower relays
//     the whole call to the leader. A request with stale set is answered
//     from the receiving server's own copy, leader or not.
//   - Calls only the leader can serve (membership, leadership transfer,
//     snapshots, agent heartbeats) are relayed by a follower to the leader.
//     A relayed call is never relayed again: a server that receives one
//     and is not the leader (leadership just moved) answers Unavailable,
//     and the caller retries.
//   - Heartbeats are soft state in the leader's memory (Liveness): never
//     in the Raft log, lost on failover, rebuilt within one heartbeat
//     interval by the agents.
//
// The leader's API address is found in the replicated member table
// (state.Member), which every server keeps current for itself.
//
// Every call is authorised by the role in the caller's certificate (see
// package pki): operators reach the cluster, fleet and token services,
// agents the agent service, fleetd servers everything.
package server
