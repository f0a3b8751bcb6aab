package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/fleetd/pki"
	"golang.org/x/sys/unix"
)

// A netLab is a small network made of Linux network namespaces that the
// test creates and deletes itself, so that it can cut a server off from
// the others the way a failed switch port would:
//
//   - one namespace per server, holding the server's bridge address
//     10.77.0.1N/24 (its API and Raft addresses) on eth0;
//   - a switch namespace holding the bridge that connects every server's
//     eth0 through a veth pair, one bridge port pN per server;
//   - a client namespace the test's own connections are made from, with a
//     point-to-point veth link to each server (10.78.N.1 at the client's
//     end, 10.78.N.2 at the server's) and a host route to 10.77.0.1N over
//     it.
//
// Cutting server N takes its bridge port down: the server's packets to the
// other servers (and theirs to it) are dropped, silently, while the test
// can still reach its API over the client link and see what it answers.
// Nothing is added to the machine's own network namespace, so runs at the
// same time do not collide, and every address is the same in every run.
type netLab struct {
	t      *testing.T
	sw     string // the switch namespace
	client string // the namespace the test dials from
	nodes  []labNode
	made   []string // namespaces created, for cleanup
}

// labNode is one server's place in the lab.
type labNode struct {
	ns   string // its namespace
	ip   string // its address on the bridge
	port string // its bridge port in the switch namespace
}

// labName matches the namespaces netLabs make: shingle-<pid>-<rand>-<role>.
var labName = regexp.MustCompile(`^shingle-(\d+)-[0-9a-f]{4}-`)

// requireNetns fails the test, saying what it needs, unless it can create
// network namespaces: it must run as root and have iproute2's ip.
func requireNetns(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatalf("%s creates Linux network namespaces and must run as root (CAP_SYS_ADMIN and CAP_NET_ADMIN), e.g. sudo -E go test -run %s ./fleetd/", t.Name(), t.Name())
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatalf("%s creates Linux network namespaces with the ip command of iproute2, which is not on PATH (apt-get install iproute2): %v", t.Name(), err)
	}
}

// newNetLab creates the namespaces and links for n servers; they are
// deleted when the test ends, whatever happens to it.
func newNetLab(t *testing.T, n int) *netLab {
	t.Helper()
	requireNetns(t)
	sweepLabs(t)
	prefix := fmt.Sprintf("shingle-%d-%04x-", os.Getpid(), rand.Uint32()&0xffff)
	l := &netLab{t: t, sw: prefix + "sw", client: prefix + "c"}
	t.Cleanup(l.cleanup)
	l.addNetns(l.sw)
	l.addNetns(l.client)
	l.ip("-n", l.sw, "link", "add", "br0", "type", "bridge")
	l.ip("-n", l.sw, "link", "set", "br0", "up")
	for i := 1; i <= n; i++ {
		node := labNode{ns: fmt.Sprintf("%sn%d", prefix, i), ip: fmt.Sprintf("10.77.0.%d", 10+i), port: fmt.Sprintf("p%d", i)}
		l.addNetns(node.ns)
		l.ip("-n", node.ns, "link", "set", "lo", "up")
		// The server's link to the bridge.
		l.ip("-n", l.sw, "link", "add", node.port, "type", "veth", "peer", "name", "eth0", "netns", node.ns)
		l.ip("-n", l.sw, "link", "set", node.port, "master", "br0")
		l.ip("-n", l.sw, "link", "set", node.port, "up")
		l.ip("-n", node.ns, "addr", "add", node.ip+"/24", "dev", "eth0")
		l.ip("-n", node.ns, "link", "set", "eth0", "up")
		// The test's link to the server.
		cl := fmt.Sprintf("c%d", i)
		l.ip("-n", l.client, "link", "add", cl, "type", "veth", "peer", "name", "cl", "netns", node.ns)
		l.ip("-n", l.client, "addr", "add", fmt.Sprintf("10.78.%d.1/30", i), "dev", cl)
		l.ip("-n", l.client, "link", "set", cl, "up")
		l.ip("-n", node.ns, "addr", "add", fmt.Sprintf("10.78.%d.2/30", i), "dev", "cl")
		l.ip("-n", node.ns, "link", "set", "cl", "up")
		l.ip("-n", l.client, "route", "add", node.ip+"/32", "via", fmt.Sprintf("10.78.%d.2", i))
		l.nodes = append(l.nodes, node)
	}
	return l
}

