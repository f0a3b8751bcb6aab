package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"connectrpc.com/connect"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/fleetd/state"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// tokenService serves TokenService.
type tokenService struct{ s *Server }

// defaultTokenTTL is how long a token works when the request says nothing:
// long enough to boot a rack, short enough that a leaked token soon
// stops mattering.
const defaultTokenTTL = time.Hour

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// CreateToken issues a join token and returns its secret, once.
func (t *tokenService) CreateToken(ctx context.Context, req *connect.Request[fleetv1.CreateTokenRequest]) (*connect.Response[fleetv1.CreateTokenResponse], error) {
	m := req.Msg
	id := m.GetId()
	if id == "" {
		id = "tok-" + randomHex(4)
	}
	if strings.Contains(id, ".") {
		return nil, invalid(fmt.Sprintf("token id %q contains a dot, which separates the id from the secret in a token", id))
	}
	ttl := defaultTokenTTL
	if m.GetTtl() != nil {
		ttl = m.GetTtl().AsDuration()
	}
	if ttl <= 0 {
		return nil, invalid("the token's time to live must be positive")
	}
	secret := randomHex(32)
	now := time.Now()
	expires := now.Add(ttl)
	c := &state.CreateJoinToken{
		ID: id, Hash: state.HashJoinSecret(secret), Now: now.Unix(), ExpiresAt: expires.Unix(),
		Rack: m.GetRack(), MaxUses: m.GetMaxUses(),
	}
	if _, err := t.s.propose(ctx, c); err != nil {
		return nil, err
	}
	t.s.log.Info("issued a join token", "token", id, "rack", m.GetRack(), "expires", expires.UTC().Format(time.RFC3339), "by", callerOf(ctx).Name)
	return connect.NewResponse(&fleetv1.CreateTokenResponse{Id: id, Token: id + "." + secret, ExpiresAt: timestamppb.New(expires)}), nil
}

// splitToken splits "<id>.<secret>" at its last dot.
func splitToken(token string) (id, secret string, ok bool) {
	i := strings.LastIndexByte(token, '.')
	if i <= 0 || i == len(token)-1 {
		return "", "", false
	}
	return token[:i], token[i+1:], true
}
