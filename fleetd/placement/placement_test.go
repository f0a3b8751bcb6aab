package placement

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

const (
	gib = uint64(1) << 30
	tib = uint64(1) << 40
)

// grid returns racks×hosts×drives identical empty in-service drives named
// r<i>, r<i>-h<j>, r<i>-h<j>-d<k>.
func grid(racks, hosts, drives int, capacity uint64) []Drive {
	var out []Drive
	for r := 1; r <= racks; r++ {
		for h := 1; h <= hosts; h++ {
			for d := 1; d <= drives; d++ {
				rack := fmt.Sprintf("r%d", r)
				host := fmt.Sprintf("%s-h%d", rack, h)
				out = append(out, Drive{
					ID: fmt.Sprintf("%s-d%d", host, d), Host: host, Rack: rack,
					InService: true, CapacityBytes: capacity, FreeBytes: capacity,
				})
			}
		}
	}
	return out
}

func newPlanner(t testing.TB, drives []Drive, opts Options) *Planner {
	t.Helper()
	p, err := New(drives, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPlaceRefusesWithWhatIsMissing(t *testing.T) {
	p := newPlanner(t, grid(3, 2, 2, tib), Options{})
	_, err := p.Place(Rule{Width: 9, MemberBytes: gib})
	want := "placement: need 9 racks with an in-service drive with 1.0 GiB free, have 3: r1, r2, r3"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("Place error %v, want it to start %q", err, want)
	}
	// The same fleet can hold RS(6,3) with hosts as the failure domain
	// only if it has 9 hosts; it has 6.
	_, err = p.Place(Rule{Width: 9, Domain: DomainHost, MemberBytes: gib})
	if err == nil || !strings.Contains(err.Error(), "need 9 hosts") || !strings.Contains(err.Error(), "have 6") {
		t.Fatalf("host-domain error %v", err)
	}
	// Per-drive domains fit 9 members on 12 drives.
	got, err := p.Place(Rule{Width: 9, Domain: DomainDrive, MemberBytes: gib})
	if err != nil || len(got) != 9 {
		t.Fatalf("drive-domain placement %v, %v", got, err)
	}
	// Space counts: no drive has 2 TiB free.
	_, err = p.Place(Rule{Width: 3, MemberBytes: 2 * tib})
	if err == nil || !strings.Contains(err.Error(), "2.0 TiB free, have 0") {
		t.Fatalf("over-size error %v", err)
	}
	if _, err := p.Place(Rule{Width: 0}); err == nil {
		t.Fatalf("width 0 accepted")
	}
	if _, err := p.Place(Rule{Width: 3, Domain: "row"}); err == nil || !strings.Contains(err.Error(), `"row" is unknown`) {
		t.Fatalf("unknown domain: %v", err)
	}
}

func TestPlaceSkipsDrivesOutOfService(t *testing.T) {
	drives := grid(4, 1, 1, tib)
	drives[0].InService = false // r1's only drive
	p := newPlanner(t, drives, Options{})
	for range 20 {
		got, err := p.Place(Rule{Width: 3, MemberBytes: gib})
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(got, drives[0].ID) {
			t.Fatalf("placed on %s, which is out of service", drives[0].ID)
		}
	}
	if _, err := p.Place(Rule{Width: 4, MemberBytes: gib}); err == nil || !strings.Contains(err.Error(), "have 3: r2, r3, r4") {
		t.Fatalf("4-wide placement with 3 usable racks: %v", err)
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	if _, err := New([]Drive{{ID: "a"}, {ID: "a"}}, Options{}); err == nil {
		t.Fatalf("duplicate drive accepted")
	}
	if _, err := New([]Drive{{ID: ""}}, Options{}); err == nil {
		t.Fatalf("drive without id accepted")
	}
}

// TestPlacementsSpreadAndStayBounded places many volumes on a healthy,
// uniform fleet and checks the copyset promises: every placement is one of
// a bounded set of combinations, every drive gets about its share, and each
// drive shares volumes with many peers but not with everyone.
func TestPlacementsSpreadAndStayBounded(t *testing.T) {
	drives := grid(12, 2, 4, tib) // 96 drives
	opts := Options{ScatterWidth: 12}
	p := newPlanner(t, drives, opts)
	copysets := p.Copysets(3, DomainRack)
	allowed := map[string]bool{}
	for _, cs := range copysets {
		allowed[sortedKey(cs)] = true
	}
	// P = 12/2 = 6 permutations of 96 drives in groups of 3: at most 192.
	if len(copysets) == 0 || len(copysets) > 6*96/3 {
		t.Fatalf("%d copysets, want 1..192", len(copysets))
	}

	const volumes = 3000
	perDrive := map[string]int{}
	peers := map[string]map[string]bool{}
	distinct := map[string]bool{}
	for v := range volumes {
		got, err := p.Place(Rule{Width: 3, MemberBytes: gib, Key: uint64(v)})
		if err != nil {
			t.Fatal(err)
		}
		k := sortedKey(got)
		if !allowed[k] {
			t.Fatalf("placement %v is not a copyset", got)
		}
		distinct[k] = true
		for _, a := range got {
			perDrive[a]++
			if peers[a] == nil {
				peers[a] = map[string]bool{}
			}
			for _, b := range got {
				if a != b {
					peers[a][b] = true
				}
			}
		}
	}
	mean := float64(volumes*3) / float64(len(drives))
	for _, d := range drives {
		n := perDrive[d.ID]
		if float64(n) < 0.8*mean || float64(n) > 1.2*mean {
			t.Errorf("drive %s holds %d members, mean is %.0f", d.ID, n, mean)
		}
		if np := len(peers[d.ID]); np < 6 || np > 2*opts.ScatterWidth {
			t.Errorf("drive %s shares volumes with %d peers, want 6..%d", d.ID, np, 2*opts.ScatterWidth)
		}
	}
	t.Logf("%d volumes, %d distinct placements out of %d copysets", volumes, len(distinct), len(copysets))
}

func TestPlaceIsDeterministicAndOrderFree(t *testing.T) {
	drives := grid(6, 2, 3, tib)
	for i := range drives {
		drives[i].FreeBytes -= uint64(i%5) * 100 * gib
		drives[i].Load = float64(i%3) / 4
	}
	run := func(ds []Drive) []string {
		p := newPlanner(t, ds, Options{Seed: 42})
		var out []string
		for n := range 50 {
			got, err := p.Place(Rule{Width: 3, MemberBytes: gib, Key: uint64(n)})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, strings.Join(got, ","))
			r, err := p.Replace(got, n%3, Rule{Width: 3, MemberBytes: gib, Key: uint64(n)})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		return out
	}
	first := run(drives)
	reversed := slices.Clone(drives)
	slices.Reverse(reversed)
	if !slices.Equal(first, run(reversed)) {
		t.Fatalf("the same fleet in another order gave other decisions")
	}
	other := newPlanner(t, drives, Options{Seed: 43})
	if fmt.Sprint(newPlanner(t, drives, Options{Seed: 42}).Copysets(3, DomainRack)) == fmt.Sprint(other.Copysets(3, DomainRack)) {
		t.Fatalf("different seeds gave the same copysets")
	}
}

func TestReplacePrefersCopysetPeersAndSpreads(t *testing.T) {
	drives := grid(12, 2, 4, tib)
	p := newPlanner(t, drives, Options{ScatterWidth: 12})
	var vols [][]string
	for v := range 1500 {
		got, err := p.Place(Rule{Width: 3, MemberBytes: gib, Key: uint64(v)})
		if err != nil {
			t.Fatal(err)
		}
		vols = append(vols, got)
	}
	// Fail one drive and repair every volume it held, from a fresh view in
	// which it is out of service (as the leader would).
	failed := vols[0][0]
	view := make([]Drive, 0, len(drives))
	for _, d := range drives {
		cur, _ := p.Drive(d.ID)
		if d.ID == failed {
			cur.InService = false
		}
		view = append(view, cur)
	}
	rp := newPlanner(t, view, Options{ScatterWidth: 12})
	peerOf := map[string]map[string]bool{}
	for _, cs := range rp.Copysets(3, DomainRack) {
		for _, a := range cs {
			if peerOf[a] == nil {
				peerOf[a] = map[string]bool{}
			}
			for _, b := range cs {
				peerOf[a][b] = true
			}
		}
	}
	allowed := map[string]bool{}
	for _, cs := range rp.Copysets(3, DomainRack) {
		allowed[sortedKey(cs)] = true
	}
	targets := map[string]int{}
	repairs, stillCopyset := 0, 0
	for id, v := range vols {
		lost := slices.Index(v, failed)
		if lost < 0 {
			continue
		}
		got, err := rp.Replace(v, lost, Rule{Width: 3, MemberBytes: gib, Key: uint64(id)})
		if err != nil {
			t.Fatal(err)
		}
		targets[got]++
		peer := false
		for n, s := range v {
			if n != lost && peerOf[s][got] {
				peer = true
			}
			if n != lost && rackOf(s) == rackOf(got) {
				t.Fatalf("replacement %s shares rack with survivor %s", got, s)
			}
		}
		if !peer {
			t.Fatalf("replacement %s for %v is no copyset peer of any survivor", got, v)
		}
		repaired := slices.Clone(v)
		repaired[lost] = got
		if allowed[sortedKey(repaired)] {
			stillCopyset++
		}
		repairs++
	}
	if stillCopyset*10 < repairs*9 {
		t.Errorf("only %d of %d repaired placements are copysets", stillCopyset, repairs)
	}
	if len(targets) < 4 {
		t.Fatalf("repair writes went to only %d drives: %v", len(targets), targets)
	}
	t.Logf("repairing %s: %d volumes written to %d drives, %d repaired placements are copysets", failed, repairs, len(targets), stillCopyset)
}

func TestReplaceRefusesWhenNoDomainIsLeft(t *testing.T) {
	p := newPlanner(t, grid(3, 1, 2, tib), Options{})
	got, err := p.Place(Rule{Width: 3, MemberBytes: gib})
	if err != nil {
		t.Fatal(err)
	}
	// Every rack is used by a survivor or the lost member; the lost
	// member's rack is free again, so its sibling drive must be chosen.
	r, err := p.Replace(got, 1, Rule{Width: 3, MemberBytes: gib})
	if err != nil || rackOf(r) != rackOf(got[1]) || r == got[1] {
		t.Fatalf("Replace = %q, %v; want the other drive in %s", r, err, rackOf(got[1]))
	}
	// With only 2 racks no replacement keeps the rule.
	p2 := newPlanner(t, grid(2, 1, 2, tib), Options{})
	_, err = p2.Replace([]string{"r1-h1-d1", "r2-h1-d1"}, 0, Rule{Width: 2, MemberBytes: 3 * tib})
	if err == nil || !strings.Contains(err.Error(), "no in-service drive with 3.0 TiB free in a rack other than the survivors' ([r2])") {
		t.Fatalf("Replace error %v", err)
	}
	if _, err := p2.Replace([]string{"a", "b"}, 2, Rule{Width: 2}); err == nil {
		t.Fatalf("out-of-range member accepted")
	}
}

func rackOf(id string) string { return strings.SplitN(id, "-", 2)[0] }

func sortedKey(ids []string) string {
	s := slices.Clone(ids)
	slices.Sort(s)
	return strings.Join(s, ",")
}

// genFleet draws a fleet of up to 10 racks, 3 hosts per rack, 4 drives per
// host, with uneven free space, load and service.
func genFleet(t *rapid.T) []Drive {
	var out []Drive
	racks := rapid.IntRange(1, 10).Draw(t, "racks")
	for r := range racks {
		for h := range rapid.IntRange(1, 3).Draw(t, "hosts") {
			for d := range rapid.IntRange(1, 4).Draw(t, "drives") {
				capacity := rapid.SampledFrom([]uint64{4 * tib, 20 * tib, 10 * gib}).Draw(t, "capacity")
				out = append(out, Drive{
					ID:            fmt.Sprintf("r%d-h%d-d%d", r, h, d),
					Host:          fmt.Sprintf("r%d-h%d", r, h),
					Rack:          fmt.Sprintf("r%d", r),
					InService:     rapid.IntRange(0, 9).Draw(t, "in-service") < 8,
					CapacityBytes: capacity,
					FreeBytes:     rapid.Uint64Range(0, capacity).Draw(t, "free"),
					Load:          rapid.Float64Range(0, 1).Draw(t, "load"),
				})
			}
		}
	}
	return out
}

// TestPropertyPlacementKeepsTheRule checks, for arbitrary fleets and
// sequences of placements and replacements, that every decision keeps the
// rule (distinct domains, in service, room for the member), that a refusal
// happens only when the rule truly cannot be met, and that two planners
// given the same fleet (in any order) decide the same.
func TestPropertyPlacementKeepsTheRule(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		fleet := genFleet(t)
		opts := Options{ScatterWidth: rapid.IntRange(1, 40).Draw(t, "scatter"), Seed: rapid.Uint64().Draw(t, "seed")}
		p, err := New(fleet, opts)
		if err != nil {
			t.Fatal(err)
		}
		twin, err := New(rapid.Permutation(fleet).Draw(t, "shuffled"), opts)
		if err != nil {
			t.Fatal(err)
		}
		for range rapid.IntRange(1, 30).Draw(t, "decisions") {
			rule := Rule{
				Width:       rapid.IntRange(1, 9).Draw(t, "width"),
				Domain:      rapid.SampledFrom([]Domain{DomainRack, DomainHost, DomainDrive}).Draw(t, "domain"),
				MemberBytes: rapid.SampledFrom([]uint64{gib, 64 * gib, 2 * tib}).Draw(t, "need"),
				Key:         rapid.Uint64().Draw(t, "key"),
			}
			before := snapshot(p)
			got, err := p.Place(rule)
			twinGot, twinErr := twin.Place(rule)
			if !slices.Equal(got, twinGot) || (err == nil) != (twinErr == nil) {
				t.Fatalf("planners over the same fleet disagree: %v/%v vs %v/%v", got, err, twinGot, twinErr)
			}
			possible := domainsThatFit(before, rule) >= rule.Width
			if err != nil {
				if possible {
					t.Fatalf("refused %+v although %d domains fit: %v", rule, domainsThatFit(before, rule), err)
				}
				continue
			}
			if !possible {
				t.Fatalf("placed %v although the rule cannot be met", got)
			}
			checkMembers(t, before, got, rule)
			for _, id := range got {
				after, _ := p.Drive(id)
				if after.FreeBytes != before[id].FreeBytes-rule.MemberBytes {
					t.Fatalf("placing on %s did not reserve %d bytes", id, rule.MemberBytes)
				}
			}

			lost := rapid.IntRange(0, len(got)-1).Draw(t, "lost")
			before = snapshot(p)
			rep, err := p.Replace(got, lost, rule)
			twinRep, twinErr := twin.Replace(got, lost, rule)
			if rep != twinRep || (err == nil) != (twinErr == nil) {
				t.Fatalf("planners disagree on Replace: %q/%v vs %q/%v", rep, err, twinRep, twinErr)
			}
			survivors := slices.Delete(slices.Clone(got), lost, lost+1)
			if err != nil {
				if replaceable(before, got, survivors, rule) {
					t.Fatalf("Replace refused although a drive fits: %v", err)
				}
				continue
			}
			if slices.Contains(got, rep) {
				t.Fatalf("Replace chose %s, already a member of %v", rep, got)
			}
			checkMembers(t, before, append(survivors, rep), rule, rep)
		}
	})
}

