package train

import "github.com/shingle-storage/shingle/agent/health/predict"

// CrossFit scores every row with a model that has not seen the row's drive:
// it deals the drives into folds (see Folds), fits a model on all folds but
// one and scores the one left out, for each fold in turn. Thresholds chosen
// on these scores behave as they will on drives the final model has not
// seen, whereas a model's scores on its own training rows are too good.
func CrossFit(rows *Rows, folds int, seed uint64, p Params) ([]float64, error) {
	fold := Folds(rows, folds, seed)
	scores := make([]float64, rows.Len())
	for k := range folds {
		fit, err := Fit(rows.Subset(func(d int) bool { return fold[d] != k }), p)
		if err != nil {
			return nil, err
		}
		m, err := predict.New(fit)
		if err != nil {
			return nil, err
		}
		for i, x := range rows.X {
			if fold[rows.Drive[i]] == k {
				scores[i] = m.Probability(x)
			}
		}
	}
	return scores, nil
}
