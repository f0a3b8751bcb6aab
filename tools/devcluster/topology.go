package main

import (
	"context"
	"fmt"

	"connectrpc.com/connect"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/api/fleet/v1/fleetv1connect"
)

// topology is the shape of the development fleet: one site, room and row,
// with racks of hosts of drives.
type topology struct {
	Racks         int    `json:"racks"`
	HostsPerRack  int    `json:"hosts_per_rack"`
	DrivesPerHost int    `json:"drives_per_host"`
	DriveBytes    uint64 `json:"drive_bytes"`
}

// Names of the development fleet's places.
const (
	devSite = "dev-site"
	devRoom = "dev-room"
	devRow  = "dev-row"
	// devRackWatts is every rack's power budget.
	devRackWatts = 8000
)

// rackID names rack r (from 1).
func rackID(r int) string { return fmt.Sprintf("rack-%d", r) }

// hostID names host h (from 1) of rack r.
func hostID(r, h int) string { return fmt.Sprintf("rack-%d-host-%d", r, h) }

// hosts lists every host as (rack, host) ids.
func (t topology) hosts() [][2]string {
	var out [][2]string
	for r := 1; r <= t.Racks; r++ {
		for h := 1; h <= t.HostsPerRack; h++ {
			out = append(out, [2]string{rackID(r), hostID(r, h)})
		}
	}
	return out
}

// register records the site, room, row, racks and hosts in the fleet
// state. What exists already is left alone, so it is safe on every run.
// The hosts are added on the operator's word, without an address: when
// agents run, each joins as its host with the cluster's join token, and
// registers its drives.
func (t topology) register(ctx context.Context, f fleetv1connect.FleetServiceClient) error {
	steps := []func() error{
		func() error {
			_, err := f.AddSite(ctx, connect.NewRequest(&fleetv1.AddSiteRequest{Id: devSite}))
			return err
		},
		func() error {
			_, err := f.AddRoom(ctx, connect.NewRequest(&fleetv1.AddRoomRequest{Id: devRoom, Site: devSite}))
			return err
		},
		func() error {
			_, err := f.AddRow(ctx, connect.NewRequest(&fleetv1.AddRowRequest{Id: devRow, Room: devRoom}))
			return err
		},
	}
	for r := 1; r <= t.Racks; r++ {
		steps = append(steps, func() error {
			_, err := f.AddRack(ctx, connect.NewRequest(&fleetv1.AddRackRequest{Id: rackID(r), Row: devRow, PowerBudgetWatts: devRackWatts}))
			return err
		})
	}
	for _, rh := range t.hosts() {
		steps = append(steps, func() error {
			_, err := f.AddHost(ctx, connect.NewRequest(&fleetv1.AddHostRequest{Id: rh[1], Rack: rh[0]}))
			return err
		})
	}
	for _, step := range steps {
		if err := step(); err != nil && connect.CodeOf(err) != connect.CodeAlreadyExists {
			return fmt.Errorf("register the topology: %w", err)
		}
	}
	return nil
}
