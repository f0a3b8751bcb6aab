package volume

import (
	"cmp"
	"context"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/shingle-storage/shingle/fleetd/state"
)

// Draining moves every member off a drive that still works: one the
// predictor flagged, one due for a firmware update, one an operator wants
// out of its slot. An operator (or a policy) moves the drive to draining;
// it takes no new member from then on. The leader seals the open volumes
// it holds, then moves the members of sealed and coded volumes to other
// drives with the repair machinery, and once no placement names the drive
// it marks the drive drained: it can be pulled with no loss of
// redundancy.
//
// A member is moved as a lost one is rebuilt, from its peers and not from
// the draining drive: a drive suspected of failing should not carry the
// move, and the move then works even if the drive dies half-way. It costs
// what a repair costs (a coded shard is rebuilt from k others), where a
// copy from the drive itself would read one member; that is left for a
// drive that reads well, when it matters. Until a member's move commits,
// the old one still serves reads and counts for the volume's margin, so a
// drain never lowers redundancy, and moves queue behind the repairs of
// volumes that lost members.
//
// The leader drains a drive of its own accord when its agent reports it
// failing, up to Options.DrainFailing drives at once. An operator who
// wants a failing drive kept serving moves it to suspect: the leader
// drains only drives in service.

// drainingMembers returns the positions of loc whose drives are draining.
func drainingMembers(loc Location) []int {
	var out []int
	for _, h := range loc.Holders {
		if h.DriveState == state.DriveDraining {
			out = append(out, h.Index)
		}
	}
	return out
}

// findDrains lists, as drain tasks, the sealed and coded volumes with
// members on draining drives, volume by volume in id order. A volume with
// another member lost, or on an unreachable host, is left to repair
// first: moving a member reads its peers. The draining members' own
// reachability does not matter, since they are not read.
func (m *Manager) findDrains() []Task {
	var tasks []Task
	m.fleet.Read(func(st *state.State) {
		if !anyDraining(st) {
			return
		}
		for _, v := range st.Volumes() {
			if v.State == state.VolumeOpen {
				continue // sealed first (sealStale), then moved
			}
			loc := Locate(st, v, m.fleet.Host)
			moving := drainingMembers(loc)
			if len(moving) == 0 {
				continue
			}
			held := false
			for i := range m.lostMembers(loc, true) {
				held = held || !slices.Contains(moving, i)
			}
			if held {
				continue
			}
			t := Task{Volume: v.ID, Scheme: v.Scheme, Margin: tolerance(v.Scheme), Drain: true, Lost: moving}
			for _, i := range moving {
				t.LostDrives = append(t.LostDrives, loc.Holders[i].Drive)
			}
			t.Reason = "drive " + strings.Join(t.LostDrives, ", ") + " is draining"
			tasks = append(tasks, t)
		}
	})
	return tasks
}

// anyDraining reports whether some drive of st is draining.
func anyDraining(st *state.State) bool {
	for _, d := range st.Drives() {
		if d.State == state.DriveDraining {
			return true
		}
	}
	return false
}

// finishDrains marks drained the draining drives no placement names any
// more, keeping why they were drained in the reason.
func (m *Manager) finishDrains(ctx context.Context) {
	var done []string
	why := map[string]string{}
	m.fleet.Read(func(st *state.State) {
		if !anyDraining(st) {
			return
		}
		placed := map[string]bool{}
		for _, v := range st.Volumes() {
			for _, d := range v.Placement {
				placed[d] = true
			}
		}
		for _, d := range st.Drives() {
			if d.State == state.DriveDraining && !placed[d.ID] {
				done = append(done, d.ID)
				why[d.ID] = d.Reason
			}
		}
	})
	sort.Strings(done)
	for _, id := range done {
		reason := "drain finished: no volume has a member on it; it can be pulled"
		if why[id] != "" {
			reason += " (drained because: " + why[id] + ")"
		}
		_, err := m.fleet.Propose(ctx, &state.SetDriveState{ID: id, State: state.DriveDrained, Reason: truncate(reason, state.MaxTextLen)})
		if err != nil {
			// Refused if a volume was placed on it meanwhile (it cannot
			// be: it takes no new member) or if an operator moved it
			// elsewhere; either way the next turn looks again.
			m.log.Warn("could not mark a drained drive drained", "drive", id, "err", err)
			continue
		}
		m.log.Info("drive drained", "drive", id)
	}
}

// drainFailingDrives moves to draining the drives in service whose agents
// report them failing, while fewer than DrainFailing drives are draining
// or drained: a drained drive counts until an operator moves it on
// (awaiting replacement, retired, or provisioned again), so that drains
// the leader starts on its own stop at DrainFailing drives until someone
// looks. The drive's reason names the agent's verdict and its worst
// finding.
func (m *Manager) drainFailingDrives(ctx context.Context) {
	if m.opts.DrainFailing < 0 {
		return
	}
	var failing []string
	draining := 0
	m.fleet.Read(func(st *state.State) {
		for _, d := range st.Drives() {
			switch d.State {
			case state.DriveDraining, state.DriveDrained:
				draining++
			case state.DriveInService:
				if v, ok := m.fleet.Drive(d.ID); ok && v.Health == HealthFailing {
					failing = append(failing, d.ID)
				}
			}
		}
	})
	var waiting []string
	for i, id := range failing {
		if draining >= m.opts.DrainFailing {
			waiting = failing[i:]
			break
		}
		v, _ := m.fleet.Drive(id)
		why := "agent reports it failing"
		if len(v.HealthReasons) > 0 {
			why += ": " + v.HealthReasons[0]
		}
		if _, err := m.fleet.Propose(ctx, &state.SetDriveState{ID: id, State: state.DriveDraining, Reason: truncate(why, state.MaxTextLen)}); err != nil {
			m.log.Warn("could not start draining a failing drive", "drive", id, "err", err)
			continue
		}
		draining++
		m.log.Warn("drive failing; draining it", "drive", id, "why", why)
	}
	// Said once for each change in the drives kept waiting, not at every
	// turn of the loop.
	m.mu.Lock()
	changed := !slices.Equal(waiting, m.drainWaiting)
	m.drainWaiting = waiting
	m.mu.Unlock()
	if changed && len(waiting) > 0 {
		m.log.Warn("drives reported failing are not drained: as many drives as --drain-failing allows are draining or drained; retire or replace those, or drain these by hand",
			"drives", waiting, "limit", m.opts.DrainFailing)
	}
}

// truncate cuts s to at most n bytes, at a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// drainingLast orders holders to read from so that those on draining
// drives come last, keeping their order otherwise: a draining drive may be
// failing, and its drain has work enough.
func drainingLast(holders []Holder) {
	draining := func(h Holder) int {
		if h.DriveState == state.DriveDraining {
			return 1
		}
		return 0
	}
	slices.SortStableFunc(holders, func(a, b Holder) int { return cmp.Compare(draining(a), draining(b)) })
}
