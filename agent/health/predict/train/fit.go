package train

import (
	"fmt"
	"math"

	"github.com/shingle-storage/shingle/agent/health/predict"
)

// Fit learns a model from rows by gradient boosting with stumps (Newton
// steps on the logistic loss). Because every stump looks at one feature,
// the sum of the stumps on a feature is that feature's Shape, and the model
// stays a sum of one step function per feature. Shapes of monotone features
// are kept non-decreasing. Fit is deterministic: the same rows and params
// give the same model, bit for bit, however many cores do the work.
//
// The shapes are learnt with every drive-day of a dataset counting once, as
// the false-positive rate the model is judged by counts them, and with
// every dataset weighing the same in total, so that a small dataset of many
// drive models (2013) is not drowned by a large one of a single model
// (2018). Each dataset also gets its own intercept while the shapes are
// learnt, so that they learn what sets failing drives apart from healthy
// ones within a dataset, not what sets one dataset apart from another (the
// 2013 file, for example, lacks SMART 187, 188 and 198 and has more
// failures). For the same reason a drive that lacks a feature is scored as
// if its value were typical: the feature adds zero. Last, the model's
// single bias is fitted to all rows weighted by Rows.Weight, so that its
// probabilities are those of the fleet the data was sampled from.
//
// The result has no Threshold and no Source; the caller sets them.
func Fit(rows *Rows, p Params) (predict.File, error) {
	if err := p.check(); err != nil {
		return predict.File{}, err
	}
	fs := predict.Features()
	n := rows.Len()
	for i, x := range rows.X {
		if len(x) != len(fs) {
			return predict.File{}, fmt.Errorf("train: row %d has %d features, want %d", i, len(x), len(fs))
		}
	}
	group, names := datasetGroups(rows)
	pos := make([]float64, len(names))
	neg := make([]float64, len(names))
	for i, g := range group {
		if rows.Failing[i] {
			pos[g]++
		} else {
			neg[g]++
		}
	}
	// Each dataset's rows share the same total weight, n/len(names).
	weight := make([]float64, n)
	for i, g := range group {
		weight[i] = float64(n) / float64(len(names)) / (pos[g] + neg[g])
	}
	intercept := make([]float64, len(names))
	for g, name := range names {
		if pos[g] == 0 || neg[g] == 0 {
			return predict.File{}, fmt.Errorf("train: dataset %s needs both failing and healthy drive-days; add drives that fail and drives that do not", name)
		}
		intercept[g] = math.Log(pos[g] / neg[g])
	}

	// Bin every feature once; the stumps' cuts are chosen among the bins.
	cols := make([]column, len(fs))
	parallel(len(fs), func(f int) {
		values := make([]float64, n)
		for i := range n {
			values[i] = rows.X[i][f]
		}
		cols[f] = newColumn(values, p.MaxBins)
	})

	l := &loss{failing: rows.Failing, weight: weight, group: group, groups: len(names)}
	score := make([]float64, n)
	for i, g := range group {
		score[i] = intercept[g]
	}
	best := make([]candidate, len(fs))
	var stumps []stump
	for range p.Rounds {
		// A Newton step on each dataset's intercept, then the stump.
		l.gradients(score)
		for i, g := range group {
			score[i] -= l.gGroup[g] / l.hGroup[g]
		}
		gAll, hAll := l.gradients(score)
		parallel(len(fs), func(f int) {
			best[f] = cols[f].bestCut(l.grad, l.hess, gAll, hAll, fs[f].Monotone, p)
		})
		top := -1
		for f, c := range best {
			if c.ok && (top < 0 || c.gain > best[top].gain) {
				top = f
			}
		}
		if top < 0 {
			break
		}
		c := best[top]
		s := stump{
			feature: top,
			cut:     cols[top].cuts[c.cut],
			below:   p.LearningRate * c.below,
			above:   p.LearningRate * c.above,
		}
		stumps = append(stumps, s)
		for i, b := range cols[top].bins {
			switch {
			case b == missingBin:
			case int(b) <= c.cut:
				score[i] += s.below
			default:
				score[i] += s.above
			}
		}
	}
	f := predict.File{Format: predict.FileFormat, HorizonDays: predict.Horizon}
	for fi, feat := range fs {
		f.Shapes = append(f.Shapes, centred(shapeOf(feat.Name, fi, stumps), fi, rows))
	}
	f.Bias = fitBias(f, rows)
	return f, nil
}

// datasetGroups numbers the datasets of rows in order of first appearance
// and returns each row's dataset number and the datasets' names.
func datasetGroups(rows *Rows) (group []int, names []string) {
	index := map[string]int{}
	byDrive := make([]int, len(rows.Drives))
	for d, info := range rows.Drives {
		g, ok := index[info.Dataset]
		if !ok {
			g = len(names)
			index[info.Dataset] = g
			names = append(names, info.Dataset)
		}
		byDrive[d] = g
	}
	group = make([]int, rows.Len())
	for i, d := range rows.Drive {
		group[i] = byDrive[d]
	}
	return group, names
}
