package erasure

import (
	"fmt"
	"regexp"
	"strconv"
)

// Kind is the family of a Scheme's code.
type Kind uint8

const (
	// ReedSolomon is RS(k,m): k data shards and m parity shards, any k of
	// which rebuild the rest. Repairing one shard reads k shards.
	ReedSolomon Kind = iota + 1
	// LocalReconstruction is LRC(k,l,m): k data shards in l local groups
	// with one XOR parity each, plus m global parities. Repairing one shard
	// of a group that lost nothing else reads only the group (k/l shards),
	// which is what makes a wide, dense code affordable to repair.
	LocalReconstruction
)

// MaxWidth is the most shards a scheme may have: GF(2^8) Reed-Solomon has
// 256 distinct evaluation points.
const MaxWidth = 256

// Scheme is an erasure code's shape. Its zero value is invalid; build one
// with RS, LRC or ParseScheme.
//
// Shards are numbered data 0..k-1, then (LRC only) local parities
// k..k+l-1, then global parities. Local group j is data shards
// [j·k/l, (j+1)·k/l) plus local parity k+j.
type Scheme struct {
	// Kind is ReedSolomon or LocalReconstruction.
	Kind Kind
	// Data is k, the number of data shards.
	Data int
	// LocalGroups is l, the number of local groups (LRC only; 0 for RS).
	LocalGroups int
	// Parity is m, the number of (global) parity shards.
	Parity int
}

// RS returns the Reed-Solomon scheme with k data and m parity shards.
func RS(k, m int) Scheme { return Scheme{Kind: ReedSolomon, Data: k, Parity: m} }

// LRC returns the local reconstruction code with k data shards in l local
// groups and m global parities.
func LRC(k, l, m int) Scheme {
	return Scheme{Kind: LocalReconstruction, Data: k, LocalGroups: l, Parity: m}
}

// DefaultScheme is what a sealed volume is encoded with unless the operator
// asks for the denser LRC(12,2,2): 1.5x the data, any 3 shards may be lost.
var DefaultScheme = RS(6, 3)

// Width is the number of shards: k+m for RS, k+l+m for LRC.
func (s Scheme) Width() int { return s.Data + s.LocalGroups + s.Parity }

// GroupSize is the number of data shards in one local group, k/l (LRC
// only; 0 for RS).
func (s Scheme) GroupSize() int {
	if s.LocalGroups == 0 {
		return 0
	}
	return s.Data / s.LocalGroups
}

// Group returns the local group shard i belongs to (a data shard or a local
// parity), or -1 for RS shards and global parities.
func (s Scheme) Group(i int) int {
	switch {
	case s.Kind != LocalReconstruction || i < 0:
		return -1
	case i < s.Data:
		return i / s.GroupSize()
	case i < s.Data+s.LocalGroups:
		return i - s.Data
	}
	return -1
}

// GroupMembers returns the shards of local group g: its data shards, then
// its local parity. Any one of them is the XOR of the others.
func (s Scheme) GroupMembers(g int) []int {
	n := s.GroupSize()
	members := make([]int, 0, n+1)
	for i := g * n; i < (g+1)*n; i++ {
		members = append(members, i)
	}
	return append(members, s.Data+g)
}

// String writes the scheme the way operators do: "RS(6,3)", "LRC(12,2,2)".
// ParseScheme reads it back.
func (s Scheme) String() string {
	switch s.Kind {
	case ReedSolomon:
		return fmt.Sprintf("RS(%d,%d)", s.Data, s.Parity)
	case LocalReconstruction:
		return fmt.Sprintf("LRC(%d,%d,%d)", s.Data, s.LocalGroups, s.Parity)
	}
	return fmt.Sprintf("scheme of unknown kind %d", s.Kind)
}

var schemeSyntax = regexp.MustCompile(`^(?:RS\((\d{1,3}),(\d{1,3})\)|LRC\((\d{1,3}),(\d{1,3}),(\d{1,3})\))$`)

// ParseScheme reads "RS(k,m)" or "LRC(k,l,m)" and validates the result.
func ParseScheme(text string) (Scheme, error) {
	m := schemeSyntax.FindStringSubmatch(text)
	if m == nil {
		return Scheme{}, fmt.Errorf("erasure: scheme %q: write RS(<k>,<m>) or LRC(<k>,<l>,<m>)", text)
	}
	// At most three digits each (the regexp), so Atoi cannot fail.
	n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
	s := LRC(n(3), n(4), n(5))
	if m[1] != "" {
		s = RS(n(1), n(2))
	}
	if err := s.Validate(); err != nil {
		return Scheme{}, err
	}
	return s, nil
}

// Validate says what makes the scheme unusable, or returns nil.
func (s Scheme) Validate() error {
	switch s.Kind {
	case ReedSolomon:
		if s.LocalGroups != 0 {
			return fmt.Errorf("erasure: scheme %v has %d local groups: Reed-Solomon has none (use LRC)", s, s.LocalGroups)
		}
	case LocalReconstruction:
		if s.LocalGroups < 1 {
			return fmt.Errorf("erasure: scheme %v: an LRC needs at least one local group", s)
		}
	default:
		return fmt.Errorf("erasure: scheme kind %d is unknown: use ReedSolomon or LocalReconstruction", s.Kind)
	}
	if s.Data < 1 || s.Parity < 1 {
		return fmt.Errorf("erasure: scheme %v: needs at least one data and one parity shard", s)
	}
	if s.LocalGroups > 0 && s.Data%s.LocalGroups != 0 {
		return fmt.Errorf("erasure: scheme %v: %d local groups do not divide %d data shards evenly", s, s.LocalGroups, s.Data)
	}
	if s.Width() > MaxWidth {
		return fmt.Errorf("erasure: scheme %v has %d shards; the most is %d", s, s.Width(), MaxWidth)
	}
	return nil
}
