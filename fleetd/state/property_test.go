package state

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
	"pgregory.net/rapid"
)

// The generator draws ids from small pools so that commands often refer to
// things that exist (and succeed) and often do not (and must fail cleanly).
var (
	poolSites   = []string{"s1", "s2"}
	poolRooms   = []string{"m1", "m2", "m3"}
	poolRows    = []string{"w1", "w2", "w3"}
	poolRacks   = []string{"r1", "r2", "r3", "r4", "r5"}
	poolHosts   = []string{"h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8"}
	poolDrives  = []string{"d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9", "d10", "d11", "d12", "d13", "d14", "d15", "d16", "d17", "d18"}
	poolSlots   = []string{"1", "2", "3"}
	poolTokens  = []string{"t1", "t2", "t3"}
	poolSecrets = []string{"alpha", "beta"}
	poolMembers = []string{"f1", "f2"}
	poolKeys    = []string{strings.Repeat("ab", 32), strings.Repeat("01", 32), strings.Repeat("ff", 32), "not-a-key", strings.Repeat("AB", 32)}
	allDrive    = []DriveState{DriveProvisioning, DriveInService, DriveSuspect, DriveDraining, DriveDrained, DriveFailed, DriveAwaitingReplacement, DriveRetired}
	allHost     = []HostState{HostProvisioning, HostInService, HostMaintenance, HostRetired}
	poolReplica = []Scheme{Replication(2), Replication(3), Replication(1), {Kind: "bogus"}}
	poolCoded   = []Scheme{RS(2, 1), LRC(2, 2, 1), RS(3, 2), Replication(2), {Kind: "bogus"}}
)

// genFleet draws the commands that build a starting fleet (up to 4 racks of
// up to 2 hosts of up to 3 drives, mostly in service), so that the random
// commands after it reach deep states (volumes being encoded and repaired)
// often instead of almost never.
func genFleet(t *rapid.T) []Command {
	cmds := []Command{&AddSite{ID: "s1"}, &AddRoom{ID: "m1", Site: "s1"}, &AddRow{ID: "w1", Room: "m1"}}
	racks := rapid.IntRange(0, 4).Draw(t, "fleet-racks")
	host, drive := 0, 0
	for r := 0; r < racks; r++ {
		cmds = append(cmds, &AddRack{ID: poolRacks[r], Row: "w1"})
		for range rapid.IntRange(1, 2).Draw(t, "fleet-hosts") {
			h := poolHosts[host]
			host++
			cmds = append(cmds, &AddHost{ID: h, Rack: poolRacks[r]}, &SetHostState{ID: h, State: HostInService})
			for slot := range rapid.IntRange(1, 3).Draw(t, "fleet-drives") {
				if drive == len(poolDrives) {
					break
				}
				d := poolDrives[drive]
				drive++
				cmds = append(cmds, &AddDrive{ID: d, Host: h, Slot: poolSlots[slot], CapacityBytes: 8 << 40, Model: "m"})
				if rapid.IntRange(0, 9).Draw(t, "fleet-drive-in-service") < 8 {
					cmds = append(cmds, &SetDriveState{ID: d, State: DriveInService})
				}
			}
		}
	}
	return cmds
}

