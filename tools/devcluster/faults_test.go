package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	agentv1 "github.com/shingle-storage/shingle/api/agent/v1"
	"github.com/shingle-storage/shingle/api/agent/v1/agentv1connect"
)

// runCommand runs a devcluster command and returns its output and exit
// code.
func runCommand(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
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

// waitUntil polls cond every 200 ms for up to d.
func waitUntil(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
	}
}

// agentDrive is what the agent at addr says of drive id: its health and
// how many of its zones are offline, or ok false if the agent does not
// answer or lacks the drive.
func agentDrive(t *testing.T, hc *http.Client, addr, id string) (health string, offline, zones uint32, ok bool) {
	t.Helper()
	c := agentv1connect.NewExtentServiceClient(hc, "https://"+addr)
	res, err := c.ListDrives(t.Context(), connect.NewRequest(&agentv1.ListDrivesRequest{}))
	if err != nil {
		return "", 0, 0, false
	}
	for _, d := range res.Msg.GetDrives() {
		if d.GetId() == id {
			return d.GetHealth(), d.GetHealthDetail().GetOfflineZones(), d.GetZoneCount(), true
		}
	}
	return "", 0, 0, false
}

// blobStatus is the status of a GET of the blob at url, or 0 if the agent
// does not answer.
func blobStatus(hc *http.Client, url string) int {
	res, err := hc.Get(url)
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

// TestDevclusterFaults runs the dev cluster and injects faults into it
// with devcluster's commands, as a developer would from another shell:
// fail-drive takes a drive offline in its running agent (its blob no
// longer reads and the agent reports every zone offline), kill-host makes
// the host unreachable in fleetd while devcluster carries on, restart-host
// brings it back with the drive still failed, heal-drive and a restart
// bring the drive back whole, and Ctrl-C stops the restarted agent too.
func TestDevclusterFaults(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "devcluster")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build devcluster: %v\n%s", err, out)
	}
	dir := filepath.Join(t.TempDir(), "dev")
	const hosts = 2
	const host = "rack-1-host-1"
	// Quick heartbeats, so that a killed host is unreachable within
	// seconds; devcluster passes its settings on to its children.
	t.Setenv("SHINGLE_FLEETD_HEARTBEAT_INTERVAL", "300ms")
	t.Setenv("SHINGLE_FLEETD_HEARTBEAT_TIMEOUT", "2s")
	// Whatever the test leaves running if it fails midway.
	t.Cleanup(func() {
		for _, h := range []string{"rack-1-host-1", "rack-1-host-2"} {
			if pid, ok := layout(dir).agentFiles(h).running(); ok {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})

	out, code := runCommand(t, bin, "kill-host", host, "--dir", dir)
	if code == 0 || !strings.Contains(out, "no development cluster in "+dir) {
		t.Fatalf("kill-host without a cluster: exit %d\n%s", code, out)
	}
	base := freeBase(t, hosts)
	d := startDevcluster(t, bin, "--dir", dir, "--base-port", fmt.Sprint(base), "--racks", "1", "--hosts-per-rack", "2")
	env := filepath.Join(dir, "env")
	addr := fmt.Sprintf("127.0.0.1:%d", base+agentPortOffset+1)
	hc := agentClient(t, dir)
	blob := []byte("on a drive about to fail")
	url := putBlob(t, hc, addr, blob)
	drive := strings.Split(strings.TrimPrefix(url, "https://"+addr+"/v1/drives/"), "/")[0]

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"fail-drive", "no-such-drive", "--dir", dir}, drive + " (" + host + " slot 0)"},
		{[]string{"kill-host", "no-such-host", "--dir", dir}, "its hosts are rack-1-host-1, rack-1-host-2"},
		{[]string{"restart-host", host, "--dir", dir}, "already running"},
		{[]string{"heal-drive", drive, "--dir", dir}, "is not failed"},
		{[]string{"fail-drive", "--dir", dir}, "takes one DRIVE_ID"},
	} {
		if out, code := runCommand(t, bin, c.args...); code == 0 || !strings.Contains(out, c.want) {
			t.Errorf("devcluster %s: exit %d, want a failure saying %q:\n%s", strings.Join(c.args, " "), code, c.want, out)
		}
	}

	// fail-drive: the agent takes the drive offline at once, reads of its
	// blob fail, and its health check finds every zone offline.
	out, code = runCommand(t, bin, "fail-drive", drive, "--dir", dir)
	if code != 0 || !strings.Contains(out, "took every zone of the drive offline") {
		t.Fatalf("fail-drive: exit %d\n%s", code, out)
	}
	if st := blobStatus(hc, url); st == http.StatusOK {
		t.Fatalf("the blob of a failed drive still reads")
	}
	failedHealth := func() bool {
		health, offline, zones, ok := agentDrive(t, hc, addr, drive)
		return ok && health != "ok" && offline == zones && zones > 0
	}
	waitUntil(t, "the agent reports every zone of the failed drive offline", 20*time.Second, failedHealth)

	// kill-host: fleetd sees the host go silent; devcluster carries on.
	out, code = runCommand(t, bin, "--dir", dir, "kill-host", host)
	if code != 0 || !strings.Contains(out, "killed the agent of "+host) {
		t.Fatalf("kill-host: exit %d\n%s", code, out)
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Fatalf("something still listens on the killed agent's address %s", addr)
	}
	waitUntil(t, "fleetd shows the killed host unreachable", 15*time.Second, func() bool {
		n, _ := reachableHosts(t, env)
		return n == hosts-1
	})
	if out, code := runCommand(t, bin, "kill-host", host, "--dir", dir); code == 0 || !strings.Contains(out, "not running") {
		t.Errorf("kill-host of a killed host: exit %d\n%s", code, out)
	}
	select {
	case err := <-d.exited:
		t.Fatalf("devcluster exited when an agent was killed: %v\n%s", err, d.output())
	default:
	}

	// restart-host: the host is back, with the drive still failed.
	out, code = runCommand(t, bin, "restart-host", host, "--dir", dir)
	if code != 0 || !strings.Contains(out, "restarted the agent of "+host) {
		t.Fatalf("restart-host: exit %d\n%s", code, out)
	}
	if out, code := runCommand(t, bin, "restart-host", host, "--dir", dir); code == 0 || !strings.Contains(out, "already running") {
		t.Errorf("a second restart-host: exit %d\n%s", code, out)
	}
	waitUntil(t, "fleetd shows the restarted host reachable", 20*time.Second, func() bool {
		n, _ := reachableHosts(t, env)
		return n == hosts
	})
	waitUntil(t, "the restarted agent reports the failed drive's zones offline", 20*time.Second, failedHealth)
	if st := blobStatus(hc, url); st == http.StatusOK {
		t.Fatalf("the blob of the failed drive reads after its host restarted")
	}

	// heal-drive, and a restart: the drive is back with its blob.
	out, code = runCommand(t, bin, "heal-drive", drive, "--dir", dir)
	if code != 0 || !strings.Contains(out, "keeps the drive offline") {
		t.Fatalf("heal-drive: exit %d\n%s", code, out)
	}
	for _, cmd := range []string{"kill-host", "restart-host"} {
		if out, code := runCommand(t, bin, cmd, host, "--dir", dir); code != 0 {
			t.Fatalf("%s after heal-drive: exit %d\n%s", cmd, code, out)
		}
	}
	waitUntil(t, "the healed drive's blob reads again", 20*time.Second, func() bool { return blobStatus(hc, url) == http.StatusOK })
	if got := getBlob(t, hc, url); !bytes.Equal(got, blob) {
		t.Fatalf("the healed drive's blob reads %q, want %q", got, blob)
	}
	if _, offline, _, ok := agentDrive(t, hc, addr, drive); !ok || offline != 0 {
		t.Fatalf("the healed drive has %d zones offline (listed: %v)", offline, ok)
	}

	// Ctrl-C stops the restarted agent with the rest.
	pid, ok := layout(dir).agentFiles(host).running()
	if !ok {
		t.Fatal("the restarted agent has no pid file")
	}
	d.interrupt(t)
	if procAlive(pid) {
		t.Fatalf("the restarted agent (pid %d) runs after Ctrl-C", pid)
	}
	if ln, err := net.Listen("tcp", addr); err != nil {
		t.Fatalf("the restarted agent's port is still taken after Ctrl-C: %v", err)
	} else {
		ln.Close()
	}
	for _, f := range []string{filepath.Join(dir, "devcluster.pid"), filepath.Join(dir, host, "agent.pid")} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is left after Ctrl-C (%v)", f, err)
		}
	}
	if out, code := runCommand(t, bin, "restart-host", host, "--dir", dir); code == 0 || !strings.Contains(out, "is not running") {
		t.Errorf("restart-host on a stopped cluster: exit %d\n%s", code, out)
	}
}
