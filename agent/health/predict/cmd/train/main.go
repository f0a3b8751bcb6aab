// Command train fits the drive-failure predictor to the Backblaze files and
// writes the model to agent/health/predict/model.json. Run it from the
// repository's root:
//
//	go run ./agent/health/predict/cmd/train
//
// It trains only on drives outside the test fold (train.InTestFold) and
// never reads the test drives' rows. The decision thresholds are chosen on
// the training drives too: each training drive is scored by a model fitted
// without it (train.CrossFit), and the model's Threshold is the lowest
// whose false-positive rate on those scores is no worse than Backblaze's
// rule's, on every file; the stricter thresholds are chosen the same way for
// fixed false-positive rates. Then the model is fitted once more on all
// training drives and written out. The same data, flags and seed give the
// same model.json, byte for byte.
//
// cmd/evaluate measures the written model on the test drives.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/shingle-storage/shingle/agent/health/predict"
	"github.com/shingle-storage/shingle/agent/health/predict/train"
)

// stricterFPRs are the false-positive rates of the stricter operating
// points, loosest first.
func stricterFPRs() []float64 { return []float64{0.02, 0.01, 0.005} }

func main() {
	p := train.DefaultParams()
	data := flag.String("data", train.DefaultDataDir, "folder of the Backblaze files")
	out := flag.String("out", "agent/health/predict/model.json", "where to write the model")
	folds := flag.Int("folds", 5, "cross-fitting folds for choosing the thresholds")
	seed := flag.Uint64("seed", 1, "seed for dealing drives into folds")
	flag.IntVar(&p.Rounds, "rounds", p.Rounds, "boosting rounds (stumps)")
	flag.Float64Var(&p.LearningRate, "rate", p.LearningRate, "learning rate")
	flag.Float64Var(&p.L2, "l2", p.L2, "L2 regularisation of leaf values")
	flag.Float64Var(&p.MinLeafHessian, "min-leaf", p.MinLeafHessian, "least hessian in a leaf")
	flag.IntVar(&p.MaxBins, "bins", p.MaxBins, "most steps per feature shape (2 to 255)")
	flag.Parse()
	if err := run(*data, *out, *folds, *seed, p); err != nil {
		fmt.Fprintln(os.Stderr, "train:", err)
		os.Exit(1)
	}
}

func run(data, out string, folds int, seed uint64, p train.Params) error {
	if folds < 2 {
		return fmt.Errorf("-folds is %d, want at least 2", folds)
	}
	start := time.Now()
	sets, err := train.LoadDatasets(data)
	if err != nil {
		return err
	}
	rows := &train.Rows{}
	for _, ds := range sets {
		r, err := train.Label(ds, func(serial string) bool { return !train.InTestFold(serial) })
		if err != nil {
			return err
		}
		rows.Append(r)
	}
	fmt.Printf("%d training drive-days of %d drives, read in %v\n", rows.Len(), len(rows.Drives), since(start))

	scores, err := train.CrossFit(rows, folds, seed, p)
	if err != nil {
		return err
	}
	fmt.Printf("cross-fitted in %d folds by %v\n", folds, since(start))
	ruleFPR := func(dataset string) float64 { return train.RuleFPR(rows, dataset) }
	threshold := train.ThresholdForEveryDataset(rows, scores, ruleFPR)
	report(rows, scores, "rule's FPR", threshold)
	var stricter []predict.OperatingPoint
	for _, fpr := range stricterFPRs() {
		t := train.ThresholdForEveryDataset(rows, scores, func(string) float64 { return fpr })
		t = max(t, threshold)
		stricter = append(stricter, predict.OperatingPoint{FPR: fpr, Threshold: t})
		report(rows, scores, fmt.Sprintf("FPR ≤ %g%%", 100*fpr), t)
	}

	fit, err := train.Fit(rows, p)
	if err != nil {
		return err
	}
	fit.Threshold = threshold
	fit.Stricter = stricter
	var files []string
	for _, f := range train.BackblazeFiles() {
		files = append(files, f.File)
	}
	fit.Source = fmt.Sprintf("Data: Backblaze Drive Stats (Backblaze, Inc.), "+
		"https://www.backblaze.com/cloud-storage/resources/hard-drive-test-data; "+
		"the sampled files %s, drives outside the test fold only. "+
		"Fitted by agent/health/predict/cmd/train: %d stumps, learning rate %g, L2 %g, "+
		"least leaf hessian %g, at most %d bins; thresholds from %d-fold cross-fitting with seed %d.",
		strings.Join(files, " and "), p.Rounds, p.LearningRate, p.L2, p.MinLeafHessian, p.MaxBins, folds, seed)
	if _, err := predict.New(fit); err != nil {
		return fmt.Errorf("the fitted model does not load: %w", err)
	}
	b, err := json.MarshalIndent(fit, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("%w; run from the repository's root or set -out", err)
	}
	fmt.Printf("wrote %s in %v\n", out, since(start))
	return nil
}

// report prints what a threshold does on the cross-fitted scores of each
// training dataset, next to Backblaze's rule.
func report(rows *train.Rows, scores []float64, name string, threshold float64) {
	model := map[string]*train.Confusion{}
	rule := map[string]*train.Confusion{}
	var names []string
	for i := range rows.X {
		ds := rows.Drives[rows.Drive[i]].Dataset
		if model[ds] == nil {
			model[ds], rule[ds] = &train.Confusion{}, &train.Confusion{}
			names = append(names, ds)
		}
		model[ds].Add(scores[i] >= threshold, rows.Failing[i], 1)
		rule[ds].Add(rows.Rule[i], rows.Failing[i], 1)
	}
	fmt.Printf("threshold %.6g (%s):", threshold, name)
	for _, ds := range names {
		fmt.Printf("  %s recall %.1f%% FPR %.2f%% (rule %.1f%%, %.2f%%)", ds,
			100*model[ds].Recall(), 100*model[ds].FPR(), 100*rule[ds].Recall(), 100*rule[ds].FPR())
	}
	fmt.Println()
}

func since(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }
