package volume

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"connectrpc.com/connect"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/fleetd/state"
)

// TestRefused tells a proposal the state machine rejected, or no leader
// took, from one whose outcome is unknown: only the first kind lets the
// manager delete the data the command named.
func TestRefused(t *testing.T) {
	rejected := connect.NewError(connect.CodeFailedPrecondition, errors.New("volume 7 is at generation 3, not 2"))
	rejected.Meta().Set(fleetv1.MetaStateCode, "conflict")
	noLeader := connect.NewError(connect.CodeUnavailable, errors.New("no leader"))
	noLeader.Meta().Set(fleetv1.MetaNoLeader, "1")
	unknown := connect.NewError(connect.CodeAborted, errors.New("leadership lost while committing"))
	unknown.Meta().Set(fleetv1.MetaOutcomeUnknown, "1")
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"state error", &state.Error{Code: state.CodeConflict, Msg: "generation moved"}, true},
		{"wrapped state rejection", fmt.Errorf("recording: %w", rejected), true},
		{"no leader", noLeader, true},
		{"outcome unknown", unknown, false},
		{"deadline", connect.NewError(connect.CodeDeadlineExceeded, context.DeadlineExceeded), false},
		{"plain error", errors.New("connection reset"), false},
	} {
		if got := refused(tc.err); got != tc.want {
			t.Errorf("%s: refused = %v, want %v", tc.name, got, tc.want)
		}
	}
}
