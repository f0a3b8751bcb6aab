package volume

import (
	"fmt"

	"github.com/shingle-storage/shingle/agent/record"
	"github.com/shingle-storage/shingle/fleetd/erasure"
	"github.com/shingle-storage/shingle/fleetd/placement"
	"github.com/shingle-storage/shingle/fleetd/state"
	"github.com/shingle-storage/shingle/internal/bytesize"
)

// Room to encode and compact. A volume is written replicated and
// erasure-coded once sealed; the encoding writes the volume's shards
// before it deletes the replicas, so it needs free space first and gives
// more back after. Left to fill, a fleet would put its last free bytes
// into new replicated volumes and then never be able to encode them: each
// encoding places a shard in Width failure domains but frees space only in
// the three that held replicas, so the domains that held none run dry,
// and every encoding needs them all on a fleet as wide as its code. A
// compaction likewise writes a volume's new shards, on the drives that
// hold its old ones, before it deletes the old.
//
// So a new open volume is made only if its replicas' drives keep room for
// a shard each, and, with its replicas placed, Width domains still have
// room for a shard of every volume not yet encoded, itself included, and
// one more. Encodings then always find room, one volume after another in
// those same domains if need be, and each keeps room for one more shard
// on the drives it uses where it can, so that a compaction (they run one
// at a time) finds room on every drive of its volume. The space they free
// takes new volumes again. Writes are refused a little before the drives
// fill: by about a shard per pending volume on Width domains.
//
// What this does not ensure: the old shards a compaction deletes free
// room on their drives only when the agent compacts the pool extents that
// hold them, which frees whole zones only; see "Limits" in
// fleetd/README.md.

// shardBudget is the most a shard of a volume of volumeBytes under code
// takes on its drive: a shard of the largest image such a volume makes
// (its blobs, and an index at most 1/32 of them, see erasure.Builder), as
// records of whole chunks padded to 4 KiB blocks.
func shardBudget(volumeBytes uint64, code state.Scheme) uint64 {
	image := int64(volumeBytes) + int64(volumeBytes)/32
	l, err := erasure.NewLayout(min(image, erasure.MaxImageLen), max(code.Data, 1), 0)
	if err != nil {
		return volumeBytes
	}
	return shardOnDrive(l)
}

// shardOnDrive is what a shard of layout l takes on its drive: its chunks
// as records, padded to 4 KiB blocks.
func shardOnDrive(l erasure.Layout) uint64 {
	return uint64(l.Chunks()) * uint64(record.Size(int(l.ChunkSize), 4096))
}

// roomToEncode checks, in planner p's view with a new open volume's
// replicas already taken from it, that the fleet can still encode every
// volume of st (vols, its volumes) not yet encoded and the new one, and
// then compact one. A
// fleet with fewer domains in service than the code is wide cannot encode
// at all, whatever the room; new volumes are not held back for that. The
// domains are counted in the state, not in p: p also leaves out drives
// that are out of reach or refused an extent a moment ago, which says
// nothing of the fleet's shape.
func (m *Manager) roomToEncode(st *state.State, vols []state.Volume, p *placement.Planner) error {
	width := m.opts.Code.Width()
	if placement.Domains(placement.Candidates(st, nil), placement.Rule{Width: width, Domain: m.opts.Domain}) < width {
		return nil
	}
	pending := uint64(1)
	for _, v := range vols {
		if v.State != state.VolumeEncoded {
			pending++
		}
	}
	need := (pending + 1) * shardBudget(m.opts.VolumeBytes, m.opts.Code)
	r := placement.Rule{Width: width, Domain: m.opts.Domain, MemberBytes: need, Shards: true}
	if n := p.Domains(r); n < width {
		return fmt.Errorf("the fleet is full: encoding the %d volumes not yet erasure-coded and a new one, and compacting one, needs %s free in each of %d %ss, and %d have it; "+
			"add drives, or delete blobs (their space comes back once their volumes are encoded or compacted)",
			pending-1, bytesize.Format(need), width, r.Domain, n)
	}
	return nil
}

// roomFor checks that every drive of shardLoc had room for its shard in
// its agent's last report, before any shard is written: a write that
// fails part way leaves chunks and tombstones that take yet more room
// until the agent compacts its pool. A compaction writes a volume's new
// shards on the drives of its old ones, so it has to wait, after the
// deletes it follows, for those drives' agents to compact their pools.
func (m *Manager) roomFor(shardLoc Location, h *erasure.Header) error {
	need := shardOnDrive(h.Layout())
	for _, ho := range shardLoc.Holders {
		v, ok := m.fleet.Drive(ho.Drive)
		if !ok {
			continue // no report yet: the writes will tell
		}
		if room := v.Report.FreeBytes + v.Report.PoolRoomBytes; room < need {
			return fmt.Errorf("drive %s has room for %s, less than a shard of %s: waiting for its agent to free space (compacting its shard pool)",
				ho.Drive, bytesize.Format(room), bytesize.Format(need))
		}
	}
	return nil
}
