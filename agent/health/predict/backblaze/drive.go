// Package backblaze reads Backblaze's public drive-statistics files (the
// daily SMART snapshots of their fleet, one CSV row per drive per day) into
// per-drive histories the failure predictor can learn from.
//
// The data is Backblaze's: https://www.backblaze.com/cloud-storage/resources/hard-drive-test-data.
// Anything built from it must credit Backblaze as the source.
package backblaze

import (
	"time"

	"github.com/shingle-storage/shingle/agent/health/predict"
)

// Drive is everything a file holds about one drive.
type Drive struct {
	// Serial is the drive's serial number.
	Serial string
	// Model is the drive model, or "" if the file has no model column.
	Model string
	// Samples are the drive's daily readings, oldest first.
	Samples []predict.Sample
	// Failed is the first day the drive was marked as failed (failure=1),
	// or the zero time if it never was. Backblaze removes a drive on the
	// day it marks it failed, so usually it is the day of the last sample.
	Failed time.Time
}
