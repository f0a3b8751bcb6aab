package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestFleetctlExitCodes checks the exit codes and one-line messages
// scripts rely on: usage errors, an unreachable fleet, a missing object,
// and a cluster that has lost its quorum.
func TestFleetctlExitCodes(t *testing.T) {
	f := threeNodes(t)
	l := f.leader()
	f.seed(l)
	if err := f.addRack(ctx(t, 10*time.Second), l, "rack-a"); err != nil {
		t.Fatal(err)
	}

	oneLine := func(name, errOut string) {
		t.Helper()
		if strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "fleetctl: ") || strings.Contains(errOut, "goroutine") {
			t.Fatalf("%s: stderr is not one fleetctl line: %q", name, errOut)
		}
	}

	// Success, as a table and as JSON.
	out, errOut, code := f.fleetctl(nil, "rack", "list")
	if code != 0 || !strings.Contains(out, "rack-a") || errOut != "" {
		t.Fatalf("rack list: exit %d\n%s%s", code, out, errOut)
	}
	out, _, code = f.fleetctl(nil, "rack", "show", "--output", "json", "rack-a")
	var shown struct {
		Rack struct{ ID, Row string } `json:"rack"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &shown) != nil || shown.Rack.ID != "rack-a" || shown.Rack.Row != "w" {
		t.Fatalf("rack show --output json: exit %d, %q", code, out)
	}

	// Topology from fleetctl: a rack in a new site, room and row, then a
	// second rack in the same row (the parents exist), a host in it; the
	// same rack again is refused (exit 1), as is a host in a rack that
	// does not exist (exit 5).
	for _, args := range [][]string{
		{"rack", "add", "--site", "s2", "--room", "m2", "--row", "w2", "--power-budget", "9000", "rack-b"},
		{"rack", "add", "--site", "s2", "--room", "m2", "--row", "w2", "rack-c"},
		{"host", "add", "--rack", "rack-c", "host-c1"},
	} {
		if _, errOut, code := f.fleetctl(nil, args...); code != 0 {
			t.Fatalf("fleetctl %v: exit %d (%s)", args, code, errOut)
		}
	}
	out, _, code = f.fleetctl(nil, "rack", "show", "rack-b")
	if code != 0 || !strings.Contains(out, "s2 / m2 / w2") || !strings.Contains(out, "9000 W") {
		t.Fatalf("rack show rack-b after rack add: exit %d\n%s", code, out)
	}
	if out, _, code = f.fleetctl(nil, "host", "show", "host-c1"); code != 0 || !strings.Contains(out, "rack-c") {
		t.Fatalf("host show host-c1 after host add: exit %d\n%s", code, out)
	}
	// Again, in the same place: nothing to do (scripts run it again).
	if out, errOut, code := f.fleetctl(nil, "rack", "add", "--site", "s2", "--room", "m2", "--row", "w2", "rack-b"); code != 0 || !strings.Contains(out, "already") {
		t.Fatalf("adding rack-b again: exit %d (%s%s), want 0 saying it exists", code, out, errOut)
	}
	// A room id used in another site names that site's room: the rack
	// would not stand where asked, and that is an error, not a rack in
	// the wrong failure domain.
	if _, errOut, code := f.fleetctl(nil, "rack", "add", "--site", "s3", "--room", "m2", "--row", "w3", "rack-d"); code != 1 || !strings.Contains(errOut, "stands in s2 / m2 / w2") {
		t.Fatalf("a rack in a room id of another site: exit %d (%s), want 1 saying where that room is", code, errOut)
	}
	if _, _, code := f.fleetctl(nil, "rack", "show", "rack-d"); code != 5 {
		t.Fatalf("rack-d was made in the wrong place (rack show: exit %d)", code)
	}
	if _, errOut, code := f.fleetctl(nil, "host", "add", "--rack", "nope", "host-x"); code != 5 {
		t.Fatalf("a host in a rack that does not exist: exit %d (%s), want 5", code, errOut)
	}

	// Usage errors: exit 2.
	for _, args := range [][]string{{"bogus"}, {"rack", "show"}, {"rack", "list", "--bogus"}, {"rack", "list", "--output", "yaml"}, {"cluster", "join"},
		{"rack", "add", "--site", "s", "rack-z"}, {"host", "add", "host-z"}} {
		_, errOut, code := f.fleetctl(nil, args...)
		if code != 2 {
			t.Fatalf("fleetctl %v: exit %d, want 2 (%s)", args, code, errOut)
		}
		oneLine(strings.Join(args, " "), errOut)
	}

	// Not found: exit 5.
	for _, args := range [][]string{{"rack", "show", "nope"}, {"host", "show", "nope"}, {"drive", "show", "nope"}, {"volume", "show", "9"}} {
		_, errOut, code := f.fleetctl(nil, args...)
		if code != 5 || !strings.Contains(errOut, "does not exist") {
			t.Fatalf("fleetctl %v: exit %d, want 5 (%s)", args, code, errOut)
		}
		oneLine(strings.Join(args, " "), errOut)
	}

	// Unreachable: exit 3, and the next address is tried first.
	dead := freePort(t)
	_, errOut, code = runFleetctl(t, []string{"SHINGLE_FLEET_ADDR=" + dead, "SHINGLE_CA=" + f.operator.CA, "SHINGLE_CERT=" + f.operator.Cert, "SHINGLE_KEY=" + f.operator.Key}, "cluster", "status")
	if code != 3 || !strings.Contains(errOut, "cannot reach the fleet at "+dead) || !strings.Contains(errOut, "connection refused") {
		t.Fatalf("unreachable: exit %d, %q", code, errOut)
	}
	oneLine("unreachable", errOut)
	out, errOut, code = f.fleetctl(append([]*proc{{api: dead}}, f.up()...), "rack", "list")
	if code != 0 || !strings.Contains(out, "rack-a") {
		t.Fatalf("a dead first address should fall through to the next: exit %d, %s", code, errOut)
	}

	// Lose the quorum: the survivor answers but has no leader, exit 4.
	survivor := f.follower()
	for _, p := range f.up() {
		if p != survivor {
			f.kill9(p)
		}
	}
	eventually(t, 10*time.Second, func() error {
		_, errOut, code = f.fleetctl([]*proc{survivor}, "cluster", "status")
		if code != 4 {
			return &exitMismatch{code, errOut}
		}
		return nil
	})
	if !strings.Contains(errOut, "no leader") {
		t.Fatalf("status without a leader: %q", errOut)
	}
	oneLine("status without a leader", errOut)
	_, errOut, code = f.fleetctl([]*proc{survivor}, "rack", "list")
	if code != 4 || !strings.Contains(errOut, "no leader") {
		t.Fatalf("linearizable read without a leader: exit %d, %q", code, errOut)
	}
	oneLine("read without a leader", errOut)
	_, errOut, code = f.fleetctl([]*proc{survivor}, "token", "create")
	if code != 4 || !strings.Contains(errOut, "no leader") {
		t.Fatalf("write without a leader: exit %d, %q; want 4", code, errOut)
	}
	// A stale read still works on the survivor.
	out, errOut, code = f.fleetctl([]*proc{survivor}, "rack", "list", "--stale")
	if code != 0 || !strings.Contains(out, "rack-a") {
		t.Fatalf("stale read without a leader: exit %d, %s%s", code, out, errOut)
	}
}

// exitMismatch is an unexpected fleetctl exit, for eventually.
type exitMismatch struct {
	code   int
	stderr string
}

func (e *exitMismatch) Error() string { return fmt.Sprintf("exit %d: %s", e.code, e.stderr) }
