package server

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/http"
	"time"

	"connectrpc.com/connect"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/api/fleet/v1/fleetv1connect"
)

// Fleet says how the agent joins fleetd.
type Fleet struct {
	// Addr is the host:port of any fleetd server.
	Addr string
	// JoinToken is the token from "fleetctl token create".
	JoinToken string
	// HostID is this host's id (its chassis serial); the agent's
	// certificate must be issued to the same name.
	HostID string
	// Rack is the rack the host stands in.
	Rack string
	// Address is the host:port fleetd and peers reach this agent on.
	Address string
	// RetryInterval is how long to wait after a failed call (5s).
	RetryInterval time.Duration
}

// registrar registers the host with fleetd, then sends heartbeats.
type registrar struct {
	cfg    Fleet
	client fleetv1connect.AgentServiceClient
	drives *drives
	log    *slog.Logger
	// badExtents lists a drive's extents that scrubs found damaged; nil
	// reports none.
	badExtents func(*Drive) []uint64
}

// bad is the damaged extents to report for d.
func (r *registrar) bad(d *Drive) []uint64 {
	if r.badExtents == nil {
		return nil
	}
	return r.badExtents(d)
}

// newRegistrar makes a registrar that calls fleetd with tlsConfig.
func newRegistrar(cfg Fleet, tlsConfig *tls.Config, ds *drives, log *slog.Logger) *registrar {
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = 5 * time.Second
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig, ForceAttemptHTTP2: true}, Timeout: 30 * time.Second}
	return &registrar{cfg: cfg, client: fleetv1connect.NewAgentServiceClient(hc, "https://"+cfg.Addr), drives: ds, log: log}
}

// run registers until it succeeds, then sends a heartbeat at once and
// every interval fleetd asks for after that, until ctx ends. Failures are
// logged and retried.
func (r *registrar) run(ctx context.Context) {
	interval := r.cfg.RetryInterval
	for {
		resp, err := r.client.Register(ctx, connect.NewRequest(r.registerRequest()))
		if err == nil {
			interval = heartbeatInterval(resp.Msg.GetHeartbeatInterval().AsDuration(), interval)
			r.log.Info("registered with fleet", "fleet", r.cfg.Addr, "host_state", resp.Msg.GetHostState(),
				"added_drives", resp.Msg.GetAddedDrives(), "known_drives", resp.Msg.GetKnownDrives(), "heartbeat_interval", interval)
			for _, why := range resp.Msg.GetRefusedDrives() {
				r.log.Warn("fleet refused a drive; it serves no volume until this is resolved", "refusal", why)
			}
			break
		}
		r.log.Warn("registering with fleet failed; retrying", "fleet", r.cfg.Addr, "err", err, "retry_in", r.cfg.RetryInterval)
		if !sleep(ctx, r.cfg.RetryInterval) {
			return
		}
	}
	for {
		resp, err := r.client.Heartbeat(ctx, connect.NewRequest(r.heartbeatRequest()))
		switch {
		case err == nil:
			interval = heartbeatInterval(resp.Msg.GetHeartbeatInterval().AsDuration(), interval)
		case ctx.Err() == nil:
			r.log.Warn("heartbeat to fleet failed", "fleet", r.cfg.Addr, "err", err)
		}
		if !sleep(ctx, interval) {
			return
		}
	}
}

// registerRequest describes the host and its drives. A drive whose slot
// is empty, or that another drive of the host reports too (two paths to
// one bay that discovery could not tell apart), stands in a slot named
// after its own id: fleetd holds one drive per slot.
func (r *registrar) registerRequest() *fleetv1.RegisterRequest {
	req := &fleetv1.RegisterRequest{JoinToken: r.cfg.JoinToken, HostId: r.cfg.HostID, Rack: r.cfg.Rack, Address: r.cfg.Address}
	taken := map[string]bool{}
	for _, d := range r.drives.list {
		slot := d.Slot
		if slot == "" || taken[slot] {
			r.log.Warn("drive has no slot of its own; registering it in a slot named after its id", "drive", d.ID, "slot", d.Slot)
			slot = "drive-" + d.ID
		}
		taken[slot] = true
		req.Drives = append(req.Drives, &fleetv1.DriveInfo{Id: d.ID, Slot: slot, CapacityBytes: d.UsableBytes(), Model: d.Model, Firmware: d.Firmware})
	}
	return req
}

// heartbeatRequest reports each drive's free space and health.
func (r *registrar) heartbeatRequest() *fleetv1.HeartbeatRequest {
	req := &fleetv1.HeartbeatRequest{HostId: r.cfg.HostID}
	for _, d := range r.drives.list {
		health, reasons := d.Health()
		req.Drives = append(req.Drives, &fleetv1.DriveReport{Id: d.ID, FreeBytes: d.FreeBytes(), PoolRoomBytes: d.PoolRoomBytes(), Load: d.Load(),
			Health: health, HealthReasons: reasons, FailureProbability: d.FailureProbability(), BadExtents: r.bad(d)})
	}
	return req
}

// heartbeatInterval is fleetd's interval if it gave one, else old.
func heartbeatInterval(given, old time.Duration) time.Duration {
	if given > 0 {
		return given
	}
	return old
}

// sleep waits d, and reports false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
