package erasure

import (
	"errors"
	"fmt"
	"sync"

	"github.com/klauspost/reedsolomon"
)

// Codec encodes and decodes the shards of one Scheme. It is safe for
// concurrent use; build one per scheme and keep it.
//
// RS(k,m) is reedsolomon's RS(k,m) with its default (Vandermonde-derived)
// matrix. LRC(k,l,m) is reedsolomon's RS(k,m) with a Cauchy matrix for the
// global parities plus one XOR parity per local group. The Cauchy matrix is
// chosen over the default because the decoder below combines local and
// global parities when a group loses more than one shard, and only then
// does the choice of coefficients matter: with the default matrix two
// 3-loss patterns of LRC(12,2,2) ({6,9,11} and {7,8,10}: three data shards
// of group 1) are singular; with Cauchy none are (the tests check all 560).
// A decoder that only peeled local groups and gave the rest to RS(k,m)
// would lose 100 of them, whatever the matrix (see decodePlan).
type Codec struct {
	scheme Scheme
	// enc computes every parity shard from the data shards in one pass;
	// for an LRC its matrix is the local rows (ones over the group) and
	// then the global rows.
	enc reedsolomon.Encoder
	// gen[i] is shard i as a combination of the k data shards: the unit
	// vector for a data shard, the encoding matrix row for a parity. The
	// decoder works out everything from these rows.
	gen [][]byte
	// tolerance is how many lost shards, in any pattern, the code survives.
	tolerance int

	mu    sync.Mutex
	plans map[string]*decodePlan // by loss pattern and target; see plan
}

// maxCachedPlans bounds the decode plans a Codec keeps. A volume's repair
// and its degraded reads meet the same few loss patterns over and over;
// past this many the plans are rebuilt per call, which is slower, not wrong.
const maxCachedPlans = 4096

// NewCodec returns the codec for s.
func NewCodec(s Scheme) (*Codec, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	k, w := s.Data, s.Width()
	c := &Codec{scheme: s, gen: make([][]byte, w), plans: make(map[string]*decodePlan)}
	for i := range k {
		c.gen[i] = make([]byte, k)
		c.gen[i][i] = 1
	}
	var err error
	if s.Kind == ReedSolomon {
		c.enc, err = reedsolomon.New(k, s.Parity)
		if err != nil {
			return nil, fmt.Errorf("erasure: %v: %w", s, err)
		}
		copy(c.gen[k:], parityRows(c.enc, k, s.Parity))
		c.tolerance = s.Parity
		return c, nil
	}
	global, err := reedsolomon.New(k, s.Parity, reedsolomon.WithCauchyMatrix())
	if err != nil {
		return nil, fmt.Errorf("erasure: %v: %w", s, err)
	}
	for g := range s.LocalGroups {
		row := make([]byte, k)
		for _, i := range s.GroupMembers(g)[:s.GroupSize()] {
			row[i] = 1
		}
		c.gen[k+g] = row
	}
	copy(c.gen[k+s.LocalGroups:], parityRows(global, k, s.Parity))
	c.enc, err = reedsolomon.New(k, w-k, reedsolomon.WithCustomMatrix(c.gen[k:]))
	if err != nil {
		return nil, fmt.Errorf("erasure: %v: %w", s, err)
	}
	c.tolerance = lrcTolerance(c)
	return c, nil
}

// parityRows reads an encoder's parity matrix by encoding the identity:
// with data shard i all zero but byte i, parity byte i is that parity's
// coefficient for shard i. reedsolomon does not export its matrices, and
// this is sure to give the ones it actually uses.
func parityRows(enc reedsolomon.Encoder, k, m int) [][]byte {
	shards := make([][]byte, k+m)
	for i := range shards {
		shards[i] = make([]byte, k)
		if i < k {
			shards[i][i] = 1
		}
	}
	if err := enc.Encode(shards); err != nil {
		panic("erasure: encoding the identity: " + err.Error()) // shapes are ours
	}
	return shards[k:]
}

// lrcTolerance is m+1 when every pattern of m+1 losses decodes, else m
// (which an LRC always survives: its data and global shards alone are
// RS(k,m)). An LRC cannot promise more than m+1 in general (m+2 data
// shards of one group leave m+1 equations for m+2 unknowns), so the
// question is only whether the coefficients reach m+1. The patterns are
// counted, not sampled; for very wide codes where that would be slow the
// answer is the safe m. The result is kept per scheme.
func lrcTolerance(c *Codec) int {
	s := c.scheme
	if t, ok := tolerances.Load(s); ok {
		return t.(int)
	}
	t := s.Parity
	if binomial(s.Width(), s.Parity+1) <= maxToleranceChecks {
		t = s.Parity + 1
		forEachSubset(s.Width(), s.Parity+1, func(lost []int) bool {
			if _, _, err := c.solve(lost, -1); err != nil {
				t = s.Parity
				return false
			}
			return true
		})
	}
	tolerances.Store(s, t)
	return t
}

