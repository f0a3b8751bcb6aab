// Command agent runs Shingle's storage agent on one storage host: it owns
// the host's zoned drives, keeps an extent store on each, and serves the
// extent API (control calls over Connect, blob bytes over HTTP) with mutual
// TLS. See agent/README.md.
package main

import (
	"context"
	"fmt"
	"github.com/shingle-storage/shingle/agent/health/monitor"
	"github.com/shingle-storage/shingle/internal/bytesize"
	"github.com/shingle-storage/shingle/internal/tracing"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/shingle-storage/shingle/agent/config"
	"github.com/shingle-storage/shingle/agent/label"
	"github.com/shingle-storage/shingle/agent/server"
	"github.com/shingle-storage/shingle/fleetd/pki"
	"github.com/urfave/cli/v2"
)

func main() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(server.Procs(runtime.GOMAXPROCS(0)))
	}
	if err := newApp().Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		os.Exit(1)
	}
}

// env names the environment variable that may set a flag.
func env(name string) []string { return []string{"SHINGLE_AGENT_" + name} }

func newApp() *cli.App {
	return &cli.App{
		Name:  "agent",
		Usage: "run Shingle's storage agent: extent stores on this host's zoned drives, served over mutual TLS",
		Description: `The agent serves the extent API on --addr: the control calls
(shingle.agent.v1.ExtentService over Connect, gRPC and JSON) and the blob
data path (PUT, GET and DELETE /v1/drives/{drive}/extents/{extent}/blobs/{key},
with the body's CRC32C in the Shingle-CRC32C header), and /metrics. Every
caller needs a client certificate signed by the cluster CA (--ca).

Config file: --config FILE reads settings from a YAML file. Every flag
below can be set there under its name without the dashes (addr: 0.0.0.0:7400,
shutdown-timeout: 30s), and its drives: section says which of the host's
real drives the agent may claim. A flag on the command line wins over its
environment variable (shown with each flag), which wins over the file,
which wins over the default. A key the agent does not know is an error.
agent/agent.example.yaml in the source tree explains every key.

Drives: with a drives: section the agent scans the host's drives (sysfs)
and claims those its rules allow (allow-wwns, allow-serials, allow-models
globs, or allow-all-zoned: true). It opens the store of each drive that
carries this cluster's label (--cluster) and formats each that is blank. A
drive holding a partition table, a filesystem or another cluster's label
is refused unless listed under force: (which formats it, destroying what
it holds). Each refusal is logged with its reasons; the agent runs on the
drives it could claim and fails to start if there are none. For
development, --dev-drives DIR runs on emulated zoned drives kept as files
in DIR instead, created and formatted on first use.

With --fleet-addr and --join-token the agent registers the host with
fleetd and then sends heartbeats with its drives' free space and health.

SIGTERM or SIGINT stops the agent cleanly: requests in flight, writes
included, finish (for up to --shutdown-timeout) before the drives' stores
close.

The agent runs twice as many Go processors as it has CPUs, so goroutines
blocked in drive I/O do not hold up the network; GOMAXPROCS in the
environment sets another number.`,
		HideHelpCommand: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", EnvVars: env("CONFIG"), TakesFile: true,
				Usage: "YAML file of settings: any flag below by its name, and the drives: section of real drives to claim; flags and environment variables override it (see agent/agent.example.yaml)"},
			&cli.StringFlag{Name: "addr", EnvVars: env("ADDR"), Value: "127.0.0.1:7400",
				Usage: "host:port the API listens on (port 0 picks a free one; the log line \"serving\" gives it)"},
			&cli.StringFlag{Name: "ca", EnvVars: []string{"SHINGLE_AGENT_CA", "SHINGLE_CA"}, TakesFile: true,
				Usage: "(required) PEM file of the cluster CA certificate: the only root trusted for callers and for fleetd"},
			&cli.StringFlag{Name: "cert", EnvVars: env("CERT"), TakesFile: true,
				Usage: "(required) PEM file of the agent's certificate (role agent, named for --host-id, valid for --addr's host); also used to call fleetd"},
			&cli.StringFlag{Name: "key", EnvVars: env("KEY"), TakesFile: true,
				Usage: "(required) PEM file of the agent's private key"},
			&cli.StringFlag{Name: "cluster", EnvVars: env("CLUSTER"),
				Usage: "the cluster id (a UUID) written in new drives' labels and required of existing ones; needed with the config's drives: section; with --dev-drives, empty means the id kept in DIR/cluster-id (made on first use)"},
			&cli.StringFlag{Name: "dev-drives", EnvVars: env("DEV_DRIVES"),
				Usage: "run on emulated zoned drives kept as files in this directory (created and formatted on first use), for development and tests, instead of the real drives of the config's drives: section"},
			&cli.IntFlag{Name: "dev-drive-count", EnvVars: env("DEV_DRIVE_COUNT"), Value: 3,
				Usage: "how many emulated drives --dev-drives holds"},
			&cli.StringFlag{Name: "dev-drive-size", EnvVars: env("DEV_DRIVE_SIZE"), Value: "16GiB",
				Usage: "size of each new emulated drive (files are sparse), a whole number of zones; suffixes KiB, MiB, GiB, TiB"},
			&cli.StringFlag{Name: "dev-zone-size", EnvVars: env("DEV_ZONE_SIZE"), Value: "256MiB",
				Usage: "zone size of each new emulated drive; at least 8MiB so a 4 MiB blob fits"},
			&cli.IntFlag{Name: "zones-per-extent", EnvVars: env("ZONES_PER_EXTENT"), Value: 4,
				Usage: "extent size, in zones, of drives formatted by this agent"},
			&cli.StringFlag{Name: "fleet-addr", EnvVars: env("FLEET_ADDR"),
				Usage: "host:port of any fleetd server to register with; empty runs the agent on its own"},
			&cli.StringFlag{Name: "join-token", EnvVars: env("JOIN_TOKEN"),
				Usage: "join token from \"fleetctl token create\", needed with --fleet-addr"},
			&cli.StringFlag{Name: "host-id", EnvVars: env("HOST_ID"),
				Usage: "this host's id in the fleet (its chassis serial); default the host name"},
			&cli.StringFlag{Name: "rack", EnvVars: env("RACK"),
				Usage: "the rack this host stands in, as known to fleetd"},
			&cli.StringFlag{Name: "advertise-addr", EnvVars: env("ADVERTISE_ADDR"),
				Usage: "host:port fleetd and peers reach the agent on; default the address it listens on"},
			&cli.DurationFlag{Name: "shutdown-timeout", EnvVars: env("SHUTDOWN_TIMEOUT"), Value: 30 * time.Second,
				Usage: "how long stopping waits for requests in flight (writes included) before it closes the drives anyway"},
			&cli.StringFlag{Name: "log-level", EnvVars: env("LOG_LEVEL"), Value: "info",
				Usage: "least severe log level written (debug, info, warn, error); logs are JSON lines on stderr"},
			&cli.DurationFlag{Name: "health-interval", EnvVars: env("HEALTH_INTERVAL"), Value: time.Minute,
				Usage: "how often each drive's health is checked: SMART, the failure predictor, zone conditions, I/O errors, fail-slow"},
			&cli.DurationFlag{Name: "scrub-interval", EnvVars: env("SCRUB_INTERVAL"), Value: 7 * 24 * time.Hour,
				Usage: "how often every drive's sealed extents are read back and checked against their seals; damaged extents are reported to fleetd, which rebuilds them elsewhere (0 turns it off)"},
			&cli.StringFlag{Name: "scrub-rate", EnvVars: env("SCRUB_RATE"), Value: "50MiB",
				Usage: "most bytes per second a scheduled scrub reads from a drive, on average, and a pool compaction copies (0: no cap)"},
			&cli.DurationFlag{Name: "pool-compact-interval", EnvVars: env("POOL_COMPACT_INTERVAL"), Value: 10 * time.Minute,
				Usage: "how often each drive's sealed shard-pool extents are compacted when that frees at least half of one (the space of shards fleetd deleted: moved, rebuilt elsewhere, or rewritten by a volume compaction); 0 turns it off"},
			&cli.StringFlag{Name: "health-dir", EnvVars: env("HEALTH_DIR"),
				Usage: "directory keeping each drive's daily SMART history for the failure predictor across restarts (default: DIR/health with --dev-drives, none otherwise)"},
			&cli.StringFlag{Name: "otlp-endpoint", EnvVars: append(env("OTLP_ENDPOINT"), "OTEL_EXPORTER_OTLP_ENDPOINT"),
				Usage: "OpenTelemetry collector to send traces to over OTLP/HTTP, like http://127.0.0.1:4318 (spans for control calls and data-path requests, with the store's work and device writes under them); empty sends none"},
			&cli.Float64Flag{Name: "trace-sample-ratio", EnvVars: env("TRACE_SAMPLE_RATIO"), Value: 1,
				Usage: "share of new traces recorded, 0 to 1 (requests that arrive already traced follow their caller's decision)"},
			&cli.StringSliceFlag{Name: "dev-smart", EnvVars: env("DEV_SMART"),
				Usage: "recorded SMART samples (JSON, see agent/health/smart/testdata) to replay for the emulated drives, one file per drive in order"},
		},
		Action: run,
	}
}

