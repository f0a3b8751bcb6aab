package durability

import (
	"math"
	"time"
)

// Report is an estimate for one scheme: the chain it was computed from,
// the mean time to data loss, and the annual probabilities of loss of one
// volume and of the fleet's volumes of that scheme. String prints it for
// people; Table compares several.
type Report struct {
	// Inputs are the inputs the estimate was made from.
	Inputs Inputs
	// Members is n, the replicas or shards of one volume.
	Members int
	// Tolerates is f, the members a volume can lose and still be rebuilt.
	Tolerates int
	// FailuresPerDriveHour is λ = −ln(1 − AFR)/8760.
	FailuresPerDriveHour float64
	// States are the transient states of the chain, 0 to Tolerates lost
	// members; one more loss is data loss.
	States []State
	// MTTDLHours is the mean time to data loss of one volume, in hours (a
	// time.Duration cannot hold it), from the healthy state. +Inf if beyond
	// float64.
	MTTDLHours float64
	// PerVolume is the probability that one volume is lost within a year.
	PerVolume float64
	// Fleet is the probability that any of Inputs.Volumes volumes is lost
	// within a year, volumes taken as independent.
	Fleet float64
	// VolumeNines and FleetNines are Nines(PerVolume) and Nines(Fleet).
	VolumeNines, FleetNines float64
	// VolumesLostPerYear is the expected number of volumes lost a year,
	// Volumes·8760/MTTDL. Correlation between volumes does not change it.
	VolumesLostPerYear float64
	// DriveFailuresPerYear is the expected number of drive failures a year
	// (failed drives replaced), or 0 if Inputs.Drives is not known.
	DriveFailuresPerYear float64
}

// State is one transient state of a volume's chain: Lost members missing.
type State struct {
	// Lost is i, the number of members missing.
	Lost int
	// FailuresPerHour is a_i = (n − i)·λ, the rate of another member loss.
	FailuresPerHour float64
	// RepairTime is T_i, the mean time to get one member back: grace (not
	// at the last margin) plus the rebuild. 0 in the healthy state.
	RepairTime time.Duration
	// RepairsPerHour is b_i = 1/T_i; 0 in the healthy state.
	RepairsPerHour float64
	// LossBeforeHealthy is the probability that a volume in this state is
	// lost before all its members are back: at the last margin, about the
	// chance that the repair loses its race with another failure. It is
	// why the fleet repairs the volumes with the least margin first.
	LossBeforeHealthy float64
}

// Estimate computes the annual probability of data loss of one volume and
// of the fleet's volumes of in.Scheme, by the model in the package
// documentation. It returns an error naming every input to fix.
func Estimate(in Inputs) (Report, error) {
	if err := in.check(); err != nil {
		return Report{}, err
	}
	c := chain{
		n:      members(in.Scheme),
		f:      tolerance(in.Scheme),
		lambda: -math.Log1p(-in.AFR) / hoursPerYear,
	}
	rebuild := in.rebuildHours()
	c.repairHours = make([]float64, c.f+1)
	for i := 1; i <= c.f; i++ {
		c.repairHours[i] = rebuild
		if i < c.f {
			// The fleet waits out the grace for transient loss, but
			// never for a volume at its last margin.
			c.repairHours[i] += in.Grace.Hours()
		}
	}
	h := c.lossBeforeHealthy()

	r := Report{
		Inputs:               in,
		Members:              c.n,
		Tolerates:            c.f,
		FailuresPerDriveHour: c.lambda,
		MTTDLHours:           c.mttdl(),
	}
	for i := 0; i <= c.f; i++ {
		r.States = append(r.States, State{
			Lost:              i,
			FailuresPerHour:   c.failRate(i),
			RepairTime:        hoursToDuration(c.repairHours[i]),
			RepairsPerHour:    c.repairRate(i),
			LossBeforeHealthy: h[i],
		})
	}
	// perYear (h in the package documentation) is the expected number of
	// losses of one volume a year. 1 − e^−h is computed as −expm1(−h) so
	// that tiny probabilities keep their digits, and (1 − P1)^V as
	// e^(V·ln(1 − P1)) = e^(−V·h).
	perYear := hoursPerYear / r.MTTDLHours
	v := float64(in.Volumes)
	r.PerVolume = -math.Expm1(-perYear)
	r.Fleet = -math.Expm1(-v * perYear)
	r.VolumeNines = Nines(r.PerVolume)
	r.FleetNines = Nines(r.Fleet)
	r.VolumesLostPerYear = v * perYear
	if in.Drives > 0 {
		r.DriveFailuresPerYear = float64(in.Drives) * c.lambda * hoursPerYear
	}
	return r, nil
}

// Nines is −log10(p), the number of nines in 1 − p: 11 nines is a
// probability of loss of 1e-11. A probability of 0 (or less) has +Inf
// nines and one of 1 (or more) has none.
func Nines(p float64) float64 {
	switch {
	case math.IsNaN(p):
		return math.NaN()
	case p <= 0:
		return math.Inf(1)
	case p >= 1:
		return 0
	}
	if p < minNormal {
		// math.Log on amd64 and s390x is wrong for subnormal numbers
		// (golang/go#56600: Log(5e-324) is −709 instead of −744), so
		// scale into the normal range first; Ldexp is exact.
		return -math.Log10(math.Ldexp(p, 64)) + 64*math.Log10(2)
	}
	return -math.Log10(p)
}

// minNormal is the smallest normal float64, 2^−1022.
const minNormal = 0x1p-1022

// hoursToDuration converts hours known to be at most a year (the inputs
// are checked) to a Duration, to the nanosecond.
func hoursToDuration(h float64) time.Duration {
	return time.Duration(math.Round(h * float64(time.Hour)))
}
