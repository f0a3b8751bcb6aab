package placement

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Planner makes placement decisions over one view of the fleet. It is not
// safe for concurrent use; the leader makes decisions one at a time.
//
// Every decision reserves the member's bytes on the chosen drives in the
// Planner's own copy of the fleet, so a batch of decisions (placing fifty
// volumes, repairing every volume of a failed drive) spreads out instead of
// choosing the same emptiest drives fifty times. Build a new Planner when
// the fleet changes.
type Planner struct {
	opts   Options
	drives []Drive // ordered by ID
	index  map[string]int
	// tiers holds each drive's current tier (Drive.tier), kept in step
	// with the reservations.
	tiers []int64
	// copysets caches the copysets for each (width, domain), built on
	// first use.
	copysets map[copysetKey]*copysets
}

type copysetKey struct {
	width  int
	domain Domain
}

// New returns a Planner over drives. Drive ids must be unique and non-empty.
// The order of drives does not matter: the same set of drives gives the
// same decisions in any order.
func New(drives []Drive, opts Options) (*Planner, error) {
	p := &Planner{
		opts:     opts.withDefaults(),
		drives:   slices.Clone(drives),
		index:    make(map[string]int, len(drives)),
		copysets: map[copysetKey]*copysets{},
	}
	slices.SortFunc(p.drives, func(a, b Drive) int { return cmp.Compare(a.ID, b.ID) })
	for i, d := range p.drives {
		if d.ID == "" {
			return nil, fmt.Errorf("placement: a drive has no id")
		}
		if i > 0 && p.drives[i-1].ID == d.ID {
			return nil, fmt.Errorf("placement: drive %q is listed twice", d.ID)
		}
		p.index[d.ID] = i
	}
	p.tiers = make([]int64, len(p.drives))
	for i, d := range p.drives {
		p.tiers[i] = d.tier(p.opts.LoadWeight)
	}
	return p, nil
}

// Drive returns the planner's current view of a drive, including the bytes
// its decisions have reserved so far.
func (p *Planner) Drive(id string) (Drive, bool) {
	i, ok := p.index[id]
	if !ok {
		return Drive{}, false
	}
	return p.drives[i], true
}

// Copysets returns the drive combinations that placements of width members
// in domain dom are drawn from, each as a list of drive ids. It is there
// for operators and tests to inspect; Place and Replace use it internally.
func (p *Planner) Copysets(width int, dom Domain) [][]string {
	r, err := Rule{Width: width, Domain: dom}.normalize()
	if err != nil {
		return nil
	}
	x := p.copysetsFor(r)
	out := make([][]string, x.count())
	for c := range out {
		out[c] = p.ids(x.set(c))
	}
	return out
}

func (p *Planner) copysetsFor(r Rule) *copysets {
	k := copysetKey{r.Width, r.Domain}
	x, ok := p.copysets[k]
	if !ok {
		x = buildCopysets(p.drives, p.tiers, r.Width, r.Domain, p.opts)
		p.copysets[k] = x
	}
	return x
}

// Place chooses the drives for a new volume: Width drives in service, each
// with MemberBytes free, no two in the same failure domain. It prefers the
// copysets whose worst member (least free, most loaded) is best off, and
// picks among equally good ones by rule.Key; if no
// copyset has room on every member it falls back to the best drive of each
// of the best domains, so it refuses only when the rule truly cannot be
// met, and then says what is missing.
//
// Finding the copyset costs about log(copysets) per copyset of the best
// tier that lacks room, not a look at every copyset: the copysets are kept
// in a tree ordered by their worst members' tiers.
//
// The result lists drive ids; for a coded volume, shard i goes to the i-th.
func (p *Planner) Place(rule Rule) ([]string, error) {
	r, err := rule.normalize()
	if err != nil {
		return nil, err
	}
	x := p.copysetsFor(r)
	start := 0
	if n := x.count(); n > 0 {
		start = int(hash2(p.opts.Seed, r.Key) % uint64(n))
	}
	var chosen []int32
	if c := x.best(start, func(c int) bool { return p.fitsAll(x.set(c), r) }); c >= 0 {
		chosen = slices.Clone(x.set(c))
	} else if chosen, err = p.greedy(r, nil); err != nil {
		return nil, err
	}
	p.reserve(chosen, r)
	return p.ids(chosen), nil
}

// Domains counts the failure domains (of rule.Domain) with an in-service
// drive that can take a member under rule: how wide a placement the fleet
// could make now.
func (p *Planner) Domains(rule Rule) int { return Domains(p.drives, rule) }

