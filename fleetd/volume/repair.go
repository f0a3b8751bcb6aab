package volume

import (
	"context"
	"errors"
	"fmt"
	"github.com/shingle-storage/shingle/internal/pace"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shingle-storage/shingle/agent/datapath"
	"github.com/shingle-storage/shingle/fleetd/erasure"
	"github.com/shingle-storage/shingle/fleetd/placement"
	"github.com/shingle-storage/shingle/fleetd/state"
)

// lostMembers returns the members of loc that count as lost, with why.
// A member is lost when its drive failed or was retired, its agent
// reports the drive failed or the member's extent damaged (a scrub found
// it not matching its seal), or its host has been unreachable past the
// repair grace period; with urgent set (the volume is at its last
// margin, or open and so unwritable) an unreachable host counts at once.
// A host not heard from since this server became leader is not counted:
// the leader has not waited a heartbeat timeout for it yet.
func (m *Manager) lostMembers(loc Location, urgent bool) map[int]string {
	var out map[int]string
	for _, h := range loc.Holders {
		why := ""
		switch {
		case h.DriveState == state.DriveFailed || h.DriveState == state.DriveRetired || h.DriveState == state.DriveAwaitingReplacement:
			why = "drive " + h.Drive + " is " + string(h.DriveState)
		case h.Address == "":
			why = "host " + h.Host + " has no address"
		}
		if why == "" {
			if v, ok := m.fleet.Drive(h.Drive); ok && v.Health == HealthFailed {
				why = "agent reports drive " + h.Drive + " failed"
			} else if ok && slices.Contains(v.BadExtents, h.Extent) {
				why = fmt.Sprintf("a scrub found extent %d on drive %s damaged", h.Extent, h.Drive)
			} else if m.isMissing(h.Drive, memberID(loc.Volume.ID, loc.Volume.Scheme.Coded(), h.Index)) {
				why = fmt.Sprintf("the cross-check found drive %s without extent %d", h.Drive, h.Extent)
			}
		}
		if why == "" {
			hv := m.fleet.Host(h.Host)
			switch {
			case hv.RepairCandidate:
				why = "host " + h.Host + " unreachable past the repair grace period"
			case urgent && hv.Reachability == Unreachable:
				why = "host " + h.Host + " is " + hv.Reachability
			}
		}
		if why != "" {
			if out == nil {
				out = map[int]string{}
			}
			out[h.Index] = why
		}
	}
	return out
}

// tolerance is how many members a volume can lose without losing data.
func tolerance(s state.Scheme) int {
	if !s.Coded() {
		return s.Replicas - 1
	}
	c, err := erasure.NewCodec(erasureScheme(s))
	if err != nil {
		return s.Parity
	}
	return c.Tolerance()
}

// findRepairs lists the volumes that lost members, least margin first,
// and then the members to move off draining drives (see findDrains). A
// volume one loss from data loss does not wait for the grace period: its
// unreachable members count as lost at once.
func (m *Manager) findRepairs() []Task {
	var tasks []Task
	m.fleet.Read(func(st *state.State) {
		for _, v := range st.Volumes() {
			if v.State == state.VolumeOpen {
				continue // sealed first (sealStale), then repaired
			}
			loc := Locate(st, v, m.fleet.Host)
			f := tolerance(v.Scheme)
			lost := m.lostMembers(loc, false)
			// At the last margin, or past it, an unreachable member is
			// not waited for: one more loss would lose data.
			if urgent := m.lostMembers(loc, true); len(urgent) > len(lost) && len(urgent) >= f {
				lost = urgent
			}
			if len(lost) == 0 {
				continue
			}
			t := Task{Volume: v.ID, Scheme: v.Scheme, Margin: f - len(lost)}
			for i := range loc.Holders {
				if why, ok := lost[i]; ok {
					t.Lost = append(t.Lost, i)
					t.LostDrives = append(t.LostDrives, loc.Holders[i].Drive)
					if t.Reason == "" {
						t.Reason = why
					}
				}
			}
			tasks = append(tasks, t)
		}
	})
	sort.SliceStable(tasks, func(i, j int) bool { return tasks[i].Margin < tasks[j].Margin })
	return append(tasks, m.findDrains()...)
}

