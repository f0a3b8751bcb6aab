package smart

import (
	"fmt"
	"strings"

	"github.com/shingle-storage/shingle/agent/health/predict"
)

// The five ATA SMART attributes whose raw values Backblaze found to
// predict drive failure.
const (
	ReallocatedSectors    uint8 = 5   // Reallocated_Sector_Ct
	ReportedUncorrectable uint8 = 187 // Reported_Uncorrect
	CommandTimeouts       uint8 = 188 // Command_Timeout
	PendingSectors        uint8 = 197 // Current_Pending_Sector
	OfflineUncorrectable  uint8 = 198 // Offline_Uncorrectable
)

// BackblazeAttributes returns the IDs of the five Backblaze attributes in
// ascending order. Every call returns a new slice.
func BackblazeAttributes() []uint8 {
	return []uint8{ReallocatedSectors, ReportedUncorrectable, CommandTimeouts, PendingSectors, OfflineUncorrectable}
}

var backblazeNames = map[uint8]string{
	ReallocatedSectors:    "reallocated sectors",
	ReportedUncorrectable: "reported uncorrectable errors",
	CommandTimeouts:       "command timeouts",
	PendingSectors:        "pending sectors",
	OfflineUncorrectable:  "offline uncorrectable sectors",
}

// Signals are the health signals of one Sample: the readings that say a
// drive is wearing out or failing, in the same form for every drive of a
// kind.
type Signals struct {
	// Kind is the sample's kind: Backblaze and FailingAttributes apply to
	// ATA drives, CriticalWarning, MediaErrors and PercentageUsed to NVMe.
	Kind Kind

	// Backblaze holds the raw values of those of the five Backblaze
	// attributes the drive reports, by ID. An attribute the drive does
	// not report is absent, not zero. Nil for NVMe.
	Backblaze map[uint8]uint64
	// FailingAttributes are the IDs of the attributes whose normalized
	// value is at or below the drive's own threshold (Attribute.Failing).
	FailingAttributes []uint8

	// TemperatureC is the drive's temperature in °C, valid when
	// HasTemperature is true. For ATA it is the low byte of attribute
	// 194's raw value, or of 190's when 194 is absent or out of range
	// (tenths of a degree for drives whose database name for 194 is
	// Temperature_Celsius_x10), as smartctl reads it; for NVMe the
	// composite temperature.
	TemperatureC   int
	HasTemperature bool

	// CriticalWarning, MediaErrors and PercentageUsed come from the NVMe
	// health log.
	CriticalWarning CriticalWarning
	MediaErrors     uint64
	PercentageUsed  uint8
}

// Signals derives the health signals from s.
func (s *Sample) Signals() Signals {
	g := Signals{Kind: s.Kind}
	switch s.Kind {
	case ATA:
		g.Backblaze = map[uint8]uint64{}
		for _, id := range BackblazeAttributes() {
			if a, ok := s.Attribute(id); ok {
				g.Backblaze[id] = a.Raw
			}
		}
		if !s.ThresholdsUnavailable {
			for _, a := range s.ATA {
				if a.Failing() {
					g.FailingAttributes = append(g.FailingAttributes, a.ID)
				}
			}
		}
		g.TemperatureC, g.HasTemperature = ataTemperature(s)
	case NVMe:
		if h := s.NVMe; h != nil {
			g.CriticalWarning = h.CriticalWarning
			g.MediaErrors = h.MediaErrors
			g.PercentageUsed = h.PercentageUsed
			if h.TemperatureKelvin != 0 {
				// smartctl converts with 273, not 273.15; so does this.
				g.TemperatureC, g.HasTemperature = int(h.TemperatureKelvin)-273, true
			}
		}
	}
	return g
}

// ataTemperature reads the temperature from attribute 194, else 190, the
// way smartctl does for drives without a vendor-specific format for them.
func ataTemperature(s *Sample) (int, bool) {
	for _, id := range []uint8{194, 190} {
		a, ok := s.Attribute(id)
		if !ok {
			continue
		}
		var t uint64
		if strings.HasSuffix(strings.ToLower(a.Name), "_x10") {
			t = (a.Raw&0xFFFF + 5) / 10
		} else {
			// The bytes above the lowest hold the lowest and highest
			// temperatures seen, on drives that keep them.
			t = a.Raw & 0xFF
		}
		if t > 0 && t < 128 {
			return int(t), true
		}
	}
	return 0, false
}

// Problems describes, one line each, every signal that says the drive is
// wearing out or failing: nonzero Backblaze counters, attributes at or
// below their threshold, NVMe critical warnings, media errors and rated
// endurance used up. A healthy drive has none.
func (g Signals) Problems() []string {
	var out []string
	for _, id := range BackblazeAttributes() {
		if v := g.Backblaze[id]; v != 0 {
			out = append(out, fmt.Sprintf("%s (SMART %d) = %d", backblazeNames[id], id, v))
		}
	}
	for _, id := range g.FailingAttributes {
		out = append(out, fmt.Sprintf("SMART attribute %d is at or below its threshold", id))
	}
	for _, c := range g.CriticalWarning.Conditions() {
		out = append(out, "NVMe critical warning: "+c)
	}
	if g.MediaErrors != 0 {
		out = append(out, fmt.Sprintf("NVMe media and data integrity errors = %d", g.MediaErrors))
	}
	if g.PercentageUsed >= 100 {
		out = append(out, fmt.Sprintf("NVMe percentage used = %d%%: rated endurance used up", g.PercentageUsed))
	}
	return out
}

// Keys of predict.Sample.Extra that PredictSample fills from the NVMe
// health log. The current model reads none of them.
const (
	ExtraCriticalWarning = "nvme_critical_warning"
	ExtraMediaErrors     = "nvme_media_errors"
	ExtraPercentageUsed  = "nvme_percentage_used"
	ExtraAvailableSpare  = "nvme_available_spare"
	ExtraTemperatureC    = "nvme_temperature_c"
	ExtraPowerOnHours    = "nvme_power_on_hours"
	ExtraUnsafeShutdowns = "nvme_unsafe_shutdowns"
	ExtraErrorLogEntries = "nvme_error_log_entries"
)

// PredictSample returns s as the failure predictor takes it, dated s.Time.
// An ATA drive's attributes go into SMART by ID, raw values as they are
// (the predictor masks the bytes it does not use); an NVMe drive's health
// log goes into Extra under the Extra* keys. A drive that reports
// temperature only in attribute 190 gives the predictor no temperature:
// its model was trained on attribute 194.
func (s *Sample) PredictSample() predict.Sample {
	p := predict.Sample{Day: s.Time}
	switch s.Kind {
	case ATA:
		p.SMART = make(map[uint8]uint64, len(s.ATA))
		for _, a := range s.ATA {
			p.SMART[a.ID] = a.Raw
		}
	case NVMe:
		if h := s.NVMe; h != nil {
			p.Extra = map[string]float64{
				ExtraCriticalWarning: float64(h.CriticalWarning),
				ExtraMediaErrors:     float64(h.MediaErrors),
				ExtraPercentageUsed:  float64(h.PercentageUsed),
				ExtraAvailableSpare:  float64(h.AvailableSpare),
				ExtraPowerOnHours:    float64(h.PowerOnHours),
				ExtraUnsafeShutdowns: float64(h.UnsafeShutdowns),
				ExtraErrorLogEntries: float64(h.ErrorLogEntries),
			}
			if h.TemperatureKelvin != 0 {
				p.Extra[ExtraTemperatureC] = float64(int(h.TemperatureKelvin) - 273)
			}
		}
	}
	return p
}
