package monitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/shingle-storage/shingle/agent/health/failslow"
	"github.com/shingle-storage/shingle/agent/health/iotime"
	"github.com/shingle-storage/shingle/agent/health/predict"
	"github.com/shingle-storage/shingle/agent/health/smart"
)

// Monitor checks a host's drives every Interval and keeps each drive's
// latest Status. Its methods are safe for concurrent use.
type Monitor struct {
	cfg    Config
	drives []*driveState
	byID   map[string]*driveState

	// tickMu serialises checks.
	tickMu sync.Mutex
	// mu guards the statuses.
	mu       sync.Mutex
	statuses map[string]*Status
}

// driveState is what the monitor keeps between checks of one drive. Only
// the check (under tickMu) touches it.
type driveState struct {
	d       Drive
	history *history
	window  *failslow.Window

	sample    smart.Sample // the latest SMART sample
	hasSample bool
	smartErr  string

	prediction predict.Prediction
	predicted  bool

	errorsSeen  uint64
	lastIOError time.Time
}

// New returns a monitor of drives. It reads the drives' saved histories
// (Config.HistoryDir) but checks nothing until Tick or Run.
func New(cfg Config, drives []Drive) (*Monitor, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m := &Monitor{cfg: cfg, byID: make(map[string]*driveState, len(drives)), statuses: map[string]*Status{}}
	start := cfg.Now()
	for _, d := range drives {
		if _, ok := m.byID[d.ID]; ok {
			return nil, fmt.Errorf("health monitor: drive %s given twice", d.ID)
		}
		path := ""
		if cfg.HistoryDir != "" {
			path = historyPath(cfg.HistoryDir, d.ID)
		}
		h, err := loadHistory(path, d.ID)
		if err != nil {
			return nil, err
		}
		s := &driveState{d: d, history: h, window: failslow.NewWindow(cfg.FailSlowWindow, start)}
		m.drives = append(m.drives, s)
		m.byID[d.ID] = s
	}
	return m, nil
}

// Config returns the monitor's configuration, defaults filled in.
func (m *Monitor) Config() Config { return m.cfg }

// Run checks every drive at once and then every Interval until ctx ends.
func (m *Monitor) Run(ctx context.Context) {
	t := time.NewTicker(m.cfg.Interval)
	defer t.Stop()
	for {
		m.Tick(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tick checks every drive once: the SMART reads run in parallel, then the
// fail-slow rule compares the drives, then each drive gets its Status.
func (m *Monitor) Tick(ctx context.Context) {
	m.tickMu.Lock()
	defer m.tickMu.Unlock()
	if ctx.Err() != nil {
		return
	}
	now := m.cfg.Now()
	type reading struct {
		zones   ZoneCounts
		zoneErr error
		stats   iotime.Stats
	}
	readings := make([]reading, len(m.drives))
	var wg sync.WaitGroup
	for i, s := range m.drives {
		wg.Go(func() {
			m.readSMART(ctx, s, now)
			r := &readings[i]
			if s.d.Zones != nil {
				r.zones, r.zoneErr = CountZones(s.d.Zones)
			}
			if s.d.IO != nil {
				// After the zone report, so that its errors count now.
				r.stats = s.d.IO.Stats()
			}
		})
	}
	wg.Wait()

	windows := make(map[string]iotime.Stats, len(m.drives))
	spans := make(map[string]time.Duration, len(m.drives))
	for i, s := range m.drives {
		if s.d.IO != nil {
			windows[s.d.ID] = s.window.Add(now, readings[i].stats)
			spans[s.d.ID] = now.Sub(s.window.Start())
		}
	}
	verdicts := m.cfg.FailSlow.Judge(windows)

	statuses := make(map[string]*Status, len(m.drives))
	for i, s := range m.drives {
		r := readings[i]
		st := &Status{Drive: s.d.ID, Checked: now, Zones: r.zones}
		if r.zoneErr != nil {
			st.ZoneError = r.zoneErr.Error()
		}
		if s.d.Damage != nil {
			st.Damage = s.d.Damage()
		}
		if s.hasSample {
			st.HasSMART, st.SMARTTime, st.Signals = true, s.sample.Time, s.sample.Signals()
		}
		st.SMARTError = s.smartErr
		if s.predicted {
			st.Predicted, st.FailureProbability, st.PredictionReasons = true, s.prediction.Probability, s.prediction.Reasons
		}
		st.HistoryDays = s.history.days()
		if s.d.IO != nil {
			st.Timed, st.IO, st.Window, st.WindowSpan, st.FailSlow = true, r.stats, windows[s.d.ID], spans[s.d.ID], verdicts[s.d.ID]
			if n := r.stats.Errors(); n > s.errorsSeen {
				s.errorsSeen, s.lastIOError = n, now
			}
			st.LastIOError = s.lastIOError
		}
		m.cfg.judge(st)
		m.logChange(st)
		statuses[s.d.ID] = st
	}
	m.mu.Lock()
	m.statuses = statuses
	m.mu.Unlock()
}

// readSMART reads a SMART sample of s's drive, if it has a reader, adds it
// to the history and runs the predictor.
func (m *Monitor) readSMART(ctx context.Context, s *driveState, now time.Time) {
	if s.d.SMART == nil {
		return
	}
	sample, err := s.d.SMART.Read(ctx)
	switch {
	case ctx.Err() != nil:
		// Stopping: this read says nothing about the drive.
		return
	case errors.Is(err, io.EOF):
		// A replay that has run out: its last sample stands.
		s.smartErr = ""
		return
	case err != nil:
		if msg := err.Error(); msg != s.smartErr {
			m.cfg.Logger.Warn("reading SMART data failed", "drive", s.d.ID, "err", err)
			s.smartErr = msg
		}
		return
	}
	s.smartErr = ""
	if sample.Time.IsZero() {
		sample.Time = now
	}
	s.sample, s.hasSample = sample, true
	changed := s.history.add(sample.PredictSample())
	if changed {
		if err := s.history.save(s.d.ID); err != nil {
			m.cfg.Logger.Warn("saving the drive's SMART history failed", "drive", s.d.ID, "err", err)
		}
	}
	if !changed && s.predicted {
		return
	}
	p, err := m.cfg.Model.Predict(s.history.samples)
	if err != nil {
		m.cfg.Logger.Warn("predicting failure failed", "drive", s.d.ID, "err", err)
		return
	}
	s.prediction, s.predicted = p, true
}

// logChange logs a drive's verdict when it differs from the last one.
func (m *Monitor) logChange(st *Status) {
	old, ok := m.Status(st.Drive)
	if ok && old.Health == st.Health {
		return
	}
	if !ok && st.Health == HealthOK {
		return
	}
	level := m.cfg.Logger.Info
	if st.Health != HealthOK {
		level = m.cfg.Logger.Warn
	}
	level("drive health", "drive", st.Drive, "health", st.Health, "reasons", st.Reasons,
		"failure_probability", st.FailureProbability, "fail_slow", st.FailSlow.Slow)
}

// Status returns the drive's status from the latest check, and false if
// the drive has not been checked yet (or is not monitored).
func (m *Monitor) Status(id string) (Status, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.statuses[id]
	if !ok {
		return Status{Drive: id, Health: HealthOK}, false
	}
	return *st, true
}
