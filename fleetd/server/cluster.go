package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"connectrpc.com/connect"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/fleetd/state"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// clusterService serves ClusterService: the Raft group itself.
type clusterService struct{ s *Server }

// GetStatus answers from this server alone, so that it works on a server
// cut off from the leader: that is when an operator needs it most.
func (c *clusterService) GetStatus(ctx context.Context, _ *connect.Request[fleetv1.GetStatusRequest]) (*connect.Response[fleetv1.GetStatusResponse], error) {
	s := c.s
	stats := s.node.Stats()
	num := func(k string) uint64 { n, _ := strconv.ParseUint(stats[k], 10, 64); return n }
	out := &fleetv1.GetStatusResponse{
		NodeId: s.cfg.ID, RaftState: stats["state"], Term: num("term"),
		LastLogIndex: num("last_log_index"), CommitIndex: num("commit_index"), AppliedIndex: num("applied_index"),
		ApiAddress: s.cfg.APIAddr, RaftAddress: s.node.Addr(),
	}
	if l, ok := s.node.Leader(); ok {
		out.LeaderId = l.ID
		out.LeaderApiAddress = s.memberAPI(l.ID)
	}
	if lc := s.node.LastContact(); !lc.IsZero() && !s.node.IsLeader() {
		out.LastContact = timestamppb.New(lc)
	}
	if servers, err := s.node.Servers(ctx); err == nil {
		out.Members = uint32(len(servers))
	}
	s.fsm.Read(func(st *state.State) { out.Fleet = countsOf(st) })
	return connect.NewResponse(out), nil
}

// ListMembers lists the Raft configuration with each member's API address.
func (c *clusterService) ListMembers(ctx context.Context, req *connect.Request[fleetv1.ListMembersRequest]) (*connect.Response[fleetv1.ListMembersResponse], error) {
	s := c.s
	if p, err := s.readPeer(ctx, req.Msg.GetStale(), req.Header()); err != nil || p != nil {
		if err != nil {
			return nil, err
		}
		return relay(ctx, s, p, req, p.cluster.ListMembers)
	}
	servers, err := s.node.Servers(ctx)
	if err != nil {
		return nil, toConnect(err)
	}
	leader, _ := s.node.Leader()
	out := &fleetv1.ListMembersResponse{}
	for _, m := range servers {
		out.Members = append(out.Members, &fleetv1.Member{
			Id: m.ID, RaftAddress: m.Address, ApiAddress: s.memberAPI(m.ID), Voter: m.Voter, Leader: m.ID == leader.ID,
		})
	}
	return connect.NewResponse(out), nil
}

