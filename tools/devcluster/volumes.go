package main

import (
	"context"
	"fmt"
	"strconv"

	"connectrpc.com/connect"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/api/fleet/v1/fleetv1connect"
)

// devZonesPerExtent is the agents' default extent size in zones; a
// volume replica fills one extent.
const devZonesPerExtent = 4

// durability is how the dev fleet keeps data: what fleetd is told about
// volumes and repairs. The defaults make volumes seal, encode and repair
// within minutes rather than hours, so all of it can be watched.
type durability struct {
	// Code is the erasure code of sealed volumes.
	Code string
	// MaxAge is how long a volume stays open.
	MaxAge string
	// RepairGrace is how long an unreachable host is waited for.
	RepairGrace string
}

// fleetdArgs are the volume flags of every fleetd of the dev cluster.
// The failure domain is the rack when there are racks enough for the
// code's width, else the host.
func (cl *cluster) fleetdArgs(d durability) []string {
	width := 9
	if n, err := codeWidth(d.Code); err == nil {
		width = n
	}
	domain := "rack"
	if cl.cfg.Topology.Racks < width {
		domain = "host"
	}
	return []string{
		"--volume-size", strconv.Itoa(devZoneSize * devZonesPerExtent),
		"--code", d.Code, "--failure-domain", domain,
		"--volume-max-age", d.MaxAge, "--repair-grace", d.RepairGrace,
		"--open-volumes", "2",
	}
}

// codeWidth is the number of shards of an erasure code: k+m for
// RS(k,m), k+l+m for LRC(k,l,m).
func codeWidth(code string) (int, error) {
	var k, l, m int
	if _, err := fmt.Sscanf(code, "RS(%d,%d)", &k, &m); err == nil {
		return k + m, nil
	}
	if _, err := fmt.Sscanf(code, "LRC(%d,%d,%d)", &k, &l, &m); err == nil {
		return k + l + m, nil
	}
	return 0, fmt.Errorf("--code %q: write RS(k,m) or LRC(k,l,m)", code)
}

// putInService moves the hosts and drives the agents registered from
// provisioning into service: a production fleet burns drives in first;
// a development one has nothing to gain from waiting.
func putInService(ctx context.Context, fleet fleetv1connect.FleetServiceClient) error {
	hosts, err := fleet.ListHosts(ctx, connect.NewRequest(&fleetv1.ListHostsRequest{}))
	if err != nil {
		return err
	}
	for _, h := range hosts.Msg.GetHosts() {
		if h.GetState() != "provisioning" {
			continue
		}
		if _, err := fleet.SetHostState(ctx, connect.NewRequest(&fleetv1.SetHostStateRequest{Id: h.GetId(), State: "in_service"})); err != nil {
			return fmt.Errorf("putting host %s in service: %w", h.GetId(), err)
		}
	}
	drives, err := fleet.ListDrives(ctx, connect.NewRequest(&fleetv1.ListDrivesRequest{}))
	if err != nil {
		return err
	}
	for _, d := range drives.Msg.GetDrives() {
		if d.GetState() != "provisioning" {
			continue
		}
		req := &fleetv1.SetDriveStateRequest{Id: d.GetId(), State: "in_service", Reason: "dev cluster: no burn-in"}
		if _, err := fleet.SetDriveState(ctx, connect.NewRequest(req)); err != nil {
			return fmt.Errorf("putting drive %s in service: %w", d.GetId(), err)
		}
	}
	return nil
}
