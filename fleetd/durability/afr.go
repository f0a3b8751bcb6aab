package durability

import (
	"errors"
	"fmt"
	"math"
)

// Prior is what ObservedAFR believes before looking at the fleet: as if
// DriveYears drive-years had been observed failing at AFR.
type Prior struct {
	// AFR is the prior's annual probability of a drive failing, strictly
	// between 0 and 1.
	AFR float64
	// DriveYears is the prior's weight, above 0: the fleet's own
	// observations count for as much as the prior once they cover this
	// many drive-years.
	DriveYears float64
}

// DefaultPrior is a 1.5% AFR, near what Backblaze reports across its fleet
// of hard drives, weighted as 100 drive-years (1.5 failures' worth of
// evidence): a fleet of 100 drives overrides it within a year, a dev fleet
// of a dozen drives does not.
var DefaultPrior = Prior{AFR: 0.015, DriveYears: 100}

// ObservedAFR estimates the fleet's AFR from failures seen over driveYears
// (the sum over drives of the years each was in service), for
// Inputs.AFR. Failures and drive-years alone would give 0 for a fleet
// that has not lost a drive yet and nothing at all for a new one, so the
// estimate starts from a prior, DefaultPrior unless one is given, and the
// observations pull it towards their own rate as they accumulate.
//
// Drive failures are a Poisson process of rate ρ per drive-year, with a
// Gamma prior on ρ of shape α = ρ₀·w and rate w, where w is
// Prior.DriveYears and ρ₀ = −ln(1 − Prior.AFR). The posterior mean is
//
//	ρ = (α + failures) / (w + driveYears)
//
// and the AFR returned, a probability like Inputs.AFR, is 1 − e^(−ρ). It
// is always strictly between 0 and 1.
func ObservedAFR(failures int, driveYears float64, prior ...Prior) (float64, error) {
	p := DefaultPrior
	switch len(prior) {
	case 0:
	case 1:
		p = prior[0]
	default:
		return 0, fmt.Errorf("durability: ObservedAFR takes at most one prior, got %d", len(prior))
	}
	var errs []error
	if failures < 0 {
		errs = append(errs, fmt.Errorf("durability: %d failures: give the number of drives that failed, 0 or more", failures))
	}
	if !(driveYears >= 0) || math.IsInf(driveYears, 1) {
		errs = append(errs, fmt.Errorf("durability: %v drive-years: give the sum of the years each drive was in service, 0 or more", driveYears))
	}
	if !(p.AFR > 0 && p.AFR < 1) {
		errs = append(errs, fmt.Errorf("durability: prior AFR %v: give a probability strictly between 0 and 1 (DefaultPrior is 0.015)", p.AFR))
	}
	if !(p.DriveYears > 0) || math.IsInf(p.DriveYears, 1) {
		errs = append(errs, fmt.Errorf("durability: prior weight %v drive-years: give a positive weight (DefaultPrior has 100), or the estimate is 0 until a drive fails", p.DriveYears))
	}
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	alpha := -math.Log1p(-p.AFR) * p.DriveYears
	rho := (alpha + float64(failures)) / (p.DriveYears + driveYears)
	afr := -math.Expm1(-rho)
	if afr <= 0 {
		// A prior AFR near float64's smallest, diluted by many drive-years
		// without failures: keep it a probability Estimate accepts.
		afr = math.SmallestNonzeroFloat64
	}
	if afr >= 1 {
		// So many failures in so few drive-years that every drive fails
		// within the year: say so as the largest probability below 1,
		// which Estimate accepts.
		afr = math.Nextafter(1, 0)
	}
	return afr, nil
}
