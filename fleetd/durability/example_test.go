package durability_test

import (
	"fmt"
	"time"

	"github.com/shingle-storage/shingle/fleetd/durability"
	"github.com/shingle-storage/shingle/fleetd/state"
)

// One scheme in full, as `fleetctl durability` prints it: a million sealed
// 1 GiB volumes in RS(6,3) on a thousand drives with a 2% AFR, members
// rebuilt at 100 MB/s after the default 15 minute grace.
func ExampleEstimate() {
	scheme := state.RS(6, 3)
	r, err := durability.Estimate(durability.Inputs{
		Scheme:               scheme,
		AFR:                  0.02,
		MemberBytes:          durability.MemberBytes(scheme, 1<<30),
		RepairBytesPerSecond: 100e6,
		Grace:                15 * time.Minute,
		Volumes:              1_000_000,
		Drives:               1000,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(r)
	// Output:
	// RS(6,3): 9 members, any 3 may be lost
	// drive AFR 2%: 2.306e-06 failures per drive-hour
	// one 170.7 MiB member rebuilt at 100 MB/s in 1.8s, after a grace of 15m0s (none at the last margin)
	//
	// lost  repair time  P(lost before whole again)
	// 0     -            -
	// 1     15m1.8s      1.3e-19
	// 2     15m1.8s      2.8e-14
	// 3     1.8s         6.9e-09
	// 4     data lost
	//
	// MTTDL              4.3e+19 years
	// one volume         P(loss in a year) 2.3e-20  19.6 nines
	// 1,000,000 volumes  P(loss in a year) 2.3e-14  13.6 nines, 2.3e-14 volumes lost a year
	// 1,000 drives       20.2 drive failures a year
}

// Schemes side by side, each with its own member size and volume count:
// open volumes in three replicas, sealed ones in RS(6,3) or LRC(12,2,2),
// and how the repair rate moves the nines.
func ExampleTable() {
	var reports []durability.Report
	for _, row := range []struct {
		scheme  string
		rate    float64 // bytes of a lost member rebuilt per second
		volumes int
	}{
		{"R3", 100e6, 10_000},
		{"RS(6,3)", 100e6, 1_000_000},
		{"RS(6,3)", 100e3, 1_000_000},
		{"LRC(12,2,2)", 100e6, 1_000_000},
	} {
		scheme, err := state.ParseScheme(row.scheme)
		if err != nil {
			fmt.Println(err)
			return
		}
		r, err := durability.Estimate(durability.Inputs{
			Scheme:               scheme,
			AFR:                  0.02,
			MemberBytes:          durability.MemberBytes(scheme, 1<<30),
			RepairBytesPerSecond: row.rate,
			Grace:                15 * time.Minute,
			Volumes:              row.volumes,
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		reports = append(reports, r)
	}
	fmt.Print(durability.Table(reports...))
	// Output:
	// scheme       n   f  repair    at last margin  MTTDL          P(volume)  nines  volumes    P(fleet)  nines
	// R3           3   2  15m10.7s  10.7s           2.1e+15 years  4.9e-16    15.3   10,000     4.9e-12   11.3
	// RS(6,3)      9   3  15m1.8s   1.8s            4.3e+19 years  2.3e-20    19.6   1,000,000  2.3e-14   13.6
	// RS(6,3)      9   3  44m49.6s  29m49.6s        4.8e+15 years  2.1e-16    15.6   1,000,000  2.1e-10   9.6
	// LRC(12,2,2)  16  3  15m0.9s   895ms           5.9e+18 years  1.7e-19    18.7   1,000,000  1.7e-13   12.7
}

// The AFR to estimate with, from the fleet's own history: a dev fleet's
// handful of drives says little, and the prior (1.5%) holds; a large
// fleet's history speaks for itself.
func ExampleObservedAFR() {
	for _, h := range []struct {
		failures   int
		driveYears float64
	}{
		{0, 0},
		{0, 12},
		{2, 12},
		{300, 10_000},
	} {
		afr, err := durability.ObservedAFR(h.failures, h.driveYears)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%d failures in %g drive-years: AFR %.2f%%\n", h.failures, h.driveYears, 100*afr)
	}
	// Output:
	// 0 failures in 0 drive-years: AFR 1.50%
	// 0 failures in 12 drive-years: AFR 1.34%
	// 2 failures in 12 drive-years: AFR 3.09%
	// 300 failures in 10000 drive-years: AFR 2.94%
}
