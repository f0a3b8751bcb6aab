package server

import (
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }

func TestLivenessCountsSilenceFromLeadership(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_000_000, 0)}
	l := NewLiveness(10*time.Second, time.Minute, clock.now)

	// Not the leader: nothing is known, and heartbeats are not taken.
	if got := l.Host("h1").Reachability; got != Unknown {
		t.Fatalf("inactive: %s, want unknown", got)
	}
	if l.Heartbeat("h1", 0.5, nil) {
		t.Fatalf("an inactive Liveness took a heartbeat")
	}

	l.Start()
	// A host not heard from since leadership began is unknown for one
	// timeout, then unreachable.
	clock.add(9 * time.Second)
	if got := l.Host("h2").Reachability; got != Unknown {
		t.Fatalf("h2 after 9s of leadership: %s, want unknown", got)
	}
	clock.add(2 * time.Second)
	if got := l.Host("h2"); got.Reachability != Unreachable || got.RepairCandidate || !got.SilentSince.Equal(time.Unix(1_000_000, 0)) {
		t.Fatalf("h2 after 11s of leadership: %+v, want unreachable since leadership began, not yet a repair candidate", got)
	}

	// A heartbeating host is reachable, with its drives' reports.
	if !l.Heartbeat("h1", 0.25, map[string]DriveReport{"d1": {FreeBytes: 7, Health: "ok"}}) {
		t.Fatalf("the leader refused a heartbeat")
	}
	got := l.Host("h1")
	if got.Reachability != Reachable || got.Load != 0.25 || !got.LastHeartbeat.Equal(clock.t) {
		t.Fatalf("h1 right after a heartbeat: %+v", got)
	}
	if r, ok := l.Drive("d1"); !ok || r.FreeBytes != 7 || !r.At.Equal(clock.t) {
		t.Fatalf("drive report: %+v %v", r, ok)
	}
	// A later heartbeat without the drive drops its report.
	l.Heartbeat("h1", 0.25, map[string]DriveReport{"d2": {}})
	if _, ok := l.Drive("d1"); ok {
		t.Fatalf("a drive the host stopped reporting kept its report")
	}

	// Silence: unreachable after the timeout, a repair candidate only
	// after the grace period on top.
	clock.add(10 * time.Second)
	if got := l.Host("h1").Reachability; got != Reachable {
		t.Fatalf("h1 at exactly the timeout: %s, want reachable", got)
	}
	clock.add(time.Second)
	if got := l.Host("h1"); got.Reachability != Unreachable || got.RepairCandidate {
		t.Fatalf("h1 1s past the timeout: %+v", got)
	}
	clock.add(time.Minute)
	if got := l.Host("h1"); !got.RepairCandidate {
		t.Fatalf("h1 past timeout and grace: %+v, want a repair candidate", got)
	}

	// Losing leadership forgets everything; a new term starts counting
	// afresh, so a failover delays repair rather than hastening it.
	l.Stop()
	if got := l.Host("h1").Reachability; got != Unknown {
		t.Fatalf("after Stop: %s", got)
	}
	l.Start()
	if got := l.Host("h1"); got.Reachability != Unknown || got.RepairCandidate {
		t.Fatalf("right after a new Start: %+v", got)
	}
}
