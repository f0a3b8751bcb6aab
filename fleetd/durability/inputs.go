package durability

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/shingle-storage/shingle/fleetd/state"
)

// hoursPerYear is the year the AFR and the annual probabilities refer to:
// 365 days.
const hoursPerYear = 8760

// Inputs are what an estimate is made from: one scheme, the drives' failure
// rate and the fleet's measured repair speed. Estimate checks them and says
// which to fix.
type Inputs struct {
	// Scheme is the volumes' durability scheme: state.Replication(3) for
	// open volumes, state.RS(6,3) or state.LRC(12,2,2) for sealed ones.
	Scheme state.Scheme
	// AFR is the probability that a drive in service fails within a year,
	// strictly between 0 and 1 (0.02 for 2%). ObservedAFR derives it from
	// the fleet's own failures.
	AFR float64
	// MemberBytes is the size of one replica or shard: the bytes a repair
	// rebuilds. MemberBytes(scheme, volumeBytes) computes it.
	MemberBytes uint64
	// RepairBytesPerSecond is how fast the fleet rebuilds one lost member,
	// in bytes of that member written per second: MemberBytes divided by
	// the time from the repair's start (after the grace period) to the
	// member being whole again, as measured in the fleet. Rebuilding an
	// RS(k,m) shard reads k shards and an LRC shard its local group; that
	// reading is part of the measured time, not a separate factor. A
	// failed drive loses all its members at once and they queue for
	// repair, so measure under that load: a drive of D bytes whose members
	// the fleet rebuilds at an aggregate A bytes/s leaves a member waiting
	// D/(2A) on average, a rate of about 2·A·MemberBytes/D.
	RepairBytesPerSecond float64
	// Grace is how long the fleet waits before repairing a member that
	// went missing, in case it comes back (fleetd --repair-grace, 15m by
	// default). It is not waited for a volume at its last margin.
	Grace time.Duration
	// Volumes is the number of volumes of this scheme in the fleet, at
	// least 1; the fleet probability is for any of them.
	Volumes int
	// Drives is the number of drives in service, or 0 if not known. It
	// only adds the expected drive failures a year to the report and
	// checks that the fleet has a drive for every member.
	Drives int
}

// maxRepairHours bounds the repair time: a member that takes more than a
// year to repair makes an annual figure meaningless, and is nearly always
// a rate in the wrong unit.
const maxRepairHours = hoursPerYear

// rebuildHours is B/r, the hours the rebuild of one member takes once
// started.
func (in Inputs) rebuildHours() float64 {
	return float64(in.MemberBytes) / in.RepairBytesPerSecond / 3600
}

// check returns every problem with the inputs, each saying what to fix, or
// nil.
func (in Inputs) check() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("durability: "+format, args...))
	}
	schemeErr := checkScheme(in.Scheme)
	if schemeErr != nil {
		errs = append(errs, fmt.Errorf("durability: %w", schemeErr))
	}
	if !(in.AFR > 0 && in.AFR < 1) {
		bad("AFR is %v: give the annual probability a drive fails, strictly between 0 and 1 (0.02 for 2%%); ObservedAFR estimates it from the fleet's failures", in.AFR)
	}
	if in.MemberBytes == 0 {
		bad("MemberBytes is 0: give the size of one replica or shard, MemberBytes(scheme, volumeBytes)")
	}
	rateOK := in.RepairBytesPerSecond > 0 && !math.IsInf(in.RepairBytesPerSecond, 1)
	if !rateOK {
		bad("RepairBytesPerSecond is %v: give the positive rate, in bytes per second, at which the fleet rebuilds one lost member (as measured); with no repair every volume is eventually lost", in.RepairBytesPerSecond)
	}
	if in.Grace < 0 {
		bad("Grace is %v: give the repair grace period, 0 or more (fleetd --repair-grace, 15m by default)", in.Grace)
	}
	if rateOK && in.MemberBytes > 0 && in.Grace >= 0 {
		if h := in.Grace.Hours() + in.rebuildHours(); h > maxRepairHours {
			bad("repairing one member would take %.3g hours (grace %v, then %d bytes at %g bytes/s), more than a year: RepairBytesPerSecond is bytes per second, check its unit", h, in.Grace, in.MemberBytes, in.RepairBytesPerSecond)
		}
	}
	if in.Volumes < 1 {
		bad("Volumes is %d: give the number of volumes of this scheme in the fleet, at least 1", in.Volumes)
	}
	if in.Drives < 0 {
		bad("Drives is %d: give the number of drives in service, or 0 if not known", in.Drives)
	}
	if schemeErr == nil && in.Drives > 0 && in.Drives < members(in.Scheme) {
		bad("Drives is %d but a volume of %v needs %d drives in different failure domains: the fleet cannot hold it", in.Drives, in.Scheme, members(in.Scheme))
	}
	return errors.Join(errs...)
}
