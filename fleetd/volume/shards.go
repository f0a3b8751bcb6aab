package volume

import (
	"context"
	"fmt"
	"github.com/shingle-storage/shingle/internal/pace"

	"connectrpc.com/connect"
	"github.com/shingle-storage/shingle/agent/datapath"
	agentv1 "github.com/shingle-storage/shingle/api/agent/v1"
	"github.com/shingle-storage/shingle/fleetd/erasure"
	"github.com/shingle-storage/shingle/fleetd/state"
)

// freshExtent makes the extent of a new replica on its drive, empty: an
// extent already there under that id is left over from an attempt that
// never committed (the state does not name this drive for this member),
// so it is deleted first.
func (m *Manager) freshExtent(ctx context.Context, h Holder) error {
	ctl := m.agents.Control(h.Address)
	_, err := ctl.CreateExtent(ctx, connect.NewRequest(&agentv1.CreateExtentRequest{Drive: h.Drive, Id: h.Extent}))
	if connect.CodeOf(err) == connect.CodeAlreadyExists {
		if _, err := ctl.DeleteExtent(ctx, connect.NewRequest(&agentv1.DeleteExtentRequest{Drive: h.Drive, Extent: h.Extent})); err != nil {
			return fmt.Errorf("removing the leftover extent %d on drive %s: %w", h.Extent, h.Drive, err)
		}
		_, err = ctl.CreateExtent(ctx, connect.NewRequest(&agentv1.CreateExtentRequest{Drive: h.Drive, Id: h.Extent}))
	}
	if err != nil {
		if connect.CodeOf(err) == connect.CodeResourceExhausted {
			m.noteRefusal(h.Drive)
		}
		return fmt.Errorf("creating extent %d on drive %s (agent %s): %w", h.Extent, h.Drive, h.Address, err)
	}
	return nil
}

// writeShard stores shard i of a volume's image of the given epoch (its
// chunks, then the header) in the shard pool of h's drive.
func (m *Manager) writeShard(ctx context.Context, h Holder, vol uint64, epoch uint32, i int, shard []byte, header []byte, chunk int64, pacer *pace.Pacer) error {
	chunks := (int64(len(shard)) + chunk - 1) / chunk
	err := forEachChunk(ctx, chunks, chunkWorkers, func(ctx context.Context, c int64) error {
		part := shard[c*chunk : min((c+1)*chunk, int64(len(shard)))]
		if err := pacer.Wait(ctx, len(part)); err != nil {
			return err
		}
		if err := m.putFresh(ctx, h, erasure.ChunkKey(vol, epoch, i, c), part); err != nil {
			return fmt.Errorf("shard %d chunk %d to drive %s: %w", i, c, h.Drive, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := m.putFresh(ctx, h, erasure.HeaderKey(vol, epoch, i), header); err != nil {
		return fmt.Errorf("shard %d header to drive %s: %w", i, h.Drive, err)
	}
	return nil
}

// putFresh stores a shard blob in h's pool. A blob already there under
// the key is left from an attempt that never committed (the state does
// not place this shard on this drive), so it is deleted and the put
// made again.
func (m *Manager) putFresh(ctx context.Context, h Holder, key datapath.Key, b []byte) error {
	err := m.agents.Data.Put(ctx, h.Address, h.Drive, h.Extent, key, b)
	if datapath.IsCode(err, "already_exists") {
		if err := m.agents.Data.Delete(ctx, h.Address, h.Drive, h.Extent, key); err != nil && !isGone(err) {
			return err
		}
		err = m.agents.Data.Put(ctx, h.Address, h.Drive, h.Extent, key, b)
	}
	if datapath.IsCode(err, "resource_exhausted") {
		m.noteRefusal(h.Drive)
	}
	return err
}

// dropMember removes what member h of vol left on its drive: the extent
// of a replica, or the chunks and then the header of a shard (a shard
// whose removal was cut short keeps its header, so the cross-check finds
// it again). A member never written, or already removed, is fine.
func (m *Manager) dropMember(ctx context.Context, vol state.Volume, h Holder) error {
	if h.Extent != datapath.PoolExtent {
		return m.deleteExtent(ctx, h)
	}
	del := func(ctx context.Context, key datapath.Key) error {
		if err := m.agents.Data.Delete(ctx, h.Address, h.Drive, h.Extent, key); err != nil && !isGone(err) {
			return err
		}
		return nil
	}
	chunks := int64(vol.MemberBytes) / int64(m.opts.ChunkSize)
	err := forEachChunk(ctx, chunks, chunkWorkers, func(ctx context.Context, c int64) error {
		return del(ctx, erasure.ChunkKey(uint64(vol.ID), vol.Epoch, h.Index, c))
	})
	if err != nil {
		return err
	}
	return del(ctx, erasure.HeaderKey(uint64(vol.ID), vol.Epoch, h.Index))
}

// readShard reads shard i of a volume's image of the given epoch back from
// h, chunk by chunk (each chunk's CRC32C checked on the way), into a
// buffer of shardLen bytes.
func (m *Manager) readShard(ctx context.Context, h Holder, vol uint64, epoch uint32, i int, shardLen, chunk int64) ([]byte, error) {
	out := make([]byte, shardLen)
	err := forEachChunk(ctx, (shardLen+chunk-1)/chunk, chunkWorkers, func(ctx context.Context, c int64) error {
		b, err := m.agents.Data.Get(ctx, h.Address, h.Drive, h.Extent, erasure.ChunkKey(vol, epoch, i, c))
		if err != nil {
			return fmt.Errorf("shard %d chunk %d from drive %s: %w", i, c, h.Drive, err)
		}
		if want := min(chunk, shardLen-c*chunk); int64(len(b)) != want {
			return fmt.Errorf("shard %d chunk %d from drive %s: %d bytes, want %d", i, c, h.Drive, len(b), want)
		}
		copy(out[c*chunk:], b)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// readHeader reads the header stored with shard i of a volume's image of
// the given epoch from h.
func (m *Manager) readHeader(ctx context.Context, h Holder, vol uint64, epoch uint32, i int) (*erasure.Header, error) {
	b, err := m.agents.Data.Get(ctx, h.Address, h.Drive, h.Extent, erasure.HeaderKey(vol, epoch, i))
	if err != nil {
		return nil, err
	}
	return erasure.DecodeHeader(b)
}

// deleteExtent deletes a member's extent on its agent; a missing one is
// already gone.
func (m *Manager) deleteExtent(ctx context.Context, h Holder) error {
	_, err := m.agents.Control(h.Address).DeleteExtent(ctx, connect.NewRequest(&agentv1.DeleteExtentRequest{Drive: h.Drive, Extent: h.Extent}))
	if err != nil && connect.CodeOf(err) != connect.CodeNotFound {
		return err
	}
	return nil
}

// isGone reports whether err says the agent does not have the blob or
// extent asked for.
func isGone(err error) bool {
	return datapath.IsCode(err, "not_found")
}
