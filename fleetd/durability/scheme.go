package durability

import (
	"fmt"

	"github.com/shingle-storage/shingle/fleetd/state"
)

// members is n, the number of replicas or shards of a volume of scheme s:
// the drives whose failures the chain counts.
func members(s state.Scheme) int { return s.Width() }

// tolerance is f, the number of lost members every pattern of which the
// scheme rebuilds. For LRC it is the guaranteed m+1, not the larger number
// some patterns survive; see the package documentation.
func tolerance(s state.Scheme) int {
	switch s.Kind {
	case state.Replicated:
		return s.Replicas - 1
	case state.ReedSolomon:
		return s.Parity
	case state.LocalReconstruction:
		return s.Parity + 1
	}
	return 0
}

// MemberBytes is the size of one member of a volume of volumeBytes under
// scheme s: the whole volume for a replica, a k-th of it (rounded up) for a
// data, local-parity or global-parity shard of RS(k,m) or LRC(k,l,m). It is
// the size before any padding the encoder adds. For 1 GiB volumes: 1 GiB
// for R3, 170.7 MiB for RS(6,3), 85.3 MiB for LRC(12,2,2).
func MemberBytes(s state.Scheme, volumeBytes uint64) uint64 {
	if !s.Coded() || s.Data < 1 {
		return volumeBytes
	}
	k := uint64(s.Data)
	return volumeBytes/k + min(volumeBytes%k, 1)
}

// checkScheme says what is wrong with s, or returns nil. It keeps the rules
// of the fleet state (state.ParseScheme), so an estimate is only made for
// schemes a volume can have.
func checkScheme(s state.Scheme) error {
	switch s.Kind {
	case state.Replicated:
		if s.Replicas < 1 || s.Replicas > state.MaxReplicas {
			return fmt.Errorf("scheme %v: replicas must be 1 to %d", s, state.MaxReplicas)
		}
		if s.Data != 0 || s.Parity != 0 || s.LocalGroups != 0 {
			return fmt.Errorf("scheme %v: a replicated scheme has no data, parity or local groups; set only Replicas (state.Replication(3))", s)
		}
	case state.ReedSolomon, state.LocalReconstruction:
		if s.Replicas != 0 {
			return fmt.Errorf("scheme %v: a coded scheme has no replicas; leave Replicas 0", s)
		}
		if s.Data < 1 || s.Parity < 1 {
			return fmt.Errorf("scheme %v: need at least one data and one parity shard", s)
		}
		if s.Kind == state.ReedSolomon && s.LocalGroups != 0 {
			return fmt.Errorf("scheme %v: Reed-Solomon has no local groups (use state.LRC)", s)
		}
		if s.Kind == state.LocalReconstruction && (s.LocalGroups < 1 || s.Data%s.LocalGroups != 0) {
			return fmt.Errorf("scheme %v: the local groups must divide the data shards evenly", s)
		}
		if s.Width() > state.MaxShards {
			return fmt.Errorf("scheme %v: %d shards, the limit is %d", s, s.Width(), state.MaxShards)
		}
	default:
		return fmt.Errorf("scheme kind %q is unknown: use state.Replication(n), state.RS(k,m) or state.LRC(k,l,m) (or state.ParseScheme)", string(s.Kind))
	}
	return nil
}
