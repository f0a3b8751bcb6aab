package state

// HostState is where a storage host is in its life. Only hosts in service
// receive new data; the others keep what they hold.
type HostState string

const (
	// HostProvisioning is a host that has joined (booted the PXE image and
	// presented a join token) but is not yet trusted with data: burn-in and
	// drive discovery are still running.
	HostProvisioning HostState = "provisioning"
	// HostInService is a host whose drives may receive new data.
	HostInService HostState = "in_service"
	// HostMaintenance is a host taken out of placement for a while (kernel
	// update, chassis repair) without moving its data away.
	HostMaintenance HostState = "maintenance"
	// HostRetired is a host that has left the fleet. It is final; all its
	// drives must be retired first.
	HostRetired HostState = "retired"
)

// valid reports whether s is one of the defined host states.
func (s HostState) valid() bool {
	switch s {
	case HostProvisioning, HostInService, HostMaintenance, HostRetired:
		return true
	}
	return false
}

// Host is one storage host running the agent.
type Host struct {
	// ID names the host; hosts are usually named after their chassis serial
	// so the name survives re-imaging.
	ID string `json:"id"`
	// Rack is the rack the host is mounted in.
	Rack string `json:"rack"`
	// Address is where the host's agent serves its API (host:port). It is
	// replicated because it changes only when the host re-joins, not with
	// every heartbeat.
	Address string `json:"address"`
	// State is where the host is in its life.
	State HostState `json:"state"`
	// JoinedAt is when the host last joined with a token, as stamped into
	// the join command by the node that proposed it (Unix seconds; 0 for a
	// host added by an operator).
	JoinedAt int64 `json:"joined_at,omitempty"`
}
