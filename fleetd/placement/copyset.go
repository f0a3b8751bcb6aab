package placement

import (
	"cmp"
	"math"
	"slices"
)

// maxOpenGroups bounds the groups being filled at once while copysets are
// built. A drive that fits none of them (its domain is in all of them) is
// left out of that permutation; the other permutations cover it. The bound
// keeps building linear in the number of drives even when one domain holds
// most of them.
const maxOpenGroups = 64

// copysets holds the copysets of one (width, domain): the allowed drive
// combinations, each of width drives in width different failure domains,
// with what Place needs to find the best of them without looking at every
// one. Drives are indexes into Planner.drives; copysets are numbered in the
// order they were built.
type copysets struct {
	width int
	// members holds copyset c as members[c*width : (c+1)*width].
	members []int32
	// first and of list the copysets each drive is in: those of drive i
	// are of[first[i]:first[i+1]].
	first []int32
	of    []int32
	// tree is a max segment tree over the copysets' worst tiers (the tier
	// of the member with the least free space or most load): the leaf of
	// copyset c is tree[leaves+c], each inner node holds the larger of its
	// two children, so tree[1] is the best worst tier of any copyset.
	// Leaves past the last copyset hold noTier.
	leaves int
	tree   []int32
}

// noTier is below every tier a drive can have; it marks empty leaves.
const noTier = math.MinInt32

// treeTier is a drive tier as the segment tree stores it. The tiers of
// real drives lie within a few hundred of zero; the clamp only keeps
// absurd inputs (a LoadWeight in the millions) from wrapping around.
func treeTier(t int64) int32 {
	return int32(min(max(t, noTier+1), math.MaxInt32))
}

// count is the number of copysets.
func (x *copysets) count() int { return len(x.members) / max(x.width, 1) }

// set returns the members of copyset c. The slice belongs to x.
func (x *copysets) set(c int) []int32 { return x.members[c*x.width : (c+1)*x.width] }

// containing returns the copysets drive i is in. The slice belongs to x.
func (x *copysets) containing(i int) []int32 { return x.of[x.first[i]:x.first[i+1]] }

// buildCopysets builds the copysets for placements of width members in
// domain dom, over the drives that are in service, and indexes them by the
// drives' current tiers.
//
// It makes P = ceil(ScatterWidth / (width-1)) permutations of the drives and
// cuts each into consecutive groups of width drives in distinct domains;
// each group is a copyset, unless an earlier group holds the same drives. A
// drive is in about P copysets, so it shares copysets with about
// P·(width-1) = ScatterWidth peers. The permutations come from hashing each
// drive id with the seed and permutation number: deterministic, and without
// any random state.
func buildCopysets(drives []Drive, tiers []int64, width int, dom Domain, opts Options) *copysets {
	x := &copysets{width: width}
	var pool []int
	for i, d := range drives {
		if d.InService {
			pool = append(pool, i)
		}
	}
	if width >= 1 && len(pool) >= width {
		x.members = groupDrives(drives, pool, width, dom, opts)
	}
	x.indexDrives(len(drives))
	x.leaves = 1
	for x.leaves < x.count() {
		x.leaves *= 2
	}
	x.tree = make([]int32, 2*x.leaves)
	for c := range x.leaves {
		x.tree[x.leaves+c] = noTier
		if c < x.count() {
			x.tree[x.leaves+c] = x.worst(c, tiers)
		}
	}
	for n := x.leaves - 1; n >= 1; n-- {
		x.tree[n] = max(x.tree[2*n], x.tree[2*n+1])
	}
	return x
}

// ranked is a drive as groupDrives sorts it: what grouping needs of the
// drive travels with it through the sort, so that cutting a permutation
// into groups reads memory in order.
type ranked struct {
	key    uint64 // the drive's place in the permutation
	id     uint64 // hash of the drive's id
	drive  int32  // index in Planner.drives
	domain int32  // failure domain, numbered
}