// genCommand draws one command, biased by s towards commands that can apply:
// references usually name things that exist, placements usually name drives
// in service, generations are usually current.
func genCommand(t *rapid.T, s *State) Command {
	pick := func(label string, pool []string) string { return rapid.SampledFrom(pool).Draw(t, label) }
	// existing picks an id of something that exists, or from pool if
	// nothing does or the draw says so.
	existing := func(label string, have []string, pool []string) string {
		if len(have) > 0 && rapid.IntRange(0, 9).Draw(t, label+"-known") < 8 {
			return rapid.SampledFrom(have).Draw(t, label)
		}
		return pick(label, pool)
	}
	ids := func(n int, id func(int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = id(i)
		}
		return out
	}
	racks := s.Racks()
	rackIDs := ids(len(racks), func(i int) string { return racks[i].ID })
	hosts := s.Hosts()
	hostIDs := ids(len(hosts), func(i int) string { return hosts[i].ID })
	drives := s.Drives()
	driveIDs := ids(len(drives), func(i int) string { return drives[i].ID })
	var usable []string
	for _, d := range drives {
		if h, _ := s.Host(d.Host); d.State == DriveInService && h.State == HostInService {
			usable = append(usable, d.ID)
		}
	}
	placement := func(width int) []string {
		if width <= len(usable) && rapid.IntRange(0, 9).Draw(t, "placement-usable") < 8 {
			return rapid.Permutation(usable).Draw(t, "placement")[:width]
		}
		return rapid.SliceOfN(rapid.SampledFrom(poolDrives), 0, width+1).Draw(t, "placement")
	}
	// volume picks a volume id and generation, usually of an existing
	// volume in one of the wanted states (any state if none is given).
	volume := func(want ...VolumeState) (VolumeID, uint64) {
		vols := slices.DeleteFunc(s.Volumes(), func(v Volume) bool {
			return len(want) > 0 && !slices.Contains(want, v.State)
		})
		if len(vols) > 0 && rapid.IntRange(0, 9).Draw(t, "volume-known") < 8 {
			v := rapid.SampledFrom(vols).Draw(t, "volume")
			gen := v.Generation
			if rapid.IntRange(0, 9).Draw(t, "generation-current") == 0 {
				gen++
			}
			return v.ID, gen
		}
		return VolumeID(rapid.Uint64Range(0, uint64(s.LastVolumeID())+2).Draw(t, "volume")), 1
	}
	secret := func() string { return HashJoinSecret(pick("secret", poolSecrets)) }
	clock := func(label string) int64 { return rapid.Int64Range(0, 20).Draw(t, label) }

	// Removing topology is listed once, volume and drive work several
	// times, so that runs spend their steps where the interesting states are.
	kinds := []CommandType{
		TypeAddSite, TypeRemoveSite, TypeAddRoom, TypeRemoveRoom, TypeAddRow, TypeRemoveRow,
		TypeAddRack, TypeSetRackPowerBudget, TypeRemoveRack,
		TypeAddHost, TypeJoinHost, TypeJoinHost, TypeSetHostState, TypeSetHostState, TypeSetHostAddress, TypeRemoveHost,
		TypeAddDrive, TypeAddDrive, TypeSetDriveState, TypeSetDriveState, TypeSetDriveState, TypeSetDriveState, TypeSetDriveFirmware, TypeRemoveDrive,
		TypeCreateVolume, TypeCreateVolume, TypeCreateVolume, TypeSealVolume, TypeSealVolume, TypeEncodeVolume, TypeEncodeVolume,
		TypeReplaceVolumeMember, TypeReplaceVolumeMember, TypeReplaceVolumeMember, TypeDeleteVolume,
		TypeDeleteBlobs, TypeDeleteBlobs, TypeCompactVolume,
		TypeCreateJoinToken, TypeCreateJoinToken, TypeRevokeJoinToken, TypePruneJoinTokens,
		TypeSetMember, TypeRemoveMember,
	}
	switch rapid.SampledFrom(kinds).Draw(t, "kind") {
	case TypeAddSite:
		return &AddSite{ID: pick("site", poolSites)}
	case TypeRemoveSite:
		return &RemoveSite{ID: pick("site", poolSites)}
	case TypeAddRoom:
		return &AddRoom{ID: pick("room", poolRooms), Site: pick("site", poolSites)}
	case TypeRemoveRoom:
		return &RemoveRoom{ID: pick("room", poolRooms)}
	case TypeAddRow:
		return &AddRow{ID: pick("row", poolRows), Room: pick("room", poolRooms)}
	case TypeRemoveRow:
		return &RemoveRow{ID: pick("row", poolRows)}
	case TypeAddRack:
		return &AddRack{ID: pick("rack", poolRacks), Row: pick("row", poolRows), PowerBudgetWatts: rapid.Uint32Range(0, 20000).Draw(t, "watts")}
	case TypeSetRackPowerBudget:
		return &SetRackPowerBudget{Rack: existing("rack", rackIDs, poolRacks), Watts: rapid.Uint32Range(0, 20000).Draw(t, "watts")}
	case TypeRemoveRack:
		return &RemoveRack{ID: existing("rack", rackIDs, poolRacks)}
	case TypeAddHost:
		return &AddHost{ID: pick("host", poolHosts), Rack: existing("rack", rackIDs, poolRacks), Address: rapid.SampledFrom([]string{"", "10.0.0.1:7400", "bad"}).Draw(t, "address")}
	case TypeJoinHost:
		return &JoinHost{Token: pick("token", poolTokens), SecretHash: secret(), Now: clock("now"), Host: pick("host", poolHosts), Rack: existing("rack", rackIDs, poolRacks), Address: "10.0.0.2:7400"}
	case TypeSetHostState:
		return &SetHostState{ID: existing("host", hostIDs, poolHosts), State: rapid.SampledFrom(append(allHost, "bogus")).Draw(t, "state")}
	case TypeSetHostAddress:
		return &SetHostAddress{ID: existing("host", hostIDs, poolHosts), Address: "10.0.0.3:7400"}
	case TypeRemoveHost:
		return &RemoveHost{ID: existing("host", hostIDs, poolHosts)}
	case TypeAddDrive:
		return &AddDrive{ID: pick("drive", poolDrives), Host: existing("host", hostIDs, poolHosts), Slot: pick("slot", poolSlots),
			CapacityBytes: rapid.Uint64Range(0, 4).Draw(t, "capacity") << 40, Model: "m", Firmware: "f1"}
	case TypeSetDriveState:
		return &SetDriveState{ID: existing("drive", driveIDs, poolDrives), State: rapid.SampledFrom(append(allDrive, "bogus")).Draw(t, "state"), Reason: "r"}
	case TypeSetDriveFirmware:
		return &SetDriveFirmware{ID: existing("drive", driveIDs, poolDrives), Firmware: "f2"}
	case TypeRemoveDrive:
		return &RemoveDrive{ID: existing("drive", driveIDs, poolDrives)}
	case TypeCreateVolume:
		sc := rapid.SampledFrom(poolReplica).Draw(t, "scheme")
		return &CreateVolume{Scheme: sc, Placement: placement(sc.Width()), MemberBytes: rapid.Uint64Range(0, 3).Draw(t, "member") << 30}
	case TypeSealVolume:
		id, _ := volume(VolumeOpen)
		return &SealVolume{ID: id}
	case TypeEncodeVolume:
		id, gen := volume(VolumeSealed)
		sc := rapid.SampledFrom(poolCoded).Draw(t, "scheme")
		return &EncodeVolume{ID: id, ExpectedGeneration: gen, Scheme: sc, Placement: placement(sc.Width()), MemberBytes: 1 << 28}
	case TypeReplaceVolumeMember:
		id, gen := volume()
		return &ReplaceVolumeMember{ID: id, ExpectedGeneration: gen, Index: rapid.SampledFrom([]int{0, 1, 2, 3, -1}).Draw(t, "index"), Drive: existing("drive", usable, poolDrives)}
	case TypeDeleteVolume:
		id, _ := volume()
		return &DeleteVolume{ID: id}
	case TypeDeleteBlobs:
		id, _ := volume()
		return &DeleteBlobs{ID: id, Keys: rapid.SliceOfN(rapid.SampledFrom(poolKeys), 0, 3).Draw(t, "keys")}
	case TypeCompactVolume:
		id, gen := volume(VolumeEncoded)
		return &CompactVolume{ID: id, ExpectedGeneration: gen, Epoch: rapid.Uint32Range(0, 3).Draw(t, "epoch"),
			Purged: rapid.SliceOfN(rapid.SampledFrom(poolKeys), 0, 2).Draw(t, "purged"), Blobs: 10, MemberBytes: 1 << 28}
	case TypeCreateJoinToken:
		now := clock("now")
		return &CreateJoinToken{ID: pick("token", poolTokens), Hash: secret(), Now: now, ExpiresAt: now + rapid.Int64Range(-1, 10).Draw(t, "ttl"),
			Rack: rapid.SampledFrom(append([]string{""}, poolRacks...)).Draw(t, "token-rack"), MaxUses: rapid.Uint32Range(0, 2).Draw(t, "uses")}
	case TypeRevokeJoinToken:
		return &RevokeJoinToken{ID: pick("token", poolTokens)}
	case TypePruneJoinTokens:
		return &PruneJoinTokens{Now: clock("now")}
	case TypeSetMember:
		return &SetMember{ID: pick("member", poolMembers), APIAddress: rapid.SampledFrom([]string{"10.0.0.9:7300", "10.0.0.8:7300", "", "bad"}).Draw(t, "api")}
	case TypeRemoveMember:
		return &RemoveMember{ID: pick("member", poolMembers)}
	}
	panic("genCommand: a command kind has no case")
}

