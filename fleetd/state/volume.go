package state

import "slices"

// VolumeID names a volume. Ids are handed out by the state machine in log
// order and never reused, so a blob locator that names a volume stays
// unambiguous forever.
type VolumeID uint64

// VolumeState is where a volume is in the durability pipeline:
// replicate → seal → encode. (Verification and the deletion of the
// replicas happen between sealed and encoded and are tracked by the
// durability workflow, not here.)
type VolumeState string

const (
	// VolumeOpen is a replicated volume that accepts appends.
	VolumeOpen VolumeState = "open"
	// VolumeSealed is a volume that accepts no more appends and waits to be
	// erasure coded. Its replicas are still its only copy.
	VolumeSealed VolumeState = "sealed"
	// VolumeEncoded is a volume whose data lives as erasure-coded shards on
	// its placement.
	VolumeEncoded VolumeState = "encoded"
)

// Volume is the unit of placement and durability: about 1 GiB of blobs,
// replicated while open and erasure coded once sealed.
type Volume struct {
	// ID names the volume.
	ID VolumeID `json:"id"`
	// Scheme is how the volume is kept durable now: replication while open
	// or sealed, a code once encoded.
	Scheme Scheme `json:"scheme"`
	// State is where the volume is in the durability pipeline.
	State VolumeState `json:"state"`
	// Placement lists the drives holding the volume: one per replica, or
	// for a coded volume one per shard in shard order (Placement[i] holds
	// shard i). Its length is always Scheme.Width().
	Placement []string `json:"placement"`
	// Generation increases by one on every change of where the volume's
	// data is (a member replaced, the volume encoded or compacted). A drive that presents an older
	// generation for the volume is fenced: it missed a change and must not
	// serve or accept writes for it.
	Generation uint64 `json:"generation"`
	// MemberBytes is the space each member reserves on its drive: the
	// volume size for a replica, the shard size for a coded member.
	// Placement subtracts it from a drive's free space, so decisions made
	// between two agent reports do not over-commit a drive.
	MemberBytes uint64 `json:"member_bytes"`
	// Epoch counts the rewrites of a coded volume's image: 0 for the image
	// its encoding wrote, one more for each compaction since. The keys of
	// its shards on the agents are derived from it, so a compaction writes
	// the new shards beside the old ones and readers of either find theirs.
	Epoch uint32 `json:"epoch,omitempty"`
	// Blobs is how many blobs the coded image holds (0 while replicated).
	Blobs uint64 `json:"blobs,omitempty"`
	// Deleted lists the blobs deleted after the volume was sealed, as
	// lowercase hex keys in ascending order. Their bytes are still in the
	// sealed replicas or the coded image: readers treat them as gone, and
	// the encoding or the next compaction leaves them out (see
	// DeleteBlobs and CompactVolume).
	Deleted []string `json:"deleted,omitempty"`
}

// clone returns a copy that shares nothing mutable with v.
func (v Volume) clone() Volume {
	v.Placement = slices.Clone(v.Placement)
	v.Deleted = slices.Clone(v.Deleted)
	return v
}

// IsDeleted reports whether the blob with hex key was deleted after the
// volume was sealed.
func (v Volume) IsDeleted(key string) bool {
	_, found := slices.BinarySearch(v.Deleted, key)
	return found
}

// Member reports the position of drive in the volume's placement, or -1.
func (v Volume) Member(drive string) int {
	return slices.Index(v.Placement, drive)
}
