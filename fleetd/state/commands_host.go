package state

import (
	"crypto/subtle"
	"net"
)

// Command types of the host commands.
const (
	TypeAddHost        CommandType = "host.add"
	TypeJoinHost       CommandType = "host.join"
	TypeSetHostState   CommandType = "host.set_state"
	TypeSetHostAddress CommandType = "host.set_address"
	TypeRemoveHost     CommandType = "host.remove"
)

// checkAddress accepts "" (not known yet) or host:port.
func checkAddress(host, addr string) *Error {
	if addr == "" {
		return nil
	}
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" || len(addr) > 256 {
		return invalidf("host %q: address %q is not host:port", host, addr)
	}
	return nil
}

// AddHost adds a host on an operator's word, without a join token (the
// token path is JoinHost). The host starts provisioning.
type AddHost struct {
	// ID names the new host.
	ID string `json:"id"`
	// Rack is the existing rack the host is mounted in.
	Rack string `json:"rack"`
	// Address is the agent's host:port, or empty if not known yet.
	Address string `json:"address,omitempty"`
}

// Type returns TypeAddHost.
func (*AddHost) Type() CommandType { return TypeAddHost }

func (c *AddHost) apply(s *State) (Result, *Error) {
	if err := checkID("host", c.ID); err != nil {
		return Result{}, err
	}
	if err := checkAddress(c.ID, c.Address); err != nil {
		return Result{}, err
	}
	if _, ok := s.hosts[c.ID]; ok {
		return Result{}, existsf("host %q already exists", c.ID)
	}
	if _, ok := s.racks[c.Rack]; !ok {
		return Result{}, notFoundf("host %q: rack %q does not exist; add it first", c.ID, c.Rack)
	}
	s.hosts[c.ID] = Host{ID: c.ID, Rack: c.Rack, Address: c.Address, State: HostProvisioning}
	return Result{}, nil
}

// JoinHost admits a host that presents a join token: the agent on a freshly
// booted host proves it holds the token's secret and says which rack it is
// in and where it listens. A new host is added in the provisioning state; a
// known host (re-imaged, or rebooted with a new address) keeps its state and
// gets its new address.
type JoinHost struct {
	// Token is the id of the join token presented.
	Token string `json:"token"`
	// SecretHash is HashJoinSecret of the secret the host presented. The
	// node that received the join hashes it before proposing, so the secret
	// itself never reaches the log.
	SecretHash string `json:"secret_hash"`
	// Now is the time the proposing node received the join, in Unix
	// seconds. Expiry is judged against it, not against any node's clock.
	Now int64 `json:"now"`
	// Host names the joining host.
	Host string `json:"host"`
	// Rack is the rack the host says it is in.
	Rack string `json:"rack"`
	// Address is the agent's host:port.
	Address string `json:"address"`
}

// Type returns TypeJoinHost.
func (*JoinHost) Type() CommandType { return TypeJoinHost }

func (c *JoinHost) apply(s *State) (Result, *Error) {
	if err := checkID("host", c.Host); err != nil {
		return Result{}, err
	}
	if c.Address == "" {
		return Result{}, invalidf("host %q: a joining host must say where its agent listens", c.Host)
	}
	if err := checkAddress(c.Host, c.Address); err != nil {
		return Result{}, err
	}
	tok, ok := s.tokens[c.Token]
	// One message for an unknown token and a wrong secret, so that a caller
	// without the secret learns nothing about which token ids exist.
	if !ok || subtle.ConstantTimeCompare([]byte(tok.Hash), []byte(c.SecretHash)) != 1 {
		return Result{}, notFoundf("host %q: no join token %q with that secret; ask an operator for a valid token", c.Host, c.Token)
	}
	if c.Now >= tok.ExpiresAt {
		return Result{}, errorf(CodeExpired, "host %q: join token %q expired at %d (now %d); issue a new token", c.Host, c.Token, tok.ExpiresAt, c.Now)
	}
	if tok.MaxUses > 0 && tok.Uses >= tok.MaxUses {
		return Result{}, errorf(CodeExpired, "host %q: join token %q has been used %d times, its limit; issue a new token", c.Host, c.Token, tok.Uses)
	}
	if tok.Rack != "" && tok.Rack != c.Rack {
		return Result{}, conflictf("host %q: join token %q admits hosts in rack %q only, not %q", c.Host, c.Token, tok.Rack, c.Rack)
	}
	if _, ok := s.racks[c.Rack]; !ok {
		return Result{}, notFoundf("host %q: rack %q does not exist; add it before hosts join", c.Host, c.Rack)
	}
	h, known := s.hosts[c.Host]
	switch {
	case !known:
		h = Host{ID: c.Host, Rack: c.Rack, State: HostProvisioning}
	case h.State == HostRetired:
		return Result{}, conflictf("host %q is retired; remove it before it joins again", c.Host)
	case h.Rack != c.Rack:
		return Result{}, conflictf("host %q is recorded in rack %q but says it is in %q; retire and remove it to move it", c.Host, h.Rack, c.Rack)
	}
	h.Address = c.Address
	h.JoinedAt = c.Now
	s.hosts[c.Host] = h
	tok.Uses++
	s.tokens[c.Token] = tok
	return Result{}, nil
}

