package volume

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/shingle-storage/shingle/fleetd/erasure"
	"github.com/shingle-storage/shingle/fleetd/state"
)

// Compaction of coded volumes. A blob deleted from a sealed volume is only
// recorded (state.DeleteBlobs): its bytes stay in the coded image, whose
// shards are immutable. Once enough of a volume is deleted, the leader
// rewrites its image without them, on the same drives: it reads the
// image from the data shards, builds and encodes a new one with only the
// live blobs, writes its shards beside the old ones under the next
// epoch's keys, verifies them as an encoding does, records the new epoch
// (a compare-and-swap on the generation), and only then deletes the old
// shards. A reader holding the old location keeps reading the old shards
// until they go, then asks fleetd again and finds the new ones.

// compactDeleted compacts, one at a time and starting none after until,
// the encoded volumes whose deleted blobs reach CompactDeleted of their
// blobs.
func (m *Manager) compactDeleted(ctx context.Context, until time.Time) {
	if m.opts.CompactDeleted <= 0 {
		return
	}
	var todo []state.VolumeID
	m.fleet.Read(func(st *state.State) {
		for _, v := range st.Volumes() {
			if v.State == state.VolumeEncoded && len(v.Deleted) > 0 &&
				float64(len(v.Deleted)) >= m.opts.CompactDeleted*float64(v.Blobs) {
				todo = append(todo, v.ID)
			}
		}
	})
	for _, id := range todo {
		if ctx.Err() != nil || time.Now().After(until) {
			return
		}
		loc, ok := m.Locate(id)
		if !ok || loc.Volume.State != state.VolumeEncoded {
			continue
		}
		// A volume missing a member is repaired first: the new image goes
		// to the same drives, and every one must take it.
		if lost := m.lostMembers(loc, false); len(lost) > 0 {
			continue
		}
		// Nor is a volume with a member on a draining drive rewritten:
		// the new image would go to that drive, to be moved again.
		if len(drainingMembers(loc)) > 0 {
			continue
		}
		start := time.Now()
		freed, err := m.Compact(ctx, loc)
		if err != nil {
			m.log.Warn("compacting volume failed; will retry", "volume", id, "err", err)
			continue
		}
		m.log.Info("compacted volume", "volume", id, "deleted_blobs", len(loc.Volume.Deleted), "freed_bytes", freed,
			"took", time.Since(start).Round(time.Millisecond))
		m.mu.Lock()
		m.status.compacted++
		m.status.compactedBytes += freed
		m.mu.Unlock()
	}
}

// Compact rewrites the image of the encoded volume at loc without the
// blobs deleted from it, under the next epoch, and deletes the old
// shards. It returns the shard bytes freed across the members.
func (m *Manager) Compact(ctx context.Context, loc Location) (uint64, error) {
	vol := loc.Volume
	codec, err := erasure.NewCodec(erasureScheme(vol.Scheme))
	if err != nil {
		return 0, err
	}
	h, image, err := m.readImage(ctx, loc)
	if err != nil {
		return 0, fmt.Errorf("reading the image: %w", err)
	}
	entries, err := erasure.DecodeIndexPage(image[h.IndexOffset:h.ImageLen])
	if err != nil {
		return 0, fmt.Errorf("reading the image's index: %w", err)
	}
	deleted := deletedSet(vol)
	b, err := erasure.NewBuilder(codec, erasure.BuilderOptions{Volume: uint64(vol.ID), Generation: vol.Generation + 1,
		ChunkSize: h.ChunkSize, SizeHint: int64(h.IndexOffset)})
	if err != nil {
		return 0, err
	}
	var purged []string
	for _, e := range entries {
		if hk := hex.EncodeToString(e.Key[:]); deleted[hk] {
			purged = append(purged, hk)
			continue
		}
		blob := image[e.Offset : e.Offset+uint64(e.Len)]
		if err := e.Verify(blob); err != nil {
			return 0, fmt.Errorf("the image read back is damaged: %w", err)
		}
		if err := b.Add(e.Key, blob); err != nil {
			return 0, err
		}
	}
	enc, err := b.Finish()
	if err != nil {
		return 0, err
	}
	next := vol
	next.Epoch, next.MemberBytes = vol.Epoch+1, uint64(enc.Header.ShardLen)
	newLoc, err := m.storeImage(ctx, next, codec, enc)
	if err != nil {
		return 0, err
	}
	if _, err := m.fleet.Propose(ctx, &state.CompactVolume{ID: vol.ID, ExpectedGeneration: vol.Generation, Epoch: next.Epoch,
		Purged: purged, Blobs: enc.Header.BlobCount, MemberBytes: next.MemberBytes}); err != nil {
		if refused(err) { // else the new shards may be the recorded ones
			m.abandon(ctx, next, newLoc)
		}
		return 0, fmt.Errorf("recording the compaction: %w", err)
	}
	// The old epoch's shards are no longer named: delete them.
	var wg sync.WaitGroup
	for _, ho := range loc.Holders {
		wg.Go(func() {
			if err := m.dropMember(ctx, vol, ho); err != nil {
				m.log.Warn("could not delete a compacted volume's old shard yet; will retry", "volume", vol.ID, "drive", ho.Drive, "err", err)
				m.mu.Lock()
				m.leftovers = append(m.leftovers, leftover{h: ho, vol: vol})
				m.mu.Unlock()
			}
		})
	}
	wg.Wait()
	if next.MemberBytes >= vol.MemberBytes {
		return 0, nil // shards are whole chunks: the image shrank less than one
	}
	return (vol.MemberBytes - next.MemberBytes) * uint64(len(loc.Holders)), nil
}

// readImage reads a coded volume's header and whole image from its data
// shards, every chunk checked on the way and every shard against the
// header.
func (m *Manager) readImage(ctx context.Context, loc Location) (*erasure.Header, []byte, error) {
	vol := loc.Volume
	h, err := m.readHeader(ctx, loc.Holders[0], uint64(vol.ID), vol.Epoch, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("the header beside shard 0: %w", err)
	}
	k := h.Scheme.Data
	shards := make([][]byte, k)
	errs := make([]error, k)
	var wg sync.WaitGroup
	for i := range k {
		wg.Go(func() {
			b, err := m.readShard(ctx, loc.Holders[i], uint64(vol.ID), vol.Epoch, i, h.ShardLen, h.ChunkSize)
			if err == nil {
				err = h.CheckShard(i, b)
			}
			shards[i], errs[i] = b, err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	image := make([]byte, 0, h.ShardLen*int64(k))
	for _, s := range shards {
		image = append(image, s...)
	}
	return h, image[:h.ImageLen], nil
}
