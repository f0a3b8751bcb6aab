package failslow_test

import (
	"testing"
	"time"

	"github.com/shingle-storage/shingle/agent/health/failslow"
	"github.com/shingle-storage/shingle/agent/health/iotime"
)

// reads returns counters holding n reads of 1 ms in all.
func reads(n int) iotime.Stats {
	var h iotime.Histogram
	for range n {
		h.Observe(time.Millisecond)
	}
	var s iotime.Stats
	s[iotime.Read] = iotime.OpStats{Ops: uint64(n), Latency: h.Snapshot()}
	return s
}

func TestWindow(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w := failslow.NewWindow(5*time.Minute, t0)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	for _, c := range []struct {
		min, total, want, since int
	}{
		{1, 10, 10, 0}, // since the start: the window grows...
		{2, 30, 30, 0},
		{5, 100, 100, 0}, // ...to five minutes
		{6, 130, 120, 1}, // then slides: since minute 1
		{7, 130, 100, 2}, // since minute 2
		{20, 200, 70, 7}, // a long gap: since the last reading (minute 7)
		{21, 210, 80, 7},
	} {
		got := w.Add(at(c.min), reads(c.total))
		if n := got[iotime.Read].Ops; n != uint64(c.want) || got[iotime.Read].Latency.Count() != uint64(c.want) {
			t.Errorf("minute %d: %d reads in the window, want %d", c.min, n, c.want)
		}
		if s := w.Start(); !s.Equal(at(c.since)) {
			t.Errorf("minute %d: the window starts at %v, want minute %d", c.min, s, c.since)
		}
	}
}
