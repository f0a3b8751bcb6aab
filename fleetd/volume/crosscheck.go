package volume

import (
	"context"
	"fmt"
	"sort"
	"time"

	"connectrpc.com/connect"
	"github.com/shingle-storage/shingle/agent/datapath"
	agentv1 "github.com/shingle-storage/shingle/api/agent/v1"
	"github.com/shingle-storage/shingle/fleetd/erasure"
	"github.com/shingle-storage/shingle/fleetd/state"
)

// fleetExtentLimit separates the extents the fleet names after volumes
// (MemberExtent: a volume id below 2^40 shifted left 16 bits) from those
// agents number themselves (time-based, above 2^60).
const fleetExtentLimit = 1 << 56

// CrossCheck is what the last comparison of the replicated state with
// the agents' extents found.
type CrossCheck struct {
	// At is when it finished; zero if none has run.
	At time.Time
	// Drives is how many drives were listed.
	Drives int
	// Missing lists the members the state places on a drive whose agent
	// does not hold their extent; they are repaired.
	Missing []string
	// Orphaned lists fleet-named extents agents hold that no placement
	// names; sealed ones are deleted (OrphansDeleted counts them), open
	// ones only reported.
	Orphaned       []string
	OrphansDeleted uint64
}

// memberKey names one member extent on one drive.
type memberKey struct {
	drive  string
	extent uint64
}

// crossCheck lists the extents of every drive of every reachable host and
// compares them with the state: members whose extent is missing count as
// lost from now on (until a later check finds them), and sealed extents no
// placement names (the replicas of an encoded volume whose deletion
// failed, a member replaced while its drive was away) are deleted.
func (m *Manager) crossCheck(ctx context.Context) {
	expected := map[memberKey]string{} // replica extents → description
	var shards []shardRef              // shards, checked by their header
	open := map[state.VolumeID]bool{}
	byHost := map[string][]string{}
	addr := map[string]string{}
	m.fleet.Read(func(st *state.State) {
		for _, v := range st.Volumes() {
			if v.State == state.VolumeOpen {
				open[v.ID] = true
			}
			for i, d := range v.Placement {
				if v.Scheme.Coded() {
					shards = append(shards, shardRef{vol: v, index: i, drive: d})
					continue
				}
				expected[memberKey{d, ExtentOf(v, i)}] = fmt.Sprintf("volume %d member %d", v.ID, i)
			}
		}
		for _, d := range st.Drives() {
			// Drained drives too: what a leader that lost office mid-drain
			// left on one is found and deleted.
			switch d.State {
			case state.DriveInService, state.DriveSuspect, state.DriveDraining, state.DriveDrained:
				byHost[d.Host] = append(byHost[d.Host], d.ID)
			}
		}
		for _, h := range st.Hosts() {
			addr[h.ID] = h.Address
		}
	})
	cc := CrossCheck{}
	missing := map[memberKey]bool{}
	for host, drives := range byHost {
		if m.fleet.Host(host).Reachability != Reachable || addr[host] == "" {
			continue
		}
		for _, d := range drives {
			if ctx.Err() != nil {
				return
			}
			lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			res, err := m.agents.Control(addr[host]).ListExtents(lctx, connect.NewRequest(&agentv1.ListExtentsRequest{Drive: d}))
			cancel()
			if err != nil {
				m.log.Warn("cross-check: could not list a drive's extents", "drive", d, "host", host, "err", err)
				continue
			}
			cc.Drives++
			held := map[uint64]*agentv1.Extent{}
			for _, e := range res.Msg.GetExtents() {
				held[e.GetId()] = e
			}
			for k, what := range expected {
				if k.drive != d || held[k.extent] != nil || open[state.VolumeID(k.extent>>16)] {
					continue
				}
				missing[k] = true
				cc.Missing = append(cc.Missing, fmt.Sprintf("%s: drive %s lacks extent %d", what, d, k.extent))
			}
			for _, s := range shards {
				if s.drive != d {
					continue
				}
				_, err := m.agents.Data.Get(ctx, addr[host], d, datapath.PoolExtent, erasure.HeaderKey(uint64(s.vol.ID), s.vol.Epoch, s.index))
				if isGone(err) {
					missing[memberKey{d, memberID(s.vol.ID, true, s.index)}] = true
					cc.Missing = append(cc.Missing, fmt.Sprintf("volume %d shard %d: drive %s lacks its header", s.vol.ID, s.index, d))
				}
				// A compaction deletes the old epoch's shards after it is
				// recorded; a leader change in between leaves them.
				for epoch := range s.vol.Epoch {
					switch found, err := m.dropOldShard(ctx, addr[host], d, s.vol, epoch, s.index); {
					case err != nil:
						cc.Orphaned = append(cc.Orphaned, fmt.Sprintf("volume %d shard %d epoch %d on drive %s: delete failed: %v", s.vol.ID, s.index, epoch, d, err))
					case found:
						cc.Orphaned = append(cc.Orphaned, fmt.Sprintf("volume %d shard %d epoch %d on drive %s: left by a compaction (deleted)", s.vol.ID, s.index, epoch, d))
						cc.OrphansDeleted++
					}
				}
			}
			m.examinePool(ctx, addr[host], d, shards)
			for id, e := range held {
				if id >= fleetExtentLimit || expected[memberKey{d, id}] != "" {
					continue
				}
				desc := fmt.Sprintf("drive %s: extent %d (volume %d) is in no placement", d, id, id>>16)
				if e.GetState() == agentv1.ExtentState_EXTENT_STATE_OPEN {
					cc.Orphaned = append(cc.Orphaned, desc+" (open: left alone)")
					continue
				}
				if m.namesNow(d, id) {
					continue // a volume made since the check began
				}
				if _, err := m.agents.Control(addr[host]).DeleteExtent(ctx, connect.NewRequest(&agentv1.DeleteExtentRequest{Drive: d, Extent: id})); err != nil {
					cc.Orphaned = append(cc.Orphaned, desc+fmt.Sprintf(" (delete failed: %v)", err))
					continue
				}
				cc.Orphaned = append(cc.Orphaned, desc+" (deleted)")
				cc.OrphansDeleted++
			}
		}
	}
	sort.Strings(cc.Missing)
	sort.Strings(cc.Orphaned)
	cc.At = time.Now()
	m.mu.Lock()
	m.missing = missing
	m.status.crossCheck = cc
	m.mu.Unlock()
	if len(cc.Missing)+len(cc.Orphaned) > 0 {
		m.log.Warn("cross-check found differences", "missing", cc.Missing, "orphaned", cc.Orphaned)
	}
}

