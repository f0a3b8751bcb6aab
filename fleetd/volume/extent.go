package volume

import (
	"github.com/shingle-storage/shingle/agent/datapath"
	"github.com/shingle-storage/shingle/fleetd/state"
)

// MemberExtent is the extent that holds member i of volume v on its
// drive. A replica has an extent of its own, named after the volume: the
// volume id shifted left 16 bits (volume ids stay below 2^40, so these
// ids never reach the pool's or the agents' own). A shard of a coded
// volume is a fraction of an extent, so its chunks go to the drive's
// shard pool (datapath.PoolExtent), shared by the shards of many volumes
// and found by key.
func MemberExtent(v state.VolumeID, coded bool, i int) uint64 {
	if coded {
		return datapath.PoolExtent
	}
	return uint64(v) << 16
}

// ExtentOf is the extent of member i of vol.
func ExtentOf(vol state.Volume, i int) uint64 {
	return MemberExtent(vol.ID, vol.Scheme.Coded(), i)
}

// memberID names member i of volume v uniquely, whatever extent holds
// it: the key of the manager's records about members.
func memberID(v state.VolumeID, coded bool, i int) uint64 {
	id := uint64(v) << 16
	if coded {
		id += 1 + uint64(i)
	}
	return id
}
