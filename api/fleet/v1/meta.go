package fleetv1

// Error metadata (HTTP headers in the Connect protocol, trailers in gRPC)
// that fleetd sets on errors. Connect codes are coarse; these let a client
// tell apart what one code covers, e.g. "no leader" from "server down",
// without parsing messages. This file is written by hand, not generated.
const (
	// MetaStateCode carries the state machine's rejection code (invalid,
	// not_found, already_exists, conflict, expired) of a rejected write.
	MetaStateCode = "Shingle-State-Code"
	// MetaNoLeader is set (to "1") when a call failed because the server
	// that received it could reach no leader: an election is under way, or
	// it is cut off from a quorum. Retrying later, or on another server,
	// may succeed.
	MetaNoLeader = "Shingle-No-Leader"
	// MetaOutcomeUnknown is set (to "1") when a write may or may not have
	// been applied: re-read the state before retrying it.
	MetaOutcomeUnknown = "Shingle-Outcome-Unknown"
)
