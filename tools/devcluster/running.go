package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/api/fleet/v1/fleetv1connect"
	"github.com/shingle-storage/shingle/fleetd/pki"
	"github.com/urfave/cli/v2"
)

// runningCluster is a development cluster that a devcluster process runs,
// as devcluster's commands see it from another process: through the files
// in its directory and the fleet API.
type runningCluster struct {
	dir layout
	cfg config
	out io.Writer
}

// mainFiles record the devcluster process that runs the cluster in the
// directory.
func (l layout) mainFiles() procFiles { return procFilesAt(l.path("devcluster")) }

// agentFiles record the agent of host.
func (l layout) agentFiles(host string) procFiles { return procFilesOf(l.agentLog(host)) }

// nodeFiles record fleetd server id.
func (l layout) nodeFiles(id string) procFiles { return procFilesOf(l.nodeLog(id)) }

// dirOf is the --dir a command was given, after its name or before it
// (devcluster --dir D kill-host H), else the default.
func dirOf(c *cli.Context) string {
	for _, x := range c.Lineage() {
		if x.IsSet("dir") {
			return x.String("dir")
		}
	}
	return c.String("dir")
}

// openRunning finds the cluster in the command's --dir and checks that a
// devcluster process runs it.
func openRunning(c *cli.Context) (*runningCluster, error) {
	dir, err := filepath.Abs(dirOf(c))
	if err != nil {
		return nil, err
	}
	l := layout(dir)
	cfg, ok, err := l.loadConfig()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("there is no development cluster in %s: start one with go run ./tools/devcluster --dir %s, or give the --dir one runs in", dir, shellQuote(dir))
	}
	if _, ok := l.mainFiles().running(); !ok {
		return nil, fmt.Errorf("the development cluster in %s is not running: start it with go run ./tools/devcluster --dir %s", dir, shellQuote(dir))
	}
	return &runningCluster{dir: l, cfg: cfg, out: c.App.Writer}, nil
}

// self is the command line that runs devcluster on this cluster, for
// the hints the commands print.
func (r *runningCluster) self() string {
	return "go run ./tools/devcluster --dir " + shellQuote(string(r.dir))
}

// agent returns the recorded agent of host.
func (r *runningCluster) agent(host string) (agent, error) {
	var hosts []string
	for _, a := range r.cfg.Agents {
		if a.Host == host {
			return a, nil
		}
		hosts = append(hosts, a.Host)
	}
	if len(hosts) == 0 {
		return agent{}, fmt.Errorf("the cluster in %s has never run an agent (it runs with --agents=false), so it has no host %q to act on", r.dir, host)
	}
	return agent{}, fmt.Errorf("the cluster in %s has no host %q; its hosts are %s", r.dir, host, strings.Join(hosts, ", "))
}

// agentRunning returns the process id of host's agent, if it runs.
func (r *runningCluster) agentRunning(host string) (int, bool) {
	return r.dir.agentFiles(host).running()
}

// fleetDrives lists the fleet's drives, asking each fleetd server in turn
// (any of them answers for the leader).
func (r *runningCluster) fleetDrives(ctx context.Context) ([]*fleetv1.Drive, error) {
	tlsConf, err := pki.ClientConfig(pki.Dir(r.dir.pkiDir()).Files("operator"))
	if err != nil {
		return nil, fmt.Errorf("the operator's certificate in %s: %w; run devcluster --dir %s again to remake it", r.dir.pkiDir(), err, shellQuote(string(r.dir)))
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConf, ForceAttemptHTTP2: true}, Timeout: 5 * time.Second}
	var errs []error
	for _, n := range r.cfg.Nodes {
		fleet := fleetv1connect.NewFleetServiceClient(hc, "https://"+n.API)
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		res, err := fleet.ListDrives(cctx, connect.NewRequest(&fleetv1.ListDrivesRequest{}))
		cancel()
		if err == nil {
			return res.Msg.GetDrives(), nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", n.ID, err))
	}
	return nil, fmt.Errorf("no fleetd server of the cluster in %s answers (%w); see %s/fleet-*/fleetd.log", r.dir, errors.Join(errs...), r.dir)
}

// checkNotRunning refuses to start a cluster in dir while a devcluster
// process runs it, or while a process it started is left running (its
// devcluster was killed): a second set of servers and agents would fight
// the first for their ports and files.
func checkNotRunning(dir layout) error {
	if pid, ok := dir.mainFiles().running(); ok {
		return fmt.Errorf("devcluster already runs the cluster in %s (pid %d); stop it with Ctrl-C in its terminal, or kill %d", dir, pid, pid)
	}
	cfg, ok, err := dir.loadConfig()
	if err != nil || !ok {
		return err
	}
	type left struct {
		name  string
		files procFiles
	}
	var all []left
	for _, n := range cfg.Nodes {
		all = append(all, left{n.ID, dir.nodeFiles(n.ID)})
	}
	for _, a := range cfg.Agents {
		all = append(all, left{"the agent of " + a.Host, dir.agentFiles(a.Host)})
	}
	var names, pids []string
	for _, l := range all {
		if pid, ok := l.files.running(); ok {
			names = append(names, fmt.Sprintf("%s (pid %d)", l.name, pid))
			pids = append(pids, strconv.Itoa(pid))
		}
	}
	if len(pids) > 0 {
		return fmt.Errorf("processes of an earlier devcluster in %s still run: %s; stop them with kill %s and run devcluster again",
			dir, strings.Join(names, ", "), strings.Join(pids, " "))
	}
	return nil
}

// logOffset is the size of file, where what is logged from now on starts.
func logOffset(file string) int64 {
	st, err := os.Stat(file)
	if err != nil {
		return 0
	}
	return st.Size()
}

// readFrom reads file from offset on.
func readFrom(file string, offset int64) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, err
	}
	return io.ReadAll(f)
}

// waitLogged waits up to d for a line holding every one of parts to be
// logged to file past offset.
func waitLogged(file string, offset int64, d time.Duration, parts ...string) bool {
	for deadline := time.Now().Add(d); ; time.Sleep(100 * time.Millisecond) {
		if b, err := readFrom(file, offset); err == nil {
			for line := range strings.Lines(string(b)) {
				all := true
				for _, p := range parts {
					all = all && strings.Contains(line, p)
				}
				if all {
					return true
				}
			}
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}