// SetHostState moves a host to another state. Any move is allowed except
// out of retired (final), and a host may retire only when all its drives
// have.
type SetHostState struct {
	// ID names the host.
	ID string `json:"id"`
	// State is the state to move to.
	State HostState `json:"state"`
}

// Type returns TypeSetHostState.
func (*SetHostState) Type() CommandType { return TypeSetHostState }

func (c *SetHostState) apply(s *State) (Result, *Error) {
	if !c.State.valid() {
		return Result{}, invalidf("host %q: state %q is unknown", c.ID, c.State)
	}
	h, ok := s.hosts[c.ID]
	if !ok {
		return Result{}, notFoundf("host %q does not exist", c.ID)
	}
	if h.State == c.State {
		return Result{}, nil
	}
	if h.State == HostRetired {
		return Result{}, conflictf("host %q is retired, which is final; remove it and add it again", c.ID)
	}
	if c.State == HostRetired {
		n := 0
		for _, id := range s.drivesOf(c.ID) {
			if s.drives[id].State != DriveRetired {
				n++
			}
		}
		if n > 0 {
			return Result{}, conflictf("host %q still has %d drives that are not retired; drain and retire them first", c.ID, n)
		}
	}
	h.State = c.State
	s.hosts[c.ID] = h
	return Result{}, nil
}

// SetHostAddress records where a host's agent now listens.
type SetHostAddress struct {
	// ID names the host.
	ID string `json:"id"`
	// Address is the agent's new host:port.
	Address string `json:"address"`
}

// Type returns TypeSetHostAddress.
func (*SetHostAddress) Type() CommandType { return TypeSetHostAddress }

func (c *SetHostAddress) apply(s *State) (Result, *Error) {
	h, ok := s.hosts[c.ID]
	if !ok {
		return Result{}, notFoundf("host %q does not exist", c.ID)
	}
	if err := checkAddress(c.ID, c.Address); err != nil {
		return Result{}, err
	}
	h.Address = c.Address
	s.hosts[c.ID] = h
	return Result{}, nil
}

// RemoveHost forgets a retired host that has no drives left (retired drives
// count: remove them with RemoveDrive first).
type RemoveHost struct {
	// ID names the host.
	ID string `json:"id"`
}

// Type returns TypeRemoveHost.
func (*RemoveHost) Type() CommandType { return TypeRemoveHost }

func (c *RemoveHost) apply(s *State) (Result, *Error) {
	h, ok := s.hosts[c.ID]
	if !ok {
		return Result{}, notFoundf("host %q does not exist", c.ID)
	}
	if h.State != HostRetired {
		return Result{}, conflictf("host %q is %s; retire it first", c.ID, h.State)
	}
	if n := len(s.drivesOf(c.ID)); n > 0 {
		return Result{}, conflictf("host %q still has %d drives; remove them first", c.ID, n)
	}
	delete(s.hosts, c.ID)
	return Result{}, nil
}
