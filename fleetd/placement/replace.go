package placement

import (
	"fmt"
	"maps"
	"slices"
)

// Replace chooses a drive to take over member lost of placement (a failed
// drive being repaired, a draining drive being moved away), keeping rule:
// the new drive is in service, has MemberBytes free, and is in a failure
// domain none of the surviving members is in. Surviving members that are
// not among the planner's drives constrain nothing.
//
// To keep the number of distinct drive combinations bounded, it prefers the
// survivors' copyset peers: drives that already share a copyset with as
// many of the survivors at once as possible. Among those it takes the one
// with the best free space and load, choosing between equally good ones by
// rule.Key (pass the volume id, so that the volumes of one failed drive are
// rebuilt onto many drives, not one). Only if no peer qualifies does it take
// the best qualifying drive anywhere.
func (p *Planner) Replace(placement []string, lost int, rule Rule) (string, error) {
	r, err := rule.normalize()
	if err != nil {
		return "", err
	}
	if lost < 0 || lost >= len(placement) {
		return "", fmt.Errorf("placement: member %d does not exist; the placement has %d members", lost, len(placement))
	}
	if len(placement) != r.Width {
		return "", fmt.Errorf("placement: the placement has %d members but the rule wants %d", len(placement), r.Width)
	}
	members := map[string]bool{}
	usedDomains := map[string]bool{}
	survivors := map[int]bool{}
	for n, id := range placement {
		members[id] = true
		if n == lost {
			continue
		}
		if i, ok := p.index[id]; ok {
			survivors[i] = true
			usedDomains[r.Domain.key(p.drives[i])] = true
		}
	}
	ok := func(i int) bool {
		d := p.drives[i]
		return !members[d.ID] && !usedDomains[r.Domain.key(d)] && d.fits(r)
	}

	// affinity[i] is the most survivors drive i shares one copyset with;
	// only the survivors' own copysets can give a drive any.
	x := p.copysetsFor(r)
	affinity := map[int]int{}
	for s := range survivors {
		for _, c := range x.containing(s) {
			cs := x.set(int(c))
			shared := 0
			for _, i := range cs {
				if survivors[int(i)] {
					shared++
				}
			}
			for _, i := range cs {
				if ok(int(i)) {
					affinity[int(i)] = max(affinity[int(i)], shared)
				}
			}
		}
	}
	// The order (affinity, then better) is total, so the pick does not
	// depend on the order drives are looked at in. A drive with no
	// affinity wins only if no peer qualifies: then every drive is looked at.
	pick := -1
	consider := func(i int) {
		switch {
		case pick < 0,
			affinity[i] > affinity[pick],
			affinity[i] == affinity[pick] && p.better(i, pick, r.Key):
			pick = i
		}
	}
	for i := range affinity {
		consider(i)
	}
	if pick < 0 {
		for i := range p.drives {
			if ok(i) {
				consider(i)
			}
		}
	}
	if pick < 0 {
		used := slices.Sorted(maps.Keys(usedDomains))
		return "", fmt.Errorf("placement: no in-service drive with %s free in a %s other than the survivors' (%v); add capacity in another %s",
			formatBytes(r.need()), r.Domain, used, r.Domain)
	}
	p.reserve([]int32{int32(pick)}, r)
	return p.drives[pick].ID, nil
}
