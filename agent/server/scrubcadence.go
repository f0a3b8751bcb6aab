package server

import (
	"context"
	"slices"
	"time"

	"github.com/shingle-storage/shingle/agent/extent"
)

// Scrubbing is the agent's own scrub cadence: every drive's sealed
// extents are read back and checked against their seals once per
// Interval, so bit rot is found while the other copies of the data are
// still whole. Extents a scrub finds damaged are reported in every
// heartbeat until they are deleted; fleetd then rebuilds the volume
// member they hold elsewhere.
type Scrubbing struct {
	// Interval is the time between the starts of two scrubs of a drive;
	// 0 turns the cadence off (StartScrub still works).
	Interval time.Duration
	// BytesPerSecond caps each scrub's reading (0: no cap).
	BytesPerSecond uint64
}

// runCadence starts a scrub of every drive each Interval until ctx ends.
// The first round starts one Interval after the agent does: a restart
// should not set every drive of a host reading at once.
func (s *scrubber) runCadence(ctx context.Context, ds *drives, c Scrubbing) {
	if c.Interval <= 0 {
		return
	}
	tick := time.NewTicker(c.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, d := range ds.list {
			if _, err := s.start(d, nil, c.BytesPerSecond); err != nil {
				s.log.Info("scheduled scrub not started", "drive", d.ID, "err", err)
			}
		}
	}
}

// badExtents lists the extents of d that a scrub found damaged and that
// the drive still holds, in id order.
func (s *scrubber) badExtents(d *Drive) []uint64 {
	s.mu.Lock()
	var ids []uint64
	for _, sc := range s.history[d.ID] {
		for _, f := range sc.failures {
			ids = append(ids, f.GetExtent())
		}
	}
	s.mu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	held := map[uint64]bool{}
	for _, in := range d.Store.List() {
		if in.State != extent.StateOpen {
			held[in.ID] = true
		}
	}
	ids = slices.DeleteFunc(slices.Compact(slices.Sorted(slices.Values(ids))), func(id uint64) bool { return !held[id] })
	return ids
}
