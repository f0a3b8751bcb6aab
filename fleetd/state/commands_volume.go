package state

import (
	"fmt"
	"slices"
)

// Command types of the volume commands.
const (
	TypeCreateVolume        CommandType = "volume.create"
	TypeSealVolume          CommandType = "volume.seal"
	TypeEncodeVolume        CommandType = "volume.encode"
	TypeReplaceVolumeMember CommandType = "volume.replace_member"
	TypeDeleteVolume        CommandType = "volume.delete"
)

// CreateVolume creates an open, replicated volume on the given drives. The
// proposer chooses the placement (package placement); Apply checks only what
// safety needs: the scheme is replicated, the placement has one distinct
// drive per replica, and every drive is in service on a host in service.
// The new volume's id is in Result.Volume.
type CreateVolume struct {
	// Scheme must be replicated: volumes are born replicated and coded only
	// once sealed.
	Scheme Scheme `json:"scheme"`
	// Placement lists one drive per replica.
	Placement []string `json:"placement"`
	// MemberBytes is the space each replica reserves.
	MemberBytes uint64 `json:"member_bytes"`
}

// Type returns TypeCreateVolume.
func (*CreateVolume) Type() CommandType { return TypeCreateVolume }

func (c *CreateVolume) apply(s *State) (Result, *Error) {
	id := s.lastVolume + 1
	name := fmt.Sprintf("new volume %d", id)
	if err := c.Scheme.check(); err != nil {
		return Result{}, err
	}
	if c.Scheme.Kind != Replicated {
		return Result{}, invalidf("%s: volumes start replicated; encode a sealed volume with %s", name, TypeEncodeVolume)
	}
	if c.MemberBytes == 0 {
		return Result{}, invalidf("%s: member_bytes is zero", name)
	}
	if err := s.checkPlacement(name, c.Scheme, c.Placement); err != nil {
		return Result{}, err
	}
	s.lastVolume = id
	s.volumes[id] = Volume{
		ID: id, Scheme: c.Scheme, State: VolumeOpen,
		Placement: slices.Clone(c.Placement), Generation: 1, MemberBytes: c.MemberBytes,
	}
	return Result{Volume: id, Generation: 1}, nil
}

// SealVolume stops appends to an open volume. Sealing a sealed volume again
// changes nothing, so a retried seal is harmless.
type SealVolume struct {
	// ID names the volume.
	ID VolumeID `json:"id"`
}

// Type returns TypeSealVolume.
func (*SealVolume) Type() CommandType { return TypeSealVolume }

func (c *SealVolume) apply(s *State) (Result, *Error) {
	v, ok := s.volumes[c.ID]
	if !ok {
		return Result{}, notFoundf("volume %d does not exist", c.ID)
	}
	switch v.State {
	case VolumeSealed:
		return Result{Volume: v.ID, Generation: v.Generation}, nil
	case VolumeOpen:
	default:
		return Result{}, conflictf("volume %d is %s; only an open volume can be sealed", c.ID, v.State)
	}
	v.State = VolumeSealed
	s.volumes[c.ID] = v
	return Result{Volume: v.ID, Generation: v.Generation}, nil
}

// EncodeVolume records that a sealed volume now lives as erasure-coded
// shards: it switches the volume's scheme and placement in one step, so the
// replicas may be deleted once this applies. ExpectedGeneration makes it a
// compare-and-swap: if a repair changed the replicas while the encoder ran,
// the encode is rejected and must be redone from the new replicas.
type EncodeVolume struct {
	// ID names the volume.
	ID VolumeID `json:"id"`
	// ExpectedGeneration is the generation the encoder read.
	ExpectedGeneration uint64 `json:"expected_generation"`
	// Scheme is the code (RS or LRC).
	Scheme Scheme `json:"scheme"`
	// Placement lists one drive per shard, in shard order.
	Placement []string `json:"placement"`
	// MemberBytes is the size of one shard.
	MemberBytes uint64 `json:"member_bytes"`
	// Purged lists the keys of the volume's Deleted list the image leaves
	// out (see DeleteBlobs); they leave the list.
	Purged []string `json:"purged,omitempty"`
	// Blobs is how many blobs the image holds.
	Blobs uint64 `json:"blobs,omitempty"`
}

// Type returns TypeEncodeVolume.
func (*EncodeVolume) Type() CommandType { return TypeEncodeVolume }

