package state

import (
	"crypto/sha256"
	"encoding/hex"
)

// JoinToken lets hosts join the fleet. An operator (or the rack bring-up
// playbook) creates one; the PXE image hands its secret to the agent, which
// presents it when it first calls fleetd. Only the SHA-256 of the secret is
// replicated, so neither the log nor a snapshot can be used to join.
type JoinToken struct {
	// ID names the token publicly (it appears in logs and listings).
	ID string `json:"id"`
	// Hash is HashJoinSecret of the secret.
	Hash string `json:"hash"`
	// ExpiresAt is when the token stops working, in Unix seconds. It is an
	// absolute time chosen by the proposer, so every node decides expiry the
	// same way: Apply compares it with the time carried in the join command,
	// never with its own clock.
	ExpiresAt int64 `json:"expires_at"`
	// Rack, if set, is the only rack hosts may join with this token; rack
	// bring-up issues one token per rack.
	Rack string `json:"rack,omitempty"`
	// MaxUses bounds how many joins the token admits; 0 means any number
	// until it expires.
	MaxUses uint32 `json:"max_uses,omitempty"`
	// Uses counts the joins the token has admitted.
	Uses uint32 `json:"uses"`
}

// HashJoinSecret is the one-way hash under which a join token's secret is
// stored and compared: hex SHA-256. Secrets are random and long, so no salt
// or slow hash is needed.
func HashJoinSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// validHash reports whether h looks like HashJoinSecret's output.
func validHash(h string) bool {
	if len(h) != 2*sha256.Size {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil
}