// memSink is a raft.SnapshotSink that keeps the snapshot in memory.
type memSink struct {
	bytes.Buffer
	cancelled bool
}

func (s *memSink) ID() string    { return "mem" }
func (s *memSink) Cancel() error { s.cancelled = true; return nil }
func (s *memSink) Close() error  { return nil }

// fataler is what both *testing.T and *rapid.T offer.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

// snapshotBytes takes a snapshot of f the way raft does and returns it.
func snapshotBytes(t fataler, f *FSM) []byte {
	t.Helper()
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	defer snap.Release()
	var sink memSink
	if err := snap.Persist(&sink); err != nil || sink.cancelled {
		t.Fatalf("persist: %v (cancelled %v)", err, sink.cancelled)
	}
	return sink.Bytes()
}

// replica is one FSM and the log it has applied.
type replica struct {
	fsm     *FSM
	results []any
}

func (r *replica) apply(index uint64, data []byte) any {
	res := r.fsm.Apply(&raft.Log{Index: index, Term: 1, Type: raft.LogCommand, Data: data})
	r.results = append(r.results, res)
	return res
}

func (r *replica) state() *State {
	var c *State
	r.fsm.Read(func(s *State) { c = s.Clone() })
	return c
}

// TestPropertyReplicasAgree is the state machine's central property: for any
// sequence of commands, good or bad,
//
//   - every rejected command leaves the state exactly as it was;
//   - the invariants hold after every command;
//   - a placement changes only with a generation bump of exactly one;
//   - a second replica fed the same log reaches an identical state and
//     returned identical results and errors;
//   - snapshot then restore gives an identical state and a byte-identical
//     snapshot, and the restored replica keeps agreeing with the original
//     as more commands apply.
func TestPropertyReplicasAgree(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := &replica{fsm: NewFSM()}
		var log [][]byte
		applied := 0
		fleet := genFleet(t)
		steps := len(fleet) + rapid.IntRange(1, 250).Draw(t, "steps")
		for i := 1; i <= steps; i++ {
			before := a.state()
			var c Command
			if i <= len(fleet) {
				c = fleet[i-1]
			} else {
				c = genCommand(t, before)
			}
			data, err := Encode(c)
			if err != nil {
				t.Fatalf("encode %s: %v", c.Type(), err)
			}
			log = append(log, data)
			res := a.apply(uint64(i), data)
			after := a.state()
			if err, ok := res.(error); ok {
				var se *Error
				if !errors.As(err, &se) || se.Code == "" || se.Msg == "" {
					t.Fatalf("%s returned %T %v, want a *state.Error with a code and a message", c.Type(), err, err)
				}
				if !equalStates(before, after) {
					t.Fatalf("rejected %s (%v) changed the state", c.Type(), err)
				}
			} else {
				applied++
				if r := res.(Result); r.Index != uint64(i) {
					t.Fatalf("%s: result index %d, want %d", c.Type(), r.Index, i)
				}
			}
			if err := after.CheckInvariants(); err != nil {
				t.Fatalf("after %s: %v", c.Type(), err)
			}
			for _, v := range after.Volumes() {
				old, ok := before.Volume(v.ID)
				if !ok {
					continue
				}
				// A compaction rewrites the shards in place: a new epoch is
				// a move of the volume's data too.
				moved := !slices.Equal(old.Placement, v.Placement) || old.Epoch != v.Epoch
				switch {
				case moved && v.Generation != old.Generation+1:
					t.Fatalf("%s: volume %d placement changed but generation went %d → %d", c.Type(), v.ID, old.Generation, v.Generation)
				case !moved && v.Generation != old.Generation:
					t.Fatalf("%s: volume %d generation changed without a placement change", c.Type(), v.ID)
				}
			}
		}
		t.Logf("%d of %d commands applied", applied, steps)

		b := &replica{fsm: NewFSM()}
		for i, data := range log {
			b.apply(uint64(i+1), data)
		}
		if !reflect.DeepEqual(a.results, b.results) {
			t.Fatalf("replicas fed the same log returned different results")
		}
		if !equalStates(a.state(), b.state()) {
			t.Fatalf("replicas fed the same log have different states")
		}

		snap := snapshotBytes(t, a.fsm)
		if !bytes.Equal(snap, snapshotBytes(t, b.fsm)) {
			t.Fatalf("equal states gave different snapshots")
		}
		c := &replica{fsm: NewFSM()}
		if err := c.fsm.Restore(io.NopCloser(bytes.NewReader(snap))); err != nil {
			t.Fatalf("restore: %v", err)
		}
		if !equalStates(a.state(), c.state()) || a.fsm.AppliedIndex() != c.fsm.AppliedIndex() {
			t.Fatalf("restored state differs from the original")
		}
		if !bytes.Equal(snap, snapshotBytes(t, c.fsm)) {
			t.Fatalf("snapshot of the restored state differs")
		}
		more := rapid.IntRange(0, 40).Draw(t, "more")
		for i := 1; i <= more; i++ {
			cmd := genCommand(t, a.state())
			data, _ := Encode(cmd)
			ra := a.apply(uint64(steps+i), data)
			rc := c.apply(uint64(steps+i), data)
			if !reflect.DeepEqual(ra, rc) {
				t.Fatalf("%s: original returned %v, restored replica %v", cmd.Type(), ra, rc)
			}
		}
		if !equalStates(a.state(), c.state()) {
			t.Fatalf("restored replica diverged after more commands")
		}
	})
}

