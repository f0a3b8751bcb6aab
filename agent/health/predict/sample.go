package predict

import "time"

// Sample is one reading of a drive's health signals. The agent takes one a
// day and keeps them as the drive's history.
type Sample struct {
	// Day is when the reading was taken. Only the calendar day matters: the
	// windows over which the model measures growth are counted in days.
	Day time.Time

	// SMART holds the raw values of the drive's ATA SMART attributes, by
	// attribute ID. The model reads 5 (reallocated sectors), 9 (power-on
	// hours), 187 (reported uncorrectable errors), 188 (command timeouts),
	// 193 (load/unload cycles), 194 (temperature in °C), 197 (current
	// pending sectors) and 198 (offline uncorrectable sectors), and ignores
	// the rest. An attribute the drive does not report is absent from the
	// map; the model treats it as unknown, not as zero.
	SMART map[uint8]uint64

	// Extra holds signals that are not ATA SMART attributes, by name: the
	// place for fields of the NVMe health log, fail-slow latency outliers
	// and zone conditions. The current model reads none of them; features.go
	// says how a signal becomes a feature the model can learn from.
	Extra map[string]float64
}
