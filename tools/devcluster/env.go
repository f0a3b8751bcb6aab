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
	fmt.Fprintf(w, "\nShingle development cluster is up: %d fleetd servers, %d racks of %d hosts (agents not running yet).\n",
		len(cl.cfg.Nodes), t.Racks, t.HostsPerRack)
	fmt.Fprintf(w, "  directory:  %s\n", cl.dir)
	for _, n := range cl.cfg.Nodes {
		fmt.Fprintf(w, "  %s:    api %s, raft %s, log %s\n", n.ID, n.API, n.Raft, cl.dir.nodeLog(n.ID))
	}
	fmt.Fprintf(w, "  leader:     %s\n", cl.leader)
	fmt.Fprintf(w, "  join token: %s (for agents)\n", cl.dir.joinTokenFile())
	fmt.Fprintf(w, "\nIn another shell:\n")
	for _, line := range []string{
		". " + shellQuote(cl.dir.envFile()),
		"fleetctl cluster status",
		"fleetctl cluster members",
		"fleetctl rack list",
		"fleetctl host list --rack rack-1",
		"fleetctl rack show --output json rack-2",
		"fleetctl token create --rack rack-1 --ttl 30m",
		"fleetctl cluster transfer-leader",
		"fleetctl cluster snapshot save /tmp/fleet.snap",
		"curl -s --cacert \"$SHINGLE_CA\" --cert \"$SHINGLE_CERT\" --key \"$SHINGLE_KEY\" https://" + cl.cfg.Nodes[0].API + "/metrics | grep '^shingle_fleetd'",
	} {
		fmt.Fprintf(w, "  %s\n", line)
	}
	fmt.Fprintf(w, "\nCtrl-C stops the cluster; run devcluster --dir %s again to bring it back.\nready\n", shellQuote(string(cl.dir)))
}
