package train

import "math"

// Confusion counts a predictor's verdicts on drive-days against what
// happened. The counts are float64 so that they can be weighted.
type Confusion struct {
	// TP counts failing drive-days the predictor flagged.
	TP float64
	// FP counts healthy drive-days it flagged.
	FP float64
	// TN counts healthy drive-days it let pass.
	TN float64
	// FN counts failing drive-days it let pass.
	FN float64
}

// Add counts one drive-day, with weight w.
func (c *Confusion) Add(flagged, failing bool, w float64) {
	switch {
	case flagged && failing:
		c.TP += w
	case flagged:
		c.FP += w
	case failing:
		c.FN += w
	default:
		c.TN += w
	}
}

// Precision is the share of flagged drive-days that were failing, or NaN if
// none was flagged.
func (c Confusion) Precision() float64 { return ratio(c.TP, c.TP+c.FP) }

// Recall is the share of failing drive-days that were flagged, or NaN if
// none was failing.
func (c Confusion) Recall() float64 { return ratio(c.TP, c.TP+c.FN) }

// FPR, the false-positive rate, is the share of healthy drive-days that were
// flagged, or NaN if none was healthy.
func (c Confusion) FPR() float64 { return ratio(c.FP, c.FP+c.TN) }

// ratio is a/b, or NaN when b is zero.
func ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}
