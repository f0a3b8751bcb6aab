package predict

import (
	"fmt"
	"math"
	"strings"
)

// counter is an error counter: one SMART attribute, or several read as
// one by taking the largest.
type counter struct {
	ids  []uint8
	name string
	// canFall is true for a counter that can go back down.
	canFall bool
}

// String names the counter with its attributes, for example "reallocated
// sectors (SMART 5)".
func (c counter) String() string {
	ids := make([]string, len(c.ids))
	for i, id := range c.ids {
		ids[i] = fmt.Sprint(id)
	}
	return fmt.Sprintf("%s (SMART %s)", c.name, strings.Join(ids, "/"))
}

// feature names a feature of the counter: "smart_197_198" plus suffix.
func (c counter) feature(suffix string) string {
	name := "smart"
	for _, id := range c.ids {
		name += fmt.Sprintf("_%d", id)
	}
	return name + suffix
}

// value is the counter's value in s: the largest of its attributes that s
// reports, or NaN if s reports none.
func (c counter) value(s Sample) float64 {
	v := math.NaN()
	for _, id := range c.ids {
		if a := attr(s, id); math.IsNaN(v) || a > v {
			v = a
		}
	}
	return v
}

// growth is how much the counter grew from the last sample at least days
// days before sample i (or the oldest sample, if the history is shorter)
// to sample i. A counter that went down counts as no growth. It is NaN if
// either sample lacks the counter.
func (c counter) growth(h *history, i int, days int) float64 {
	d := c.value(h.samples[i]) - c.value(h.samples[h.earlier(i, days)])
	if d < 0 {
		return 0
	}
	return d
}

// highest is the counter's highest value over the samples of the last days
// days up to sample i; NaN if none of them reports it.
func (c counter) highest(h *history, i int, days int) float64 {
	m := math.NaN()
	for j := h.earlier(i, days); j <= i; j++ {
		if v := c.value(h.samples[j]); math.IsNaN(m) || v > m {
			m = v
		}
	}
	return m
}

// largest is the largest value of the counters s reports; NaN if s
// reports none of them.
func largest(cs []counter, s Sample) float64 {
	m := math.NaN()
	for _, c := range cs {
		if v := c.value(s); math.IsNaN(m) || v > m {
			m = v
		}
	}
	return m
}

// aboveZero is how many of the counters s reports are above zero; NaN if
// s reports none of them.
func aboveZero(cs []counter, s Sample) float64 {
	n := math.NaN()
	for _, c := range cs {
		v := c.value(s)
		if math.IsNaN(v) {
			continue
		}
		if math.IsNaN(n) {
			n = 0
		}
		if v > 0 {
			n++
		}
	}
	return n
}
