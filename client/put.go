package client

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/shingle-storage/shingle/agent/datapath"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/api/fleet/v1/fleetv1connect"
)

// MaxBlob is the largest blob Put takes; PutFile splits larger data.
const MaxBlob = 4 << 20

// ErrTooLarge is returned by Put for a blob over MaxBlob.
var ErrTooLarge = fmt.Errorf("client: blob over %d bytes; use PutFile, which splits it", MaxBlob)

// Put stores blob and returns its locator once every replica of its
// volume has it durable. A volume that cannot take it (full, sealed, a
// replica failing) is reported to fleetd, which seals it, and the blob
// goes to another volume; nothing is acknowledged that is not on every
// replica. A failed put may leave copies on some replicas; they are
// never named by a locator and take space until the volume is
// compacted.
func (c *Client) Put(ctx context.Context, blob []byte) (Locator, error) {
	if len(blob) > MaxBlob {
		return Locator{}, ErrTooLarge
	}
	var errs []error
	for try := range c.cfg.Tries {
		loc, err := c.leased(ctx)
		if err != nil {
			// No volume to be had right now (a leader just elected, a
			// fleet short of space for a moment): wait and ask again.
			// The same answer each time is said once.
			if len(errs) == 0 || errs[len(errs)-1].Error() != err.Error() {
				errs = append(errs, err)
			}
			if !sleepCtx(ctx, time.Duration(try+1)*500*time.Millisecond) {
				return Locator{}, ctx.Err()
			}
			continue
		}
		l := Locator{Volume: loc.GetVolume().GetId()}
		if _, err := rand.Read(l.Key[:]); err != nil {
			return Locator{}, err
		}
		err = c.putReplicas(ctx, loc, l.Key, blob)
		if err == nil {
			return l, nil
		}
		if ctx.Err() != nil {
			return Locator{}, err
		}
		errs = append(errs, fmt.Errorf("volume %d: %w", l.Volume, err))
		c.retire(l.Volume)
	}
	return Locator{}, fmt.Errorf("client: put failed in %d tries: %w", c.cfg.Tries, errors.Join(errs...))
}

// putReplicas writes the blob to every holder of an open volume in
// parallel and succeeds only if all do.
func (c *Client) putReplicas(ctx context.Context, loc *fleetv1.Location, key datapath.Key, blob []byte) error {
	hs := loc.GetHolders()
	if len(hs) == 0 {
		return errors.New("the volume has no holders")
	}
	errs := make([]error, len(hs))
	crc := datapath.CRC32C(blob)
	var wg sync.WaitGroup
	for i, h := range hs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.data.PutWithCRC(ctx, h.GetAddress(), h.GetDrive(), h.GetExtent(), key, blob, crc)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// leased returns the current lease, asking fleetd for one if there is
// none or it expired, and reporting retired volumes as it does.
func (c *Client) leased(ctx context.Context) (*fleetv1.Location, error) {
	c.mu.Lock()
	if l := c.lease; l != nil && time.Now().Before(l.expires) {
		c.mu.Unlock()
		return l.loc, nil
	}
	retire := c.retired
	c.retired = nil
	c.mu.Unlock()
	res, err := callFleet(ctx, c, func(f fleetv1connect.VolumeServiceClient) (*connect.Response[fleetv1.LeaseResponse], error) {
		return f.Lease(ctx, connect.NewRequest(&fleetv1.LeaseRequest{Retire: retire}))
	})
	if err != nil {
		c.mu.Lock()
		c.retired = append(c.retired, retire...)
		c.mu.Unlock()
		return nil, fmt.Errorf("client: no volume to write to: %w", err)
	}
	loc := res.GetLocation()
	ttl := res.GetTtl().AsDuration()
	c.mu.Lock()
	c.lease = &lease{loc: loc, expires: time.Now().Add(ttl)}
	c.located[loc.GetVolume().GetId()] = located{loc: loc, at: time.Now()}
	c.mu.Unlock()
	return loc, nil
}

// sleepCtx waits d, and reports false if ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// retire drops the lease on volume id and reports it to fleetd at the
// next lease.
func (c *Client) retire(id uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lease != nil && c.lease.loc.GetVolume().GetId() == id {
		c.lease = nil
	}
	c.retired = append(c.retired, id)
	delete(c.located, id)
}
