package state

import (
	"strings"
	"testing"
)

func TestTopologyReferencesMustExist(t *testing.T) {
	s := New()
	wantErr(t, s, &AddRoom{ID: "hall1", Site: "nowhere"}, ErrNotFound, `site "nowhere" does not exist`)
	mustApply(t, s, &AddSite{ID: "ams1"})
	wantErr(t, s, &AddSite{ID: "ams1"}, ErrExists, `site "ams1" already exists`)
	wantErr(t, s, &AddSite{ID: ""}, ErrInvalid, "empty")
	wantErr(t, s, &AddSite{ID: "has space"}, ErrInvalid, "space")
	mustApply(t, s, &AddRoom{ID: "hall1", Site: "ams1"})
	wantErr(t, s, &AddRack{ID: "r1", Row: "row1"}, ErrNotFound, `row "row1" does not exist`)
	mustApply(t, s, &AddRow{ID: "row1", Room: "hall1"})
	mustApply(t, s, &AddRack{ID: "r1", Row: "row1", PowerBudgetWatts: 8000})
	wantErr(t, s, &AddHost{ID: "h1", Rack: "r9"}, ErrNotFound, `rack "r9" does not exist`)
	wantErr(t, s, &AddHost{ID: "h1", Rack: "r1", Address: "no-port"}, ErrInvalid, "host:port")
	mustApply(t, s, &AddHost{ID: "h1", Rack: "r1", Address: "10.0.0.1:7400"})

	wantErr(t, s, &RemoveSite{ID: "ams1"}, ErrConflict, "still has 1 rooms")
	wantErr(t, s, &RemoveRack{ID: "r1"}, ErrConflict, "still has 1 hosts")
	mustApply(t, s, &SetRackPowerBudget{Rack: "r1", Watts: 9000})
	if r, _ := s.Rack("r1"); r.PowerBudgetWatts != 9000 {
		t.Fatalf("power budget is %d, want 9000", r.PowerBudgetWatts)
	}

	// Tear down in the only order that works.
	mustApply(t, s, &SetHostState{ID: "h1", State: HostRetired})
	mustApply(t, s, &RemoveHost{ID: "h1"})
	mustApply(t, s, &RemoveRack{ID: "r1"})
	mustApply(t, s, &RemoveRow{ID: "row1"})
	mustApply(t, s, &RemoveRoom{ID: "hall1"})
	mustApply(t, s, &RemoveSite{ID: "ams1"})
	if len(s.Sites())+len(s.Rooms())+len(s.Rows())+len(s.Racks())+len(s.Hosts()) != 0 {
		t.Fatalf("state not empty after teardown")
	}
}

func TestDriveInUnknownHostIsRejected(t *testing.T) {
	s := smallFleet(t, 1, 0)
	wantErr(t, s, &AddDrive{ID: "5000c500a1b2c3d4", Host: "h7", Slot: "1", CapacityBytes: 1 << 40, Model: "m"},
		ErrNotFound, `host "h7" does not exist`)
}

func TestDriveSlotHoldsOneLiveDrive(t *testing.T) {
	s := smallFleet(t, 1, 1)
	wantErr(t, s, &AddDrive{ID: "new", Host: "h1", Slot: "1", CapacityBytes: 1 << 40, Model: "m"},
		ErrConflict, `slot "1" of host "h1" holds drive "h1-d1"`)
	mustApply(t, s, &SetDriveState{ID: "h1-d1", State: DriveDraining})
	mustApply(t, s, &SetDriveState{ID: "h1-d1", State: DriveDrained})
	mustApply(t, s, &SetDriveState{ID: "h1-d1", State: DriveRetired})
	mustApply(t, s, &AddDrive{ID: "new", Host: "h1", Slot: "1", CapacityBytes: 1 << 40, Model: "m"})
	wantErr(t, s, &AddDrive{ID: "h1-d1", Host: "h1", Slot: "2", CapacityBytes: 1 << 40, Model: "m"},
		ErrExists, "retired and removed first")
	mustApply(t, s, &RemoveDrive{ID: "h1-d1"})
	mustApply(t, s, &AddDrive{ID: "h1-d1", Host: "h1", Slot: "2", CapacityBytes: 1 << 40, Model: "m"})
}