// namesNow reports whether a replica of a volume in the current state is
// extent id on drive. The cross-check's view of the placements is taken
// before it lists the drives, which takes a while on a large fleet: a
// volume made meanwhile, filled and sealed before its drive is listed,
// would look like an orphan there. Its extents exist only once its
// creation is recorded, so the state read after the listing names them.
func (m *Manager) namesNow(drive string, id uint64) bool {
	named := false
	m.fleet.Read(func(st *state.State) {
		v, ok := st.Volume(state.VolumeID(id >> 16))
		if !ok {
			return
		}
		for i, d := range v.Placement {
			if d == drive && ExtentOf(v, i) == id {
				named = true
			}
		}
	})
	return named
}

// dropOldShard deletes shard i of the given older epoch of vol from the
// pool of drive on the agent at addr, if its header is there. It reports
// whether the header was there.
func (m *Manager) dropOldShard(ctx context.Context, addr, drive string, vol state.Volume, epoch uint32, i int) (bool, error) {
	h := Holder{Index: i, Drive: drive, Address: addr, Extent: datapath.PoolExtent}
	hd, err := m.readHeader(ctx, h, uint64(vol.ID), epoch, i)
	if isGone(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	old := vol
	old.Epoch, old.MemberBytes = epoch, uint64(hd.ShardLen)
	return true, m.dropMember(ctx, old, h)
}

// shardRef is a shard the state places on a drive.
type shardRef struct {
	vol   state.Volume
	index int
	drive string
}

// isMissing reports whether the last cross-check found the member with id
// (memberID) missing from its drive, or a pool examination found it
// damaged.
func (m *Manager) isMissing(drive string, id uint64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.missing[memberKey{drive, id}] || m.damaged[memberKey{drive, id}]
}

// examinePool reads back every shard the state places on a drive whose
// agent reports a pool extent damaged (a scrub found it not matching its
// seal), once per damaged extent: the agent cannot say which shards the
// extent held, so the shards themselves are checked, chunk by chunk, and
// those that no longer read back are rebuilt elsewhere.
func (m *Manager) examinePool(ctx context.Context, addr, drive string, shards []shardRef) {
	v, ok := m.fleet.Drive(drive)
	if !ok {
		return
	}
	for _, bad := range v.BadExtents {
		if bad <= datapath.PoolExtent {
			continue
		}
		k := memberKey{drive, bad}
		m.mu.Lock()
		done := m.examined[k]
		m.mu.Unlock()
		if done {
			continue
		}
		for _, s := range shards {
			if s.drive != drive {
				continue
			}
			h := Holder{Index: s.index, Drive: drive, Address: addr, Extent: datapath.PoolExtent}
			shardLen := int64(s.vol.MemberBytes)
			if _, err := m.readShard(ctx, h, uint64(s.vol.ID), s.vol.Epoch, s.index, shardLen, int64(m.opts.ChunkSize)); err != nil && ctx.Err() == nil {
				m.log.Warn("a shard in a damaged pool extent does not read back; it will be rebuilt", "volume", s.vol.ID, "shard", s.index, "drive", drive, "err", err)
				m.mu.Lock()
				m.damaged[memberKey{drive, memberID(s.vol.ID, true, s.index)}] = true
				m.mu.Unlock()
			}
		}
		m.mu.Lock()
		m.examined[k] = true
		m.mu.Unlock()
	}
}
