package erasure

import (
	"errors"
	"fmt"
	"slices"
)

// RepairPlan returns the shards to read, ascending, to rebuild shard target
// when the shards in lost are gone (target counts as lost whether or not it
// is listed).
//
// For an LRC whose target is a data shard or local parity, and whose local
// group has lost nothing else, that is the rest of the group: k/l reads (6
// for LRC(12,2,2)), half of what RS(6,3) needs for a code twice as wide.
// Otherwise it is k shards that together determine the data, data shards
// first, then global parities, then local parities: a data shard read for
// a repair is also what a healthy read of the volume would read, and
// global parities carry more equations than local ones. The error is a
// *LossError when the shards left cannot rebuild target.
func (c *Codec) RepairPlan(lost []int, target int) (read []int, err error) {
	s := c.scheme
	w := s.Width()
	if target < 0 || target >= w {
		return nil, fmt.Errorf("erasure: %v: shard %d does not exist (shards are 0 to %d)", s, target, w-1)
	}
	gone := make([]bool, w)
	gone[target] = true
	for _, i := range lost {
		if i < 0 || i >= w {
			return nil, fmt.Errorf("erasure: %v: lost shard %d does not exist (shards are 0 to %d)", s, i, w-1)
		}
		gone[i] = true
	}
	var all []int
	for i, g := range gone {
		if g {
			all = append(all, i)
		}
	}
	p, _, err := c.solve(all, target)
	if err != nil {
		return nil, &LossError{Scheme: s, Lost: all, Tolerance: c.tolerance}
	}
	if len(p.xor) > 0 {
		read = p.xor[0].in
	} else {
		read = p.in
	}
	read = slices.Clone(read)
	slices.Sort(read)
	return read, nil
}

// Rebuild computes shard target from the shards given, which are the ones
// RepairPlan named (any others are read too if present, but need not be);
// every other shard is nil or empty. shards[target] is overwritten, its
// capacity reused when it has enough. Like Reconstruct it works on any byte
// range of the shards, the same range of each.
//
// For an LRC local repair this is the XOR of the group's other members.
func (c *Codec) Rebuild(shards [][]byte, target int) error {
	s := c.scheme
	if target < 0 || target >= s.Width() {
		return fmt.Errorf("erasure: %v: shard %d does not exist (shards are 0 to %d)", s, target, s.Width()-1)
	}
	if len(shards) == s.Width() {
		shards[target] = shards[target][:0]
	}
	size, lost, err := c.check(shards)
	if err != nil {
		return err
	}
	if size == 0 {
		return fmt.Errorf("erasure: %v: no shards given to rebuild shard %d from", s, target)
	}
	p, err := c.plan(lost, target)
	if errors.Is(err, errUnsolvable) {
		var given []int
		for i, sh := range shards {
			if len(sh) > 0 {
				given = append(given, i)
			}
		}
		return fmt.Errorf("%w: %v cannot rebuild shard %d from shards %v: ask RepairPlan which to read",
			ErrUnrecoverable, s, target, given)
	}
	if err != nil {
		return err
	}
	return p.run(shards, size)
}
