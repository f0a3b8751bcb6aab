// Package datapath is the wire protocol of the agent's data path, shared
// by the agent that serves it and the clients that call it: the URL paths
// of blobs, extent ranges and whole-extent blob streams, the header that
// carries a CRC32C with the bytes, and the framing of a blob stream.
//
// The data path is plain HTTP (over mutual TLS) rather than Connect
// because blobs are bytes, up to 4 MiB, and range and stream reads are
// larger still: they stream straight from the drive to the socket with a
// checksum beside them, and curl can fetch them. Control calls (create,
// seal, list) are Connect, in api/agent/v1.
//
// Moving those bytes costs CPU more than anything else the agent does, so
// the package also holds the connections they travel on: NewTransport,
// the HTTP transport callers use, and Socket, the TCP connection beneath
// TLS on both ends, which reads ahead and gathers writes.
package datapath

import (
	"fmt"
	"hash/crc32"
	"strconv"
)

// HeaderCRC32C carries the CRC32C (Castagnoli) of a blob's bytes, as 8
// hex digits, on a PUT's request and a GET's response, and of a range
// read's bytes in its response's trailer.
const HeaderCRC32C = "Shingle-CRC32C"

// PoolExtent, given as the extent of a blob PUT or DELETE, means the
// drive's shard pool: extents the agent opens, fills and seals in turn to
// hold the chunks of erasure-coded shards of many volumes, which are
// small beside an extent. A pooled blob is read like any other, by key
// (a GET finds a key on the drive whatever extent its URL names). The
// pool's own extents have ids above PoolExtent and below the agent's
// time-based ids.
const PoolExtent = 1 << 58

// MaxRangeLength is the most bytes one range read may ask for.
const MaxRangeLength = 64 << 20

// Castagnoli is the CRC32C table every checksum of the data path uses.
var Castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Key is a blob's key on a drive: 32 bytes, unique on the drive.
type Key = [32]byte

// BlobPath is the URL path of a blob.
func BlobPath(drive string, extentID uint64, key Key) string {
	return fmt.Sprintf("/v1/drives/%s/extents/%d/blobs/%x", drive, extentID, key[:])
}

// RangePath is the URL path (with its query) of length bytes at offset
// off of an extent's byte space.
func RangePath(drive string, extentID uint64, off, length int64) string {
	return fmt.Sprintf("/v1/drives/%s/extents/%d/range?offset=%d&length=%d", drive, extentID, off, length)
}

// CRC32C is the CRC32C (Castagnoli) of b.
func CRC32C(b []byte) uint32 { return crc32.Checksum(b, Castagnoli) }

// FormatCRC32C returns the Shingle-CRC32C header value for b.
func FormatCRC32C(b []byte) string { return FormatCRC(CRC32C(b)) }

// FormatCRC is the Shingle-CRC32C header value of a CRC32C.
func FormatCRC(c uint32) string {
	var b [8]byte
	const digits = "0123456789abcdef"
	for i := 7; i >= 0; i-- {
		b[i] = digits[c&0xf]
		c >>= 4
	}
	return string(b[:])
}

// ParseCRC32C reads a Shingle-CRC32C value: 8 hex digits, either case.
func ParseCRC32C(s string) (uint32, error) {
	if len(s) != 8 {
		return 0, fmt.Errorf("the %s header must carry a CRC32C (Castagnoli) as 8 hex digits, got %q", HeaderCRC32C, s)
	}
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("the %s header must carry a CRC32C (Castagnoli) as 8 hex digits, got %q", HeaderCRC32C, s)
	}
	return uint32(v), nil
}
