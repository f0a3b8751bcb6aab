// Package state is fleetd's replicated state machine: the small, precise
// record of the fleet that every fleetd node agrees on through Raft.
//
// It holds the physical topology (sites, rooms, rows, racks with their power
// budgets), the hosts and drives in it with their lifecycle states, every
// volume with its coding scheme, placement and generation, and the join
// tokens hosts present when they first boot. Soft state (heartbeats, load,
// free space reported by agents) never enters it: it changes too often, and
// a replicated copy would be stale the moment it was written.
//
// The state is a plain function of the log. A [Command] is encoded by
// [Encode] into a versioned JSON envelope, appended to the Raft log, and
// applied in log order by [State.Apply]. Apply reads no clock, no random
// source and no environment, and never lets map iteration order reach its
// output: two nodes that apply the same log reach byte-for-byte the same
// state and return the same results and errors. Anything time-dependent
// (a token's expiry, the time a host joins) is stamped into the command by
// the node that proposes it.
//
// [FSM] adapts a State to hashicorp/raft: it decodes log entries, serialises
// Apply against readers, and writes and reads snapshots in the format
// described in snapshot.go.
//
// Validation happens inside Apply, so a command that was valid when proposed
// but lost a race (the drive failed in between, the volume's generation
// moved on) is rejected deterministically on every node with an [*Error]
// whose Code tells the caller whether to fix the request, re-read and retry,
// or give up.
package state
