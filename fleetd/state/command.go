package state

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// CommandVersion is the version of the command envelope written by Encode.
// Decode accepts only this version. A change that alters what an existing
// command means gets a new command type, not a new meaning for an old one;
// this number moves only if the envelope itself changes.
//
// Upgrades: every node must run a release that knows a command type before
// any node proposes it. A node that meets an unknown type rejects the entry
// (deterministically, so the replicas agree), which is safe but useless.
const CommandVersion = 1

// CommandType is the tag that says which command an envelope carries. Tags
// are "<noun>.<verb>" and are never reused for a different meaning.
type CommandType string

// Command is one change to the fleet state. Every command is a plain struct
// with JSON tags; the set of commands is closed (apply is unexported), so
// everything that can change the state is in this package.
type Command interface {
	// Type returns the tag the command is encoded under.
	Type() CommandType
	// apply validates the command against s and, only if it is acceptable,
	// applies it. It must be deterministic and must not modify s when it
	// returns an error.
	apply(s *State) (Result, *Error)
}

// Result is what a successfully applied command returns to its proposer.
type Result struct {
	// Index is the Raft log index the command was applied at (set by FSM;
	// zero when State.Apply is called directly).
	Index uint64 `json:"index,omitempty"`
	// Volume is the id of the volume the command created or changed.
	Volume VolumeID `json:"volume,omitempty"`
	// Generation is the volume's placement generation after the command.
	Generation uint64 `json:"generation,omitempty"`
	// Count is how many items a bulk command (PruneJoinTokens) affected.
	Count int `json:"count,omitempty"`
}

// envelope is the encoded form of a command in the Raft log:
//
//	{"v":1,"type":"drive.set_state","cmd":{"id":"5000c500a1b2c3d4","state":"suspect"}}
type envelope struct {
	Version int             `json:"v"`
	Type    CommandType     `json:"type"`
	Cmd     json.RawMessage `json:"cmd"`
}

// Encode turns a command into the bytes proposed to the Raft log.
func Encode(c Command) ([]byte, error) {
	body, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode %s command: %w", c.Type(), err)
	}
	return json.Marshal(envelope{Version: CommandVersion, Type: c.Type(), Cmd: body})
}

// Decode reads a command written by Encode. Unknown versions, unknown types
// and unknown fields are rejected: a field this release does not know would
// otherwise be silently dropped, and the replicas that do know it would
// disagree about the state.
func Decode(data []byte) (Command, error) {
	var env envelope
	if err := strictUnmarshal(data, &env); err != nil {
		return nil, invalidf("command envelope: %v", err)
	}
	if env.Version != CommandVersion {
		return nil, invalidf("command version %d is not supported (this release reads version %d); upgrade every fleetd node", env.Version, CommandVersion)
	}
	c := newCommand(env.Type)
	if c == nil {
		return nil, invalidf("command type %q is unknown to this release; upgrade every fleetd node before using it", env.Type)
	}
	if err := strictUnmarshal(env.Cmd, c); err != nil {
		return nil, invalidf("%s command: %v", env.Type, err)
	}
	return c, nil
}

// strictUnmarshal decodes exactly one JSON value with no unknown fields.
func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}

// newCommand returns a pointer to a zero command of type t, or nil if t is
// unknown. Adding a command means adding it here and in CommandTypes.
func newCommand(t CommandType) Command {
	switch t {
	case TypeAddSite:
		return &AddSite{}
	case TypeRemoveSite:
		return &RemoveSite{}
	case TypeAddRoom:
		return &AddRoom{}
	case TypeRemoveRoom:
		return &RemoveRoom{}
	case TypeAddRow:
		return &AddRow{}
	case TypeRemoveRow:
		return &RemoveRow{}
	case TypeAddRack:
		return &AddRack{}
	case TypeSetRackPowerBudget:
		return &SetRackPowerBudget{}
	case TypeRemoveRack:
		return &RemoveRack{}
	case TypeAddHost:
		return &AddHost{}
	case TypeJoinHost:
		return &JoinHost{}
	case TypeSetHostState:
		return &SetHostState{}
	case TypeSetHostAddress:
		return &SetHostAddress{}
	case TypeRemoveHost:
		return &RemoveHost{}
	case TypeAddDrive:
		return &AddDrive{}
	case TypeSetDriveState:
		return &SetDriveState{}
	case TypeSetDriveFirmware:
		return &SetDriveFirmware{}
	case TypeRemoveDrive:
		return &RemoveDrive{}
	case TypeCreateVolume:
		return &CreateVolume{}
	case TypeSealVolume:
		return &SealVolume{}
	case TypeEncodeVolume:
		return &EncodeVolume{}
	case TypeReplaceVolumeMember:
		return &ReplaceVolumeMember{}
	case TypeDeleteVolume:
		return &DeleteVolume{}
	case TypeDeleteBlobs:
		return &DeleteBlobs{}
	case TypeCompactVolume:
		return &CompactVolume{}
	case TypeCreateJoinToken:
		return &CreateJoinToken{}
	case TypeRevokeJoinToken:
		return &RevokeJoinToken{}
	case TypePruneJoinTokens:
		return &PruneJoinTokens{}
	case TypeSetMember:
		return &SetMember{}
	case TypeRemoveMember:
		return &RemoveMember{}
	}
	return nil
}

// CommandTypes lists every command type this release knows, in the order
// they are documented. Tools use it to describe the log format; tests use it
// to check that every type round-trips.
func CommandTypes() []CommandType {
	return []CommandType{
		TypeAddSite, TypeRemoveSite, TypeAddRoom, TypeRemoveRoom, TypeAddRow, TypeRemoveRow,
		TypeAddRack, TypeSetRackPowerBudget, TypeRemoveRack,
		TypeAddHost, TypeJoinHost, TypeSetHostState, TypeSetHostAddress, TypeRemoveHost,
		TypeAddDrive, TypeSetDriveState, TypeSetDriveFirmware, TypeRemoveDrive,
		TypeCreateVolume, TypeSealVolume, TypeEncodeVolume, TypeReplaceVolumeMember, TypeDeleteVolume,
		TypeDeleteBlobs, TypeCompactVolume,
		TypeCreateJoinToken, TypeRevokeJoinToken, TypePruneJoinTokens,
		TypeSetMember, TypeRemoveMember,
	}
}

// Apply validates c against the state and applies it. On error the state is
// unchanged. The same command applied to equal states gives equal states and
// equal results (or equal errors) on every node.
func (s *State) Apply(c Command) (Result, error) {
	if c == nil {
		return Result{}, invalidf("no command")
	}
	r, err := c.apply(s)
	if err != nil {
		return Result{}, err
	}
	return r, nil
}