func TestDriveTransitions(t *testing.T) {
	all := []DriveState{DriveProvisioning, DriveInService, DriveSuspect, DriveDraining,
		DriveDrained, DriveFailed, DriveAwaitingReplacement, DriveRetired}
	legal := map[[2]DriveState]bool{}
	for _, from := range all {
		for _, to := range driveTransitions(from) {
			legal[[2]DriveState{from, to}] = true
		}
	}
	// The workflow must let every state reach retirement, and retirement
	// must be final.
	for _, from := range all {
		seen := map[DriveState]bool{from: true}
		queue := []DriveState{from}
		for len(queue) > 0 {
			cur := queue[0]
			queue = queue[1:]
			for _, n := range driveTransitions(cur) {
				if !seen[n] {
					seen[n] = true
					queue = append(queue, n)
				}
			}
		}
		if !seen[DriveRetired] {
			t.Errorf("%s cannot reach retired", from)
		}
	}
	if len(driveTransitions(DriveRetired)) != 0 {
		t.Errorf("retired is not final")
	}

	// Drive every state pair through Apply and compare with the table.
	for _, from := range all {
		for _, to := range all {
			s := smallFleet(t, 1, 0)
			mustApply(t, s, &AddDrive{ID: "d", Host: "h1", Slot: "1", CapacityBytes: 1 << 40, Model: "m"})
			if err := forceDriveState(s, "d", from); err != nil {
				t.Fatalf("reach %s: %v", from, err)
			}
			c := &SetDriveState{ID: "d", State: to, Reason: "test"}
			_, err := s.Apply(c)
			switch {
			case from == to || legal[[2]DriveState{from, to}]:
				if err != nil {
					t.Errorf("%s → %s: %v", from, to, err)
				}
			default:
				if err == nil {
					t.Errorf("%s → %s: applied, want an illegal-transition error", from, to)
				} else if !strings.Contains(err.Error(), "cannot move from "+string(from)+" to "+string(to)) {
					t.Errorf("%s → %s: error %q does not explain the transition", from, to, err)
				}
			}
		}
	}
}

// forceDriveState walks drive id to state through legal transitions.
func forceDriveState(s *State, id string, to DriveState) error {
	paths := map[DriveState][]DriveState{
		DriveProvisioning:        nil,
		DriveInService:           {DriveInService},
		DriveSuspect:             {DriveInService, DriveSuspect},
		DriveDraining:            {DriveInService, DriveDraining},
		DriveDrained:             {DriveInService, DriveDraining, DriveDrained},
		DriveFailed:              {DriveFailed},
		DriveAwaitingReplacement: {DriveFailed, DriveAwaitingReplacement},
		DriveRetired:             {DriveRetired},
	}
	for _, st := range paths[to] {
		if _, err := s.Apply(&SetDriveState{ID: id, State: st}); err != nil {
			return err
		}
	}
	return nil
}