// sweepLabs deletes the namespaces of earlier runs whose test process is
// gone (killed before its cleanup ran). Those of running processes, other
// people's tests included, are left alone.
func sweepLabs(t *testing.T) {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		m := labName.FindStringSubmatch(fields[0])
		if m == nil {
			continue
		}
		pid, err := strconv.Atoi(m[1])
		if err != nil || pid == os.Getpid() || syscall.Kill(pid, 0) != syscall.ESRCH {
			continue
		}
		if out, err := exec.Command("ip", "netns", "del", fields[0]).CombinedOutput(); err != nil {
			t.Logf("removing the stale namespace %s: %v: %s", fields[0], err, out)
		}
	}
}

// ip runs the ip command and fails the test if it fails.
func (l *netLab) ip(args ...string) {
	l.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
}

// addNetns creates a namespace and remembers it for cleanup.
func (l *netLab) addNetns(name string) {
	l.t.Helper()
	l.ip("netns", "add", name)
	l.made = append(l.made, name)
}

// cleanup deletes every namespace made, which deletes the links in them
// (a veth pair goes when either end does). Servers still running in them
// have been killed by then: the fleet's cleanup runs first.
func (l *netLab) cleanup() {
	for i := len(l.made) - 1; i >= 0; i-- {
		if out, err := exec.Command("ip", "netns", "del", l.made[i]).CombinedOutput(); err != nil {
			l.t.Errorf("deleting network namespace %s: %v: %s", l.made[i], err, out)
		}
	}
}

// cut partitions server i (0-based) away from the others by taking its
// bridge port down; the test's link to it stays up.
func (l *netLab) cut(i int) {
	l.t.Helper()
	l.ip("-n", l.sw, "link", "set", l.nodes[i].port, "down")
}

// heal undoes cut.
func (l *netLab) heal(i int) {
	l.t.Helper()
	l.ip("-n", l.sw, "link", "set", l.nodes[i].port, "up")
}

// indexOf returns the lab index of server p.
func (l *netLab) indexOf(p *proc) int {
	for i, n := range l.nodes {
		if n.ns == p.netns {
			return i
		}
	}
	l.t.Fatalf("%s is not in the lab", p.id)
	return -1
}

// dial opens a connection from inside the client namespace. The socket is
// made on an OS thread that has entered the namespace; a socket stays in
// the namespace it was made in. That thread is never handed back to the
// Go scheduler: its goroutine ends while locked to it, so the runtime
// discards it and no other goroutine ever runs in the namespace.
func (l *netLab) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	type result struct {
		conn net.Conn
		err  error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open("/run/netns/"+l.client, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			done <- result{err: fmt.Errorf("open the client namespace: %w", err)}
			return
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		if err != nil {
			done <- result{err: fmt.Errorf("enter the client namespace: %w", err)}
			return
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		done <- result{c, err}
	}()
	r := <-done
	return r.conn, r.err
}

// httpClient is an HTTP/2 client presenting files' certificate whose
// connections start in the client namespace.
func (l *netLab) httpClient(files pki.Files) *http.Client {
	l.t.Helper()
	conf, err := pki.ClientConfig(files)
	if err != nil {
		l.t.Fatal(err)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: conf, ForceAttemptHTTP2: true, DialContext: l.dial}}
}

// labFleet starts a bootstrapped cluster with one server in each of the
// lab's server namespaces, listening on its bridge address, and waits
// until every member is recorded. The operator's client reaches them
// from the client namespace.
func labFleet(t *testing.T, l *netLab, extra ...string) *fleet {
	t.Helper()
	f := newFleet(t, extra...)
	f.client = l.httpClient(f.operator)
	var first *proc
	for i, n := range l.nodes {
		p := &proc{id: fmt.Sprintf("n%d", i+1), api: n.ip + ":7300", raft: n.ip + ":7301", netns: n.ns, hosts: []string{n.ip}}
		if first == nil {
			first = f.addProc(p, "--bootstrap")
		} else {
			f.addProc(p, "--join", first.api)
		}
	}
	f.waitMembers(len(l.nodes))
	return f
}

// status asks server p for its Raft status.
func (f *fleet) status(p *proc, d time.Duration) (*fleetv1.GetStatusResponse, error) {
	c, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	res, err := f.cluster(p).GetStatus(c, connect.NewRequest(&fleetv1.GetStatusRequest{}))
	if err != nil {
		return nil, err
	}
	return res.Msg, nil
}

// isNoLeader reports whether err is fleetd's "no leader can be reached"
// answer.
func isNoLeader(err error) bool {
	var ce *connect.Error
	return errors.As(err, &ce) && ce.Code() == connect.CodeUnavailable && ce.Meta().Get(fleetv1.MetaNoLeader) != ""
}
