package train

import "fmt"

// Params are the settings of Fit.
type Params struct {
	// Rounds is the number of stumps to fit.
	Rounds int
	// LearningRate scales each stump down; smaller rates need more rounds
	// and give smoother shapes.
	LearningRate float64
	// L2 is added to the summed hessian of each leaf, pulling leaves that
	// rest on little evidence towards zero.
	L2 float64
	// MinLeafHessian is the least summed hessian a leaf may have; cuts
	// that leave less on one side are not considered.
	MinLeafHessian float64
	// MaxBins is the most steps a shape can have, from 2 to 255.
	MaxBins int
}

// DefaultParams are the settings cmd/train uses.
func DefaultParams() Params {
	return Params{Rounds: 300, LearningRate: 0.1, L2: 10, MinLeafHessian: 1, MaxBins: 32}
}

// check reports whether p can be used.
func (p Params) check() error {
	switch {
	case p.Rounds < 1:
		return fmt.Errorf("train: Rounds is %d, want at least 1", p.Rounds)
	case !(p.LearningRate > 0 && p.LearningRate <= 1):
		return fmt.Errorf("train: LearningRate is %v, want a number in (0, 1]", p.LearningRate)
	case !(p.L2 >= 0):
		return fmt.Errorf("train: L2 is %v, want zero or more", p.L2)
	case !(p.MinLeafHessian >= 0):
		return fmt.Errorf("train: MinLeafHessian is %v, want zero or more", p.MinLeafHessian)
	case p.MaxBins < 2 || p.MaxBins > 255:
		return fmt.Errorf("train: MaxBins is %d, want 2 to 255", p.MaxBins)
	}
	return nil
}
