package iotime

import (
	"testing"
	"time"
)

func TestBounds(t *testing.T) {
	b := Bounds()
	if len(b) != numBuckets-1 || b[0] != 10*time.Microsecond || b[len(b)-1] != 20*time.Second {
		t.Fatalf("bounds %v", b)
	}
	for i := 1; i < len(b); i++ {
		if r := float64(b[i]) / float64(b[i-1]); r <= 1 || r > 2.5 {
			t.Errorf("bound %d is %.2f× bound %d", i, r, i-1)
		}
	}
	if s := BoundsSeconds(); s[0] != 10e-6 || s[len(s)-1] != 20 {
		t.Errorf("seconds %v", s)
	}
}

func TestBucketOf(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want int
	}{
		{0, 0}, {10 * time.Microsecond, 0}, {11 * time.Microsecond, 1}, {time.Millisecond, 6},
		{1500 * time.Microsecond, 7}, {20 * time.Second, 19}, {time.Minute, 20},
	} {
		if got := bucketOf(c.d); got != c.want {
			t.Errorf("bucketOf(%v) = %d, want %d", c.d, got, c.want)
		}
	}
}

func TestQuantile(t *testing.T) {
	var h Histogram
	if q := h.Snapshot().Quantile(0.99); q != 0 {
		t.Errorf("empty p99 %v", q)
	}
	for range 990 {
		h.Observe(800 * time.Microsecond) // bucket (500µs, 1ms]
	}
	for range 10 {
		h.Observe(80 * time.Millisecond) // bucket (50ms, 100ms]
	}
	l := h.Snapshot()
	if l.Count() != 1000 {
		t.Fatalf("count %d", l.Count())
	}
	if m := l.Mean(); m != (990*800*time.Microsecond+10*80*time.Millisecond)/1000 {
		t.Errorf("mean %v", m)
	}
	if p := l.Quantile(0.5); p <= 500*time.Microsecond || p > time.Millisecond {
		t.Errorf("p50 %v, want in (500µs, 1ms]", p)
	}
	if p := l.Quantile(0.99); p != time.Millisecond {
		t.Errorf("p99 %v, want 1ms (the top of the bucket holding rank 990)", p)
	}
	if p := l.Quantile(0.995); p <= 50*time.Millisecond || p > 100*time.Millisecond {
		t.Errorf("p99.5 %v, want in (50ms, 100ms]", p)
	}
	h.Observe(time.Hour)
	if p := h.Snapshot().Quantile(1); p != 20*time.Second {
		t.Errorf("max %v, want the largest bound", p)
	}
}

func TestLatencySub(t *testing.T) {
	var h Histogram
	h.Observe(time.Millisecond)
	old := h.Snapshot()
	h.Observe(time.Second)
	h.Observe(time.Second)
	d := h.Snapshot().Sub(old)
	if d.Count() != 2 || d.Sum != 2*time.Second || d.Quantile(0.5) <= 500*time.Millisecond {
		t.Errorf("difference %+v", d)
	}
	// A histogram that went backwards (replaced) gives zero, not a wrap.
	if z := old.Sub(h.Snapshot()); z.Count() != 0 || z.Sum != 0 {
		t.Errorf("backwards difference %+v", z)
	}
}
