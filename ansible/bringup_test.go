//go:build qemu

// Package ansible_test runs the rack bring-up playbooks for real: see
// TestPlaybooksBringUpARack.
package ansible_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/api/fleet/v1/fleetv1connect"
	"github.com/shingle-storage/shingle/fleetd/pki"
	"github.com/shingle-storage/shingle/images/qemu"
	"github.com/shingle-storage/shingle/internal/loopport"
)

// TestPlaybooksBringUpARack brings up a one-server fleet and a rack of
// one storage host with the playbooks, as an operator would, on this
// machine: every path under a scratch root and no service managed, since
// there is no systemd here.
//
//  1. pki.yml and fleetd.yml make the CA and the certificates with
//     fleetctl cert, and install fleetd: binary, certificates, settings
//     and unit.
//  2. The test starts fleetd as the unit would: the unit's ExecStart
//     with the environment of its EnvironmentFile.
//  3. topology.yml adds the rack through fleetctl and makes its join
//     token; boot.yml builds the PXE image and writes the host's
//     agent.yaml and certificates, dnsmasq's reservations and nginx's
//     site.
//  4. The test serves the boot server's web root over HTTP and
//     network-boots a QEMU host from it, with an NVMe ZNS drive: the host
//     must join the fleet in its rack with its drive.
//
// It needs ansible-core besides the QEMU suite's packages (tools/test.sh
// installs them). Run it with
//
//	go test -tags qemu -v -run TestPlaybooksBringUpARack ./ansible/
func TestPlaybooksBringUpARack(t *testing.T) {
	playbook, err := exec.LookPath("ansible-playbook")
	if err != nil {
		t.Fatalf("ansible-playbook not found; install it: apt-get install -y ansible-core")
	}
	tmp := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	// The binaries the playbooks install and run.
	bin := filepath.Join(tmp, "bin")
	for _, b := range []struct{ out, pkg, cgo string }{
		{"fleetd", "./fleetd", "0"}, {"fleetctl", "./tools/fleetctl", "0"},
		{"pxe-image", "./images/pxe/cmd/pxe-image", "0"}, {"shingle-agent", "./agent", "0"},
	} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, b.out), b.pkg)
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "CGO_ENABLED="+b.cgo)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", b.pkg, err, out)
		}
	}

	root := filepath.Join(tmp, "root")
	api, raft, agentAddr := addr(t), addr(t), addr(t)
	boot, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer boot.Close()
	bootURL := fmt.Sprintf("http://%s:%d/", qemu.GuestHost, boot.Addr().(*net.TCPAddr).Port)
	inventory := filepath.Join(tmp, "inventory.yml")
	writeFile(t, inventory, []byte(fmt.Sprintf(`all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: auto_silent
    # The test runs as whoever runs it, without sudo.
    ansible_become: false
    shingle_root: %[1]s
    shingle_manage_services: false
    shingle_bootstrap: true
    shingle_bin: %[2]s
    shingle_pki: %[3]s/pki
    shingle_image_dir: %[3]s/image
    shingle_cluster_id: 6f1c2a9e-0d4b-4c8e-9a71-3b5e2d8f4c10
    shingle_boot_url: %[4]s
    shingle_boot_interface: lo
    shingle_dhcp_range: 10.0.2.0,static
    shingle_agent_fleet_addr: %[5]s:%[6]s
    shingle_token_ttl: 1h
    shingle_racks:
      - {id: r1, site: s1, room: m1, row: w1, power_budget_watts: 9000}
  children:
    control:
      hosts:
        localhost: {}
    fleetd:
      hosts:
        fleet-1:
          ansible_host: 127.0.0.1
          shingle_fleetd_api: %[7]s
          shingle_fleetd_raft: %[8]s
          shingle_fleetd_cert_hosts: [127.0.0.1, %[5]s]
          shingle_fleetd_env: {RAFT_TIMING: loopback, HEARTBEAT_INTERVAL: 1s}
    boot_server:
      hosts:
        boot-1: {}
    storage:
      hosts:
        pxe-host-1: {mac: "52:54:00:12:34:56", ip: 10.0.2.15, rack: r1, shingle_agent_advertise: "%[9]s", shingle_agent_cert_host: 127.0.0.1}
`, root, bin, tmp, bootURL, qemu.GuestHost, port(t, api), api, raft, agentAddr)))
	run := func(books ...string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, playbook, append([]string{"-i", inventory}, books...)...)
		cmd.Env = append(os.Environ(), "ANSIBLE_CONFIG="+filepath.Join(mustAbs(t, "."), "ansible.cfg"), "ANSIBLE_NOCOLOR=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("ansible-playbook %v: %v\n%s", books, err, out)
		}
		t.Logf("ansible-playbook %v:\n%s", books, tail(string(out), 12))
	}

	// 1. The CA, the certificates and fleetd's installation.
	run("pki.yml", "fleetd.yml")
	unit := readFile(t, filepath.Join(root, "etc/systemd/system/shingle-fleetd.service"))
	envFile := filepath.Join(root, "etc/shingle/fleetd.env")
	if !strings.Contains(unit, "EnvironmentFile="+envFile+"\n") {
		t.Fatalf("the unit does not read %s:\n%s", envFile, unit)
	}
	if fi, err := os.Stat(filepath.Join(root, "etc/shingle/pki/fleetd-key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("fleetd's key: %v (mode %v), want mode 0600", err, fi.Mode())
	}

	// 2. fleetd, as its unit starts it.
	var exe string
	for _, l := range strings.Split(unit, "\n") {
		if v, ok := strings.CutPrefix(l, "ExecStart="); ok {
			exe = v
		}
	}
	fleetd := exec.CommandContext(ctx, exe)
	fleetd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, envLines(t, envFile)...)
	fleetdLog := &strings.Builder{}
	fleetd.Stdout, fleetd.Stderr = fleetdLog, fleetdLog
	if err := fleetd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = fleetd.Process.Kill()
		_ = fleetd.Wait()
		if t.Failed() {
			t.Logf("fleetd's log:\n%s", tail(fleetdLog.String(), 40))
		}
	}()

	// 3. The rack, its token, and the boot server.
	run("topology.yml", "boot.yml")
	web := filepath.Join(root, "srv/shingle")
	hostDir := filepath.Join(web, "hosts", "52-54-00-12-34-56")
	agentYAML := readFile(t, filepath.Join(hostDir, "agent.yaml"))
	for _, want := range []string{"host-id: pxe-host-1\n", "rack: r1\n", "advertise-addr: " + agentAddr + "\n", "allow-all-zoned: true\n"} {
		if !strings.Contains(agentYAML, want) {
			t.Errorf("the host's agent.yaml lacks %q:\n%s", want, agentYAML)
		}
	}
	if dns := readFile(t, filepath.Join(root, "etc/dnsmasq.d/shingle.conf")); !strings.Contains(dns, "dhcp-host=52:54:00:12:34:56,10.0.2.15,pxe-host-1\n") ||
		!strings.Contains(dns, "dhcp-boot=tag:ipxe,"+bootURL+"boot.ipxe\n") {
		t.Errorf("dnsmasq's configuration lacks the host's reservation or the boot file:\n%s", dns)
	}
	if site := readFile(t, filepath.Join(root, "etc/nginx/sites-enabled/shingle")); !strings.Contains(site, "location /hosts/52-54-00-12-34-56/ {\n        allow 10.0.2.15;\n        deny all;") {
		t.Errorf("nginx's site does not keep the host's directory to the host:\n%s", site)
	}
	for _, f := range []string{"agent.yaml", "pki/agent-key.pem"} {
		if fi, err := os.Stat(filepath.Join(hostDir, f)); err != nil || fi.Mode().Perm()&0o007 != 0 {
			t.Errorf("the host's %s: %v, mode %v; want it unreadable to others", f, err, fi.Mode())
		}
	}
	// Running the plays again changes nothing that matters: the rack is
	// kept, and a second run succeeds.
	run("topology.yml", "boot.yml")

	// 4. The host boots from the boot server and joins the rack.
	go func() { _ = http.Serve(boot, http.FileServer(http.Dir(web))) }()
	zns := filepath.Join(tmp, "zns.img")
	writeFile(t, zns, nil)
	if err := os.Truncate(zns, 256<<20); err != nil {
		t.Fatal(err)
	}
	host, err := qemu.NetBoot(ctx, qemu.NetBootConfig{
		TFTPDir: web, BootFile: "boot.ipxe", MAC: "52:54:00:12:34:56", Forwards: map[string]int{agentAddr: 7400}, MemoryMB: 1536,
		Args: qemu.ZNSDriveArgs(zns, "bringup"),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		host.Stop()
		if t.Failed() {
			t.Logf("guest console:\n%s", host.Tail(60))
		}
	}()
	op, err := pki.ClientConfig(pki.Dir(filepath.Join(tmp, "pki")).Files("ansible"))
	if err != nil {
		t.Fatal(err)
	}
	fleet := fleetv1connect.NewFleetServiceClient(&http.Client{Transport: &http.Transport{TLSClientConfig: op, ForceAttemptHTTP2: true}}, "https://"+api)
	deadline := time.Now().Add(6 * time.Minute)
	for {
		if done, err := host.Exited(); done {
			t.Fatalf("QEMU exited before the host joined: %v", err)
		}
		res, err := fleet.GetHost(ctx, connect.NewRequest(&fleetv1.GetHostRequest{Id: "pxe-host-1"}))
		if err == nil && res.Msg.GetHost().GetRack() == "r1" && len(res.Msg.GetDrives()) == 1 && res.Msg.GetDrives()[0].GetModel() == "QEMU NVMe Ctrl" {
			t.Logf("pxe-host-1 joined rack r1 with drive %s in slot %s", res.Msg.GetDrives()[0].GetId(), res.Msg.GetDrives()[0].GetSlot())
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pxe-host-1 did not join rack r1 with its drive within 6 minutes: %v %v", res, err)
		}
		time.Sleep(time.Second)
	}
	rack, err := fleet.GetRack(ctx, connect.NewRequest(&fleetv1.GetRackRequest{Id: "r1"}))
	if err != nil || rack.Msg.GetRack().GetPowerBudgetWatts() != 9000 || rack.Msg.GetRack().GetRow() != "w1" {
		t.Errorf("rack r1 as topology.yml made it: %v, %v", rack, err)
	}
}

// envLines reads an EnvironmentFile's KEY=VALUE lines.
func envLines(t *testing.T, path string) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(strings.NewReader(readFile(t, path)))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

func addr(t *testing.T) string {
	t.Helper()
	a, err := loopport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func port(t *testing.T, a string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(a)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}
