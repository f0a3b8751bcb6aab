package volume

import (
	"context"
	"sync"
)

// chunkWorkers is how many chunks of one shard are written, read or
// rebuilt at once. One at a time leaves the drives idle between round
// trips (each write waits to be durable); the agent's appender
// group-commits the writes that arrive together.
const chunkWorkers = 4

// forEachChunk calls fn for chunks 0..n-1 on up to workers goroutines
// and returns the first error, after which no new chunk is started.
func forEachChunk(ctx context.Context, n int64, workers int, fn func(ctx context.Context, c int64) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		next     int64
		firstErr error
		wg       sync.WaitGroup
	)
	for range min(int64(workers), n) {
		wg.Go(func() {
			for {
				mu.Lock()
				c := next
				next++
				stop := firstErr != nil || c >= n
				mu.Unlock()
				if stop {
					return
				}
				if err := fn(ctx, c); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}
