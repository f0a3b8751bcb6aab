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
	// hostDrives indexes the drives (in any state) by host: the ids of each
	// host's drives, sorted. It is derived from drives, kept in step by
	// AddDrive and RemoveDrive and rebuilt by ReadSnapshot, so that the
	// commands that look at one host's drives (the slot check of AddDrive
	// above all, run for every drive a host registers) cost the drives of
	// that host, not of the fleet.
	hostDrives map[string][]string
	// lastVolume is the id the most recent CreateVolume was given; ids are
	// never reused, even after a volume is deleted.
	lastVolume VolumeID
}

// New returns the empty state a cluster starts from.
func New() *State {
	return &State{
		sites:      map[string]Site{},
		rooms:      map[string]Room{},
		rows:       map[string]Row{},
		racks:      map[string]Rack{},
		hosts:      map[string]Host{},
		drives:     map[string]Drive{},
		volumes:    map[VolumeID]Volume{},
		tokens:     map[string]JoinToken{},
		members:    map[string]Member{},
		hostDrives: map[string][]string{},
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
		hostDrives: make(map[string][]string, len(s.hostDrives)),
		lastVolume: s.lastVolume,
	}
	for id, v := range s.volumes {
		c.volumes[id] = v.clone()
	}
	for h, ids := range s.hostDrives {
		c.hostDrives[h] = slices.Clone(ids)
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
func (s *State) Sites() []Site { return sortedValues(s.sites) }

// Rooms returns every room, ordered by id.
func (s *State) Rooms() []Room { return sortedValues(s.rooms) }

// Rows returns every row, ordered by id.
func (s *State) Rows() []Row { return sortedValues(s.rows) }

// Racks returns every rack, ordered by id.
func (s *State) Racks() []Rack { return sortedValues(s.racks) }

// Hosts returns every host, ordered by id.
func (s *State) Hosts() []Host { return sortedValues(s.hosts) }

// Drives returns every drive, ordered by id.
func (s *State) Drives() []Drive { return sortedValues(s.drives) }

// JoinTokens returns every join token, ordered by id.
func (s *State) JoinTokens() []JoinToken {
	return sortedValues(s.tokens)
}

// Members returns every recorded fleetd server, ordered by id.
func (s *State) Members() []Member {
	return sortedValues(s.members)
}

// Volumes returns every volume, ordered by id.
func (s *State) Volumes() []Volume {
	out := sortedValues(s.volumes)
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

// drivesOf returns the ids of host's drives (in any state), sorted. The
// slice belongs to the state: callers must not keep or modify it.
func (s *State) drivesOf(host string) []string { return s.hostDrives[host] }

// indexDrive records that drive d is attached to its host.
func (s *State) indexDrive(d Drive) {
	ids := s.hostDrives[d.Host]
	if i, found := slices.BinarySearch(ids, d.ID); !found {
		s.hostDrives[d.Host] = slices.Insert(ids, i, d.ID)
	}
}

// unindexDrive forgets that drive d is attached to its host. A host left
// without drives leaves the index, so that equal states have equal indexes.
func (s *State) unindexDrive(d Drive) {
	ids := s.hostDrives[d.Host]
	i, found := slices.BinarySearch(ids, d.ID)
	if !found {
		return
	}
	if len(ids) == 1 {
		delete(s.hostDrives, d.Host)
		return
	}
	s.hostDrives[d.Host] = slices.Delete(ids, i, i+1)
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
// sees depends on map iteration order. It sorts the keys, not the values,
// which are larger to move.
func sortedValues[K cmp.Ordered, V any](m map[K]V) []V {
	keys := slices.Sorted(maps.Keys(m))
	out := make([]V, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}
