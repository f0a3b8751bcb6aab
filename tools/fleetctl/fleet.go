package main

import (
	"fmt"
	"strconv"
	"strings"

	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/urfave/cli/v2"
)

// The rack, host, drive and volume commands read the fleet state. They are
// linearizable (answered by the leader) unless --stale is given.

func rackCommand() *cli.Command {
	return &cli.Command{
		Name:  "rack",
		Usage: "list, show and add racks",
		Subcommands: []*cli.Command{
			{Name: "list", Usage: "list every rack", Flags: readFlags(), Action: rackList},
			{Name: "show", Usage: "show one rack and its hosts", ArgsUsage: "ID", Flags: readFlags(), Action: rackShow},
			{
				Name: "add", Usage: "add a rack, and the site, room and row it stands in if the fleet does not know them", ArgsUsage: "ID",
				Description: `A rack is a failure domain: no two members of a volume share one (unless
fleetd runs with --failure-domain host). Hosts join a rack with a join token
(fleetctl token create --rack ID) or with fleetctl host add.

   fleetctl rack add --site ams1 --room m2 --row r07 --power-budget 12000 r07-12`,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "site", Usage: "the site (data centre) the rack is in"},
					&cli.StringFlag{Name: "room", Usage: "the room of the site"},
					&cli.StringFlag{Name: "row", Usage: "the row of the room"},
					&cli.UintFlag{Name: "power-budget", Usage: "the rack's power budget in watts (0: unset)"},
				},
				Action: rackAdd,
			},
		},
	}
}

func rackList(c *cli.Context) error {
	f, p, err := setup(c)
	if err != nil {
		return err
	}
	res, _, err := call(c.Context, f, &fleetv1.ListRacksRequest{Stale: c.Bool("stale")}, func(s *clients) rpc[fleetv1.ListRacksRequest, fleetv1.ListRacksResponse] {
		return s.fleet.ListRacks
	})
	if err != nil {
		return err
	}
	return p.message(res, func(t *table) {
		t.row("ID", "SITE", "ROOM", "ROW", "HOSTS", "DRIVES", "POWER BUDGET")
		for _, r := range res.GetRacks() {
			t.row(r.GetId(), r.GetSite(), r.GetRoom(), r.GetRow(), r.GetHosts(), r.GetDrives(), watts(r.GetPowerBudgetWatts()))
		}
	})
}

// watts renders a power budget.
func watts(w uint32) string {
	if w == 0 {
		return "unset"
	}
	return fmt.Sprintf("%d W", w)
}

func rackShow(c *cli.Context) error {
	id, err := oneArg(c, "ID")
	if err != nil {
		return err
	}
	f, p, err := setup(c)
	if err != nil {
		return err
	}
	res, _, err := call(c.Context, f, &fleetv1.GetRackRequest{Id: id, Stale: c.Bool("stale")}, func(s *clients) rpc[fleetv1.GetRackRequest, fleetv1.GetRackResponse] {
		return s.fleet.GetRack
	})
	if err != nil {
		return err
	}
	return p.message(res, func(t *table) {
		r := res.GetRack()
		t.pair("rack", r.GetId())
		t.pair("site/room/row", strings.Join([]string{r.GetSite(), r.GetRoom(), r.GetRow()}, " / "))
		t.pair("power budget", watts(r.GetPowerBudgetWatts()))
		t.pair("hosts", r.GetHosts())
		t.pair("drives", r.GetDrives())
		t.blank()
		hostRows(t, res.GetHosts())
	})
}

// hostRows prints a table of hosts.
func hostRows(t *table, hosts []*fleetv1.Host) {
	t.row("HOST", "RACK", "STATE", "REACHABILITY", "LAST HEARTBEAT", "DRIVES", "ADDRESS")
	for _, h := range hosts {
		reach := h.GetLiveness().GetReachability()
		if h.GetLiveness().GetRepairCandidate() {
			reach += " (repair candidate)"
		}
		t.row(h.GetId(), h.GetRack(), h.GetState(), reach, ago(h.GetLiveness().GetLastHeartbeat()), h.GetDrives(), h.GetAddress())
	}
}

func hostCommand() *cli.Command {
	return &cli.Command{
		Name:  "host",
		Usage: "list, show and add storage hosts",
		Subcommands: []*cli.Command{
			{
				Name: "list", Usage: "list hosts with their state and reachability",
				Flags:  append(readFlags(), &cli.StringFlag{Name: "rack", Usage: "only hosts in this rack"}),
				Action: hostList,
			},
			{Name: "show", Usage: "show one host and its drives", ArgsUsage: "ID", Flags: readFlags(), Action: hostShow},
			{
				Name: "add", Usage: "add a host to a rack before its agent registers (agents with a join token add their own)", ArgsUsage: "ID",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "rack", Usage: "the rack the host stands in"},
					&cli.StringFlag{Name: "address", Usage: "the agent's host:port, if known (its registration sets it)"},
				},
				Action: hostAdd,
			},
			{Name: "set-state", Usage: "move a host to another state (provisioning, in_service, maintenance, retired)", ArgsUsage: "ID STATE", Action: hostSetState},
		},
	}
}

