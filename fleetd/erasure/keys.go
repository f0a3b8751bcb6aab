package erasure

import (
	"crypto/sha256"
	"encoding/binary"
)

// Shards are stored on agents as blobs in the shard's extent: one blob
// per chunk of the shard, and one blob holding the header. Their keys are
// derived from what they are, so a reader computes the key of any chunk
// without an index, and the keys of different volumes and shards never
// collide on a drive.
//
// The epoch counts rewrites of a volume's image (compactions, which leave
// deleted blobs out). A compaction writes the new image's shards beside
// the old ones, under keys of the next epoch, before the old ones are
// deleted; readers holding either epoch find their own. Epoch 0 is the
// image the encoding wrote, and its keys leave the epoch out.

// ChunkKey is the key of chunk c of shard i of a volume's image of the
// given epoch.
func ChunkKey(volume uint64, epoch uint32, shard int, chunk int64) Key {
	return derivedKey("shingle/shard-chunk", epoch, volume, uint64(shard), uint64(chunk))
}

// HeaderKey is the key of the header stored with shard i of a volume's
// image of the given epoch.
func HeaderKey(volume uint64, epoch uint32, shard int) Key {
	return derivedKey("shingle/shard-header", epoch, volume, uint64(shard), 0)
}

// derivedKey hashes a purpose, an epoch (when not 0) and three numbers
// into a key.
func derivedKey(purpose string, epoch uint32, a, b, c uint64) Key {
	buf := make([]byte, 0, len(purpose)+28)
	buf = append(buf, purpose...)
	if epoch != 0 {
		buf = binary.BigEndian.AppendUint32(buf, epoch)
	}
	buf = binary.BigEndian.AppendUint64(buf, a)
	buf = binary.BigEndian.AppendUint64(buf, b)
	buf = binary.BigEndian.AppendUint64(buf, c)
	return sha256.Sum256(buf)
}
