// Package pace spaces out background I/O (compaction, scrubbing, repair,
// encoding) to a byte rate, so it leaves drives to foreground work.
package pace

import (
	"context"
	"sync"
	"time"
)

// Pacer spaces out work to average at most a byte rate from its start.
// It is safe for concurrent use, so several workers can share one budget.
type Pacer struct {
	rate  float64
	start time.Time

	mu    sync.Mutex
	bytes float64
}

// New returns a pacer for bytesPerSecond; 0 or less means no limit.
func New(bytesPerSecond float64) *Pacer { return &Pacer{rate: bytesPerSecond, start: time.Now()} }

// Wait accounts n more bytes and sleeps until the rate allows them, or
// until ctx ends (it then returns ctx's error).
func (p *Pacer) Wait(ctx context.Context, n int) error {
	if p.rate <= 0 {
		return ctx.Err()
	}
	p.mu.Lock()
	p.bytes += float64(n)
	due := p.start.Add(time.Duration(p.bytes / p.rate * float64(time.Second)))
	p.mu.Unlock()
	d := time.Until(due)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
