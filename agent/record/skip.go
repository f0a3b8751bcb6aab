package record

import (
	"encoding/binary"
	"fmt"
)

// SkipSize is the size of a skip record's payload.
const SkipSize = 8

// Skip is the payload of a skip record. When recovery finds a torn write at
// the end of a zone it cannot overwrite it (zones are append-only), so it
// appends a skip record after it and later records follow. A scan that
// meets unreadable bytes followed by a skip record whose From is where
// those bytes start knows they are a cut-off torn write, not lost data.
type Skip struct {
	// From is the offset in the zone where the skipped bytes start.
	From uint64
}

// Marshal encodes the skip payload.
func (s Skip) Marshal() []byte {
	b := make([]byte, SkipSize)
	binary.LittleEndian.PutUint64(b, s.From)
	return b
}

// UnmarshalSkip decodes a skip payload.
func UnmarshalSkip(b []byte) (Skip, error) {
	if len(b) != SkipSize {
		return Skip{}, fmt.Errorf("record: skip payload of %d bytes, want %d", len(b), SkipSize)
	}
	return Skip{From: binary.LittleEndian.Uint64(b)}, nil
}