// repair marks drives their agents report failed as failed, then
// rebuilds lost members, most urgent first, RepairWorkers volumes at a
// time: a dead drive's members belong to many volumes, and rebuilding
// them one after another would leave the fleet's other drives idle while
// the volumes wait at a reduced margin.
//
// Moves off draining drives queue behind the repairs. They start only
// before drainUntil (none with the zero time): a drain loses no
// redundancy, and a big drive's can take hours, so like encoding it gets
// a slice of the loop and leaves the rest queued, and shown, for the next.
// Draining drives that no placement names any more are then marked
// drained.
func (m *Manager) repair(ctx context.Context, drainUntil time.Time) {
	m.failDeadDrives(ctx)
	m.drainFailingDrives(ctx)
	tasks := m.findRepairs()
	m.mu.Lock()
	m.status.queued = tasks
	m.mu.Unlock()
	var wg sync.WaitGroup
	for range min(m.opts.RepairWorkers, len(tasks)) {
		wg.Go(func() {
			for ctx.Err() == nil {
				t, ok := m.nextRepair(drainUntil)
				if !ok {
					return
				}
				err := m.repairVolume(ctx, t)
				m.finishRepair(t, err)
			}
		})
	}
	wg.Wait()
	if !drainUntil.IsZero() {
		m.finishDrains(ctx)
	}
}

// nextRepair takes the most urgent queued repair and marks it running; a
// drain only before drainUntil.
func (m *Manager) nextRepair(drainUntil time.Time) (*Task, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.status.queued) == 0 {
		return nil, false
	}
	if m.status.queued[0].Drain && !time.Now().Before(drainUntil) {
		return nil, false
	}
	t := m.status.queued[0]
	m.status.queued = m.status.queued[1:]
	if m.status.running == nil {
		m.status.running = map[state.VolumeID]*Task{}
	}
	m.status.running[t.Volume] = &t
	return &t, true
}

// finishRepair records how a running repair ended.
func (m *Manager) finishRepair(t *Task, err error) {
	m.mu.Lock()
	delete(m.status.running, t.Volume)
	if m.status.lastErr == nil {
		m.status.lastErr = map[state.VolumeID]string{}
	}
	if err != nil {
		m.status.failed++
		m.status.lastErr[t.Volume] = err.Error()
	} else {
		delete(m.status.lastErr, t.Volume)
	}
	m.mu.Unlock()
	if err != nil {
		m.log.Warn("repair failed; will retry", "volume", t.Volume, "lost", t.LostDrives, "err", err)
	}
}

// failDeadDrives records as failed the drives in service whose agents
// report them failed, so the fleet and its operators see them as such.
func (m *Manager) failDeadDrives(ctx context.Context) {
	var dead []string
	m.fleet.Read(func(st *state.State) {
		for _, d := range st.Drives() {
			switch d.State {
			case state.DriveInService, state.DriveSuspect, state.DriveDraining:
				if v, ok := m.fleet.Drive(d.ID); ok && v.Health == HealthFailed {
					dead = append(dead, d.ID)
				}
			}
		}
	})
	for _, id := range dead {
		if _, err := m.fleet.Propose(ctx, &state.SetDriveState{ID: id, State: state.DriveFailed, Reason: "agent: the drive no longer reads or writes"}); err != nil {
			m.log.Warn("could not mark a dead drive failed", "drive", id, "err", err)
			continue
		}
		m.log.Warn("drive failed; its volumes will be repaired", "drive", id)
	}
}

// repairVolume rebuilds the lost members of one volume, one at a time,
// each ending in a compare-and-swap on the generation.
func (m *Manager) repairVolume(ctx context.Context, t *Task) error {
	for _, idx := range t.Lost {
		loc, ok := m.Locate(t.Volume)
		if !ok {
			return nil // deleted meanwhile
		}
		if t.Drain && loc.Holders[idx].DriveState != state.DriveDraining {
			continue // the drain was cancelled, or the drive failed: a repair then
		}
		start := time.Now()
		// A lost member is rebuilt without the others lost with it. A
		// member moved off a draining drive is rebuilt without itself
		// only: the volume's other members, on draining drives or not,
		// still hold their data, and a volume with more members on
		// draining drives than it can lose must still move.
		gone := t.Lost
		if t.Drain {
			gone = []int{idx}
		}
		n, err := m.rebuildMember(ctx, loc, t, idx, gone)
		if err != nil {
			return fmt.Errorf("member %d: %w", idx, err)
		}
		m.mu.Lock()
		if t.Drain {
			m.status.moved++
			m.status.movedBytes += n
		} else {
			m.status.repaired++
			m.status.repairedBytes += n
		}
		m.status.rate = append(m.status.rate, rateSample{bytes: n, took: time.Since(start), reads: t.Reads})
		if len(m.status.rate) > 16 {
			m.status.rate = m.status.rate[1:]
		}
		m.mu.Unlock()
		msg := "repaired volume member"
		if t.Drain {
			msg = "moved volume member off a draining drive"
		}
		m.log.Info(msg, "volume", t.Volume, "member", idx, "lost_drive", loc.Holders[idx].Drive,
			"bytes", n, "took", time.Since(start).Round(time.Millisecond), "reads", t.Reads)
	}
	return nil
}

