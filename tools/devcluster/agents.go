package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/api/fleet/v1/fleetv1connect"
)

// devZoneSize is the zone size of the emulated drives: small, so that a
// small drive still holds a few extents (the agent needs at least 8 MiB).
const devZoneSize = 16 << 20

// agentPortOffset puts agent N's API on base+200+N.
const agentPortOffset = 200

// agentStopGrace is how long an agent gets to drain its requests when
// stopped; stopGrace must exceed it.
const agentStopGrace = 5 * time.Second

// agent is one storage host's agent. The first run that sees a host
// chooses its port and drives; later runs start it the same way, so it
// comes back on the same address with the same drives, even if the
// topology flags change.
type agent struct {
	Host   string `json:"host"`
	Rack   string `json:"rack"`
	Addr   string `json:"addr"`
	Drives int    `json:"drives"`
	// DriveBytes is the size each drive was made with.
	DriveBytes uint64 `json:"drive_bytes"`
}

// newID returns a random UUID (version 4), the form the agent wants for
// --cluster.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// addAgents records an agent for every host of the topology that has none
// yet, on the next free port after the fleetd servers' base.
func (cfg *config) addAgents(topo topology) error {
	if cfg.ClusterID == "" {
		cfg.ClusterID = newID()
	}
	have := map[string]bool{}
	for _, a := range cfg.Agents {
		have[a.Host] = true
	}
	_, port, err := net.SplitHostPort(cfg.Nodes[0].API)
	if err != nil {
		return fmt.Errorf("cluster.json: fleet-1's api address %q: %v; remove the directory to start a new cluster", cfg.Nodes[0].API, err)
	}
	first, err := strconv.Atoi(port)
	if err != nil {
		return fmt.Errorf("cluster.json: fleet-1's api port %q: %v; remove the directory to start a new cluster", port, err)
	}
	base := first - 1
	for _, rh := range topo.hosts() {
		if have[rh[1]] {
			continue
		}
		cfg.Agents = append(cfg.Agents, agent{
			Host: rh[1], Rack: rh[0],
			Addr:   fmt.Sprintf("127.0.0.1:%d", base+agentPortOffset+len(cfg.Agents)+1),
			Drives: topo.DrivesPerHost, DriveBytes: topo.DriveBytes,
		})
	}
	return nil
}

// checkDriveSize refuses a drive size the agent would refuse.
func checkDriveSize(flag string, size uint64) error {
	if size < devZoneSize || size%devZoneSize != 0 {
		return fmt.Errorf("--drive-size %s: emulated drives have %d MiB zones, so give a whole number of them, such as 256MiB or 1GiB", flag, devZoneSize>>20)
	}
	return nil
}

// startAgents starts one agent per recorded host, each registering
// through one of the fleetd servers in turn.
func (cl *cluster) startAgents(token string) error {
	for i, a := range cl.cfg.Agents {
		if err := os.MkdirAll(cl.dir.hostDir(a.Host), 0o755); err != nil {
			return err
		}
		f, ok := cl.certs[a.Host]
		if !ok {
			return fmt.Errorf("no certificate for host %s in %s; remove the directory to start a new cluster", a.Host, cl.dir.pkiDir())
		}
		args := []string{
			"--addr", a.Addr, "--ca", f.CA, "--cert", f.Cert, "--key", f.Key,
			"--cluster", cl.cfg.ClusterID,
			"--dev-drives", cl.dir.drivesDir(a.Host), "--dev-drive-count", strconv.Itoa(a.Drives),
			"--dev-drive-size", strconv.FormatUint(a.DriveBytes, 10), "--dev-zone-size", strconv.Itoa(devZoneSize),
			"--fleet-addr", cl.cfg.Nodes[i%len(cl.cfg.Nodes)].API, "--join-token", token,
			"--host-id", a.Host, "--rack", a.Rack, "--shutdown-timeout", agentStopGrace.String(),
			// Check health often, so a failed drive shows within seconds.
			"--health-interval", "5s",
		}
		p, err := start("agent of "+a.Host, cl.dir.agentLog(a.Host), cl.dir.bin("agent"), args, cl.exited)
		if err != nil {
			return err
		}
		cl.mu.Lock()
		cl.agents = append(cl.agents, p)
		cl.mu.Unlock()
	}
	return nil
}

// waitAgents waits until every agent's host is reachable and all its
// drives are registered.
func (cl *cluster) waitAgents(ctx context.Context, fleet fleetv1connect.FleetServiceClient) error {
	var last string
	for {
		missing, err := cl.agentsMissing(ctx, fleet)
		switch {
		case err != nil:
			last = err.Error()
		case len(missing) == 0:
			return nil
		default:
			last = "still waiting for " + strings.Join(missing, ", ")
		}
		cl.mu.Lock()
		procs := cl.agents
		cl.mu.Unlock()
		for _, p := range procs {
			select {
			case <-p.done:
				return fmt.Errorf("the %s exited during start-up; see %s", p.name, p.log)
			default:
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the agents did not register within %v (%s); see %s/<host>/agent.log", startTimeout, last, cl.dir)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// agentsMissing lists the hosts that are not reachable yet or lack
// registered drives.
func (cl *cluster) agentsMissing(ctx context.Context, fleet fleetv1connect.FleetServiceClient) ([]string, error) {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	hosts, err := fleet.ListHosts(cctx, connect.NewRequest(&fleetv1.ListHostsRequest{}))
	if err != nil {
		return nil, err
	}
	drives, err := fleet.ListDrives(cctx, connect.NewRequest(&fleetv1.ListDrivesRequest{}))
	if err != nil {
		return nil, err
	}
	reachable := map[string]bool{}
	for _, h := range hosts.Msg.GetHosts() {
		reachable[h.GetId()] = h.GetLiveness().GetReachability() == "reachable"
	}
	count := map[string]int{}
	for _, d := range drives.Msg.GetDrives() {
		count[d.GetHost()]++
	}
	var missing []string
	for _, a := range cl.cfg.Agents {
		if !reachable[a.Host] || count[a.Host] < a.Drives {
			missing = append(missing, a.Host)
		}
	}
	return missing, nil
}
