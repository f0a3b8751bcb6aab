package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/api/fleet/v1/fleetv1connect"
	"github.com/shingle-storage/shingle/fleetd/pki"
	"google.golang.org/protobuf/types/known/durationpb"
)

// cluster is one development cluster being run.
type cluster struct {
	dir layout
	out io.Writer
	cfg config
	// operator is the certificate fleetctl (and devcluster) use.
	operator pki.Files
	certs    map[string]pki.Files
	// withAgents is whether to run the storage hosts' agents.
	withAgents bool
	// durability is what fleetd is told about volumes and repairs.
	durability durability

	mu     sync.Mutex
	procs  []*process // fleetd servers
	agents []*process
	leader string
}

// prepare loads or chooses the cluster's configuration, builds the
// binaries and makes the certificates.
func (cl *cluster) prepare(basePort int, topo topology) error {
	if err := os.MkdirAll(string(cl.dir), 0o755); err != nil {
		return err
	}
	cfg, existing, err := cl.dir.loadConfig()
	if err != nil {
		return err
	}
	if !existing {
		for i := 1; i <= 3; i++ {
			cfg.Nodes = append(cfg.Nodes, node{
				ID:   fmt.Sprintf("fleet-%d", i),
				API:  fmt.Sprintf("127.0.0.1:%d", basePort+i),
				Raft: fmt.Sprintf("127.0.0.1:%d", basePort+100+i),
			})
		}
	}
	cfg.Topology = topo
	if cl.withAgents {
		if err := cfg.addAgents(topo); err != nil {
			return err
		}
	}
	cl.cfg = cfg
	if err := cl.dir.saveConfig(cfg); err != nil {
		return err
	}
	if err := cl.build(); err != nil {
		return err
	}
	return cl.makeCerts()
}

// build compiles fleetd, fleetctl and agent from the checkout devcluster
// runs in into <dir>/bin.
func (cl *cluster) build() error {
	root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return fmt.Errorf("find the Shingle checkout (run devcluster from inside it, with go on PATH): %w", err)
	}
	fmt.Fprintf(cl.out, "building fleetd, fleetctl and agent into %s\n", cl.dir.path("bin"))
	// -o with a directory names each binary after its package, so the
	// agent lands in bin/agent rather than clashing with the agent/
	// directory of the checkout.
	cmd := exec.Command("go", "build", "-o", cl.dir.path("bin")+string(filepath.Separator),
		"github.com/shingle-storage/shingle/fleetd", "github.com/shingle-storage/shingle/tools/fleetctl",
		"github.com/shingle-storage/shingle/agent")
	cmd.Dir = strings.TrimSpace(string(root))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build fleetd, fleetctl and agent (the compiler's errors are above): %w", err)
	}
	return nil
}

// makeCerts makes (or keeps) the CA, a certificate per fleetd server, one
// for the operator, and one per host for its agent.
func (cl *cluster) makeCerts() error {
	d := pki.Dir(cl.dir.pkiDir())
	ca, err := d.EnsureCA()
	if err != nil {
		return err
	}
	cl.certs = map[string]pki.Files{}
	for _, n := range cl.cfg.Nodes {
		if cl.certs[n.ID], err = d.Ensure(ca, pki.Request{Name: n.ID, Role: pki.RoleNode}); err != nil {
			return err
		}
	}
	hosts := map[string]bool{}
	for _, rh := range cl.cfg.Topology.hosts() {
		hosts[rh[1]] = true
	}
	for _, a := range cl.cfg.Agents {
		hosts[a.Host] = true
	}
	for h := range hosts {
		if cl.certs[h], err = d.Ensure(ca, pki.Request{Name: h, Role: pki.RoleAgent}); err != nil {
			return err
		}
	}
	cl.operator, err = d.Ensure(ca, pki.Request{Name: "operator", Role: pki.RoleOperator})
	return err
}

