package server

import (
	"sync"
	"time"
)

// Reachability is what the leader concludes from a host's heartbeats.
type Reachability string

const (
	// Reachable hosts have sent a heartbeat within the timeout.
	Reachable Reachability = "reachable"
	// Unreachable hosts have been silent for longer than the timeout.
	Unreachable Reachability = "unreachable"
	// Unknown is the answer of a server that is not the leader (it
	// receives no heartbeats), and of a new leader that has not yet waited
	// one timeout for a host it has not heard from.
	Unknown Reachability = "unknown"
)

// HostLiveness is the leader's view of one host.
type HostLiveness struct {
	Reachability Reachability
	// LastHeartbeat is when the last heartbeat arrived; zero if none did
	// since this server became leader.
	LastHeartbeat time.Time
	// SilentSince is when the host's current silence began: its last
	// heartbeat, or when this server became leader if it has heard none.
	SilentSince time.Time
	// RepairCandidate is true once the host has been unreachable for
	// longer than the repair grace period.
	RepairCandidate bool
	// Load is the host's load from its last heartbeat.
	Load float64
}

// DriveReport is what an agent last said about one drive.
type DriveReport struct {
	// FreeBytes is the free space the agent sees on the drive, and
	// PoolRoomBytes what its open shard pool extent still takes.
	FreeBytes, PoolRoomBytes uint64
	// Load is how busy the drive is, from 0 (idle) to 1 (saturated).
	Load float64
	// Health is the agent's verdict (ok, suspect, failing).
	Health string
	// FailureProbability is the predicted chance of failure within the
	// predictor's horizon.
	FailureProbability float64
	// HealthReasons say why, for operators.
	HealthReasons []string
	// BadExtents are the extents scrubs found damaged on the drive.
	BadExtents []uint64
	// At is when the report arrived.
	At time.Time
}

// Liveness holds the heartbeats the leader has received: soft state that
// is never replicated. A server starts counting when it becomes leader
// (Start) and forgets everything when it stops being leader (Stop); a host
// it has not heard from since it took over counts as silent from that
// moment, so a failover delays (never hastens) declaring a host
// unreachable or a repair candidate.
//
// It is safe for concurrent use.
type Liveness struct {
	timeout time.Duration
	grace   time.Duration
	now     func() time.Time

	mu     sync.Mutex
	active bool
	since  time.Time
	hosts  map[string]hostBeat
	drives map[string]DriveReport
}

// hostBeat is one host's last heartbeat.
type hostBeat struct {
	at     time.Time
	load   float64
	drives []string
}

// NewLiveness returns an inactive Liveness that calls a host unreachable
// after timeout without heartbeats and a repair candidate after a further
// grace. now is the clock (time.Now outside tests).
func NewLiveness(timeout, grace time.Duration, now func() time.Time) *Liveness {
	return &Liveness{timeout: timeout, grace: grace, now: now, hosts: map[string]hostBeat{}, drives: map[string]DriveReport{}}
}

// Start begins counting from now, forgetting anything heard before: the
// server has just become leader.
func (l *Liveness) Start() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.active, l.since = true, l.now()
	clear(l.hosts)
	clear(l.drives)
}

// Stop forgets everything: the server is no longer leader, and heartbeats
// go elsewhere.
func (l *Liveness) Stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.active = false
	clear(l.hosts)
	clear(l.drives)
}

// Active reports whether the server is counting (it is the leader).
func (l *Liveness) Active() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.active
}

// Heartbeat records a heartbeat from host with its load and its drives'
// reports. It reports false (and records nothing) when the server is not
// counting.
func (l *Liveness) Heartbeat(host string, load float64, drives map[string]DriveReport) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.active {
		return false
	}
	now := l.now()
	// Drop the reports of the drives this heartbeat leaves out, and
	// overwrite the others in place: deleting and re-adding every drive of
	// every heartbeat costs more than the rest of taking it in.
	old := l.hosts[host]
	for _, id := range old.drives {
		if _, still := drives[id]; !still {
			delete(l.drives, id)
		}
	}
	b := hostBeat{at: now, load: load, drives: old.drives[:0]}
	for id, r := range drives {
		r.At = now
		l.drives[id] = r
		b.drives = append(b.drives, id)
	}
	l.hosts[host] = b
	return true
}

// Host returns the leader's view of host.
func (l *Liveness) Host(host string) HostLiveness {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.active {
		return HostLiveness{Reachability: Unknown}
	}
	now := l.now()
	b, heard := l.hosts[host]
	out := HostLiveness{LastHeartbeat: b.at, SilentSince: l.since, Load: b.load}
	if heard {
		out.SilentSince = b.at
	}
	silent := now.Sub(out.SilentSince)
	switch {
	case silent <= l.timeout && heard:
		out.Reachability = Reachable
	case silent <= l.timeout:
		out.Reachability = Unknown
	default:
		out.Reachability = Unreachable
		out.RepairCandidate = silent > l.timeout+l.grace
	}
	return out
}

// Drive returns the last report about a drive, if its host's last
// heartbeat included one.
func (l *Liveness) Drive(id string) (DriveReport, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.drives[id]
	return r, ok
}
