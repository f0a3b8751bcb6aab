package client

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/shingle-storage/shingle/agent/datapath"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/fleetd/erasure"
)

// codedVolume is what a reader keeps of an encoded volume's image: its
// header (the layout, the shard checksums and the index fences), its codec,
// and its epoch (a compaction writes a new image under the next one).
type codedVolume struct {
	header *erasure.Header
	codec  *erasure.Codec
	epoch  uint32
}

// getCoded reads a blob from an erasure-coded volume: it finds the blob
// in the volume's index (one index page, read from the image), then reads
// the blob's bytes from the data shard that holds them. A shard that
// cannot be read is rebuilt for just the chunks the read needs, from the
// same chunks of the shards the code's repair plan names.
func (c *Client) getCoded(ctx context.Context, loc *fleetv1.Location, key datapath.Key) ([]byte, error) {
	cv, e, err := c.findCoded(ctx, loc, key)
	if err != nil {
		return nil, err
	}
	blob, err := c.readImage(ctx, loc, cv, int64(e.Offset), int64(e.Len))
	if err != nil {
		return nil, fmt.Errorf("client: volume %d blob %x: %w", cv.header.Volume, key[:8], err)
	}
	if err := e.Verify(blob); err != nil {
		return nil, err
	}
	return blob, nil
}

// findCoded finds key's entry in the index of the encoded volume at loc,
// reading one index page.
func (c *Client) findCoded(ctx context.Context, loc *fleetv1.Location, key datapath.Key) (*codedVolume, erasure.IndexEntry, error) {
	cv, err := c.codedVolume(ctx, loc)
	if err != nil {
		return nil, erasure.IndexEntry{}, err
	}
	h := cv.header
	notFound := func() error { return fmt.Errorf("%w: volume %d has no key %x", ErrNotFound, h.Volume, key[:8]) }
	ref, ok := h.Lookup(erasure.Key(key))
	if !ok {
		return nil, erasure.IndexEntry{}, notFound()
	}
	page, err := c.readImage(ctx, loc, cv, ref.Offset, ref.Len)
	if err != nil {
		return nil, erasure.IndexEntry{}, fmt.Errorf("client: volume %d index page %d: %w", h.Volume, ref.Page, err)
	}
	e, found, err := h.Find(ref, page, erasure.Key(key))
	if err != nil {
		return nil, erasure.IndexEntry{}, err
	}
	if !found {
		return nil, erasure.IndexEntry{}, notFound()
	}
	return cv, e, nil
}

// codedVolume returns the header of an encoded volume, read from the
// first holder that has it, and caches it.
func (c *Client) codedVolume(ctx context.Context, loc *fleetv1.Location) (*codedVolume, error) {
	id := loc.GetVolume().GetId()
	c.mu.Lock()
	cv := c.coded[id]
	c.mu.Unlock()
	epoch := loc.GetVolume().GetEpoch()
	if cv != nil && cv.epoch == epoch && cv.header.Generation <= loc.GetVolume().GetGeneration() {
		return cv, nil
	}
	var errs []error
	for _, ho := range preferHealthy(loc.GetHolders()) {
		b, err := c.data.Get(ctx, ho.GetAddress(), ho.GetDrive(), ho.GetExtent(), erasure.HeaderKey(id, epoch, int(ho.GetIndex())))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		h, err := erasure.DecodeHeader(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("shard %d header: %w", ho.GetIndex(), err))
			continue
		}
		codec, err := erasure.NewCodec(h.Scheme)
		if err != nil {
			return nil, err
		}
		cv = &codedVolume{header: h, codec: codec, epoch: epoch}
		c.mu.Lock()
		c.coded[id] = cv
		c.mu.Unlock()
		return cv, nil
	}
	return nil, fmt.Errorf("client: no shard of volume %d gave its header: %w", id, errors.Join(errs...))
}

// readImage reads image bytes [off, off+n) of an encoded volume.
func (c *Client) readImage(ctx context.Context, loc *fleetv1.Location, cv *codedVolume, off, n int64) ([]byte, error) {
	pieces, err := cv.header.Layout().Pieces(off, n)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, n)
	for _, p := range pieces {
		b, err := c.readShardRange(ctx, loc, cv, p.Shard, p.Offset, p.Len)
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	return out, nil
}

// readShardRange reads bytes [off, off+n) of shard i: from the shard if it
// answers, else rebuilt from other shards.
func (c *Client) readShardRange(ctx context.Context, loc *fleetv1.Location, cv *codedVolume, i int, off, n int64) ([]byte, error) {
	h := cv.header
	first, last := h.Layout().ChunkRange(off, n)
	b, err := c.readChunks(ctx, loc, cv, i, first, last)
	if err == nil {
		return b[off-first*h.ChunkSize:][:n], nil
	}
	if ctx.Err() != nil {
		return nil, err
	}
	// Degraded: rebuild the chunks of shard i from the same chunks of
	// the shards the repair plan names.
	rebuilt, _, rerr := cv.codec.RebuildFrom(nil, i, func(s int) ([]byte, error) {
		return c.readChunks(ctx, loc, cv, s, first, last)
	})
	if rerr != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("client: shard %d of volume %d is unreadable (%w) and cannot be rebuilt: %w", i, h.Volume, err, rerr)
	}
	return rebuilt[off-first*h.ChunkSize:][:n], nil
}

// readChunks reads chunks first..last of shard i from its holder, each
// chunk's CRC32C checked by the data path; the last chunk of a shard may
// be short only if the shard is.
func (c *Client) readChunks(ctx context.Context, loc *fleetv1.Location, cv *codedVolume, i int, first, last int64) ([]byte, error) {
	h := cv.header
	hs := loc.GetHolders()
	idx := slices.IndexFunc(hs, func(ho *fleetv1.Holder) bool { return int(ho.GetIndex()) == i })
	if idx < 0 {
		return nil, fmt.Errorf("volume %d has no holder of shard %d", h.Volume, i)
	}
	ho := hs[idx]
	out := make([]byte, 0, (last-first+1)*h.ChunkSize)
	for ch := first; ch <= last; ch++ {
		b, err := c.data.Get(ctx, ho.GetAddress(), ho.GetDrive(), ho.GetExtent(), erasure.ChunkKey(h.Volume, cv.epoch, i, ch))
		if err != nil {
			return nil, err
		}
		if int64(len(b)) != min(h.ChunkSize, h.ShardLen-ch*h.ChunkSize) {
			return nil, fmt.Errorf("shard %d chunk %d of volume %d is %d bytes, not %d", i, ch, h.Volume, len(b), h.ChunkSize)
		}
		out = append(out, b...)
	}
	return out, nil
}