// up starts the servers, waits for a leader and for every member to be
// recorded, registers the topology, writes the env file, and starts the
// agents and waits for them to register.
func (cl *cluster) up(ctx context.Context) error {
	first := cl.cfg.Nodes[0]
	for _, n := range cl.cfg.Nodes {
		if err := os.MkdirAll(cl.dir.nodeDir(n.ID), 0o755); err != nil {
			return err
		}
		f := cl.certs[n.ID]
		args := []string{
			"--id", n.ID, "--dir", cl.dir.nodeDir(n.ID), "--api-addr", n.API, "--raft-addr", n.Raft,
			"--ca", f.CA, "--cert", f.Cert, "--key", f.Key, "--raft-timing", "loopback",
		}
		args = append(args, cl.fleetdArgs(cl.durability)...)
		// Both are ignored by a server with Raft state, so a second run
		// restarts the same cluster.
		if n.ID == first.ID {
			args = append(args, "--bootstrap")
		} else {
			args = append(args, "--join", first.API)
		}
		p, err := start(n.ID, cl.dir.nodeLog(n.ID), cl.dir.bin("fleetd"), args, cl.exited)
		if err != nil {
			return err
		}
		cl.mu.Lock()
		cl.procs = append(cl.procs, p)
		cl.mu.Unlock()
	}
	client, err := cl.client()
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	if err := cl.waitReady(wctx, client); err != nil {
		return err
	}
	fleet := fleetv1connect.NewFleetServiceClient(client, "https://"+first.API)
	if err := cl.cfg.Topology.register(wctx, fleet); err != nil {
		return err
	}
	tokens := fleetv1connect.NewTokenServiceClient(client, "https://"+first.API)
	tok, err := tokens.CreateToken(wctx, connect.NewRequest(&fleetv1.CreateTokenRequest{Ttl: durationpb.New(24 * time.Hour)}))
	if err != nil {
		return fmt.Errorf("create the agents' join token: %w", err)
	}
	if err := os.WriteFile(cl.dir.joinTokenFile(), []byte(tok.Msg.GetToken()+"\n"), 0o600); err != nil {
		return err
	}
	if err := cl.writeEnv(); err != nil {
		return err
	}
	if !cl.withAgents || len(cl.cfg.Agents) == 0 {
		return nil
	}
	if err := cl.startAgents(tok.Msg.GetToken()); err != nil {
		return err
	}
	if err := cl.waitAgents(wctx, fleet); err != nil {
		return err
	}
	return putInService(wctx, fleet)
}

// client is an HTTP client with the operator's certificate.
func (cl *cluster) client() (*http.Client, error) {
	tlsConf, err := pki.ClientConfig(cl.operator)
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConf, ForceAttemptHTTP2: true}}, nil
}

// waitReady waits until the leader lists every server as a member with its
// API address recorded, so that a write through any server works.
func (cl *cluster) waitReady(ctx context.Context, client *http.Client) error {
	var last error
	for {
		for _, n := range cl.cfg.Nodes {
			c := fleetv1connect.NewClusterServiceClient(client, "https://"+n.API)
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			res, err := c.ListMembers(cctx, connect.NewRequest(&fleetv1.ListMembersRequest{}))
			cancel()
			if err != nil {
				last = err
				continue
			}
			ready := len(res.Msg.GetMembers()) == len(cl.cfg.Nodes)
			for _, m := range res.Msg.GetMembers() {
				ready = ready && m.GetApiAddress() != ""
				if m.GetLeader() {
					cl.leader = m.GetId()
				}
			}
			if ready {
				return nil
			}
			last = fmt.Errorf("%d of %d members ready", len(res.Msg.GetMembers()), len(cl.cfg.Nodes))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the cluster did not come up within %v (%v); see the logs in %s/fleet-*/fleetd.log", startTimeout, last, cl.dir)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// exited reports a server that stopped on its own.
func (cl *cluster) exited(p *process, err error) {
	fmt.Fprintf(os.Stderr, "\n%s exited unexpectedly (%v); the last lines of %s:\n%s\n", p.name, err, p.log, p.tail(2000))
}

// down stops every agent, then every server (so that the agents' last
// calls find fleetd up), each group all at once, and reports any process
// that failed to stop cleanly.
func (cl *cluster) down() error {
	cl.mu.Lock()
	agents, procs := cl.agents, cl.procs
	cl.agents, cl.procs = nil, nil
	cl.mu.Unlock()
	return errors.Join(stopAll(agents), stopAll(procs))
}

// stopAll stops procs at once and waits for them all.
func stopAll(procs []*process) error {
	errs := make([]error, len(procs))
	var wg sync.WaitGroup
	for i, p := range procs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = p.stop(stopGrace) }()
	}
	wg.Wait()
	return errors.Join(errs...)
}