// run opens the drives and serves until SIGTERM or SIGINT.
func run(c *cli.Context) error {
	file, err := applyConfig(c)
	if err != nil {
		return cli.Exit("agent: "+err.Error(), 2)
	}
	for _, name := range []string{"ca", "cert", "key"} {
		if c.String(name) == "" {
			return cli.Exit(fmt.Sprintf("agent: --%s is required: give it as a flag, through %s, or as %s: in --config", name,
				strings.Join(flagEnv(c, name), " or "), name), 2)
		}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.String("log-level"))); err != nil {
		return cli.Exit(fmt.Sprintf("agent: --log-level %q: use debug, info, warn or error", c.String("log-level")), 2)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if file != nil {
		log.Info("read config", "path", file.Path, "settings", len(file.Settings), "drives", file.Drives != nil)
	}

	var cluster label.ID
	if s := c.String("cluster"); s != "" {
		id, err := server.ParseID(s)
		if err != nil {
			return cli.Exit("agent: --cluster: "+err.Error(), 2)
		}
		cluster = id
	}
	fleet := server.Fleet{Addr: c.String("fleet-addr"), JoinToken: c.String("join-token"), HostID: c.String("host-id"),
		Rack: c.String("rack"), Address: c.String("advertise-addr")}
	if fleet.Addr != "" && fleet.JoinToken == "" {
		return cli.Exit("agent: --fleet-addr needs --join-token: make one with \"fleetctl token create --rack RACK\"", 2)
	}
	if fleet.HostID == "" {
		if fleet.HostID, err = os.Hostname(); err != nil {
			return cli.Exit("agent: no --host-id and no host name: "+err.Error(), 2)
		}
	}

	var drives []*server.Drive
	switch {
	case c.String("dev-drives") != "":
		if file != nil && file.Drives != nil {
			log.Warn("running on emulated drives (--dev-drives): the config's drives: section is not used", "config", file.Path)
		}
		size, err := parseSize(c.String("dev-drive-size"))
		if err != nil {
			return cli.Exit("agent: --dev-drive-size: "+err.Error(), 2)
		}
		zone, err := parseSize(c.String("dev-zone-size"))
		if err != nil {
			return cli.Exit("agent: --dev-zone-size: "+err.Error(), 2)
		}
		drives, err = server.DevDrives{Dir: c.String("dev-drives"), Count: c.Int("dev-drive-count"), Size: size, ZoneSize: zone,
			ZonesPerExtent: c.Int("zones-per-extent"), Cluster: cluster}.Open(log)
		if err != nil {
			return err
		}
	case file != nil && file.Drives != nil:
		rd, err := realDrives(file, cluster, c.Int("zones-per-extent"))
		if err != nil {
			return cli.Exit("agent: "+err.Error(), 2)
		}
		if drives, err = openRealDrives(rd, log); err != nil {
			return err
		}
	default:
		return cli.Exit("agent: no drives: list the real drives to claim in the drives: section of --config FILE "+
			"(see agent/agent.example.yaml), or run on emulated drives with --dev-drives DIR", 2)
	}

	healthDir := c.String("health-dir")
	if healthDir == "" && c.String("dev-drives") != "" {
		healthDir = filepath.Join(c.String("dev-drives"), "health")
	}
	if files := c.StringSlice("dev-smart"); len(files) > 0 {
		if err := server.ReplaySMART(drives, files); err != nil {
			return cli.Exit("agent: --dev-smart: "+err.Error(), 2)
		}
	}
	tracer, err := tracing.New(tracing.Config{Service: "agent", Instance: c.String("host-id"),
		Endpoint: c.String("otlp-endpoint"), SampleRatio: c.Float64("trace-sample-ratio")})
	if err != nil {
		return cli.Exit("agent: --otlp-endpoint: "+err.Error(), 2)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tracer.Shutdown(ctx); err != nil {
			log.Warn("flushing traces failed", "err", err)
		}
	}()
	scrubRate, err := bytesize.Parse(c.String("scrub-rate"))
	if err != nil {
		return cli.Exit("agent: --scrub-rate: "+err.Error(), 2)
	}
	srv, err := server.New(server.Config{
		Addr:            c.String("addr"),
		TLS:             pki.Files{CA: c.String("ca"), Cert: c.String("cert"), Key: c.String("key")},
		Drives:          drives,
		Fleet:           fleet,
		ShutdownTimeout: c.Duration("shutdown-timeout"),
		Logger:          log,
		Health:          monitor.Config{Interval: c.Duration("health-interval"), HistoryDir: healthDir},
		Tracer:          tracer,
		Scrubbing:       server.Scrubbing{Interval: c.Duration("scrub-interval"), BytesPerSecond: scrubRate},
		PoolCompaction:  server.PoolCompaction{Interval: c.Duration("pool-compact-interval"), BytesPerSecond: scrubRate},
	})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := srv.Run(ctx); err != nil {
		return err
	}
	log.Info("stopped cleanly")
	return nil
}

