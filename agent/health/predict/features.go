package predict

import (
	"fmt"
	"math"
)

// Feature is one number the model computes from a drive's history on a given
// day, such as "pending sectors" or "growth of reallocated sectors over the
// last 7 days". The model learns one Shape per feature.
//
// To give the model a new signal (a field of the NVMe health log, a
// fail-slow count from Sample.Extra), add an entry to the list in Features,
// retrain with cmd/train and commit the new model.json; Load refuses a
// model.json whose features do not match the list, so the two cannot drift
// apart silently.
type Feature struct {
	// Name identifies the feature in model.json and in reasons, for example
	// "smart_197_198_growth_7d".
	Name string
	// Monotone is true when a larger value can only mean more risk, as for
	// error counters. Training keeps the shape of such a feature
	// non-decreasing, so a drive never looks healthier for having more
	// errors.
	Monotone bool

	describe func(v float64) string
	compute  func(h *history, i int) float64
}

// Describe says in words what value v of the feature means, for example
// "pending or offline-uncorrectable sectors (SMART 197/198) grew by 8 in 7
// days".
func (f Feature) Describe(v float64) string {
	if math.IsNaN(v) {
		return fmt.Sprintf("%s is not reported", f.Name)
	}
	return f.describe(v)
}

// Features lists the model's features in the order model.json stores their
// shapes. Every call returns a new slice.
func Features() []Feature {
	// The error counters: the five SMART attributes Backblaze watches.
	// 197 and 198 are read as one, the larger of the two: on many drives
	// (every drive of the 2018 data) they are the same number, so the
	// data cannot tell their effects apart.
	counters := []counter{
		{ids: []uint8{5}, name: "reallocated sectors"},
		{ids: []uint8{187}, name: "reported uncorrectable errors"},
		{ids: []uint8{188}, name: "command timeouts"},
		// Pending sectors go back down when they are remapped or
		// rewritten, so the highest recent value counts too.
		{ids: []uint8{197, 198}, name: "pending or offline-uncorrectable sectors", canFall: true},
	}
	// The spans, in days, over which the growth of each counter is measured.
	growthWindows := []int{7, 30}

	var fs []Feature
	for _, c := range counters {
		fs = append(fs, Feature{
			Name:     c.feature(""),
			Monotone: true,
			describe: func(v float64) string { return fmt.Sprintf("%s = %.0f", c, v) },
			compute:  func(h *history, i int) float64 { return c.value(h.samples[i]) },
		})
		for _, w := range growthWindows {
			fs = append(fs, Feature{
				Name:     c.feature(fmt.Sprintf("_growth_%dd", w)),
				Monotone: true,
				describe: func(v float64) string { return fmt.Sprintf("%s grew by %.0f in %d days", c, v, w) },
				compute:  func(h *history, i int) float64 { return c.growth(h, i, w) },
			})
		}
		if c.canFall {
			fs = append(fs, Feature{
				Name:     c.feature("_max_30d"),
				Monotone: true,
				describe: func(v float64) string { return fmt.Sprintf("%s reached %.0f in the last 30 days", c, v) },
				compute:  func(h *history, i int) float64 { return c.highest(h, i, 30) },
			})
		}
	}

	// The risks of the counters do not add up in log-odds: a drive that
	// shows two of them is not much more likely to fail than a drive that
	// shows one. A sum of one term per counter cannot say that by itself;
	// fitting the drives that show several, it under-rates those that show
	// one. The next two features carry what the counters share, so that
	// each counter's own shape need only add what is particular to it.
	// Both are monotone and never go down when a counter goes up, so the
	// model still never lowers the probability for more errors. Command
	// timeouts (188) are left out: on their own they barely raise the risk.
	//
	// The largest of the media error counters, whichever it is.
	media := []counter{counters[0], counters[1], counters[3]}
	fs = append(fs, Feature{
		Name:     "smart_5_187_197_198_largest",
		Monotone: true,
		describe: func(v float64) string {
			return fmt.Sprintf("the largest media error count (SMART 5, 187, 197/198) is %.0f", v)
		},
		compute: func(h *history, i int) float64 { return largest(media, h.samples[i]) },
	})
	// How many of 187 and 197/198 are above zero, 0 to 2: two views of
	// sectors the drive could not read, the reads that failed and the
	// sectors waiting to be remapped. Reallocated sectors (5) are left
	// out of this one: in the 2013 data, a handful of reallocated
	// sectors that no longer grow is no sign of failure.
	unreadable := []counter{counters[1], counters[3]}
	fs = append(fs, Feature{
		Name:     "smart_187_197_198_kinds",
		Monotone: true,
		describe: func(v float64) string {
			switch v {
			case 0:
				return "no unreadable sectors reported (SMART 187, 197/198)"
			case 1:
				return "unreadable sectors reported by one of SMART 187 and 197/198"
			}
			return "unreadable sectors reported by both SMART 187 and 197/198"
		},
		compute: func(h *history, i int) float64 { return aboveZero(unreadable, h.samples[i]) },
	})

	fs = append(fs,
		Feature{
			Name: "smart_193_per_day",
			describe: func(v float64) string {
				return fmt.Sprintf("the heads were parked %.0f times a day over the last 30 days (SMART 193)", v)
			},
			compute: func(h *history, i int) float64 { return perDay(h, i, 193, 30) },
		},
		Feature{
			Name:     "smart_9",
			describe: func(v float64) string { return fmt.Sprintf("power-on time (SMART 9) = %.1f years", v/(24*365.25)) },
			// Some vendors keep minutes above the low 32 bits.
			compute: func(h *history, i int) float64 { return masked(h.samples[i], 9, 0xFFFFFFFF) },
		},
		Feature{
			Name:     "smart_194",
			describe: func(v float64) string { return fmt.Sprintf("temperature (SMART 194) = %.0f °C", v) },
			// Vendors keep the lowest and highest temperature above
			// the low byte.
			compute: func(h *history, i int) float64 { return masked(h.samples[i], 194, 0xFF) },
		},
	)
	return fs
}

// Featurize computes the features of every day of a drive's history: row i
// holds the features as they stood on history[i].Day, computed from
// history[:i+1] only, in the order of Features. A feature whose inputs the
// drive does not report is NaN.
func Featurize(history []Sample) ([][]float64, error) {
	h, err := newHistory(history)
	if err != nil {
		return nil, err
	}
	fs := Features()
	rows := make([][]float64, len(history))
	flat := make([]float64, len(history)*len(fs))
	for i := range history {
		rows[i] = flat[i*len(fs) : (i+1)*len(fs) : (i+1)*len(fs)]
		for j, f := range fs {
			rows[i][j] = f.compute(h, i)
		}
	}
	return rows, nil
}

// attr is the raw value of SMART attribute id in s, or NaN if s lacks it.
func attr(s Sample, id uint8) float64 {
	return masked(s, id, math.MaxUint64)
}

// masked is like attr but keeps only the bits of the raw value in mask.
func masked(s Sample, id uint8, mask uint64) float64 {
	v, ok := s.SMART[id]
	if !ok {
		return math.NaN()
	}
	return float64(v & mask)
}

// perDay is the growth of SMART attribute id per day from the last sample
// at least days days before sample i (or the oldest sample) to sample i;
// NaN if the two samples are of the same day or either lacks the attribute.
func perDay(h *history, i int, id uint8, days int) float64 {
	span := h.days[i] - h.days[h.earlier(i, days)]
	if span == 0 {
		return math.NaN()
	}
	return counter{ids: []uint8{id}}.growth(h, i, days) / float64(span)
}
