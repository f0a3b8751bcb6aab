package placement

import (
	"fmt"
	"testing"

	"github.com/shingle-storage/shingle/fleetd/state"
)

func apply(t *testing.T, s *state.State, cmds ...state.Command) state.Result {
	t.Helper()
	var r state.Result
	for _, c := range cmds {
		var err error
		if r, err = s.Apply(c); err != nil {
			t.Fatalf("%s: %v", c.Type(), err)
		}
	}
	return r
}

// TestCandidatesFromState builds a fleet in the state machine, places a
// volume with the planner, records it, and checks that the next view of the
// fleet accounts for the reserved space, the agents' reports and the
// drives' and hosts' states.
func TestCandidatesFromState(t *testing.T) {
	s := state.New()
	apply(t, s, &state.AddSite{ID: "s"}, &state.AddRoom{ID: "m", Site: "s"}, &state.AddRow{ID: "w", Room: "m"})
	for r := 1; r <= 4; r++ {
		rack, host, drive := fmt.Sprintf("r%d", r), fmt.Sprintf("h%d", r), fmt.Sprintf("d%d", r)
		apply(t, s,
			&state.AddRack{ID: rack, Row: "w"},
			&state.AddHost{ID: host, Rack: rack},
			&state.SetHostState{ID: host, State: state.HostInService},
			&state.AddDrive{ID: drive, Host: host, Slot: "1", CapacityBytes: tib, Model: "m"},
			&state.SetDriveState{ID: drive, State: state.DriveInService})
	}
	apply(t, s, &state.SetHostState{ID: "h4", State: state.HostMaintenance})

	p, err := New(Candidates(s, nil), Options{})
	if err != nil {
		t.Fatal(err)
	}
	members, err := p.Place(Rule{Width: 3, MemberBytes: 100 * gib, Key: uint64(s.LastVolumeID()) + 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if m == "d4" {
			t.Fatalf("placed on d4, whose host is in maintenance")
		}
	}
	res := apply(t, s, &state.CreateVolume{Scheme: state.Replication(3), Placement: members, MemberBytes: 100 * gib})
	if res.Volume != 1 {
		t.Fatalf("volume id %d", res.Volume)
	}

	reports := func(id string) (Report, bool) {
		if id == "d1" {
			return Report{FreeBytes: 10 * gib, Load: 0.9}, true
		}
		return Report{}, false
	}
	byID := map[string]Drive{}
	for _, d := range Candidates(s, reports) {
		byID[d.ID] = d
	}
	if d := byID["d1"]; d.FreeBytes != 10*gib || d.Load != 0.9 || d.Rack != "r1" || !d.InService {
		t.Fatalf("d1 = %+v; want the agent's smaller free space and its load", d)
	}
	if d := byID["d2"]; d.FreeBytes != tib-100*gib {
		t.Fatalf("d2 free = %d, want capacity less the volume's reservation", d.FreeBytes)
	}
	if byID["d4"].InService {
		t.Fatalf("d4 counted in service although its host is in maintenance")
	}
}
