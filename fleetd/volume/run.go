package volume

import (
	"context"
	"time"

	"github.com/shingle-storage/shingle/fleetd/state"
)

// Run does the background work of volumes until ctx ends: it seals open
// volumes that are old or have a member that cannot take writes, repairs
// volumes that lost members, encodes sealed volumes, moves members off
// draining drives, and compacts coded volumes with many deleted blobs.
// The server runs it while it is leader.
//
// The work runs in one loop, so that no two kinds of it act on a volume
// at once, in order of urgency: sealing (writers wait on it) and repair
// (data waits on it at a reduced margin) come first and run to the end.
// Encoding, draining and compaction can have a long backlog (a fleet that
// ingests faster than one leader encodes has one for good; a 20 TB drive
// holds thousands of members), so each stops starting volumes after
// WorkSlice and leaves the rest to the next turn of the loop: a drive
// that dies while hundreds of volumes wait to be encoded is repaired after
// the volume being encoded, not after them all.
func (m *Manager) Run(ctx context.Context) {
	m.log.Info("volume manager running", "replicas", m.opts.Replicas, "code", m.opts.Code.String(),
		"volume_bytes", m.opts.VolumeBytes, "domain", m.opts.Domain)
	m.mu.Lock()
	m.seen = map[state.VolumeID]time.Time{}
	m.status = repairStatus{}
	m.lastCheck = time.Now() // the first check waits for heartbeats to arrive
	m.mu.Unlock()
	tick := time.NewTicker(m.opts.Interval)
	defer tick.Stop()
	for {
		m.sealStale(ctx)
		m.repair(ctx, time.Time{})
		m.encodeSealed(ctx, time.Now().Add(m.opts.WorkSlice))
		m.repair(ctx, time.Now().Add(m.opts.WorkSlice))
		m.compactDeleted(ctx, time.Now().Add(m.opts.WorkSlice))
		if time.Since(m.lastCheck) >= m.opts.CrossCheck {
			m.crossCheck(ctx)
			m.lastCheck = time.Now()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// sealStale seals open volumes older than MaxAge (counted from when this
// leader first saw them), open volumes with a member that cannot take
// writes, and open volumes with a member on a draining drive: a placement
// changes only on a sealed volume.
func (m *Manager) sealStale(ctx context.Context) {
	now := time.Now()
	type job struct {
		id  state.VolumeID
		why string
	}
	var jobs []job
	m.fleet.Read(func(st *state.State) {
		for _, v := range st.Volumes() {
			m.mu.Lock()
			if v.State != state.VolumeOpen {
				delete(m.seen, v.ID)
				m.mu.Unlock()
				continue
			}
			first, ok := m.seen[v.ID]
			if !ok {
				m.seen[v.ID] = now
				first = now
			}
			m.mu.Unlock()
			switch loc := Locate(st, v, m.fleet.Host); {
			case now.Sub(first) >= m.opts.MaxAge:
				jobs = append(jobs, job{v.ID, "open for " + m.opts.MaxAge.String()})
			case m.lostMembers(loc, true) != nil:
				jobs = append(jobs, job{v.ID, "a member cannot take writes"})
			case len(drainingMembers(loc)) > 0:
				jobs = append(jobs, job{v.ID, "a member's drive is draining"})
			}
		}
	})
	for _, j := range jobs {
		if ctx.Err() != nil {
			return
		}
		if err := m.Seal(ctx, j.id, j.why); err != nil {
			m.log.Warn("sealing volume", "volume", j.id, "err", err)
		}
	}
}
