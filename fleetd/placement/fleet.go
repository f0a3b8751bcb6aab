package placement

import "github.com/shingle-storage/shingle/fleetd/state"

// Report is what an agent last said about one of its drives: soft state that
// never enters the Raft log.
type Report struct {
	// FreeBytes is the space the agent says is free on the drive: what
	// the extents it can still create hold.
	FreeBytes uint64
	// PoolRoomBytes is what the drive's open shard pool extent still
	// takes, besides FreeBytes, for shards.
	PoolRoomBytes uint64
	// Load is how busy the drive is, from 0 (idle) to 1 (saturated).
	Load float64
}

// Candidates describes every drive of the fleet state that is not retired
// for a Planner. A drive is in service for placement when the drive and its
// host both are. Its free space is its capacity less what the state's
// volumes reserve on it, or what its agent last reported if that is less
// (the agent sees space the state does not, such as zones lost to errors).
// Shards may also go to the room left in the drive's open shard pool
// extent, as far as the state's reservations leave room.
// report may be nil, or return false for drives it knows nothing about.
func Candidates(s *state.State, report func(drive string) (Report, bool)) []Drive {
	reserved := s.ReservedBytes()
	var out []Drive
	for _, d := range s.Drives() {
		if d.State == state.DriveRetired {
			continue
		}
		h, _ := s.Host(d.Host)
		unreserved := d.CapacityBytes - min(reserved[d.ID], d.CapacityBytes)
		free, pool := unreserved, uint64(0)
		var load float64
		if report != nil {
			if r, ok := report(d.ID); ok {
				free = min(unreserved, r.FreeBytes)
				pool = min(r.PoolRoomBytes, unreserved-free)
				load = r.Load
			}
		}
		out = append(out, Drive{
			ID:            d.ID,
			Host:          d.Host,
			Rack:          h.Rack,
			InService:     d.State == state.DriveInService && h.State == state.HostInService,
			CapacityBytes: d.CapacityBytes,
			FreeBytes:     free,
			PoolRoomBytes: pool,
			Load:          load,
		})
	}
	return out
}
