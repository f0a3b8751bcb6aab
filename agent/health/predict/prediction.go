package predict

import (
	"fmt"
	"sort"
)

// MinReasonLogOdds is the smallest share of the log-odds for which a feature
// is given as a reason: 0.1 raises the odds of failure by about a tenth.
const MinReasonLogOdds = 0.1

// Prediction is the model's verdict on one drive.
type Prediction struct {
	// Probability is the probability that the drive fails within Horizon
	// days of the latest sample, in [0, 1]. It is scaled to a fleet like
	// Backblaze's, where a drive fails within a month about once in a few
	// hundred; compare it with Model.Threshold to decide.
	Probability float64
	// Reasons are the features that raised the probability by at least
	// MinReasonLogOdds, largest first. A clean drive has none.
	Reasons []Reason
}

// Reason is one feature that raised a drive's probability of failure.
type Reason struct {
	// Feature is the feature's Name, for example "smart_197_198_growth_7d".
	Feature string
	// Value is the feature's value on the latest day.
	Value float64
	// LogOdds is how much the feature added to the log-odds of failure,
	// compared with a typical healthy drive.
	LogOdds float64
	// Text says the same in words, for example "pending or
	// offline-uncorrectable sectors (SMART 197/198) grew by 8 in 7 days".
	Text string
}

// String formats the reason for logs and operators.
func (r Reason) String() string {
	return fmt.Sprintf("%s (+%.2f log-odds)", r.Text, r.LogOdds)
}

// Predict gives the probability that the drive whose history this is fails
// within Horizon days of its latest sample, with the reasons. The history
// must be in day order, oldest first. The model looks 30 days back: samples
// from before the last one taken at least 30 days before the latest can be
// dropped.
func (m *Model) Predict(history []Sample) (Prediction, error) {
	h, err := newHistory(history)
	if err != nil {
		return Prediction{}, err
	}
	last := len(history) - 1
	row := make([]float64, len(m.features))
	for i, f := range m.features {
		row[i] = f.compute(h, last)
	}
	total, terms := m.logOdds(row)
	p := Prediction{Probability: sigmoid(total)}
	for i, t := range terms {
		if t >= MinReasonLogOdds {
			f := m.features[i]
			p.Reasons = append(p.Reasons, Reason{Feature: f.Name, Value: row[i], LogOdds: t, Text: f.Describe(row[i])})
		}
	}
	sort.SliceStable(p.Reasons, func(a, b int) bool { return p.Reasons[a].LogOdds > p.Reasons[b].LogOdds })
	return p, nil
}
