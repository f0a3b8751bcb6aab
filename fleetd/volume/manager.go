package volume

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/shingle-storage/shingle/fleetd/placement"
	"github.com/shingle-storage/shingle/fleetd/state"
)

// Fleet is what the manager needs of the fleetd server it runs in.
type Fleet interface {
	// Read calls fn with the replicated state; fn must not keep it.
	Read(fn func(*state.State))
	// Propose applies a command through Raft and returns its result, or
	// the state machine's rejection (*state.Error).
	Propose(ctx context.Context, c state.Command) (state.Result, error)
	// Host is the leader's view of a host's heartbeats.
	Host(id string) HostView
	// Drive is what a drive's agent last reported, if anything.
	Drive(id string) (DriveView, bool)
}

// HostView is the leader's view of a host's heartbeats.
type HostView struct {
	// Reachability is reachable, unreachable or unknown (no heartbeat yet
	// since this server became leader).
	Reachability string
	// RepairCandidate is set once the host has been unreachable for longer
	// than the repair grace period.
	RepairCandidate bool
}

// The HostView reachabilities: heartbeats arrive, they stopped for longer
// than the heartbeat timeout, or this leader has not waited that long
// yet.
const (
	Reachable   = "reachable"
	Unreachable = "unreachable"
)

// DriveView is what a drive's agent last reported.
type DriveView struct {
	// Report is its free space and load, for placement.
	Report placement.Report
	// Health is the agent's verdict: ok, suspect, failing, or failed (the
	// drive no longer reads or writes); HealthReasons say why, worst
	// first.
	Health        string
	HealthReasons []string
	// BadExtents are extents its scrubs found damaged.
	BadExtents []uint64
}

// The healths an agent reports for a drive that matter to the leader:
// HealthFailed for one that no longer reads or writes (every zone
// offline, or the device gone), HealthFailing for one expected to fail
// soon.
const (
	HealthFailed  = "failed"
	HealthFailing = "failing"
)

// Options tune the manager. The zero value of each field means its
// default.
type Options struct {
	// Replicas is the number of copies of an open volume (3).
	Replicas int
	// Code is the erasure code sealed volumes are encoded with (RS(6,3)).
	Code state.Scheme
	// VolumeBytes is the space a replica reserves on its drive, and so the
	// most a volume holds: the agents' extent size (1 GiB).
	VolumeBytes uint64
	// OpenVolumes is how many open volumes the leader keeps for leases (4).
	OpenVolumes int
	// MaxAge is how long a volume stays open before it is sealed (1h).
	MaxAge time.Duration
	// Domain is the failure domain of placements (rack).
	Domain placement.Domain
	// ChunkSize is the size of the records shards are stored in (256 KiB).
	ChunkSize int
	// RepairBytesPerSecond caps how fast one repair or encoding writes,
	// so background work leaves the drives to clients (0: no cap).
	RepairBytesPerSecond float64
	// RepairWorkers is how many volumes are repaired at once (4), each
	// at up to RepairBytesPerSecond.
	RepairWorkers int
	// Interval is how often the background work looks for something to
	// do (2s).
	Interval time.Duration
	// WorkSlice is how long encoding, and then compaction, may go on
	// starting volumes before they hand the background work back to
	// sealing and repair (30s); see Run.
	WorkSlice time.Duration
	// Seed varies the copysets between clusters.
	Seed uint64
	// CrossCheck is how often the leader compares what the state places
	// on each drive with what its agent holds (10m).
	CrossCheck time.Duration
	// DrainFailing is how many drives may be draining or drained before
	// the leader stops draining drives of its own accord: a drive in
	// service whose agent reports it failing (the predictor's probability
	// past its threshold, a SMART attribute past the drive's own, an NVMe
	// critical warning) is moved to draining while fewer drives than this
	// are draining or drained, for whatever reason (2). A drained drive
	// counts until an operator moves it on. A negative value turns it off.
	// The bound keeps a mistaken verdict fleet-wide (a bad model, a
	// firmware bug in SMART reporting) from draining the fleet.
	DrainFailing int
	// CompactDeleted is the fraction of a coded volume's blobs that must
	// be deleted before its image is rewritten without them (0.2); a
	// negative value turns compaction off.
	CompactDeleted float64
}

