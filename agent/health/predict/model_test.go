package predict

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// validFile is a small model of the right form: every shape flat at zero.
func validFile() File {
	f := File{Format: FileFormat, HorizonDays: Horizon, Bias: -5, Threshold: 0.01}
	for _, feat := range Features() {
		f.Shapes = append(f.Shapes, Shape{Feature: feat.Name, Values: []float64{0}})
	}
	return f
}

func TestNewAcceptsValidFile(t *testing.T) {
	f := validFile()
	f.Shapes[0] = Shape{Feature: f.Shapes[0].Feature, Cuts: []float64{0.5}, Values: []float64{0, 2}}
	m, err := New(f)
	if err != nil {
		t.Fatal(err)
	}
	// The model keeps its own copy of the shapes.
	f.Shapes[0].Values[1] = 100
	row := make([]float64, len(Features()))
	row[0] = 1
	if got, want := m.Probability(row), 1/(1+math.Exp(3)); math.Abs(got-want) > 1e-15 {
		t.Fatalf("probability %v, want %v", got, want)
	}
}

func TestNewRejectsBadFiles(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(f *File)
		want   string
	}{
		{"format", func(f *File) { f.Format = 99 }, "format 99"},
		{"horizon", func(f *File) { f.HorizonDays = 7 }, "7 days ahead"},
		{"bias", func(f *File) { f.Bias = math.Inf(1) }, "bias"},
		{"threshold", func(f *File) { f.Threshold = 1.5 }, "threshold"},
		{"too few shapes", func(f *File) { f.Shapes = f.Shapes[1:] }, "shapes"},
		{"wrong feature", func(f *File) { f.Shapes[0].Feature = "smart_1" }, `"smart_1"`},
		{"values", func(f *File) { f.Shapes[2].Values = nil }, "one more value than cuts"},
		{"cuts order", func(f *File) {
			f.Shapes[2].Cuts, f.Shapes[2].Values = []float64{3, 1}, []float64{0, 0, 0}
		}, "strictly increasing"},
		{"NaN cut", func(f *File) {
			f.Shapes[2].Cuts, f.Shapes[2].Values = []float64{math.NaN()}, []float64{0, 0}
		}, "finite"},
		{"NaN value", func(f *File) { f.Shapes[2].Values = []float64{math.NaN()} }, "within"},
		{"huge value", func(f *File) { f.Shapes[2].Values = []float64{1e300} }, "within"},
		{"NaN missing", func(f *File) { f.Shapes[2].Missing = math.NaN() }, "missing-value"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := validFile()
			c.change(&f)
			_, err := New(f)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "retrain") {
				t.Fatalf("error %q, want it to mention %q and how to retrain", err, c.want)
			}
		})
	}
}

func TestLoadRejectsBadJSON(t *testing.T) {
	b, err := json.Marshal(validFile())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bytes.NewReader(b)); err != nil {
		t.Fatalf("valid file: %v", err)
	}
	for _, bad := range []string{
		"",
		"{",
		`{"format": "one"}`,
		strings.Replace(string(b), `"format"`, `"fromat"`, 1),
	} {
		if _, err := Load(strings.NewReader(bad)); err == nil {
			t.Errorf("Load accepted %.40q", bad)
		}
	}
}

// FuzzLoad checks that Load never panics, and that a model it accepts
// always answers with a probability.
func FuzzLoad(f *testing.F) {
	f.Add(string(embedded))
	b, _ := json.Marshal(validFile())
	f.Add(string(b))
	f.Fuzz(func(t *testing.T, in string) {
		m, err := Load(strings.NewReader(in))
		if err != nil {
			return
		}
		p, err := m.Predict(drive(40, healthy))
		if err != nil {
			t.Fatal(err)
		}
		if !(p.Probability >= 0 && p.Probability <= 1) {
			t.Fatalf("probability %v", p.Probability)
		}
	})
}
