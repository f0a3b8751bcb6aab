// Command devcluster runs a Shingle development cluster on this machine:
// three fleetd servers on loopback ports with fresh certificates, the
// fleet's topology registered, one storage agent per host on emulated
// zoned drives, and an env file for fleetctl. Run it from
// the repository with
//
//	go run ./tools/devcluster
//
// Ctrl-C stops the cluster; running it again with the same --dir brings
// the same cluster back with its data. From another shell, its commands
// inject faults into the running cluster:
//
//	go run ./tools/devcluster fail-drive DRIVE_ID     # every zone of a drive offline
//	go run ./tools/devcluster heal-drive DRIVE_ID     # back whole at its host's next start
//	go run ./tools/devcluster kill-host HOST_ID       # SIGKILL a host's agent
//	go run ./tools/devcluster restart-host HOST_ID    # start it again
//
// See tools/devcluster/README.md.
package main

import (
	"errors"
	"fmt"
	"github.com/shingle-storage/shingle/internal/bytesize"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
)

func main() {
	app := newApp()
	if err := app.Run(flagsFirst(app, os.Args)); err != nil {
		fmt.Fprintln(os.Stderr, "devcluster:", err)
		os.Exit(1)
	}
}

// defaultDir is where the cluster lives without --dir.
func defaultDir() string { return filepath.Join(os.TempDir(), "shingle-devcluster") }

// dirFlag is --dir, of the cluster and of each command.
func dirFlag() *cli.StringFlag {
	return &cli.StringFlag{Name: "dir", EnvVars: []string{"SHINGLE_DEVCLUSTER_DIR"}, Value: defaultDir(),
		Usage: "directory holding the cluster's binaries, certificates, data, logs and env file"}
}

