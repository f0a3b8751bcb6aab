package monitor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/shingle-storage/shingle/agent/health/predict"
)

// history is a drive's SMART history as the predictor reads it: one
// sample per calendar day (the day's latest), oldest first, going back to
// the last sample taken at least 30 days before the newest, which is all
// the model looks at.
type history struct {
	samples []predict.Sample
	// path is the file the history is saved in; empty for none.
	path string
}

// historyFormat is the version of the history file's layout.
const historyFormat = 1

// historyFile is the JSON form of a history.
type historyFile struct {
	Format  int           `json:"format"`
	Drive   string        `json:"drive"`
	Samples []savedSample `json:"samples"`
}

type savedSample struct {
	Day   time.Time          `json:"day"`
	SMART map[uint8]uint64   `json:"smart,omitempty"`
	Extra map[string]float64 `json:"extra,omitempty"`
}

// historyPath is where drive's history is kept under dir.
func historyPath(dir, drive string) string {
	return filepath.Join(dir, drive+".smart-history.json")
}

// loadHistory reads the history saved at path, or starts an empty one if
// there is no file. An unreadable file is an error, so that a broken disk
// does not silently erase a drive's record.
func loadHistory(path, drive string) (*history, error) {
	h := &history{path: path}
	if path == "" {
		return h, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return h, nil
	}
	if err != nil {
		return nil, fmt.Errorf("health history: %w", err)
	}
	var f historyFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("health history %s: %w; delete the file to start the drive's history afresh", path, err)
	}
	if f.Format != historyFormat || f.Drive != drive {
		return nil, fmt.Errorf("health history %s: format %d of drive %q, want format %d of drive %q; delete the file to start afresh",
			path, f.Format, f.Drive, historyFormat, drive)
	}
	for _, s := range f.Samples {
		h.add(predict.Sample{Day: s.Day, SMART: s.SMART, Extra: s.Extra})
	}
	return h, nil
}

// dayNumber numbers the calendar day of t, in t's own time zone, as the
// predictor counts days.
func dayNumber(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// add records s as its day's sample, replacing an earlier sample of the
// same day, and drops the days the model no longer needs. A sample of a
// day before the newest is ignored (the clock went back, or a replay
// restarted). It reports whether the history changed.
func (h *history) add(s predict.Sample) bool {
	day := dayNumber(s.Day)
	if n := len(h.samples); n > 0 {
		last := dayNumber(h.samples[n-1].Day)
		switch {
		case day < last:
			return false
		case day == last:
			h.samples[n-1] = s
			return true
		}
	}
	h.samples = append(h.samples, s)
	// Keep from the last sample at least predict's 30-day look-back
	// before the newest.
	keep := 0
	for i, old := range h.samples {
		if day-dayNumber(old.Day) >= 30 {
			keep = i
		}
	}
	h.samples = h.samples[keep:]
	return true
}

// days is how many days the history holds.
func (h *history) days() int { return len(h.samples) }

// save writes the history to its file, if it has one, replacing the old
// file only once the new one is written in full.
func (h *history) save(drive string) error {
	if h.path == "" {
		return nil
	}
	f := historyFile{Format: historyFormat, Drive: drive}
	for _, s := range h.samples {
		f.Samples = append(f.Samples, savedSample{Day: s.Day, SMART: s.SMART, Extra: s.Extra})
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("health history: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(h.path), 0o755); err != nil {
		return fmt.Errorf("health history: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(h.path), filepath.Base(h.path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("health history: %w", err)
	}
	_, err = tmp.Write(append(b, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), h.path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("health history: %w", err)
	}
	return nil
}
