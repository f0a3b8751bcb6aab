package volume

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"connectrpc.com/connect"
	agentv1 "github.com/shingle-storage/shingle/api/agent/v1"
	"github.com/shingle-storage/shingle/fleetd/placement"
	"github.com/shingle-storage/shingle/fleetd/state"
)

// LeaseTTL is how long a client may write to a leased volume before it
// asks again.
const LeaseTTL = time.Minute

// Lease returns an open volume to write to, after sealing the volumes in
// retire (which a client could not write to). It spreads leases over up
// to Options.OpenVolumes open volumes whose members are all healthy and
// reachable, creating volumes when there are fewer.
func (m *Manager) Lease(ctx context.Context, retire []state.VolumeID) (Location, error) {
	for _, id := range retire {
		if err := m.Seal(ctx, id, "a client could not write to it"); err != nil {
			m.log.Warn("sealing a retired volume", "volume", id, "err", err)
		}
	}
	for attempt := 0; ; attempt++ {
		open := m.openVolumes()
		if len(open) >= m.opts.OpenVolumes || len(open) > 0 && attempt > 0 {
			m.mu.Lock()
			loc := open[m.next%len(open)]
			m.next++
			m.mu.Unlock()
			return loc, nil
		}
		loc, err := m.create(ctx)
		if err == nil {
			return loc, nil
		}
		if len(open) > 0 {
			m.log.Warn("could not add an open volume; leasing an existing one", "err", err)
			continue
		}
		return Location{}, err
	}
}

// openVolumes lists the open volumes fit for writing, in id order.
func (m *Manager) openVolumes() []Location {
	var out []Location
	m.fleet.Read(func(st *state.State) {
		for _, v := range st.Volumes() {
			if v.State != state.VolumeOpen || v.Scheme.Width() != m.opts.Replicas {
				continue
			}
			loc := Locate(st, v, m.fleet.Host)
			m.mu.Lock()
			retiring := m.retiring[v.ID]
			m.mu.Unlock()
			if !retiring && m.usable(loc) {
				out = append(out, loc)
			}
		}
	})
	return out
}

// create places, records and sets up a new open volume: the extents its
// members keep it in exist on their agents before the volume is leased.
func (m *Manager) create(ctx context.Context) (Location, error) {
	m.createMu.Lock()
	defer m.createMu.Unlock()
	// Another lease may have created one while this one waited.
	if open := m.openVolumes(); len(open) >= m.opts.OpenVolumes {
		return open[0], nil
	}
	var drives []string
	var err error
	m.fleet.Read(func(st *state.State) {
		var p *placement.Planner
		if p, err = m.planner(st); err != nil {
			return
		}
		vols := st.Volumes()
		key := uint64(len(vols)) + uint64(time.Now().UnixNano())
		// Each replica's drive keeps room for a shard, to compact the
		// coded volumes it holds shards of (room.go).
		drives, err = p.Place(placement.Rule{Width: m.opts.Replicas, Domain: m.opts.Domain, MemberBytes: m.opts.VolumeBytes,
			KeepFree: shardBudget(m.opts.VolumeBytes, m.opts.Code), Key: key})
		if err == nil {
			err = m.roomToEncode(st, vols, p)
		}
	})
	if err != nil {
		return Location{}, fmt.Errorf("%w: %v", errNoVolume, err)
	}
	res, err := m.fleet.Propose(ctx, &state.CreateVolume{Scheme: state.Replication(m.opts.Replicas), Placement: drives, MemberBytes: m.opts.VolumeBytes})
	if err != nil {
		return Location{}, fmt.Errorf("%w: recording it: %v", errNoVolume, err)
	}
	loc, ok := m.Locate(res.Volume)
	if !ok {
		return Location{}, fmt.Errorf("%w: volume %d vanished after it was created", errNoVolume, res.Volume)
	}
	if err := m.createExtents(ctx, loc); err != nil {
		// Nothing can have been written to it: seal it, so it is never
		// leased, and let the encoder find it empty and drop it.
		_ = m.Seal(ctx, loc.Volume.ID, "its extents could not be created")
		return Location{}, fmt.Errorf("%w: %v", errNoVolume, err)
	}
	m.log.Info("created volume", "volume", loc.Volume.ID, "placement", loc.Volume.Placement)
	return loc, nil
}

