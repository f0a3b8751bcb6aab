package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/shingle-storage/shingle/agent/datapath"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/api/fleet/v1/fleetv1connect"
)

// Config says how to reach the fleet.
type Config struct {
	// Fleet lists fleetd API addresses (host:port); calls go to the first
	// that answers.
	Fleet []string
	// TLS is the client's mutual TLS configuration: the cluster CA and a
	// certificate it signed (pki.ClientConfig).
	TLS *tls.Config
	// Tries is how many times a put tries (a volume, or a lease) before
	// giving up (6).
	Tries int
}

// Client stores and reads blobs. It is safe for concurrent use; share
// one per process.
type Client struct {
	cfg   Config
	fleet []fleetv1connect.VolumeServiceClient
	data  *datapath.Client
	http  *http.Client

	mu      sync.Mutex
	lease   *lease
	retired []uint64                // volumes to report at the next lease
	located map[uint64]located      // volume locations, refreshed on trouble or age
	coded   map[uint64]*codedVolume // headers of encoded volumes
}

// LocationTTL is how long a client trusts a volume location it was given
// before asking fleetd again. A location changes when a volume is sealed,
// encoded, repaired or compacted, and a client finds that out by itself
// on its next read (the old holders fail it); but a blob another client
// deleted from a sealed volume is only recorded in fleetd, and a client
// sees that deletion once its location of the volume is younger than
// the deletion: within LocationTTL.
const LocationTTL = 30 * time.Second

// located is a volume location and when it was fetched.
type located struct {
	loc *fleetv1.Location
	at  time.Time
}

// lease is a volume the client writes to until it expires or fails.
type lease struct {
	loc     *fleetv1.Location
	expires time.Time
}

// New returns a client of the fleet cfg describes. Nothing is connected
// until the first call.
func New(cfg Config) (*Client, error) {
	if len(cfg.Fleet) == 0 {
		return nil, errors.New("client: no fleetd address; give at least one host:port")
	}
	if cfg.TLS == nil {
		return nil, errors.New("client: no TLS configuration; the fleet and its agents accept only clients with a certificate from the cluster CA")
	}
	if cfg.Tries <= 0 {
		cfg.Tries = 6
	}
	// Blobs go to agents over the data path's own transport; calls to
	// fleetd are Connect, over HTTP/2.
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg.TLS, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 64}}
	dc := &http.Client{Transport: datapath.NewTransport(cfg.TLS, 64)}
	c := &Client{cfg: cfg, data: &datapath.Client{HTTP: dc}, http: hc, located: map[uint64]located{}, coded: map[uint64]*codedVolume{}}
	for _, a := range cfg.Fleet {
		c.fleet = append(c.fleet, fleetv1connect.NewVolumeServiceClient(hc, "https://"+a))
	}
	return c, nil
}

// Close drops idle connections.
func (c *Client) Close() {
	c.http.CloseIdleConnections()
	c.data.HTTP.CloseIdleConnections()
}

// Errors callFleet returns when no fleetd server gave an answer, wrapped
// with each server's error.
var (
	// ErrFleetUnreachable: no fleetd server could be reached.
	ErrFleetUnreachable = errors.New("client: no fleetd server answered")
	// ErrNoLeader: a server answered, but no leader could.
	ErrNoLeader = errors.New("client: fleetd has no leader")
)

// callFleet sends a call to each fleetd server in turn until one
// answers (an answer may be an error). A server that cannot be reached,
// or that knows no leader, is skipped.
func callFleet[Res any](ctx context.Context, c *Client, call func(fleetv1connect.VolumeServiceClient) (*connect.Response[Res], error)) (*Res, error) {
	var errs []error
	why := ErrFleetUnreachable
	for i, f := range c.fleet {
		res, err := call(f)
		if err == nil {
			return res.Msg, nil
		}
		code := connect.CodeOf(err)
		var ce *connect.Error
		noLeader := errors.As(err, &ce) && ce.Meta().Get(fleetv1.MetaNoLeader) != ""
		if ctx.Err() != nil || (code != connect.CodeUnavailable && !noLeader) {
			return nil, err
		}
		if noLeader {
			why = ErrNoLeader
		}
		errs = append(errs, fmt.Errorf("%s: %w", c.cfg.Fleet[i], err))
	}
	return nil, fmt.Errorf("%w: %w", why, errors.Join(errs...))
}

// locate returns where volume id is: from the cache unless refresh is
// set, else from fleetd.
func (c *Client) locate(ctx context.Context, id uint64, refresh bool) (*fleetv1.Location, error) {
	l, err := c.locateEntry(ctx, id, refresh)
	return l.loc, err
}

// locateEntry is locate returning the cache entry: the location and when
// it was fetched.
func (c *Client) locateEntry(ctx context.Context, id uint64, refresh bool) (located, error) {
	c.mu.Lock()
	l, ok := c.located[id]
	c.mu.Unlock()
	if ok && !refresh && time.Since(l.at) < LocationTTL {
		return l, nil
	}
	res, err := callFleet(ctx, c, func(f fleetv1connect.VolumeServiceClient) (*connect.Response[fleetv1.LocateResponse], error) {
		return f.Locate(ctx, connect.NewRequest(&fleetv1.LocateRequest{Volume: id}))
	})
	if err != nil {
		return located{}, err
	}
	l = located{loc: res.GetLocation(), at: time.Now()}
	c.mu.Lock()
	c.located[id] = l
	c.mu.Unlock()
	return l, nil
}

// maxMoves bounds how many times one call follows a volume that moves
// under it before it gives up and returns the last error.
const maxMoves = 4

// onVolume runs op on volume id's location, the cached one first. A
// volume moves while it is read: an encoding deletes its replicas, a
// repair replaces a member, a compaction deletes the old epoch's shards,
// each right after fleetd records the new location. So a location can go
// stale between fleetd's answer and the reads it directs, however fresh
// it was. When op fails, onVolume asks fleetd where the volume is now and
// runs op again if the volume moved (its generation or state changed) or
// the failed location was fetched before this call. The error of a
// location that is still current is the answer. It returns the location
// op last ran on.
func (c *Client) onVolume(ctx context.Context, id uint64, op func(*fleetv1.Location) error) (*fleetv1.Location, error) {
	start := time.Now()
	l, err := c.locateEntry(ctx, id, false)
	if err != nil {
		return nil, err
	}
	loc, fresh := l.loc, !l.at.Before(start)
	for moves := 0; ; moves++ {
		err := op(loc)
		if err == nil || ctx.Err() != nil || moves == maxMoves {
			return loc, err
		}
		now, lerr := c.locate(ctx, id, true)
		if lerr != nil {
			return loc, fmt.Errorf("%w (asking fleetd where volume %d is now failed too: %v)", err, id, lerr)
		}
		if fresh && !moved(loc, now) {
			return loc, err
		}
		loc, fresh = now, true
	}
}

// moved reports whether a volume's location changed from a to b.
func moved(a, b *fleetv1.Location) bool {
	return a.GetVolume().GetGeneration() != b.GetVolume().GetGeneration() || a.GetVolume().GetState() != b.GetVolume().GetState()
}

// Locate returns where volume id is, as fleetd sees it now.
func (c *Client) Locate(ctx context.Context, id uint64) (*fleetv1.Location, error) {
	return c.locate(ctx, id, true)
}
