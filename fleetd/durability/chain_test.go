package durability

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/shingle-storage/shingle/fleetd/state"
)

// relErr is |got − want| / |want|.
func relErr(got, want float64) float64 { return math.Abs(got-want) / math.Abs(want) }

// gaussianMTTDL solves the chain's linear system in M (the form the package
// documentation gives) by dense Gaussian elimination with partial pivoting:
// an independent check of hoursToLoss, accurate while repair is not many
// orders of magnitude faster than failure.
func gaussianMTTDL(c chain) float64 {
	size := c.f + 1
	a := make([][]float64, size)
	for i := range a {
		a[i] = make([]float64, size+1) // the last column is the right-hand side
		fail, repair := c.failRate(i), c.repairRate(i)
		a[i][i] = fail + repair
		if i+1 < size {
			a[i][i+1] = -fail // M_{f+1} = 0 drops out
		}
		if i > 0 {
			a[i][i-1] = -repair
		}
		a[i][size] = 1
	}
	for col := 0; col < size; col++ {
		pivot := col
		for r := col + 1; r < size; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[pivot][col]) {
				pivot = r
			}
		}
		a[col], a[pivot] = a[pivot], a[col]
		for r := col + 1; r < size; r++ {
			k := a[r][col] / a[col][col]
			for j := col; j <= size; j++ {
				a[r][j] -= k * a[col][j]
			}
		}
	}
	m := make([]float64, size)
	for i := size - 1; i >= 0; i-- {
		s := a[i][size]
		for j := i + 1; j < size; j++ {
			s -= a[i][j] * m[j]
		}
		m[i] = s / a[i][i]
	}
	return m[0]
}

// exactMTTDL solves the same system by Gaussian elimination in exact
// rational arithmetic (math/big), from the float64 rates themselves: the
// reference the float64 solutions are measured against.
func exactMTTDL(c chain) float64 {
	size := c.f + 1
	rat := func(x float64) *big.Rat { return new(big.Rat).SetFloat64(x) }
	a := make([][]*big.Rat, size)
	for i := range a {
		a[i] = make([]*big.Rat, size+1)
		for j := range a[i] {
			a[i][j] = new(big.Rat)
		}
		fail := rat(c.failRate(i))
		repair := new(big.Rat)
		if i > 0 {
			repair.Inv(rat(c.repairHours[i]))
		}
		a[i][i].Add(fail, repair)
		if i+1 < size {
			a[i][i+1].Neg(fail)
		}
		if i > 0 {
			a[i][i-1].Neg(repair)
		}
		a[i][size].SetInt64(1)
	}
	k := new(big.Rat)
	t := new(big.Rat)
	for col := 0; col < size; col++ {
		// The diagonal never vanishes: the matrix is diagonally dominant.
		for r := col + 1; r < size; r++ {
			if a[r][col].Sign() == 0 {
				continue
			}
			k.Quo(a[r][col], a[col][col])
			for j := col; j <= size; j++ {
				a[r][j].Sub(a[r][j], t.Mul(k, a[col][j]))
			}
		}
	}
	m := make([]*big.Rat, size)
	for i := size - 1; i >= 0; i-- {
		s := new(big.Rat).Set(a[i][size])
		for j := i + 1; j < size; j++ {
			s.Sub(s, t.Mul(a[i][j], m[j]))
		}
		m[i] = s.Quo(s, a[i][i])
	}
	f, _ := m[0].Float64()
	return f
}

