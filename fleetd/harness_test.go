package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/api/fleet/v1/fleetv1connect"
	"github.com/shingle-storage/shingle/fleetd/pki"
	"github.com/shingle-storage/shingle/internal/loopport"
)

// The tests in this package run real fleetd processes, built from this
// checkout, on loopback ports, and drive them through their API and
// through a real fleetctl. TestMain builds both binaries once.

var bins struct {
	fleetd, fleetctl string
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fleetd-test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bins.fleetd = filepath.Join(dir, "fleetd")
	bins.fleetctl = filepath.Join(dir, "fleetctl")
	for _, b := range []struct{ out, pkg string }{{bins.fleetd, "."}, {bins.fleetctl, "../tools/fleetctl"}} {
		cmd := exec.Command("go", append(append([]string{"build"}, raceFlags...), "-o", b.out, b.pkg)...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s (go must be on PATH): %v\n", b.pkg, err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// freePort returns a loopback address nothing listens on right now, one
// a restarted server can bind again (see package loopport).
func freePort(t testing.TB) string {
	t.Helper()
	addr, err := loopport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// fleet is a set of fleetd processes with their certificates.
type fleet struct {
	t        *testing.T
	dir      string
	pki      pki.Dir
	ca       *pki.CA
	operator pki.Files
	client   *http.Client // with the operator's certificate
	extra    []string     // flags every server gets

	mu    sync.Mutex
	nodes []*proc
}

// proc is one fleetd server, running or not.
type proc struct {
	id, api, raft, dir, log string
	// netns, if set, is the network namespace the server runs in (see
	// netlab_test.go), and hosts the addresses its certificate names.
	netns   string
	hosts   []string
	cmd     *exec.Cmd
	done    chan struct{}
	exitErr error
}

// newFleet prepares certificates; start servers with add.
func newFleet(t *testing.T, extra ...string) *fleet {
	t.Helper()
	dir := t.TempDir()
	f := &fleet{t: t, dir: dir, pki: pki.Dir(filepath.Join(dir, "pki")), extra: extra}
	var err error
	if f.ca, err = f.pki.EnsureCA(); err != nil {
		t.Fatal(err)
	}
	f.operator = f.cert("operator", pki.RoleOperator)
	f.client = httpClient(t, f.operator)
	t.Cleanup(f.cleanup)
	return f
}

// cert issues (or returns) the certificate of name.
func (f *fleet) cert(name string, role pki.Role) pki.Files {
	f.t.Helper()
	files, err := f.pki.Ensure(f.ca, pki.Request{Name: name, Role: role})
	if err != nil {
		f.t.Fatal(err)
	}
	return files
}

// httpClient is an HTTP/2 client presenting files' certificate.
func httpClient(t testing.TB, files pki.Files) *http.Client {
	t.Helper()
	conf, err := pki.ClientConfig(files)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: conf, ForceAttemptHTTP2: true}}
}

// threeNodes starts a bootstrapped three-server cluster and waits until
// every member is recorded.
func threeNodes(t *testing.T, extra ...string) *fleet {
	f := newFleet(t, extra...)
	first := f.add("n1", "--bootstrap")
	f.add("n2", "--join", first.api)
	f.add("n3", "--join", first.api)
	f.waitMembers(3)
	return f
}

// add starts a new server with a new data directory.
func (f *fleet) add(id string, args ...string) *proc {
	f.t.Helper()
	return f.addProc(&proc{id: id, api: freePort(f.t), raft: freePort(f.t)}, args...)
}

// addProc starts p, which names its id and addresses, as a new server with
// a new data directory.
func (f *fleet) addProc(p *proc, args ...string) *proc {
	f.t.Helper()
	p.dir = filepath.Join(f.dir, p.id)
	p.log = filepath.Join(f.dir, p.id+".log")
	f.mu.Lock()
	f.nodes = append(f.nodes, p)
	f.mu.Unlock()
	f.start(p, args...)
	return p
}

// start runs p's fleetd on its data directory and addresses.
func (f *fleet) start(p *proc, args ...string) {
	f.t.Helper()
	certs, err := f.pki.Ensure(f.ca, pki.Request{Name: p.id, Role: pki.RoleNode, Hosts: p.hosts})
	if err != nil {
		f.t.Fatal(err)
	}
	all := append([]string{
		"--id", p.id, "--dir", p.dir, "--api-addr", p.api, "--raft-addr", p.raft,
		"--ca", certs.CA, "--cert", certs.Cert, "--key", certs.Key, "--raft-timing", "loopback",
	}, f.extra...)
	all = append(all, args...)
	logf, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		f.t.Fatal(err)
	}
	cmd := exec.Command(bins.fleetd, all...)
	if p.netns != "" {
		// ip execs fleetd in the namespace: the process is fleetd itself.
		cmd = exec.Command("ip", append([]string{"netns", "exec", p.netns, bins.fleetd}, all...)...)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	done := make(chan struct{})
	f.mu.Lock()
	p.cmd, p.done, p.exitErr = cmd, done, nil
	f.mu.Unlock()
	go func() {
		err := cmd.Wait()
		logf.Close()
		f.mu.Lock()
		p.exitErr = err
		f.mu.Unlock()
		close(done)
	}()
}

// running reports whether p's process is alive.
func (p *proc) running() bool {
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// kill9 kills p the hard way: no shutdown, no leadership handover.
func (f *fleet) kill9(p *proc) {
	f.t.Helper()
	if !p.running() {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// stop sends SIGTERM and waits for a clean exit.
func (f *fleet) stop(p *proc) {
	f.t.Helper()
	if !p.running() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		f.t.Fatalf("%s did not stop within 15s of SIGTERM", p.id)
	}
	f.mu.Lock()
	err := p.exitErr
	f.mu.Unlock()
	if err != nil {
		f.t.Fatalf("%s exited with %v after SIGTERM; log:\n%s", p.id, err, tail(p.log))
	}
}

// cleanup kills what is still running and, if the test failed, shows the
// servers' logs.
func (f *fleet) cleanup() {
	f.mu.Lock()
	nodes := append([]*proc(nil), f.nodes...)
	f.mu.Unlock()
	for _, p := range nodes {
		f.kill9(p)
	}
	for _, p := range nodes {
		if strings.Contains(tail(p.log), "WARNING: DATA RACE") {
			f.t.Errorf("%s reported a data race; see its log below", p.id)
		}
	}
	if f.t.Failed() {
		for _, p := range nodes {
			f.t.Logf("---- log of %s:\n%s", p.id, tail(p.log))
		}
	}
}

// tail returns the end of a log file.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 60000 {
		b = b[len(b)-60000:]
	}
	return string(b)
}

// up returns the running servers.
func (f *fleet) up() []*proc {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*proc
	for _, p := range f.nodes {
		if p.running() {
			out = append(out, p)
		}
	}
	return out
}

// cluster, fleetAPI and tokens are the operator's clients for server p.
func (f *fleet) cluster(p *proc) fleetv1connect.ClusterServiceClient {
	return fleetv1connect.NewClusterServiceClient(f.client, "https://"+p.api)
}

func (f *fleet) fleetAPI(p *proc) fleetv1connect.FleetServiceClient {
	return fleetv1connect.NewFleetServiceClient(f.client, "https://"+p.api)
}

// eventually retries check until it succeeds or limit passes.
func eventually(t testing.TB, limit time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ctx returns a context that ends after d or with the test.
func ctx(t testing.TB, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return c
}

// waitMembers waits until the leader lists n members, each with its API
// address recorded.
func (f *fleet) waitMembers(n int) {
	f.t.Helper()
	eventually(f.t, 30*time.Second, func() error {
		var last error = errors.New("no server is running")
		for _, p := range f.up() {
			res, err := f.cluster(p).ListMembers(ctx(f.t, 2*time.Second), connect.NewRequest(&fleetv1.ListMembersRequest{}))
			if err != nil {
				last = err
				continue
			}
			ms := res.Msg.GetMembers()
			for _, m := range ms {
				if m.GetApiAddress() == "" {
					return fmt.Errorf("member %s has no API address yet", m.GetId())
				}
			}
			if len(ms) != n {
				return fmt.Errorf("%d members, want %d", len(ms), n)
			}
			return nil
		}
		return last
	})
}

// leader waits until every running server agrees on one leader and knows
// its API address (so calls through any server work), and returns it.
func (f *fleet) leader() *proc {
	f.t.Helper()
	var found *proc
	eventually(f.t, 20*time.Second, func() error {
		found = nil
		ids := map[string]bool{}
		for _, p := range f.up() {
			st, err := f.cluster(p).GetStatus(ctx(f.t, 2*time.Second), connect.NewRequest(&fleetv1.GetStatusRequest{}))
			if err != nil {
				return err
			}
			ids[st.Msg.GetLeaderId()] = true
			if st.Msg.GetLeaderApiAddress() == "" {
				// Followers relay to the leader only once it has
				// recorded its API address through the log.
				return fmt.Errorf("%s knows no API address for leader %q yet", p.id, st.Msg.GetLeaderId())
			}
			if st.Msg.GetRaftState() == "Leader" {
				found = p
			}
		}
		if found == nil || len(ids) != 1 || !ids[found.id] {
			return fmt.Errorf("no agreed leader yet (servers name %v)", ids)
		}
		return nil
	})
	return found
}

// follower returns a running server that is not the leader.
func (f *fleet) follower() *proc {
	f.t.Helper()
	l := f.leader()
	for _, p := range f.up() {
		if p != l {
			return p
		}
	}
	f.t.Fatal("no follower is running")
	return nil
}

// seed adds the site, room and row that racks are added to.
func (f *fleet) seed(via *proc) {
	f.t.Helper()
	c := f.fleetAPI(via)
	for _, step := range []func() error{
		func() error {
			_, err := c.AddSite(ctx(f.t, 10*time.Second), connect.NewRequest(&fleetv1.AddSiteRequest{Id: "s"}))
			return err
		},
		func() error {
			_, err := c.AddRoom(ctx(f.t, 10*time.Second), connect.NewRequest(&fleetv1.AddRoomRequest{Id: "m", Site: "s"}))
			return err
		},
		func() error {
			_, err := c.AddRow(ctx(f.t, 10*time.Second), connect.NewRequest(&fleetv1.AddRowRequest{Id: "w", Room: "m"}))
			return err
		},
	} {
		if err := step(); err != nil {
			f.t.Fatal(err)
		}
	}
}

// addRack adds a rack through server p.
func (f *fleet) addRack(c context.Context, p *proc, id string) error {
	_, err := f.fleetAPI(p).AddRack(c, connect.NewRequest(&fleetv1.AddRackRequest{Id: id, Row: "w"}))
	return err
}

// racks lists the racks through p, linearizably or not.
func (f *fleet) racks(p *proc, stale bool) (map[string]bool, error) {
	res, err := f.fleetAPI(p).ListRacks(ctx(f.t, 5*time.Second), connect.NewRequest(&fleetv1.ListRacksRequest{Stale: stale}))
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, r := range res.Msg.GetRacks() {
		out[r.GetId()] = true
	}
	return out, nil
}

// fleetctl runs fleetctl against the servers given (all running ones if
// none) with the operator's certificate, and returns its output and exit
// code.
func (f *fleet) fleetctl(addrs []*proc, args ...string) (stdout, stderr string, code int) {
	f.t.Helper()
	if addrs == nil {
		addrs = f.up()
	}
	var list []string
	for _, p := range addrs {
		list = append(list, p.api)
	}
	return runFleetctl(f.t, []string{
		"SHINGLE_FLEET_ADDR=" + strings.Join(list, ","),
		"SHINGLE_CA=" + f.operator.CA, "SHINGLE_CERT=" + f.operator.Cert, "SHINGLE_KEY=" + f.operator.Key,
	}, args...)
}

// runFleetctl runs fleetctl with env (and nothing else of the test's
// environment that starts with SHINGLE_).
func runFleetctl(t testing.TB, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bins.fleetctl, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SHINGLE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out.String(), errOut.String(), 0
	case errors.As(err, &exit):
		return out.String(), errOut.String(), exit.ExitCode()
	}
	t.Fatalf("run fleetctl: %v", err)
	return "", "", -1
}
