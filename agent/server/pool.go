package server

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/shingle-storage/shingle/agent/datapath"
	"github.com/shingle-storage/shingle/agent/extent"
	"github.com/shingle-storage/shingle/agent/record"
)

// The shard pool. A shard of an erasure-coded volume is a sixth (RS(6,3))
// or a twelfth (LRC(12,2,2)) of the volume, and a volume fills an extent:
// an extent per shard would waste most of every one. So fleetd writes
// shard chunks to the drive's pool (datapath.PoolExtent in the URL) and
// the agent appends them to its current pool extent, sealing it when full
// and opening the next. Pool extents have ids in (PoolExtent, 2·PoolExtent),
// so after a restart the agent finds the one it was filling.

// poolLimit is where pool extent ids end.
const poolLimit = 2 * datapath.PoolExtent

// shardPool is a drive's pool: the extent being filled.
type shardPool struct {
	mu  sync.Mutex
	cur uint64 // 0 until known
	// last is the highest pool extent id given out since the agent
	// started: a compaction's destination is named before it exists.
	last uint64
	// retired are pool extents given up on; one being sealed still lists
	// as open, and must not be picked again meanwhile.
	retired map[uint64]bool
}

// isPool reports whether id is a pool extent's.
func isPool(id uint64) bool { return id > datapath.PoolExtent && id < poolLimit }

// current returns the pool extent to write to: the one being filled, or
// an open one left from before a restart, or a new one.
func (p *shardPool) current(s *extent.Store) (uint64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur != 0 {
		return p.cur, nil
	}
	if in, ok := p.leftOpen(s); ok {
		p.cur = in.ID
		return p.cur, nil
	}
	id := p.nextID(s)
	if err := s.CreateExtentID(id); err != nil {
		return 0, fmt.Errorf("opening a pool extent: %w", err)
	}
	p.cur = id
	return p.cur, nil
}

// leftOpen finds the pool extent to go on filling when none is being
// filled: the newest one still open, left from before a restart. p.mu is
// held.
func (p *shardPool) leftOpen(s *extent.Store) (extent.Info, bool) {
	var best extent.Info
	for _, in := range s.List() {
		// A compaction's destination is open but takes only its copies.
		if isPool(in.ID) && in.State == extent.StateOpen && in.CompactingFrom == 0 && in.ID > best.ID && !p.retired[in.ID] {
			best = in
		}
	}
	return best, best.ID != 0
}

// room is about how many more bytes of shards the pool extent being
// filled takes (0 if there is none): space fleetd may place shards in
// besides the drive's free extents. It is an estimate: record headers and
// the seal take a little of it.
func (p *shardPool) room(s *extent.Store) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var in extent.Info
	ok := false
	if p.cur == 0 {
		in, ok = p.leftOpen(s)
	} else {
		in, ok = s.Info(p.cur)
		ok = ok && in.State == extent.StateOpen
	}
	if !ok {
		return 0
	}
	return uint64(max(int64(extentCapacity(s.Label()))-in.Used, 0))
}

// nextID gives out the next pool extent id: above every pool extent on
// the drive and every id given out before. p.mu is held.
func (p *shardPool) nextID(s *extent.Store) uint64 {
	p.last = max(p.last, datapath.PoolExtent)
	for _, in := range s.List() {
		if isPool(in.ID) {
			p.last = max(p.last, in.ID)
		}
	}
	p.last++
	return p.last
}

// retire stops writing to pool extent id (full, sealed or failed),
// sealing it if it is open, so the next write opens another.
func (p *shardPool) retire(ctx context.Context, s *extent.Store, id uint64) {
	p.mu.Lock()
	if p.cur == id {
		p.cur = 0
	}
	if p.retired == nil {
		p.retired = map[uint64]bool{}
	}
	p.retired[id] = true
	p.mu.Unlock()
	_ = s.Seal(ctx, id) // a sealed or read-only extent refuses; that is fine
}

// poolRetryable reports whether err means the pool extent written to can
// take no more, so the write should go to a fresh one.
func poolRetryable(err error) bool {
	return errors.Is(err, extent.ErrExtentFull) || errors.Is(err, extent.ErrSealed) ||
		errors.Is(err, extent.ErrReadOnly) || errors.Is(err, extent.ErrNotFound)
}

// poolPut stores a blob, whose CRC32C is sum, in the drive's pool.
func (d *Drive) poolPut(ctx context.Context, key record.Key, blob *extent.Blob, sum uint32) error {
	var err error
	for range 3 {
		var id uint64
		if id, err = d.pool.current(d.Store); err != nil {
			return err
		}
		if _, err = d.Store.PutBlob(ctx, id, key, blob, sum); !poolRetryable(err) {
			return err
		}
		d.pool.retire(ctx, d.Store, id)
	}
	return err
}

// poolDelete deletes a blob through a tombstone in the drive's pool.
func (d *Drive) poolDelete(ctx context.Context, key record.Key) error {
	var err error
	for range 3 {
		var id uint64
		if id, err = d.pool.current(d.Store); err != nil {
			return err
		}
		err = d.Store.Delete(ctx, id, key)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, extent.ErrNotFound) && d.holds(id):
			return err // the key is missing, not the extent
		case !poolRetryable(err):
			return err
		}
		d.pool.retire(ctx, d.Store, id)
	}
	return err
}

// holds reports whether the drive's store has extent id.
func (d *Drive) holds(id uint64) bool {
	for _, in := range d.Store.List() {
		if in.ID == id {
			return true
		}
	}
	return false
}
