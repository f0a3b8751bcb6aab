package train

import (
	"math"
	"slices"

	"github.com/shingle-storage/shingle/agent/health/predict"
)

// shapeOf sums the stumps on feature fi into its shape.
func shapeOf(name string, fi int, stumps []stump) predict.Shape {
	var cuts []float64
	for _, s := range stumps {
		if s.feature == fi {
			cuts = append(cuts, s.cut)
		}
	}
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)
	shape := predict.Shape{Feature: name, Cuts: cuts, Values: make([]float64, len(cuts)+1)}
	for _, s := range stumps {
		if s.feature != fi {
			continue
		}
		for k := range shape.Values {
			// Step k holds the values above cuts[k-1] and at or below
			// cuts[k]; the last step, those above every cut.
			if k < len(cuts) && cuts[k] <= s.cut {
				shape.Values[k] += s.below
			} else {
				shape.Values[k] += s.above
			}
		}
	}
	return shape
}

// centred shifts shape, the shape of feature fi, so that its weighted mean
// over the rows that have the feature is zero: a typical value then adds
// nothing, and neither does a missing one.
func centred(shape predict.Shape, fi int, rows *Rows) predict.Shape {
	var sum, weight float64
	for i, x := range rows.X {
		if !math.IsNaN(x[fi]) {
			sum += rows.Weight[i] * shape.At(x[fi])
			weight += rows.Weight[i]
		}
	}
	if weight > 0 {
		mean := sum / weight
		for k := range shape.Values {
			shape.Values[k] -= mean
		}
	}
	shape.Missing = 0
	return shape
}

// fitBias returns the bias that, with f's shapes, makes the model's
// expected number of failing drive-days over rows (weighted) equal the
// actual number, which is where the logistic loss is least.
func fitBias(f predict.File, rows *Rows) float64 {
	terms := make([]float64, rows.Len())
	for i, x := range rows.X {
		for fi, s := range f.Shapes {
			terms[i] += s.At(x[fi])
		}
	}
	bias := 0.0
	for range 100 {
		var g, h float64
		for i, t := range terms {
			q := 1 / (1 + math.Exp(-(bias + t)))
			y := 0.0
			if rows.Failing[i] {
				y = 1
			}
			g += rows.Weight[i] * (q - y)
			h += rows.Weight[i] * q * (1 - q)
		}
		step := g / h
		bias -= step
		if math.Abs(step) < 1e-12 {
			break
		}
	}
	return bias
}