func (o Options) withDefaults() Options {
	if o.Replicas == 0 {
		o.Replicas = 3
	}
	if o.Code.Kind == "" {
		o.Code = state.RS(6, 3)
	}
	if o.VolumeBytes == 0 {
		o.VolumeBytes = 1 << 30
	}
	if o.OpenVolumes == 0 {
		o.OpenVolumes = 4
	}
	if o.RepairWorkers <= 0 {
		o.RepairWorkers = 4
	}
	if o.MaxAge == 0 {
		o.MaxAge = time.Hour
	}
	if o.Domain == "" {
		o.Domain = placement.DomainRack
	}
	if o.ChunkSize == 0 {
		o.ChunkSize = 256 << 10
	}
	if o.Interval == 0 {
		o.Interval = 2 * time.Second
	}
	if o.WorkSlice <= 0 {
		o.WorkSlice = 30 * time.Second
	}
	if o.CrossCheck == 0 {
		o.CrossCheck = 10 * time.Minute
	}
	if o.DrainFailing == 0 {
		o.DrainFailing = 2
	}
	if o.CompactDeleted == 0 {
		o.CompactDeleted = 0.2
	}
	return o
}

// Manager runs the life of volumes on the leader. Its methods are safe
// for concurrent use. The background work runs in Run, which the server
// starts when it becomes leader and stops when it is not.
type Manager struct {
	fleet  Fleet
	agents *Agents
	opts   Options
	log    *slog.Logger

	createMu sync.Mutex // one volume creation at a time

	mu           sync.Mutex
	next         int                          // round robin over open volumes
	seen         map[state.VolumeID]time.Time // when this leader first saw each open volume
	retiring     map[state.VolumeID]bool      // open volumes being sealed
	status       repairStatus                 // what the background work is doing
	leftovers    []leftover                   // extents to delete when their agents answer
	missing      map[memberKey]bool           // members (memberID) the last cross-check did not find
	damaged      map[memberKey]bool           // shards found unreadable in damaged pool extents
	examined     map[memberKey]bool           // damaged pool extents whose shards were checked
	lastCheck    time.Time                    // when the last cross-check ran
	refused      map[string]time.Time         // drives that refused a new extent, and when
	drainWaiting []string                     // failing drives the last turn left undrained, for the log
}

// New returns a manager over fleet that reaches agents with agents.
func New(fleet Fleet, agents *Agents, opts Options, log *slog.Logger) *Manager {
	if log == nil {
		log = slog.Default()
	}
	return &Manager{fleet: fleet, agents: agents, opts: opts.withDefaults(), log: log,
		seen: map[state.VolumeID]time.Time{}, retiring: map[state.VolumeID]bool{},
		damaged: map[memberKey]bool{}, examined: map[memberKey]bool{}}
}

// Options returns the options in force, defaults filled in.
func (m *Manager) Options() Options { return m.opts }

// errNoVolume is wrapped by Lease when no volume can be had.
var errNoVolume = errors.New("no open volume can be made")

// planner returns a placement planner over the current fleet.
func (m *Manager) planner(st *state.State) (*placement.Planner, error) {
	cands := placement.Candidates(st, func(id string) (placement.Report, bool) {
		v, ok := m.fleet.Drive(id)
		return v.Report, ok
	})
	// A drive whose host stopped heartbeating, or that its agent reports
	// failed or failing, takes no new member (a failing one is drained,
	// see drain.go, or waits for its turn). A host this leader has not heard from
	// yet (it took office less than a heartbeat ago) is not held against
	// it: refusing every placement for the first seconds after a failover
	// would stop all writes, and a member that cannot be created is caught
	// when its extent is.
	for i := range cands {
		h := m.fleet.Host(cands[i].Host)
		v, _ := m.fleet.Drive(cands[i].ID)
		if h.Reachability == Unreachable || v.Health == HealthFailed || v.Health == HealthFailing || m.refusedRecently(cands[i].ID) {
			cands[i].InService = false
		}
	}
	return placement.New(cands, placement.Options{Seed: m.opts.Seed})
}

// refusalMemory is how long a drive that refused a new extent for lack
// of room is left out of placements: until its agent's reports of free
// space have caught up.
const refusalMemory = time.Minute

// noteRefusal remembers that drive refused a new extent for lack of room.
func (m *Manager) noteRefusal(drive string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.refused == nil {
		m.refused = map[string]time.Time{}
	}
	m.refused[drive] = time.Now()
}

// refusedRecently reports whether drive refused a new extent within
// refusalMemory.
func (m *Manager) refusedRecently(drive string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	at, ok := m.refused[drive]
	return ok && time.Since(at) < refusalMemory
}

// fmtVolume names a volume in messages.
func fmtVolume(id state.VolumeID) string { return fmt.Sprintf("volume %d", id) }