// AddMember adds a voting member and records its API address.
func (c *clusterService) AddMember(ctx context.Context, req *connect.Request[fleetv1.AddMemberRequest]) (*connect.Response[fleetv1.AddMemberResponse], error) {
	s := c.s
	m := req.Msg
	if m.GetId() == "" || m.GetRaftAddress() == "" || m.GetApiAddress() == "" {
		return nil, invalid("adding a member needs its id, Raft address and API address")
	}
	p, err := s.leaderPeer(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	if p != nil {
		return relay(ctx, s, p, req, p.cluster.AddMember)
	}
	// Record the address first, so the new member is reachable the moment
	// it counts towards the quorum.
	if _, err := s.propose(ctx, &state.SetMember{ID: m.GetId(), APIAddress: m.GetApiAddress()}); err != nil {
		return nil, err
	}
	if err := s.node.AddVoter(ctx, m.GetId(), m.GetRaftAddress()); err != nil {
		return nil, toConnect(err)
	}
	s.log.Info("added a member", "member", m.GetId(), "raft", m.GetRaftAddress(), "api", m.GetApiAddress(), "by", callerOf(ctx).Name)
	return connect.NewResponse(&fleetv1.AddMemberResponse{}), nil
}

// RemoveMember removes a member and forgets its API address.
func (c *clusterService) RemoveMember(ctx context.Context, req *connect.Request[fleetv1.RemoveMemberRequest]) (*connect.Response[fleetv1.RemoveMemberResponse], error) {
	s := c.s
	id := req.Msg.GetId()
	if id == "" {
		return nil, invalid("say which member to remove")
	}
	p, err := s.leaderPeer(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	if p != nil {
		return relay(ctx, s, p, req, p.cluster.RemoveMember)
	}
	servers, err := s.node.Servers(ctx)
	if err != nil {
		return nil, toConnect(err)
	}
	found := false
	for _, m := range servers {
		found = found || m.ID == id
	}
	if !found {
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("%s is not a member; see fleetctl cluster members", id))
	}
	// Forget the address first: once the member is out, a leader that
	// removed itself can no longer write.
	if _, err := s.propose(ctx, &state.RemoveMember{ID: id}); err != nil && connect.CodeOf(err) != connect.CodeNotFound {
		return nil, err
	}
	if err := s.node.RemoveServer(ctx, id); err != nil {
		return nil, toConnect(err)
	}
	s.log.Info("removed a member", "member", id, "by", callerOf(ctx).Name)
	return connect.NewResponse(&fleetv1.RemoveMemberResponse{}), nil
}

// TransferLeadership hands leadership over.
func (c *clusterService) TransferLeadership(ctx context.Context, req *connect.Request[fleetv1.TransferLeadershipRequest]) (*connect.Response[fleetv1.TransferLeadershipResponse], error) {
	s := c.s
	p, err := s.leaderPeer(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	if p != nil {
		return relay(ctx, s, p, req, p.cluster.TransferLeadership)
	}
	if err := s.node.TransferLeadership(ctx, req.Msg.GetToId()); err != nil {
		return nil, connect.NewError(connect.CodeFailedPrecondition, err)
	}
	out := &fleetv1.TransferLeadershipResponse{}
	// The new leader is known once this server hears from it.
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for wctx.Err() == nil {
		if l, ok := s.node.Leader(); ok && l.ID != s.cfg.ID {
			out.LeaderId = l.ID
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.log.Info("transferred leadership", "to", out.LeaderId, "by", callerOf(ctx).Name)
	return connect.NewResponse(out), nil
}

// TakeSnapshot takes a Raft snapshot on the leader.
func (c *clusterService) TakeSnapshot(ctx context.Context, req *connect.Request[fleetv1.TakeSnapshotRequest]) (*connect.Response[fleetv1.TakeSnapshotResponse], error) {
	s := c.s
	p, err := s.leaderPeer(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	if p != nil {
		return relay(ctx, s, p, req, p.cluster.TakeSnapshot)
	}
	info, err := s.node.Snapshot(ctx)
	if err != nil {
		return nil, connect.NewError(connect.CodeFailedPrecondition, err)
	}
	return connect.NewResponse(&fleetv1.TakeSnapshotResponse{
		NodeId: s.cfg.ID, SnapshotId: info.ID, Index: info.Index, Term: info.Term, SizeBytes: info.Size,
	}), nil
}

// DownloadSnapshot returns a fresh snapshot's bytes.
func (c *clusterService) DownloadSnapshot(ctx context.Context, req *connect.Request[fleetv1.DownloadSnapshotRequest]) (*connect.Response[fleetv1.DownloadSnapshotResponse], error) {
	s := c.s
	p, err := s.leaderPeer(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	if p != nil {
		return relay(ctx, s, p, req, p.cluster.DownloadSnapshot)
	}
	var buf bytes.Buffer
	info, err := s.node.Backup(ctx, &buf)
	if err != nil {
		return nil, connect.NewError(connect.CodeFailedPrecondition, err)
	}
	return connect.NewResponse(&fleetv1.DownloadSnapshotResponse{NodeId: s.cfg.ID, Index: info.Index, Term: info.Term, Data: buf.Bytes()}), nil
}

// RestoreSnapshot replaces the fleet state with a backup.
func (c *clusterService) RestoreSnapshot(ctx context.Context, req *connect.Request[fleetv1.RestoreSnapshotRequest]) (*connect.Response[fleetv1.RestoreSnapshotResponse], error) {
	s := c.s
	if len(req.Msg.GetData()) == 0 {
		return nil, invalid("the snapshot is empty")
	}
	p, err := s.leaderPeer(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	if p != nil {
		return relay(ctx, s, p, req, p.cluster.RestoreSnapshot)
	}
	f, err := os.CreateTemp(s.cfg.Dir, "restore-*.snap")
	if err != nil {
		return nil, connect.NewError(connect.CodeInternal, err)
	}
	path := f.Name()
	defer os.Remove(path)
	_, werr := f.Write(req.Msg.GetData())
	if err := errors.Join(werr, f.Close()); err != nil {
		return nil, connect.NewError(connect.CodeInternal, fmt.Errorf("stage the snapshot in %s: %w", filepath.Dir(path), err))
	}
	if err := s.node.Restore(ctx, path); err != nil {
		return nil, connect.NewError(connect.CodeFailedPrecondition, err)
	}
	s.log.Warn("restored the fleet state from a backup; writes since the backup are gone", "bytes", len(req.Msg.GetData()), "by", callerOf(ctx).Name)
	return connect.NewResponse(&fleetv1.RestoreSnapshotResponse{}), nil
}
