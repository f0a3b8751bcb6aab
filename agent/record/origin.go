package record

import (
	"encoding/binary"
	"fmt"
)

// OriginSize is the size of an origin record's payload.
const OriginSize = 8

// Origin is the payload of the first record of a compaction's destination
// extent. Until the source extent is gone, a drive holds two copies of the
// blobs compaction has moved; recovery uses the origin record to keep the
// copies in the destination and drop the ones in the source.
type Origin struct {
	// Source is the id of the extent being compacted.
	Source uint64
}

// Marshal encodes the origin payload.
func (o Origin) Marshal() []byte {
	b := make([]byte, OriginSize)
	binary.LittleEndian.PutUint64(b, o.Source)
	return b
}

// UnmarshalOrigin decodes an origin payload.
func UnmarshalOrigin(b []byte) (Origin, error) {
	if len(b) != OriginSize {
		return Origin{}, fmt.Errorf("record: origin payload of %d bytes, want %d", len(b), OriginSize)
	}
	return Origin{Source: binary.LittleEndian.Uint64(b)}, nil
}
