package state

import (
	"fmt"
	"regexp"
	"strconv"
)

// SchemeKind is how a volume keeps its data durable.
type SchemeKind string

const (
	// Replicated keeps Replicas full copies. Open volumes are replicated so
	// that appends are cheap and reads need one drive.
	Replicated SchemeKind = "replicated"
	// ReedSolomon splits a sealed volume into Data shards and adds Parity
	// shards; any Data of the Data+Parity shards rebuild it.
	ReedSolomon SchemeKind = "rs"
	// LocalReconstruction is an LRC code: Data shards in LocalGroups groups,
	// one local parity per group, plus Parity global parities. Repairing one
	// lost shard reads only its group, which is what makes dense codes
	// affordable to repair.
	LocalReconstruction SchemeKind = "lrc"
)

// Limits on schemes. They bound the width of a placement (every member is a
// drive in a different failure domain) and keep codes within what the
// encoder supports.
const (
	// MaxReplicas is the most copies a replicated volume may have.
	MaxReplicas = 8
	// MaxShards is the most shards (data plus all parities) a coded volume
	// may have.
	MaxShards = 32
)

// Scheme is a volume's durability scheme.
type Scheme struct {
	// Kind selects replication, Reed-Solomon or LRC.
	Kind SchemeKind `json:"kind"`
	// Replicas is the number of copies of a replicated volume.
	Replicas int `json:"replicas,omitempty"`
	// Data is k, the number of data shards of a coded volume.
	Data int `json:"data,omitempty"`
	// Parity is m, the number of (global) parity shards of a coded volume.
	Parity int `json:"parity,omitempty"`
	// LocalGroups is l, the number of local groups of an LRC volume (each
	// with one local parity shard).
	LocalGroups int `json:"local_groups,omitempty"`
}

// Replication returns the scheme that keeps n copies.
func Replication(n int) Scheme { return Scheme{Kind: Replicated, Replicas: n} }

// RS returns Reed-Solomon with k data and m parity shards.
func RS(k, m int) Scheme { return Scheme{Kind: ReedSolomon, Data: k, Parity: m} }

// LRC returns a local reconstruction code with k data shards in l local
// groups and m global parities, written LRC(k,l,m).
func LRC(k, l, m int) Scheme {
	return Scheme{Kind: LocalReconstruction, Data: k, LocalGroups: l, Parity: m}
}

// Width is the number of members a placement for this scheme has: one drive
// per replica or per shard.
func (s Scheme) Width() int {
	switch s.Kind {
	case Replicated:
		return s.Replicas
	case ReedSolomon:
		return s.Data + s.Parity
	case LocalReconstruction:
		return s.Data + s.LocalGroups + s.Parity
	}
	return 0
}

// Coded reports whether the scheme is an erasure code (as opposed to
// replication).
func (s Scheme) Coded() bool { return s.Kind == ReedSolomon || s.Kind == LocalReconstruction }

// String renders the scheme the way operators write it: R3, RS(6,3),
// LRC(12,2,2). ParseScheme reads the same forms.
func (s Scheme) String() string {
	switch s.Kind {
	case Replicated:
		return fmt.Sprintf("R%d", s.Replicas)
	case ReedSolomon:
		return fmt.Sprintf("RS(%d,%d)", s.Data, s.Parity)
	case LocalReconstruction:
		return fmt.Sprintf("LRC(%d,%d,%d)", s.Data, s.LocalGroups, s.Parity)
	}
	return fmt.Sprintf("unknown scheme %q", string(s.Kind))
}

// ParseScheme parses "R3", "RS(6,3)" or "LRC(12,2,2)" and checks the result.
func ParseScheme(text string) (Scheme, error) {
	m := regexp.MustCompile(`^(?:R(\d+)|RS\((\d+),(\d+)\)|LRC\((\d+),(\d+),(\d+)\))$`).FindStringSubmatch(text)
	if m == nil {
		return Scheme{}, invalidf("scheme %q: write R<n>, RS(<k>,<m>) or LRC(<k>,<l>,<m>)", text)
	}
	n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
	var s Scheme
	switch {
	case m[1] != "":
		s = Replication(n(1))
	case m[2] != "":
		s = RS(n(2), n(3))
	default:
		s = LRC(n(4), n(5), n(6))
	}
	if err := s.check(); err != nil {
		return Scheme{}, err
	}
	return s, nil
}

// check reports why a scheme is unusable, or nil.
func (s Scheme) check() *Error {
	switch s.Kind {
	case Replicated:
		if s.Replicas < 1 || s.Replicas > MaxReplicas {
			return invalidf("scheme %v: replicas must be 1 to %d", s, MaxReplicas)
		}
		if s.Data != 0 || s.Parity != 0 || s.LocalGroups != 0 {
			return invalidf("scheme %v: a replicated scheme has no data, parity or local groups", s)
		}
	case ReedSolomon, LocalReconstruction:
		if s.Replicas != 0 {
			return invalidf("scheme %v: a coded scheme has no replicas", s)
		}
		if s.Data < 1 || s.Parity < 1 {
			return invalidf("scheme %v: need at least one data and one parity shard", s)
		}
		if s.Kind == ReedSolomon && s.LocalGroups != 0 {
			return invalidf("scheme %v: Reed-Solomon has no local groups (use LRC)", s)
		}
		if s.Kind == LocalReconstruction && (s.LocalGroups < 1 || s.Data%s.LocalGroups != 0) {
			return invalidf("scheme %v: the local groups must divide the data shards evenly", s)
		}
		if s.Width() > MaxShards {
			return invalidf("scheme %v: %d shards, the limit is %d", s, s.Width(), MaxShards)
		}
	default:
		return invalidf("scheme kind %q is unknown: use %q, %q or %q", string(s.Kind), Replicated, ReedSolomon, LocalReconstruction)
	}
	return nil
}
