package state

import (
	"bytes"
	"testing"
)

func TestMembersRecordAPIAddresses(t *testing.T) {
	s := New()
	wantErr(t, s, &SetMember{ID: "fleet-1"}, ErrInvalid, "API address is empty")
	wantErr(t, s, &SetMember{ID: "fleet-1", APIAddress: "no-port"}, ErrInvalid, "not host:port")
	wantErr(t, s, &SetMember{ID: "", APIAddress: "10.0.0.1:7300"}, ErrInvalid, "empty")
	mustApply(t, s, &SetMember{ID: "fleet-1", APIAddress: "10.0.0.1:7300"})
	mustApply(t, s, &SetMember{ID: "fleet-2", APIAddress: "10.0.0.2:7300"})
	// A server that moved records its new address over the old one.
	mustApply(t, s, &SetMember{ID: "fleet-1", APIAddress: "10.0.0.9:7300"})
	if m, ok := s.Member("fleet-1"); !ok || m.APIAddress != "10.0.0.9:7300" {
		t.Fatalf("fleet-1 is %+v (%v), want address 10.0.0.9:7300", m, ok)
	}
	wantErr(t, s, &RemoveMember{ID: "fleet-3"}, ErrNotFound, `member "fleet-3"`)
	mustApply(t, s, &RemoveMember{ID: "fleet-2"})
	if got := s.Members(); len(got) != 1 || got[0].ID != "fleet-1" {
		t.Fatalf("members %+v, want fleet-1 only", got)
	}

	// Members survive a snapshot, and a snapshot from before the table
	// existed still reads.
	var buf bytes.Buffer
	if err := WriteSnapshot(&buf, s, 7); err != nil {
		t.Fatal(err)
	}
	back, _, err := ReadSnapshot(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !equalStates(s, back) {
		t.Fatalf("members changed through a snapshot: %+v", back.Members())
	}
	old := `{"format":"shingle-fleet-state","version":1,"index":3,"last_volume":0,"sites":[],"rooms":[],"rows":[],"racks":[],"hosts":[],"drives":[],"volumes":[],"join_tokens":[]}`
	if st, _, err := ReadSnapshot(bytes.NewReader([]byte(old))); err != nil || len(st.Members()) != 0 {
		t.Fatalf("snapshot without members: %v, members %+v", err, st)
	}
}
