package client

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/shingle-storage/shingle/agent/datapath"
)

// Locator names a stored blob: the volume it is in and its key. Its text
// form, "<volume>.<64 hex digits>", is what fleetctl prints and takes; a
// locator of a file split into blobs (a manifest) starts with "m".
type Locator struct {
	// Volume is the volume id.
	Volume uint64
	// Key is the blob's key, unique in the fleet.
	Key datapath.Key
	// Manifest marks a blob that lists the blobs of a file (PutFile).
	Manifest bool
}

// String is the text form of l.
func (l Locator) String() string {
	m := ""
	if l.Manifest {
		m = "m"
	}
	return fmt.Sprintf("%s%d.%x", m, l.Volume, l.Key[:])
}

// ParseLocator reads a locator's text form.
func ParseLocator(s string) (Locator, error) {
	var l Locator
	t := strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(t, "m"); ok {
		l.Manifest, t = true, rest
	}
	vol, key, ok := strings.Cut(t, ".")
	v, err := strconv.ParseUint(vol, 10, 64)
	k, kerr := hex.DecodeString(key)
	if !ok || err != nil || v == 0 || kerr != nil || len(k) != len(l.Key) {
		return Locator{}, fmt.Errorf("%q is not a locator: a locator is <volume>.<64 hex digits>, as put printed it", s)
	}
	l.Volume = v
	copy(l.Key[:], k)
	return l, nil
}
