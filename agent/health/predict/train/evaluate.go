package train

import (
	"fmt"
	"slices"
	"strings"

	"github.com/shingle-storage/shingle/agent/health/predict"
)

// Result is how the model and Backblaze's rule did on one set of drives.
type Result struct {
	// Dataset names the set.
	Dataset string
	// Drives and FailedDrives count the drives in the set.
	Drives, FailedDrives int
	// Failing and Healthy count its drive-days by label.
	Failing, Healthy int
	// Rule is how Backblaze's rule did.
	Rule Score
	// Model is how the model did at its Threshold, then at each of its
	// Stricter thresholds.
	Model []Score
}

// Score is one predictor's verdicts on a set of drives.
type Score struct {
	// Predictor says which predictor this is, for example "model,
	// p ≥ 0.0024 (training FPR ≤ 2%)".
	Predictor string
	// Sample counts drive-days as they are in the data.
	Sample Confusion
	// Fleet weighs each drive-day by Rows.Weight, to estimate what the
	// predictor would do on the whole fleet the data was sampled from.
	// Only its precision differs much from Sample's: recall is unchanged
	// (every failing drive is in the data) and the false-positive rate
	// nearly so.
	Fleet Confusion
	// RecallCI and FPRCI are 95% confidence intervals of Sample's recall
	// and false-positive rate, from resampling the drives (not the
	// drive-days, which are not independent) with replacement.
	RecallCI, FPRCI [2]float64
}

// Evaluate scores Backblaze's rule and the model on rows, the model at its
// Threshold and at each of its Stricter thresholds, flagging the drive-days
// whose probability is at least the threshold. The confidence intervals
// come from resamples bootstrap rounds drawn with the given seed.
func Evaluate(m *predict.Model, rows *Rows, resamples int, seed uint64) Result {
	res := Result{Dataset: datasetName(rows), Drives: len(rows.Drives)}
	for _, d := range rows.Drives {
		if d.Failed {
			res.FailedDrives++
		}
	}
	for _, failing := range rows.Failing {
		if failing {
			res.Failing++
		} else {
			res.Healthy++
		}
	}
	res.Rule = score(rows, "any of the five > 0", rows.Rule, resamples, seed)

	p := make([]float64, rows.Len())
	for i, x := range rows.X {
		p[i] = m.Probability(x)
	}
	points := append([]predict.OperatingPoint{{Threshold: m.Threshold()}}, m.Stricter()...)
	for k, op := range points {
		name := fmt.Sprintf("model, p ≥ %.4f (training FPR ≤ %s)", op.Threshold, percent(op.FPR, 1))
		if k == 0 {
			name = fmt.Sprintf("model, p ≥ %.4f (training FPR ≤ the rule's)", op.Threshold)
		}
		flagged := make([]bool, len(p))
		for i := range p {
			flagged[i] = p[i] >= op.Threshold
		}
		res.Model = append(res.Model, score(rows, name, flagged, resamples, seed))
	}
	return res
}

// score counts the verdicts flagged of one predictor on rows.
func score(rows *Rows, name string, flagged []bool, resamples int, seed uint64) Score {
	s := Score{Predictor: name}
	perDrive := make([]Confusion, len(rows.Drives))
	for i := range rows.X {
		perDrive[rows.Drive[i]].Add(flagged[i], rows.Failing[i], 1)
		s.Fleet.Add(flagged[i], rows.Failing[i], rows.Weight[i])
	}
	s.Sample = sum(perDrive)
	s.RecallCI, s.FPRCI = bootstrap(perDrive, resamples, seed)
	return s
}

// datasetName joins the names of the datasets rows come from.
func datasetName(rows *Rows) string {
	var names []string
	for _, d := range rows.Drives {
		if !slices.Contains(names, d.Dataset) {
			names = append(names, d.Dataset)
		}
	}
	return strings.Join(names, "+")
}

// sum adds confusions up.
func sum(cs []Confusion) Confusion {
	var t Confusion
	for _, c := range cs {
		t.TP += c.TP
		t.FP += c.FP
		t.TN += c.TN
		t.FN += c.FN
	}
	return t
}

// DefaultResamples is the number of bootstrap resamples behind the
// confidence intervals README.md reports.
const DefaultResamples = 1000

// EvaluateTestFold reads the Backblaze files from dir, evaluates m on the
// test drives of each (those InTestFold picks) and returns Table of the
// results.
func EvaluateTestFold(m *predict.Model, dir string, resamples int, seed uint64) (string, error) {
	sets, err := LoadDatasets(dir)
	if err != nil {
		return "", err
	}
	var results []Result
	for _, ds := range sets {
		rows, err := Label(ds, InTestFold)
		if err != nil {
			return "", err
		}
		results = append(results, Evaluate(m, rows, resamples, seed))
	}
	return Table(results), nil
}
