package raftnode

import (
	"context"
	"fmt"

	"github.com/hashicorp/raft"
)

// Membership changes run on the leader; on a follower they return a
// *NotLeaderError naming it. Raft applies one change at a time, through the
// log, so each is as durable as any write.

// AddVoter adds a voting member (or updates the address of an existing
// one). The new member must be running (Open) with an empty data
// directory; it receives the log or a snapshot from the leader and then
// counts towards the quorum.
func (n *Node) AddVoter(ctx context.Context, id, addr string) error {
	f := n.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, timeout(ctx))
	if err := wait(ctx, f); err != nil {
		return fmt.Errorf("raftnode: add voter %s at %s: %w", id, addr, n.leaderError(err))
	}
	return nil
}

// RemoveServer removes a member. A removed member shuts its Raft down;
// removing the leader makes it step down after the change commits. Remove
// members one at a time, and keep a quorum of the remaining ones running.
func (n *Node) RemoveServer(ctx context.Context, id string) error {
	f := n.raft.RemoveServer(raft.ServerID(id), 0, timeout(ctx))
	if err := wait(ctx, f); err != nil {
		return fmt.Errorf("raftnode: remove server %s: %w", id, n.leaderError(err))
	}
	return nil
}

// Servers returns the members in the latest configuration this node knows.
// On a follower it may lag a change the leader has just made.
func (n *Node) Servers(ctx context.Context) ([]Server, error) {
	f := n.raft.GetConfiguration()
	if err := wait(ctx, f); err != nil {
		return nil, fmt.Errorf("raftnode: read configuration: %w", err)
	}
	var out []Server
	for _, s := range f.Configuration().Servers {
		out = append(out, Server{ID: string(s.ID), Address: string(s.Address), Voter: s.Suffrage == raft.Voter})
	}
	return out, nil
}

// TransferLeadership hands leadership to the member with the given id, or
// to the most up-to-date follower if id is empty: before taking the leader
// down for maintenance, so the cluster does not wait out an election
// timeout. It returns once the transfer has succeeded or failed.
func (n *Node) TransferLeadership(ctx context.Context, id string) error {
	var f raft.Future
	if id == "" {
		f = n.raft.LeadershipTransfer()
	} else {
		var addr raft.ServerAddress
		servers, err := n.Servers(ctx)
		if err != nil {
			return err
		}
		for _, s := range servers {
			if s.ID == id {
				addr = raft.ServerAddress(s.Address)
			}
		}
		if addr == "" {
			return fmt.Errorf("raftnode: transfer leadership: %s is not a member; see Servers", id)
		}
		f = n.raft.LeadershipTransferToServer(raft.ServerID(id), addr)
	}
	if err := wait(ctx, f); err != nil {
		return fmt.Errorf("raftnode: transfer leadership: %w", n.leaderError(err))
	}
	return nil
}
