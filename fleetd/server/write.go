package server

import (
	"context"
	"fmt"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
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
	ctx, span := s.traceApply(ctx, string(c.Type()), data)
	res, err := s.node.Apply(ctx, data)
	endSpan(span, err)
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

// traceApply opens the span of a command's trip through Raft: on a
// follower it holds the forwarding call to the leader, on the leader the
// append, replication to a quorum and apply. kind is the command's type if
// known.
func (s *Server) traceApply(ctx context.Context, kind string, data []byte) (context.Context, trace.Span) {
	attrs := []attribute.KeyValue{attribute.Int("shingle.command_bytes", len(data))}
	if kind != "" {
		attrs = append(attrs, attribute.String("shingle.command", kind))
	}
	return s.cfg.Tracer.Tracer("github.com/shingle-storage/shingle/fleetd/server").Start(ctx, "raft.apply",
		trace.WithAttributes(attrs...))
}

// endSpan ends span, recording err if there is one.
func endSpan(span trace.Span, err error) {
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
