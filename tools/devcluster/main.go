// Command devcluster runs a Shingle development cluster on this machine:
// three fleetd servers on loopback ports with fresh certificates, the
// fleet's topology registered, one storage agent per host on emulated
// zoned drives, and an env file for fleetctl. Run it from
// the repository with
//
//	go run ./tools/devcluster
//
// Ctrl-C stops the cluster; running it again with the same --dir brings
// the same cluster back with its data. See tools/devcluster/README.md.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
)

func main() {
	app := &cli.App{
		Name:  "devcluster",
		Usage: "run a Shingle development cluster on loopback (3 fleetd servers and an agent per host)",
		Description: `devcluster builds fleetd, fleetctl and agent from this checkout into <dir>/bin,
makes a cluster CA and certificates in <dir>/pki, starts three fleetd
servers on 127.0.0.1 (API ports base+1..base+3, Raft ports
base+101..base+103), bootstraps them into one Raft group, registers the
fleet's topology (one site, room and row; --racks racks of
--hosts-per-rack hosts) and writes <dir>/env, which puts fleetctl on PATH
and points it at the cluster:

   . <dir>/env && fleetctl drive list

It then starts one agent per host on 127.0.0.1 (ports base+201 on), each
with --drives-per-host emulated zoned drives of --drive-size (sparse files
with 16 MiB zones in <dir>/<host>/drives), its host's certificate and a
join token, and waits until every host is reachable and every drive
registered. --agents=false leaves the hosts registered but unreachable.

Ctrl-C stops every agent and then every server cleanly. Running devcluster
again with the same --dir brings the same cluster back, with its data, on
the ports chosen the first time; hosts that had an agent get it back with
the same drives. Remove the directory to start afresh.`,
		HideHelpCommand: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", EnvVars: []string{"SHINGLE_DEVCLUSTER_DIR"}, Value: filepath.Join(os.TempDir(), "shingle-devcluster"),
				Usage: "directory holding the cluster's binaries, certificates, data, logs and env file"},
			&cli.IntFlag{Name: "base-port", Value: 17300, Usage: "first run only: API ports are base+1..base+3, Raft ports base+101..base+103, agent ports base+201 on"},
			&cli.IntFlag{Name: "racks", Value: 3, Usage: "racks in the fleet"},
			&cli.IntFlag{Name: "hosts-per-rack", Value: 3, Usage: "storage hosts per rack"},
			&cli.BoolFlag{Name: "agents", Value: true, Usage: "run an agent per host; --agents=false runs fleetd alone"},
			&cli.IntFlag{Name: "drives-per-host", Value: 2, Usage: "emulated zoned drives of a host's agent (for hosts new to --dir)"},
			&cli.StringFlag{Name: "drive-size", Value: "256MiB", Usage: "size of each new emulated drive, a multiple of the 16MiB zone (for hosts new to --dir)"},
		},
		Action: run,
	}
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "devcluster:", err)
		os.Exit(1)
	}
}

// run brings the cluster up, waits for Ctrl-C or SIGTERM, and stops it.
func run(c *cli.Context) error {
	dir, err := filepath.Abs(c.String("dir"))
	if err != nil {
		return err
	}
	size, err := parseSize(c.String("drive-size"))
	if err != nil {
		return err
	}
	if err := checkDriveSize(c.String("drive-size"), size); err != nil {
		return err
	}
	topo := topology{Racks: c.Int("racks"), HostsPerRack: c.Int("hosts-per-rack"), DrivesPerHost: c.Int("drives-per-host"), DriveBytes: size}
	if topo.Racks < 1 || topo.HostsPerRack < 1 || topo.DrivesPerHost < 1 {
		return fmt.Errorf("--racks, --hosts-per-rack and --drives-per-host must be at least 1")
	}
	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cl := &cluster{dir: layout(dir), out: c.App.Writer, withAgents: c.Bool("agents")}
	if err := cl.prepare(c.Int("base-port"), topo); err != nil {
		return err
	}
	if err := cl.up(ctx); err != nil {
		cl.down()
		return err
	}
	cl.greet()
	<-ctx.Done()
	fmt.Fprintln(c.App.Writer, "\nstopping the cluster...")
	if err := cl.down(); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "stopped. Run devcluster --dir %s to bring it back.\n", dir)
	return nil
}

// parseSize reads a size such as 4GiB, 512MiB or 1073741824.
func parseSize(s string) (uint64, error) {
	var n uint64
	var unit string
	if _, err := fmt.Sscanf(s, "%d%s", &n, &unit); err != nil && unit == "" {
		if _, err := fmt.Sscanf(s, "%d", &n); err != nil {
			return 0, fmt.Errorf("--drive-size %q: want a size like 4GiB or 512MiB", s)
		}
	}
	mult := map[string]uint64{"": 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}
	m, ok := mult[unit]
	if !ok || n == 0 {
		return 0, fmt.Errorf("--drive-size %q: want a size like 4GiB or 512MiB", s)
	}
	return n * m, nil
}

// stopGrace is how long a server or agent gets to stop before it is
// killed.
const stopGrace = 15 * time.Second

// startTimeout bounds waiting for the cluster to elect a leader and
// record every member, and then for the agents to register.
const startTimeout = 60 * time.Second
