// Command fleetctl is the operator's tool for a Shingle fleet: it talks to
// the fleetd servers' API over mutual TLS. See tools/fleetctl/README.md.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	// The first Ctrl-C cancels the command, which may still tidy up (a
	// put deletes the blobs it stored); a second one kills fleetctl.
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs fleetctl with args and returns its exit code; errors are
// printed to stderr as one line.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	err := app.RunContext(ctx, args)
	if err == nil {
		return exitOK
	}
	code, msg := classify(err)
	fmt.Fprintf(stderr, "fleetctl: %s\n", msg)
	return code
}

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:      "fleetctl",
		Usage:     "operate a Shingle fleet through its fleetd servers",
		Writer:    stdout,
		ErrWriter: stderr,
		Description: `fleetctl talks to the fleetd servers over mutual TLS. Give it the address
of one or more servers (it tries them in order until one answers) and a
certificate signed by the cluster CA with role operator, by flag or by
environment variable:

   SHINGLE_FLEET_ADDR  host:port[,host:port...] of fleetd servers' API
   SHINGLE_CA          PEM file of the cluster CA certificate
   SHINGLE_CERT        PEM file of your certificate
   SHINGLE_KEY         PEM file of your private key

The development cluster (go run ./tools/devcluster) writes all four to
<dir>/env:  . <dir>/env && fleetctl cluster status

Reads are linearizable (answered by the leader) unless --stale is given.
Every command that prints takes --output table (default) or json.

Shell completion: source <(fleetctl completion bash), or zsh, or fish.

` + exitCodesHelp,
		EnableBashCompletion: true,
		HideHelpCommand:      true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", EnvVars: []string{"SHINGLE_FLEET_ADDR"}, Value: "127.0.0.1:7300",
				Usage: "API host:port of one or more fleetd servers, comma-separated; tried in order until one answers"},
			&cli.StringFlag{Name: "ca", EnvVars: []string{"SHINGLE_CA"}, Usage: "PEM file of the cluster CA certificate"},
			&cli.StringFlag{Name: "cert", EnvVars: []string{"SHINGLE_CERT"}, Usage: "PEM file of your certificate (role operator)"},
			&cli.StringFlag{Name: "key", EnvVars: []string{"SHINGLE_KEY"}, Usage: "PEM file of your private key"},
			&cli.DurationFlag{Name: "timeout", EnvVars: []string{"SHINGLE_TIMEOUT"}, Value: 10 * time.Second,
				Usage: "how long to wait for each server's answer"},
		},
		Commands: []*cli.Command{
			clusterCommand(), rackCommand(), hostCommand(), driveCommand(), volumeCommand(), repairCommand(), durabilityCommand(), firmwareCommand(), tokenCommand(), certCommand(),
			completionCommand(),
		},
		// fleetctl decides exit codes itself (see run), so urfave must not
		// exit on its own.
		ExitErrHandler: func(*cli.Context, error) {},
	}
	app.Commands = append(blobCommands(), app.Commands...)
	app.OnUsageError = usageError
	app.Action = unknownCommand
	for _, c := range app.Commands {
		prepare(c)
	}
	return app
}

// prepare makes every command report flag errors and unknown subcommands
// as usage errors (exit code 2).
func prepare(c *cli.Command) {
	c.OnUsageError = usageError
	if len(c.Subcommands) > 0 && c.Action == nil {
		c.Action = unknownCommand
	}
	for _, s := range c.Subcommands {
		prepare(s)
	}
}

// usageError turns urfave's flag-parsing errors into exit code 2.
func usageError(_ *cli.Context, err error, _ bool) error {
	return usageErrorf("%v; see --help", err)
}

// unknownCommand is the action of fleetctl and of commands that only
// group subcommands: without an argument it shows help, with one it is a
// usage error.
func unknownCommand(c *cli.Context) error {
	if c.Args().Present() {
		return usageErrorf("unknown command %q; see %s --help", c.Args().First(), c.Command.HelpName)
	}
	if err := cli.ShowSubcommandHelp(c); err != nil {
		return err
	}
	if c.Command.Name == "" {
		return nil
	}
	return usageErrorf("%s needs a subcommand", c.Command.HelpName)
}

// outputFlag is --output, taken by every command that prints a result.
func outputFlag() cli.Flag {
	return &cli.StringFlag{Name: "output", Aliases: []string{"o"}, EnvVars: []string{"SHINGLE_OUTPUT"}, Value: "table",
		Usage: "table (for people) or json (for scripts; field names as in api/fleet/v1)"}
}

// readFlags are the flags of every read: --output and --stale.
func readFlags() []cli.Flag {
	return []cli.Flag{outputFlag(), &cli.BoolFlag{Name: "stale",
		Usage: "answer from the contacted server's copy, without asking the leader (faster, works without a leader, may lag, lacks heartbeat data)"}}
}

// setup connects to the fleet and prepares the output.
func setup(c *cli.Context) (*fleet, *printer, error) {
	p, err := newPrinter(c)
	if err != nil {
		return nil, nil, err
	}
	f, err := dial(c)
	if err != nil {
		return nil, nil, err
	}
	return f, p, nil
}

// oneArg returns the command's single positional argument.
func oneArg(c *cli.Context, name string) (string, error) {
	if c.NArg() != 1 {
		// Flags after the argument are not parsed; say so, since that is
		// the usual way to get here.
		return "", usageErrorf("%s takes exactly one argument, %s, after any flags (e.g. %s --output json %s)", c.Command.HelpName, name, c.Command.HelpName, name)
	}
	return c.Args().First(), nil
}

// requiredFlagError reports whether err is urfave's complaint about a
// missing required flag, which is a usage error.
func requiredFlagError(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "Required flag")
}
