package state

import (
	"encoding/hex"
	"fmt"
	"slices"
)

// Blobs deleted from sealed volumes. An open volume's blobs are deleted
// where they are, by tombstones on its replicas. A sealed volume's replicas
// take no more records and a coded volume's shards are immutable, so a
// deletion there is recorded here instead: the key joins the volume's
// Deleted list, readers treat it as gone from then on, and the bytes go
// when the volume is encoded (its image leaves the key out) or, once
// coded, when enough of it is deleted to be worth compacting: the image is
// rewritten without them under the next epoch.

// Command types of the blob deletion commands.
const (
	TypeDeleteBlobs   CommandType = "volume.delete_blobs"
	TypeCompactVolume CommandType = "volume.compact"
)

// MaxDeleteBatch bounds the keys of one DeleteBlobs command, so one entry
// of the Raft log stays small.
const MaxDeleteBatch = 1024

// DeleteBlobs records that blobs of a sealed or encoded volume are
// deleted. Deleting a key twice changes nothing, so a retried delete is
// harmless. The state cannot know which keys the volume holds (that is in
// the volume's data); the client checks that before it proposes.
type DeleteBlobs struct {
	// ID names the volume.
	ID VolumeID `json:"id"`
	// Keys are the blobs' keys, 64 lowercase hex digits each.
	Keys []string `json:"keys"`
}

// Type returns TypeDeleteBlobs.
func (*DeleteBlobs) Type() CommandType { return TypeDeleteBlobs }

func (c *DeleteBlobs) apply(s *State) (Result, *Error) {
	name := fmt.Sprintf("volume %d", c.ID)
	v, ok := s.volumes[c.ID]
	if !ok {
		return Result{}, notFoundf("%s does not exist", name)
	}
	if v.State == VolumeOpen {
		return Result{}, conflictf("%s is open; delete its blobs with tombstones on its replicas", name)
	}
	if len(c.Keys) == 0 || len(c.Keys) > MaxDeleteBatch {
		return Result{}, invalidf("%s: %d keys; send 1 to %d per command", name, len(c.Keys), MaxDeleteBatch)
	}
	for _, k := range c.Keys {
		if err := checkKey(k); err != nil {
			return Result{}, invalidf("%s: %v", name, err)
		}
	}
	v.Deleted = addKeys(v.Deleted, c.Keys)
	s.volumes[c.ID] = v
	return Result{Volume: v.ID, Generation: v.Generation}, nil
}

// CompactVolume records that a coded volume's image was rewritten without
// some of its deleted blobs: its shards are now those of Epoch, on the same
// placement. It is a compare-and-swap on the generation, like every change
// of where a volume's data is, so a repair that ran meanwhile makes the
// compaction start over rather than be lost.
type CompactVolume struct {
	// ID names the volume.
	ID VolumeID `json:"id"`
	// ExpectedGeneration is the generation the compactor read.
	ExpectedGeneration uint64 `json:"expected_generation"`
	// Epoch is the new image's epoch: one more than the volume's.
	Epoch uint32 `json:"epoch"`
	// Purged lists the deleted keys the new image leaves out; they leave
	// the volume's Deleted list. Keys deleted while the compaction ran
	// stay on it.
	Purged []string `json:"purged,omitempty"`
	// Blobs is how many blobs the new image holds.
	Blobs uint64 `json:"blobs"`
	// MemberBytes is the size of one new shard.
	MemberBytes uint64 `json:"member_bytes"`
}

// Type returns TypeCompactVolume.
func (*CompactVolume) Type() CommandType { return TypeCompactVolume }

func (c *CompactVolume) apply(s *State) (Result, *Error) {
	name := fmt.Sprintf("volume %d", c.ID)
	v, ok := s.volumes[c.ID]
	if !ok {
		return Result{}, notFoundf("%s does not exist", name)
	}
	switch {
	case v.State != VolumeEncoded:
		return Result{}, conflictf("%s is %s; only an encoded volume is compacted (encoding leaves deleted blobs out)", name, v.State)
	case v.Generation != c.ExpectedGeneration:
		return Result{}, conflictf("%s is at generation %d, not %d; its placement changed, compact it again", name, v.Generation, c.ExpectedGeneration)
	case c.Epoch != v.Epoch+1:
		return Result{}, conflictf("%s is at epoch %d; a compaction writes epoch %d, not %d", name, v.Epoch, v.Epoch+1, c.Epoch)
	case c.MemberBytes == 0:
		return Result{}, invalidf("%s: member_bytes is zero", name)
	}
	for _, k := range c.Purged {
		if err := checkKey(k); err != nil {
			return Result{}, invalidf("%s: %v", name, err)
		}
	}
	v.Deleted = removeKeys(v.Deleted, c.Purged)
	v.Epoch, v.Blobs, v.MemberBytes = c.Epoch, c.Blobs, c.MemberBytes
	v.Generation++
	s.volumes[c.ID] = v
	return Result{Volume: v.ID, Generation: v.Generation}, nil
}

// checkKey checks that k is a blob key in the form the state keeps.
func checkKey(k string) error {
	b, err := hex.DecodeString(k)
	if err != nil || len(b) != 32 || hex.EncodeToString(b) != k {
		return fmt.Errorf("key %q is not 64 lowercase hex digits", k)
	}
	return nil
}

// addKeys returns the sorted set have with keys added; have is not
// modified.
func addKeys(have, keys []string) []string {
	out := slices.Clone(have)
	for _, k := range keys {
		if i, found := slices.BinarySearch(out, k); !found {
			out = slices.Insert(out, i, k)
		}
	}
	return out
}

// removeKeys returns the sorted set have without keys; have is not
// modified.
func removeKeys(have, keys []string) []string {
	drop := make(map[string]bool, len(keys))
	for _, k := range keys {
		drop[k] = true
	}
	return slices.DeleteFunc(slices.Clone(have), func(k string) bool { return drop[k] })
}