// applyConfig reads the --config file, if one is given, and sets from it
// every flag given neither on the command line nor through the
// environment. It returns the file, or nil when there is none.
func applyConfig(c *cli.Context) (*config.File, error) {
	path := c.String("config")
	if path == "" {
		return nil, nil
	}
	var names []string
	for _, f := range c.App.Flags {
		if name := f.Names()[0]; name != "config" && name != "help" {
			names = append(names, name)
		}
	}
	file, err := config.Load(path, names)
	if err != nil {
		return nil, err
	}
	if err := file.Apply(c); err != nil {
		return nil, err
	}
	return file, nil
}

// flagEnv returns the environment variables of the flag named name.
func flagEnv(c *cli.Context, name string) []string {
	for _, f := range c.App.Flags {
		if sf, ok := f.(*cli.StringFlag); ok && sf.Name == name {
			return sf.EnvVars
		}
	}
	return nil
}

// realDrives is the claim of the host's real drives that the config's
// drives: section describes, for cluster.
func realDrives(file *config.File, cluster label.ID, zonesPerExtent int) (server.RealDrives, error) {
	if cluster == (label.ID{}) {
		return server.RealDrives{}, fmt.Errorf("config %s: the drives: section needs this cluster's id to tell its drives from other clusters': set cluster: in the config, --cluster or SHINGLE_AGENT_CLUSTER", file.Path)
	}
	p := file.Drives.Policy(cluster)
	if err := p.Validate(); err != nil {
		return server.RealDrives{}, fmt.Errorf("config %s line %d: drives: %w", file.Path, file.Drives.Line, err)
	}
	return server.RealDrives{Policy: p, ZonesPerExtent: zonesPerExtent}, nil
}

// openRealDrives claims and opens the host's real drives; tests replace it
// so that they never touch this machine's disks.
var openRealDrives = func(rd server.RealDrives, log *slog.Logger) ([]*server.Drive, error) {
	return rd.Open(log)
}

// parseSize reads a positive byte count with an optional binary suffix.
func parseSize(s string) (int64, error) {
	n, err := bytesize.Parse(s)
	if err != nil || n == 0 || n > 1<<62 {
		return 0, fmt.Errorf("%q is not a size: write a positive number of bytes, or one with KiB, MiB, GiB or TiB", s)
	}
	return int64(n), nil
}
