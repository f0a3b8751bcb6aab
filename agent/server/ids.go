package server

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/shingle-storage/shingle/agent/label"
)

// ParseID parses a cluster or drive id written as a UUID
// (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx) or as 32 hex digits.
func ParseID(s string) (label.ID, error) {
	var id label.ID
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != len(id) {
		return id, fmt.Errorf("%q is not an id: write it as a UUID such as 6f1c2a9e-0d4b-4c8e-9a71-3b5e2d8f4c10", s)
	}
	copy(id[:], b)
	return id, nil
}

// NewID returns a random id (a version 4 UUID).
func NewID() label.ID {
	var id label.ID
	_, _ = rand.Read(id[:])
	id[6] = id[6]&0x0f | 0x40
	id[8] = id[8]&0x3f | 0x80
	return id
}
