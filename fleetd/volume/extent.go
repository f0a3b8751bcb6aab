package volume

import "github.com/shingle-storage/shingle/fleetd/state"

// MemberExtent is the id of the extent that holds member i of volume v on
// its drive: the volume id shifted left 16 bits for a replica, plus 1+i
// for shard i of a coded volume. Volume ids stay below 2^47, so the ids
// never reach the agents' own (time-based, about 2^60) extent ids.
func MemberExtent(v state.VolumeID, coded bool, i int) uint64 {
	id := uint64(v) << 16
	if coded {
		id += 1 + uint64(i)
	}
	return id
}

// ExtentOf is the extent id of member i of vol.
func ExtentOf(vol state.Volume, i int) uint64 {
	return MemberExtent(vol.ID, vol.Scheme.Coded(), i)
}
