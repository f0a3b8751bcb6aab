package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/shingle-storage/shingle/agent/datapath"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
)

// ErrNotFound is returned for a blob no holder has: never stored, or
// deleted.
var ErrNotFound = errors.New("client: blob not found")

// Get reads the blob l names. It reads from a healthy holder first and
// falls back to the others; for an erasure-coded volume it reads the
// blob's bytes from the data shard that holds them, or reconstructs just
// those bytes from other shards. If every holder fails it asks fleetd
// where the volume is now (an encoding, a repair or a compaction may have
// moved it) and follows it; a blob is reported not found only by a
// location that is still current.
func (c *Client) Get(ctx context.Context, l Locator) ([]byte, error) {
	var b []byte
	_, err := c.onVolume(ctx, l.Volume, func(loc *fleetv1.Location) error {
		var err error
		switch {
		case isDeleted(loc, l.Key):
			// Deleted since the volume was sealed: the bytes are still
			// there until the volume is encoded or compacted.
			err = fmt.Errorf("%w: key %x of volume %d is deleted", ErrNotFound, l.Key[:8], l.Volume)
		case loc.GetVolume().GetState() == "encoded":
			b, err = c.getCoded(ctx, loc, l.Key)
		default:
			b, err = c.getReplicated(ctx, loc, l.Key)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// isDeleted reports whether loc lists key as deleted from its sealed
// volume.
func isDeleted(loc *fleetv1.Location, key datapath.Key) bool {
	_, found := slices.BinarySearchFunc(loc.GetDeleted(), key[:], bytes.Compare)
	return found
}

// getReplicated reads a blob from the first holder that has it, healthy
// holders first. Every holder answering not_found means the blob does
// not exist.
func (c *Client) getReplicated(ctx context.Context, loc *fleetv1.Location, key datapath.Key) ([]byte, error) {
	var errs []error
	notFound := 0
	for _, h := range preferHealthy(loc.GetHolders()) {
		b, err := c.data.Get(ctx, h.GetAddress(), h.GetDrive(), h.GetExtent(), key)
		if err == nil {
			return b, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		if datapath.IsCode(err, "not_found") {
			notFound++
		}
		errs = append(errs, err)
	}
	if notFound == len(loc.GetHolders()) {
		return nil, fmt.Errorf("%w: no replica of volume %d has key %x", ErrNotFound, loc.GetVolume().GetId(), key[:8])
	}
	return nil, fmt.Errorf("client: every replica of volume %d failed: %w", loc.GetVolume().GetId(), errors.Join(errs...))
}

// preferHealthy orders holders: reachable hosts with in-service drives
// first, then the rest (which may still answer).
func preferHealthy(hs []*fleetv1.Holder) []*fleetv1.Holder {
	var good, rest []*fleetv1.Holder
	for _, h := range hs {
		if h.GetReachability() == "reachable" && h.GetDriveState() == "in_service" {
			good = append(good, h)
		} else {
			rest = append(rest, h)
		}
	}
	return append(good, rest...)
}
