package state

import (
	"cmp"
	"maps"
	"slices"
)

// State is the fleet as the Raft log describes it. The zero value is not
// usable; call New.
//
// State is not safe for concurrent use: Apply mutates it. [FSM] wraps it
// with the locking raft needs. The accessors return copies, so what they
// return stays valid (and unchanged) after later commands apply.
type State struct {
	sites   map[string]Site
	rooms   map[string]Room
	rows    map[string]Row
	racks   map[string]Rack
	hosts   map[string]Host
	drives  map[string]Drive
	volumes map[VolumeID]Volume
	tokens  map[string]JoinToken
	members map[string]Member
	// lastVolume is the id the most recent CreateVolume was given; ids are
	// never reused, even after a volume is deleted.
	lastVolume VolumeID
}

// New returns the empty state a cluster starts from.
func New() *State {
	return &State{
		sites:   map[string]Site{},
		rooms:   map[string]Room{},
		rows:    map[string]Row{},
		racks:   map[string]Rack{},
		hosts:   map[string]Host{},
		drives:  map[string]Drive{},
		volumes: map[VolumeID]Volume{},
		tokens:  map[string]JoinToken{},
		members: map[string]Member{},
	}
}

// Clone returns a deep copy of s. Snapshots use it so that Apply can carry on
// while the copy is written out.
func (s *State) Clone() *State {
	c := &State{
		sites:      maps.Clone(s.sites),
		rooms:      maps.Clone(s.rooms),
		rows:       maps.Clone(s.rows),
		racks:      maps.Clone(s.racks),
		hosts:      maps.Clone(s.hosts),
		drives:     maps.Clone(s.drives),
		volumes:    make(map[VolumeID]Volume, len(s.volumes)),
		tokens:     maps.Clone(s.tokens),
		members:    maps.Clone(s.members),
		lastVolume: s.lastVolume,
	}
	for id, v := range s.volumes {
		c.volumes[id] = v.clone()
	}
	return c
}

// Site returns the site with the given id.
func (s *State) Site(id string) (Site, bool) { v, ok := s.sites[id]; return v, ok }

// Room returns the room with the given id.
func (s *State) Room(id string) (Room, bool) { v, ok := s.rooms[id]; return v, ok }

// Row returns the row with the given id.
func (s *State) Row(id string) (Row, bool) { v, ok := s.rows[id]; return v, ok }

// Rack returns the rack with the given id.
func (s *State) Rack(id string) (Rack, bool) { v, ok := s.racks[id]; return v, ok }

// Host returns the host with the given id.
func (s *State) Host(id string) (Host, bool) { v, ok := s.hosts[id]; return v, ok }

// Drive returns the drive with the given id.
func (s *State) Drive(id string) (Drive, bool) { v, ok := s.drives[id]; return v, ok }

// JoinToken returns the join token with the given id.
func (s *State) JoinToken(id string) (JoinToken, bool) { v, ok := s.tokens[id]; return v, ok }

// Member returns the fleetd server with the given Raft id.
func (s *State) Member(id string) (Member, bool) { v, ok := s.members[id]; return v, ok }

// Volume returns the volume with the given id.
func (s *State) Volume(id VolumeID) (Volume, bool) {
	v, ok := s.volumes[id]
	return v.clone(), ok
}

// Sites returns every site, ordered by id.
func (s *State) Sites() []Site { return sortedValues(s.sites, func(v Site) string { return v.ID }) }

// Rooms returns every room, ordered by id.
func (s *State) Rooms() []Room { return sortedValues(s.rooms, func(v Room) string { return v.ID }) }

// Rows returns every row, ordered by id.
func (s *State) Rows() []Row { return sortedValues(s.rows, func(v Row) string { return v.ID }) }

// Racks returns every rack, ordered by id.
func (s *State) Racks() []Rack { return sortedValues(s.racks, func(v Rack) string { return v.ID }) }

// Hosts returns every host, ordered by id.
func (s *State) Hosts() []Host { return sortedValues(s.hosts, func(v Host) string { return v.ID }) }

// Drives returns every drive, ordered by id.
func (s *State) Drives() []Drive { return sortedValues(s.drives, func(v Drive) string { return v.ID }) }

// JoinTokens returns every join token, ordered by id.
func (s *State) JoinTokens() []JoinToken {
	return sortedValues(s.tokens, func(v JoinToken) string { return v.ID })
}

// Members returns every recorded fleetd server, ordered by id.
func (s *State) Members() []Member {
	return sortedValues(s.members, func(v Member) string { return v.ID })
}

// Volumes returns every volume, ordered by id.
func (s *State) Volumes() []Volume {
	out := sortedValues(s.volumes, func(v Volume) VolumeID { return v.ID })
	for i := range out {
		out[i] = out[i].clone()
	}
	return out
}

// LastVolumeID is the id most recently given to a volume (0 before the
// first). The next volume gets LastVolumeID()+1.
func (s *State) LastVolumeID() VolumeID { return s.lastVolume }

// ReservedBytes returns, for every drive named by a placement, the bytes its
// volumes' members reserve on it. Placement subtracts this from capacity to
// get the space it may still hand out.
func (s *State) ReservedBytes() map[string]uint64 {
	out := map[string]uint64{}
	for _, v := range s.volumes {
		for _, d := range v.Placement {
			out[d] += v.MemberBytes
		}
	}
	return out
}

// volumesOn counts the volumes whose placement names drive. It scans every
// volume; it runs only for the rare drive lifecycle commands.
func (s *State) volumesOn(drive string) int {
	n := 0
	for _, v := range s.volumes {
		if v.Member(drive) >= 0 {
			n++
		}
	}
	return n
}

// sortedValues returns m's values ordered by key, so that nothing a caller
// sees depends on map iteration order.
func sortedValues[K cmp.Ordered, V any](m map[K]V, key func(V) K) []V {
	out := slices.Collect(maps.Values(m))
	slices.SortFunc(out, func(a, b V) int { return cmp.Compare(key(a), key(b)) })
	return out
}
