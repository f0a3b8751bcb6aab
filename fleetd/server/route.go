package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"connectrpc.com/connect"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
)

// relayHeader marks a call a follower relayed to the leader, naming the
// follower. A server that receives a relayed call and is not the leader
// answers Unavailable instead of relaying it again, so leadership moving
// mid-call cannot make calls bounce between servers.
const relayHeader = "Shingle-Relayed-By"

// leaderWait bounds how long a call waits for an election to finish before
// answering that there is no leader.
const leaderWait = 3 * time.Second

// leaderPeer returns nil when this server is the leader and may serve a
// leader-only call itself, or else the leader's API clients to relay the
// call to. It fails with a no-leader error when no leader can be found.
func (s *Server) leaderPeer(ctx context.Context, h http.Header) (*peer, error) {
	if s.node.IsLeader() {
		return nil, nil
	}
	if by := h.Get(relayHeader); by != "" {
		return nil, noLeader(fmt.Errorf("%s relayed this call to %s as the leader, but %s is not the leader any more; retry", by, s.cfg.ID, s.cfg.ID))
	}
	wctx, cancel := context.WithTimeout(ctx, leaderWait)
	defer cancel()
	l, err := s.node.WaitLeader(wctx)
	if err != nil {
		return nil, s.noLeaderKnown()
	}
	if l.ID == s.cfg.ID {
		// Elected while waiting.
		return nil, nil
	}
	addr := s.memberAPI(l.ID)
	if addr == "" {
		return nil, noLeader(fmt.Errorf("the leader %s has not recorded its API address yet; retry in a moment", l.ID))
	}
	return s.peers.get(addr), nil
}

// noLeaderKnown is the error for a call that needs a leader when this
// server knows none.
func (s *Server) noLeaderKnown() error {
	return noLeader(fmt.Errorf("%s knows no leader: an election is under way, or it is cut off from a quorum of the cluster; retry, or ask another server", s.cfg.ID))
}

// readPeer prepares a read. For a stale read it returns nil: answer from
// this server's copy. Otherwise on the leader it runs a read barrier and
// returns nil, and on a follower it returns the leader to relay to.
func (s *Server) readPeer(ctx context.Context, stale bool, h http.Header) (*peer, error) {
	if stale {
		return nil, nil
	}
	p, err := s.leaderPeer(ctx, h)
	if err != nil || p != nil {
		return p, err
	}
	if err := s.node.ReadBarrier(ctx); err != nil {
		return nil, toConnect(err)
	}
	return nil, nil
}

// relay sends req to the leader p with call (one of p's client methods)
// and returns the leader's answer.
func relay[Req, Res any](ctx context.Context, s *Server, p *peer, req *connect.Request[Req],
	call func(context.Context, *connect.Request[Req]) (*connect.Response[Res], error)) (*connect.Response[Res], error) {
	out := connect.NewRequest(req.Msg)
	out.Header().Set(relayHeader, s.cfg.ID)
	s.metrics.relayed.Inc()
	res, err := call(ctx, out)
	if err == nil {
		return connect.NewResponse(res.Msg), nil
	}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return nil, toConnect(err)
	}
	// Pass on the leader's code, message and Shingle metadata, not its
	// transport headers.
	clean := connect.NewError(ce.Code(), errors.New(ce.Message()))
	for _, k := range []string{fleetv1.MetaStateCode, fleetv1.MetaNoLeader, fleetv1.MetaOutcomeUnknown} {
		if v := ce.Meta().Get(k); v != "" {
			clean.Meta().Set(k, v)
		}
	}
	// A connection reset mid-call comes back as canceled, although this
	// caller cancelled nothing: it too means the leader did not answer.
	unanswered := ce.Code() == connect.CodeUnavailable || ce.Code() == connect.CodeCanceled && ctx.Err() == nil
	if unanswered && clean.Meta().Get(fleetv1.MetaNoLeader) == "" {
		// The leader did not answer at all. If the connection could not
		// be made, or the call only reads, that is all there is to say.
		// Otherwise the call reached the leader, which may have acted on
		// it before its answer was lost (it was killed or cut off after
		// committing a write): the caller must not take this for "not
		// applied", which is what no-leader means for a write.
		if dialFailed(err) || req.Spec().IdempotencyLevel == connect.IdempotencyNoSideEffects {
			return nil, noLeader(fmt.Errorf("%s cannot reach the leader's API at %s: %s", s.cfg.ID, p.addr, ce.Message()))
		}
		out := connect.NewError(connect.CodeAborted, fmt.Errorf("%s relayed the call to the leader at %s, which did not answer (%s); it may or may not have been applied: re-read the state before retrying", s.cfg.ID, p.addr, ce.Message()))
		out.Meta().Set(fleetv1.MetaOutcomeUnknown, "1")
		return nil, out
	}
	return nil, clean
}
