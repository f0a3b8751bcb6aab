package placement

import "fmt"

// Domain is the failure domain a placement spreads over: no two members of
// one placement share a domain.
type Domain string

const (
	// DomainRack keeps members in different racks, so a rack's switch or
	// power feed failing costs each volume at most one member. The default.
	DomainRack Domain = "rack"
	// DomainHost keeps members on different hosts, for fleets with fewer
	// racks than a placement has members.
	DomainHost Domain = "host"
	// DomainDrive keeps members on different drives only, for single-host
	// development clusters.
	DomainDrive Domain = "drive"
)

// key returns the domain drive d is in.
func (dom Domain) key(d Drive) string {
	switch dom {
	case DomainHost:
		return d.Host
	case DomainDrive:
		return d.ID
	}
	return d.Rack
}

// Rule is what one placement must satisfy.
type Rule struct {
	// Width is the number of members: R for an R-way replicated volume,
	// k+m for RS(k,m), k+l+m for LRC(k,l,m).
	Width int
	// Domain is the failure domain; "" means DomainRack.
	Domain Domain
	// MemberBytes is the free space each member needs.
	MemberBytes uint64
	// Shards says the members are shards of a coded volume, which go to
	// their drives' shard pools: a drive's open pool extent has room for
	// them besides its free extents (Drive.PoolRoomBytes).
	Shards bool
	// KeepFree is room for shards each chosen drive must still have after
	// taking its member, for work that must find room later on those same
	// drives (fleetd keeps room for compacting the volumes it encodes).
	// The drive's open shard pool extent counts towards it.
	KeepFree uint64
	// Key varies the choice among equally good placements; pass the id of
	// the volume being placed. Decisions with the same key over the same
	// fleet are the same; different keys spread over all the copysets that
	// are equally good, instead of piling onto the first.
	Key uint64
}

// DefaultReplicas is the width of a new open volume: three copies, each in a
// different rack.
const DefaultReplicas = 3

// need is the free space a drive must have to take a member.
func (r Rule) need() uint64 { return r.MemberBytes + r.KeepFree }

// normalize fills defaults and checks the rule.
func (r Rule) normalize() (Rule, error) {
	if r.Domain == "" {
		r.Domain = DomainRack
	}
	switch r.Domain {
	case DomainRack, DomainHost, DomainDrive:
	default:
		return r, fmt.Errorf("placement: failure domain %q is unknown: use %q, %q or %q", r.Domain, DomainRack, DomainHost, DomainDrive)
	}
	if r.Width < 1 {
		return r, fmt.Errorf("placement: width %d: a placement needs at least one member", r.Width)
	}
	return r, nil
}

// Options tune a Planner. The zero value is a good default.
type Options struct {
	// ScatterWidth is the number of distinct peers each drive should share
	// volumes with. More peers make a repair read from more drives in
	// parallel; fewer keep the number of combinations (and so the odds of
	// a correlated failure hitting one) lower. 0 means 24.
	ScatterWidth int
	// Seed varies the copysets between clusters (use a hash of the cluster
	// id); the same seed and fleet always give the same copysets.
	Seed uint64
	// LoadWeight is how much a drive's reported load (0 idle to 1 saturated)
	// counts against its free fraction when ranking drives. 0 means 0.5;
	// a negative value ignores load.
	LoadWeight float64
}

// withDefaults fills in zero fields.
func (o Options) withDefaults() Options {
	if o.ScatterWidth <= 0 {
		o.ScatterWidth = 24
	}
	if o.LoadWeight == 0 {
		o.LoadWeight = 0.5
	}
	if o.LoadWeight < 0 {
		o.LoadWeight = 0
	}
	return o
}
