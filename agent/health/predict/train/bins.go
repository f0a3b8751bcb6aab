package train

import (
	"math"
	"slices"
	"sort"
)

// column is one feature's values, binned for Fit.
type column struct {
	// cuts are the bin boundaries: a value is in bin k when it is above
	// cuts[k-1] and at or below cuts[k].
	cuts []float64
	// bins holds each row's bin, or missingBin.
	bins []uint8
	// common is the bin most rows fall in (for an error counter, the bin
	// of zero), and rest lists the rows that are not in it, so that a
	// histogram needs to visit only those.
	common uint8
	rest   []int32
}

// newColumn bins values into at most maxBins bins (plus missingBin).
func newColumn(values []float64, maxBins int) column {
	c := column{cuts: cutsFor(values, maxBins), bins: make([]uint8, len(values))}
	var count [256]int
	for i, v := range values {
		c.bins[i] = binOf(c.cuts, v)
		count[c.bins[i]]++
	}
	for b := range count {
		if count[b] > count[c.common] {
			c.common = uint8(b)
		}
	}
	for i, b := range c.bins {
		if b != c.common {
			c.rest = append(c.rest, int32(i))
		}
	}
	return c
}

// missingBin is the bin of a value that is NaN (not reported).
const missingBin = 255

// cutsFor chooses at most maxBins-1 cut positions for one feature from its
// values: midway between consecutive distinct values, all of them if there
// are few enough distinct values and evenly spaced in rank among the
// distinct values otherwise. Spacing by distinct values rather than by rows
// keeps cuts among the rare large values of an error counter, where nearly
// every row is zero.
func cutsFor(values []float64, maxBins int) []float64 {
	var distinct []float64
	for _, v := range values {
		if !math.IsNaN(v) {
			distinct = append(distinct, v)
		}
	}
	slices.Sort(distinct)
	distinct = slices.Compact(distinct)
	if len(distinct) < 2 {
		return nil
	}
	step := 1.0
	if len(distinct) > maxBins {
		step = float64(len(distinct)-1) / float64(maxBins-1)
	}
	var cuts []float64
	for k := 0; ; k++ {
		i := int(math.Round(float64(k) * step))
		if i >= len(distinct)-1 {
			break
		}
		c := (distinct[i] + distinct[i+1]) / 2
		if len(cuts) == 0 || c > cuts[len(cuts)-1] {
			cuts = append(cuts, c)
		}
	}
	return cuts
}

// binOf returns the bin of value v among cuts: the number of cuts below v,
// or missingBin for NaN. This is the convention of predict.Shape.At.
func binOf(cuts []float64, v float64) uint8 {
	if math.IsNaN(v) {
		return missingBin
	}
	return uint8(sort.SearchFloat64s(cuts, v))
}
