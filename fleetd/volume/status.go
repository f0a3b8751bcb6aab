package volume

import (
	"slices"
	"time"

	"github.com/shingle-storage/shingle/fleetd/state"
)

// Task is one volume's repair: the members being rebuilt and why.
type Task struct {
	Volume state.VolumeID
	Scheme state.Scheme
	// Lost are the placement positions being rebuilt, and LostDrives the
	// drives they were on.
	Lost       []int
	LostDrives []string
	// Margin is how many more losses the volume survives now.
	Margin int
	// Reason says why the members count as lost.
	Reason string
	// Drain is set when the members are not lost but being moved off
	// draining drives; the volume keeps its full margin meanwhile.
	Drain bool
	// DoneBytes and TotalBytes measure a running task's progress.
	DoneBytes, TotalBytes uint64
	// Reads is how many members one rebuilt member is read from.
	Reads int
	// LastError is what went wrong last time, for a task to retry.
	LastError string
}

// Status is what the background work is doing.
type Status struct {
	// Queued is the repair work waiting, most urgent first; Running the
	// work under way.
	Queued, Running []Task
	// Repaired and Failed count repairs since this leader took office,
	// and RepairedBytes the bytes they rebuilt; Failed counts failed
	// moves off draining drives too.
	Repaired, Failed, RepairedBytes uint64
	// Moved counts members moved off draining drives since this leader
	// took office, and MovedBytes their bytes.
	Moved, MovedBytes uint64
	// BytesPerSecond is the rebuild rate over recent repairs.
	BytesPerSecond float64
	// RecentReads is, for the most recent rebuilt members (newest last),
	// how many members each was rebuilt from.
	RecentReads []int
	// Encoded counts volumes encoded since this leader took office;
	// EncodeWaiting the sealed volumes waiting to be.
	Encoded       uint64
	EncodeWaiting int
	// Compacted counts coded volumes rewritten without their deleted
	// blobs since this leader took office, and CompactedBytes the shard
	// bytes that freed.
	Compacted, CompactedBytes uint64
	// CrossCheck is what the last cross-check found.
	CrossCheck CrossCheck
}

// repairStatus is the manager's record of its work, under Manager.mu.
type repairStatus struct {
	queued  []Task
	running map[state.VolumeID]*Task
	lastErr map[state.VolumeID]string

	repaired, failed, repairedBytes uint64
	moved, movedBytes               uint64
	encoded                         uint64
	encodeWaiting                   int
	compacted, compactedBytes       uint64
	rate                            []rateSample
	crossCheck                      CrossCheck
}

// rateSample is one finished repair, for the rate.
type rateSample struct {
	bytes uint64
	took  time.Duration
	reads int
}

// Status returns a copy of what the background work is doing.
func (m *Manager) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.status
	out := Status{Repaired: r.repaired, Failed: r.failed, RepairedBytes: r.repairedBytes, Encoded: r.encoded, EncodeWaiting: r.encodeWaiting, CrossCheck: r.crossCheck,
		Compacted: r.compacted, CompactedBytes: r.compactedBytes, Moved: r.moved, MovedBytes: r.movedBytes}
	for _, t := range r.queued {
		t.LastError = r.lastErr[t.Volume]
		out.Queued = append(out.Queued, t)
	}
	for _, t := range r.running {
		out.Running = append(out.Running, *t)
	}
	slices.SortFunc(out.Running, func(a, b Task) int { return int(a.Volume) - int(b.Volume) })
	var bytes uint64
	var took time.Duration
	for _, s := range r.rate {
		bytes += s.bytes
		took += s.took
		out.RecentReads = append(out.RecentReads, s.reads)
	}
	if took > 0 {
		out.BytesPerSecond = float64(bytes) / took.Seconds()
	}
	return out
}
