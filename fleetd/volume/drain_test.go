package volume

import (
	"context"
	"strings"
	"testing"

	"github.com/shingle-storage/shingle/fleetd/state"
)

// applyingFleet is a fakeFleet whose proposals apply to its state, as a
// one-member Raft group's would.
type applyingFleet struct{ fakeFleet }

func (f *applyingFleet) Propose(_ context.Context, c state.Command) (state.Result, error) {
	res, err := f.st.Apply(c)
	if err != nil {
		return res, err // a *state.Error, as a real fleet's rejection
	}
	return res, nil
}

// TestDrainFailingDrivesKeepsToItsLimit reports three drives in service
// failing while an operator drains a fourth, with DrainFailing 2: one of
// them starts draining, with the agent's reason, and the others wait until
// a drain finishes. A suspect drive reported failing is left to its
// operator, and with DrainFailing off nothing is drained.
func TestDrainFailingDrivesKeepsToItsLimit(t *testing.T) {
	st := state.New()
	cmds := []state.Command{
		&state.AddSite{ID: "s"}, &state.AddRoom{ID: "m", Site: "s"}, &state.AddRow{ID: "w", Room: "m"},
		&state.AddRack{ID: "r", Row: "w"}, &state.AddHost{ID: "h", Rack: "r", Address: "a:1"},
		&state.SetHostState{ID: "h", State: state.HostInService},
	}
	for _, d := range []string{"d1", "d2", "d3", "d4", "d5"} {
		cmds = append(cmds, &state.AddDrive{ID: d, Host: "h", Slot: d, CapacityBytes: 1 << 40, Model: "m"},
			&state.SetDriveState{ID: d, State: state.DriveInService})
	}
	cmds = append(cmds, &state.SetDriveState{ID: "d1", State: state.DriveDraining, Reason: "operator"},
		&state.SetDriveState{ID: "d5", State: state.DriveSuspect, Reason: "operator"})
	for _, c := range cmds {
		if _, err := st.Apply(c); err != nil {
			t.Fatal(err)
		}
	}
	failing := DriveView{Health: HealthFailing, HealthReasons: []string{"SMART attribute 5 is at or below the drive's own threshold", "a note"}}
	f := &applyingFleet{fakeFleet{st: st, hosts: map[string]HostView{},
		drives: map[string]DriveView{"d1": {Health: "ok"}, "d2": failing, "d3": failing, "d4": failing, "d5": failing}}}
	states := func() string {
		var out []string
		for _, d := range st.Drives() {
			out = append(out, d.ID+"="+string(d.State))
		}
		return strings.Join(out, " ")
	}
	ctx := context.Background()

	off := New(f, nil, Options{DrainFailing: -1}, nil)
	off.drainFailingDrives(ctx)
	if got, want := states(), "d1=draining d2=in_service d3=in_service d4=in_service d5=suspect"; got != want {
		t.Fatalf("with DrainFailing off: %s, want %s", got, want)
	}

	m := New(f, nil, Options{DrainFailing: 2}, nil)
	m.drainFailingDrives(ctx)
	if got, want := states(), "d1=draining d2=draining d3=in_service d4=in_service d5=suspect"; got != want {
		t.Fatalf("after one turn: %s, want %s", got, want)
	}
	d2, _ := st.Drive("d2")
	if want := "agent reports it failing: SMART attribute 5 is at or below the drive's own threshold"; d2.Reason != want {
		t.Errorf("d2's reason is %q, want %q", d2.Reason, want)
	}
	m.drainFailingDrives(ctx)
	if got, want := states(), "d1=draining d2=draining d3=in_service d4=in_service d5=suspect"; got != want {
		t.Fatalf("at the limit: %s, want %s", got, want)
	}

	// d1 holds no volume: finishing drains marks it drained, which makes
	// room for one more.
	m.finishDrains(ctx)
	m.drainFailingDrives(ctx)
	if got, want := states(), "d1=drained d2=drained d3=draining d4=draining d5=suspect"; got != want {
		t.Fatalf("after the drains finished: %s, want %s", got, want)
	}
}
