package durability

import (
	"math"
	"strings"
	"testing"
)

// TestObservedAFRLeansOnThePriorUntilTheFleetHasHistory: no history gives
// the prior; a small fleet without failures moves it a little, never to
// 0; a big fleet's history outweighs it.
func TestObservedAFRLeansOnThePriorUntilTheFleetHasHistory(t *testing.T) {
	afr := func(failures int, driveYears float64, prior ...Prior) float64 {
		t.Helper()
		a, err := ObservedAFR(failures, driveYears, prior...)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if got := afr(0, 0); relErr(got, 0.015) > 1e-12 {
		t.Errorf("no history: AFR %v, want the prior's 0.015", got)
	}
	// Twelve drives for a year, none failed: a little below the prior.
	if got := afr(0, 12); !(got > 0.012 && got < 0.015) {
		t.Errorf("0 failures in 12 drive-years: AFR %v, want a little below 1.5%%", got)
	}
	// Two failures in those twelve drive-years: above the prior, far below
	// the raw 2/12.
	if got := afr(2, 12); !(got > 0.015 && got < 0.05) {
		t.Errorf("2 failures in 12 drive-years: AFR %v, want between 1.5%% and 5%%", got)
	}
	// A fleet of 10,000 drive-years at 3% a year: the history wins.
	if got, want := afr(300, 10000), -math.Expm1(-0.03); relErr(got, want) > 0.02 {
		t.Errorf("300 failures in 10,000 drive-years: AFR %v, want about %v", got, want)
	}
	// More failures in the same drive-years never lower it.
	prev := 0.0
	for f := range 20 {
		got := afr(f, 50)
		if !(got > prev) {
			t.Errorf("%d failures in 50 drive-years: AFR %v, not above %v for one fewer", f, got, prev)
		}
		prev = got
	}
	// A prior of its own, and an absurd history that stays below 1.
	if got := afr(0, 0, Prior{AFR: 0.05, DriveYears: 10}); relErr(got, 0.05) > 1e-12 {
		t.Errorf("own prior, no history: AFR %v, want 0.05", got)
	}
	if got := afr(1e6, 1); !(got < 1) {
		t.Errorf("a million failures in a drive-year: AFR %v, want below 1 so Estimate takes it", got)
	}
}

func TestObservedAFRRejectsBadObservations(t *testing.T) {
	for _, tc := range []struct {
		failures   int
		driveYears float64
		prior      []Prior
		want       string
	}{
		{-1, 10, nil, "-1 failures: give the number of drives that failed, 0 or more"},
		{0, -1, nil, "-1 drive-years: give the sum of the years each drive was in service"},
		{0, math.NaN(), nil, "NaN drive-years"},
		{0, math.Inf(1), nil, "+Inf drive-years"},
		{0, 1, []Prior{{AFR: 0, DriveYears: 100}}, "prior AFR 0: give a probability strictly between 0 and 1"},
		{0, 1, []Prior{{AFR: 0.015, DriveYears: 0}}, "prior weight 0 drive-years: give a positive weight"},
		{0, 1, []Prior{DefaultPrior, DefaultPrior}, "at most one prior, got 2"},
	} {
		_, err := ObservedAFR(tc.failures, tc.driveYears, tc.prior...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ObservedAFR(%d, %v, %v): error %v, want it to contain %q", tc.failures, tc.driveYears, tc.prior, err, tc.want)
		}
	}
}
