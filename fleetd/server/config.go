package server

import (
	"errors"
	"fmt"
	"github.com/shingle-storage/shingle/fleetd/volume"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"log/slog"
	"net"
	"time"

	"github.com/shingle-storage/shingle/fleetd/pki"
	"github.com/shingle-storage/shingle/fleetd/raftnode"
)

// Config says how to run a fleetd server.
type Config struct {
	// ID is the server's Raft id: stable across restarts, unique in the
	// cluster.
	ID string
	// Dir is the data directory (Raft's log and snapshots).
	Dir string
	// RaftAddr is the TCP address Raft listens on and other members dial;
	// it must name a specific IP, not 0.0.0.0.
	RaftAddr string
	// APIAddr is the address the API listens on and the one recorded for
	// other members and clients to reach; it too must name a specific
	// host.
	APIAddr string
	// MetricsAddr, if set, serves /metrics over plain HTTP on its own
	// address, for scrapers without a client certificate. /metrics is
	// always served on the API address too, under mutual TLS.
	MetricsAddr string
	// TLS names the cluster CA and this server's certificate and key. The
	// certificate must have role pki.RoleNode: it is also what this server
	// presents when it forwards to the leader.
	TLS pki.Files
	// Bootstrap makes a brand-new server the first member of a new
	// cluster. It is ignored by a server that already has Raft state.
	Bootstrap bool
	// Join is the API address of a member of an existing cluster; a
	// brand-new server asks it to be added. Ignored by a server that
	// already has Raft state.
	Join string
	// Timing is Raft's timing; zero means raftnode.ProductionTiming.
	Timing raftnode.Timing
	// HeartbeatInterval is how often agents are told to heartbeat.
	HeartbeatInterval time.Duration
	// HeartbeatTimeout is how long a host may be silent before it is shown
	// unreachable.
	HeartbeatTimeout time.Duration
	// RepairGrace is how long a host must have been unreachable before
	// its drives' volumes become candidates for repair: transient outages
	// (a reboot, a switch flap) should cost no repair traffic.
	RepairGrace time.Duration
	// Logger receives the server's structured logs (and Raft's). Nil
	// means JSON to stderr.
	Logger *slog.Logger
	// Tracer traces API calls, the calls this server forwards or relays,
	// and each command's trip through Raft. Nil records nothing.
	Tracer trace.TracerProvider
	// Volumes tunes the life of volumes run by the leader: replication,
	// erasure code, volume size, failure domain. Zero fields take the
	// package volume defaults.
	Volumes volume.Options
}

// Defaults for the Config durations.
const (
	DefaultHeartbeatInterval = 5 * time.Second
	DefaultHeartbeatTimeout  = 15 * time.Second
	DefaultRepairGrace       = 15 * time.Minute
)

// withDefaults fills zero fields with their defaults.
func (c Config) withDefaults() Config {
	if c.Tracer == nil {
		c.Tracer = noop.NewTracerProvider()
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.HeartbeatTimeout <= 0 {
		c.HeartbeatTimeout = DefaultHeartbeatTimeout
	}
	if c.RepairGrace <= 0 {
		c.RepairGrace = DefaultRepairGrace
	}
	return c
}

// check reports what is missing or wrong, all at once.
func (c Config) check() error {
	var errs []error
	if c.ID == "" {
		errs = append(errs, errors.New("--id is empty: give every fleetd server a stable, unique id (its host name is a good choice)"))
	}
	if c.Dir == "" {
		errs = append(errs, errors.New("--dir is empty: say where the server keeps its Raft log and snapshots"))
	}
	for _, a := range []struct{ flag, addr string }{{"--raft-addr", c.RaftAddr}, {"--api-addr", c.APIAddr}} {
		host, _, err := net.SplitHostPort(a.addr)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s %q is not host:port", a.flag, a.addr))
		case host == "" || host == "0.0.0.0" || host == "::":
			errs = append(errs, fmt.Errorf("%s %q must name the address other servers reach, not a wildcard", a.flag, a.addr))
		}
	}
	if c.Bootstrap && c.Join != "" {
		errs = append(errs, errors.New("--bootstrap and --join exclude each other: bootstrap the first server of a new cluster, join the others to it"))
	}
	if c.HeartbeatTimeout <= c.HeartbeatInterval {
		errs = append(errs, fmt.Errorf("--heartbeat-timeout (%v) must be longer than the heartbeat interval (%v)", c.HeartbeatTimeout, c.HeartbeatInterval))
	}
	return errors.Join(errs...)
}
