package volume

import (
	"context"
	"log/slog"
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
// them starts draining, with the agent's reason, and the others wait, also
// once the drains have finished: a drained drive counts until an operator
// moves it on. A suspect drive reported failing is left to its operator,
// and with DrainFailing off nothing is drained.
func TestDrainFailingDrivesKeepsToItsLimit(t *testing.T) {
	st := oneHost(t, []string{"d1", "d2", "d3", "d4", "d5"},
		&state.SetDriveState{ID: "d1", State: state.DriveDraining, Reason: "operator"},
		&state.SetDriveState{ID: "d5", State: state.DriveSuspect, Reason: "operator"})
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

	off := New(f, nil, Options{DrainFailing: -1}, slog.New(slog.DiscardHandler))
	off.drainFailingDrives(ctx)
	if got, want := states(), "d1=draining d2=in_service d3=in_service d4=in_service d5=suspect"; got != want {
		t.Fatalf("with DrainFailing off: %s, want %s", got, want)
	}

	m := New(f, nil, Options{DrainFailing: 2}, slog.New(slog.DiscardHandler))
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

	// Neither holds a volume: both become drained, keeping why, and still
	// count.
	m.finishDrains(ctx)
	m.drainFailingDrives(ctx)
	if got, want := states(), "d1=drained d2=drained d3=in_service d4=in_service d5=suspect"; got != want {
		t.Fatalf("after the drains finished: %s, want %s", got, want)
	}
	d2, _ = st.Drive("d2")
	if !strings.HasPrefix(d2.Reason, "drain finished") || !strings.Contains(d2.Reason, "SMART attribute 5") {
		t.Errorf("drained d2's reason is %q; it should say the drain finished, and why it was drained", d2.Reason)
	}
	// An operator retires d1: room for one more.
	if _, err := st.Apply(&state.SetDriveState{ID: "d1", State: state.DriveRetired}); err != nil {
		t.Fatal(err)
	}
	m.drainFailingDrives(ctx)
	if got, want := states(), "d1=retired d2=drained d3=draining d4=in_service d5=suspect"; got != want {
		t.Fatalf("after d1 was retired: %s, want %s", got, want)
	}
}

// TestLeftoverPlacedAgainIsKept checks placedAgain, which keeps a
// leftover member from being deleted once the state names it again (a
// drain cancelled, then the member placed back on its old drive): the
// same replica extent, or the same shard and epoch, on the same drive.
func TestLeftoverPlacedAgainIsKept(t *testing.T) {
	st := oneHost(t, []string{"d0", "d1", "d2", "d3"},
		&state.CreateVolume{Scheme: state.Replication(2), Placement: []string{"d0", "d1"}, MemberBytes: 1 << 20},
		&state.CreateVolume{Scheme: state.Replication(2), Placement: []string{"d2", "d3"}, MemberBytes: 1 << 20},
		&state.SealVolume{ID: 2},
		&state.EncodeVolume{ID: 2, ExpectedGeneration: 1, Scheme: state.RS(2, 1), Placement: []string{"d0", "d1", "d2"}, MemberBytes: 1 << 20})
	m := New(&fakeFleet{st: st}, nil, Options{}, nil)
	rep, _ := st.Volume(1)
	coded, _ := st.Volume(2)
	for _, c := range []struct {
		name string
		l    leftover
		want bool
	}{
		{"a replica on a drive that holds it", leftover{h: Holder{Index: 0, Drive: "d1", Extent: ExtentOf(rep, 0)}, vol: rep}, true},
		{"a replica on a drive that does not", leftover{h: Holder{Index: 1, Drive: "d3", Extent: ExtentOf(rep, 1)}, vol: rep}, false},
		{"a shard where the same shard is", leftover{h: Holder{Index: 2, Drive: "d2", Extent: ExtentOf(coded, 2)}, vol: coded}, true},
		{"a shard where another shard is", leftover{h: Holder{Index: 1, Drive: "d2", Extent: ExtentOf(coded, 1)}, vol: coded}, false},
		{"a shard of an older epoch", leftover{h: Holder{Index: 2, Drive: "d2", Extent: ExtentOf(coded, 2)}, vol: func() state.Volume { v := coded; v.Epoch++; return v }()}, false},
		{"a member of a volume deleted since", leftover{h: Holder{Index: 0, Drive: "d0", Extent: 99 << 16}, vol: state.Volume{ID: 99}}, false},
	} {
		if got := m.placedAgain(c.l); got != c.want {
			t.Errorf("%s: placedAgain is %v, want %v", c.name, got, c.want)
		}
	}
}

// oneHost returns a state with one host in service holding the drives,
// in service, after which the commands more are applied.
func oneHost(t *testing.T, drives []string, more ...state.Command) *state.State {
	t.Helper()
	st := state.New()
	cmds := []state.Command{
		&state.AddSite{ID: "s"}, &state.AddRoom{ID: "m", Site: "s"}, &state.AddRow{ID: "w", Room: "m"},
		&state.AddRack{ID: "r", Row: "w"}, &state.AddHost{ID: "h", Rack: "r", Address: "a:1"},
		&state.SetHostState{ID: "h", State: state.HostInService},
	}
	for _, d := range drives {
		cmds = append(cmds, &state.AddDrive{ID: d, Host: "h", Slot: d, CapacityBytes: 1 << 40, Model: "m"},
			&state.SetDriveState{ID: d, State: state.DriveInService})
	}
	for _, c := range append(cmds, more...) {
		if _, err := st.Apply(c); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// TestCancelledDrainMovesNothing runs a move queued while its drive was
// draining, after the drain was cancelled (the drive back in service):
// the member stays where it is, and no agent is called (the manager has
// none, so a move would fail).
func TestCancelledDrainMovesNothing(t *testing.T) {
	st := oneHost(t, []string{"d0", "d1"},
		&state.CreateVolume{Scheme: state.Replication(2), Placement: []string{"d0", "d1"}, MemberBytes: 1 << 20},
		&state.SealVolume{ID: 1})
	f := &applyingFleet{fakeFleet{st: st, hosts: map[string]HostView{"h": {Reachability: Reachable}}, drives: map[string]DriveView{}}}
	m := New(f, nil, Options{}, slog.New(slog.DiscardHandler))
	task := &Task{Volume: 1, Scheme: state.Replication(2), Drain: true, Lost: []int{1}, LostDrives: []string{"d1"}}
	if err := m.repairVolume(context.Background(), task); err != nil {
		t.Fatalf("a cancelled drain's move: %v", err)
	}
	if v, _ := st.Volume(1); v.Generation != 1 || v.Placement[1] != "d1" {
		t.Fatalf("volume 1 after a cancelled drain's move: generation %d, placement %v", v.Generation, v.Placement)
	}
}
