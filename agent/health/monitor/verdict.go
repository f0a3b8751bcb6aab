package monitor

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/shingle-storage/shingle/agent/health/iotime"
	"github.com/shingle-storage/shingle/agent/health/smart"
)

// severity is how much a finding weighs in the verdict.
type severity int

const (
	// note is a finding worth reading beside others, not a problem by
	// itself.
	note severity = iota
	suspect
	failing
)

// finding is one line of a verdict's reasons.
type finding struct {
	sev  severity
	text string
}

// backblazeNames name the five Backblaze attributes in reasons.
var backblazeNames = map[uint8]string{
	smart.ReallocatedSectors:    "reallocated sectors",
	smart.ReportedUncorrectable: "reported uncorrectable errors",
	smart.CommandTimeouts:       "command timeouts",
	smart.PendingSectors:        "pending sectors",
	smart.OfflineUncorrectable:  "offline uncorrectable sectors",
}

// failingWarnings are the NVMe critical warnings that mean the drive is
// failing; the temperature warning only makes it suspect.
const failingWarnings = smart.WarningSpare | smart.WarningReliability | smart.WarningReadOnly |
	smart.WarningVolatileBackup | smart.WarningPersistentMemory

// judge sets st's Health and Reasons from its signals; see the package
// documentation for the rules.
func (c Config) judge(st *Status) {
	var fs []finding
	add := func(sev severity, format string, args ...any) {
		fs = append(fs, finding{sev, fmt.Sprintf(format, args...)})
	}

	if st.Predicted {
		p := st.FailureProbability
		switch {
		case p >= c.FailingProbability:
			add(failing, "failure probability %.3f within 30 days (failing at %.3f)", p, c.FailingProbability)
		case p >= c.SuspectProbability:
			add(suspect, "failure probability %.3f within 30 days (suspect at %.3f)", p, c.SuspectProbability)
		}
		for _, r := range st.PredictionReasons {
			add(note, "predictor: %s", r)
		}
	}
	if st.HasSMART {
		g := st.Signals
		for _, id := range smart.BackblazeAttributes() {
			if v := g.Backblaze[id]; v != 0 {
				add(note, "%s (SMART %d) = %d", backblazeNames[id], id, v)
			}
		}
		for _, id := range g.FailingAttributes {
			add(failing, "SMART attribute %d is at or below the drive's own threshold", id)
		}
		for i := range 8 {
			w := smart.CriticalWarning(1 << i)
			if !g.CriticalWarning.Has(w) {
				continue
			}
			sev := suspect
			if w&failingWarnings != 0 {
				sev = failing
			}
			add(sev, "NVMe critical warning: %s", strings.Join(w.Conditions(), ", "))
		}
		if g.MediaErrors > 0 {
			add(suspect, "NVMe media and data integrity errors = %d", g.MediaErrors)
		}
		if g.PercentageUsed >= 100 {
			add(suspect, "NVMe percentage used = %d%%: rated endurance used up", g.PercentageUsed)
		}
		if g.HasTemperature && g.TemperatureC >= c.HotCelsius {
			add(suspect, "temperature %d °C (suspect at %d °C)", g.TemperatureC, c.HotCelsius)
		}
	}
	if st.SMARTError != "" {
		add(note, "SMART read failed: %s", st.SMARTError)
	}
	if n := st.Zones.ReadOnly(); n > 0 {
		add(suspect, "%d zones read-only", n)
	}
	if n := st.Zones.Offline(); n > 0 {
		add(suspect, "%d zones offline: their data is lost", n)
	}
	if st.ZoneError != "" {
		add(suspect, "zone report failed: %s", st.ZoneError)
	}
	for _, d := range st.Damage {
		add(suspect, "%s", d)
	}
	if n := st.IO.Errors(); n > 0 && !st.LastIOError.IsZero() && st.Checked.Sub(st.LastIOError) < c.ErrorHold {
		var kinds []string
		for _, op := range iotime.Ops() {
			if e := st.IO.Of(op).Errors; e > 0 {
				kinds = append(kinds, fmt.Sprintf("%d %s", e, op))
			}
		}
		add(suspect, "%d device I/O errors since the drive was opened (%s), the latest seen %s",
			n, strings.Join(kinds, ", "), st.LastIOError.UTC().Format("2006-01-02T15:04:05Z"))
	}
	for _, r := range st.FailSlow.Reasons() {
		add(suspect, "%s", r)
	}

	worst := note
	for _, f := range fs {
		worst = max(worst, f.sev)
	}
	st.Health, st.Reasons = HealthOK, nil
	switch worst {
	case note:
		return
	case suspect:
		st.Health = HealthSuspect
	case failing:
		st.Health = HealthFailing
	}
	slices.SortStableFunc(fs, func(a, b finding) int { return cmp.Compare(b.sev, a.sev) })
	for _, f := range fs {
		st.Reasons = append(st.Reasons, f.text)
	}
}
