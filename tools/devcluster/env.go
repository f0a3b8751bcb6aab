package main

import (
	"fmt"
	"os"
	"strings"
)

// writeEnv writes <dir>/env: sourcing it puts the cluster's fleetctl on
// PATH and points it at the cluster with the operator's certificate.
func (cl *cluster) writeEnv() error {
	var addrs []string
	for _, n := range cl.cfg.Nodes {
		addrs = append(addrs, n.API)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Environment for the Shingle development cluster in %s.\n", cl.dir)
	fmt.Fprintf(&b, "# Source it:  . %s\n", shellQuote(cl.dir.envFile()))
	fmt.Fprintf(&b, "export PATH=%s:\"$PATH\"\n", shellQuote(cl.dir.path("bin")))
	fmt.Fprintf(&b, "export SHINGLE_FLEET_ADDR=%s\n", shellQuote(strings.Join(addrs, ",")))
	fmt.Fprintf(&b, "export SHINGLE_CA=%s\n", shellQuote(cl.operator.CA))
	fmt.Fprintf(&b, "export SHINGLE_CERT=%s\n", shellQuote(cl.operator.Cert))
	fmt.Fprintf(&b, "export SHINGLE_KEY=%s\n", shellQuote(cl.operator.Key))
	return os.WriteFile(cl.dir.envFile(), []byte(b.String()), 0o644)
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// greet prints where everything is and what to try.
func (cl *cluster) greet() {
	t := cl.cfg.Topology
	w := cl.out
	agents := "agents not started (--agents=false)"
	if cl.withAgents {
		drives := 0
		for _, a := range cl.cfg.Agents {
			drives += a.Drives
		}
		agents = fmt.Sprintf("%d agents with %d drives", len(cl.cfg.Agents), drives)
	}
	fmt.Fprintf(w, "\nShingle development cluster is up: %d fleetd servers, %d racks of %d hosts, %s.\n",
		len(cl.cfg.Nodes), t.Racks, t.HostsPerRack, agents)
	fmt.Fprintf(w, "  directory:  %s\n", cl.dir)
	for _, n := range cl.cfg.Nodes {
		fmt.Fprintf(w, "  %s:    api %s, raft %s, log %s\n", n.ID, n.API, n.Raft, cl.dir.nodeLog(n.ID))
	}
	fmt.Fprintf(w, "  leader:     %s\n", cl.leader)
	fmt.Fprintf(w, "  join token: %s (for agents)\n", cl.dir.joinTokenFile())
	if cl.withAgents {
		for _, a := range cl.cfg.Agents {
			fmt.Fprintf(w, "  %s: agent %s, %d x %s drives in %s, log %s\n", a.Host, a.Addr, a.Drives, sizeString(a.DriveBytes),
				cl.dir.drivesDir(a.Host), cl.dir.agentLog(a.Host))
		}
	}
	fmt.Fprintf(w, "\nIn another shell:\n")
	lines := []string{
		". " + shellQuote(cl.dir.envFile()),
		"fleetctl cluster status",
		"fleetctl cluster members",
		"fleetctl rack list",
		"fleetctl host list --rack rack-1",
		"fleetctl drive list",
		"fleetctl rack show --output json rack-2",
		"fleetctl token create --rack rack-1 --ttl 30m",
		"fleetctl cluster transfer-leader",
		"fleetctl cluster snapshot save /tmp/fleet.snap",
		"curl -s --cacert \"$SHINGLE_CA\" --cert \"$SHINGLE_CERT\" --key \"$SHINGLE_KEY\" https://" + cl.cfg.Nodes[0].API + "/metrics | grep '^shingle_fleetd'",
	}
	if cl.withAgents && len(cl.cfg.Agents) > 0 {
		lines = append(lines,
			"fleetctl put /etc/services        # prints a locator; fleetctl get <locator> reads it back",
			"fleetctl volume list              # volumes seal after --volume-max-age, then get erasure coded",
			"fleetctl repair status",
			"fleetctl durability",
			"go run ./tools/devcluster --dir "+shellQuote(string(cl.dir))+" fail-drive <drive>   # then watch fleetctl repair status")
		lines = append(lines, "curl -s --cacert \"$SHINGLE_CA\" --cert \"$SHINGLE_CERT\" --key \"$SHINGLE_KEY\" -H 'Content-Type: application/json' -d '{}' https://"+
			cl.cfg.Agents[0].Addr+"/shingle.agent.v1.ExtentService/ListDrives")
	}
	for _, line := range lines {
		fmt.Fprintf(w, "  %s\n", line)
	}
	fmt.Fprintf(w, "\nCtrl-C stops the agents and the cluster; run devcluster --dir %s again to bring it back.\nready\n", shellQuote(string(cl.dir)))
}

// sizeString writes a byte count in the largest binary unit that divides
// it.
func sizeString(n uint64) string {
	for _, u := range []struct {
		name string
		mult uint64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.mult && n%u.mult == 0 {
			return fmt.Sprintf("%d%s", n/u.mult, u.name)
		}
	}
	return fmt.Sprintf("%dB", n)
}
