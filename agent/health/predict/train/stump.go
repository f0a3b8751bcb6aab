package train

// stump is one round's model: a cut on one feature, with a log-odds term
// for values at or below the cut and one for values above it. Drive-days
// that lack the feature get nothing.
type stump struct {
	feature      int
	cut          float64
	below, above float64
}

// candidate is the best stump found on one feature in one round.
type candidate struct {
	ok           bool
	cut          int // values in bins 0..cut go below
	gain         float64
	below, above float64 // unscaled leaf values
}

// bestCut finds the cut on one column that most reduces the loss, by the
// usual second-order estimate: a leaf with gradient sum G and hessian sum H
// takes the value −G/(H+L2) and reduces the loss by G²/(H+L2)/2. gAll and
// hAll are the sums of grad and hess over all rows. Rows that lack the
// feature are left alone.
func (c *column) bestCut(grad, hess []float64, gAll, hAll float64, monotone bool, p Params) candidate {
	var g, h [256]float64
	for _, i := range c.rest {
		b := c.bins[i]
		g[b] += grad[i]
		h[b] += hess[i]
	}
	// The common bin gets what the other bins leave.
	g[c.common], h[c.common] = gAll, hAll
	for b := range g {
		if b != int(c.common) {
			g[c.common] -= g[b]
			h[c.common] -= h[b]
		}
	}
	leaf := func(g, h float64) (value, gain float64) {
		return -g / (h + p.L2), g * g / (h + p.L2)
	}
	gPresent, hPresent := gAll-g[missingBin], hAll-h[missingBin]
	best := candidate{}
	var gBelow, hBelow float64
	for cut := 0; cut < len(c.cuts); cut++ {
		gBelow += g[cut]
		hBelow += h[cut]
		gAbove, hAbove := gPresent-gBelow, hPresent-hBelow
		if hBelow < p.MinLeafHessian || hAbove < p.MinLeafHessian || hBelow <= 0 || hAbove <= 0 {
			continue
		}
		below, gainBelow := leaf(gBelow, hBelow)
		above, gainAbove := leaf(gAbove, hAbove)
		if monotone && above < below {
			continue
		}
		gain := gainBelow + gainAbove
		if !best.ok || gain > best.gain {
			best = candidate{ok: true, cut: cut, gain: gain, below: below, above: above}
		}
	}
	return best
}
