package main

import (
	"fmt"

	"connectrpc.com/connect"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/urfave/cli/v2"
)

// rackAdd is fleetctl rack add: a rack, and the site, room and row it
// stands in when the fleet does not know them yet.
func rackAdd(c *cli.Context) error {
	id, err := oneArg(c, "ID")
	if err != nil {
		return err
	}
	site, room, row := c.String("site"), c.String("room"), c.String("row")
	if site == "" || room == "" || row == "" {
		return usageErrorf("give --site, --room and --row: where the rack stands (each is made if the fleet does not know it)")
	}
	budget := c.Uint("power-budget")
	f, err := dial(c)
	if err != nil {
		return err
	}
	// The parents first, each made once: a fleet that knows one already
	// says so, and that is what was wanted.
	steps := []struct {
		what string
		add  func() error
	}{
		{"site " + site, func() error {
			_, _, err := callWrite(c.Context, f, &fleetv1.AddSiteRequest{Id: site}, func(s *clients) rpc[fleetv1.AddSiteRequest, fleetv1.AddSiteResponse] {
				return s.fleet.AddSite
			})
			return err
		}},
		{"room " + room, func() error {
			_, _, err := callWrite(c.Context, f, &fleetv1.AddRoomRequest{Id: room, Site: site}, func(s *clients) rpc[fleetv1.AddRoomRequest, fleetv1.AddRoomResponse] {
				return s.fleet.AddRoom
			})
			return err
		}},
		{"row " + row, func() error {
			_, _, err := callWrite(c.Context, f, &fleetv1.AddRowRequest{Id: row, Room: room}, func(s *clients) rpc[fleetv1.AddRowRequest, fleetv1.AddRowResponse] {
				return s.fleet.AddRow
			})
			return err
		}},
	}
	for _, s := range steps {
		if err := s.add(); err != nil && connect.CodeOf(err) != connect.CodeAlreadyExists {
			return fmt.Errorf("adding %s: %w", s.what, err)
		}
	}
	_, _, err = callWrite(c.Context, f, &fleetv1.AddRackRequest{Id: id, Row: row, PowerBudgetWatts: uint32(budget)}, func(s *clients) rpc[fleetv1.AddRackRequest, fleetv1.AddRackResponse] {
		return s.fleet.AddRack
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "added rack %s in %s / %s / %s\n", id, site, room, row)
	return nil
}

// hostAdd is fleetctl host add: a host, before its agent registers.
func hostAdd(c *cli.Context) error {
	id, err := oneArg(c, "ID")
	if err != nil {
		return err
	}
	if c.String("rack") == "" {
		return usageErrorf("give --rack: the rack the host stands in")
	}
	f, err := dial(c)
	if err != nil {
		return err
	}
	_, _, err = callWrite(c.Context, f, &fleetv1.AddHostRequest{Id: id, Rack: c.String("rack"), Address: c.String("address")}, func(s *clients) rpc[fleetv1.AddHostRequest, fleetv1.AddHostResponse] {
		return s.fleet.AddHost
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "added host %s in rack %s\n", id, c.String("rack"))
	return nil
}
