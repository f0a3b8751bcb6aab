package predict

import (
	"fmt"
	"math"
	"sort"
)

// Shape is what one feature adds to the log-odds of failure, as a step
// function of the feature's value: a value x adds Values[k], where k is the
// number of cuts below x (so x equal to a cut falls on the cut's left), and
// an unknown (NaN) value adds Missing.
type Shape struct {
	// Feature is the Name of the feature the shape belongs to.
	Feature string `json:"feature"`
	// Cuts are the step positions, strictly increasing.
	Cuts []float64 `json:"cuts"`
	// Values holds one log-odds term per step, len(Cuts)+1 of them.
	Values []float64 `json:"values"`
	// Missing is the log-odds term for a drive that does not report the
	// feature's inputs.
	Missing float64 `json:"missing"`
}

// maxTerm bounds the log-odds terms and the bias a model may have. A
// real model's are a few units; anything near this bound is a broken
// model.json, and capping it keeps a sum of terms finite.
const maxTerm = 100

// finite reports whether x is a number within ±maxTerm.
func finite(x float64) bool { return x >= -maxTerm && x <= maxTerm }

// At returns the log-odds term for value x.
func (s Shape) At(x float64) float64 {
	if math.IsNaN(x) {
		return s.Missing
	}
	return s.Values[sort.SearchFloat64s(s.Cuts, x)]
}

// check reports whether s is well formed.
func (s Shape) check() error {
	if len(s.Values) != len(s.Cuts)+1 {
		return fmt.Errorf("shape of %s has %d cuts and %d values, want one more value than cuts", s.Feature, len(s.Cuts), len(s.Values))
	}
	for i, c := range s.Cuts {
		if math.IsNaN(c) || math.IsInf(c, 0) {
			return fmt.Errorf("shape of %s: cut %d is %v, want a finite number", s.Feature, i, c)
		}
		if i > 0 && c <= s.Cuts[i-1] {
			return fmt.Errorf("shape of %s: cuts are not strictly increasing at cut %d", s.Feature, i)
		}
	}
	for i, v := range s.Values {
		if !finite(v) {
			return fmt.Errorf("shape of %s: value %d is %v, want a number within ±%d", s.Feature, i, v, maxTerm)
		}
	}
	if !finite(s.Missing) {
		return fmt.Errorf("shape of %s: the missing-value term is %v, want a number within ±%d", s.Feature, s.Missing, maxTerm)
	}
	return nil
}
