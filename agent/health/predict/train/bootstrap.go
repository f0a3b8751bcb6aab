package train

import (
	"math"
	"math/rand/v2"
	"slices"
)

// bootstrap returns 95% percentile intervals of recall and false-positive
// rate over resamples of the drives, whose per-drive confusions are given.
func bootstrap(perDrive []Confusion, resamples int, seed uint64) (recall, fpr [2]float64) {
	nan := [2]float64{math.NaN(), math.NaN()}
	if resamples < 1 || len(perDrive) == 0 {
		return nan, nan
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	var recalls, fprs []float64
	for range resamples {
		var t Confusion
		for range perDrive {
			c := perDrive[rng.IntN(len(perDrive))]
			t.TP += c.TP
			t.FP += c.FP
			t.TN += c.TN
			t.FN += c.FN
		}
		if r := t.Recall(); !math.IsNaN(r) {
			recalls = append(recalls, r)
		}
		if f := t.FPR(); !math.IsNaN(f) {
			fprs = append(fprs, f)
		}
	}
	return percentiles(recalls), percentiles(fprs)
}

// percentiles returns the 2.5th and 97.5th percentiles of xs.
func percentiles(xs []float64) [2]float64 {
	if len(xs) == 0 {
		return [2]float64{math.NaN(), math.NaN()}
	}
	slices.Sort(xs)
	at := func(q float64) float64 { return xs[int(math.Round(q*float64(len(xs)-1)))] }
	return [2]float64{at(0.025), at(0.975)}
}
