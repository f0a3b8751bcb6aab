package volume

import "github.com/shingle-storage/shingle/fleetd/state"

// Location is a volume and where its members are: what a client needs to
// read or write it.
type Location struct {
	Volume  state.Volume
	Holders []Holder
}

// Holder is one member of a volume.
type Holder struct {
	// Index is the member's position: replica or shard number.
	Index int
	// Drive, Host and Address (the agent's host:port) say where it is.
	Drive, Host, Address string
	// Extent is the extent on the drive that holds it.
	Extent uint64
	// DriveState is the drive's state in the fleet.
	DriveState state.DriveState
	// Reachability is the host's, as the leader sees it.
	Reachability string
}

// Locate describes vol's members from the state and the leader's view of
// the hosts.
func Locate(st *state.State, vol state.Volume, host func(id string) HostView) Location {
	loc := Location{Volume: vol}
	for i, d := range vol.Placement {
		h := Holder{Index: i, Drive: d, Extent: ExtentOf(vol, i)}
		if dr, ok := st.Drive(d); ok {
			h.Host, h.DriveState = dr.Host, dr.State
			if ho, ok := st.Host(dr.Host); ok {
				h.Address = ho.Address
			}
			h.Reachability = host(dr.Host).Reachability
		}
		loc.Holders = append(loc.Holders, h)
	}
	return loc
}

// Locate describes volume id, or reports false if it does not exist.
func (m *Manager) Locate(id state.VolumeID) (Location, bool) {
	var loc Location
	var ok bool
	m.fleet.Read(func(st *state.State) {
		var vol state.Volume
		if vol, ok = st.Volume(id); ok {
			loc = Locate(st, vol, m.fleet.Host)
		}
	})
	return loc, ok
}

// usable reports whether every member of an open volume can take writes
// now: its drive in service and not reported failed, its host not
// unreachable (a host not heard from yet since a failover is given the
// benefit of the doubt, as in placement).
func (m *Manager) usable(loc Location) bool {
	for _, h := range loc.Holders {
		if h.DriveState != state.DriveInService || h.Reachability == Unreachable || h.Address == "" {
			return false
		}
		if v, ok := m.fleet.Drive(h.Drive); ok && v.Health == HealthFailed {
			return false
		}
	}
	return true
}
