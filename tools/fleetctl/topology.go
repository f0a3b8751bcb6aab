package main

import (
	"fmt"
	"math"

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
	if budget > math.MaxUint32 {
		return usageErrorf("--power-budget %d: at most %d watts", budget, uint64(math.MaxUint32))
	}
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
	known := false
	for _, s := range steps {
		err := s.add()
		known = known || connect.CodeOf(err) == connect.CodeAlreadyExists
		if err != nil && connect.CodeOf(err) != connect.CodeAlreadyExists {
			return fmt.Errorf("adding %s: %w", s.what, err)
		}
	}
	// Room and row ids are the fleet's, not the site's: one that exists
	// already may stand elsewhere than --site and --room say. The racks
	// in it tell where, before this one joins them.
	if known {
		racks, _, err := call(c.Context, f, &fleetv1.ListRacksRequest{}, func(s *clients) rpc[fleetv1.ListRacksRequest, fleetv1.ListRacksResponse] {
			return s.fleet.ListRacks
		})
		if err != nil {
			return err
		}
		for _, r := range racks.GetRacks() {
			if (r.GetRoom() == room && r.GetSite() != site) || (r.GetRow() == row && (r.GetRoom() != room || r.GetSite() != site)) {
				return fmt.Errorf("rack %s stands in %s / %s / %s: room and row ids are unique across the fleet, so %q or %q names one elsewhere than %s / %s / %s; give ids of their own (such as %s-%s)",
					r.GetId(), r.GetSite(), r.GetRoom(), r.GetRow(), room, row, site, room, row, site, row)
			}
		}
	}
	_, _, err = callWrite(c.Context, f, &fleetv1.AddRackRequest{Id: id, Row: row, PowerBudgetWatts: uint32(budget)}, func(s *clients) rpc[fleetv1.AddRackRequest, fleetv1.AddRackResponse] {
		return s.fleet.AddRack
	})
	existed := connect.CodeOf(err) == connect.CodeAlreadyExists
	if err != nil && !existed {
		return err
	}
	// Room and row ids are the fleet's, not the site's: a room or row
	// that exists already may stand elsewhere than --site and --room say.
	// The rack is where the fleet says it is; compare.
	got, _, err := call(c.Context, f, &fleetv1.GetRackRequest{Id: id}, func(s *clients) rpc[fleetv1.GetRackRequest, fleetv1.GetRackResponse] {
		return s.fleet.GetRack
	})
	if err != nil {
		return err
	}
	if r := got.GetRack(); r.GetSite() != site || r.GetRoom() != room || r.GetRow() != row {
		return fmt.Errorf("rack %s stands in %s / %s / %s, not %s / %s / %s: room and row ids are unique across the fleet, so %q or %q names one elsewhere; give ids of their own (such as %s-%s)",
			id, r.GetSite(), r.GetRoom(), r.GetRow(), site, room, row, room, row, site, row)
	}
	if existed {
		fmt.Fprintf(c.App.Writer, "rack %s exists in %s / %s / %s already\n", id, site, room, row)
		return nil
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
