package train

import (
	"math"
	"slices"
)

// ThresholdForFPR returns the lowest threshold t for which flagging the
// drive-days with score ≥ t flags at most a share maxFPR of the healthy
// ones (unweighted). Lower thresholds flag more, so this is the threshold
// with the most recall among those whose false-positive rate is at most
// maxFPR.
func ThresholdForFPR(scores []float64, failing []bool, maxFPR float64) float64 {
	var healthy []float64
	for i, s := range scores {
		if !failing[i] {
			healthy = append(healthy, s)
		}
	}
	// At most allowed healthy drive-days may be flagged: stay just above
	// the score of the one after them, highest first.
	allowed := int(math.Floor(maxFPR * float64(len(healthy))))
	if allowed >= len(healthy) {
		return 0
	}
	slices.Sort(healthy)
	slices.Reverse(healthy)
	return math.Nextafter(healthy[allowed], math.Inf(1))
}

// RuleFPR is the false-positive rate of Backblaze's rule on the rows of one
// dataset.
func RuleFPR(rows *Rows, dataset string) float64 {
	var c Confusion
	for i := range rows.X {
		if rows.Drives[rows.Drive[i]].Dataset == dataset {
			c.Add(rows.Rule[i], rows.Failing[i], 1)
		}
	}
	return c.FPR()
}

// ThresholdForEveryDataset returns the lowest threshold whose
// false-positive rate on the rows of every dataset is at most
// maxFPR(dataset): the highest of the datasets' ThresholdForFPR.
func ThresholdForEveryDataset(rows *Rows, scores []float64, maxFPR func(dataset string) float64) float64 {
	var names []string
	byName := map[string]*struct {
		scores  []float64
		failing []bool
	}{}
	for i := range rows.X {
		name := rows.Drives[rows.Drive[i]].Dataset
		d := byName[name]
		if d == nil {
			d = &struct {
				scores  []float64
				failing []bool
			}{}
			byName[name] = d
			names = append(names, name)
		}
		d.scores = append(d.scores, scores[i])
		d.failing = append(d.failing, rows.Failing[i])
	}
	t := 0.0
	for _, name := range names {
		d := byName[name]
		t = math.Max(t, ThresholdForFPR(d.scores, d.failing, maxFPR(name)))
	}
	return t
}