func TestVolumeLifecycle(t *testing.T) {
	s := smallFleet(t, 9, 2)
	r := mustApply(t, s, &CreateVolume{Scheme: Replication(3), Placement: []string{"h1-d1", "h2-d1", "h3-d1"}, MemberBytes: 1 << 30})
	if r.Volume != 1 || r.Generation != 1 {
		t.Fatalf("first volume: got id %d generation %d, want 1 and 1", r.Volume, r.Generation)
	}
	id := r.Volume

	wantErr(t, s, &CreateVolume{Scheme: RS(6, 3), Placement: []string{"h1-d1"}, MemberBytes: 1}, ErrInvalid, "volumes start replicated")
	wantErr(t, s, &CreateVolume{Scheme: Replication(3), Placement: []string{"h1-d1", "h2-d1"}, MemberBytes: 1}, ErrInvalid, "R3 needs 3 drives")
	wantErr(t, s, &CreateVolume{Scheme: Replication(2), Placement: []string{"h1-d1", "h1-d1"}, MemberBytes: 1}, ErrInvalid, "appears twice")
	wantErr(t, s, &CreateVolume{Scheme: Replication(1), Placement: []string{"ghost"}, MemberBytes: 1}, ErrNotFound, `drive "ghost" does not exist`)

	// A drive with data on it cannot be declared drained or retired.
	mustApply(t, s, &SetDriveState{ID: "h1-d1", State: DriveDraining})
	wantErr(t, s, &SetDriveState{ID: "h1-d1", State: DriveDrained}, ErrConflict, "1 volumes are placed on it")
	// A draining drive takes no new members.
	wantErr(t, s, &CreateVolume{Scheme: Replication(1), Placement: []string{"h1-d1"}, MemberBytes: 1}, ErrConflict, "is draining, not in_service")

	// Drain: move member 0 away, with a compare-and-swap on the generation.
	wantErr(t, s, &ReplaceVolumeMember{ID: id, ExpectedGeneration: 7, Index: 0, Drive: "h4-d1"}, ErrConflict, "generation 1, not 7")
	wantErr(t, s, &ReplaceVolumeMember{ID: id, ExpectedGeneration: 1, Index: 0, Drive: "h2-d1"}, ErrConflict, "already member 1")
	wantErr(t, s, &ReplaceVolumeMember{ID: id, ExpectedGeneration: 1, Index: 3, Drive: "h4-d1"}, ErrInvalid, "member 3 does not exist")
	r = mustApply(t, s, &ReplaceVolumeMember{ID: id, ExpectedGeneration: 1, Index: 0, Drive: "h4-d1"})
	if r.Generation != 2 {
		t.Fatalf("generation after replace is %d, want 2", r.Generation)
	}
	mustApply(t, s, &SetDriveState{ID: "h1-d1", State: DriveDrained})

	// Encode: only sealed volumes, only at the current generation.
	shards := []string{"h1-d2", "h2-d2", "h3-d2", "h4-d2", "h5-d2", "h6-d2", "h7-d2", "h8-d2", "h9-d2"}
	wantErr(t, s, &EncodeVolume{ID: id, ExpectedGeneration: 2, Scheme: RS(6, 3), Placement: shards, MemberBytes: 1 << 28}, ErrConflict, "only a sealed volume")
	mustApply(t, s, &SealVolume{ID: id})
	mustApply(t, s, &SealVolume{ID: id}) // a retried seal is harmless
	wantErr(t, s, &EncodeVolume{ID: id, ExpectedGeneration: 1, Scheme: RS(6, 3), Placement: shards, MemberBytes: 1 << 28}, ErrConflict, "re-read it")
	wantErr(t, s, &EncodeVolume{ID: id, ExpectedGeneration: 2, Scheme: Replication(3), Placement: shards[:3], MemberBytes: 1 << 28}, ErrInvalid, "erasure code")
	r = mustApply(t, s, &EncodeVolume{ID: id, ExpectedGeneration: 2, Scheme: RS(6, 3), Placement: shards, MemberBytes: 1 << 28})
	v, _ := s.Volume(id)
	if v.State != VolumeEncoded || v.Generation != 3 || v.Scheme != RS(6, 3) || len(v.Placement) != 9 || r.Generation != 3 {
		t.Fatalf("after encode: %+v", v)
	}
	wantErr(t, s, &SealVolume{ID: id}, ErrConflict, "only an open volume")
	if got := s.ReservedBytes()["h5-d2"]; got != 1<<28 {
		t.Fatalf("reserved on h5-d2 = %d, want %d", got, 1<<28)
	}

	mustApply(t, s, &DeleteVolume{ID: id})
	wantErr(t, s, &DeleteVolume{ID: id}, ErrNotFound, "volume 1 does not exist")
	// Ids are never reused.
	r = mustApply(t, s, &CreateVolume{Scheme: Replication(1), Placement: []string{"h2-d1"}, MemberBytes: 1})
	if r.Volume != 2 {
		t.Fatalf("volume id after delete is %d, want 2", r.Volume)
	}
	if err := s.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

func TestNewMembersNeedAnInServiceHost(t *testing.T) {
	s := smallFleet(t, 3, 1)
	mustApply(t, s, &SetHostState{ID: "h2", State: HostMaintenance})
	wantErr(t, s, &CreateVolume{Scheme: Replication(3), Placement: []string{"h1-d1", "h2-d1", "h3-d1"}, MemberBytes: 1},
		ErrConflict, `host "h2", which is maintenance`)
	wantErr(t, s, &SetHostState{ID: "h1", State: HostRetired}, ErrConflict, "1 drives that are not retired")
}

func TestJoinHostWithToken(t *testing.T) {
	s := smallFleet(t, 2, 0)
	secret := "s3cret-token-material"
	hash := HashJoinSecret(secret)
	wantErr(t, s, &CreateJoinToken{ID: "t1", Hash: "abc", Now: 100, ExpiresAt: 200}, ErrInvalid, "hex SHA-256")
	wantErr(t, s, &CreateJoinToken{ID: "t1", Hash: hash, Now: 100, ExpiresAt: 100}, ErrInvalid, "not after now")
	mustApply(t, s, &CreateJoinToken{ID: "t1", Hash: hash, Now: 100, ExpiresAt: 200, Rack: "r2", MaxUses: 2})

	join := func(host, rack, secretHash string, now int64) *JoinHost {
		return &JoinHost{Token: "t1", SecretHash: secretHash, Now: now, Host: host, Rack: rack, Address: "10.9.9.9:7400"}
	}
	wantErr(t, s, join("new1", "r2", HashJoinSecret("wrong"), 150), ErrNotFound, "no join token")
	wantErr(t, s, join("new1", "r1", hash, 150), ErrConflict, `rack "r2" only`)
	wantErr(t, s, join("new1", "r2", hash, 200), ErrExpired, "expired at 200")
	mustApply(t, s, join("new1", "r2", hash, 150))
	h, ok := s.Host("new1")
	if !ok || h.State != HostProvisioning || h.Rack != "r2" || h.JoinedAt != 150 {
		t.Fatalf("joined host: %+v", h)
	}
	// The same host joining again (a reboot) updates its address and uses
	// the token again.
	mustApply(t, s, &SetHostState{ID: "new1", State: HostInService})
	mustApply(t, s, &JoinHost{Token: "t1", SecretHash: hash, Now: 160, Host: "new1", Rack: "r2", Address: "10.9.9.10:7400"})
	h, _ = s.Host("new1")
	if h.State != HostInService || h.Address != "10.9.9.10:7400" {
		t.Fatalf("re-joined host: %+v", h)
	}
	wantErr(t, s, join("new2", "r2", hash, 170), ErrExpired, "used 2 times")

	mustApply(t, s, &CreateJoinToken{ID: "t2", Hash: hash, Now: 100, ExpiresAt: 300})
	mustApply(t, s, &CreateJoinToken{ID: "t3", Hash: hash, Now: 100, ExpiresAt: 400})
	r := mustApply(t, s, &PruneJoinTokens{Now: 300})
	if r.Count != 2 { // t1 is used up, t2 has expired
		t.Fatalf("pruned %d tokens, want 2", r.Count)
	}
	if _, ok := s.JoinToken("t3"); !ok {
		t.Fatalf("t3 was pruned before its expiry")
	}
	mustApply(t, s, &RevokeJoinToken{ID: "t3"})
	wantErr(t, s, &RevokeJoinToken{ID: "t3"}, ErrNotFound)
}

func TestParseScheme(t *testing.T) {
	for _, tc := range []struct {
		text string
		want Scheme
	}{
		{"R3", Replication(3)},
		{"RS(6,3)", RS(6, 3)},
		{"LRC(12,2,2)", LRC(12, 2, 2)},
	} {
		got, err := ParseScheme(tc.text)
		if err != nil || got != tc.want || got.String() != tc.text {
			t.Errorf("ParseScheme(%q) = %v, %v; want %v", tc.text, got, err, tc.want)
		}
	}
	if w := LRC(12, 2, 2).Width(); w != 16 {
		t.Errorf("LRC(12,2,2) width %d, want 16", w)
	}
	for _, bad := range []string{"", "R0", "R9", "RS(0,3)", "RS(6,0)", "LRC(12,5,2)", "RS(30,3)", "r3", "RS(6, 3)"} {
		if _, err := ParseScheme(bad); err == nil {
			t.Errorf("ParseScheme(%q) succeeded", bad)
		}
	}
}
