package main

import (
	"fmt"
	"strconv"
	"strings"

	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/urfave/cli/v2"
)

// twoArgs returns the command's two positional arguments.
func twoArgs(c *cli.Context, a, b string) (string, string, error) {
	if c.NArg() != 2 {
		return "", "", usageErrorf("%s takes two arguments, %s and %s, after any flags", c.Command.HelpName, a, b)
	}
	return c.Args().Get(0), c.Args().Get(1), nil
}

func driveSetState(c *cli.Context) error {
	id, st, err := twoArgs(c, "ID", "STATE")
	if err != nil {
		return err
	}
	f, err := dial(c)
	if err != nil {
		return err
	}
	req := &fleetv1.SetDriveStateRequest{Id: id, State: st, Reason: c.String("reason")}
	_, _, err = callWrite(c.Context, f, req, func(s *clients) rpc[fleetv1.SetDriveStateRequest, fleetv1.SetDriveStateResponse] {
		return s.fleet.SetDriveState
	})
	return err
}

func hostSetState(c *cli.Context) error {
	id, st, err := twoArgs(c, "ID", "STATE")
	if err != nil {
		return err
	}
	f, err := dial(c)
	if err != nil {
		return err
	}
	_, _, err = callWrite(c.Context, f, &fleetv1.SetHostStateRequest{Id: id, State: st}, func(s *clients) rpc[fleetv1.SetHostStateRequest, fleetv1.SetHostStateResponse] {
		return s.fleet.SetHostState
	})
	return err
}

func volumeSeal(c *cli.Context) error {
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
	res, _, err := callWrite(c.Context, f, &fleetv1.SealVolumeRequest{Id: id}, func(s *clients) rpc[fleetv1.SealVolumeRequest, fleetv1.SealVolumeResponse] {
		return s.volume.SealVolume
	})
	if err != nil {
		return err
	}
	return p.message(res, func(t *table) {
		v := res.GetVolume()
		t.pair("volume", v.GetId())
		t.pair("state", v.GetState())
		t.pair("generation", v.GetGeneration())
	})
}

// repairCommand is fleetctl repair: the leader's durability work.
func repairCommand() *cli.Command {
	return &cli.Command{
		Name:  "repair",
		Usage: "watch the repair of lost replicas and shards, and moves off draining drives",
		Subcommands: []*cli.Command{
			{
				Name: "status", Usage: "show repairs (most urgent first) and moves off draining drives, queued and running, and encodings",
				Flags: []cli.Flag{outputFlag()}, Action: repairStatus,
			},
		},
	}
}

func repairStatus(c *cli.Context) error {
	f, p, err := setup(c)
	if err != nil {
		return err
	}
	res, _, err := call(c.Context, f, &fleetv1.GetRepairStatusRequest{}, func(s *clients) rpc[fleetv1.GetRepairStatusRequest, fleetv1.GetRepairStatusResponse] {
		return s.volume.GetRepairStatus
	})
	if err != nil {
		return err
	}
	return p.message(res, func(t *table) {
		t.pair("running", len(res.GetRunning()))
		t.pair("queued", len(res.GetQueued()))
		t.pair("repaired", fmt.Sprintf("%d (%s), %d failed attempts, %s/s recently", res.GetRepaired(), size(res.GetRepairedBytes()), res.GetFailed(), size(uint64(res.GetBytesPerSecond()))))
		t.pair("moved", fmt.Sprintf("%d (%s) off draining drives", res.GetMoved(), size(res.GetMovedBytes())))
		t.pair("encoded", fmt.Sprintf("%d, %d sealed volumes waiting", res.GetEncoded(), res.GetEncodeWaiting()))
		t.pair("compacted", fmt.Sprintf("%d (volume images rewritten without their deleted blobs), %s freed", res.GetCompacted(), size(res.GetCompactedBytes())))
		if cc := res.GetCrossCheck(); cc.GetCheckedAt() != nil {
			t.pair("cross-check", fmt.Sprintf("%s: %d drives, %d members missing, %d orphaned extents (%d deleted)",
				ago(cc.GetCheckedAt()), cc.GetDrives(), len(cc.GetMissing()), len(cc.GetOrphaned()), cc.GetOrphansDeleted()))
			for _, s := range append(cc.GetMissing(), cc.GetOrphaned()...) {
				t.pair("  ", s)
			}
		}
		if r := res.GetRecentReads(); len(r) > 0 {
			t.pair("reads per rebuilt member", fmt.Sprint(r))
		}
		if len(res.GetRunning())+len(res.GetQueued()) == 0 {
			return
		}
		t.blank()
		t.row("VOLUME", "SCHEME", "STATE", "MARGIN", "LOST OR MOVING", "READS", "PROGRESS", "REASON")
		for _, group := range []struct {
			name  string
			tasks []*fleetv1.RepairTask
		}{{"running", res.GetRunning()}, {"queued", res.GetQueued()}} {
			for _, r := range group.tasks {
				progress := "-"
				if r.GetTotalBytes() > 0 {
					progress = fmt.Sprintf("%.0f%% of %s", 100*float64(r.GetDoneBytes())/float64(r.GetTotalBytes()), size(r.GetTotalBytes()))
				}
				reason := r.GetReason()
				if r.GetLastError() != "" {
					reason += " (last try: " + r.GetLastError() + ")"
				}
				state := group.name
				if r.GetDrain() {
					state += " (drain)"
				}
				t.row(r.GetVolume(), r.GetScheme(), state, r.GetMargin(), strings.Join(r.GetLostDrives(), ","), r.GetReads(), progress, reason)
			}
		}
	})
}
