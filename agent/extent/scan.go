package extent

import (
	"errors"

	"github.com/shingle-storage/shingle/agent/record"
	"github.com/shingle-storage/shingle/zoned"
)

// scanChunk is how much of a zone a scan reads at once; the next chunk is
// read while the current one is decoded (see readAhead).
const scanChunk = 4 << 20

// visitFunc receives one record found by scanZone: its device offset,
// header, encoded bytes (header, payload and payload checksum; valid only
// during the call) and padded size. It returns false to stop the scan.
type visitFunc func(devOff int64, h record.Header, raw []byte, size int) bool

// gap is a stretch of a zone that holds no readable record but is followed
// by readable ones: lost data.
type gap struct {
	start, end int64 // device offsets
	err        error
}

// zoneSpans returns the readable stretch of each zone, for
// chainReadAhead.
func zoneSpans(zones []zoned.Zone) []span {
	out := make([]span, len(zones))
	for i, z := range zones {
		out[i] = span{from: z.Start, limit: zoneLimit(z)}
	}
	return out
}

// scanZone reads the records of a zone through r, from the zone's start
// up to r's limit, calling visit for each. It returns where the records end
// and, if they end before limit, why: record.ErrNoRecord where the written
// data ends, a record checksum error at a torn or corrupt record, or a
// device error.
//
// After a corrupt record, scanZone looks for the next block that starts a
// valid record accepted by resync (the caller checks the extent id), so one
// damaged record does not hide the ones after it; the damaged stretch is
// returned as a gap. If none follows, the corruption is the tail (a torn
// write) and the scan ends there. resync may be nil to stop at the first
// corrupt record.
func scanZone(r *readAhead, visit visitFunc, resync func(record.Header) bool) (int64, []gap, error) {
	dev, limit := r.dev, r.limit
	bs := dev.Info().LogicalBlockSize
	pos := r.from
	// decodeAt decodes the record at device offset at, reading as needed,
	// and returns its encoded bytes.
	decodeAt := func(at int64) (record.Header, []byte, int, error) {
		b, err := r.bytes(at, bs)
		if err != nil {
			return record.Header{}, nil, 0, err
		}
		h, _, size, err := record.Decode(b, bs)
		if errors.Is(err, record.ErrShort) {
			if at+int64(size) > limit {
				// The header promises more than was written: a torn write.
				return record.Header{}, nil, 0, record.ErrPayloadChecksum
			}
			if b, err = r.bytes(at, size); err != nil {
				return record.Header{}, nil, 0, err
			}
			h, _, size, err = record.Decode(b, bs)
		}
		if err != nil {
			return record.Header{}, nil, 0, err
		}
		return h, b[:record.HeaderSize+int(h.Length)+record.TrailerSize], size, nil
	}
	var gaps []gap
	for pos < limit {
		h, raw, size, err := decodeAt(pos)
		// pos is where a record must start: a block without the magic
		// before the limit is as damaged as one failing its checksum.
		if (record.IsCorrupt(err) || errors.Is(err, record.ErrNoRecord)) && resync != nil {
			next := int64(-1)
			for at := pos + int64(bs); at < limit; at += int64(bs) {
				if h2, _, _, err2 := decodeAt(at); err2 == nil && resync(h2) {
					next = at
					break
				}
			}
			if next < 0 {
				return pos, gaps, err // the tail is torn
			}
			if !skips(r.from, pos, next, decodeAt) {
				gaps = append(gaps, gap{start: pos, end: next, err: err})
			}
			pos = next
			continue
		}
		if err != nil {
			return pos, gaps, err
		}
		if !visit(pos, h, raw, size) {
			return pos, gaps, nil
		}
		pos += int64(size)
	}
	return pos, gaps, nil
}

// skips reports whether the record at device offset next is a skip record
// that vouches for the unreadable bytes from from: a torn write that an
// earlier recovery cut off.
func skips(zoneStart, from, next int64, decodeAt func(int64) (record.Header, []byte, int, error)) bool {
	h, raw, _, err := decodeAt(next)
	if err != nil || h.Type != record.TypeSkip {
		return false
	}
	sk, err := record.UnmarshalSkip(raw[record.HeaderSize : record.HeaderSize+int(h.Length)])
	return err == nil && int64(sk.From) == from-zoneStart
}

// zoneLimit is where a zone's written data can end: its write pointer, or
// its capacity for a full zone.
func zoneLimit(z zoned.Zone) int64 {
	return min(z.WritePointer, z.Start+z.Capacity)
}