func (c *EncodeVolume) apply(s *State) (Result, *Error) {
	name := fmt.Sprintf("volume %d", c.ID)
	if err := c.Scheme.check(); err != nil {
		return Result{}, err
	}
	if !c.Scheme.Coded() {
		return Result{}, invalidf("%s: encode needs an erasure code, not %v", name, c.Scheme)
	}
	if c.MemberBytes == 0 {
		return Result{}, invalidf("%s: member_bytes is zero", name)
	}
	v, ok := s.volumes[c.ID]
	if !ok {
		return Result{}, notFoundf("%s does not exist", name)
	}
	if v.State != VolumeSealed {
		return Result{}, conflictf("%s is %s; only a sealed volume can be encoded", name, v.State)
	}
	if v.Generation != c.ExpectedGeneration {
		return Result{}, conflictf("%s is at generation %d, not %d; its placement changed, re-read it and encode again", name, v.Generation, c.ExpectedGeneration)
	}
	// Every shard is written anew, so every member must be able to take
	// new data, including drives that held a replica.
	if err := s.checkPlacement(name, c.Scheme, c.Placement); err != nil {
		return Result{}, err
	}
	for _, k := range c.Purged {
		if err := checkKey(k); err != nil {
			return Result{}, invalidf("%s: %v", name, err)
		}
	}
	v.Scheme = c.Scheme
	v.State = VolumeEncoded
	v.Placement = slices.Clone(c.Placement)
	v.MemberBytes = c.MemberBytes
	v.Deleted = removeKeys(v.Deleted, c.Purged)
	v.Blobs, v.Epoch = c.Blobs, 0
	v.Generation++
	s.volumes[c.ID] = v
	return Result{Volume: v.ID, Generation: v.Generation}, nil
}

// ReplaceVolumeMember puts a new drive in place of one member of a volume's
// placement: how repair rebuilds a lost replica or shard, and how a drain
// moves one away. It is a compare-and-swap on the generation, so two
// repairs of the same volume cannot both win. The old member's state does
// not matter (it is usually failed or draining); the new drive must be in
// service and not already a member.
type ReplaceVolumeMember struct {
	// ID names the volume.
	ID VolumeID `json:"id"`
	// ExpectedGeneration is the generation the repair planned against.
	ExpectedGeneration uint64 `json:"expected_generation"`
	// Index is the position in the placement to replace (the shard number
	// for a coded volume).
	Index int `json:"index"`
	// Drive is the new member.
	Drive string `json:"drive"`
}

// Type returns TypeReplaceVolumeMember.
func (*ReplaceVolumeMember) Type() CommandType { return TypeReplaceVolumeMember }

func (c *ReplaceVolumeMember) apply(s *State) (Result, *Error) {
	name := fmt.Sprintf("volume %d", c.ID)
	v, ok := s.volumes[c.ID]
	if !ok {
		return Result{}, notFoundf("%s does not exist", name)
	}
	if v.Generation != c.ExpectedGeneration {
		return Result{}, conflictf("%s is at generation %d, not %d; its placement changed, re-read it and plan again", name, v.Generation, c.ExpectedGeneration)
	}
	if c.Index < 0 || c.Index >= len(v.Placement) {
		return Result{}, invalidf("%s: member %d does not exist; the placement has %d members", name, c.Index, len(v.Placement))
	}
	if i := v.Member(c.Drive); i >= 0 {
		return Result{}, conflictf("%s: drive %q is already member %d", name, c.Drive, i)
	}
	if err := s.checkNewMember(name, c.Drive); err != nil {
		return Result{}, err
	}
	v.Placement = slices.Clone(v.Placement)
	v.Placement[c.Index] = c.Drive
	v.Generation++
	s.volumes[c.ID] = v
	return Result{Volume: v.ID, Generation: v.Generation}, nil
}

// DeleteVolume forgets a volume whose blobs are all deleted (or that was
// created by mistake). Its id is never given out again.
type DeleteVolume struct {
	// ID names the volume.
	ID VolumeID `json:"id"`
}

// Type returns TypeDeleteVolume.
func (*DeleteVolume) Type() CommandType { return TypeDeleteVolume }

func (c *DeleteVolume) apply(s *State) (Result, *Error) {
	v, ok := s.volumes[c.ID]
	if !ok {
		return Result{}, notFoundf("volume %d does not exist", c.ID)
	}
	delete(s.volumes, c.ID)
	return Result{Volume: v.ID, Generation: v.Generation}, nil
}

// checkPlacement checks a whole new placement for scheme: one member per
// replica or shard, no drive twice, every drive able to take new data.
func (s *State) checkPlacement(vol string, scheme Scheme, placement []string) *Error {
	if len(placement) != scheme.Width() {
		return invalidf("%s: %v needs %d drives, the placement names %d", vol, scheme, scheme.Width(), len(placement))
	}
	for i, d := range placement {
		if slices.Contains(placement[:i], d) {
			return invalidf("%s: drive %q appears twice in the placement", vol, d)
		}
	}
	for _, d := range placement {
		if err := s.checkNewMember(vol, d); err != nil {
			return err
		}
	}
	return nil
}

// checkNewMember reports why drive cannot take a new member of a volume:
// it must exist, be in service, and sit in a host that is in service.
func (s *State) checkNewMember(vol string, drive string) *Error {
	d, ok := s.drives[drive]
	if !ok {
		return notFoundf("%s: drive %q does not exist", vol, drive)
	}
	if d.State != DriveInService {
		return conflictf("%s: drive %q is %s, not in_service; choose another drive", vol, drive, d.State)
	}
	if h := s.hosts[d.Host]; h.State != HostInService {
		return conflictf("%s: drive %q is in host %q, which is %s, not in_service; choose another drive", vol, drive, d.Host, h.State)
	}
	return nil
}