func hostList(c *cli.Context) error {
	f, p, err := setup(c)
	if err != nil {
		return err
	}
	res, _, err := call(c.Context, f, &fleetv1.ListHostsRequest{Stale: c.Bool("stale"), Rack: c.String("rack")}, func(s *clients) rpc[fleetv1.ListHostsRequest, fleetv1.ListHostsResponse] {
		return s.fleet.ListHosts
	})
	if err != nil {
		return err
	}
	return p.message(res, func(t *table) { hostRows(t, res.GetHosts()) })
}

func hostShow(c *cli.Context) error {
	id, err := oneArg(c, "ID")
	if err != nil {
		return err
	}
	f, p, err := setup(c)
	if err != nil {
		return err
	}
	res, _, err := call(c.Context, f, &fleetv1.GetHostRequest{Id: id, Stale: c.Bool("stale")}, func(s *clients) rpc[fleetv1.GetHostRequest, fleetv1.GetHostResponse] {
		return s.fleet.GetHost
	})
	if err != nil {
		return err
	}
	return p.message(res, func(t *table) {
		h := res.GetHost()
		l := h.GetLiveness()
		t.pair("host", h.GetId())
		t.pair("rack", h.GetRack())
		t.pair("state", h.GetState())
		t.pair("address", h.GetAddress())
		t.pair("joined", ago(h.GetJoinedAt()))
		t.pair("reachability", l.GetReachability())
		t.pair("last heartbeat", ago(l.GetLastHeartbeat()))
		if l.GetReachability() != "reachable" {
			t.pair("silent since", ago(l.GetSilentSince()))
		}
		t.pair("repair candidate", yes(l.GetRepairCandidate()))
		t.pair("load", fmt.Sprintf("%.2f", h.GetLoad()))
		t.blank()
		driveRows(t, res.GetDrives())
	})
}

// driveRows prints a table of drives.
func driveRows(t *table, drives []*fleetv1.Drive) {
	t.row("DRIVE", "HOST", "SLOT", "STATE", "CAPACITY", "FREE", "HEALTH", "MODEL", "FIRMWARE")
	for _, d := range drives {
		free, health := "", ""
		if r := d.GetReport(); r != nil {
			free, health = size(r.GetFreeBytes()), r.GetHealth()
		}
		t.row(d.GetId(), d.GetHost(), d.GetSlot(), d.GetState(), size(d.GetCapacityBytes()), free, health, d.GetModel(), d.GetFirmware())
	}
}

func driveCommand() *cli.Command {
	return &cli.Command{
		Name:  "drive",
		Usage: "list and show drives",
		Subcommands: []*cli.Command{
			{
				Name: "list", Usage: "list drives with their state, capacity and health",
				Flags: append(readFlags(),
					&cli.StringFlag{Name: "host", Usage: "only drives on this host"},
					&cli.StringFlag{Name: "state", Usage: "only drives in this state (provisioning, in_service, suspect, draining, drained, failed, awaiting_replacement, retired)"}),
				Action: driveList,
			},
			{Name: "show", Usage: "show one drive and the volumes on it", ArgsUsage: "ID", Flags: readFlags(), Action: driveShow},
			{
				Name: "set-state", Usage: "move a drive to another state of its workflow", ArgsUsage: "ID STATE",
				Description: `States: provisioning, in_service, suspect, draining, drained, failed,
awaiting_replacement, retired. An illegal move is refused with the moves
allowed from the drive's state. Marking a drive failed makes the leader
repair the volumes it held. Marking it draining makes the leader move
every volume member off it (fleetctl repair status shows the moves) and
then mark it drained, ready to pull; moving it back to in_service, or to
suspect, cancels the drain. A suspect drive keeps its data and takes no
new volumes while you decide, and the leader does not drain it on its
own when its agent reports it failing.`,
				Flags:  []cli.Flag{&cli.StringFlag{Name: "reason", Usage: "why, for whoever looks next"}},
				Action: driveSetState,
			},
		},
	}
}

func driveList(c *cli.Context) error {
	f, p, err := setup(c)
	if err != nil {
		return err
	}
	req := &fleetv1.ListDrivesRequest{Stale: c.Bool("stale"), Host: c.String("host"), State: c.String("state")}
	res, _, err := call(c.Context, f, req, func(s *clients) rpc[fleetv1.ListDrivesRequest, fleetv1.ListDrivesResponse] {
		return s.fleet.ListDrives
	})
	if err != nil {
		return err
	}
	return p.message(res, func(t *table) { driveRows(t, res.GetDrives()) })
}

