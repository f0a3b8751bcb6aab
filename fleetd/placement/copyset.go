package placement

import (
	"cmp"
	"slices"
	"strings"
)

// maxOpenGroups bounds the groups being filled at once while copysets are
// built. A drive that fits none of them (its domain is in all of them) is
// left out of that permutation; the other permutations cover it. The bound
// keeps building linear in the number of drives even when one domain holds
// most of them.
const maxOpenGroups = 64

// copyset is one allowed combination of drives: Width drives in Width
// different failure domains. Members are indexes into Planner.drives.
type copyset []int

// buildCopysets builds the copysets for placements of width members in
// domain dom, over the drives that are in service.
//
// It makes P = ceil(ScatterWidth / (width-1)) permutations of the drives and
// cuts each into consecutive groups of width drives in distinct domains;
// each group is a copyset. A drive is in about P copysets, so it shares
// copysets with about P·(width-1) = ScatterWidth peers. The permutations
// come from hashing each drive id with the seed and permutation number:
// deterministic, and without any random state.
func buildCopysets(drives []Drive, width int, dom Domain, opts Options) []copyset {
	var pool []int
	for i, d := range drives {
		if d.InService {
			pool = append(pool, i)
		}
	}
	if width < 1 || len(pool) < width {
		return nil
	}
	perms := 1
	if width > 1 {
		perms = (opts.ScatterWidth + width - 2) / (width - 1)
	}
	seen := map[string]bool{}
	var out []copyset
	order := make([]int, len(pool))
	keys := make([]uint64, len(drives))
	for p := range perms {
		for _, i := range pool {
			keys[i] = permKey(opts.Seed, uint64(p), drives[i].ID)
		}
		copy(order, pool)
		slices.SortFunc(order, func(a, b int) int {
			return cmp.Or(cmp.Compare(keys[a], keys[b]), cmp.Compare(drives[a].ID, drives[b].ID))
		})
		var open []copyset
		for _, i := range order {
			dk := dom.key(drives[i])
			g := slices.IndexFunc(open, func(c copyset) bool {
				return !slices.ContainsFunc(c, func(j int) bool { return dom.key(drives[j]) == dk })
			})
			switch {
			case g >= 0:
				open[g] = append(open[g], i)
			case len(open) < maxOpenGroups:
				open = append(open, copyset{i})
				g = len(open) - 1
			default:
				continue
			}
			if len(open[g]) < width {
				continue
			}
			cs := open[g]
			open = slices.Delete(open, g, g+1)
			if k := setKey(drives, cs); !seen[k] {
				seen[k] = true
				out = append(out, cs)
			}
		}
	}
	return out
}

// permKey places drive id in permutation p of the copysets for seed.
func permKey(seed, p uint64, id string) uint64 {
	return hash2(hash2(seed, p), hashString(id))
}

// setKey names a set of drives independently of member order.
func setKey(drives []Drive, cs copyset) string {
	ids := make([]string, len(cs))
	for i, j := range cs {
		ids[i] = drives[j].ID
	}
	slices.Sort(ids)
	return strings.Join(ids, "\x00")
}
