package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// freeBase finds a base port whose API and Raft ports are all free.
func freeBase(t *testing.T) int {
	t.Helper()
	for range 50 {
		base := 20000 + rand.IntN(30000)
		ok := true
		for _, p := range []int{base + 1, base + 2, base + 3, base + 101, base + 102, base + 103} {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				ok = false
				break
			}
			ln.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free port range")
	return 0
}

// devcluster is one run of the devcluster binary.
type devcluster struct {
	cmd    *exec.Cmd
	exited chan error

	mu  sync.Mutex
	out strings.Builder
}

// output is what devcluster has printed so far.
func (d *devcluster) output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out.String()
}

// startDevcluster runs bin with args and waits for it to print "ready".
func startDevcluster(t *testing.T, bin string, args ...string) *devcluster {
	t.Helper()
	d := &devcluster{cmd: exec.Command(bin, args...), exited: make(chan error, 1)}
	stdout, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	d.cmd.Stderr = os.Stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.cmd.Process.Kill() })
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			d.mu.Lock()
			d.out.WriteString(sc.Text() + "\n")
			d.mu.Unlock()
			if sc.Text() == "ready" {
				close(ready)
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		d.exited <- d.cmd.Wait()
	}()
	select {
	case <-ready:
	case err := <-d.exited:
		t.Fatalf("devcluster exited before it was ready: %v", err)
	case <-time.After(3 * time.Minute):
		t.Fatalf("devcluster not ready after 3 minutes")
	}
	return d
}

// interrupt sends Ctrl-C's signal and waits for a clean exit.
func (d *devcluster) interrupt(t *testing.T) {
	t.Helper()
	_ = d.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-d.exited:
		if err != nil {
			t.Fatalf("devcluster exited with %v after Ctrl-C", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("devcluster did not stop within 30s of Ctrl-C")
	}
}

// shell runs a shell command line and returns its output and exit code.
func shell(t *testing.T, line string) (string, int) {
	t.Helper()
	cmd := exec.Command("sh", "-c", line)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	}
	t.Fatal(err)
	return "", -1
}

// TestDevclusterComesBackWithItsData runs the dev cluster, uses it through
// its env file from a bare shell, stops it with Ctrl-C, and runs it again
// on the same directory: the same cluster returns with its data.
func TestDevclusterComesBackWithItsData(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "devcluster")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build devcluster: %v\n%s", err, out)
	}
	dir := filepath.Join(t.TempDir(), "dev")
	base := freeBase(t)
	d := startDevcluster(t, bin, "--dir", dir, "--base-port", fmt.Sprint(base), "--racks", "3", "--hosts-per-rack", "2")
	env := filepath.Join(dir, "env")
	if !strings.Contains(d.output(), ". '"+env+"'") {
		t.Fatalf("devcluster does not print how to use its env file:\n%s", d.output())
	}
	out, code := shell(t, ". '"+env+"' && fleetctl rack list && fleetctl host list")
	if code != 0 || strings.Count(out, "dev-site") != 3 || strings.Count(out, "rack-3-host-") != 2 {
		t.Fatalf("rack and host list through the env file: exit %d\n%s", code, out)
	}
	out, code = shell(t, ". '"+env+"' && fleetctl cluster status")
	if code != 0 || !strings.Contains(out, "members:") || !strings.Contains(out, "3") {
		t.Fatalf("cluster status: exit %d\n%s", code, out)
	}
	d.interrupt(t)
	if !strings.Contains(d.output(), "stopped.") {
		t.Fatalf("devcluster did not say it stopped:\n%s", d.output())
	}
	// Every server is gone: its API port is free again.
	if ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+1)); err != nil {
		t.Fatalf("fleet-1's port is still taken after Ctrl-C: %v", err)
	} else {
		ln.Close()
	}
	out, code = shell(t, ". '"+env+"' && fleetctl cluster status")
	if code != 3 {
		t.Fatalf("status of the stopped cluster: exit %d, want 3 (unreachable)\n%s", code, out)
	}

	// Again, asking for one rack only: the three from the first run are
	// still there, so the data came back from disk.
	d = startDevcluster(t, bin, "--dir", dir, "--racks", "1", "--hosts-per-rack", "1")
	out, code = shell(t, ". '"+env+"' && fleetctl rack list --output json")
	if code != 0 || strings.Count(out, `"id": "rack-`) != 3 {
		t.Fatalf("rack list after the restart: exit %d\n%s", code, out)
	}
	d.interrupt(t)
}
