package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/shingle-storage/shingle/agent/datapath"
	agentv1 "github.com/shingle-storage/shingle/api/agent/v1"
	"github.com/shingle-storage/shingle/api/agent/v1/agentv1connect"
	"github.com/shingle-storage/shingle/fleetd/pki"
	"github.com/shingle-storage/shingle/internal/loopport"
)

// freeBase finds a base port whose API and Raft ports, and the first
// agents agent ports, are all free, below the ephemeral range (see
// package loopport): a cluster brought back binds them again.
func freeBase(t *testing.T, agents int) int {
	t.Helper()
	offsets := []int{1, 2, 3, 101, 102, 103}
	for i := 1; i <= agents; i++ {
		offsets = append(offsets, agentPortOffset+i)
	}
	base, err := loopport.Range(offsets...)
	if err != nil {
		t.Fatal(err)
	}
	return base
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

// agentClient calls an agent with the operator's certificate.
func agentClient(t *testing.T, dir string) *http.Client {
	t.Helper()
	p := filepath.Join(dir, "pki")
	conf, err := pki.ClientConfig(pki.Files{CA: filepath.Join(p, "ca.pem"), Cert: filepath.Join(p, "operator.pem"), Key: filepath.Join(p, "operator-key.pem")})
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: conf, ForceAttemptHTTP2: true}, Timeout: 10 * time.Second}
}

// blobURL is where the test keeps its blob on an agent.
func blobURL(addr, drive string, extent uint64) string {
	return fmt.Sprintf("https://%s/v1/drives/%s/extents/%d/blobs/%s", addr, drive, extent, strings.Repeat("ab", 32))
}

// putBlob stores body on the first drive of the agent at addr and
// returns the blob's URL.
func putBlob(t *testing.T, hc *http.Client, addr string, body []byte) string {
	t.Helper()
	ctx := t.Context()
	c := agentv1connect.NewExtentServiceClient(hc, "https://"+addr)
	drives, err := c.ListDrives(ctx, connect.NewRequest(&agentv1.ListDrivesRequest{}))
	if err != nil || len(drives.Msg.GetDrives()) == 0 {
		t.Fatalf("list the drives of the agent at %s: %v (%d drives)", addr, err, len(drives.Msg.GetDrives()))
	}
	drive := drives.Msg.GetDrives()[0].GetId()
	ext, err := c.CreateExtent(ctx, connect.NewRequest(&agentv1.CreateExtentRequest{Drive: drive}))
	if err != nil {
		t.Fatalf("create an extent on %s: %v", drive, err)
	}
	url := blobURL(addr, drive, ext.Msg.GetExtent().GetId())
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(datapath.HeaderCRC32C, datapath.FormatCRC32C(body))
	res, err := hc.Do(req)
	if err != nil {
		t.Fatalf("put a blob: %v", err)
	}
	msg, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("put a blob: %s\n%s", res.Status, msg)
	}
	return url
}

// getBlob reads the blob at url.
func getBlob(t *testing.T, hc *http.Client, url string) []byte {
	t.Helper()
	res, err := hc.Get(url)
	if err != nil {
		t.Fatalf("get %s: %v", url, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("get %s: %s\n%s", url, res.Status, body)
	}
	return body
}

// fleetctlPut runs a shell line that ends in fleetctl put, through the
// env file, and returns the locator it printed.
func fleetctlPut(t *testing.T, env, line string) string {
	t.Helper()
	out, code := shell(t, ". '"+env+"' && "+line)
	l := strings.TrimSpace(out)
	if code != 0 || strings.ContainsAny(l, " \n") || l == "" {
		t.Fatalf("%s: exit %d\n%s", line, code, out)
	}
	return l
}

// fleetDrives lists the drive ids fleetctl shows, and the output.
func fleetDrives(t *testing.T, env string) ([]string, string) {
	t.Helper()
	out, code := shell(t, ". '"+env+"' && fleetctl drive list")
	if code != 0 {
		t.Fatalf("drive list: exit %d\n%s", code, out)
	}
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		ids = append(ids, strings.Fields(line)[0])
	}
	sort.Strings(ids)
	return ids, out
}

// reachableHosts counts the hosts fleetctl shows as reachable.
func reachableHosts(t *testing.T, env string) (int, string) {
	t.Helper()
	out, code := shell(t, ". '"+env+"' && fleetctl host list --output json")
	if code != 0 {
		t.Fatalf("host list: exit %d\n%s", code, out)
	}
	return strings.Count(out, `"reachability": "reachable"`), out
}

