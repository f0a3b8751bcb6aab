package train

import (
	"math"
	"testing"
)

// TestConfusionHandMade checks the metrics on a confusion matrix worked out
// by hand: 100 drive-days, 5 failing of which 3 flagged, 95 healthy of which
// 2 flagged.
func TestConfusionHandMade(t *testing.T) {
	var c Confusion
	add := func(flagged, failing bool, n int) {
		for range n {
			c.Add(flagged, failing, 1)
		}
	}
	add(true, true, 3)
	add(false, true, 2)
	add(true, false, 2)
	add(false, false, 93)
	if c != (Confusion{TP: 3, FN: 2, FP: 2, TN: 93}) {
		t.Fatalf("counted %+v", c)
	}
	for _, m := range []struct {
		name      string
		got, want float64
	}{
		{"precision", c.Precision(), 3.0 / 5},
		{"recall", c.Recall(), 3.0 / 5},
		{"false-positive rate", c.FPR(), 2.0 / 95},
	} {
		if math.Abs(m.got-m.want) > 1e-15 {
			t.Errorf("%s = %v, want %v", m.name, m.got, m.want)
		}
	}

	// Weights count as that many drive-days.
	var w Confusion
	w.Add(true, false, 10)
	w.Add(false, false, 30)
	w.Add(true, true, 1)
	if w.FPR() != 0.25 || w.Precision() != 1.0/11 || w.Recall() != 1 {
		t.Errorf("weighted: FPR %v precision %v recall %v, want 0.25, 1/11, 1", w.FPR(), w.Precision(), w.Recall())
	}

	// Undefined ratios are NaN, not zero.
	var empty Confusion
	if !math.IsNaN(empty.Precision()) || !math.IsNaN(empty.Recall()) || !math.IsNaN(empty.FPR()) {
		t.Errorf("empty confusion: %v %v %v, want NaN", empty.Precision(), empty.Recall(), empty.FPR())
	}
}

func TestThresholdForFPR(t *testing.T) {
	scores := []float64{0.9, 0.8, 0.8, 0.7, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05}
	failing := []bool{true, false, false, true, false, false, false, true, false, false}
	// Seven healthy scores: 0.8, 0.8, 0.5, 0.4, 0.3, 0.1, 0.05.
	for _, c := range []struct {
		maxFPR  float64
		flagged int // healthy drive-days at or above the threshold
	}{
		{0, 0},
		{1.0 / 7, 0}, // the two 0.8s tie: flagging one flags both
		{2.0 / 7, 2},
		{2.5 / 7, 2},
		{3.0 / 7, 3},
		{1, 7},
	} {
		th := ThresholdForFPR(scores, failing, c.maxFPR)
		n := 0
		for i, s := range scores {
			if !failing[i] && s >= th {
				n++
			}
		}
		if n != c.flagged {
			t.Errorf("maxFPR %.3f: threshold %v flags %d healthy, want %d", c.maxFPR, th, n, c.flagged)
		}
		// Lowering the threshold to the next score would break the limit.
		var lower []float64
		for i, s := range scores {
			if !failing[i] && s < th {
				lower = append(lower, s)
			}
		}
		if len(lower) > 0 {
			next := lower[0] // scores are sorted high to low
			m := 0
			for i, s := range scores {
				if !failing[i] && s >= next {
					m++
				}
			}
			if float64(m)/7 <= c.maxFPR {
				t.Errorf("maxFPR %.3f: threshold %v is not the lowest; %v would do", c.maxFPR, th, next)
			}
		}
	}
}
