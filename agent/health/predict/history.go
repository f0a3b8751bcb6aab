package predict

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

// history is a drive's samples as the features read them, with each
// sample's calendar day.
type history struct {
	samples []Sample
	// days[i] numbers the calendar day of samples[i] (in its own time
	// zone) in days since 1970-01-01, so the time of day does not matter.
	days []int64
}

// newHistory checks that samples can be fed to the model (at least one
// sample, in day order) and prepares them.
func newHistory(samples []Sample) (*history, error) {
	if len(samples) == 0 {
		return nil, errors.New("predict: the history is empty; pass at least one sample")
	}
	h := &history{samples: samples, days: make([]int64, len(samples))}
	for i, s := range samples {
		y, m, d := s.Day.Date()
		h.days[i] = time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
		if i > 0 && h.days[i] < h.days[i-1] {
			return nil, fmt.Errorf("predict: sample %d (%s) comes before sample %d (%s); sort the history by Day, oldest first",
				i, s.Day.Format(time.DateOnly), i-1, samples[i-1].Day.Format(time.DateOnly))
		}
	}
	return h, nil
}

// earlier returns the index of the last sample up to sample i that was
// taken at least days calendar days before sample i, or 0 if there is none.
func (h *history) earlier(i, days int) int {
	cutoff := h.days[i] - int64(days)
	// The first sample after the cutoff; the one before it is the answer.
	j := sort.Search(i+1, func(k int) bool { return h.days[k] > cutoff })
	return max(j-1, 0)
}
