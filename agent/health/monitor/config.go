package monitor

import (
	"log/slog"
	"time"

	"github.com/shingle-storage/shingle/agent/health/failslow"
	"github.com/shingle-storage/shingle/agent/health/predict"
)

// Config configures a Monitor. The zero value of a field means its
// default.
type Config struct {
	// Interval is how often every drive is checked (1 minute).
	Interval time.Duration
	// FailSlowWindow is the span over which latencies are compared (5
	// minutes); it should hold several Intervals.
	FailSlowWindow time.Duration
	// FailSlow is the fail-slow rule (failslow's defaults).
	FailSlow failslow.Rule
	// ErrorHold is how long a device I/O error keeps a drive suspect (1
	// hour).
	ErrorHold time.Duration
	// HotCelsius is the temperature at or above which a drive is suspect
	// (60 °C).
	HotCelsius int
	// Model is the failure predictor (predict.Embedded()).
	Model *predict.Model
	// SuspectProbability and FailingProbability are the probabilities of
	// failure within 30 days at or above which a drive is suspect and
	// failing: by default the model's Threshold and its strictest
	// operating point (Stricter's last).
	SuspectProbability, FailingProbability float64
	// HistoryDir, if set, is where each drive's SMART history is kept
	// (DRIVE-ID.smart-history.json), read at start and rewritten when a
	// day is added. Empty keeps the history in memory only.
	HistoryDir string
	// Logger receives the monitor's logs.
	Logger *slog.Logger
	// Now tells the time (time.Now); tests set it.
	Now func() time.Time
}

// The defaults of Config's fields.
const (
	DefaultInterval       = time.Minute
	DefaultFailSlowWindow = 5 * time.Minute
	DefaultErrorHold      = time.Hour
	DefaultHotCelsius     = 60
)

// withDefaults fills in the defaults; it fails only if the embedded model
// does not load.
func (c Config) withDefaults() (Config, error) {
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.FailSlowWindow <= 0 {
		c.FailSlowWindow = DefaultFailSlowWindow
	}
	c.FailSlow = c.FailSlow.WithDefaults()
	if c.ErrorHold <= 0 {
		c.ErrorHold = DefaultErrorHold
	}
	if c.HotCelsius <= 0 {
		c.HotCelsius = DefaultHotCelsius
	}
	if c.Model == nil {
		m, err := predict.Embedded()
		if err != nil {
			return c, err
		}
		c.Model = m
	}
	if c.SuspectProbability <= 0 {
		c.SuspectProbability = c.Model.Threshold()
	}
	if c.FailingProbability <= 0 {
		c.FailingProbability = c.SuspectProbability
		if s := c.Model.Stricter(); len(s) > 0 {
			c.FailingProbability = s[len(s)-1].Threshold
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}