// TestDevclusterComesBackWithItsData runs the dev cluster with its agents,
// uses it through its env file from a bare shell, stores a blob on an
// agent and files through fleetctl, stops it all with Ctrl-C, and runs it
// again on the same directory: the same cluster returns with its data,
// and the same agents with the same drives, the blob and the files.
func TestDevclusterComesBackWithItsData(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "devcluster")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build devcluster: %v\n%s", err, out)
	}
	dir := filepath.Join(t.TempDir(), "dev")
	const hosts, drives = 6, 12
	base := freeBase(t, hosts)
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
	agent1 := fmt.Sprintf("127.0.0.1:%d", base+agentPortOffset+1)
	if !strings.Contains(d.output(), "agent "+agent1) {
		t.Fatalf("devcluster does not print the agents' addresses:\n%s", d.output())
	}
	if n, out := reachableHosts(t, env); n != hosts {
		t.Fatalf("%d hosts reachable, want %d:\n%s", n, hosts, out)
	}
	before, out := fleetDrives(t, env)
	if len(before) != drives || strings.Count(out, "emulated") != drives {
		t.Fatalf("%d drives listed, want %d emulated ones:\n%s", len(before), drives, out)
	}
	hc := agentClient(t, dir)
	blob := []byte("kept across a restart")
	url := putBlob(t, hc, agent1, blob)
	// A file of three blobs and a manifest, and a small one from stdin,
	// through fleetctl.
	files := t.TempDir()
	file := filepath.Join(files, "file")
	data := make([]byte, 9<<20)
	_, _ = rand.Read(data)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	fileLoc := fleetctlPut(t, env, "fleetctl put '"+file+"'")
	smallLoc := fleetctlPut(t, env, "echo a small file | fleetctl put -")
	out, code = shell(t, ". '"+env+"' && fleetctl stat --output json "+fileLoc)
	var st struct {
		Size int64 `json:"size"`
		File struct {
			Blobs  int    `json:"blobs"`
			SHA256 string `json:"sha256"`
		} `json:"file"`
	}
	sum := sha256.Sum256(data)
	if err := json.Unmarshal([]byte(out), &st); err != nil || code != 0 || st.Size != int64(len(data)) || st.File.Blobs != 3 || st.File.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("stat of a 9 MiB file: exit %d, %v\n%s", code, err, out)
	}

	d.interrupt(t)
	if !strings.Contains(d.output(), "stopped.") {
		t.Fatalf("devcluster did not say it stopped:\n%s", d.output())
	}
	// Every server is gone: its API port is free again.
	for name, port := range map[string]int{"fleet-1": base + 1, "the first agent": base + agentPortOffset + 1, "the last agent": base + agentPortOffset + hosts} {
		if ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err != nil {
			t.Fatalf("%s's port is still taken after Ctrl-C: %v", name, err)
		} else {
			ln.Close()
		}
	}
	out, code = shell(t, ". '"+env+"' && fleetctl cluster status")
	if code != 3 {
		t.Fatalf("status of the stopped cluster: exit %d, want 3 (unreachable)\n%s", code, out)
	}

	// Again, asking for one rack only: the three from the first run are
	// still there, so the data came back from disk; every host's agent is
	// back with the same drives, and the blob is still on its drive.
	d = startDevcluster(t, bin, "--dir", dir, "--racks", "1", "--hosts-per-rack", "1")
	out, code = shell(t, ". '"+env+"' && fleetctl rack list --output json")
	if code != 0 || strings.Count(out, `"id": "rack-`) != 3 {
		t.Fatalf("rack list after the restart: exit %d\n%s", code, out)
	}
	if n, out := reachableHosts(t, env); n != hosts {
		t.Fatalf("after the restart %d hosts reachable, want %d:\n%s", n, hosts, out)
	}
	if after, out := fleetDrives(t, env); !slices.Equal(after, before) {
		t.Fatalf("after the restart the drives are\n%v, want the same as before,\n%v:\n%s", after, before, out)
	}
	if got := getBlob(t, hc, url); !bytes.Equal(got, blob) {
		t.Fatalf("after the restart the blob reads %q, want %q", got, blob)
	}
	copied := filepath.Join(files, "copy")
	if out, code := shell(t, ". '"+env+"' && fleetctl get -O '"+copied+"' "+fileLoc); code != 0 {
		t.Fatalf("get of the file after the restart: exit %d\n%s", code, out)
	}
	if got, err := os.ReadFile(copied); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("after the restart the file reads %d bytes (%v), not the %d put", len(got), err, len(data))
	}
	if out, code := shell(t, ". '"+env+"' && fleetctl get "+smallLoc); code != 0 || out != "a small file\n" {
		t.Fatalf("get of the small file after the restart: exit %d\n%s", code, out)
	}
	for _, l := range []string{fileLoc, smallLoc} {
		if out, code := shell(t, ". '"+env+"' && fleetctl rm "+l); code != 0 {
			t.Fatalf("rm %s: exit %d\n%s", l, code, out)
		}
		if out, code := shell(t, ". '"+env+"' && fleetctl get "+l); code != 5 {
			t.Fatalf("get %s after rm: exit %d, want 5 (not found)\n%s", l, code, out)
		}
	}
	d.interrupt(t)

	// Without agents, the hosts stay registered but nothing answers for
	// them.
	d = startDevcluster(t, bin, "--dir", dir, "--agents=false")
	if strings.Contains(d.output(), "agent "+agent1) {
		t.Fatalf("devcluster --agents=false prints agents:\n%s", d.output())
	}
	if ln, err := net.Listen("tcp", agent1); err != nil {
		t.Fatalf("an agent runs with --agents=false: %v", err)
	} else {
		ln.Close()
	}
	d.interrupt(t)
}
