package predict

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// day0 is the first day of the hand-made histories.
var day0 = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

// drive builds a history of n daily samples; attrs gives the raw value of
// each attribute on day i.
func drive(n int, attrs func(i int) map[uint8]uint64) []Sample {
	h := make([]Sample, n)
	for i := range h {
		h[i] = Sample{Day: day0.AddDate(0, 0, i), SMART: attrs(i)}
	}
	return h
}

// healthy is a drive of about two years with no errors.
func healthy(i int) map[uint8]uint64 {
	return map[uint8]uint64{
		5: 0, 187: 0, 188: 0, 197: 0, 198: 0,
		9: uint64(17000 + 24*i), 193: uint64(20000 + 10*i), 194: 28,
	}
}

// loadEmbedded loads the compiled-in model or fails the test.
func loadEmbedded(t *testing.T) *Model {
	t.Helper()
	m, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func predictOrFail(t *testing.T, m *Model, h []Sample) Prediction {
	t.Helper()
	p, err := m.Predict(h)
	if err != nil {
		t.Fatal(err)
	}
	if !(p.Probability >= 0 && p.Probability <= 1) {
		t.Fatalf("probability %v is not in [0, 1]", p.Probability)
	}
	return p
}

func TestEmbeddedModelLoads(t *testing.T) {
	m := loadEmbedded(t)
	if !(m.Threshold() > 0 && m.Threshold() < 1) {
		t.Fatalf("threshold %v, want a probability strictly between 0 and 1", m.Threshold())
	}
}

// TestFailingDriveScoresHigher checks the model on hand-made drives: one
// whose reallocated and pending sectors grow over its last two weeks must
// score above a clean one, above the threshold, and give those sectors as
// reasons; the clean one must stay below the threshold, without reasons.
func TestFailingDriveScoresHigher(t *testing.T) {
	m := loadEmbedded(t)
	clean := predictOrFail(t, m, drive(60, healthy))
	failing := predictOrFail(t, m, drive(60, func(i int) map[uint8]uint64 {
		a := healthy(i)
		if i >= 46 {
			a[5] = uint64(8 * (i - 45))
			a[197] = uint64(8 * (i - 45))
			a[198] = uint64(8 * (i - 45))
		}
		return a
	}))
	if failing.Probability <= clean.Probability {
		t.Fatalf("failing drive scores %v, clean drive %v; want the failing one higher", failing.Probability, clean.Probability)
	}
	if clean.Probability >= m.Threshold() {
		t.Errorf("clean drive scores %v, at or above the threshold %v", clean.Probability, m.Threshold())
	}
	if failing.Probability < m.Threshold() {
		t.Errorf("failing drive scores %v, below the threshold %v", failing.Probability, m.Threshold())
	}
	if len(clean.Reasons) != 0 {
		t.Errorf("clean drive has reasons %v, want none", clean.Reasons)
	}
	var named []string
	for i, r := range failing.Reasons {
		named = append(named, r.Feature)
		if r.LogOdds < MinReasonLogOdds {
			t.Errorf("reason %v is below MinReasonLogOdds", r)
		}
		if i > 0 && r.LogOdds > failing.Reasons[i-1].LogOdds {
			t.Errorf("reasons are not sorted largest first: %v", failing.Reasons)
		}
		if !strings.Contains(r.String(), r.Text) {
			t.Errorf("reason %q does not say %q", r.String(), r.Text)
		}
	}
	all := strings.Join(named, " ")
	if !strings.Contains(all, "smart_5") || !strings.Contains(all, "smart_197") {
		t.Errorf("failing drive's reasons are %v; want reallocated (smart_5…) and pending (smart_197…) sectors among them", named)
	}
}

// TestMonotoneInErrorCounters checks that more errors never lower the
// probability: for each of the five counters, a drive that has held value v
// for 40 days scores at least as high as one with a smaller v, and one
// whose counter jumped today scores at least as high as one where it has
// held still. Many reallocated, pending or offline-uncorrectable sectors
// must score above a clean drive. (Command timeouts, 188, need not: in the
// data a drive that has long held a count of timeouts is barely more likely
// to fail than a clean one, and the model may rightly ignore it.)
func TestMonotoneInErrorCounters(t *testing.T) {
	m := loadEmbedded(t)
	for _, id := range []uint8{5, 187, 188, 197, 198} {
		prev := -1.0
		for _, v := range []uint64{0, 1, 2, 3, 5, 8, 16, 24, 40, 64, 100, 200, 500, 1000, 5000, 65535, 1 << 40} {
			steady := predictOrFail(t, m, drive(40, func(i int) map[uint8]uint64 {
				a := healthy(i)
				a[id] = v
				return a
			}))
			if steady.Probability < prev {
				t.Errorf("SMART %d held at %d scores %v, below the %v of a smaller value", id, v, steady.Probability, prev)
			}
			prev = steady.Probability
			jumped := predictOrFail(t, m, drive(40, func(i int) map[uint8]uint64 {
				a := healthy(i)
				if i == 39 {
					a[id] = v
				}
				return a
			}))
			if jumped.Probability < steady.Probability {
				t.Errorf("SMART %d jumping from 0 to %d scores %v, below the %v of holding at %d", id, v, jumped.Probability, steady.Probability, v)
			}
		}
		clean := predictOrFail(t, m, drive(40, healthy))
		if id != 188 && prev <= clean.Probability {
			t.Errorf("SMART %d at 2^40 scores %v, no higher than a clean drive's %v", id, prev, clean.Probability)
		}
	}
}

// TestRandomHistories feeds odd but valid histories (missing attributes,
// huge values, gaps, several samples a day, unknown extra signals) and
// checks the model always answers with a probability.
func TestRandomHistories(t *testing.T) {
	m := loadEmbedded(t)
	rng := rand.New(rand.NewPCG(1, 2))
	ids := []uint8{1, 5, 9, 187, 188, 193, 194, 197, 198, 241}
	for range 500 {
		n := 1 + rng.IntN(80)
		h := make([]Sample, n)
		day := day0.Add(time.Duration(rng.IntN(86400)) * time.Second)
		for i := range h {
			day = day.Add(time.Duration(rng.IntN(3*86400)) * time.Second)
			s := Sample{Day: day, SMART: map[uint8]uint64{}, Extra: map[string]float64{"nvme_percentage_used": rng.Float64()}}
			for _, id := range ids {
				switch rng.IntN(4) {
				case 0: // not reported
				case 1:
					s.SMART[id] = rng.Uint64()
				default:
					s.SMART[id] = uint64(rng.IntN(10))
				}
			}
			h[i] = s
		}
		predictOrFail(t, m, h)
	}
}

func TestPredictRejectsBadHistory(t *testing.T) {
	m := loadEmbedded(t)
	if _, err := m.Predict(nil); err == nil || !strings.Contains(err.Error(), "at least one sample") {
		t.Errorf("empty history: error %v, want one asking for a sample", err)
	}
	h := drive(3, healthy)
	h[1], h[2] = h[2], h[1]
	if _, err := m.Predict(h); err == nil || !strings.Contains(err.Error(), "sort the history") {
		t.Errorf("unsorted history: error %v, want one asking to sort it", err)
	}
	if _, err := Featurize(h); err == nil {
		t.Error("Featurize accepted an unsorted history")
	}
}

// feature returns the value of the named feature on the last day of h.
func feature(t *testing.T, h []Sample, name string) float64 {
	t.Helper()
	rows, err := Featurize(h)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range Features() {
		if f.Name == name {
			return rows[len(rows)-1][i]
		}
	}
	t.Fatalf("no feature %s", name)
	return 0
}

// TestFeatures checks the history features on a hand-made history with a
// gap, samples at different times of day, a counter that goes down and an
// attribute that is not reported.
func TestFeatures(t *testing.T) {
	at := func(d, hour int, pending, cycles uint64) Sample {
		return Sample{
			Day:   day0.AddDate(0, 0, d).Add(time.Duration(hour) * time.Hour),
			SMART: map[uint8]uint64{197: pending, 198: pending / 2, 193: cycles, 5: 0},
		}
	}
	h := []Sample{
		at(0, 23, 0, 1000),
		at(10, 1, 16, 1100), // 30 days before the last sample
		at(11, 5, 40, 1110),
		at(33, 22, 24, 1330), // 7 days before the last
		at(34, 3, 8, 1340),
		at(40, 0, 8, 1400), // the last sample
	}
	for _, c := range []struct {
		name string
		want float64
	}{
		{"smart_197_198", 8},
		{"smart_197_198_growth_7d", 0},  // 24 → 8 went down
		{"smart_197_198_growth_30d", 0}, // 16 → 8 went down
		{"smart_197_198_max_30d", 40},   // day 11, within 30 days of day 40
		{"smart_5", 0},
		{"smart_5_growth_30d", 0},
		{"smart_193_per_day", 10}, // (1400-1100)/30
		// The largest of 5 and 197/198 (187 is not reported), and one
		// of 187 and 197/198 above zero.
		{"smart_5_187_197_198_largest", 8},
		{"smart_187_197_198_kinds", 1},
	} {
		if got := feature(t, h, c.name); got != c.want {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
	for _, name := range []string{"smart_187", "smart_187_growth_7d", "smart_9", "smart_194"} {
		if got := feature(t, h, name); !math.IsNaN(got) {
			t.Errorf("%s = %v for a drive that does not report it, want NaN", name, got)
		}
	}
	// A single sample: no growth, no rate.
	if got := feature(t, h[:1], "smart_197_198_growth_30d"); got != 0 {
		t.Errorf("growth over a one-sample history = %v, want 0", got)
	}
	if got := feature(t, h[:1], "smart_193_per_day"); !math.IsNaN(got) {
		t.Errorf("rate over a one-sample history = %v, want NaN", got)
	}
	// Growth counts from the oldest sample when the history is short.
	if got := feature(t, h[:3], "smart_197_198_growth_30d"); got != 40 {
		t.Errorf("growth over an 11-day history = %v, want 40", got)
	}
	// 197 and 198 are read as one, the larger; either alone will do.
	only198 := []Sample{{Day: day0, SMART: map[uint8]uint64{198: 5}}}
	if got := feature(t, only198, "smart_197_198"); got != 5 {
		t.Errorf("smart_197_198 of a drive reporting only 198 = 5 is %v", got)
	}
	both := []Sample{{Day: day0, SMART: map[uint8]uint64{197: 3, 198: 9}}}
	if got := feature(t, both, "smart_197_198"); got != 9 {
		t.Errorf("smart_197_198 of 197 = 3, 198 = 9 is %v, want 9", got)
	}
	// The shared error features read whichever counters are reported.
	errs := []Sample{{Day: day0, SMART: map[uint8]uint64{5: 2, 187: 30, 198: 9}}}
	if got := feature(t, errs, "smart_5_187_197_198_largest"); got != 30 {
		t.Errorf("largest of 5 = 2, 187 = 30, 198 = 9 is %v, want 30", got)
	}
	if got := feature(t, errs, "smart_187_197_198_kinds"); got != 2 {
		t.Errorf("kinds of 187 = 30, 198 = 9 is %v, want 2", got)
	}
	noErrs := []Sample{{Day: day0, SMART: map[uint8]uint64{188: 4, 194: 30}}}
	for _, name := range []string{"smart_5_187_197_198_largest", "smart_187_197_198_kinds"} {
		if got := feature(t, noErrs, name); !math.IsNaN(got) {
			t.Errorf("%s = %v for a drive that reports none of its counters, want NaN", name, got)
		}
	}
	// Temperature and power-on hours drop the bits vendors pack above them.
	packed := []Sample{{Day: day0, SMART: map[uint8]uint64{194: 0x0012_0014_001f, 9: 0x0021_0000_1234}}}
	if got := feature(t, packed, "smart_194"); got != 0x1f {
		t.Errorf("packed temperature read as %v, want 31", got)
	}
	if got := feature(t, packed, "smart_9"); got != 0x1234 {
		t.Errorf("packed power-on hours read as %v, want %d", got, 0x1234)
	}
}

func TestShapeAt(t *testing.T) {
	s := Shape{Cuts: []float64{0.5, 10}, Values: []float64{-1, 2, 3}, Missing: 7}
	for _, c := range []struct{ x, want float64 }{
		{-5, -1}, {0, -1}, {0.5, -1}, {0.6, 2}, {10, 2}, {10.1, 3}, {math.Inf(1), 3}, {math.NaN(), 7},
	} {
		if got := s.At(c.x); got != c.want {
			t.Errorf("At(%v) = %v, want %v", c.x, got, c.want)
		}
	}
}
