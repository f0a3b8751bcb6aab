package placement

import "math"

// Drive is a candidate drive as placement sees it: where it is, whether it
// may take new data, and how full and busy it is. Placement does not care
// how these were learned; Candidates builds them from the fleet state and
// the agents' reports.
type Drive struct {
	// ID is the drive's id (WWN or serial).
	ID string
	// Host is the host the drive is in.
	Host string
	// Rack is the rack the host is in.
	Rack string
	// InService is true when the drive may receive new members: the drive
	// and its host are both in service. Drives that are not still matter:
	// a placement's surviving members are looked up among them.
	InService bool
	// CapacityBytes is the drive's usable capacity.
	CapacityBytes uint64
	// FreeBytes is the space still available for new members.
	FreeBytes uint64
	// PoolRoomBytes is space for shards besides FreeBytes: what the
	// drive's open shard pool extent still takes.
	PoolRoomBytes uint64
	// Load is how busy the drive is, from 0 (idle) to 1 (saturated).
	Load float64
}

// score ranks a drive for new data: the fraction of it that is free, less
// its load weighted by loadWeight. Higher is better.
func (d Drive) score(loadWeight float64) float64 {
	if d.CapacityBytes == 0 {
		return -1
	}
	load := min(max(d.Load, 0), 1)
	return float64(d.FreeBytes)/float64(d.CapacityBytes) - loadWeight*load
}

// scoreStep is the resolution at which drive scores are compared: drives
// whose free fraction (less load) differs by less than half a percent are
// equally good, and the choice between them is spread by Rule.Key. Finer
// comparison would buy no balance and would send every decision made from
// one view of the fleet to the same few drives.
const scoreStep = 0.005

// tier is the drive's score rounded down to scoreStep.
func (d Drive) tier(loadWeight float64) int64 {
	return int64(math.Floor(d.score(loadWeight) / scoreStep))
}

// fits reports whether the drive can take a member under rule r. What
// the rule keeps free is kept for shards, so the open pool extent's room
// counts towards it, and towards a shard member; a replica needs its
// bytes outside the pool.
func (d Drive) fits(r Rule) bool {
	return d.InService && d.FreeBytes+d.PoolRoomBytes >= r.need() && (r.Shards || d.FreeBytes >= r.MemberBytes)
}

// take subtracts a member under rule r from the drive's free space: a
// shard fills the open pool extent first.
func (d *Drive) take(r Rule) {
	n := r.MemberBytes
	if r.Shards {
		pool := min(n, d.PoolRoomBytes)
		d.PoolRoomBytes -= pool
		n -= pool
	}
	d.FreeBytes -= min(n, d.FreeBytes)
}
