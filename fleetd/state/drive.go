package state

import (
	"slices"
	"strings"
)

// DriveState is where a drive is in its life. The states and the legal moves
// between them are the drive replacement workflow: a drive is provisioned
// (labelled, burned in), serves, may become suspect, is drained of its data,
// and is replaced and retired. A drive that fails outright skips the drain.
type DriveState string

const (
	// DriveProvisioning is a drive that has been discovered but not yet
	// labelled and burned in. It holds no data.
	DriveProvisioning DriveState = "provisioning"
	// DriveInService is a drive that may receive new volumes.
	DriveInService DriveState = "in_service"
	// DriveSuspect is a drive the health predictor (or an operator) does not
	// trust: it keeps serving reads and its data stays, but it receives no
	// new volumes while someone decides whether to drain it.
	DriveSuspect DriveState = "suspect"
	// DriveDraining is a drive whose volumes are being moved elsewhere.
	DriveDraining DriveState = "draining"
	// DriveDrained is a drive that no placement needs any more; it can be
	// pulled without any loss of redundancy.
	DriveDrained DriveState = "drained"
	// DriveFailed is a drive that has stopped serving. Its data is lost from
	// the fleet's point of view and repair rebuilds it elsewhere.
	DriveFailed DriveState = "failed"
	// DriveAwaitingReplacement is a drive waiting for a technician to swap
	// it out.
	DriveAwaitingReplacement DriveState = "awaiting_replacement"
	// DriveRetired is a drive that has left the fleet. It is final; its slot
	// is free for a new drive.
	DriveRetired DriveState = "retired"
)

// driveTransitions lists, for each state, the states a drive may move to.
// It is the one place the replacement workflow's shape is written down; a
// function rather than a package variable so that nothing can modify it.
func driveTransitions(from DriveState) []DriveState {
	switch from {
	case DriveProvisioning:
		return []DriveState{DriveInService, DriveFailed, DriveRetired}
	case DriveInService:
		return []DriveState{DriveSuspect, DriveDraining, DriveFailed}
	case DriveSuspect:
		return []DriveState{DriveInService, DriveDraining, DriveFailed}
	case DriveDraining:
		// Back to in_service cancels a drain that is no longer wanted;
		// to suspect, cancels it but keeps new volumes off the drive.
		return []DriveState{DriveInService, DriveSuspect, DriveDrained, DriveFailed}
	case DriveDrained:
		// Back to provisioning re-qualifies a drive that was drained for a
		// firmware update or a false alarm.
		return []DriveState{DriveProvisioning, DriveAwaitingReplacement, DriveRetired}
	case DriveFailed:
		return []DriveState{DriveAwaitingReplacement, DriveRetired}
	case DriveAwaitingReplacement:
		return []DriveState{DriveRetired}
	}
	return nil
}

// valid reports whether s is one of the defined drive states.
func (s DriveState) valid() bool {
	switch s {
	case DriveProvisioning, DriveInService, DriveSuspect, DriveDraining,
		DriveDrained, DriveFailed, DriveAwaitingReplacement, DriveRetired:
		return true
	}
	return false
}

// CanMoveTo reports whether the workflow allows a drive in state s to move to
// state to. Moving to the state it is already in is allowed (and changes
// nothing), so that a retried command is harmless.
func (s DriveState) CanMoveTo(to DriveState) bool {
	return s == to || slices.Contains(driveTransitions(s), to)
}

// holdsData reports whether a drive in this state may be a member of a
// volume's placement. A drive that is provisioning has not been qualified
// yet, and a drained or retired one has, by definition, nothing on it; every
// other state (even failed, until repair replaces it) may still be named by
// a placement.
func (s DriveState) holdsData() bool {
	return s != DriveProvisioning && s != DriveDrained && s != DriveRetired
}

// nextStates renders the legal moves from s for an error message.
func nextStates(s DriveState) string {
	next := driveTransitions(s)
	if len(next) == 0 {
		return "none (it is final)"
	}
	names := make([]string, len(next))
	for i, n := range next {
		names[i] = string(n)
	}
	return strings.Join(names, ", ")
}

// Drive is one physical drive. It is identified by its WWN (or serial number
// where it has none), never by a kernel name like /dev/sdb, which changes
// across boots.
type Drive struct {
	// ID is the drive's WWN or serial number.
	ID string `json:"id"`
	// Host is the host the drive is attached to.
	Host string `json:"host"`
	// Slot is the enclosure slot the drive sits in, as the technician who
	// replaces it sees it (e.g. "12" or "e1/s12"). At most one drive that
	// is not retired occupies a slot of a host.
	Slot string `json:"slot"`
	// State is where the drive is in its life.
	State DriveState `json:"state"`
	// CapacityBytes is the drive's usable capacity (the sum of its zones'
	// capacities, not the marketing size).
	CapacityBytes uint64 `json:"capacity_bytes"`
	// Model is the drive's model string, which selects its firmware catalog
	// entry.
	Model string `json:"model"`
	// Firmware is the firmware revision the drive last reported.
	Firmware string `json:"firmware"`
	// Reason says why the drive last changed state ("smart: reallocated
	// sectors rising", "operator: chassis swap"), for whoever looks next.
	Reason string `json:"reason,omitempty"`
}