// rebuildMember places member idx of loc on a new drive, rebuilds it
// there without reading the members gone names, checks it, and records
// the new placement. It returns the bytes rebuilt.
func (m *Manager) rebuildMember(ctx context.Context, loc Location, t *Task, idx int, gone []int) (uint64, error) {
	vol := loc.Volume
	var drive string
	var err error
	m.fleet.Read(func(st *state.State) {
		var p *placement.Planner
		if p, err = m.planner(st); err != nil {
			return
		}
		drive, err = p.Replace(vol.Placement, idx, placement.Rule{Width: len(vol.Placement), Domain: m.opts.Domain, MemberBytes: vol.MemberBytes,
			Shards: vol.Scheme.Coded(), Key: uint64(vol.ID)})
	})
	if err != nil {
		return 0, fmt.Errorf("choosing a drive: %w", err)
	}
	moved := vol
	moved.Placement = slices.Clone(vol.Placement)
	moved.Placement[idx] = drive
	var target Holder
	m.fleet.Read(func(st *state.State) { target = Locate(st, moved, m.fleet.Host).Holders[idx] })
	lost := map[int]bool{}
	for _, i := range gone {
		lost[i] = true
	}
	var n uint64
	if vol.Scheme.Coded() {
		n, err = m.rebuildShard(ctx, loc, lost, idx, target, t)
	} else {
		n, err = m.rebuildReplica(ctx, loc, lost, target, t)
	}
	if err != nil {
		_ = m.dropMember(ctx, vol, target)
		return 0, err
	}
	if _, err := m.fleet.Propose(ctx, &state.ReplaceVolumeMember{ID: vol.ID, ExpectedGeneration: vol.Generation, Index: idx, Drive: drive}); err != nil {
		if refused(err) { // else the new member may be the recorded one
			_ = m.dropMember(ctx, vol, target)
		}
		return 0, fmt.Errorf("recording the new member: %w", err)
	}
	// The lost member is no longer named; if its drive comes back, what
	// it holds of the volume is removed.
	m.mu.Lock()
	delete(m.damaged, memberKey{loc.Holders[idx].Drive, memberID(vol.ID, vol.Scheme.Coded(), idx)})
	m.leftovers = append(m.leftovers, leftover{h: loc.Holders[idx], vol: vol})
	m.mu.Unlock()
	return n, nil
}

// rebuildReplica copies every live blob of a surviving, sealed replica
// into a fresh extent on the target drive, and seals it. Replicas on
// draining drives are read only when no other can be. A replica whose
// extent is gone proves nothing by itself (it may have been lost behind
// the fleet's back): as for Encode, the volume is taken for empty only if
// every surviving replica's extent is gone.
func (m *Manager) rebuildReplica(ctx context.Context, loc Location, lost map[int]bool, target Holder, t *Task) (uint64, error) {
	if err := m.freshExtent(ctx, target); err != nil {
		return 0, err
	}
	var sources []Holder
	for _, src := range loc.Holders {
		if !lost[src.Index] && src.Address != "" {
			sources = append(sources, src)
		}
	}
	drainingLast(sources)
	pacer := pace.New(m.opts.RepairBytesPerSecond)
	var errs []error
	gone := 0
	for _, src := range sources {
		if err := m.sealExtent(ctx, src); err != nil {
			errs = append(errs, fmt.Errorf("sealing the replica on %s: %w", src.Drive, err))
			continue
		}
		m.mu.Lock()
		t.Reads = 1
		m.mu.Unlock()
		var n uint64
		_, err := m.agents.Data.Stream(ctx, src.Address, src.Drive, src.Extent, func(k datapath.Key, blob []byte) error {
			if err := pacer.Wait(ctx, len(blob)); err != nil {
				return err
			}
			err := m.agents.Data.Put(ctx, target.Address, target.Drive, target.Extent, k, blob)
			if datapath.IsCode(err, "already_exists") {
				err = nil // copied by an earlier try at this source
			}
			n += uint64(len(blob))
			m.progress(t, n, loc.Volume.MemberBytes)
			return err
		})
		if isGone(err) {
			gone++
			errs = append(errs, fmt.Errorf("the replica on %s: its extent is gone", src.Drive))
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("copying from %s: %w", src.Drive, err))
			continue
		}
		if err := m.sealExtent(ctx, target); err != nil {
			return 0, fmt.Errorf("sealing the new replica: %w", err)
		}
		return n, nil
	}
	if gone > 0 && gone == len(sources) {
		// Never written on any replica: nothing to copy.
		if err := m.sealExtent(ctx, target); err != nil {
			return 0, fmt.Errorf("sealing the new replica: %w", err)
		}
		return 0, nil
	}
	return 0, fmt.Errorf("no surviving replica could be copied: %w", errors.Join(errs...))
}

