package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/urfave/cli/v2"
)

// clusterCommand is "fleetctl cluster ...": the fleetd Raft group.
func clusterCommand() *cli.Command {
	return &cli.Command{
		Name:  "cluster",
		Usage: "inspect and change the fleetd Raft group",
		Subcommands: []*cli.Command{
			{
				Name:  "status",
				Usage: "show the contacted server's view of the cluster (exit code 4 if it knows no leader)",
				Description: `Shows what the first reachable server in --addr knows: its Raft state,
term and indexes, the leader, and counts from its copy of the fleet
state. It works on a server cut off from the leader, which is when it is
most useful; the exit code is 4 then, so scripts can wait for a leader with
  until fleetctl cluster status >/dev/null; do sleep 1; done`,
				Flags:  []cli.Flag{outputFlag()},
				Action: clusterStatus,
			},
			{
				Name:   "members",
				Usage:  "list the members with their Raft and API addresses",
				Flags:  readFlags(),
				Action: clusterMembers,
			},
			{
				Name:      "join",
				Usage:     "add a running fleetd server with an empty data directory as a voting member",
				ArgsUsage: " ",
				Description: `Usually fleetd --join does this for itself; use this command to add a
server started with neither --bootstrap nor --join.`,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "id", Required: true, Usage: "the new server's --id"},
					&cli.StringFlag{Name: "raft-addr", Required: true, Usage: "the new server's --raft-addr"},
					&cli.StringFlag{Name: "api-addr", Required: true, Usage: "the new server's --api-addr"},
				},
				Action: clusterJoin,
			},
			{
				Name:      "leave",
				Usage:     "remove a member from the cluster (it stops serving)",
				ArgsUsage: "ID",
				Description: `Removes one member. Remove members one at a time and keep a quorum of the
remaining ones running; removing the leader makes the others elect a new
one. The removed server's fleetd exits; its data directory cannot be
reused to rejoin (start it with an empty --dir and --join).`,
				Action: clusterLeave,
			},
			{
				Name:  "transfer-leader",
				Usage: "hand leadership to another member (before maintenance on the leader)",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "to", Usage: "the member to hand leadership to; default: the most up-to-date follower"},
				},
				Action: clusterTransfer,
			},
			{
				Name:  "snapshot",
				Usage: "take, save or restore snapshots of the fleet state",
				Subcommands: []*cli.Command{
					{
						Name:   "take",
						Usage:  "make the leader take a Raft snapshot now (it also takes them as the log grows)",
						Flags:  []cli.Flag{outputFlag()},
						Action: snapshotTake,
					},
					{
						Name:      "save",
						Usage:     "take a snapshot and save it to FILE: a backup of the whole fleet state",
						ArgsUsage: "FILE",
						Action:    snapshotSave,
					},
					{
						Name:      "restore",
						Usage:     "replace the whole fleet state with a saved snapshot (disaster recovery)",
						ArgsUsage: "FILE",
						Description: `Every write made since FILE was saved is lost, on every server. The
cluster's membership is kept. Pass --yes to confirm.`,
						Flags:  []cli.Flag{&cli.BoolFlag{Name: "yes", Usage: "confirm that writes since the snapshot are to be lost"}},
						Action: snapshotRestore,
					},
				},
			},
		},
	}
}

func clusterStatus(c *cli.Context) error {
	f, p, err := setup(c)
	if err != nil {
		return err
	}
	st, _, err := call(c.Context, f, &fleetv1.GetStatusRequest{}, func(s *clients) rpc[fleetv1.GetStatusRequest, fleetv1.GetStatusResponse] {
		return s.cluster.GetStatus
	})
	if err != nil {
		return err
	}
	err = p.message(st, func(t *table) {
		leader := st.GetLeaderId()
		if leader == "" {
			leader = "none known"
		} else if st.GetLeaderApiAddress() != "" {
			leader += " (" + st.GetLeaderApiAddress() + ")"
		}
		t.pair("node", fmt.Sprintf("%s (api %s, raft %s)", st.GetNodeId(), st.GetApiAddress(), st.GetRaftAddress()))
		t.pair("raft state", st.GetRaftState())
		t.pair("leader", leader)
		t.pair("members", st.GetMembers())
		t.pair("term", st.GetTerm())
		t.pair("log", fmt.Sprintf("last %d, committed %d, applied %d", st.GetLastLogIndex(), st.GetCommitIndex(), st.GetAppliedIndex()))
		if st.GetLastContact() != nil {
			t.pair("last contact", ago(st.GetLastContact()))
		}
		fc := st.GetFleet()
		t.pair("racks", fc.GetRacks())
		t.pair("hosts", strings.TrimSpace(fmt.Sprintf("%d %s", fc.GetHosts(), byState(fc.GetHostsByState()))))
		t.pair("drives", strings.TrimSpace(fmt.Sprintf("%d %s", fc.GetDrives(), byState(fc.GetDrivesByState()))))
		t.pair("volumes", strings.TrimSpace(fmt.Sprintf("%d %s", fc.GetVolumes(), byState(fc.GetVolumesByState()))))
	})
	if err != nil {
		return err
	}
	if st.GetLeaderId() == "" {
		return &exitError{code: exitNoLeader, msg: fmt.Sprintf("no leader: %s knows no leader (an election is under way, or it is cut off from a quorum)", st.GetNodeId())}
	}
	return nil
}

