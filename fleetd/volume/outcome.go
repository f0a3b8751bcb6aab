package volume

import (
	"errors"

	"connectrpc.com/connect"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/fleetd/state"
)

// refused reports whether a proposal's error means its command was not
// applied and never will be: the state machine rejected it, or no leader
// took it. Any other error (a timeout, leadership lost while the command
// was in flight) leaves the outcome unknown: the command may have been
// applied, so the data it names must not be deleted. What it names is
// then either recorded, or an orphan that a later attempt overwrites or
// the cross-check removes.
func refused(err error) bool {
	var se *state.Error
	if errors.As(err, &se) {
		return true
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce.Meta().Get(fleetv1.MetaStateCode) != "" || ce.Meta().Get(fleetv1.MetaNoLeader) != ""
	}
	return false
}
