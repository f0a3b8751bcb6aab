package train

import (
	"fmt"
	"math"
	"time"

	"github.com/shingle-storage/shingle/agent/health/predict"
)

// Rows are labelled drive-days: for each day of each drive, the features
// the model sees, whether the drive fails within predict.Horizon days, and
// what that day weighs.
type Rows struct {
	// X holds one row of features per drive-day, in the order of
	// predict.Features.
	X [][]float64
	// Failing is the label: the drive fails within predict.Horizon days of
	// the day, counting the day.
	Failing []bool
	// Weight is how many drive-days of the full fleet the row stands for;
	// see Dataset.HealthyWeight.
	Weight []float64
	// Rule is the verdict of Backblaze's rule on the day: any of SMART 5,
	// 187, 188, 197, 198 is above zero.
	Rule []bool
	// Drive is the index in Drives of the row's drive.
	Drive []int
	// Drives describes the drives the rows come from.
	Drives []DriveInfo
}

// DriveInfo is what Rows keep about a drive.
type DriveInfo struct {
	// Dataset is the Name of the drive's dataset.
	Dataset string
	// Serial is the drive's serial number.
	Serial string
	// Failed is true if the drive failed within the dataset's window.
	Failed bool
}

// Len is the number of drive-days.
func (r *Rows) Len() int { return len(r.X) }

// Label turns the drives of ds for which keep returns true into labelled
// drive-days. A day d of a drive that fails on day F is failing when
// 0 ≤ F − d < predict.Horizon and healthy when F − d ≥ predict.Horizon; days
// after F are left out. A day of a drive that never fails is healthy when
// the data goes on for at least predict.Horizon − 1 more days; later days are
// left out, because the drive might fail after the data ends.
func Label(ds Dataset, keep func(serial string) bool) (*Rows, error) {
	var end time.Time
	for _, d := range ds.Drives {
		if n := len(d.Samples); n > 0 && d.Samples[n-1].Day.After(end) {
			end = d.Samples[n-1].Day
		}
	}
	r := &Rows{}
	for _, d := range ds.Drives {
		if !keep(d.Serial) || len(d.Samples) == 0 {
			continue
		}
		x, err := predict.Featurize(d.Samples)
		if err != nil {
			return nil, fmt.Errorf("train: dataset %s, drive %s: %w", ds.Name, d.Serial, err)
		}
		failed := !d.Failed.IsZero()
		weight := ds.HealthyWeight
		if failed {
			weight = 1
		}
		drive := len(r.Drives)
		r.Drives = append(r.Drives, DriveInfo{Dataset: ds.Name, Serial: d.Serial, Failed: failed})
		for i, s := range d.Samples {
			var failing bool
			if failed {
				left := days(d.Failed, s.Day)
				if left < 0 {
					continue
				}
				failing = left < predict.Horizon
			} else if days(end, s.Day) < predict.Horizon-1 {
				continue
			}
			r.X = append(r.X, x[i])
			r.Failing = append(r.Failing, failing)
			r.Weight = append(r.Weight, weight)
			r.Rule = append(r.Rule, Rule(s))
			r.Drive = append(r.Drive, drive)
		}
	}
	return r, nil
}

// Append adds the rows of b to r.
func (r *Rows) Append(b *Rows) {
	base := len(r.Drives)
	r.Drives = append(r.Drives, b.Drives...)
	r.X = append(r.X, b.X...)
	r.Failing = append(r.Failing, b.Failing...)
	r.Weight = append(r.Weight, b.Weight...)
	r.Rule = append(r.Rule, b.Rule...)
	for _, d := range b.Drive {
		r.Drive = append(r.Drive, base+d)
	}
}

// Subset returns the rows whose drive is kept by keep, given the drive's
// index in r.Drives. The subset shares feature rows with r.
func (r *Rows) Subset(keep func(drive int) bool) *Rows {
	s := &Rows{}
	index := make([]int, len(r.Drives))
	for i, d := range r.Drives {
		index[i] = -1
		if keep(i) {
			index[i] = len(s.Drives)
			s.Drives = append(s.Drives, d)
		}
	}
	for i := range r.X {
		d := index[r.Drive[i]]
		if d < 0 {
			continue
		}
		s.X = append(s.X, r.X[i])
		s.Failing = append(s.Failing, r.Failing[i])
		s.Weight = append(s.Weight, r.Weight[i])
		s.Rule = append(s.Rule, r.Rule[i])
		s.Drive = append(s.Drive, d)
	}
	return s
}

// days is the number of calendar days from b to a.
func days(a, b time.Time) int {
	return int(math.Round(a.Sub(b).Hours() / 24))
}