// TestMTTDLMatchesClosedFormForOneTolerance checks Estimate, wiring
// included (λ from the AFR, repair time from bytes and rate, no grace at
// the last margin), against MTTDL = ((2n−1)λ + μ)/(n(n−1)λ²) for schemes
// that survive one loss.
func TestMTTDLMatchesClosedFormForOneTolerance(t *testing.T) {
	for _, tc := range []struct {
		scheme      state.Scheme
		afr, rate   float64
		memberBytes uint64
	}{
		{state.Replication(2), 0.02, 100e6, 1 << 30},
		{state.RS(6, 1), 0.02, 100e6, 179 << 20},
		{state.RS(10, 1), 0.05, 1e6, 100 << 20},
		// Failure and repair of the same order: λ/μ is not small.
		{state.Replication(2), 0.99, 100, 1 << 30},
	} {
		r, err := Estimate(Inputs{
			Scheme: tc.scheme, AFR: tc.afr, MemberBytes: tc.memberBytes,
			RepairBytesPerSecond: tc.rate, Grace: 15 * time.Minute, Volumes: 1,
		})
		if err != nil {
			t.Fatal(err)
		}
		n := float64(tc.scheme.Width())
		lambda := -math.Log(1-tc.afr) / 8760
		mu := 3600 * tc.rate / float64(tc.memberBytes)
		want := ((2*n-1)*lambda + mu) / (n * (n - 1) * lambda * lambda)
		if e := relErr(r.MTTDLHours, want); e > 1e-12 {
			t.Errorf("%v: MTTDL %g hours, closed form %g (relative error %g)", tc.scheme, r.MTTDLHours, want, e)
		}
	}
}

// TestMTTDLWithoutRedundancyIsTheFirstFailure: one replica is lost with
// its drive, after 1/λ hours on average.
func TestMTTDLWithoutRedundancyIsTheFirstFailure(t *testing.T) {
	r, err := Estimate(Inputs{Scheme: state.Replication(1), AFR: 0.02, MemberBytes: 1 << 30, RepairBytesPerSecond: 1e8, Volumes: 1})
	if err != nil {
		t.Fatal(err)
	}
	if want := 8760 / -math.Log(0.98); relErr(r.MTTDLHours, want) > 1e-12 {
		t.Errorf("R1 MTTDL %g hours, want %g", r.MTTDLHours, want)
	}
	// A year of an exponential lifetime with that mean fails with
	// probability AFR.
	if relErr(r.PerVolume, 0.02) > 1e-12 {
		t.Errorf("R1 annual loss %g, want the AFR 0.02", r.PerVolume)
	}
}

// TestMTTDLMatchesExactGaussianElimination compares the elimination in D
// with exact Gaussian elimination of the system in M, over chains of every
// width and tolerance the fleet allows and rates up to 1e16 apart: the
// float64 result must be exact to within a few roundings.
func TestMTTDLMatchesExactGaussianElimination(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, state.MaxShards).Draw(t, "n")
		f := rapid.IntRange(0, min(n-1, 8)).Draw(t, "f")
		c := chain{n: n, f: f, lambda: math.Pow(10, rapid.Float64Range(-10, 0).Draw(t, "log10 lambda"))}
		c.repairHours = make([]float64, f+1)
		for i := 1; i <= f; i++ {
			c.repairHours[i] = math.Pow(10, rapid.Float64Range(-4, 3).Draw(t, "log10 repair hours"))
		}
		got, want := c.mttdl(), exactMTTDL(c)
		if math.IsInf(want, 1) {
			t.Skip("beyond float64")
		}
		if e := relErr(got, want); e > 1e-14 {
			t.Fatalf("n=%d f=%d: MTTDL %g, exact %g (relative error %g)", n, f, got, want, e)
		}
	})
}

// TestMTTDLStaysAccurateWhenRepairIsMuchFasterThanFailure: with repair
// 1e16 times faster than failure, where float64 Gaussian elimination in M
// has no correct digit left, the MTTDL still matches the exact solution
// and the limit
// b_1⋯b_f / (n(n−1)⋯(n−f)·λ^(f+1)), whose relative error is O(λ/b).
func TestMTTDLStaysAccurateWhenRepairIsMuchFasterThanFailure(t *testing.T) {
	c := chain{n: 9, f: 3, lambda: 1e-12, repairHours: []float64{0, 1e-4, 2e-4, 1e-5}}
	want := 1.0
	for i := 1; i <= c.f; i++ {
		want *= c.repairRate(i)
	}
	for i := 0; i <= c.f; i++ {
		want /= c.failRate(i)
	}
	got, exact := c.mttdl(), exactMTTDL(c)
	if relErr(got, want) > 1e-12 || relErr(got, exact) > 1e-14 {
		t.Errorf("MTTDL %g hours, limit %g, exact %g", got, want, exact)
	}
	t.Logf("MTTDL %.6g h; exact %.6g h; the limit %.6g h; float64 Gaussian elimination in M gives %.6g h", got, exact, want, gaussianMTTDL(c))
}

