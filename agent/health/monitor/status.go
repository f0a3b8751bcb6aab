package monitor

import (
	"time"

	"github.com/shingle-storage/shingle/agent/health/failslow"
	"github.com/shingle-storage/shingle/agent/health/iotime"
	"github.com/shingle-storage/shingle/agent/health/predict"
	"github.com/shingle-storage/shingle/agent/health/smart"
)

// The verdicts of Status.Health.
const (
	HealthOK      = "ok"
	HealthSuspect = "suspect"
	HealthFailing = "failing"
)

// Status is what the latest check found on one drive. A Status is not
// changed once returned: the next check makes a new one. Treat its maps
// and slices as read-only.
type Status struct {
	// Drive is the drive's id.
	Drive string
	// Checked is when the check ran.
	Checked time.Time

	// Health is the verdict: HealthOK, HealthSuspect or HealthFailing.
	Health string
	// Reasons say why, one line each, worst first; none for a drive
	// that is ok.
	Reasons []string

	// HasSMART is true once the drive has given a SMART sample; Signals
	// are then that sample's, read at SMARTTime.
	HasSMART  bool
	SMARTTime time.Time
	Signals   smart.Signals
	// SMARTError is the error of the latest SMART read, if it failed; the
	// signals are then the last ones read.
	SMARTError string

	// Predicted is true when FailureProbability comes from the predictor:
	// the drive has given a SMART sample. HistoryDays is how many days of
	// samples it was computed from.
	Predicted          bool
	FailureProbability float64
	PredictionReasons  []predict.Reason
	HistoryDays        int

	// Zones counts the drive's zones by condition, from its zone report;
	// nil if it has none. ZoneError is the report's error, if it failed.
	Zones     ZoneCounts
	ZoneError string
	// Damage lists the damage the drive's store found.
	Damage []string

	// Timed is true when the drive's I/O is counted; IO holds the
	// counters, cumulative since the device was opened.
	Timed bool
	IO    iotime.Stats
	// LastIOError is when the monitor first saw the latest growth of the
	// device error count; zero if there has been none.
	LastIOError time.Time
	// Window is the I/O over the last FailSlowWindow (WindowSpan, less
	// while the monitor is younger than that), and FailSlow the fail-slow
	// rule's verdict on it.
	Window     iotime.Stats
	WindowSpan time.Duration
	FailSlow   failslow.Verdict
}

// Load is how busy the drive was over the window, from 0 (idle) to 1:
// the time its operations took, added up, over the window's span, at
// most 1. Operations in flight together each count, so a drive with a
// deep queue reads as saturated sooner than its time busy alone would
// say. 0 for a drive whose I/O is not counted.
func (s Status) Load() float64 {
	if !s.Timed || s.WindowSpan <= 0 {
		return 0
	}
	var busy time.Duration
	for _, o := range s.Window {
		busy += o.Latency.Sum
	}
	return min(busy.Seconds()/s.WindowSpan.Seconds(), 1)
}
