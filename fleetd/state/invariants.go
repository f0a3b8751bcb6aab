package state

import (
	"fmt"
	"maps"
	"slices"
)

// CheckInvariants verifies everything Apply guarantees about the state:
// every reference points at something that exists, every state is a known
// one, no slot holds two live drives, every volume's placement has one
// distinct, data-holding drive per member. Apply never breaks these, so a
// failure means a bug or a damaged snapshot. Restore runs it on every
// snapshot; tests run it after every command.
func (s *State) CheckInvariants() error {
	for _, v := range s.Sites() {
		if err := checkID("site", v.ID); err != nil {
			return err
		}
	}
	for _, v := range s.Rooms() {
		if _, ok := s.sites[v.Site]; !ok || checkID("room", v.ID) != nil {
			return fmt.Errorf("room %q: bad id or unknown site %q", v.ID, v.Site)
		}
	}
	for _, v := range s.Rows() {
		if _, ok := s.rooms[v.Room]; !ok || checkID("row", v.ID) != nil {
			return fmt.Errorf("row %q: bad id or unknown room %q", v.ID, v.Room)
		}
	}
	for _, v := range s.Racks() {
		if _, ok := s.rows[v.Row]; !ok || checkID("rack", v.ID) != nil {
			return fmt.Errorf("rack %q: bad id or unknown row %q", v.ID, v.Row)
		}
	}
	for _, v := range s.Hosts() {
		if _, ok := s.racks[v.Rack]; !ok || checkID("host", v.ID) != nil {
			return fmt.Errorf("host %q: bad id or unknown rack %q", v.ID, v.Rack)
		}
		if !v.State.valid() {
			return fmt.Errorf("host %q: unknown state %q", v.ID, v.State)
		}
	}
	type slot struct{ host, slot string }
	live := map[slot]string{}
	for _, d := range s.Drives() {
		h, ok := s.hosts[d.Host]
		if !ok || checkID("drive", d.ID) != nil {
			return fmt.Errorf("drive %q: bad id or unknown host %q", d.ID, d.Host)
		}
		if !d.State.valid() {
			return fmt.Errorf("drive %q: unknown state %q", d.ID, d.State)
		}
		if d.CapacityBytes == 0 {
			return fmt.Errorf("drive %q: zero capacity", d.ID)
		}
		if d.State == DriveRetired {
			continue
		}
		if h.State == HostRetired {
			return fmt.Errorf("drive %q is %s on retired host %q", d.ID, d.State, d.Host)
		}
		k := slot{d.Host, d.Slot}
		if other, ok := live[k]; ok {
			return fmt.Errorf("drives %q and %q share slot %q of host %q", other, d.ID, d.Slot, d.Host)
		}
		live[k] = d.ID
	}
	indexed := 0
	for _, h := range slices.Sorted(maps.Keys(s.hostDrives)) {
		ids := s.hostDrives[h]
		for i, id := range ids {
			if d, ok := s.drives[id]; !ok || d.Host != h || (i > 0 && ids[i-1] >= id) {
				return fmt.Errorf("the drive index of host %q is out of step with the drives (at %q)", h, id)
			}
		}
		indexed += len(ids)
	}
	if indexed != len(s.drives) {
		return fmt.Errorf("the drive index lists %d drives, the state has %d", indexed, len(s.drives))
	}
	for _, v := range s.Volumes() {
		if v.ID == 0 || v.ID > s.lastVolume {
			return fmt.Errorf("volume %d: id is outside 1..%d", v.ID, s.lastVolume)
		}
		if err := v.Scheme.check(); err != nil {
			return fmt.Errorf("volume %d: %v", v.ID, err)
		}
		switch {
		case v.State == VolumeEncoded && !v.Scheme.Coded(),
			(v.State == VolumeOpen || v.State == VolumeSealed) && v.Scheme.Kind != Replicated:
			return fmt.Errorf("volume %d: state %q does not go with scheme %v", v.ID, v.State, v.Scheme)
		case v.State != VolumeOpen && v.State != VolumeSealed && v.State != VolumeEncoded:
			return fmt.Errorf("volume %d: unknown state %q", v.ID, v.State)
		}
		if len(v.Placement) != v.Scheme.Width() {
			return fmt.Errorf("volume %d: %d members for %v", v.ID, len(v.Placement), v.Scheme)
		}
		if v.Generation == 0 || v.MemberBytes == 0 {
			return fmt.Errorf("volume %d: zero generation or member size", v.ID)
		}
		if v.State == VolumeOpen && len(v.Deleted) > 0 {
			return fmt.Errorf("volume %d: open, yet %d blobs are recorded deleted", v.ID, len(v.Deleted))
		}
		if v.State != VolumeEncoded && v.Epoch != 0 {
			return fmt.Errorf("volume %d: %s at epoch %d; only a coded image has epochs", v.ID, v.State, v.Epoch)
		}
		for i, k := range v.Deleted {
			if err := checkKey(k); err != nil {
				return fmt.Errorf("volume %d: deleted %v", v.ID, err)
			}
			if i > 0 && v.Deleted[i-1] >= k {
				return fmt.Errorf("volume %d: deleted keys not in ascending order at %d", v.ID, i)
			}
		}
		for i, id := range v.Placement {
			d, ok := s.drives[id]
			if !ok {
				return fmt.Errorf("volume %d: member %d is unknown drive %q", v.ID, i, id)
			}
			if !d.State.holdsData() {
				return fmt.Errorf("volume %d: member %d is drive %q, which is %s", v.ID, i, id, d.State)
			}
			if slices.Contains(v.Placement[:i], id) {
				return fmt.Errorf("volume %d: drive %q appears twice", v.ID, id)
			}
		}
	}
	for _, m := range s.Members() {
		if checkID("member", m.ID) != nil || m.APIAddress == "" || checkAddress(m.ID, m.APIAddress) != nil {
			return fmt.Errorf("member %q: bad id or API address %q", m.ID, m.APIAddress)
		}
	}
	for _, t := range s.JoinTokens() {
		if checkID("join token", t.ID) != nil || !validHash(t.Hash) {
			return fmt.Errorf("join token %q: bad id or hash", t.ID)
		}
		if _, ok := s.racks[t.Rack]; t.Rack != "" && !ok {
			return fmt.Errorf("join token %q: unknown rack %q", t.ID, t.Rack)
		}
	}
	return nil
}
