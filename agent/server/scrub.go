package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/shingle-storage/shingle/agent/extent"
	agentv1 "github.com/shingle-storage/shingle/api/agent/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// scrubber runs scrubs: Store.Verify over a drive's sealed extents, in the
// background, one scrub per drive at a time. It keeps each drive's running
// or last scrub, with the extents that failed, until the agent stops.
type scrubber struct {
	log    *slog.Logger
	ctx    context.Context // ends when the agent stops
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	stopped bool
	last    map[string]*scrub // by drive id
	// history keeps each drive's recent scrubs that found damage, so a
	// damaged extent stays reported after a later scrub skips it.
	history map[string][]*scrub

	bytes    *prometheus.CounterVec
	verified *prometheus.CounterVec
	failures *prometheus.CounterVec
	running  *prometheus.GaugeVec
	failing  *prometheus.GaugeVec
	lastDone *prometheus.GaugeVec
}

// scrub is one scrub of a drive. Its fields are guarded by scrubber.mu.
type scrub struct {
	drive             string
	state             agentv1.ScrubState
	started, finished time.Time
	bytesPerSecond    uint64
	total             int
	checked, skipped  int
	bytes             uint64
	failures          []*agentv1.ScrubFailure
}

// maxScrubHistory is how many scrubs with damage are remembered per drive.
const maxScrubHistory = 8

// scrubTarget is an extent a scrub is to check and how many bytes it holds.
type scrubTarget struct {
	id   uint64
	used int64
}

// newScrubber registers the scrub metrics of every drive in ds on reg.
func newScrubber(ds *drives, reg prometheus.Registerer, log *slog.Logger) *scrubber {
	ctx, cancel := context.WithCancel(context.Background())
	s := &scrubber{log: log, ctx: ctx, cancel: cancel, last: map[string]*scrub{}, history: map[string][]*scrub{},
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shingle_agent_scrub_bytes_total",
			Help: "Bytes of sealed extents read back and checked by scrubs, per drive.",
		}, []string{"drive"}),
		verified: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shingle_agent_scrub_extents_verified_total",
			Help: "Sealed extents read back and checked against their seal by scrubs, failing ones included, per drive.",
		}, []string{"drive"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shingle_agent_scrub_failures_total",
			Help: "Extents scrubs found not matching their seal or unreadable, per drive; GetScrub names them.",
		}, []string{"drive"}),
		running: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shingle_agent_scrub_running",
			Help: "1 while a scrub of the drive runs.",
		}, []string{"drive"}),
		failing: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shingle_agent_scrub_failing_extents",
			Help: "Extents the drive's latest scrub found failing so far; they need repair from other copies.",
		}, []string{"drive"}),
		lastDone: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shingle_agent_scrub_last_done_timestamp_seconds",
			Help: "When the drive's last scrub that checked all its extents finished, in Unix seconds; 0 if none since the agent started.",
		}, []string{"drive"}),
	}
	reg.MustRegister(s.bytes, s.verified, s.failures, s.running, s.failing, s.lastDone)
	for _, d := range ds.list {
		for _, v := range []*prometheus.CounterVec{s.bytes, s.verified, s.failures} {
			v.WithLabelValues(d.ID)
		}
		for _, v := range []*prometheus.GaugeVec{s.running, s.failing, s.lastDone} {
			v.WithLabelValues(d.ID)
		}
	}
	return s
}

// start starts a scrub of ids on d (every sealed extent if ids is empty)
// reading at most bytesPerSecond on average (0: no cap), and returns it.
// The errors are Connect errors.
func (s *scrubber) start(d *Drive, ids []uint64, bytesPerSecond uint64) (*agentv1.Scrub, error) {
	targets, err := scrubTargets(d, ids)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil, connect.NewError(connect.CodeUnavailable, errors.New("the agent is stopping; start the scrub again once it is back"))
	}
	if cur := s.last[d.ID]; cur != nil && cur.state == agentv1.ScrubState_SCRUB_STATE_RUNNING {
		return nil, connect.NewError(connect.CodeAlreadyExists, fmt.Errorf(
			"a scrub of drive %s is already running (started %s, %d of %d extents checked); GetScrub shows its progress",
			d.ID, cur.started.UTC().Format(time.RFC3339), cur.checked+cur.skipped, cur.total))
	}
	sc := &scrub{drive: d.ID, state: agentv1.ScrubState_SCRUB_STATE_RUNNING, started: time.Now(),
		bytesPerSecond: bytesPerSecond, total: len(targets)}
	s.last[d.ID] = sc
	s.running.WithLabelValues(d.ID).Set(1)
	s.failing.WithLabelValues(d.ID).Set(0)
	s.log.Info("scrub started", "drive", d.ID, "extents", len(targets), "bytes_per_second", bytesPerSecond)
	s.wg.Go(func() { s.run(d, sc, targets) })
	return sc.proto(), nil
}

