//go:build qemu

package pxe_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	agentv1 "github.com/shingle-storage/shingle/api/agent/v1"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/api/fleet/v1/fleetv1connect"
	"github.com/shingle-storage/shingle/fleetd/pki"
	"github.com/shingle-storage/shingle/fleetd/raftnode"
	fleetserver "github.com/shingle-storage/shingle/fleetd/server"
	"github.com/shingle-storage/shingle/fleetd/volume"
	"github.com/shingle-storage/shingle/images/pxe"
	"github.com/shingle-storage/shingle/images/qemu"
	"github.com/shingle-storage/shingle/internal/loopport"
)

// The host the test boots: its card's MAC, its id and rack, and its ZNS
// drive's serial. The guest reaches this test's servers at
// qemu.GuestHost.
const (
	hostMAC   = "52:54:00:12:34:56"
	hostID    = "pxe-host-1"
	hostRack  = "r1"
	znsSerial = "pxezns"
)

// TestPXEBootJoinsTheFleet boots a storage host the way a rack's hosts
// boot: QEMU's network card ROM (iPXE) gets boot.ipxe from QEMU's TFTP
// server, which fetches the kernel and the initramfs built by pxe.Build
// over HTTP from this test; the image brings the network up with DHCP,
// fetches the host's agent.yaml and certificates from its own URL, and
// starts the agent, which claims the host's NVMe Zoned Namespace drive and
// registers with a fleetd running in this test, with a join token. The
// test then writes a blob to the drive through the agent's API, over the
// network and mutual TLS, and reads it back. Run it with
//
//	go test -tags qemu -v -run TestPXEBootJoinsTheFleet ./images/pxe/
//
// It needs qemu-system-x86 (with ipxe-qemu's network ROMs),
// linux-image-amd64 and busybox-static on the host and fails if any is
// missing.
func TestPXEBootJoinsTheFleet(t *testing.T) {
	tmp := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	agentBin := filepath.Join(tmp, "shingle-agent")
	build := exec.Command("go", "build", "-o", agentBin, "github.com/shingle-storage/shingle/agent")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the agent: %v\n%s", err, out)
	}

	// fleetd, reachable from the guest at 10.0.2.2.
	certs := pki.Dir(filepath.Join(tmp, "pki"))
	ca, err := certs.EnsureCA()
	if err != nil {
		t.Fatal(err)
	}
	node, err := certs.Ensure(ca, pki.Request{Name: "fleet-1", Role: pki.RoleNode, Hosts: append(pki.LoopbackHosts(), qemu.GuestHost)})
	if err != nil {
		t.Fatal(err)
	}
	api, raft := addr(t), addr(t)
	srv, err := fleetserver.Open(fleetserver.Config{ID: "fleet-1", Dir: filepath.Join(tmp, "fleet-1"), RaftAddr: raft, APIAddr: api,
		TLS: node, Bootstrap: true, Timing: raftnode.LoopbackTiming(), HeartbeatInterval: time.Second, HeartbeatTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	srvDone := make(chan struct{})
	go func() { defer close(srvDone); _ = srv.Run(ctx) }()
	defer func() { cancel(); <-srvDone }()
	op, err := certs.Ensure(ca, pki.Request{Name: "tester", Role: pki.RoleOperator})
	if err != nil {
		t.Fatal(err)
	}
	opTLS, err := pki.ClientConfig(op)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: opTLS, ForceAttemptHTTP2: true}}
	fleet := fleetv1connect.NewFleetServiceClient(hc, "https://"+api)
	eventually(t, "fleetd answering as leader", time.Minute, func() error {
		_, err := fleet.AddSite(ctx, connect.NewRequest(&fleetv1.AddSiteRequest{Id: "s"}))
		return err
	})
	for _, step := range []func() error{
		func() error {
			_, err := fleet.AddRoom(ctx, connect.NewRequest(&fleetv1.AddRoomRequest{Id: "m", Site: "s"}))
			return err
		},
		func() error {
			_, err := fleet.AddRow(ctx, connect.NewRequest(&fleetv1.AddRowRequest{Id: "w", Room: "m"}))
			return err
		},
		func() error {
			_, err := fleet.AddRack(ctx, connect.NewRequest(&fleetv1.AddRackRequest{Id: hostRack, Row: "w"}))
			return err
		},
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := fleetv1connect.NewTokenServiceClient(hc, "https://"+api).CreateToken(ctx,
		connect.NewRequest(&fleetv1.CreateTokenRequest{Rack: hostRack}))
	if err != nil {
		t.Fatal(err)
	}

	// The boot server: the image and the host's configuration. The
	// agent's API is forwarded to the host's loopback, where fleetd and
	// this test reach it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	dir := filepath.Join(tmp, "boot")
	if err := pxe.Build(pxe.Options{Dir: dir, URL: fmt.Sprintf("http://%s:%d/", qemu.GuestHost, port), Agent: agentBin}); err != nil {
		t.Fatal(err)
	}
	agentAddr := addr(t)
	agentCert, err := certs.Ensure(ca, pki.Request{Name: hostID, Role: pki.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	hostDir := filepath.Join(dir, "hosts", strings.ReplaceAll(hostMAC, ":", "-"))
	config := fmt.Sprintf(`addr: 0.0.0.0:7400
advertise-addr: %s
ca: /etc/shingle/pki/ca.pem
cert: /etc/shingle/pki/agent.pem
key: /etc/shingle/pki/agent-key.pem
cluster: 6f1c2a9e-0d4b-4c8e-9a71-3b5e2d8f4c10
fleet-addr: %s:%s
join-token: %s
host-id: %s
rack: %s
drives:
  allow-all-zoned: true
health-interval: 5s
`, agentAddr, qemu.GuestHost, mustPort(t, api), tok.Msg.GetToken(), hostID, hostRack)
	for name, from := range map[string]string{"pki/ca.pem": agentCert.CA, "pki/agent.pem": agentCert.Cert, "pki/agent-key.pem": agentCert.Key} {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(hostDir, name), b)
	}
	writeFile(t, filepath.Join(hostDir, "agent.yaml"), []byte(config))
	var served sync.Map // path -> true, for the log
	go func() {
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			served.Store(r.URL.Path, true)
			http.FileServer(http.Dir(dir)).ServeHTTP(w, r)
		}))
	}()
	defer ln.Close()

	// The host: network boot from its virtio card, and an NVMe ZNS drive
	// of 64 zones of 4 MiB (3 MiB writable).
	zns := filepath.Join(tmp, "zns.img")
	if err := os.WriteFile(zns, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(zns, 256<<20); err != nil {
		t.Fatal(err)
	}
	var stream io.Writer
	if testing.Verbose() {
		stream = os.Stdout
	}
	host, err := qemu.NetBoot(ctx, qemu.NetBootConfig{
		TFTPDir: dir, BootFile: pxe.ScriptFile, MAC: hostMAC, Forwards: map[string]int{agentAddr: 7400},
		MemoryMB: 1536, Stdout: stream,
		Args: qemu.ZNSDriveArgs(zns, znsSerial),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		host.Stop()
		if t.Failed() && !testing.Verbose() {
			t.Logf("guest console:\n%s", host.Console())
		}
	}()

	// The host registers, with its drive.
	var drive *fleetv1.Drive
	eventually(t, "the PXE-booted host's drive registered with fleetd", 6*time.Minute, func() error {
		if done, err := host.Exited(); done {
			t.Fatalf("QEMU exited before the host registered: %v", err)
		}
		res, err := fleet.GetHost(ctx, connect.NewRequest(&fleetv1.GetHostRequest{Id: hostID}))
		if err != nil {
			var paths []string
			served.Range(func(k, _ any) bool { paths = append(paths, k.(string)); return true })
			return fmt.Errorf("%v (served so far: %v)", err, paths)
		}
		for _, d := range res.Msg.GetDrives() {
			if d.GetCapacityBytes() > 0 && d.GetReport().GetFreeBytes() > 0 {
				drive = d
				return nil
			}
		}
		return fmt.Errorf("host %s registered, no drive with free space reported yet: %v", hostID, res.Msg.GetDrives())
	})
	// The drive as the agent discovered it in the guest: QEMU's NVMe
	// model and firmware, and its slot the path from its PCI controller.
	if drive.GetModel() != "QEMU NVMe Ctrl" || drive.GetFirmware() == "" || !regexp.MustCompile(`^pci-0000:00:[0-9a-f]{2}\.0-nvme-1$`).MatchString(drive.GetSlot()) {
		t.Errorf("the registered drive is %s, model %q, firmware %q, slot %q: not QEMU's NVMe namespace in its PCI slot",
			drive.GetId(), drive.GetModel(), drive.GetFirmware(), drive.GetSlot())
	}
	t.Logf("registered drive %s: model %q, firmware %q, slot %q, capacity %d bytes",
		drive.GetId(), drive.GetModel(), drive.GetFirmware(), drive.GetSlot(), drive.GetCapacityBytes())

	// A blob through the agent's API: extent, put, read back.
	nodeTLS, err := pki.ClientConfig(node)
	if err != nil {
		t.Fatal(err)
	}
	agents := volume.NewAgents(nodeTLS)
	ext, err := agents.Control(agentAddr).CreateExtent(ctx, connect.NewRequest(&agentv1.CreateExtentRequest{Drive: drive.GetId()}))
	if err != nil {
		t.Fatalf("creating an extent on the PXE-booted host: %v", err)
	}
	blob := bytes.Repeat([]byte("shingle pxe "), 100_000)
	var key [32]byte
	copy(key[:], "pxe-boot-test")
	if err := agents.Data.Put(ctx, agentAddr, drive.GetId(), ext.Msg.GetExtent().GetId(), key, blob); err != nil {
		t.Fatalf("putting a blob: %v", err)
	}
	got, err := agents.Data.Get(ctx, agentAddr, drive.GetId(), ext.Msg.GetExtent().GetId(), key)
	if err != nil {
		t.Fatalf("getting the blob back: %v", err)
	}
	if !bytes.Equal(got, blob) {
		t.Fatalf("the blob read back (%d bytes) differs from the one put (%d bytes)", len(got), len(blob))
	}
	if c := host.Console(); !strings.Contains(c, "shingle-boot: starting the agent") {
		t.Errorf("the console does not show the boot sequence starting the agent")
	}
}

// addr returns a free loopback host:port.
func addr(t *testing.T) string {
	t.Helper()
	a, err := loopport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// mustPort returns the port of host:port a.
func mustPort(t *testing.T, a string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(a)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// writeFile writes b to path, making its directory.
func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// eventually retries check until it passes or limit has passed.
func eventually(t *testing.T, what string, limit time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not so after %v: %v", what, limit, err)
		}
		time.Sleep(time.Second)
	}
}