// maxToleranceChecks bounds the patterns lrcTolerance checks: LRC(12,2,2)
// has 560, LRC(24,4,3) 10626.
const maxToleranceChecks = 20000

var tolerances sync.Map // Scheme → int

// binomial is n choose r, saturating well above maxToleranceChecks.
func binomial(n, r int) int {
	b := 1
	for i := range r {
		b = b * (n - i) / (i + 1)
		if b > 1<<40 {
			return b
		}
	}
	return b
}

// forEachSubset calls f with every r-subset of [0,n) in lexicographic
// order, reusing one slice, until f returns false.
func forEachSubset(n, r int, f func([]int) bool) {
	set := make([]int, r)
	for i := range set {
		set[i] = i
	}
	for {
		if !f(set) {
			return
		}
		i := r - 1
		for i >= 0 && set[i] == n-r+i {
			i--
		}
		if i < 0 {
			return
		}
		set[i]++
		for j := i + 1; j < r; j++ {
			set[j] = set[j-1] + 1
		}
	}
}

// Scheme returns the scheme the codec was built for.
func (c *Codec) Scheme() Scheme { return c.scheme }

// Tolerance is how many lost shards the codec survives whatever shards they
// are: m for RS(k,m); m+1 for LRC(12,2,2) and any other LRC whose every
// (m+1)-loss pattern was found to decode.
func (c *Codec) Tolerance() int { return c.tolerance }

// Recoverable reports whether the shards not in lost determine every shard.
// It does no coding, so the repair loop can ask it cheaply, e.g. whether a
// stripe survives one more loss of any of its shards.
func (c *Codec) Recoverable(lost []int) bool {
	for _, i := range lost {
		if i < 0 || i >= c.scheme.Width() {
			return false
		}
	}
	_, _, err := c.solve(lost, -1)
	return err == nil
}

// Encode computes every parity shard from the data shards. shards holds
// Width() slices in shard order; the data shards must be non-empty and of
// one length. Each parity shard is either that length (and overwritten) or
// empty, in which case it is allocated, reusing its capacity if it has
// enough.
func (c *Codec) Encode(shards [][]byte) error {
	k, w := c.scheme.Data, c.scheme.Width()
	if len(shards) != w {
		return fmt.Errorf("erasure: %v encodes %d shards, not %d", c.scheme, w, len(shards))
	}
	size := len(shards[0])
	if size == 0 {
		return fmt.Errorf("erasure: %v: data shard 0 is empty", c.scheme)
	}
	for i, sh := range shards {
		switch {
		case len(sh) == size:
		case i >= k && len(sh) == 0:
			shards[i] = grow(sh, size)
		default:
			return fmt.Errorf("erasure: %v: shard %d holds %d bytes, shard 0 %d: all shards must be one length", c.scheme, i, len(sh), size)
		}
	}
	return c.enc.Encode(shards)
}

// Reconstruct fills every empty (nil or zero-length) shard from the others,
// or returns a *LossError when the shards present do not determine them.
// A lost shard's capacity is reused when it has enough. The shards present
// must be of one length.
//
// The shards may be any byte range [off, off+n) of the real shards, the same
// range of each: the code works byte position by byte position, so a
// degraded read rebuilds only the range it needs, from the same range of
// the other shards.
func (c *Codec) Reconstruct(shards [][]byte) error {
	size, lost, err := c.check(shards)
	if err != nil || len(lost) == 0 {
		return err
	}
	p, err := c.plan(lost, -1)
	if errors.Is(err, errUnsolvable) {
		return &LossError{Scheme: c.scheme, Lost: lost, Tolerance: c.tolerance}
	}
	if err != nil {
		return err
	}
	return p.run(shards, size)
}

// check validates a shard set for decoding and returns the shard length
// and which shards are missing.
func (c *Codec) check(shards [][]byte) (size int, lost []int, err error) {
	if len(shards) != c.scheme.Width() {
		return 0, nil, fmt.Errorf("erasure: %v decodes %d shards, not %d", c.scheme, c.scheme.Width(), len(shards))
	}
	first := -1
	for i, sh := range shards {
		switch {
		case len(sh) == 0:
			lost = append(lost, i)
		case first < 0:
			first, size = i, len(sh)
		case len(sh) != size:
			return 0, nil, fmt.Errorf("erasure: %v: shard %d holds %d bytes, shard %d %d: all shards given must be one length", c.scheme, i, len(sh), first, size)
		}
	}
	return size, lost, nil
}

// grow returns b resized to n bytes, in place when its capacity allows.
// The bytes are not cleared: every caller overwrites them.
func grow(b []byte, n int) []byte {
	if cap(b) >= n {
		return b[:n]
	}
	return make([]byte, n)
}