// scrubTargets returns the extents of d a scrub of ids checks, in id
// order: ids, which must be sealed extents, or every sealed extent.
func scrubTargets(d *Drive, ids []uint64) ([]scrubTarget, error) {
	infos := map[uint64]extent.Info{}
	for _, in := range d.Store.List() {
		infos[in.ID] = in
	}
	var out []scrubTarget
	if len(ids) == 0 {
		for _, in := range infos {
			if in.State == extent.StateSealed {
				out = append(out, scrubTarget{id: in.ID, used: in.Used})
			}
		}
	} else {
		ids = slices.Compact(slices.Sorted(slices.Values(ids)))
		for _, id := range ids {
			in, ok := infos[id]
			switch {
			case !ok:
				return nil, connectError(fmt.Errorf("%w: drive %s has no extent %d; ListExtents shows its extents", extent.ErrNotFound, d.ID, id))
			case in.State != extent.StateSealed:
				return nil, connect.NewError(connect.CodeFailedPrecondition,
					fmt.Errorf("extent %d is %v: only sealed extents can be scrubbed (an open one has no seal to check against)", id, in.State))
			}
			out = append(out, scrubTarget{id: id, used: in.Used})
		}
	}
	slices.SortFunc(out, func(a, b scrubTarget) int { return cmp.Compare(a.id, b.id) })
	return out, nil
}

// run verifies targets one after the other, pausing between them to keep
// under the scrub's rate.
func (s *scrubber) run(d *Drive, sc *scrub, targets []scrubTarget) {
	var read uint64
	state := agentv1.ScrubState_SCRUB_STATE_DONE
	for _, t := range targets {
		if s.ctx.Err() != nil {
			state = agentv1.ScrubState_SCRUB_STATE_STOPPED
			break
		}
		err := d.Store.Verify(s.ctx, t.id)
		if s.ctx.Err() != nil {
			// Stopped in the middle of the extent: it was not checked.
			state = agentv1.ScrubState_SCRUB_STATE_STOPPED
			break
		}
		s.mu.Lock()
		switch {
		case errors.Is(err, extent.ErrNotFound):
			// Deleted, or compacted into another extent, since the scrub
			// began.
			sc.skipped++
		default:
			sc.checked++
			sc.bytes += uint64(t.used)
			read += uint64(t.used)
			s.verified.WithLabelValues(d.ID).Inc()
			s.bytes.WithLabelValues(d.ID).Add(float64(t.used))
			if err != nil {
				sc.failures = append(sc.failures, &agentv1.ScrubFailure{Extent: t.id, Error: err.Error()})
				s.failures.WithLabelValues(d.ID).Inc()
				s.failing.WithLabelValues(d.ID).Inc()
				s.log.Warn("scrub: extent failed; repair it from other copies", "drive", d.ID, "extent", t.id, "err", err)
			}
		}
		s.mu.Unlock()
		if sc.bytesPerSecond > 0 {
			due := sc.started.Add(time.Duration(float64(read) / float64(sc.bytesPerSecond) * float64(time.Second)))
			if wait := time.Until(due); wait > 0 {
				select {
				case <-s.ctx.Done():
				case <-time.After(wait):
				}
			}
		}
	}
	s.mu.Lock()
	sc.state, sc.finished = state, time.Now()
	if len(sc.failures) > 0 {
		h := append(s.history[d.ID], sc)
		s.history[d.ID] = h[max(0, len(h)-maxScrubHistory):]
	}
	s.running.WithLabelValues(d.ID).Set(0)
	if state == agentv1.ScrubState_SCRUB_STATE_DONE {
		s.lastDone.WithLabelValues(d.ID).Set(float64(sc.finished.UnixNano()) / 1e9)
	}
	checked, skipped, failed, bytes := sc.checked, sc.skipped, len(sc.failures), sc.bytes
	s.mu.Unlock()
	s.log.Info("scrub finished", "drive", d.ID, "state", state.String(), "checked", checked, "skipped", skipped,
		"failed", failed, "bytes", bytes, "took", time.Since(sc.started).Round(time.Millisecond).String())
}

// status returns d's running or last scrub, or nil.
func (s *scrubber) status(d *Drive) *agentv1.Scrub {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sc := s.last[d.ID]; sc != nil {
		return sc.proto()
	}
	return nil
}

// stop ends the scrubs that run and waits for them.
func (s *scrubber) stop() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// proto describes sc; the caller holds scrubber.mu.
func (sc *scrub) proto() *agentv1.Scrub {
	out := &agentv1.Scrub{
		Drive: sc.drive, State: sc.state, StartedAt: timestamppb.New(sc.started), BytesPerSecond: sc.bytesPerSecond,
		ExtentsTotal: uint32(sc.total), ExtentsChecked: uint32(sc.checked), ExtentsSkipped: uint32(sc.skipped),
		BytesChecked: sc.bytes,
	}
	if !sc.finished.IsZero() {
		out.FinishedAt = timestamppb.New(sc.finished)
	}
	for _, f := range sc.failures {
		out.Failures = append(out.Failures, &agentv1.ScrubFailure{Extent: f.GetExtent(), Error: f.GetError()})
	}
	return out
}
