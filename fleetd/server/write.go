package server

import (
	"context"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"github.com/shingle-storage/shingle/fleetd/state"
)

// writeTimeout bounds a write whose caller set no deadline: long enough
// for an election and a retry, short enough that a client is not left
// hanging by a cluster without a quorum.
const writeTimeout = 15 * time.Second

// propose applies a state command through Raft (forwarding it to the
// leader if this server is a follower) and returns the state machine's
// result, or the API error for its rejection or failure.
func (s *Server) propose(ctx context.Context, c state.Command) (state.Result, error) {
	data, err := state.Encode(c)
	if err != nil {
		return state.Result{}, connect.NewError(connect.CodeInternal, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, writeTimeout)
		defer cancel()
	}
	// Fail fast, as reads do, when there is no leader to be had: the
	// caller learns it in seconds rather than at its deadline.
	if _, ok := s.node.Leader(); !ok {
		wctx, cancel := context.WithTimeout(ctx, leaderWait)
		_, err := s.node.WaitLeader(wctx)
		cancel()
		if err != nil {
			return state.Result{}, s.noLeaderKnown()
		}
	}
	start := time.Now()
	res, err := s.node.Apply(ctx, data)
	s.metrics.observeCommit(time.Since(start), err)
	if err != nil {
		return state.Result{}, toConnect(err)
	}
	r, ok := res.(state.Result)
	if !ok {
		return state.Result{}, connect.NewError(connect.CodeInternal, fmt.Errorf("the state machine returned %T for %s", res, c.Type()))
	}
	return r, nil
}
