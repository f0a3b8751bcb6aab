package state

// Command types of the join token commands.
const (
	TypeCreateJoinToken CommandType = "token.create"
	TypeRevokeJoinToken CommandType = "token.revoke"
	TypePruneJoinTokens CommandType = "token.prune"
)

// CreateJoinToken issues a join token. The proposer generates the secret,
// shows it to the operator once, and puts only its hash here.
type CreateJoinToken struct {
	// ID names the token.
	ID string `json:"id"`
	// Hash is HashJoinSecret of the secret.
	Hash string `json:"hash"`
	// Now is the proposer's time in Unix seconds; a token that would be
	// expired on arrival is refused.
	Now int64 `json:"now"`
	// ExpiresAt is when the token stops working, in Unix seconds.
	ExpiresAt int64 `json:"expires_at"`
	// Rack, if set, restricts the token to hosts in that rack.
	Rack string `json:"rack,omitempty"`
	// MaxUses bounds the joins the token admits; 0 means unbounded.
	MaxUses uint32 `json:"max_uses,omitempty"`
}

// Type returns TypeCreateJoinToken.
func (*CreateJoinToken) Type() CommandType { return TypeCreateJoinToken }

func (c *CreateJoinToken) apply(s *State) (Result, *Error) {
	if err := checkID("join token", c.ID); err != nil {
		return Result{}, err
	}
	if !validHash(c.Hash) {
		return Result{}, invalidf("join token %q: hash must be the hex SHA-256 of the secret (HashJoinSecret)", c.ID)
	}
	if c.ExpiresAt <= c.Now {
		return Result{}, invalidf("join token %q: expiry %d is not after now (%d)", c.ID, c.ExpiresAt, c.Now)
	}
	if _, ok := s.tokens[c.ID]; ok {
		return Result{}, existsf("join token %q already exists", c.ID)
	}
	if c.Rack != "" {
		if _, ok := s.racks[c.Rack]; !ok {
			return Result{}, notFoundf("join token %q: rack %q does not exist", c.ID, c.Rack)
		}
	}
	s.tokens[c.ID] = JoinToken{ID: c.ID, Hash: c.Hash, ExpiresAt: c.ExpiresAt, Rack: c.Rack, MaxUses: c.MaxUses}
	return Result{}, nil
}

// RevokeJoinToken deletes a join token before it expires (it leaked, or the
// bring-up is done).
type RevokeJoinToken struct {
	// ID names the token.
	ID string `json:"id"`
}

// Type returns TypeRevokeJoinToken.
func (*RevokeJoinToken) Type() CommandType { return TypeRevokeJoinToken }

func (c *RevokeJoinToken) apply(s *State) (Result, *Error) {
	if _, ok := s.tokens[c.ID]; !ok {
		return Result{}, notFoundf("join token %q does not exist", c.ID)
	}
	delete(s.tokens, c.ID)
	return Result{}, nil
}

// PruneJoinTokens deletes every token that has expired by Now or is used
// up, so the state does not collect dead tokens. The leader proposes it
// now and then; Result.Count says how many went.
type PruneJoinTokens struct {
	// Now is the proposer's time in Unix seconds.
	Now int64 `json:"now"`
}

// Type returns TypePruneJoinTokens.
func (*PruneJoinTokens) Type() CommandType { return TypePruneJoinTokens }

func (c *PruneJoinTokens) apply(s *State) (Result, *Error) {
	n := 0
	for id, t := range s.tokens {
		if t.ExpiresAt <= c.Now || (t.MaxUses > 0 && t.Uses >= t.MaxUses) {
			delete(s.tokens, id)
			n++
		}
	}
	return Result{Count: n}, nil
}