// groupDrives cuts the permutations of pool into groups and returns the
// distinct groups, concatenated.
func groupDrives(drives []Drive, pool []int, width int, dom Domain, opts Options) []int32 {
	perms := 1
	if width > 1 {
		perms = (opts.ScatterWidth + width - 2) / (width - 1)
	}
	base := make([]ranked, len(pool))
	domainOf := map[string]int32{}
	for n, i := range pool {
		k := dom.key(drives[i])
		d, ok := domainOf[k]
		if !ok {
			d = int32(len(domainOf))
			domainOf[k] = d
		}
		base[n] = ranked{id: hashString(drives[i].ID), drive: int32(i), domain: d}
	}
	// seen maps a hash of each copyset's drives to the first copyset with
	// that hash, to drop a group that repeats an earlier one.
	seen := make(map[uint64]int32, len(pool)*perms/width)
	var out []int32
	order := make([]ranked, len(pool))
	var open [][]ranked
	for p := range perms {
		salt := hash2(opts.Seed, uint64(p))
		for n, r := range base {
			r.key = hash2(salt, r.id)
			order[n] = r
		}
		// Drives are sorted by id, so the drive index breaks ties as the
		// id would.
		slices.SortFunc(order, func(a, b ranked) int {
			if a.key != b.key {
				return cmp.Compare(a.key, b.key)
			}
			return cmp.Compare(a.drive, b.drive)
		})
		open = open[:0]
		for _, r := range order {
			g := slices.IndexFunc(open, func(c []ranked) bool {
				return !slices.ContainsFunc(c, func(o ranked) bool { return o.domain == r.domain })
			})
			switch {
			case g >= 0:
				open[g] = append(open[g], r)
			case len(open) < maxOpenGroups:
				open = append(open, append(make([]ranked, 0, width), r))
				g = len(open) - 1
			default:
				continue
			}
			if len(open[g]) < width {
				continue
			}
			cs := open[g]
			open = slices.Delete(open, g, g+1)
			var sum, xor uint64
			for _, o := range cs {
				h := mix64(o.id)
				sum += h
				xor ^= h
			}
			h := hash2(sum, xor)
			prev, dup := seen[h]
			if dup && !sameSet(out[int(prev)*width:int(prev+1)*width], cs) {
				// Two sets with one hash: keep both.
				dup = false
			} else if !dup {
				seen[h] = int32(len(out) / width)
			}
			if !dup {
				for _, o := range cs {
					out = append(out, o.drive)
				}
			}
		}
	}
	return out
}

// sameSet reports whether copyset a holds the drives of group b.
func sameSet(a []int32, b []ranked) bool {
	if len(a) != len(b) {
		return false
	}
	for _, o := range b {
		if !slices.Contains(a, o.drive) {
			return false
		}
	}
	return true
}

// indexDrives fills first and of from members.
func (x *copysets) indexDrives(drives int) {
	x.first = make([]int32, drives+1)
	for _, i := range x.members {
		x.first[i+1]++
	}
	for i := range drives {
		x.first[i+1] += x.first[i]
	}
	x.of = make([]int32, len(x.members))
	next := slices.Clone(x.first[:drives])
	for c := range x.count() {
		for _, i := range x.set(c) {
			x.of[next[i]] = int32(c)
			next[i]++
		}
	}
}

// worst is the lowest tier among copyset c's members, given every drive's
// tier.
func (x *copysets) worst(c int, tiers []int64) int32 {
	lo := int64(math.MaxInt64)
	for _, i := range x.set(c) {
		lo = min(lo, tiers[i])
	}
	return treeTier(lo)
}

// retier updates the worst tier of every copyset drive i is in, after the
// drive's tier changed.
func (x *copysets) retier(i int, tiers []int64) {
	for _, c := range x.containing(i) {
		n := x.leaves + int(c)
		x.tree[n] = x.worst(int(c), tiers)
		// Climb while the maxima change.
		for n > 1 {
			n /= 2
			m := max(x.tree[2*n], x.tree[2*n+1])
			if x.tree[n] == m {
				break
			}
			x.tree[n] = m
		}
	}
}

// leaf is copyset c's worst tier as the tree holds it.
func (x *copysets) leaf(c int) int32 { return x.tree[x.leaves+c] }

// next returns the first copyset numbered from or more whose worst tier is
// at least t, or -1 if there is none.
func (x *copysets) next(from int, t int32) int {
	if from >= x.count() {
		return -1
	}
	n := x.leaves + from
	if x.tree[n] >= t {
		return from
	}
	// Climb until a right sibling holds a tier of t or more: the right
	// siblings met on the way up cover the copysets after from, in order.
	for {
		if n == 1 {
			return -1
		}
		if n%2 == 0 && x.tree[n+1] >= t {
			n++
			break
		}
		n /= 2
	}
	for n < x.leaves {
		n *= 2
		if x.tree[n] < t {
			n++
		}
	}
	return n - x.leaves
}

// below returns the best worst tier under t of any copyset, or noTier.
// It visits the tree only above the copysets whose tier is t or more, so
// it is quick while those are few.
func (x *copysets) below(t int32) int32 {
	best := int32(noTier)
	stack := []int{1}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch {
		case x.tree[n] < t:
			best = max(best, x.tree[n])
		case n < x.leaves:
			stack = append(stack, 2*n, 2*n+1)
		}
	}
	return best
}

// best returns the copyset with the best worst tier among those for which
// fits holds, or -1. Among copysets of that tier it takes the first at or
// after start, wrapping around: with start drawn from the decision's key,
// decisions spread over every equally good copyset.
func (x *copysets) best(start int, fits func(c int) bool) int {
	n := x.count()
	if n == 0 {
		return -1
	}
	start %= n
	// Every copyset of a tier above t has been tried and does not fit.
	for t := x.tree[1]; t != noTier; t = x.below(t) {
		for _, span := range [2][2]int{{start, n}, {0, start}} {
			for c := x.next(span[0], t); c >= 0 && c < span[1]; c = x.next(c+1, t) {
				if x.leaf(c) == t && fits(c) {
					return c
				}
			}
		}
	}
	return -1
}
