package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/api/fleet/v1/fleetv1connect"
	"github.com/shingle-storage/shingle/fleetd/pki"
	"google.golang.org/protobuf/proto"
)

// hostView is the part of "fleetctl host show --output json" the test
// reads.
type hostView struct {
	Host struct {
		State    string `json:"state"`
		Address  string `json:"address"`
		Liveness struct {
			Reachability    string `json:"reachability"`
			RepairCandidate bool   `json:"repair_candidate"`
		} `json:"liveness"`
	} `json:"host"`
	Drives []struct {
		ID     string `json:"id"`
		State  string `json:"state"`
		Report struct {
			FreeBytes string `json:"free_bytes"`
		} `json:"report"`
	} `json:"drives"`
}

// TestAgentRegistersAndGoesSilent registers a host the way an agent will
// (with a join token from fleetctl, through a follower), heartbeats, and
// then stops: the host is reachable, then unreachable after the heartbeat
// timeout, then a repair candidate after the grace period. A certificate
// for one host cannot speak for another.
func TestAgentRegistersAndGoesSilent(t *testing.T) {
	f := threeNodes(t, "--heartbeat-interval", "100ms", "--heartbeat-timeout", "1s", "--repair-grace", "1s")
	l := f.leader()
	f.seed(l)
	if err := f.addRack(ctx(t, 10*time.Second), l, "r1"); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := f.fleetctl(nil, "token", "create", "--rack", "r1", "--output", "json")
	var tok struct{ Token string }
	if code != 0 || json.Unmarshal([]byte(out), &tok) != nil || !strings.Contains(tok.Token, ".") {
		t.Fatalf("token create: exit %d, %s%s", code, out, errOut)
	}

	agentCert := f.cert("host-1", pki.RoleAgent)
	agent := fleetv1connect.NewAgentServiceClient(httpClient(t, agentCert), "https://"+f.follower().api)
	reg := &fleetv1.RegisterRequest{
		JoinToken: tok.Token, HostId: "host-1", Rack: "r1", Address: "127.0.0.1:7400",
		Drives: []*fleetv1.DriveInfo{{Id: "wwn-1", Slot: "1", CapacityBytes: 1 << 30, Model: "emulated"}, {Id: "wwn-2", Slot: "2", CapacityBytes: 1 << 30, Model: "emulated"}},
	}
	// A wrong secret is refused to a host the fleet does not know.
	bad := proto.Clone(reg).(*fleetv1.RegisterRequest)
	bad.JoinToken = strings.Split(tok.Token, ".")[0] + ".wrong"
	if _, err := agent.Register(ctx(t, 10*time.Second), connect.NewRequest(bad)); connect.CodeOf(err) != connect.CodeNotFound {
		t.Fatalf("register with a wrong secret: %v", err)
	}
	res, err := agent.Register(ctx(t, 10*time.Second), connect.NewRequest(reg))
	if err != nil {
		t.Fatal(err)
	}
	if res.Msg.GetHostState() != "provisioning" || len(res.Msg.GetAddedDrives()) != 2 || res.Msg.GetHeartbeatInterval().AsDuration() != 100*time.Millisecond {
		t.Fatalf("register: %v", res.Msg)
	}
	// Registering again finds the drives known. A new drive in a slot
	// another drive holds is refused, with why, and the host and its
	// other drives are registered all the same.
	again := proto.Clone(reg).(*fleetv1.RegisterRequest)
	again.Drives = append(again.Drives, &fleetv1.DriveInfo{Id: "wwn-3", Slot: "2", CapacityBytes: 1 << 30, Model: "emulated"})
	if res, err := agent.Register(ctx(t, 10*time.Second), connect.NewRequest(again)); err != nil || len(res.Msg.GetKnownDrives()) != 2 ||
		len(res.Msg.GetRefusedDrives()) != 1 || !strings.HasPrefix(res.Msg.GetRefusedDrives()[0], "wwn-3: ") || !strings.Contains(res.Msg.GetRefusedDrives()[0], `slot "2"`) {
		t.Fatalf("second register, with a drive in a taken slot: %v, %v", res, err)
	}
	// Once known, the host comes back (a PXE host at its next boot) on
	// its certificate: a token that no longer works does not matter, and
	// its new address is recorded. Saying it is in another rack is not
	// taken without a token.
	bad.Address = "127.0.0.1:7401"
	if _, err := agent.Register(ctx(t, 10*time.Second), connect.NewRequest(bad)); err != nil {
		t.Fatalf("a known host registering again with a stale token: %v", err)
	}
	moved := proto.Clone(bad).(*fleetv1.RegisterRequest)
	moved.Rack = "r2"
	if _, err := agent.Register(ctx(t, 10*time.Second), connect.NewRequest(moved)); connect.CodeOf(err) != connect.CodeNotFound {
		t.Fatalf("a known host saying it moved racks, with a stale token: %v", err)
	}
	// host-1's certificate cannot speak for host-2.
	if _, err := agent.Heartbeat(ctx(t, 5*time.Second), connect.NewRequest(&fleetv1.HeartbeatRequest{HostId: "host-2"})); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("heartbeat for another host: %v", err)
	}

	show := func() hostView {
		t.Helper()
		out, errOut, code := f.fleetctl(nil, "host", "show", "--output", "json", "host-1")
		var v hostView
		if code != 0 || json.Unmarshal([]byte(out), &v) != nil {
			t.Fatalf("host show: exit %d, %s%s", code, out, errOut)
		}
		return v
	}
	beat := func() {
		t.Helper()
		_, err := agent.Heartbeat(ctx(t, 5*time.Second), connect.NewRequest(&fleetv1.HeartbeatRequest{
			HostId: "host-1", Load: 0.5,
			Drives: []*fleetv1.DriveReport{{Id: "wwn-1", FreeBytes: 12345, Health: "ok"}, {Id: "wwn-2", FreeBytes: 1, Health: "suspect"}},
		}))
		if err != nil {
			t.Fatal(err)
		}
	}
	beat()
	v := show()
	if v.Host.Liveness.Reachability != "reachable" || v.Host.Address != "127.0.0.1:7401" || len(v.Drives) != 2 || v.Drives[0].Report.FreeBytes != "12345" {
		t.Fatalf("after a heartbeat: %+v", v)
	}
	eventually(t, 10*time.Second, func() error {
		if v := show(); v.Host.Liveness.Reachability != "unreachable" || v.Host.Liveness.RepairCandidate {
			return fmt.Errorf("silent host: %+v, want unreachable and not yet a repair candidate", v.Host.Liveness)
		}
		return nil
	})
	eventually(t, 10*time.Second, func() error {
		if v := show(); !v.Host.Liveness.RepairCandidate {
			return fmt.Errorf("silent host past the grace period: %+v", v.Host.Liveness)
		}
		return nil
	})
	beat()
	if v := show(); v.Host.Liveness.Reachability != "reachable" || v.Host.Liveness.RepairCandidate {
		t.Fatalf("after heartbeats resume: %+v", v.Host.Liveness)
	}
	// A stale read from a follower has no heartbeats to show.
	out, _, _ = f.fleetctl([]*proc{f.follower()}, "host", "show", "--stale", "--output", "json", "host-1")
	if !strings.Contains(out, `"reachability": "unknown"`) {
		t.Fatalf("stale read on a follower shows liveness it cannot know:\n%s", out)
	}
}
