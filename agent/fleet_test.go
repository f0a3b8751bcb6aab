package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"connectrpc.com/connect"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/api/fleet/v1/fleetv1connect"
	"github.com/shingle-storage/shingle/fleetd/pki"
	"github.com/shingle-storage/shingle/internal/loopport"
)

// freeAddr returns a loopback host:port nothing listens on now, one a
// restarted server can bind again (see package loopport).
func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := loopport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// startFleetd starts a one-server fleetd cluster and returns its API
// address once it answers as leader.
func startFleetd(t *testing.T, c certs) string {
	t.Helper()
	ca, err := pki.LoadCA(c.dir.CAFile(), filepath.Join(string(c.dir), "ca-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	node, err := c.dir.Ensure(ca, pki.Request{Name: "f1", Role: pki.RoleNode})
	if err != nil {
		t.Fatal(err)
	}
	api := freeAddr(t)
	logf, err := os.Create(filepath.Join(t.TempDir(), "fleetd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(fleetdBin, "--id", "f1", "--dir", t.TempDir(), "--raft-addr", freeAddr(t), "--api-addr", api,
		"--bootstrap", "--raft-timing", "loopback", "--heartbeat-interval", "100ms",
		"--ca", node.CA, "--cert", node.Cert, "--key", node.Key)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("fleetd log:\n%s", b)
		}
	})
	op := fleetv1connect.NewClusterServiceClient(httpClient(t, c.client), "https://"+api)
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := op.GetStatus(ctx(t), connect.NewRequest(&fleetv1.GetStatusRequest{}))
		if err == nil && st.Msg.GetRaftState() == "Leader" {
			return api
		}
		if time.Now().After(deadline) {
			t.Fatalf("fleetd did not become leader within 30s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRegistersWithFleet starts a real fleetd and an agent with a join
// token: the agent registers its host and both drives, and its heartbeats
// carry each drive's free space.
func TestRegistersWithFleet(t *testing.T) {
	c := newCerts(t)
	api := startFleetd(t, c)
	hc := httpClient(t, c.client)
	fleet := fleetv1connect.NewFleetServiceClient(hc, "https://"+api)
	for _, step := range []func() error{
		func() error {
			_, err := fleet.AddSite(ctx(t), connect.NewRequest(&fleetv1.AddSiteRequest{Id: "s"}))
			return err
		},
		func() error {
			_, err := fleet.AddRoom(ctx(t), connect.NewRequest(&fleetv1.AddRoomRequest{Id: "m", Site: "s"}))
			return err
		},
		func() error {
			_, err := fleet.AddRow(ctx(t), connect.NewRequest(&fleetv1.AddRowRequest{Id: "w", Room: "m"}))
			return err
		},
		func() error {
			_, err := fleet.AddRack(ctx(t), connect.NewRequest(&fleetv1.AddRackRequest{Id: "r1", Row: "w"}))
			return err
		},
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := fleetv1connect.NewTokenServiceClient(hc, "https://"+api).CreateToken(ctx(t),
		connect.NewRequest(&fleetv1.CreateTokenRequest{Rack: "r1"}))
	if err != nil {
		t.Fatal(err)
	}

	a := startAgent(t, append(devArgs(c, t.TempDir()), "--fleet-addr", api, "--join-token", tok.Msg.GetToken(),
		"--host-id", "host-1", "--rack", "r1")...)
	deadline := time.Now().Add(30 * time.Second)
	for {
		host, err := fleet.GetHost(ctx(t), connect.NewRequest(&fleetv1.GetHostRequest{Id: "host-1"}))
		reported := 0
		if err == nil {
			for _, d := range host.Msg.GetDrives() {
				// An empty drive's capacity, what its extents can hold,
				// is all free; the zones the store keeps for itself are
				// not in it.
				if c := d.GetCapacityBytes(); d.GetReport().GetFreeBytes() == c && c > 0 && c < 128<<20 {
					reported++
				}
			}
			if host.Msg.GetHost().GetAddress() != a.addr {
				t.Fatalf("fleetd has the agent at %q, want %q", host.Msg.GetHost().GetAddress(), a.addr)
			}
		}
		if reported == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s fleetd knows %d drives of host-1 with free space, want 2 (last error %v):\n%s", reported, err, a.output())
		}
		time.Sleep(100 * time.Millisecond)
	}
	a.stop()
}
