package erasure

import (
	"errors"
	"fmt"
	"sync"
)

// RebuildFrom rebuilds a range of shard target by reading the same range
// of the shards the repair plan names, through read, in parallel. A shard
// whose read fails joins the lost ones and the plan is made again without
// it, until the range is rebuilt or the code cannot rebuild it. It returns
// the rebuilt bytes and how many shards the successful plan read. lost
// lists the shards known to be gone besides target.
//
// Degraded reads (a client reading a blob from a lost shard) and repairs
// (fleetd rebuilding a lost shard chunk by chunk) both go through it, so
// both route around a second failure the same way.
func (c *Codec) RebuildFrom(lost []int, target int, read func(shard int) ([]byte, error)) ([]byte, int, error) {
	gone := append([]int(nil), lost...)
	var readErrs []error
	for {
		plan, err := c.RepairPlan(gone, target)
		if err != nil {
			if len(readErrs) > 0 {
				return nil, 0, fmt.Errorf("%w (reads that failed: %w)", err, errors.Join(readErrs...))
			}
			return nil, 0, err
		}
		shards := make([][]byte, c.scheme.Width())
		failed := make([]error, len(plan))
		var wg sync.WaitGroup
		for j, s := range plan {
			wg.Add(1)
			go func() {
				defer wg.Done()
				shards[s], failed[j] = read(s)
			}()
		}
		wg.Wait()
		retry := false
		for j, ferr := range failed {
			if ferr != nil {
				gone = append(gone, plan[j])
				readErrs = append(readErrs, fmt.Errorf("shard %d: %w", plan[j], ferr))
				retry = true
			}
		}
		if retry {
			continue
		}
		if err := c.Rebuild(shards, target); err != nil {
			return nil, 0, err
		}
		return shards[target], len(plan), nil
	}
}
