package state

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// mustApply applies c and fails the test if it is rejected.
func mustApply(t testing.TB, s *State, c Command) Result {
	t.Helper()
	r, err := s.Apply(c)
	if err != nil {
		t.Fatalf("%s: %v", c.Type(), err)
	}
	return r
}

// wantErr applies c and fails the test unless it is rejected with code and a
// message containing every fragment. It also checks a rejected command left
// the state as it was.
func wantErr(t testing.TB, s *State, c Command, code *Error, fragments ...string) {
	t.Helper()
	before := s.Clone()
	_, err := s.Apply(c)
	if err == nil {
		t.Fatalf("%s: applied, want %s error", c.Type(), code.Code)
	}
	if !errors.Is(err, code) {
		t.Fatalf("%s: error %q has the wrong code, want %s", c.Type(), err, code.Code)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Fatalf("%s: error %q does not mention %q", c.Type(), err, f)
		}
	}
	if !equalStates(before, s) {
		t.Fatalf("%s: rejected command changed the state", c.Type())
	}
}

// equalStates compares two states field by field, unexported maps included.
func equalStates(a, b *State) bool { return reflect.DeepEqual(a, b) }

// smallFleet builds one site, one room, one row, the given number of racks
// (r1, r2, ...) each with one in-service host (h1, h2, ...) with drivesPer
// in-service drives (h1-d1, h1-d2, ...).
func smallFleet(t testing.TB, racks, drivesPer int) *State {
	t.Helper()
	s := New()
	mustApply(t, s, &AddSite{ID: "ams1"})
	mustApply(t, s, &AddRoom{ID: "ams1-hall1", Site: "ams1"})
	mustApply(t, s, &AddRow{ID: "ams1-row1", Room: "ams1-hall1"})
	for r := 1; r <= racks; r++ {
		rack := fmt.Sprintf("r%d", r)
		host := fmt.Sprintf("h%d", r)
		mustApply(t, s, &AddRack{ID: rack, Row: "ams1-row1", PowerBudgetWatts: 12000})
		mustApply(t, s, &AddHost{ID: host, Rack: rack, Address: fmt.Sprintf("10.0.%d.1:7400", r)})
		mustApply(t, s, &SetHostState{ID: host, State: HostInService})
		for d := 1; d <= drivesPer; d++ {
			id := fmt.Sprintf("%s-d%d", host, d)
			mustApply(t, s, &AddDrive{ID: id, Host: host, Slot: fmt.Sprint(d), CapacityBytes: 20 << 40, Model: "ST20000NM002H", Firmware: "SN03"})
			mustApply(t, s, &SetDriveState{ID: id, State: DriveInService})
		}
	}
	return s
}
