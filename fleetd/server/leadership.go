package server

import (
	"context"
	"time"

	"connectrpc.com/connect"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/fleetd/state"
)

// leadershipPoll is how often the loops below look at Raft's state, on top
// of Raft's own leadership notifications (which can drop a change).
const leadershipPoll = 250 * time.Millisecond

// watchLeadership starts the soft state when this server becomes leader
// and drops it when it stops being leader, until ctx ends.
func (s *Server) watchLeadership(ctx context.Context) {
	tick := time.NewTicker(leadershipPoll)
	defer tick.Stop()
	was := false
	// The volume manager's background work runs while this server leads;
	// it ends with ctx at the latest.
	stopVolumes := func() {}
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.node.LeaderCh():
		case <-tick.C:
		}
		is := s.node.IsLeader()
		if is == was {
			continue
		}
		was = is
		if is {
			s.live.Start()
			s.log.Info("became leader; counting host heartbeats from now")
			vctx, stop := context.WithCancel(ctx)
			stopVolumes = stop
			go s.volumes.Run(vctx)
		} else {
			s.live.Stop()
			stopVolumes()
			s.log.Info("no longer leader")
		}
	}
}

// removalCheck is how long a server that was a member goes without a
// leader before it asks the others whether it is still a member.
const removalCheck = 3 * time.Second

// watchRemoval closes removed when this server learns it was removed from
// the cluster. Raft shuts itself down when it applies a configuration
// without this server; but a removed follower usually never receives that
// configuration (the leader stops replicating to it first), and just goes
// without a leader. So a server that has been a member (it holds a log)
// and has had no leader for a while asks the other members for the leader's member list,
// and stops if it is not on it. A server cut off from the others gets no
// answer and keeps waiting.
func (s *Server) watchRemoval(ctx context.Context, removed chan<- struct{}) {
	tick := time.NewTicker(leadershipPoll)
	defer tick.Stop()
	var leaderless time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if s.node.Stats()["state"] == "Shutdown" {
			close(removed)
			return
		}
		if _, ok := s.node.Leader(); ok {
			leaderless = time.Time{}
			continue
		}
		switch {
		case !s.hasLog():
		case leaderless.IsZero():
			leaderless = time.Now()
		case time.Since(leaderless) >= removalCheck:
			leaderless = time.Now()
			if s.removedPerPeers(ctx) {
				close(removed)
				return
			}
		}
	}
}

// hasLog reports whether this server holds any Raft log or snapshot: a
// leader sends them only to members, so a server that has them has been a
// member (one waiting to be added has neither).
func (s *Server) hasLog() bool {
	stats := s.node.Stats()
	return stats["last_log_index"] != "0" || stats["last_snapshot_index"] != "0"
}

// removedPerPeers asks the other recorded members for the leader's member
// list and reports whether the first answer leaves this server out.
func (s *Server) removedPerPeers(ctx context.Context) bool {
	var others []string
	s.fsm.Read(func(st *state.State) {
		for _, m := range st.Members() {
			if m.ID != s.cfg.ID {
				others = append(others, m.APIAddress)
			}
		}
	})
	for _, addr := range others {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		res, err := s.peers.get(addr).cluster.ListMembers(cctx, connect.NewRequest(&fleetv1.ListMembersRequest{}))
		cancel()
		if err != nil {
			continue
		}
		for _, m := range res.Msg.GetMembers() {
			if m.GetId() == s.cfg.ID {
				return false
			}
		}
		s.log.Warn("the leader's member list does not include this server", "asked", addr)
		return true
	}
	return false
}
