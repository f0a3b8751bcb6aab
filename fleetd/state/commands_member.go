package state

// Command types of the member commands.
const (
	TypeSetMember    CommandType = "member.set"
	TypeRemoveMember CommandType = "member.remove"
)

// SetMember records (or updates) where a fleetd server's API listens. A
// server proposes its own entry when it starts and whenever the recorded
// address differs from the one it serves on.
type SetMember struct {
	// ID is the server's Raft id.
	ID string `json:"id"`
	// APIAddress is the host:port of its API.
	APIAddress string `json:"api_address"`
}

// Type returns TypeSetMember.
func (*SetMember) Type() CommandType { return TypeSetMember }

func (c *SetMember) apply(s *State) (Result, *Error) {
	if err := checkID("member", c.ID); err != nil {
		return Result{}, err
	}
	if c.APIAddress == "" {
		return Result{}, invalidf("member %q: API address is empty", c.ID)
	}
	if err := checkAddress(c.ID, c.APIAddress); err != nil {
		return Result{}, invalidf("member %q: API address %q is not host:port", c.ID, c.APIAddress)
	}
	s.members[c.ID] = Member{ID: c.ID, APIAddress: c.APIAddress}
	return Result{}, nil
}

// RemoveMember forgets a fleetd server's API address when it leaves the
// cluster.
type RemoveMember struct {
	// ID is the server's Raft id.
	ID string `json:"id"`
}

// Type returns TypeRemoveMember.
func (*RemoveMember) Type() CommandType { return TypeRemoveMember }

func (c *RemoveMember) apply(s *State) (Result, *Error) {
	if _, ok := s.members[c.ID]; !ok {
		return Result{}, notFoundf("member %q is not recorded", c.ID)
	}
	delete(s.members, c.ID)
	return Result{}, nil
}
