package server

import (
	"context"
	"time"

	"connectrpc.com/connect"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
)

// join asks the member at cfg.Join to add this server to its cluster,
// retrying until it succeeds or ctx ends: the member may be starting too,
// or holding an election.
func (s *Server) join(ctx context.Context) {
	p := s.peers.get(s.cfg.Join)
	req := &fleetv1.AddMemberRequest{Id: s.cfg.ID, RaftAddress: s.node.Addr(), ApiAddress: s.cfg.APIAddr}
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := p.cluster.AddMember(actx, connect.NewRequest(req))
		cancel()
		if err == nil {
			s.log.Info("joined the cluster", "via", s.cfg.Join)
			return
		}
		if attempt%10 == 0 {
			s.log.Warn("could not join the cluster yet; retrying", "via", s.cfg.Join, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}
