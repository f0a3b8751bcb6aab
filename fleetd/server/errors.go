package server

import (
	"context"
	"errors"

	"connectrpc.com/connect"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/fleetd/raftnode"
	"github.com/shingle-storage/shingle/fleetd/state"
)

// stateCodes maps the state machine's rejection codes to Connect codes.
var stateCodes = map[state.Code]connect.Code{
	state.CodeInvalid:  connect.CodeInvalidArgument,
	state.CodeNotFound: connect.CodeNotFound,
	state.CodeExists:   connect.CodeAlreadyExists,
	state.CodeConflict: connect.CodeFailedPrecondition,
	state.CodeExpired:  connect.CodePermissionDenied,
}

// toConnect turns what the node, the state machine or a peer returned into
// the error the API returns, keeping what the caller needs to decide what
// to do next.
func toConnect(err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce
	}
	var se *state.Error
	if errors.As(err, &se) {
		code, ok := stateCodes[se.Code]
		if !ok {
			code = connect.CodeFailedPrecondition
		}
		out := connect.NewError(code, errors.New(se.Msg))
		out.Meta().Set(fleetv1.MetaStateCode, string(se.Code))
		return out
	}
	var nl *raftnode.NotLeaderError
	if errors.As(err, &nl) {
		return noLeader(err)
	}
	switch {
	case errors.Is(err, raftnode.ErrOutcomeUnknown):
		out := connect.NewError(connect.CodeAborted, err)
		out.Meta().Set(fleetv1.MetaOutcomeUnknown, "1")
		return out
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, err)
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, err)
	}
	return connect.NewError(connect.CodeInternal, err)
}

// noLeader is the error for a call that needs a leader when none can be
// reached.
func noLeader(err error) *connect.Error {
	out := connect.NewError(connect.CodeUnavailable, err)
	out.Meta().Set(fleetv1.MetaNoLeader, "1")
	return out
}

// invalid is the error for a malformed request.
func invalid(msg string) *connect.Error {
	return connect.NewError(connect.CodeInvalidArgument, errors.New(msg))
}
