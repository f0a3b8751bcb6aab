package durability

// chain is the Markov chain of one volume: n members, f losses tolerated,
// state i = members lost, f+1 absorbing. See the package documentation.
type chain struct {
	n, f int
	// lambda is one drive's failure rate per hour.
	lambda float64
	// repairHours[i] is T_i, the mean time to repair one member of a volume
	// missing i, for i = 1..f; repairHours[0] is unused.
	repairHours []float64
}

// failRate is a_i, the rate per hour at which a volume missing i members
// loses another.
func (c chain) failRate(i int) float64 { return float64(c.n-i) * c.lambda }

// repairRate is b_i, the rate per hour at which a volume missing i members
// gets one back: one repair at a time, none in the healthy state.
func (c chain) repairRate(i int) float64 {
	if i == 0 {
		return 0
	}
	return 1 / c.repairHours[i]
}

// mttdl returns M_0, the mean hours from a whole volume to data loss. It
// eliminates in the variables D_i = M_i − M_{i+1}, where every step adds
// and divides positive numbers; Gaussian elimination of the system in M
// would subtract nearly equal rates and lose most of float64's digits (see
// the package documentation). A result too large for float64 is +Inf.
func (c chain) mttdl() float64 {
	d, sum := 0.0, 0.0
	for i := 0; i <= c.f; i++ {
		// D_i = (1 + b_i·D_{i−1}) / a_i, with b_0 = 0.
		d = (1 + c.repairRate(i)*d) / c.failRate(i)
		sum += d
	}
	return sum
}

// lossBeforeHealthy returns, for each transient state i, the probability
// that a volume missing i members is lost before it is whole again (state
// f+1 is reached before state 0); 0 for i = 0. For a birth–death chain
// (the gambler's ruin) it is
//
//	h_i = (q_0 + … + q_{i−1}) / (q_0 + … + q_f),   q_j = Π_{l=j+1..f} a_l/b_l
//
// q_f = 1 and the other q_j are products of small ratios, so the sums
// neither overflow nor cancel; a q_j too small for float64 is 0, which is
// what it contributes.
func (c chain) lossBeforeHealthy() []float64 {
	q := make([]float64, c.f+1)
	q[c.f] = 1
	for j := c.f - 1; j >= 0; j-- {
		q[j] = q[j+1] * c.failRate(j+1) / c.repairRate(j+1)
	}
	total := 0.0
	for _, v := range q {
		total += v
	}
	h := make([]float64, c.f+1)
	below := 0.0
	for i := 1; i <= c.f; i++ {
		below += q[i-1]
		h[i] = below / total
	}
	return h
}
