package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shingle-storage/shingle/api/agent/v1/agentv1connect"
	"github.com/shingle-storage/shingle/fleetd/pki"
)

// agentBin and fleetdBin are the binaries built for the tests.
var agentBin, fleetdBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "agent-test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	agentBin, fleetdBin = filepath.Join(dir, "agent"), filepath.Join(dir, "fleetd")
	for _, b := range []struct{ out, pkg string }{{agentBin, "."}, {fleetdBin, "../fleetd"}} {
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

// certs are the cluster CA and the certificates a test uses.
type certs struct {
	dir    pki.Dir
	agent  pki.Files // the agent's own
	client pki.Files // an operator's
}

// newCerts makes a CA, the agent's certificate and a client's.
func newCerts(t *testing.T) certs {
	t.Helper()
	d := pki.Dir(t.TempDir())
	ca, err := d.EnsureCA()
	if err != nil {
		t.Fatal(err)
	}
	agent, err := d.Ensure(ca, pki.Request{Name: "host-1", Role: pki.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	client, err := d.Ensure(ca, pki.Request{Name: "tester", Role: pki.RoleOperator})
	if err != nil {
		t.Fatal(err)
	}
	return certs{dir: d, agent: agent, client: client}
}

// agentProc is a running agent process.
type agentProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string
	done chan struct{}
	err  error // the exit status, once done is closed

	mu  sync.Mutex
	log bytes.Buffer
}

// devArgs are the flags of an agent on small emulated drives in dir.
func devArgs(c certs, dir string) []string {
	return []string{"--addr", "127.0.0.1:0", "--ca", c.agent.CA, "--cert", c.agent.Cert, "--key", c.agent.Key,
		"--dev-drives", dir, "--dev-drive-count", "2", "--dev-drive-size", "128MiB", "--dev-zone-size", "8MiB",
		"--zones-per-extent", "2", "--log-level", "debug"}
}

// startAgent starts an agent and waits until it serves.
func startAgent(t *testing.T, args ...string) *agentProc {
	t.Helper()
	p := &agentProc{t: t, cmd: exec.Command(agentBin, args...), done: make(chan struct{})}
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH")} // no SHINGLE_* from the caller
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.log.Write(append(sc.Bytes(), '\n'))
			p.mu.Unlock()
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "serving" {
				addr <- line.Addr
			}
		}
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("agent log:\n%s", p.output())
		}
	})
	select {
	case p.addr = <-addr:
	case <-p.done:
		t.Fatalf("agent exited before serving: %v\n%s", p.err, p.output())
	case <-time.After(60 * time.Second):
		t.Fatalf("agent did not serve within 60s:\n%s", p.output())
	}
	return p
}

// output is what the agent logged so far.
func (p *agentProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// stop sends SIGTERM and requires a clean exit.
func (p *agentProc) stop() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		p.t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.t.Fatalf("agent did not stop within 30s of SIGTERM:\n%s", p.output())
	}
	if p.err != nil {
		p.t.Fatalf("agent exited with %v after SIGTERM:\n%s", p.err, p.output())
	}
}

// httpClient is an HTTPS client presenting f's certificate, trusting f's CA.
func httpClient(t *testing.T, f pki.Files) *http.Client {
	t.Helper()
	cfg, err := pki.ClientConfig(f)
	if err != nil {
		t.Fatal(err)
	}
	return clientWith(cfg)
}

// clientWith is an HTTPS client with cfg.
func clientWith(cfg *tls.Config) *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}, Timeout: 30 * time.Second}
}

// control is a Connect client of the agent's control API.
func (p *agentProc) control(hc *http.Client) agentv1connect.ExtentServiceClient {
	return agentv1connect.NewExtentServiceClient(hc, "https://"+p.addr)
}

// do sends a data-path request and returns the status, body and response
// headers.
func (p *agentProc) do(hc *http.Client, method, path string, body []byte, header http.Header) (int, []byte, http.Header, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "https://"+p.addr+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header, err
}