// TestPropertyApplyNeverPanics feeds arbitrary bytes as log entries: each
// must be rejected as invalid (or, by luck, be a valid command), and never
// crash the replica.
func TestPropertyApplyNeverPanics(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		f := NewFSM()
		data := rapid.SliceOf(rapid.Byte()).Draw(t, "data")
		res := f.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: data})
		if err, ok := res.(error); ok && !errors.Is(err, ErrInvalid) {
			t.Fatalf("garbage rejected with %v, want an invalid-command error", err)
		}
	})
}

func TestEveryCommandTypeRoundTrips(t *testing.T) {
	for _, typ := range CommandTypes() {
		c := newCommand(typ)
		if c == nil || c.Type() != typ {
			t.Fatalf("newCommand(%q) = %v", typ, c)
		}
		data, err := Encode(c)
		if err != nil {
			t.Fatalf("encode %s: %v", typ, err)
		}
		back, err := Decode(data)
		if err != nil {
			t.Fatalf("decode %s: %v", typ, err)
		}
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("%s: decoded %#v, want %#v", typ, back, c)
		}
	}
	if n := len(CommandTypes()); n != 30 {
		t.Fatalf("%d command types; update this test and the README when adding one", n)
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, tc := range []struct{ name, data, want string }{
		{"not json", `{`, "command envelope"},
		{"old version", `{"v":0,"type":"site.add","cmd":{"id":"a"}}`, "version 0 is not supported"},
		{"unknown type", `{"v":1,"type":"site.teleport","cmd":{}}`, `"site.teleport" is unknown`},
		{"unknown field", `{"v":1,"type":"site.add","cmd":{"id":"a","colour":"red"}}`, `unknown field "colour"`},
		{"trailing", `{"v":1,"type":"site.add","cmd":{"id":"a"}} {}`, "trailing data"},
	} {
		_, err := Decode([]byte(tc.data))
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Decode error %v, want an invalid error mentioning %q", tc.name, err, tc.want)
		}
	}
	got, err := Decode([]byte(`{"v":1,"type":"drive.set_state","cmd":{"id":"5000c500a1b2c3d4","state":"suspect"}}`))
	if err != nil || !reflect.DeepEqual(got, &SetDriveState{ID: "5000c500a1b2c3d4", State: DriveSuspect}) {
		t.Fatalf("documented example decodes to %#v, %v", got, err)
	}
}

