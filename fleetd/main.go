// Command fleetd runs one server of the fleet daemon's Raft group: the
// replicated record of every rack, host, drive and volume, served over a
// Connect/gRPC API with mutual TLS. See fleetd/README.md.
package main

import (
	"time"

	"context"
	"errors"
	"fmt"
	"github.com/shingle-storage/shingle/internal/tracing"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/shingle-storage/shingle/fleetd/pki"
	"github.com/shingle-storage/shingle/fleetd/raftnode"
	"github.com/shingle-storage/shingle/fleetd/server"
	"github.com/urfave/cli/v2"
)

func main() {
	if err := newApp().Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "fleetd:", err)
		os.Exit(1)
	}
}

// env names the environment variable that may set a flag.
func env(name string) []string { return []string{"SHINGLE_FLEETD_" + name} }

func newApp() *cli.App {
	return &cli.App{
		Name:  "fleetd",
		Usage: "run one server of Shingle's fleet daemon (a member of its Raft group)",
		Description: `fleetd keeps the fleet's replicated state (topology, drives, volumes,
join tokens) in a 3- or 5-server Raft group, and serves the fleet API
(Connect, gRPC and JSON over HTTP/2 with mutual TLS) on --api-addr, with
Raft's own traffic on --raft-addr.

Starting a cluster: start the first server with --bootstrap, then each
other server with --join <first server's --api-addr>. A server whose --dir
already holds Raft state rejoins its cluster by itself and ignores both.

Every flag can also be set through the environment variable shown.
SIGTERM or SIGINT stops the server cleanly (a leader hands leadership over
first).`,
		HideHelpCommand: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "id", EnvVars: env("ID"), Required: true,
				Usage: "this server's Raft id: stable across restarts and unique in the cluster (the host name is a good choice)"},
			&cli.StringFlag{Name: "dir", EnvVars: env("DIR"), Required: true,
				Usage: "data directory: Raft's log (wal/) and snapshots (snapshots/); created if missing"},
			&cli.StringFlag{Name: "raft-addr", EnvVars: env("RAFT_ADDR"), Value: "127.0.0.1:7301",
				Usage: "host:port Raft listens on and the other servers dial; must be a specific address, not 0.0.0.0"},
			&cli.StringFlag{Name: "api-addr", EnvVars: env("API_ADDR"), Value: "127.0.0.1:7300",
				Usage: "host:port the API listens on; recorded for clients and the other servers, so it must be reachable by them"},
			&cli.StringFlag{Name: "metrics-addr", EnvVars: env("METRICS_ADDR"),
				Usage: "also serve /metrics over plain HTTP on this host:port, for scrapers without a client certificate (it is always served on --api-addr under mutual TLS)"},
			&cli.BoolFlag{Name: "bootstrap", EnvVars: env("BOOTSTRAP"),
				Usage: "make this brand-new server the first member of a new cluster (ignored if --dir holds Raft state)"},
			&cli.StringFlag{Name: "join", EnvVars: env("JOIN"),
				Usage: "API host:port of any member of an existing cluster; this brand-new server asks to be added (ignored if --dir holds Raft state)"},
			&cli.StringFlag{Name: "ca", EnvVars: []string{"SHINGLE_FLEETD_CA", "SHINGLE_CA"}, Required: true,
				Usage: "PEM file of the cluster CA certificate: the only root trusted for clients and the other servers"},
			&cli.StringFlag{Name: "cert", EnvVars: env("CERT"), Required: true,
				Usage: "PEM file of this server's certificate (role fleetd, valid for --api-addr's host), also used to call the other servers"},
			&cli.StringFlag{Name: "key", EnvVars: env("KEY"), Required: true,
				Usage: "PEM file of this server's private key"},
			&cli.DurationFlag{Name: "heartbeat-interval", EnvVars: env("HEARTBEAT_INTERVAL"), Value: server.DefaultHeartbeatInterval,
				Usage: "how often agents are told to send heartbeats"},
			&cli.DurationFlag{Name: "heartbeat-timeout", EnvVars: env("HEARTBEAT_TIMEOUT"), Value: server.DefaultHeartbeatTimeout,
				Usage: "a host silent for longer than this is shown unreachable"},
			&cli.DurationFlag{Name: "repair-grace", EnvVars: env("REPAIR_GRACE"), Value: server.DefaultRepairGrace,
				Usage: "how long a host must have been unreachable before its drives' volumes become candidates for repair"},
			&cli.IntFlag{Name: "replicas", EnvVars: env("REPLICAS"), Value: 3,
				Usage: "copies of an open volume, each in a different failure domain; a blob is acknowledged once every copy has it"},
			&cli.StringFlag{Name: "code", EnvVars: env("CODE"), Value: "RS(6,3)",
				Usage: "erasure code sealed volumes are encoded with: RS(k,m), or LRC(k,l,m) such as LRC(12,2,2), whose single-shard repairs read only a local group"},
			&cli.StringFlag{Name: "volume-size", EnvVars: env("VOLUME_SIZE"), Value: "1GiB",
				Usage: "space a replica reserves, and so the most a volume holds: the agents' extent size (zone size times zones per extent)"},
			&cli.IntFlag{Name: "open-volumes", EnvVars: env("OPEN_VOLUMES"), Value: 4,
				Usage: "open volumes the leader keeps for clients to write to"},
			&cli.DurationFlag{Name: "volume-max-age", EnvVars: env("VOLUME_MAX_AGE"), Value: time.Hour,
				Usage: "how long a volume stays open before it is sealed and erasure coded"},
			&cli.StringFlag{Name: "failure-domain", EnvVars: env("FAILURE_DOMAIN"), Value: "rack",
				Usage: "what no two members of a volume may share: rack, or host for fleets with fewer racks than a code is wide"},
			&cli.StringFlag{Name: "repair-rate", EnvVars: env("REPAIR_RATE"), Value: "0",
				Usage: "most bytes per second one repair or encoding writes (e.g. 100MiB), so background work leaves the drives to clients; 0 means no cap"},
			&cli.IntFlag{Name: "repair-workers", EnvVars: env("REPAIR_WORKERS"), Value: 4,
				Usage: "how many volumes are repaired at once, most urgent first; each writes at up to --repair-rate"},
			&cli.IntFlag{Name: "drain-failing", EnvVars: env("DRAIN_FAILING"), Value: 2,
				Usage: "drain a drive in service whose agent reports it failing (its data moved to other drives, then marked drained, ready to pull) while fewer than this many drives are draining or drained (a drained drive counts until it is retired, awaiting replacement or provisioned again); 0 never does (set a drive suspect to keep it from being drained)"},
			&cli.Float64Flag{Name: "compact-deleted", EnvVars: env("COMPACT_DELETED"), Value: 0.2,
				Usage: "share of an erasure-coded volume's blobs deleted (0 to 1) at which its image is rewritten without them, freeing their space; 0 never compacts"},
			&cli.StringFlag{Name: "raft-timing", EnvVars: env("RAFT_TIMING"), Value: "production",
				Usage: "Raft timeouts: production (1 s heartbeat and election, for a data-centre network) or loopback (200 ms, for servers on one machine)"},
			&cli.StringFlag{Name: "log-level", EnvVars: env("LOG_LEVEL"), Value: "info",
				Usage: "least severe log level written (debug, info, warn, error); logs are JSON lines on stderr"},
			&cli.StringFlag{Name: "otlp-endpoint", EnvVars: append(env("OTLP_ENDPOINT"), "OTEL_EXPORTER_OTLP_ENDPOINT"),
				Usage: "OpenTelemetry collector to send traces to over OTLP/HTTP, like http://127.0.0.1:4318 (traces: every API call, the calls forwarded to the leader, each command's trip through Raft); empty sends none"},
			&cli.Float64Flag{Name: "trace-sample-ratio", EnvVars: env("TRACE_SAMPLE_RATIO"), Value: 1,
				Usage: "share of new traces recorded, 0 to 1 (calls that arrive already traced follow their caller's decision)"},
		},
		Action: run,
	}
}

