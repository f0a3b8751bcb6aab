package placement

import (
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// TestPropertyPlaceTakesABestCopyset checks Place's search against a look
// at every copyset: whenever some copyset has room on every member, Place
// returns one whose worst member's tier is the best any such copyset has;
// and after every decision the planner's tiers and its copyset trees agree
// with the drives' free space.
func TestPropertyPlaceTakesABestCopyset(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		fleet := genFleet(t)
		p, err := New(fleet, Options{ScatterWidth: rapid.IntRange(1, 40).Draw(t, "scatter"), Seed: rapid.Uint64().Draw(t, "seed")})
		if err != nil {
			t.Fatal(err)
		}
		for range rapid.IntRange(1, 40).Draw(t, "decisions") {
			rule := Rule{
				Width:       rapid.IntRange(1, 5).Draw(t, "width"),
				Domain:      rapid.SampledFrom([]Domain{DomainRack, DomainHost}).Draw(t, "domain"),
				MemberBytes: rapid.SampledFrom([]uint64{gib, 64 * gib, tib}).Draw(t, "need"),
				Key:         rapid.Uint64().Draw(t, "key"),
			}
			r, _ := rule.normalize()
			x := p.copysetsFor(r)
			bestTier, any := int64(0), false
			for c := range x.count() {
				if !p.fitsAll(x.set(c), r) {
					continue
				}
				lo := int64(x.worst(c, p.tiers))
				if !any || lo > bestTier {
					bestTier, any = lo, true
				}
			}
			got, err := p.Place(rule)
			if !any {
				continue // greedy or a refusal; TestPropertyPlacementKeepsTheRule covers those
			}
			if err != nil {
				t.Fatalf("refused although a copyset fits: %v", err)
			}
			c := slices.IndexFunc(p.Copysets(r.Width, r.Domain), func(cs []string) bool { return slices.Equal(cs, got) })
			if c < 0 {
				t.Fatalf("placed %v, which is no copyset, although a copyset fits", got)
			}
			var lo int64
			for n, id := range got {
				// The tier before this decision's reservation.
				d, _ := p.Drive(id)
				d.FreeBytes += r.MemberBytes
				if tr := d.tier(p.opts.LoadWeight); n == 0 || tr < lo {
					lo = tr
				}
			}
			if lo != bestTier {
				t.Fatalf("placed on a copyset of worst tier %d; the best that fits has %d", lo, bestTier)
			}
			checkTrees(t, p)
		}
	})
}

// checkTrees fails unless the planner's tiers match its drives and every
// copyset tree holds its copysets' worst tiers and the maxima above them.
func checkTrees(t *rapid.T, p *Planner) {
	for i, d := range p.drives {
		if p.tiers[i] != d.tier(p.opts.LoadWeight) {
			t.Fatalf("drive %s: tier %d recorded, %d now", d.ID, p.tiers[i], d.tier(p.opts.LoadWeight))
		}
	}
	for k, x := range p.copysets {
		for c := range x.leaves {
			want := int32(noTier)
			if c < x.count() {
				want = x.worst(c, p.tiers)
			}
			if x.leaf(c) != want {
				t.Fatalf("%v copyset %d: tree holds tier %d, its worst member has %d", k, c, x.leaf(c), want)
			}
		}
		for n := 1; n < x.leaves; n++ {
			if x.tree[n] != max(x.tree[2*n], x.tree[2*n+1]) {
				t.Fatalf("%v: tree node %d is not the larger of its children", k, n)
			}
		}
		for c := range x.count() {
			for _, i := range x.set(c) {
				if !slices.Contains(x.containing(int(i)), int32(c)) {
					t.Fatalf("%v: copyset %d is missing from the copysets of drive %d", k, c, i)
				}
			}
		}
	}
}

// TestCopysetTreeSearch checks next and below on a tree with known tiers.
func TestCopysetTreeSearch(t *testing.T) {
	tiers := []int64{5, 3, 9, 3, 7}
	x := &copysets{width: 1, members: []int32{0, 1, 2, 3, 4}}
	x.indexDrives(len(tiers))
	x.leaves = 8
	x.tree = make([]int32, 16)
	for c := range 8 {
		x.tree[8+c] = noTier
		if c < 5 {
			x.tree[8+c] = x.worst(c, tiers)
		}
	}
	for n := 7; n >= 1; n-- {
		x.tree[n] = max(x.tree[2*n], x.tree[2*n+1])
	}
	for _, tc := range []struct {
		from int
		t    int32
		want int
	}{{0, 9, 2}, {3, 9, -1}, {0, 4, 0}, {1, 4, 2}, {3, 4, 4}, {5, 1, -1}, {1, 3, 1}, {4, 8, -1}} {
		if got := x.next(tc.from, tc.t); got != tc.want {
			t.Errorf("next(%d, %d) = %d, want %d", tc.from, tc.t, got, tc.want)
		}
	}
	for _, tc := range []struct{ t, want int32 }{{9, 7}, {7, 5}, {5, 3}, {3, noTier}, {100, 9}} {
		if got := x.below(tc.t); got != tc.want {
			t.Errorf("below(%d) = %d, want %d", tc.t, got, tc.want)
		}
	}
	// best: the best tier first; among equals, the first from start on,
	// wrapping around; copysets that do not fit are passed over.
	if got := x.best(0, func(int) bool { return true }); got != 2 {
		t.Errorf("best = %d, want 2", got)
	}
	if got := x.best(0, func(c int) bool { return c != 2 }); got != 4 {
		t.Errorf("best without 2 = %d, want 4 (tier 7)", got)
	}
	if got := x.best(2, func(c int) bool { return c == 1 || c == 3 }); got != 3 {
		t.Errorf("best of the tier-3 copysets from 2 = %d, want 3", got)
	}
	if got := x.best(4, func(c int) bool { return c == 1 || c == 3 }); got != 1 {
		t.Errorf("best of the tier-3 copysets from 4 = %d, want 1 (wrapping)", got)
	}
	if got := x.best(0, func(int) bool { return false }); got != -1 {
		t.Errorf("best with nothing fitting = %d", got)
	}
}
