package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
)

// TestFailoverLosesNoAcknowledgedWrite elects a leader, then kills it with
// SIGKILL while clients write through every server. A new leader takes
// over, every write that was acknowledged is present, and the old leader
// catches up when it comes back.
func TestFailoverLosesNoAcknowledgedWrite(t *testing.T) {
	f := threeNodes(t)
	old := f.leader()
	f.seed(old)

	var mu sync.Mutex
	acked := map[string]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				nodes := f.up()
				if len(nodes) == 0 {
					continue
				}
				p := nodes[rand.IntN(len(nodes))]
				id := fmt.Sprintf("w%d-%03d", w, i)
				if err := f.addRack(ctx(t, 5*time.Second), p, id); err == nil {
					mu.Lock()
					acked[id] = true
					mu.Unlock()
				}
			}
		}()
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	eventually(t, 20*time.Second, func() error {
		if n := count(); n < 30 {
			return fmt.Errorf("%d writes acknowledged before the kill", n)
		}
		return nil
	})
	f.kill9(old)
	before := count()
	eventually(t, 20*time.Second, func() error {
		if n := count(); n < before+30 {
			return fmt.Errorf("%d writes acknowledged after the kill, want 30 more than %d", n, before)
		}
		return nil
	})
	close(stop)
	wg.Wait()

	leader := f.leader()
	if leader == old {
		t.Fatalf("the killed server is still the leader")
	}
	got, err := f.racks(f.follower(), false)
	if err != nil {
		t.Fatal(err)
	}
	for id := range acked {
		if !got[id] {
			t.Errorf("acknowledged rack %s is missing after failover", id)
		}
	}
	t.Logf("%d acknowledged writes, %d before the kill, all present; new leader %s", len(acked), before, leader.id)

	// The old leader rejoins as a follower and catches up.
	f.start(old)
	f.leader()
	eventually(t, 20*time.Second, func() error {
		mine, err := f.racks(old, true)
		if err != nil {
			return err
		}
		for id := range acked {
			if !mine[id] {
				return fmt.Errorf("restarted %s lacks %s", old.id, id)
			}
		}
		return nil
	})
}