// run starts the server and serves until SIGTERM or SIGINT.
func run(c *cli.Context) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.String("log-level"))); err != nil {
		return cli.Exit(fmt.Sprintf("fleetd: --log-level %q: use debug, info, warn or error", c.String("log-level")), 2)
	}
	var timing raftnode.Timing
	switch c.String("raft-timing") {
	case "production":
		timing = raftnode.ProductionTiming()
	case "loopback":
		timing = raftnode.LoopbackTiming()
	default:
		return cli.Exit(fmt.Sprintf("fleetd: --raft-timing %q: use production or loopback", c.String("raft-timing")), 2)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	tracer, err := tracing.New(tracing.Config{Service: "fleetd", Instance: c.String("id"),
		Endpoint: c.String("otlp-endpoint"), SampleRatio: c.Float64("trace-sample-ratio")})
	if err != nil {
		return cli.Exit("fleetd: --otlp-endpoint: "+err.Error(), 2)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tracer.Shutdown(ctx); err != nil {
			log.Warn("flushing traces failed", "err", err)
		}
	}()
	vols, err := volumeOptions(c)
	if err != nil {
		return cli.Exit("fleetd: "+err.Error(), 2)
	}
	srv, err := server.Open(server.Config{
		Volumes:           vols,
		ID:                c.String("id"),
		Dir:               c.String("dir"),
		RaftAddr:          c.String("raft-addr"),
		APIAddr:           c.String("api-addr"),
		MetricsAddr:       c.String("metrics-addr"),
		TLS:               pki.Files{CA: c.String("ca"), Cert: c.String("cert"), Key: c.String("key")},
		Bootstrap:         c.Bool("bootstrap"),
		Join:              c.String("join"),
		Timing:            timing,
		HeartbeatInterval: c.Duration("heartbeat-interval"),
		HeartbeatTimeout:  c.Duration("heartbeat-timeout"),
		RepairGrace:       c.Duration("repair-grace"),
		Logger:            log,
		Tracer:            tracer,
	})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	err = srv.Run(ctx)
	if errors.Is(err, server.ErrRemoved) {
		log.Info("stopped: " + err.Error())
		return nil
	}
	if err == nil {
		log.Info("stopped cleanly")
	}
	return err
}
