package failslow

import (
	"time"

	"github.com/shingle-storage/shingle/agent/health/iotime"
)

// Window turns a drive's cumulative I/O counters, read now and then, into
// the I/O of the last span of time: Add a reading each time and get back
// what happened since the reading taken span before it. It is not safe for
// concurrent use.
type Window struct {
	span     time.Duration
	readings []reading // oldest first; readings[0] is the baseline candidate
}

type reading struct {
	at    time.Time
	stats iotime.Stats
}

// NewWindow returns a window of the given span over counters that were
// zero at start (when the device was wrapped, or the monitor started).
func NewWindow(span time.Duration, start time.Time) *Window {
	return &Window{span: span, readings: []reading{{at: start}}}
}

// Add records the counters read at time at and returns the I/O since the
// newest earlier reading taken at least span before at; while there is
// none, since the oldest reading kept (so the window grows to span, then
// slides). Readings no longer needed are dropped.
func (w *Window) Add(at time.Time, stats iotime.Stats) iotime.Stats {
	cutoff := at.Add(-w.span)
	base := 0
	for i, r := range w.readings {
		if r.at.After(cutoff) {
			break
		}
		base = i
	}
	// Readings before the baseline are older than any future baseline.
	w.readings = append(w.readings[base:], reading{at: at, stats: stats})
	return stats.Sub(w.readings[0].stats)
}

// Start is the time of the reading the last Add measured from: what it
// returned is the I/O between Start and that Add's time.
func (w *Window) Start() time.Time { return w.readings[0].at }
