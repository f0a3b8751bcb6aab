package predict

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"math"
)

// Horizon is how far ahead the model looks, in days: it gives the
// probability that a drive fails within Horizon days of its latest sample,
// counting that sample's day.
const Horizon = 30

// FileFormat is the version of the model.json layout this package reads.
const FileFormat = 1

// File is the JSON form of a Model, as cmd/train writes it to model.json.
type File struct {
	// Format is FileFormat.
	Format int `json:"format"`
	// Source says what the model was trained on and how, including the
	// credit to Backblaze that the data's terms require.
	Source string `json:"source"`
	// HorizonDays is Horizon.
	HorizonDays int `json:"horizon_days"`
	// Bias is the log-odds of failure of a drive whose every feature adds
	// zero.
	Bias float64 `json:"bias"`
	// Threshold is the probability at or above which the drive should be
	// treated as likely to fail; see Model.Threshold.
	Threshold float64 `json:"threshold"`
	// Stricter are higher thresholds, with fewer false alarms; see
	// Model.Stricter.
	Stricter []OperatingPoint `json:"stricter"`
	// Shapes holds one shape per feature, in the order of Features.
	Shapes []Shape `json:"shapes"`
}

// OperatingPoint is a decision threshold and the false-positive rate it
// was chosen for.
type OperatingPoint struct {
	// FPR is the false-positive rate the threshold was chosen for: on the
	// training drives, scored by models that had not seen them, it flagged
	// at most this share of the healthy drive-days of every dataset.
	FPR float64 `json:"fpr"`
	// Threshold is the lowest probability that counts as a warning.
	Threshold float64 `json:"threshold"`
}

// Model predicts drive failures. Build one with Embedded, Load or New.
type Model struct {
	bias      float64
	threshold float64
	stricter  []OperatingPoint
	features  []Feature
	shapes    []Shape // shapes[i] belongs to features[i]
}

//go:embed model.json
var embedded []byte

// Embedded returns the model compiled into the binary from model.json.
func Embedded() (*Model, error) {
	m, err := Load(bytes.NewReader(embedded))
	if err != nil {
		return nil, fmt.Errorf("predict: the embedded model.json: %w", err)
	}
	return m, nil
}

// Load reads a model in the JSON form of File.
func Load(r io.Reader) (*Model, error) {
	var f File
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("predict: decoding model: %w; model.json must be written by cmd/train", err)
	}
	return New(f)
}

// New checks f and builds the model it describes. The model keeps its own
// copy of f's shapes.
func New(f File) (*Model, error) {
	const retrain = "retrain with `go run ./agent/health/predict/cmd/train`"
	if f.Format != FileFormat {
		return nil, fmt.Errorf("predict: model format %d, this build reads format %d; %s", f.Format, FileFormat, retrain)
	}
	if f.HorizonDays != Horizon {
		return nil, fmt.Errorf("predict: model looks %d days ahead, this build predicts %d days ahead; %s", f.HorizonDays, Horizon, retrain)
	}
	if !finite(f.Bias) {
		return nil, fmt.Errorf("predict: model bias is %v, want a number within ±%d; %s", f.Bias, maxTerm, retrain)
	}
	if !(f.Threshold >= 0 && f.Threshold <= 1) {
		return nil, fmt.Errorf("predict: model threshold is %v, want a probability in [0, 1]; %s", f.Threshold, retrain)
	}
	for _, op := range f.Stricter {
		if !(op.Threshold >= f.Threshold && op.Threshold <= 1) || !(op.FPR >= 0 && op.FPR <= 1) {
			return nil, fmt.Errorf("predict: stricter operating point %+v, want a false-positive rate in [0, 1] and a threshold from the model's threshold to 1; %s", op, retrain)
		}
	}
	fs := Features()
	if len(f.Shapes) != len(fs) {
		return nil, fmt.Errorf("predict: model has %d shapes, this build computes %d features; %s", len(f.Shapes), len(fs), retrain)
	}
	m := &Model{
		bias:      f.Bias,
		threshold: f.Threshold,
		stricter:  append([]OperatingPoint(nil), f.Stricter...),
		features:  fs,
		shapes:    make([]Shape, len(fs)),
	}
	for i, s := range f.Shapes {
		if s.Feature != fs[i].Name {
			return nil, fmt.Errorf("predict: model shape %d is for feature %q, this build computes %q there; %s", i, s.Feature, fs[i].Name, retrain)
		}
		if err := s.check(); err != nil {
			return nil, fmt.Errorf("predict: %w; %s", err, retrain)
		}
		m.shapes[i] = Shape{
			Feature: s.Feature,
			Cuts:    append([]float64(nil), s.Cuts...),
			Values:  append([]float64(nil), s.Values...),
			Missing: s.Missing,
		}
	}
	return m, nil
}

// Threshold is the probability at or above which a drive should be treated
// as likely to fail. Training chose it as the lowest threshold whose
// false-positive rate on the training drives is no worse than that of
// Backblaze's rule "any of SMART 5, 187, 188, 197, 198 is above zero"; see
// README.md for what it achieves on drives the model has not seen.
func (m *Model) Threshold() float64 { return m.threshold }

// Stricter returns higher thresholds than Threshold, each with the
// false-positive rate it was chosen for on the training drives, strictest
// last. Threshold flags about as many healthy drives as Backblaze's rule,
// which is a lot for, say, draining a drive ahead of its failure; these
// flag fewer, and miss more failures. README.md says what they achieve.
func (m *Model) Stricter() []OperatingPoint {
	return append([]OperatingPoint(nil), m.stricter...)
}

// Probability returns the probability of failure within Horizon days for
// one row of features: one value for each of Features, in order, as in a
// row of what Featurize returns. Predict is the same for a drive's history,
// with reasons.
func (m *Model) Probability(features []float64) float64 {
	total, _ := m.logOdds(features)
	return sigmoid(total)
}

// logOdds returns the model's log-odds of failure for one row of features,
// and each feature's term of it.
func (m *Model) logOdds(features []float64) (total float64, terms []float64) {
	terms = make([]float64, len(m.shapes))
	total = m.bias
	for i, s := range m.shapes {
		terms[i] = s.At(features[i])
		total += terms[i]
	}
	return total, terms
}

// sigmoid turns log-odds into a probability.
func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
