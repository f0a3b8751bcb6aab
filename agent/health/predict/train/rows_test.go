package train

import (
	"testing"
	"time"

	"github.com/shingle-storage/shingle/agent/health/predict"
	"github.com/shingle-storage/shingle/agent/health/predict/backblaze"
)

var start = time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)

// days builds one sample a day from day first to day last (counted from
// start), with SMART 5 set to reallocated on each.
func samples(first, last int, reallocated uint64) []predict.Sample {
	var s []predict.Sample
	for d := first; d <= last; d++ {
		s = append(s, predict.Sample{Day: start.AddDate(0, 0, d), SMART: map[uint8]uint64{5: reallocated}})
	}
	return s
}

// TestLabel checks the labels at the edges of the horizon and of the data.
func TestLabel(t *testing.T) {
	ds := Dataset{Name: "test", HealthyWeight: 10, Drives: []backblaze.Drive{
		// Fails on day 99 and has one more row after that.
		{Serial: "failed", Samples: samples(0, 100, 1), Failed: start.AddDate(0, 0, 99)},
		// Healthy to the end of the data, day 100.
		{Serial: "healthy", Samples: samples(0, 100, 0)},
		// Healthy, gone on day 50 (retired).
		{Serial: "retired", Samples: samples(0, 50, 0)},
		{Serial: "skipped", Samples: samples(0, 100, 0)},
	}}
	r, err := Label(ds, func(s string) bool { return s != "skipped" })
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Drives) != 3 {
		t.Fatalf("drives %+v, want failed, healthy and retired", r.Drives)
	}
	count := map[string][2]int{} // per drive: healthy, failing days
	for i := range r.X {
		d := r.Drives[r.Drive[i]]
		c := count[d.Serial]
		if r.Failing[i] {
			c[1]++
		} else {
			c[0]++
		}
		count[d.Serial] = c
		wantWeight := 10.0
		if d.Failed {
			wantWeight = 1
		}
		if r.Weight[i] != wantWeight {
			t.Errorf("%s: weight %v, want %v", d.Serial, r.Weight[i], wantWeight)
		}
		if r.Rule[i] != (d.Serial == "failed") {
			t.Errorf("%s: rule %v on a drive with SMART 5 = %v", d.Serial, r.Rule[i], d.Serial == "failed")
		}
	}
	for serial, want := range map[string][2]int{
		"failed":  {70, 30}, // days 0–69 healthy, 70–99 failing, day 100 after the failure left out
		"healthy": {72, 0},  // days 0–71; from day 72 the data ends within 29 days
		"retired": {51, 0},  // all its days: the data goes on to day 100
	} {
		if count[serial] != want {
			t.Errorf("%s: %d healthy and %d failing days, want %d and %d", serial, count[serial][0], count[serial][1], want[0], want[1])
		}
	}
}

// TestRowsSubsetAndAppend checks that drive indices follow their rows.
func TestRowsSubsetAndAppend(t *testing.T) {
	mk := func(name string) *Rows {
		ds := Dataset{Name: name, HealthyWeight: 1, Drives: []backblaze.Drive{
			{Serial: name + "-a", Samples: samples(0, 40, 0)},
			{Serial: name + "-b", Samples: samples(0, 40, 0)},
		}}
		r, err := Label(ds, func(string) bool { return true })
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := mk("x")
	r.Append(mk("y"))
	for i := range r.X {
		if want := []string{"x-a", "x-b", "y-a", "y-b"}[i/12]; r.Drives[r.Drive[i]].Serial != want {
			t.Fatalf("row %d belongs to %s, want %s", i, r.Drives[r.Drive[i]].Serial, want)
		}
	}
	s := r.Subset(func(d int) bool { return r.Drives[d].Serial == "y-a" })
	if s.Len() != 12 || len(s.Drives) != 1 || s.Drives[0].Serial != "y-a" || s.Drive[0] != 0 {
		t.Fatalf("subset has %d rows of drives %+v", s.Len(), s.Drives)
	}
}
