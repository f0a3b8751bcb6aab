package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/shingle-storage/shingle/agent/datapath"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/api/fleet/v1/fleetv1connect"
)

// Delete deletes the blob l names. In an open volume a tombstone is
// written on every replica, and it succeeds only if all take it. A sealed
// or encoded volume takes no more writes, so there the blob is checked to
// exist and its deletion recorded in fleetd: readers treat it as gone
// from then on (other clients within LocationTTL), and its bytes go when
// the volume is encoded or, once coded, compacted. A volume sealed while
// the tombstones were being written is handled the second way.
func (c *Client) Delete(ctx context.Context, l Locator) error {
	loc, err := c.locate(ctx, l.Volume, true)
	if err != nil {
		return err
	}
	if isDeleted(loc, l.Key) {
		return fmt.Errorf("%w: key %x of volume %d is deleted already", ErrNotFound, l.Key[:8], l.Volume)
	}
	if loc.GetVolume().GetState() == "open" {
		err := c.deleteOpen(ctx, loc, l.Key)
		if !datapath.IsCode(err, "failed_precondition") {
			return err
		}
		// A replica refused: the volume is being sealed. Record the
		// deletion in fleetd once it is.
		if loc, err = c.waitSealed(ctx, l.Volume); err != nil {
			return err
		}
	}
	if _, err := c.onVolume(ctx, l.Volume, func(loc *fleetv1.Location) error {
		if isDeleted(loc, l.Key) {
			return fmt.Errorf("%w: key %x of volume %d is deleted already", ErrNotFound, l.Key[:8], l.Volume)
		}
		return c.exists(ctx, loc, l.Key)
	}); err != nil {
		return err
	}
	_, err = callFleet(ctx, c, func(f fleetv1connect.VolumeServiceClient) (*connect.Response[fleetv1.DeleteBlobsResponse], error) {
		return f.DeleteBlobs(ctx, connect.NewRequest(&fleetv1.DeleteBlobsRequest{Volume: l.Volume, Keys: [][]byte{l.Key[:]}}))
	})
	if err != nil {
		return fmt.Errorf("client: recording the deletion of key %x from volume %d: %w", l.Key[:8], l.Volume, err)
	}
	c.mu.Lock()
	delete(c.located, l.Volume) // this client's next read sees it
	c.mu.Unlock()
	return nil
}

// deleteOpen writes a tombstone for key on every replica of the open
// volume at loc.
func (c *Client) deleteOpen(ctx context.Context, loc *fleetv1.Location, key datapath.Key) error {
	hs := loc.GetHolders()
	errs := make([]error, len(hs))
	var wg sync.WaitGroup
	for i, h := range hs {
		wg.Go(func() {
			errs[i] = c.data.Delete(ctx, h.GetAddress(), h.GetDrive(), h.GetExtent(), key)
		})
	}
	wg.Wait()
	n := 0
	for _, err := range errs {
		if datapath.IsCode(err, "not_found") {
			n++
		}
	}
	if n == len(hs) {
		return fmt.Errorf("%w: volume %d has no key %x", ErrNotFound, loc.GetVolume().GetId(), key[:8])
	}
	for _, err := range errs {
		if datapath.IsCode(err, "failed_precondition") {
			return err
		}
	}
	// A replica without the key took the tombstone of an earlier,
	// partly failed attempt: it counts as done.
	for i, err := range errs {
		if datapath.IsCode(err, "not_found") {
			errs[i] = nil
		}
	}
	return errors.Join(errs...)
}

// waitSealed asks fleetd for volume id until it is no longer open: a
// replica refusing a tombstone means the leader is sealing it.
func (c *Client) waitSealed(ctx context.Context, id uint64) (*fleetv1.Location, error) {
	for range 50 {
		loc, err := c.locate(ctx, id, true)
		if err != nil {
			return nil, err
		}
		if loc.GetVolume().GetState() != "open" {
			return loc, nil
		}
		if !sleepCtx(ctx, 200*time.Millisecond) {
			return nil, ctx.Err()
		}
	}
	return nil, fmt.Errorf("client: a replica of volume %d refuses writes, but fleetd still has it open after 10 s; try again", id)
}

// exists checks that the sealed or encoded volume at loc holds key,
// without reading the blob from a coded volume (its index says).
func (c *Client) exists(ctx context.Context, loc *fleetv1.Location, key datapath.Key) error {
	if loc.GetVolume().GetState() != "encoded" {
		_, err := c.getReplicated(ctx, loc, key)
		return err
	}
	_, _, err := c.findCoded(ctx, loc, key)
	return err
}