// byState renders a count map as "(in_service 4, suspect 1)".
func byState(m map[string]uint32) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func clusterMembers(c *cli.Context) error {
	f, p, err := setup(c)
	if err != nil {
		return err
	}
	res, _, err := call(c.Context, f, &fleetv1.ListMembersRequest{Stale: c.Bool("stale")}, func(s *clients) rpc[fleetv1.ListMembersRequest, fleetv1.ListMembersResponse] {
		return s.cluster.ListMembers
	})
	if err != nil {
		return err
	}
	return p.message(res, func(t *table) {
		t.row("ID", "RAFT ADDRESS", "API ADDRESS", "VOTER", "LEADER")
		for _, m := range res.GetMembers() {
			t.row(m.GetId(), m.GetRaftAddress(), m.GetApiAddress(), m.GetVoter(), yes(m.GetLeader()))
		}
	})
}

// yes renders a flag as "yes" or "".
func yes(b bool) string {
	if b {
		return "yes"
	}
	return ""
}

func clusterJoin(c *cli.Context) error {
	f, _, err := setup(c)
	if err != nil {
		return err
	}
	req := &fleetv1.AddMemberRequest{Id: c.String("id"), RaftAddress: c.String("raft-addr"), ApiAddress: c.String("api-addr")}
	if _, _, err := callWrite(c.Context, f, req, func(s *clients) rpc[fleetv1.AddMemberRequest, fleetv1.AddMemberResponse] {
		return s.cluster.AddMember
	}); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "added %s (raft %s, api %s)\n", req.Id, req.RaftAddress, req.ApiAddress)
	return nil
}

func clusterLeave(c *cli.Context) error {
	id, err := oneArg(c, "ID")
	if err != nil {
		return err
	}
	f, _, err := setup(c)
	if err != nil {
		return err
	}
	if _, _, err := callWrite(c.Context, f, &fleetv1.RemoveMemberRequest{Id: id}, func(s *clients) rpc[fleetv1.RemoveMemberRequest, fleetv1.RemoveMemberResponse] {
		return s.cluster.RemoveMember
	}); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "removed %s\n", id)
	return nil
}

func clusterTransfer(c *cli.Context) error {
	f, _, err := setup(c)
	if err != nil {
		return err
	}
	res, _, err := callWrite(c.Context, f, &fleetv1.TransferLeadershipRequest{ToId: c.String("to")}, func(s *clients) rpc[fleetv1.TransferLeadershipRequest, fleetv1.TransferLeadershipResponse] {
		return s.cluster.TransferLeadership
	})
	if err != nil {
		return err
	}
	leader := res.GetLeaderId()
	if leader == "" {
		leader = "not known yet"
	}
	fmt.Fprintf(c.App.Writer, "leadership transferred; the leader is %s\n", leader)
	return nil
}

func snapshotTake(c *cli.Context) error {
	f, p, err := setup(c)
	if err != nil {
		return err
	}
	res, _, err := callWrite(c.Context, f, &fleetv1.TakeSnapshotRequest{}, func(s *clients) rpc[fleetv1.TakeSnapshotRequest, fleetv1.TakeSnapshotResponse] {
		return s.cluster.TakeSnapshot
	})
	if err != nil {
		return err
	}
	return p.message(res, func(t *table) {
		t.pair("snapshot", res.GetSnapshotId())
		t.pair("taken by", res.GetNodeId())
		t.pair("index", res.GetIndex())
		t.pair("term", res.GetTerm())
		t.pair("size", size(uint64(res.GetSizeBytes())))
	})
}

func snapshotSave(c *cli.Context) error {
	path, err := oneArg(c, "FILE")
	if err != nil {
		return err
	}
	f, _, err := setup(c)
	if err != nil {
		return err
	}
	res, _, err := call(c.Context, f, &fleetv1.DownloadSnapshotRequest{}, func(s *clients) rpc[fleetv1.DownloadSnapshotRequest, fleetv1.DownloadSnapshotResponse] {
		return s.cluster.DownloadSnapshot
	})
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, res.GetData(), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "saved the fleet state at index %d (term %d, %s) from %s to %s\n",
		res.GetIndex(), res.GetTerm(), size(uint64(len(res.GetData()))), res.GetNodeId(), path)
	return nil
}

func snapshotRestore(c *cli.Context) error {
	path, err := oneArg(c, "FILE")
	if err != nil {
		return err
	}
	if !c.Bool("yes") {
		return usageErrorf("restoring %s loses every write made since it was saved; pass --yes to confirm", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	f, _, err := setup(c)
	if err != nil {
		return err
	}
	if _, _, err := callWrite(c.Context, f, &fleetv1.RestoreSnapshotRequest{Data: data}, func(s *clients) rpc[fleetv1.RestoreSnapshotRequest, fleetv1.RestoreSnapshotResponse] {
		return s.cluster.RestoreSnapshot
	}); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "restored the fleet state from %s\n", path)
	return nil
}
