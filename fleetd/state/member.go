package state

// Member is one fleetd server as clients and the other fleetd servers reach
// it: its Raft server id and the address of its API. Raft's own
// configuration knows each member's Raft address only; the API address is
// replicated here so that a follower can forward a write to the leader's
// API, and an operator's tool can list every endpoint, after any restart
// and from any node.
//
// Each fleetd server records its own entry (and corrects it when its
// address changes); leaving the cluster removes it. The table says nothing
// about who votes: that is Raft's configuration.
type Member struct {
	// ID is the member's Raft server id.
	ID string `json:"id"`
	// APIAddress is the host:port the member's API serves on.
	APIAddress string `json:"api_address"`
}
