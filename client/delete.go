package client

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/shingle-storage/shingle/agent/datapath"
)

// ErrSealedDelete is returned by Delete for a blob whose volume is
// sealed or encoded.
var ErrSealedDelete = errors.New("client: the blob's volume is sealed; deleting from sealed volumes is not supported yet")

// Delete deletes the blob l names: a tombstone is written on every
// replica of its (open) volume, and it succeeds only if all take it.
func (c *Client) Delete(ctx context.Context, l Locator) error {
	loc, err := c.locate(ctx, l.Volume, true)
	if err != nil {
		return err
	}
	if st := loc.GetVolume().GetState(); st != "open" {
		return fmt.Errorf("%w (volume %d is %s)", ErrSealedDelete, l.Volume, st)
	}
	hs := loc.GetHolders()
	errs := make([]error, len(hs))
	var wg sync.WaitGroup
	for i, h := range hs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.data.Delete(ctx, h.GetAddress(), h.GetDrive(), h.GetExtent(), l.Key)
		}()
	}
	wg.Wait()
	n := 0
	for _, err := range errs {
		if datapath.IsCode(err, "not_found") {
			n++
		}
	}
	if n == len(hs) {
		return fmt.Errorf("%w: volume %d has no key %x", ErrNotFound, l.Volume, l.Key[:8])
	}
	return errors.Join(errs...)
}
