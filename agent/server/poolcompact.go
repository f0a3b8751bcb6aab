package server

import (
	"context"
	"errors"
	"time"

	"github.com/shingle-storage/shingle/agent/extent"
)

// Pool compaction. Shards leave a drive's pool by tombstones: a volume
// encoded again after a failed attempt, a shard rebuilt elsewhere, a
// volume's image rewritten without its deleted blobs (fleetd compacts
// volumes under a new epoch and deletes the old shards). Their space
// comes back only when the sealed pool extent that holds them is
// compacted: its live chunks copied into a new pool extent and its zones
// reset. Pool extents are found by key, never by id, so compaction can
// move chunks freely.

// PoolCompaction is how the agent compacts its drives' shard pools.
type PoolCompaction struct {
	// Interval is how often each drive's sealed pool extents are looked
	// at; 0 turns pool compaction off.
	Interval time.Duration
	// MinReclaimable is the share (0 to 1) of a pool extent's bytes that
	// compacting it must free for it to be compacted (0.5).
	MinReclaimable float64
	// BytesPerSecond caps how fast a compaction copies (0: no cap).
	BytesPerSecond uint64
}

// runPoolCompaction compacts the shard pools of every drive each
// Interval until ctx ends.
func (s *Server) runPoolCompaction(ctx context.Context, c PoolCompaction) {
	if c.Interval <= 0 {
		return
	}
	if c.MinReclaimable <= 0 {
		c.MinReclaimable = 0.5
	}
	tick := time.NewTicker(c.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, d := range s.drives.list {
			n, freed, err := d.compactPool(ctx, c)
			switch {
			case err != nil && ctx.Err() == nil:
				s.log.Warn("pool compaction stopped; the next round carries on", "drive", d.ID, "err", err)
			case n > 0:
				s.log.Info("compacted pool extents", "drive", d.ID, "extents", n, "freed_bytes", freed)
			}
		}
	}
}

// compactPool finishes pool compactions a restart interrupted, then
// compacts every sealed pool extent whose compaction would free at least
// c.MinReclaimable of it. It returns how many it compacted and the bytes
// that freed.
func (d *Drive) compactPool(ctx context.Context, c PoolCompaction) (int, int64, error) {
	var todo []extent.Info
	for _, in := range d.Store.List() {
		if isPool(in.ID) && in.CompactingFrom != 0 {
			todo = append(todo, extent.Info{ID: in.CompactingFrom})
		}
	}
	for _, in := range d.Store.Candidates(c.MinReclaimable) {
		if isPool(in.ID) {
			todo = append(todo, in)
		}
	}
	n, freed := 0, int64(0)
	for _, in := range todo {
		if ctx.Err() != nil {
			return n, freed, ctx.Err()
		}
		d.pool.mu.Lock()
		id := d.pool.nextID(d.Store)
		d.pool.mu.Unlock()
		_, err := d.Store.Compact(ctx, in.ID, extent.CompactOptions{BytesPerSecond: int64(c.BytesPerSecond), ID: id})
		if errors.Is(err, extent.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return n, freed, err
		}
		n++
		freed += in.Reclaimable
	}
	return n, freed, nil
}
