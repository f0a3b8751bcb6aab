package erasure

import (
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/klauspost/reedsolomon"
)

// A decodePlan says how to compute some missing shards from the shards
// present, for one loss pattern. It is worked out once from the generator
// rows and kept (see Codec.plan), because degraded reads of one volume meet
// the same pattern for every blob they read.
//
// Decoding an LRC goes in two steps. First, every local group missing
// exactly one member gets it back as the XOR of the others: cheap, and it
// reads only the group. Then, if anything is still missing, k independent
// shards are chosen from those present (data first, then global parities,
// then local parities) and every missing shard is computed from them in
// one pass. Solving over local and global parities together, rather than
// handing the data and global shards to RS(k,m) alone, is what lets an LRC
// survive three lost data shards of one group: RS(k,2) cannot, but the
// group's local parity supplies the third equation.
type decodePlan struct {
	xor []xorStep
	// in are the k shards the solve reads and out the shards it writes;
	// enc computes out from in (its parity matrix is the solved rows).
	in, out []int
	enc     reedsolomon.Encoder
}

// xorStep rebuilds shard out as the XOR of shards in: one lost member of a
// local group from the others.
type xorStep struct {
	out int
	in  []int
}

// errUnsolvable means the shards present do not determine the ones wanted;
// callers turn it into an error that says which.
var errUnsolvable = errors.New("erasure: the shards present do not determine the shards wanted")

// plan returns the cached plan that rebuilds, with the shards in lost
// missing, either every lost shard (target < 0) or just shard target.
func (c *Codec) plan(lost []int, target int) (*decodePlan, error) {
	w := c.scheme.Width()
	key := make([]byte, (w+7)/8, (w+7)/8+2)
	for _, i := range lost {
		key[i/8] |= 1 << (i % 8)
	}
	key = binary.LittleEndian.AppendUint16(key, uint16(target+1))
	c.mu.Lock()
	p, ok := c.plans[string(key)]
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	p, inv, err := c.solve(lost, target)
	if err != nil {
		return nil, err
	}
	if len(p.out) > 0 {
		rows := make([][]byte, len(p.out))
		for i, o := range p.out {
			rows[i] = rowOver(c.gen[o], inv)
		}
		p.enc, err = reedsolomon.New(len(p.in), len(p.out), reedsolomon.WithCustomMatrix(rows))
		if err != nil {
			return nil, fmt.Errorf("erasure: %v: decoder: %w", c.scheme, err)
		}
	}
	c.mu.Lock()
	if len(c.plans) < maxCachedPlans {
		c.plans[string(key)] = p
	}
	c.mu.Unlock()
	return p, nil
}

// solve works out a plan without its encoder: which XOR steps, which
// shards to read and which to compute, and inv, the data shards as
// combinations of the shards read. It returns errUnsolvable when the
// shards not in lost do not determine the shards wanted.
func (c *Codec) solve(lost []int, target int) (p *decodePlan, inv [][]byte, err error) {
	s := c.scheme
	w := s.Width()
	avail := make([]bool, w)
	for i := range avail {
		avail[i] = true
	}
	for _, i := range lost {
		avail[i] = false
	}
	if target >= 0 {
		avail[target] = false
	}
	p = &decodePlan{}
	for g := range s.LocalGroups {
		members := s.GroupMembers(g)
		missing := -1
		for _, i := range members {
			if !avail[i] {
				if missing >= 0 {
					missing = -2 // two or more: the group alone cannot help
					break
				}
				missing = i
			}
		}
		if missing < 0 || target >= 0 && missing != target {
			continue
		}
		step := xorStep{out: missing}
		for _, i := range members {
			if i != missing {
				step.in = append(step.in, i)
			}
		}
		p.xor = append(p.xor, step)
		avail[missing] = true
	}
	wanted := lost
	if target >= 0 {
		wanted = []int{target}
	}
	for _, i := range wanted {
		if !avail[i] {
			p.out = append(p.out, i)
		}
	}
	if len(p.out) == 0 {
		return p, nil, nil
	}
	var rows [][]byte
	var from []int
	for _, i := range c.readOrder() {
		if avail[i] {
			rows = append(rows, c.gen[i])
			from = append(from, i)
		}
	}
	picked, inv, ok := gfSolve(rows, s.Data)
	if !ok {
		return nil, nil, errUnsolvable
	}
	for _, r := range picked {
		p.in = append(p.in, from[r])
	}
	return p, inv, nil
}

// readOrder lists the shards in the order the decoder would rather read
// them: data shards (each is one unknown outright, and reading them is what
// a healthy read does anyway), then global parities, then local parities
// (a local parity adds an equation only for its own group).
func (c *Codec) readOrder() []int {
	s := c.scheme
	order := make([]int, 0, s.Width())
	for i := range s.Data {
		order = append(order, i)
	}
	for i := s.Data + s.LocalGroups; i < s.Width(); i++ {
		order = append(order, i)
	}
	for i := s.Data; i < s.Data+s.LocalGroups; i++ {
		order = append(order, i)
	}
	return order
}

// rowOver turns gen, a shard as a combination of the data shards, into the
// same shard as a combination of the shards a plan reads: data = inv·in,
// so shard = gen·data = (gen·inv)·in.
func rowOver(gen []byte, inv [][]byte) []byte {
	row := make([]byte, len(inv))
	for i, g := range gen {
		if g == 0 {
			continue
		}
		for j, v := range inv[i] {
			row[j] ^= gfMul(g, v)
		}
	}
	return row
}

// run carries the plan out on shards of size bytes, filling the shards it
// computes (reusing their capacity when it can).
func (p *decodePlan) run(shards [][]byte, size int) error {
	for _, st := range p.xor {
		out := grow(shards[st.out], size)
		copy(out, shards[st.in[0]])
		for _, i := range st.in[1:] {
			subtle.XORBytes(out, out, shards[i])
		}
		shards[st.out] = out
	}
	if len(p.out) == 0 {
		return nil
	}
	work := make([][]byte, 0, len(p.in)+len(p.out))
	for _, i := range p.in {
		work = append(work, shards[i])
	}
	for _, o := range p.out {
		shards[o] = grow(shards[o], size)
		work = append(work, shards[o])
	}
	return p.enc.Encode(work)
}
