package iotime

import (
	"math"
	"sort"
	"sync/atomic"
	"time"
)

// bounds are the upper bounds of the histogram's buckets, inclusive, in a
// 1-2-5 series from 10 µs to 20 s; a last bucket without a bound holds
// everything slower. Neighbouring bounds are at most 2.5 times apart, so a
// quantile read from the buckets is off by less than that factor, and far
// less in practice (Quantile interpolates within the bucket).
var bounds = [...]time.Duration{
	10 * time.Microsecond, 20 * time.Microsecond, 50 * time.Microsecond,
	100 * time.Microsecond, 200 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
	10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2 * time.Second, 5 * time.Second,
	10 * time.Second, 20 * time.Second,
}

// numBuckets is the number of buckets: one per bound and one past the last.
const numBuckets = len(bounds) + 1

// Bounds returns the upper bounds of the latency buckets, shortest first.
// Every call returns a new slice.
func Bounds() []time.Duration { return append([]time.Duration(nil), bounds[:]...) }

// BoundsSeconds returns Bounds in seconds, as Prometheus histograms take
// them.
func BoundsSeconds() []float64 {
	out := make([]float64, len(bounds))
	for i, b := range bounds {
		out[i] = b.Seconds()
	}
	return out
}

// Histogram counts durations into the buckets of Bounds. It is safe for
// concurrent use; the zero value is ready.
type Histogram struct {
	counts [numBuckets]atomic.Uint64
	sum    atomic.Int64 // nanoseconds
}

// Observe counts one duration.
func (h *Histogram) Observe(d time.Duration) {
	h.counts[bucketOf(d)].Add(1)
	h.sum.Add(int64(d))
}

// bucketOf is the index of the bucket d falls in.
func bucketOf(d time.Duration) int {
	return sort.Search(len(bounds), func(i int) bool { return d <= bounds[i] })
}

// Snapshot returns the counts as they stand.
func (h *Histogram) Snapshot() Latency {
	var l Latency
	for i := range h.counts {
		l.Buckets[i] = h.counts[i].Load()
	}
	l.Sum = time.Duration(h.sum.Load())
	return l
}

// Latency is a reading of a Histogram: how many durations fell in each
// bucket (not cumulative; the last bucket holds those above every bound),
// and their sum.
type Latency struct {
	Buckets [numBuckets]uint64
	Sum     time.Duration
}

// Count is how many durations the reading holds.
func (l Latency) Count() uint64 {
	var n uint64
	for _, c := range l.Buckets {
		n += c
	}
	return n
}

// Mean is the average duration, or 0 for an empty reading.
func (l Latency) Mean() time.Duration {
	n := l.Count()
	if n == 0 {
		return 0
	}
	return l.Sum / time.Duration(n)
}

// Sub returns the durations counted since the earlier reading old of the
// same histogram. A bucket that shrank (the histogram was replaced) counts
// as zero.
func (l Latency) Sub(old Latency) Latency {
	var out Latency
	for i := range l.Buckets {
		if l.Buckets[i] > old.Buckets[i] {
			out.Buckets[i] = l.Buckets[i] - old.Buckets[i]
		}
	}
	out.Sum = max(l.Sum-old.Sum, 0)
	return out
}

// Quantile estimates the q-quantile (0 < q ≤ 1) of the durations, the way
// Prometheus's histogram_quantile does: it finds the bucket holding the
// rank q·Count and interpolates linearly between the bucket's bounds (the
// first bucket starts at 0). A rank in the last bucket, past every bound,
// gives the largest bound. An empty reading gives 0.
func (l Latency) Quantile(q float64) time.Duration {
	n := l.Count()
	if n == 0 || math.IsNaN(q) {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := q * float64(n)
	var below uint64
	for i, c := range l.Buckets {
		if c == 0 || float64(below+c) < rank {
			below += c
			continue
		}
		if i == len(bounds) {
			return bounds[len(bounds)-1]
		}
		lo := time.Duration(0)
		if i > 0 {
			lo = bounds[i-1]
		}
		frac := (rank - float64(below)) / float64(c)
		return lo + time.Duration(frac*float64(bounds[i]-lo))
	}
	return bounds[len(bounds)-1]
}
