package train

import "github.com/shingle-storage/shingle/agent/health/predict"

// Rule is Backblaze's rule of thumb for a failing drive, the baseline the
// model must beat: any of SMART 5 (reallocated sectors), 187 (reported
// uncorrectable errors), 188 (command timeouts), 197 (current pending
// sectors) and 198 (offline uncorrectable sectors) is above zero. An
// attribute the drive does not report counts as zero.
func Rule(s predict.Sample) bool {
	for _, id := range [...]uint8{5, 187, 188, 197, 198} {
		if s.SMART[id] > 0 {
			return true
		}
	}
	return false
}