func TestReadSnapshotRejectsBrokenState(t *testing.T) {
	s := smallFleet(t, 3, 1)
	mustApply(t, s, &CreateVolume{Scheme: Replication(3), Placement: []string{"h1-d1", "h2-d1", "h3-d1"}, MemberBytes: 1 << 30})
	var buf bytes.Buffer
	if err := WriteSnapshot(&buf, s, 9); err != nil {
		t.Fatal(err)
	}
	good := buf.String()
	if _, idx, err := ReadSnapshot(bytes.NewReader(buf.Bytes())); err != nil || idx != 9 {
		t.Fatalf("good snapshot: index %d, %v", idx, err)
	}
	for _, tc := range []struct{ name, from, to, want string }{
		{"dangling placement", `"placement":["h1-d1"`, `"placement":["h9-d9"`, `unknown drive "h9-d9"`},
		{"wrong format", `"format":"shingle-fleet-state"`, `"format":"something-else"`, "is this a fleetd snapshot"},
		{"future version", `"version":1`, `"version":2`, "version 2 is not supported"},
		{"bad drive state", `"state":"in_service","capacity_bytes"`, `"state":"melted","capacity_bytes"`, `unknown state "melted"`},
		{"truncated", good, good[:len(good)/2], "read fleet state snapshot"},
	} {
		broken := strings.Replace(good, tc.from, tc.to, 1)
		if broken == good {
			t.Fatalf("%s: the edit did not apply; the snapshot layout changed", tc.name)
		}
		f := NewFSM()
		if err := f.CheckSnapshot(bytes.NewReader([]byte(broken))); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: CheckSnapshot error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}

// FuzzDecode checks that no command bytes, however mangled, crash Decode or
// Apply: entries come from the network (forwarded writes) and from disk.
func FuzzDecode(f *testing.F) {
	s := smallFleet(f, 3, 1)
	for _, c := range []Command{
		&AddSite{ID: "x"}, &CreateVolume{Scheme: Replication(3), Placement: []string{"h1-d1", "h2-d1", "h3-d1"}, MemberBytes: 1},
		&SetDriveState{ID: "h1-d1", State: DriveSuspect}, &EncodeVolume{ID: 1, Scheme: RS(2, 1), Placement: []string{"h1-d1", "h2-d1", "h3-d1"}, MemberBytes: 1},
	} {
		data, _ := Encode(c)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Decode(data)
		if err != nil {
			return
		}
		st := s.Clone()
		if _, err := st.Apply(c); err != nil {
			if !equalStates(st, s) {
				t.Fatalf("rejected command changed the state")
			}
			return
		}
		if err := st.CheckInvariants(); err != nil {
			t.Fatalf("%s broke an invariant: %v", c.Type(), err)
		}
	})
}

// FuzzReadSnapshot checks that no snapshot bytes crash ReadSnapshot, and
// that whatever it accepts satisfies the invariants and re-encodes the same.
func FuzzReadSnapshot(f *testing.F) {
	s := smallFleet(f, 3, 1)
	var buf bytes.Buffer
	if err := WriteSnapshot(&buf, s, 5); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(`{"format":"shingle-fleet-state","version":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, idx, err := ReadSnapshot(bytes.NewReader(data))
		if err != nil {
			return
		}
		if err := st.CheckInvariants(); err != nil {
			t.Fatalf("accepted a snapshot that breaks an invariant: %v", err)
		}
		var out bytes.Buffer
		if err := WriteSnapshot(&out, st, idx); err != nil {
			t.Fatal(err)
		}
		again, _, err := ReadSnapshot(&out)
		if err != nil || !equalStates(st, again) {
			t.Fatalf("re-encoded snapshot does not read back the same: %v", err)
		}
	})
}
