package train

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/shingle-storage/shingle/agent/health/predict"
	"github.com/shingle-storage/shingle/agent/health/predict/backblaze"
)

// slice labels the small slice of real Backblaze data in testdata.
func slice(t *testing.T) *Rows {
	t.Helper()
	drives, err := backblaze.ReadFile("testdata/backblaze-2018-slice.csv.gz")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := Label(Dataset{Name: "slice", Drives: drives, HealthyWeight: 31704.0 / 2700}, func(string) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestFitSlice retrains on the slice and checks what Fit promises: the
// same model every time, shapes that load, monotone shapes that never go
// down, no term for a missing feature, a bias that matches the weighted
// number of failing days, and a model that ranks the slice's failing days
// above its healthy ones better than chance.
func TestFitSlice(t *testing.T) {
	rows := slice(t)
	p := Params{Rounds: 60, LearningRate: 0.2, L2: 1, MinLeafHessian: 0.5, MaxBins: 32}
	f, err := Fit(rows, p)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Fit(rows, p)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(f)
	b, _ := json.Marshal(again)
	if string(a) != string(b) {
		t.Fatal("two fits on the same rows differ")
	}

	m, err := predict.New(f)
	if err != nil {
		t.Fatalf("the fitted model does not load: %v", err)
	}
	used := 0
	for i, feat := range predict.Features() {
		s := f.Shapes[i]
		if len(s.Cuts) > 0 {
			used++
		}
		if s.Missing != 0 {
			t.Errorf("%s: a missing value adds %v, want 0", s.Feature, s.Missing)
		}
		if feat.Monotone {
			for k := 1; k < len(s.Values); k++ {
				if s.Values[k] < s.Values[k-1] {
					t.Errorf("%s is monotone but its shape goes down at cut %v: %v", s.Feature, s.Cuts[k-1], s.Values)
				}
			}
		}
	}
	if used == 0 {
		t.Fatal("no feature has a shape")
	}

	// The bias is fitted: the expected weighted number of failing days is
	// the actual number.
	var expected, actual float64
	for i, x := range rows.X {
		expected += rows.Weight[i] * m.Probability(x)
		if rows.Failing[i] {
			actual += rows.Weight[i]
		}
	}
	if math.Abs(expected-actual) > 1e-6*actual {
		t.Errorf("expected %v weighted failing days, the rows have %v", expected, actual)
	}

	// Ranking: the share of (failing, healthy) pairs ordered right.
	var right, pairs float64
	for i, x := range rows.X {
		if !rows.Failing[i] {
			continue
		}
		pi := m.Probability(x)
		for j, y := range rows.X {
			if rows.Failing[j] {
				continue
			}
			pj := m.Probability(y)
			pairs++
			switch {
			case pi > pj:
				right++
			case pi == pj:
				right += 0.5
			}
		}
	}
	if auc := right / pairs; auc < 0.8 {
		t.Errorf("on its own training rows the model ranks %.2f of pairs right, want at least 0.8", auc)
	}
}

// TestFitRejects checks Fit's errors.
func TestFitRejects(t *testing.T) {
	rows := slice(t)
	healthyOnly := rows.Subset(func(d int) bool { return !rows.Drives[d].Failed })
	if _, err := Fit(healthyOnly, DefaultParams()); err == nil {
		t.Error("Fit accepted rows without failing days")
	}
	for _, p := range []Params{
		{Rounds: 0, LearningRate: 0.1, MaxBins: 16},
		{Rounds: 1, LearningRate: 0, MaxBins: 16},
		{Rounds: 1, LearningRate: 0.1, MaxBins: 1},
		{Rounds: 1, LearningRate: 0.1, MaxBins: 256},
		{Rounds: 1, LearningRate: 0.1, MaxBins: 16, L2: -1},
	} {
		if _, err := Fit(rows, p); err == nil {
			t.Errorf("Fit accepted %+v", p)
		}
	}
}

// TestShapeOf checks that stumps add up into the right step function.
func TestShapeOf(t *testing.T) {
	stumps := []stump{
		{feature: 0, cut: 5, below: -1, above: 1},
		{feature: 1, cut: 99, below: 50, above: 50}, // another feature
		{feature: 0, cut: 0.5, below: 0, above: 2},
		{feature: 0, cut: 5, below: 0, above: 0.5},
	}
	s := shapeOf("f", 0, stumps)
	// x ≤ 0.5: -1+0+0; 0.5 < x ≤ 5: -1+2+0; x > 5: 1+2+0.5.
	want := predict.Shape{Feature: "f", Cuts: []float64{0.5, 5}, Values: []float64{-1, 1, 3.5}}
	a, _ := json.Marshal(s)
	b, _ := json.Marshal(want)
	if string(a) != string(b) {
		t.Fatalf("shape %s, want %s", a, b)
	}
	for x, v := range map[float64]float64{0: -1, 0.5: -1, 3: 1, 5: 1, 6: 3.5} {
		var sum float64
		for _, st := range stumps {
			if st.feature != 0 {
				continue
			}
			if x <= st.cut {
				sum += st.below
			} else {
				sum += st.above
			}
		}
		if s.At(x) != v || sum != v {
			t.Errorf("at %v: shape %v, stumps %v, want %v", x, s.At(x), sum, v)
		}
	}
}