// rebuildShard rebuilds shard idx chunk by chunk from the shards the
// code's repair plan names (a local group of an LRC when it can), writes
// it to the target drive's shard pool, checks its checksum against the
// header, and writes the header last: a shard without its header is not
// yet a shard.
func (m *Manager) rebuildShard(ctx context.Context, loc Location, lost map[int]bool, idx int, target Holder, t *Task) (uint64, error) {
	vol := loc.Volume
	var h *erasure.Header
	var errs []error
	for _, ho := range loc.Holders {
		if lost[ho.Index] || ho.Address == "" {
			continue
		}
		hd, err := m.readHeader(ctx, ho, uint64(vol.ID), vol.Epoch, ho.Index)
		if err == nil {
			h = hd
			break
		}
		errs = append(errs, err)
	}
	if h == nil {
		return 0, fmt.Errorf("no surviving shard gave the volume header: %w", errors.Join(errs...))
	}
	codec, err := erasure.NewCodec(h.Scheme)
	if err != nil {
		return 0, err
	}
	gone := []int{}
	for i := range lost {
		gone = append(gone, i)
	}
	pacer := pace.New(m.opts.RepairBytesPerSecond)
	// Chunks are rebuilt and written several at a time; the shard is
	// assembled as they land so its checksum can be checked at the end.
	shard := make([]byte, h.ShardLen)
	var written atomic.Uint64
	err = forEachChunk(ctx, h.Layout().Chunks(), chunkWorkers, func(ctx context.Context, c int64) error {
		chunk, reads, err := codec.RebuildFrom(gone, idx, func(s int) ([]byte, error) {
			ho := loc.Holders[s]
			return m.agents.Data.Get(ctx, ho.Address, ho.Drive, ho.Extent, erasure.ChunkKey(uint64(vol.ID), vol.Epoch, s, c))
		})
		if err != nil {
			return fmt.Errorf("rebuilding chunk %d: %w", c, err)
		}
		if err := pacer.Wait(ctx, len(chunk)); err != nil {
			return err
		}
		if err := m.putFresh(ctx, target, erasure.ChunkKey(uint64(vol.ID), vol.Epoch, idx, c), chunk); err != nil {
			return fmt.Errorf("writing chunk %d: %w", c, err)
		}
		copy(shard[c*h.ChunkSize:], chunk)
		m.mu.Lock()
		t.Reads = reads
		m.mu.Unlock()
		m.progress(t, written.Add(uint64(len(chunk))), uint64(h.ShardLen))
		return nil
	})
	if err != nil {
		return 0, err
	}
	crc := datapath.CRC32C(shard)
	if crc != h.ShardCRCs[idx] {
		return 0, fmt.Errorf("the rebuilt shard %d has CRC32C %08x, the header says %08x", idx, crc, h.ShardCRCs[idx])
	}
	header, err := erasure.EncodeHeader(h)
	if err != nil {
		return 0, err
	}
	if err := m.putFresh(ctx, target, erasure.HeaderKey(uint64(vol.ID), vol.Epoch, idx), header); err != nil {
		return 0, fmt.Errorf("writing the header: %w", err)
	}
	return written.Load(), nil
}

// progress records a running task's progress.
func (m *Manager) progress(t *Task, done, total uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.status.running[t.Volume]; r != nil {
		r.DoneBytes, r.TotalBytes, r.Reads = done, total, t.Reads
	}
}