func snapshot(p *Planner) map[string]Drive {
	out := map[string]Drive{}
	for _, d := range p.drives {
		out[d.ID] = d
	}
	return out
}

func domainsThatFit(drives map[string]Drive, r Rule) int {
	r, _ = r.normalize()
	doms := map[string]bool{}
	for _, d := range drives {
		if d.fits(r) {
			doms[r.Domain.key(d)] = true
		}
	}
	return len(doms)
}

func replaceable(drives map[string]Drive, members, survivors []string, r Rule) bool {
	r, _ = r.normalize()
	used := map[string]bool{}
	for _, s := range survivors {
		used[r.Domain.key(drives[s])] = true
	}
	for _, d := range slices.Sorted(maps.Keys(drives)) {
		dr := drives[d]
		if dr.fits(r) && !used[r.Domain.key(dr)] && !slices.Contains(members, d) {
			return true
		}
	}
	return false
}

// checkMembers fails unless members keep rule in the fleet as it was before
// the decision: the right number, distinct domains, and the new members (all
// of them unless fresh names some) in service with room for the member.
func checkMembers(t *rapid.T, before map[string]Drive, members []string, r Rule, fresh ...string) {
	r, _ = r.normalize()
	if len(members) != r.Width {
		t.Fatalf("%d members, want %d", len(members), r.Width)
	}
	doms := map[string]string{}
	for _, id := range members {
		d, ok := before[id]
		if !ok {
			t.Fatalf("member %s is not a drive of the fleet", id)
		}
		if (len(fresh) == 0 || slices.Contains(fresh, id)) && !d.fits(r) {
			t.Fatalf("member %s is out of service or has %d bytes free, needs %d", id, d.FreeBytes, r.MemberBytes)
		}
		k := r.Domain.key(d)
		if other, ok := doms[k]; ok {
			t.Fatalf("members %s and %s share %s %s", other, id, r.Domain, k)
		}
		doms[k] = id
	}
}