// createExtents creates the extent of every member of loc on its agent,
// in parallel. An extent that already exists (a retried create) is fine.
func (m *Manager) createExtents(ctx context.Context, loc Location) error {
	var wg sync.WaitGroup
	errs := make([]error, len(loc.Holders))
	for i, h := range loc.Holders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = m.createExtent(ctx, h)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// createExtent creates the extent of one member on its agent.
func (m *Manager) createExtent(ctx context.Context, h Holder) error {
	_, err := m.agents.Control(h.Address).CreateExtent(ctx, connect.NewRequest(&agentv1.CreateExtentRequest{Drive: h.Drive, Id: h.Extent}))
	if connect.CodeOf(err) == connect.CodeResourceExhausted {
		m.noteRefusal(h.Drive)
	}
	if err != nil && connect.CodeOf(err) != connect.CodeAlreadyExists {
		return fmt.Errorf("creating extent %d on drive %s (agent %s): %w", h.Extent, h.Drive, h.Address, err)
	}
	return nil
}

// Seal seals an open volume: it records the seal, then seals the
// member extents on their agents, so writers in flight fail and move to
// another volume. Members that cannot be reached are sealed later,
// before anything reads the volume to encode or repair it. Sealing a
// sealed or encoded volume does nothing.
func (m *Manager) Seal(ctx context.Context, id state.VolumeID, why string) error {
	m.mu.Lock()
	m.retiring[id] = true
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.retiring, id)
		m.mu.Unlock()
	}()
	loc, ok := m.Locate(id)
	if !ok {
		return fmt.Errorf("%s does not exist", fmtVolume(id))
	}
	if loc.Volume.State == state.VolumeEncoded {
		return nil
	}
	if loc.Volume.State == state.VolumeOpen {
		if _, err := m.fleet.Propose(ctx, &state.SealVolume{ID: id}); err != nil {
			return fmt.Errorf("sealing %s: %w", fmtVolume(id), err)
		}
		m.log.Info("sealed volume", "volume", id, "why", why)
	}
	sealed := m.sealExtents(ctx, loc)
	if sealed == 0 {
		return fmt.Errorf("%s is sealed, but none of its extents could be sealed on their agents yet; it is retried before the volume is read", fmtVolume(id))
	}
	return nil
}

// sealExtents seals the member extents of loc on their agents and
// returns how many are sealed (or missing: never written, so nothing to
// seal).
func (m *Manager) sealExtents(ctx context.Context, loc Location) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	n := 0
	for _, h := range loc.Holders {
		if h.Address == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := m.sealExtent(ctx, h); err != nil {
				m.log.Warn("could not seal a member extent", "volume", loc.Volume.ID, "drive", h.Drive, "err", err)
				return
			}
			mu.Lock()
			n++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return n
}

// sealExtent seals one member's extent on its agent. A missing extent
// (never written before its agent restarted) holds nothing and counts as
// sealed, as does one already sealed or made read-only by an error.
func (m *Manager) sealExtent(ctx context.Context, h Holder) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err := m.agents.Control(h.Address).SealExtent(ctx, connect.NewRequest(&agentv1.SealExtentRequest{Drive: h.Drive, Extent: h.Extent}))
	// failed_precondition: already sealed, or read-only after a device
	// error; either way it takes no more writes.
	if code := connect.CodeOf(err); err != nil && code != connect.CodeNotFound && code != connect.CodeFailedPrecondition {
		return err
	}
	return nil
}
