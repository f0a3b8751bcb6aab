package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"

	"connectrpc.com/connect"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/fleetd/raftnode"
	"github.com/shingle-storage/shingle/fleetd/state"
)

// Forward implements raftnode.Forwarder: it sends a command proposed on
// this follower to the leader's ForwardService.Apply and returns what the
// leader's state machine returned. When the leader turns out not to be the
// leader any more, or cannot be reached at all (so the command was not
// sent), it finds the new leader and tries again until ctx ends; once the
// command may have been sent, an error wraps raftnode.ErrOutcomeUnknown.
func (s *Server) Forward(ctx context.Context, leader raftnode.Server, cmd []byte) (any, error) {
	for {
		if leader.ID == s.cfg.ID {
			return s.node.ApplyLocal(ctx, cmd)
		}
		if addr := s.memberAPI(leader.ID); addr != "" {
			res, err := s.peers.get(addr).forward.Apply(ctx, connect.NewRequest(&fleetv1.ApplyRequest{Command: cmd}))
			if err == nil {
				s.metrics.forwarded.Inc()
				return decodeApply(res.Msg)
			}
			if !notSent(err) {
				return nil, fmt.Errorf("%w: forwarding to the leader %s: %v", raftnode.ErrOutcomeUnknown, leader.ID, err)
			}
		}
		// Not applied: wait a moment for the cluster to settle on a leader
		// (and for it to record its address), then try there.
		select {
		case <-ctx.Done():
			return nil, &raftnode.NotLeaderError{}
		case <-time.After(50 * time.Millisecond):
		}
		var err error
		if leader, err = s.node.WaitLeader(ctx); err != nil {
			return nil, err
		}
	}
}

// notSent reports whether a forwarding error proves the command was not
// applied: the leader said it is not the leader (it refuses before
// proposing), or the connection could not even be made.
func notSent(err error) bool {
	var ce *connect.Error
	if errors.As(err, &ce) && ce.Meta().Get(fleetv1.MetaNoLeader) != "" {
		return true
	}
	return dialFailed(err)
}

// dialFailed reports whether err is a failure to connect to a peer: the
// call was never sent.
func dialFailed(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// decodeApply turns the leader's answer back into what the state machine
// returned: a state.Result, or the *state.Error it rejected the command
// with.
func decodeApply(m *fleetv1.ApplyResponse) (any, error) {
	if m.GetErrorCode() != "" {
		return nil, &state.Error{Code: state.Code(m.GetErrorCode()), Msg: m.GetErrorMessage()}
	}
	var r state.Result
	if err := json.Unmarshal(m.GetResult(), &r); err != nil {
		return nil, fmt.Errorf("%w: the leader's answer is unreadable: %v", raftnode.ErrOutcomeUnknown, err)
	}
	return r, nil
}

// forwardService serves ForwardService: the leader's end of Forward.
type forwardService struct{ s *Server }

// Apply proposes a forwarded command on this server, which must be the
// leader; it never forwards again.
func (f *forwardService) Apply(ctx context.Context, req *connect.Request[fleetv1.ApplyRequest]) (*connect.Response[fleetv1.ApplyResponse], error) {
	start := time.Now()
	ctx, span := f.s.traceApply(ctx, "", req.Msg.GetCommand())
	res, err := f.s.node.ApplyLocal(ctx, req.Msg.GetCommand())
	endSpan(span, err)
	f.s.metrics.observeCommit(time.Since(start), err)
	var se *state.Error
	switch {
	case errors.As(err, &se):
		return connect.NewResponse(&fleetv1.ApplyResponse{ErrorCode: string(se.Code), ErrorMessage: se.Msg}), nil
	case err != nil:
		return nil, toConnect(err)
	}
	r, ok := res.(state.Result)
	if !ok {
		return nil, connect.NewError(connect.CodeInternal, fmt.Errorf("the state machine returned %T", res))
	}
	data, err := json.Marshal(r)
	if err != nil {
		return nil, connect.NewError(connect.CodeInternal, err)
	}
	return connect.NewResponse(&fleetv1.ApplyResponse{Result: data}), nil
}
