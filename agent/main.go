// Command agent runs Shingle's storage agent on one storage host: it owns
// the host's zoned drives, keeps an extent store on each, and serves the
// extent API (control calls over Connect, blob bytes over HTTP) with mutual
// TLS. See agent/README.md.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/shingle-storage/shingle/agent/label"
	"github.com/shingle-storage/shingle/agent/server"
	"github.com/shingle-storage/shingle/fleetd/pki"
	"github.com/urfave/cli/v2"
)

func main() {
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

Drives: --dev-drives DIR runs on emulated zoned drives kept as files in
DIR, created and formatted on first use. (Claiming real drives is not
supported yet.)

With --fleet-addr and --join-token the agent registers the host with
fleetd and then sends heartbeats with its drives' free space and health.

Every flag can also be set through the environment variable shown.
SIGTERM or SIGINT stops the agent cleanly: requests in flight, writes
included, finish before the drives' stores close.`,
		HideHelpCommand: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", EnvVars: env("ADDR"), Value: "127.0.0.1:7400",
				Usage: "host:port the API listens on (port 0 picks a free one; the log line \"serving\" gives it)"},
			&cli.StringFlag{Name: "ca", EnvVars: []string{"SHINGLE_AGENT_CA", "SHINGLE_CA"}, Required: true,
				Usage: "PEM file of the cluster CA certificate: the only root trusted for callers and for fleetd"},
			&cli.StringFlag{Name: "cert", EnvVars: env("CERT"), Required: true,
				Usage: "PEM file of the agent's certificate (role agent, named for --host-id, valid for --addr's host); also used to call fleetd"},
			&cli.StringFlag{Name: "key", EnvVars: env("KEY"), Required: true,
				Usage: "PEM file of the agent's private key"},
			&cli.StringFlag{Name: "cluster", EnvVars: env("CLUSTER"),
				Usage: "the cluster id (a UUID) written in new drives' labels and required of existing ones; with --dev-drives, empty means the id kept in DIR/cluster-id (made on first use)"},
			&cli.StringFlag{Name: "dev-drives", EnvVars: env("DEV_DRIVES"),
				Usage: "run on emulated zoned drives kept as files in this directory (created and formatted on first use), for development and tests"},
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
			&cli.DurationFlag{Name: "shutdown-timeout", EnvVars: env("SHUTDOWN_TIMEOUT"), Value: 0,
				Usage: "how long stopping waits for requests in flight (default 30s)"},
			&cli.StringFlag{Name: "log-level", EnvVars: env("LOG_LEVEL"), Value: "info",
				Usage: "least severe log level written (debug, info, warn, error); logs are JSON lines on stderr"},
		},
		Action: run,
	}
}

// run opens the drives and serves until SIGTERM or SIGINT.
func run(c *cli.Context) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.String("log-level"))); err != nil {
		return cli.Exit(fmt.Sprintf("agent: --log-level %q: use debug, info, warn or error", c.String("log-level")), 2)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	var cluster label.ID
	if s := c.String("cluster"); s != "" {
		id, err := server.ParseID(s)
		if err != nil {
			return cli.Exit("agent: --cluster: "+err.Error(), 2)
		}
		cluster = id
	}
	if c.String("dev-drives") == "" {
		return cli.Exit("agent: no drives: claiming real drives is not supported yet; run on emulated drives with --dev-drives DIR", 2)
	}
	size, err := parseSize(c.String("dev-drive-size"))
	if err != nil {
		return cli.Exit("agent: --dev-drive-size: "+err.Error(), 2)
	}
	zone, err := parseSize(c.String("dev-zone-size"))
	if err != nil {
		return cli.Exit("agent: --dev-zone-size: "+err.Error(), 2)
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

	drives, err := server.DevDrives{Dir: c.String("dev-drives"), Count: c.Int("dev-drive-count"), Size: size, ZoneSize: zone,
		ZonesPerExtent: c.Int("zones-per-extent"), Cluster: cluster}.Open(log)
	if err != nil {
		return err
	}
	srv, err := server.New(server.Config{
		Addr:            c.String("addr"),
		TLS:             pki.Files{CA: c.String("ca"), Cert: c.String("cert"), Key: c.String("key")},
		Drives:          drives,
		Fleet:           fleet,
		ShutdownTimeout: c.Duration("shutdown-timeout"),
		Logger:          log,
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

// parseSize reads a byte count with an optional binary suffix.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}
	mult := int64(1)
	num := s
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size: write a positive number of bytes, or one with KiB, MiB, GiB or TiB", s)
	}
	return n * mult, nil
}
