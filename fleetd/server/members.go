package server

import (
	"context"
	"slices"
	"time"

	"github.com/shingle-storage/shingle/fleetd/raftnode"
	"github.com/shingle-storage/shingle/fleetd/state"
)

// memberAPI returns the API address the member table records for a
// server, or "".
func (s *Server) memberAPI(id string) string {
	var addr string
	s.fsm.Read(func(st *state.State) {
		if m, ok := st.Member(id); ok {
			addr = m.APIAddress
		}
	})
	return addr
}

// recordSelf keeps this server's entry in the member table equal to the
// address it serves on, until ctx ends. The entry goes missing when the
// server is new, and may be wrong after it moved or after a restore from
// another cluster's backup; the server fixes it itself as soon as it is a
// member and a leader is known.
func (s *Server) recordSelf(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if s.memberAPI(s.cfg.ID) == s.cfg.APIAddr {
			continue
		}
		if _, ok := s.node.Leader(); !ok || !s.isMember(ctx) {
			continue
		}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := s.propose(wctx, &state.SetMember{ID: s.cfg.ID, APIAddress: s.cfg.APIAddr})
		cancel()
		if err != nil {
			// Log the first failure and then every tenth, not every second.
			if failures%10 == 0 {
				s.log.Warn("could not record this server's API address; retrying", "err", err)
			}
			failures++
			continue
		}
		failures = 0
		s.log.Info("recorded this server's API address in the member table", "api", s.cfg.APIAddr)
	}
}

// isMember reports whether this server is in the Raft configuration it
// knows.
func (s *Server) isMember(ctx context.Context) bool {
	servers, err := s.node.Servers(ctx)
	return err == nil && slices.ContainsFunc(servers, func(m raftnode.Server) bool { return m.ID == s.cfg.ID })
}