// TestChainMatchesSimulation runs the chain itself — exponential failure
// and repair clocks racing — many times, and compares the mean time to
// absorption with the MTTDL, and how often a volume starting at the last
// margin (and at one loss) is lost before it is whole again with
// lossBeforeHealthy: a check of the model's equations, not only of their
// solution. Rates are close together so that runs are short and losses
// common.
func TestChainMatchesSimulation(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	// walk runs the chain from state lost until it reaches state stop or
	// data loss, and returns the hours it took and whether data was lost.
	walk := func(c chain, lost, stop int) (float64, bool) {
		hours := 0.0
		for lost != stop && lost <= c.f {
			fail, repair := c.failRate(lost), c.repairRate(lost)
			hours += rng.ExpFloat64() / (fail + repair)
			if rng.Float64()*(fail+repair) < fail {
				lost++
			} else {
				lost--
			}
		}
		return hours, lost > c.f
	}
	for _, c := range []chain{
		{n: 3, f: 2, lambda: 0.1, repairHours: []float64{0, 2, 0.5}},
		{n: 9, f: 3, lambda: 0.05, repairHours: []float64{0, 1, 1, 0.2}},
		{n: 2, f: 1, lambda: 1, repairHours: []float64{0, 0.1}},
	} {
		const runs = 20000
		var sum, sumSq float64
		for range runs {
			hours, _ := walk(c, 0, -1)
			sum += hours
			sumSq += hours * hours
		}
		mean := sum / runs
		stderr := math.Sqrt((sumSq/runs - mean*mean) / runs)
		want := c.mttdl()
		if math.Abs(mean-want) > 5*stderr {
			t.Errorf("n=%d f=%d: simulated mean %g ± %g hours, MTTDL %g", c.n, c.f, mean, stderr, want)
		}
		t.Logf("n=%d f=%d: simulated %.4g ± %.2g h, MTTDL %.4g h", c.n, c.f, mean, stderr, want)

		h := c.lossBeforeHealthy()
		for _, from := range []int{1, c.f} {
			lostCount := 0
			for range runs {
				if _, lost := walk(c, from, 0); lost {
					lostCount++
				}
			}
			p := float64(lostCount) / runs
			sd := math.Sqrt(h[from] * (1 - h[from]) / runs)
			if math.Abs(p-h[from]) > 5*sd+1e-9 {
				t.Errorf("n=%d f=%d from %d lost: simulated loss before whole %g, model %g (±%g)", c.n, c.f, from, p, h[from], sd)
			}
			t.Logf("n=%d f=%d from %d lost: simulated loss before whole %.4g, model %.4g", c.n, c.f, from, p, h[from])
		}
	}
}

// TestLossBeforeHealthyGrowsWithTheLoss: the fewer members a volume has
// left, the likelier it is lost before it is whole again; at the last
// margin that is close to the chance that a failure beats the repair,
// a_f/(a_f + b_f), and never below it.
func TestLossBeforeHealthyGrowsWithTheLoss(t *testing.T) {
	for _, s := range []state.Scheme{state.Replication(3), state.RS(6, 3), state.LRC(12, 2, 2)} {
		r := estimate(t, typical(s))
		if r.States[0].LossBeforeHealthy != 0 {
			t.Errorf("%v: a whole volume is lost before whole with probability %g", s, r.States[0].LossBeforeHealthy)
		}
		for i := 2; i < len(r.States); i++ {
			if !(r.States[i].LossBeforeHealthy > r.States[i-1].LossBeforeHealthy) {
				t.Errorf("%v: %d lost: %g, not above %g for %d lost", s, i, r.States[i].LossBeforeHealthy, r.States[i-1].LossBeforeHealthy, i-1)
			}
		}
		last := r.States[r.Tolerates]
		race := last.FailuresPerHour / (last.FailuresPerHour + last.RepairsPerHour)
		if last.LossBeforeHealthy < race || relErr(last.LossBeforeHealthy, race) > 1e-3 {
			t.Errorf("%v: last margin lost before whole %g, the race alone %g", s, last.LossBeforeHealthy, race)
		}
	}
}
