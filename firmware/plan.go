package firmware

import (
	"cmp"
	"fmt"
	"slices"
)

// Drive is what the planner needs to know of one drive.
type Drive struct {
	ID   string `json:"id"`
	Host string `json:"host"`
	Rack string `json:"rack"`
	// State is the drive's workflow state in the fleet (in_service,
	// draining, ...).
	State string `json:"state"`
	// Model and Firmware are as the drive's agent registered them.
	Model    string `json:"model"`
	Firmware string `json:"firmware"`
}

// Status is what the catalog says of one drive's firmware.
type Status string

// The statuses, worst first.
const (
	// StatusBad is a drive running a revision the catalog calls bad.
	StatusBad Status = "bad"
	// StatusOutdated is a drive running a revision other than the
	// target, not known to be bad.
	StatusOutdated Status = "outdated"
	// StatusUnknown is a drive whose model no manifest covers, or that
	// reports no revision.
	StatusUnknown Status = "unknown"
	// StatusCurrent is a drive running the target.
	StatusCurrent Status = "current"
)

// Assessment is one drive's firmware against the catalog.
type Assessment struct {
	Drive
	Status Status `json:"status"`
	// Target is the revision the catalog wants; empty when unknown.
	Target string `json:"target,omitempty"`
	// Reason says why a revision is bad, or why the status is unknown.
	Reason string `json:"reason,omitempty"`
}

// Assess compares each drive with the catalog. Retired drives are left
// out: they are no longer in the fleet.
func (c Catalog) Assess(drives []Drive) []Assessment {
	var out []Assessment
	for _, d := range drives {
		if d.State == "retired" {
			continue
		}
		a := Assessment{Drive: d}
		m, ok := c.Find(d.Model)
		switch {
		case !ok:
			a.Status, a.Reason = StatusUnknown, fmt.Sprintf("no manifest covers model %q", d.Model)
		case d.Firmware == "":
			a.Status, a.Target, a.Reason = StatusUnknown, m.Target, "the drive reports no firmware revision"
		case d.Firmware == m.Target:
			a.Status, a.Target = StatusCurrent, m.Target
		default:
			a.Status, a.Target = StatusOutdated, m.Target
			if why, bad := m.bad(d.Firmware); bad {
				a.Status, a.Reason = StatusBad, why
			}
		}
		out = append(out, a)
	}
	slices.SortStableFunc(out, worstFirst)
	return out
}

// worstFirst orders assessments worst status first, then by rack, host
// and drive.
func worstFirst(x, y Assessment) int {
	return cmp.Or(cmp.Compare(rank(x.Status), rank(y.Status)), cmp.Compare(x.Rack, y.Rack),
		cmp.Compare(x.Host, y.Host), cmp.Compare(x.ID, y.ID))
}

// rank orders statuses worst first.
func rank(s Status) int {
	return slices.Index([]Status{StatusBad, StatusOutdated, StatusUnknown, StatusCurrent}, s)
}

// Options shape a rollout.
type Options struct {
	// PerRack is the most drives of one rack out of service at once,
	// those already out (provisioning, draining, drained, failed, awaiting
	// replacement) counted; at least 1.
	PerRack int
	// Canary is how many drives the first wave holds, alone, so that a
	// bad image shows itself on them before it reaches more (0: no
	// canary wave).
	Canary int
}

// Wave is drives to update together: drain them, flash them, provision
// them back, and check their health before the next wave.
type Wave []Assessment

// Held is a rack whose drives to update cannot be put in any wave until
// drives already out of it come back.
type Held struct {
	Rack    string `json:"rack"`
	Out     int    `json:"out"`     // drives of the rack out of service now
	Waiting int    `json:"waiting"` // drives of the rack the rollout leaves for later
}

// outStates are the states of drives out of service, which count against
// a rack's PerRack: provisioning among them, where a flashed drive waits
// before it serves again.
var outStates = []string{"provisioning", "draining", "drained", "failed", "awaiting_replacement"}

// Plan puts the drives in service (or suspect) whose firmware is bad or
// outdated into waves, bad revisions first, taking at most PerRack drives
// of a rack out at once, counting the rack's drives already out. Racks
// with as many drives out as PerRack allows are returned as held, their
// drives in no wave. as is Assess's result.
func Plan(as []Assessment, opts Options) ([]Wave, []Held) {
	perRack := max(opts.PerRack, 1)
	out := map[string]int{}
	var todo []Assessment
	for _, a := range as {
		switch {
		case slices.Contains(outStates, a.State):
			out[a.Rack]++
		case (a.State == "in_service" || a.State == "suspect") && (a.Status == StatusBad || a.Status == StatusOutdated):
			todo = append(todo, a)
		}
	}
	slices.SortStableFunc(todo, worstFirst)
	room := map[string]int{}
	var held []Held
	heldAt := map[string]int{} // rack -> its index in held
	var ready []Assessment
	for _, a := range todo {
		if _, seen := room[a.Rack]; !seen {
			room[a.Rack] = perRack - out[a.Rack]
		}
		if room[a.Rack] > 0 {
			ready = append(ready, a)
			continue
		}
		i, ok := heldAt[a.Rack]
		if !ok {
			i = len(held)
			heldAt[a.Rack] = i
			held = append(held, Held{Rack: a.Rack, Out: out[a.Rack]})
		}
		held[i].Waiting++
	}
	var waves []Wave
	if opts.Canary > 0 && len(ready) > 0 {
		var canary Wave
		used := map[string]int{}
		var rest []Assessment
		for _, a := range ready {
			if len(canary) < opts.Canary && used[a.Rack] < room[a.Rack] {
				canary = append(canary, a)
				used[a.Rack]++
				continue
			}
			rest = append(rest, a)
		}
		waves, ready = append(waves, canary), rest
	}
	for len(ready) > 0 {
		var w Wave
		used := map[string]int{}
		var rest []Assessment
		for _, a := range ready {
			if used[a.Rack] < room[a.Rack] {
				w = append(w, a)
				used[a.Rack]++
				continue
			}
			rest = append(rest, a)
		}
		waves, ready = append(waves, w), rest
	}
	return waves, held
}