func driveShow(c *cli.Context) error {
	id, err := oneArg(c, "ID")
	if err != nil {
		return err
	}
	f, p, err := setup(c)
	if err != nil {
		return err
	}
	res, _, err := call(c.Context, f, &fleetv1.GetDriveRequest{Id: id, Stale: c.Bool("stale")}, func(s *clients) rpc[fleetv1.GetDriveRequest, fleetv1.GetDriveResponse] {
		return s.fleet.GetDrive
	})
	if err != nil {
		return err
	}
	return p.message(res, func(t *table) {
		d := res.GetDrive()
		t.pair("drive", d.GetId())
		t.pair("host / rack / slot", strings.Join([]string{d.GetHost(), d.GetRack(), d.GetSlot()}, " / "))
		t.pair("state", d.GetState())
		t.pair("reason", d.GetReason())
		t.pair("model / firmware", d.GetModel()+" / "+d.GetFirmware())
		t.pair("capacity", size(d.GetCapacityBytes()))
		t.pair("reserved", size(d.GetReservedBytes()))
		if r := d.GetReport(); r != nil {
			t.pair("free (agent)", size(r.GetFreeBytes()))
			t.pair("load", fmt.Sprintf("%.2f", r.GetLoad()))
			t.pair("health", fmt.Sprintf("%s (p(failure) %.3f) %s", r.GetHealth(), r.GetFailureProbability(), strings.Join(r.GetHealthReasons(), "; ")))
		}
		t.pair("host reachability", d.GetLiveness().GetReachability())
		vols := make([]string, len(res.GetVolumes()))
		for i, v := range res.GetVolumes() {
			vols[i] = strconv.FormatUint(v, 10)
		}
		t.pair("volumes", fmt.Sprintf("%d %s", len(vols), strings.Join(vols, " ")))
	})
}

func volumeCommand() *cli.Command {
	return &cli.Command{
		Name:  "volume",
		Usage: "list, show and seal volumes",
		Subcommands: []*cli.Command{
			{Name: "seal", Usage: "stop writes to an open volume; it is then erasure coded", ArgsUsage: "ID", Flags: []cli.Flag{outputFlag()}, Action: volumeSeal},
			{
				Name: "list", Usage: "list volumes with their scheme, state and placement",
				Flags: append(readFlags(),
					&cli.StringFlag{Name: "drive", Usage: "only volumes with a member on this drive"},
					&cli.StringFlag{Name: "state", Usage: "only volumes in this state (open, sealed, encoded)"}),
				Action: volumeList,
			},
			{Name: "show", Usage: "show one volume", ArgsUsage: "ID", Flags: readFlags(), Action: volumeShow},
		},
	}
}

func volumeList(c *cli.Context) error {
	f, p, err := setup(c)
	if err != nil {
		return err
	}
	req := &fleetv1.ListVolumesRequest{Stale: c.Bool("stale"), Drive: c.String("drive"), State: c.String("state")}
	res, _, err := call(c.Context, f, req, func(s *clients) rpc[fleetv1.ListVolumesRequest, fleetv1.ListVolumesResponse] {
		return s.fleet.ListVolumes
	})
	if err != nil {
		return err
	}
	return p.message(res, func(t *table) {
		t.row("VOLUME", "SCHEME", "STATE", "GENERATION", "MEMBER SIZE", "DELETED", "PLACEMENT")
		for _, v := range res.GetVolumes() {
			t.row(v.GetId(), v.GetScheme().GetName(), v.GetState(), v.GetGeneration(), size(v.GetMemberBytes()), v.GetDeletedBlobs(), strings.Join(v.GetPlacement(), ","))
		}
	})
}

func volumeShow(c *cli.Context) error {
	arg, err := oneArg(c, "ID")
	if err != nil {
		return err
	}
	id, err := strconv.ParseUint(arg, 10, 64)
	if err != nil {
		return usageErrorf("volume id %q is not a number", arg)
	}
	f, p, err := setup(c)
	if err != nil {
		return err
	}
	res, _, err := call(c.Context, f, &fleetv1.GetVolumeRequest{Id: id, Stale: c.Bool("stale")}, func(s *clients) rpc[fleetv1.GetVolumeRequest, fleetv1.GetVolumeResponse] {
		return s.fleet.GetVolume
	})
	if err != nil {
		return err
	}
	return p.message(res, func(t *table) {
		v := res.GetVolume()
		t.pair("volume", v.GetId())
		t.pair("scheme", v.GetScheme().GetName())
		t.pair("state", v.GetState())
		t.pair("generation", v.GetGeneration())
		t.pair("member size", size(v.GetMemberBytes()))
		if v.GetState() == "encoded" {
			t.pair("blobs", v.GetBlobs())
			t.pair("epoch", fmt.Sprintf("%d (compactions so far)", v.GetEpoch()))
		}
		t.pair("deleted blobs", fmt.Sprintf("%d (their space is freed when the volume is encoded or compacted)", v.GetDeletedBlobs()))
		for i, d := range v.GetPlacement() {
			t.pair(fmt.Sprintf("member %d", i), d)
		}
	})
}