// Domains counts the failure domains (of rule.Domain) among drives with
// an in-service drive that can take a member under rule; a rule of no
// bytes counts the domains with any drive in service.
func Domains(drives []Drive, rule Rule) int {
	r, err := rule.normalize()
	if err != nil {
		return 0
	}
	seen := map[string]bool{}
	for _, d := range drives {
		if d.fits(r) {
			seen[r.Domain.key(d)] = true
		}
	}
	return len(seen)
}

// fitsAll reports whether every drive of a copyset can take a member
// under rule r.
func (p *Planner) fitsAll(cs []int32, r Rule) bool {
	for _, i := range cs {
		if !p.drives[i].fits(r) {
			return false
		}
	}
	return true
}

// greedy picks the best fitting drive in each domain not in exclude, and
// returns the best r.Width of them, or an error naming what is missing.
func (p *Planner) greedy(r Rule, exclude map[string]bool) ([]int32, error) {
	bestIn := map[string]int{}
	for i, d := range p.drives {
		dk := r.Domain.key(d)
		if exclude[dk] || !d.fits(r) {
			continue
		}
		if j, ok := bestIn[dk]; !ok || p.better(i, j, r.Key) {
			bestIn[dk] = i
		}
	}
	if len(bestIn) < r.Width {
		return nil, p.shortage(r, bestIn)
	}
	picks := make([]int32, 0, len(bestIn))
	for _, i := range bestIn {
		picks = append(picks, int32(i))
	}
	slices.SortFunc(picks, func(a, b int32) int {
		if p.better(int(a), int(b), r.Key) {
			return -1
		}
		if p.better(int(b), int(a), r.Key) {
			return 1
		}
		return 0
	})
	return picks[:r.Width], nil
}

// better reports whether drive a ranks above drive b for a decision with
// the given key: higher tier first, then a hash of the key and the drive id,
// so that equally good drives take turns across decisions and ties never
// depend on map or input order.
func (p *Planner) better(a, b int, key uint64) bool {
	ta, tb := p.tiers[a], p.tiers[b]
	if ta != tb {
		return ta > tb
	}
	salt := hash2(p.opts.Seed, key)
	ha, hb := hash2(salt, hashString(p.drives[a].ID)), hash2(salt, hashString(p.drives[b].ID))
	if ha != hb {
		return ha > hb
	}
	return p.drives[a].ID < p.drives[b].ID
}

// shortage explains a placement that cannot be made, e.g.
// "placement: need 9 racks with an in-service drive with 1.0 GiB free, have 3: r1, r2, r3".
// The hint says whether the fleet is too small for the rule or full.
func (p *Planner) shortage(r Rule, have map[string]int) error {
	names := make([]string, 0, len(have))
	for dk := range have {
		names = append(names, dk)
	}
	slices.Sort(names)
	list := ""
	if len(names) > 0 {
		const show = 12
		list = ": " + strings.Join(names[:min(len(names), show)], ", ")
		if len(names) > show {
			list += fmt.Sprintf(" and %d more", len(names)-show)
		}
	}
	var hint string
	switch {
	case Domains(p.drives, Rule{Width: r.Width, Domain: r.Domain}) >= r.Width:
		hint = "the fleet is full: add drives, or delete blobs (their space comes back once their volumes are encoded or compacted)"
	case r.Domain == DomainRack:
		hint = "add in-service drives in more racks, or use failure domain \"host\" on a fleet this small"
	case r.Domain == DomainHost:
		hint = "add in-service drives on more hosts, or use failure domain \"drive\" on a fleet this small"
	default:
		hint = "add in-service drives"
	}
	free := formatBytes(r.need()) + " free"
	if r.KeepFree > 0 {
		free = fmt.Sprintf("%s (%s for the member and %s kept free)", free, formatBytes(r.MemberBytes), formatBytes(r.KeepFree))
	}
	if r.Domain == DomainDrive {
		return fmt.Errorf("placement: need %d in-service drives with %s, have %d%s; %s", r.Width, free, len(names), list, hint)
	}
	return fmt.Errorf("placement: need %d %ss with an in-service drive with %s, have %d%s; %s", r.Width, r.Domain, free, len(names), list, hint)
}

// reserve takes a member under rule r from each chosen drive in the
// planner's view, and re-ranks the copysets of a drive whose tier that
// changes.
func (p *Planner) reserve(chosen []int32, r Rule) {
	for _, i := range chosen {
		d := &p.drives[i]
		d.take(r)
		t := d.tier(p.opts.LoadWeight)
		if t == p.tiers[i] {
			continue
		}
		p.tiers[i] = t
		for _, x := range p.copysets {
			x.retier(int(i), p.tiers)
		}
	}
}

func (p *Planner) ids(members []int32) []string {
	out := make([]string, len(members))
	for n, i := range members {
		out[n] = p.drives[i].ID
	}
	return out
}

// formatBytes renders a size the way an operator reads it: 1.0 GiB.
func formatBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