// TestRestartAllFromDisk stops every server, some cleanly and one with
// SIGKILL, and starts them again from their data directories: the state
// comes back from a snapshot plus the log after it.
func TestRestartAllFromDisk(t *testing.T) {
	f := threeNodes(t)
	l := f.leader()
	f.seed(l)
	for i := range 10 {
		if err := f.addRack(ctx(t, 10*time.Second), l, fmt.Sprintf("before-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if out, errOut, code := f.fleetctl(nil, "cluster", "snapshot", "take"); code != 0 || !strings.Contains(out, "index") {
		t.Fatalf("snapshot take: exit %d, %s%s", code, out, errOut)
	}
	for i := range 10 {
		if err := f.addRack(ctx(t, 10*time.Second), f.follower(), fmt.Sprintf("after-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	nodes := f.up()
	f.kill9(nodes[0])
	for _, p := range nodes[1:] {
		f.stop(p)
	}
	for _, p := range nodes {
		f.start(p, "--bootstrap") // ignored: the directories hold Raft state
	}
	f.leader()
	// A new leader records its API address through the log right after
	// winning; until then a follower cannot relay a read to it and says
	// to retry.
	var got map[string]bool
	eventually(t, 10*time.Second, func() error {
		var err error
		got, err = f.racks(nodes[2], false)
		return err
	})
	if len(got) != 20 {
		t.Fatalf("%d racks after restarting everything, want 20: %v", len(got), got)
	}
	if err := f.addRack(ctx(t, 10*time.Second), nodes[0], "after-restart"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tail(nodes[1].log), "ignoring --bootstrap") {
		t.Errorf("a restarted server does not say it ignored --bootstrap")
	}
}

// TestSnapshotSaveAndRestore saves the state with fleetctl, changes it,
// and restores the saved state: the changes are undone on every server,
// and a file that is not a snapshot is refused.
func TestSnapshotSaveAndRestore(t *testing.T) {
	f := threeNodes(t)
	f.seed(f.leader())
	for _, id := range []string{"kept-1", "kept-2"} {
		if err := f.addRack(ctx(t, 10*time.Second), f.follower(), id); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(t.TempDir(), "fleet.snap")
	if out, errOut, code := f.fleetctl(nil, "cluster", "snapshot", "save", file); code != 0 {
		t.Fatalf("snapshot save: exit %d, %s%s", code, out, errOut)
	}
	if err := f.addRack(ctx(t, 10*time.Second), f.leader(), "undone"); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := f.fleetctl(nil, "cluster", "snapshot", "restore", file); code != 2 || !strings.Contains(errOut, "--yes") {
		t.Fatalf("restore without --yes: exit %d, %s", code, errOut)
	}
	junk := filepath.Join(t.TempDir(), "junk")
	os.WriteFile(junk, []byte(`{"format":"not a fleet"}`), 0o600)
	if _, errOut, code := f.fleetctl(nil, "cluster", "snapshot", "restore", "--yes", junk); code != 1 || !strings.Contains(errOut, "not a usable snapshot") {
		t.Fatalf("restoring junk: exit %d, %s", code, errOut)
	}
	// Through a follower, which relays the restore to the leader.
	if out, errOut, code := f.fleetctl([]*proc{f.follower()}, "cluster", "snapshot", "restore", "--yes", file); code != 0 {
		t.Fatalf("restore: exit %d, %s%s", code, out, errOut)
	}
	for _, p := range f.up() {
		eventually(t, 10*time.Second, func() error {
			got, err := f.racks(p, true)
			if err != nil {
				return err
			}
			if !got["kept-1"] || !got["kept-2"] || got["undone"] {
				return fmt.Errorf("%s has racks %v after the restore", p.id, got)
			}
			return nil
		})
	}
	// The cluster goes on from the restored state, and every server finds
	// the leader again (the member table came from the backup too).
	if err := f.addRack(ctx(t, 10*time.Second), f.follower(), "after-restore"); err != nil {
		t.Fatal(err)
	}
}

// TestJoinAndLeaveWithFleetctl adds a fourth server with fleetctl cluster
// join, writes through it, and removes it with fleetctl cluster leave,
// after which its fleetd exits by itself.
func TestJoinAndLeaveWithFleetctl(t *testing.T) {
	f := threeNodes(t)
	f.seed(f.leader())
	n4 := f.add("n4") // neither --bootstrap nor --join: it waits
	eventually(t, 10*time.Second, func() error {
		if !strings.Contains(tail(n4.log), "fleetctl cluster join --id n4") {
			return errors.New("n4 does not say how to add it")
		}
		return nil
	})
	if out, errOut, code := f.fleetctl(f.up()[:1], "cluster", "join", "--id", "n4", "--raft-addr", n4.raft, "--api-addr", n4.api); code != 0 {
		t.Fatalf("join: exit %d, %s%s", code, out, errOut)
	}
	f.waitMembers(4)
	out, _, code := f.fleetctl(nil, "cluster", "members", "--output", "json")
	if code != 0 || !strings.Contains(out, `"api_address": "`+n4.api+`"`) {
		t.Fatalf("members after join: exit %d\n%s", code, out)
	}
	if err := f.addRack(ctx(t, 10*time.Second), n4, "via-n4"); err != nil {
		t.Fatalf("write through the new member: %v", err)
	}

	if out, errOut, code := f.fleetctl(nil, "cluster", "leave", "n4"); code != 0 {
		t.Fatalf("leave: exit %d, %s%s", code, out, errOut)
	}
	select {
	case <-n4.done:
		if n4.exitErr != nil {
			t.Fatalf("removed n4 exited with %v", n4.exitErr)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("removed n4 is still running")
	}
	f.waitMembers(3)
	if _, errOut, code := f.fleetctl(nil, "cluster", "leave", "n4"); code != 5 || !strings.Contains(errOut, "not a member") {
		t.Fatalf("leave of a non-member: exit %d, %s", code, errOut)
	}
	if err := f.addRack(ctx(t, 10*time.Second), f.follower(), "after-leave"); err != nil {
		t.Fatal(err)
	}
}

// TestFollowerForwardsWritesAndRelaysReads writes through a follower: the
// write is forwarded to the leader, a rejection comes back with its code,
// and a linearizable read through a follower sees the write at once.
func TestFollowerForwardsWritesAndRelaysReads(t *testing.T) {
	f := threeNodes(t)
	fol := f.follower()
	f.seed(fol)
	for i := range 5 {
		id := fmt.Sprintf("r%d", i)
		if err := f.addRack(ctx(t, 10*time.Second), fol, id); err != nil {
			t.Fatal(err)
		}
		// Linearizable read through the other follower: the write is
		// there immediately.
		other := f.up()[0]
		for _, p := range f.up() {
			if p != fol && p != f.leader() {
				other = p
			}
		}
		got, err := f.racks(other, false)
		if err != nil {
			t.Fatal(err)
		}
		if !got[id] {
			t.Fatalf("linearizable read through %s right after writing %s through %s does not see it: %v", other.id, id, fol.id, got)
		}
	}
	err := f.addRack(ctx(t, 10*time.Second), fol, "r0")
	if connect.CodeOf(err) != connect.CodeAlreadyExists || !strings.Contains(err.Error(), `rack "r0" already exists`) {
		t.Fatalf("duplicate rack through a follower: %v, want AlreadyExists", err)
	}
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Meta().Get(fleetv1.MetaStateCode) != "already_exists" {
		t.Fatalf("rejection lost its state code on the way back: %v", err)
	}
	// The follower counted the forwarded writes.
	out, errOut, code := runCurlMetrics(t, f, fol)
	if code != 0 || !strings.Contains(out, "shingle_fleetd_forwarded_writes_total") || strings.Contains(out, "shingle_fleetd_forwarded_writes_total 0\n") {
		t.Fatalf("metrics of %s do not count forwarded writes: %s %s", fol.id, errOut, grepLines(out, "forwarded"))
	}
}

// runCurlMetrics fetches /metrics from p with the operator's certificate.
func runCurlMetrics(t *testing.T, f *fleet, p *proc) (string, string, int) {
	t.Helper()
	res, err := f.client.Get("https://" + p.api + "/metrics")
	if err != nil {
		return "", err.Error(), 1
	}
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if res.StatusCode != 200 {
		return b.String(), res.Status, 1
	}
	return b.String(), "", 0
}

// grepLines returns the lines of s containing sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