func newApp() *cli.App {
	return &cli.App{
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
the same drives. Remove the directory to start afresh.

While it runs, the commands below inject faults into it from another
shell: a drive failing (fail-drive, heal-drive) and a host's agent dying
and coming back (kill-host, restart-host). devcluster COMMAND --help says
more.`,
		HideHelpCommand: true,
		Flags: []cli.Flag{
			dirFlag(),
			&cli.IntFlag{Name: "base-port", Value: 17300, Usage: "first run only: API ports are base+1..base+3, Raft ports base+101..base+103, agent ports base+201 on"},
			&cli.IntFlag{Name: "racks", Value: 3, Usage: "racks in the fleet"},
			&cli.IntFlag{Name: "hosts-per-rack", Value: 3, Usage: "storage hosts per rack"},
			&cli.BoolFlag{Name: "agents", Value: true, Usage: "run an agent per host; --agents=false runs fleetd alone"},
			&cli.IntFlag{Name: "drives-per-host", Value: 2, Usage: "emulated zoned drives of a host's agent (for hosts new to --dir)"},
			&cli.StringFlag{Name: "drive-size", Value: "4GiB", Usage: "size of each new emulated drive, a multiple of the 16MiB zone (for hosts new to --dir); the files are sparse, so only what is written takes disk space"},
			&cli.StringFlag{Name: "code", Value: "RS(6,3)", Usage: "erasure code of sealed volumes: RS(k,m), or LRC(12,2,2) on a fleet of 16 hosts or more"},
			&cli.StringFlag{Name: "volume-max-age", Value: "2m", Usage: "how long a volume stays open before fleetd seals and encodes it"},
			&cli.StringFlag{Name: "repair-grace", Value: "1m", Usage: "how long fleetd waits for an unreachable host before repairing its volumes"},
		},
		Action:   run,
		Commands: faultCommands(),
	}
}

// faultCommands are the commands that inject faults into a running
// cluster from another shell.
func faultCommands() []*cli.Command {
	flags := func() []cli.Flag { return []cli.Flag{dirFlag()} }
	return []*cli.Command{
		{
			Name:      "fail-drive",
			Usage:     "fail an emulated drive of the running cluster: every zone offline, as a dead drive",
			ArgsUsage: "DRIVE_ID",
			Description: `fail-drive fails the drive DRIVE_ID (its id as "fleetctl drive list" shows
it, the one in its label) by writing its fault file, drive-NN.fault beside
its file drive-NN.zoned in <dir>/<host>/drives, saying "offline". The
host's agent checks the file four times a second and whenever it starts;
while it says offline, the agent takes every zone of the drive offline
through the fault-injection layer (errorzone): reads, writes and zone
resets fail with zoned.ErrOffline and cache flushes with EIO, the store
writes off each extent it finds offline, and the agent's health check
reports every zone offline (ListDrives, /metrics, the heartbeat to
fleetd). The drive file itself is left whole.

The drive stays failed across restarts of its host, until heal-drive. It
prints where it wrote the fault and whether the agent has taken the drive
offline. The cluster in --dir must be running.`,
			Flags:  flags(),
			Action: failDrive,
		},
		{
			Name:      "heal-drive",
			Usage:     "remove a drive's fault: it comes back whole at its host's next start",
			ArgsUsage: "DRIVE_ID",
			Description: `heal-drive removes the fault file fail-drive wrote for DRIVE_ID. A real
drive's offline zones stay offline, and the store has written off the
extents it found offline, so the running agent keeps the drive offline;
the drive comes back whole, with its data, when its host's agent starts
again (kill-host, then restart-host). The cluster in --dir must be
running.`,
			Flags:  flags(),
			Action: healDrive,
		},
		{
			Name:      "kill-host",
			Usage:     "SIGKILL a host's agent, as the host losing power",
			ArgsUsage: "HOST_ID",
			Description: `kill-host kills the agent of HOST_ID (rack-R-host-H) with SIGKILL: no
drain, no clean close of its drives, as a host losing power. devcluster
notes the exit and neither restarts the agent nor stops; fleetd shows the
host unreachable once it has been silent for its heartbeat timeout (15 s by
default). The agent's process id is in <dir>/<host>/agent.pid. The cluster
in --dir must be running.`,
			Flags:  flags(),
			Action: killHost,
		},
		{
			Name:      "restart-host",
			Usage:     "start a host's agent again, as devcluster started it",
			ArgsUsage: "HOST_ID",
			Description: `restart-host starts the agent of HOST_ID again, with the arguments and
SHINGLE_*/OTEL_* settings devcluster last started it with (recorded in
<dir>/<host>/agent.cmd), logging to the same agent.log; it refuses if the
agent is running. The agent runs as a process of its own that outlives the
command, with its id in <dir>/<host>/agent.pid, and Ctrl-C on devcluster
stops it with the other agents. The command returns once the agent
listens; it then registers with fleetd and the host becomes reachable
again. The cluster in --dir must be running.`,
			Flags:  flags(),
			Action: restartHost,
		},
	}
}

// flagsFirst moves the flags given after a command's arguments
// (devcluster kill-host rack-1-host-1 --dir D) before them, where the cli
// package looks for them; everything after "--" stays as it is.
func flagsFirst(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	cmd := app.Command(args[1])
	if cmd == nil {
		return args
	}
	takesValue := map[string]bool{}
	for _, f := range cmd.Flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, name := range f.Names() {
			takesValue[name] = !isBool
		}
	}
	var flags, rest []string
	for i := 2; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		name := strings.TrimLeft(a, "-")
		if !strings.HasPrefix(a, "-") || name == "" {
			rest = append(rest, a)
			continue
		}
		flags = append(flags, a)
		if name, _, hasValue := strings.Cut(name, "="); !hasValue && takesValue[name] && i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	return slices.Concat(args[:2], flags, rest)
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
	if _, err := codeWidth(c.String("code")); err != nil {
		return err
	}
	cl := &cluster{dir: layout(dir), out: c.App.Writer, withAgents: c.Bool("agents"),
		durability: durability{Code: c.String("code"), MaxAge: c.String("volume-max-age"), RepairGrace: c.String("repair-grace")}}
	if err := checkNotRunning(cl.dir); err != nil {
		return err
	}
	// The commands that inject faults look for this process to tell that
	// the cluster runs.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	self := cl.dir.mainFiles()
	if err := self.writeRecord(procRecord{Argv: os.Args}); err != nil {
		return err
	}
	if err := self.writePID(os.Getpid()); err != nil {
		return err
	}
	defer self.removePID(os.Getpid())
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
	// Agents first, restarted ones included, so that their last calls
	// find fleetd up.
	err = cl.stopRestarted()
	if err := errors.Join(err, cl.down()); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "stopped. Run devcluster --dir %s to bring it back.\n", dir)
	return nil
}

// parseSize reads a size such as 4GiB, 512MiB or 1073741824.
func parseSize(s string) (uint64, error) {
	n, err := bytesize.Parse(s)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("--drive-size %q: want a size like 4GiB or 512MiB", s)
	}
	return n, nil
}

// stopGrace is how long a server or agent gets to stop before it is
// killed.
const stopGrace = 15 * time.Second

// startTimeout bounds waiting for the cluster to elect a leader and
// record every member, and then for the agents to register.
const startTimeout = 60 * time.Second
