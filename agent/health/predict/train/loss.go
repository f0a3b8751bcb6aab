package train

import "math"

// loss computes the gradient and hessian of the weighted logistic loss.
type loss struct {
	failing []bool
	weight  []float64
	group   []int
	groups  int
	// grad and hess are per row; gGroup and hGroup are their sums per
	// dataset.
	grad, hess     []float64
	gGroup, hGroup []float64
}

// chunks is how many pieces the rows are cut into to compute gradients in
// parallel. It is fixed, not the number of cores, so that the sums are
// added in the same order, and come out the same, on every machine.
const chunks = 16

// gradients fills in l for the given scores (log-odds) and returns the
// sums of the gradient and the hessian over all rows.
func (l *loss) gradients(score []float64) (gAll, hAll float64) {
	n := len(score)
	if l.grad == nil {
		l.grad = make([]float64, n)
		l.hess = make([]float64, n)
	}
	gSum := make([][]float64, chunks)
	hSum := make([][]float64, chunks)
	parallel(chunks, func(c int) {
		gSum[c] = make([]float64, l.groups)
		hSum[c] = make([]float64, l.groups)
		for i := c * n / chunks; i < (c+1)*n/chunks; i++ {
			q := 1 / (1 + math.Exp(-score[i]))
			w := l.weight[i]
			y := 0.0
			if l.failing[i] {
				y = 1
			}
			l.grad[i] = w * (q - y)
			l.hess[i] = w * q * (1 - q)
			gSum[c][l.group[i]] += l.grad[i]
			hSum[c][l.group[i]] += l.hess[i]
		}
	})
	l.gGroup = make([]float64, l.groups)
	l.hGroup = make([]float64, l.groups)
	for c := range chunks {
		for g := range l.groups {
			l.gGroup[g] += gSum[c][g]
			l.hGroup[g] += hSum[c][g]
		}
	}
	for g := range l.groups {
		gAll += l.gGroup[g]
		hAll += l.hGroup[g]
	}
	return gAll, hAll
}
