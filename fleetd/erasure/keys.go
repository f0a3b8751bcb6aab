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

// ChunkKey is the key of chunk c of shard i of a volume.
func ChunkKey(volume uint64, shard int, chunk int64) Key {
	return derivedKey("shingle/shard-chunk", volume, uint64(shard), uint64(chunk))
}

// HeaderKey is the key of the header stored with shard i of a volume.
func HeaderKey(volume uint64, shard int) Key {
	return derivedKey("shingle/shard-header", volume, uint64(shard), 0)
}

// derivedKey hashes a purpose and three numbers into a key.
func derivedKey(purpose string, a, b, c uint64) Key {
	buf := make([]byte, 0, len(purpose)+24)
	buf = append(buf, purpose...)
	buf = binary.BigEndian.AppendUint64(buf, a)
	buf = binary.BigEndian.AppendUint64(buf, b)
	buf = binary.BigEndian.AppendUint64(buf, c)
	return sha256.Sum256(buf)
}
