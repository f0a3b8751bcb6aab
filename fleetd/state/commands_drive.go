package state

// Command types of the drive commands.
const (
	TypeAddDrive         CommandType = "drive.add"
	TypeSetDriveState    CommandType = "drive.set_state"
	TypeSetDriveFirmware CommandType = "drive.set_firmware"
	TypeRemoveDrive      CommandType = "drive.remove"
)

// maxTextLen bounds free-text fields (model, firmware, reasons) so that a
// misbehaving client cannot bloat every snapshot.
const maxTextLen = 1024

// MaxTextLen is the most bytes a free-text field of a command (a model,
// a firmware revision, a reason) may hold.
const MaxTextLen = maxTextLen

// AddDrive records a drive an agent discovered in one of its host's slots.
// The drive starts provisioning.
type AddDrive struct {
	// ID is the drive's WWN or serial number.
	ID string `json:"id"`
	// Host is the existing host the drive is attached to.
	Host string `json:"host"`
	// Slot is the enclosure slot; it must not be taken by another drive
	// that is not retired.
	Slot string `json:"slot"`
	// CapacityBytes is the drive's usable capacity.
	CapacityBytes uint64 `json:"capacity_bytes"`
	// Model is the drive's model string.
	Model string `json:"model"`
	// Firmware is the drive's firmware revision.
	Firmware string `json:"firmware,omitempty"`
}

// Type returns TypeAddDrive.
func (*AddDrive) Type() CommandType { return TypeAddDrive }

func (c *AddDrive) apply(s *State) (Result, *Error) {
	if err := checkID("drive", c.ID); err != nil {
		return Result{}, err
	}
	if err := checkID("slot", c.Slot); err != nil {
		return Result{}, invalidf("drive %q: %s", c.ID, err.Msg)
	}
	if c.CapacityBytes == 0 {
		return Result{}, invalidf("drive %q: capacity is zero", c.ID)
	}
	if c.Model == "" || len(c.Model) > maxTextLen || len(c.Firmware) > maxTextLen {
		return Result{}, invalidf("drive %q: model must be set and model and firmware at most %d bytes", c.ID, maxTextLen)
	}
	if d, ok := s.drives[c.ID]; ok {
		return Result{}, existsf("drive %q already exists (in host %q slot %q, %s); a returning drive must be retired and removed first", c.ID, d.Host, d.Slot, d.State)
	}
	h, ok := s.hosts[c.Host]
	if !ok {
		return Result{}, notFoundf("drive %q: host %q does not exist; the host must join first", c.ID, c.Host)
	}
	if h.State == HostRetired {
		return Result{}, conflictf("drive %q: host %q is retired", c.ID, c.Host)
	}
	for _, id := range s.drivesOf(c.Host) {
		if d := s.drives[id]; d.Slot == c.Slot && d.State != DriveRetired {
			// Only one drive can match, so the message is deterministic.
			return Result{}, conflictf("drive %q: slot %q of host %q holds drive %q (%s); retire it first", c.ID, c.Slot, c.Host, d.ID, d.State)
		}
	}
	d := Drive{
		ID: c.ID, Host: c.Host, Slot: c.Slot, State: DriveProvisioning,
		CapacityBytes: c.CapacityBytes, Model: c.Model, Firmware: c.Firmware,
	}
	s.drives[c.ID] = d
	s.indexDrive(d)
	return Result{}, nil
}

// SetDriveState moves a drive along its workflow (see DriveState). A drive
// may become drained or retired only when no volume's placement names it any
// more; moving to the state it is in already changes nothing.
type SetDriveState struct {
	// ID names the drive.
	ID string `json:"id"`
	// State is the state to move to.
	State DriveState `json:"state"`
	// Reason says why, for whoever looks next.
	Reason string `json:"reason,omitempty"`
}

// Type returns TypeSetDriveState.
func (*SetDriveState) Type() CommandType { return TypeSetDriveState }

func (c *SetDriveState) apply(s *State) (Result, *Error) {
	if !c.State.valid() {
		return Result{}, invalidf("drive %q: state %q is unknown", c.ID, c.State)
	}
	if len(c.Reason) > maxTextLen {
		return Result{}, invalidf("drive %q: reason is %d bytes, the limit is %d", c.ID, len(c.Reason), maxTextLen)
	}
	d, ok := s.drives[c.ID]
	if !ok {
		return Result{}, notFoundf("drive %q does not exist", c.ID)
	}
	if d.State == c.State {
		return Result{}, nil
	}
	if !d.State.CanMoveTo(c.State) {
		return Result{}, conflictf("drive %q: cannot move from %s to %s; from %s it may move to: %s",
			c.ID, d.State, c.State, d.State, nextStates(d.State))
	}
	if !c.State.holdsData() {
		if n := s.volumesOn(c.ID); n > 0 {
			return Result{}, conflictf("drive %q: cannot become %s while %d volumes are placed on it; drain it (replace it in their placements) first", c.ID, c.State, n)
		}
	}
	if c.State == DriveInService {
		if h := s.hosts[d.Host]; h.State == HostRetired {
			return Result{}, conflictf("drive %q: host %q is retired", c.ID, d.Host)
		}
	}
	d.State = c.State
	d.Reason = c.Reason
	s.drives[c.ID] = d
	return Result{}, nil
}

// SetDriveFirmware records the firmware revision a drive reports, after a
// firmware update or a re-scan.
type SetDriveFirmware struct {
	// ID names the drive.
	ID string `json:"id"`
	// Firmware is the revision now running.
	Firmware string `json:"firmware"`
}

// Type returns TypeSetDriveFirmware.
func (*SetDriveFirmware) Type() CommandType { return TypeSetDriveFirmware }

func (c *SetDriveFirmware) apply(s *State) (Result, *Error) {
	if len(c.Firmware) > maxTextLen {
		return Result{}, invalidf("drive %q: firmware is %d bytes, the limit is %d", c.ID, len(c.Firmware), maxTextLen)
	}
	d, ok := s.drives[c.ID]
	if !ok {
		return Result{}, notFoundf("drive %q does not exist", c.ID)
	}
	d.Firmware = c.Firmware
	s.drives[c.ID] = d
	return Result{}, nil
}

// RemoveDrive forgets a retired drive, so that its id may be added again
// (a drive returned from repair) and the state stays small.
type RemoveDrive struct {
	// ID names the drive.
	ID string `json:"id"`
}

// Type returns TypeRemoveDrive.
func (*RemoveDrive) Type() CommandType { return TypeRemoveDrive }

func (c *RemoveDrive) apply(s *State) (Result, *Error) {
	d, ok := s.drives[c.ID]
	if !ok {
		return Result{}, notFoundf("drive %q does not exist", c.ID)
	}
	if d.State != DriveRetired {
		return Result{}, conflictf("drive %q is %s; retire it first", c.ID, d.State)
	}
	delete(s.drives, c.ID)
	s.unindexDrive(d)
	return Result{}, nil
}
