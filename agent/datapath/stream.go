package datapath

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// StreamPath is the URL path of the stream of an extent's live blobs:
// every blob neither deleted nor moved away, in the order they are on
// the drive, read in one sequential pass. Encoding a sealed volume and
// rebuilding a lost replica read an extent this way.
func StreamPath(drive string, extentID uint64) string {
	return fmt.Sprintf("/v1/drives/%s/extents/%d/blobs", drive, extentID)
}

// HeaderBlobCount is the trailer of a blob stream: how many blobs it
// sent. A stream cut short (the agent died, the drive failed mid-way)
// lacks it, so a reader never mistakes part of an extent for all of it.
const HeaderBlobCount = "Shingle-Blob-Count"

// StreamFrameHeader is the size of the header before each blob in a
// stream: the key (32 bytes), the blob's length (4 bytes, little-endian)
// and its CRC32C (4 bytes, little-endian). The blob's bytes follow.
const StreamFrameHeader = 32 + 4 + 4

// maxStreamBlob is the largest blob a stream may carry, as a guard
// against a damaged length: the store's limit.
const maxStreamBlob = 4 << 20

// AppendFrame appends the stream frame of one blob to dst.
func AppendFrame(dst []byte, key Key, blob []byte) []byte {
	dst = append(dst, key[:]...)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(blob)))
	dst = binary.LittleEndian.AppendUint32(dst, CRC32C(blob))
	return append(dst, blob...)
}

// ErrStreamCut is returned by ReadStream for a stream that ended before
// its trailer said it was complete.
var ErrStreamCut = errors.New("datapath: blob stream ended early")

// ReadStream reads a blob stream from body and calls fn with each blob,
// after checking its CRC32C. The blob's bytes are valid only during the
// call. trailer returns the response's trailer once body is drained (for
// an http.Response, func() string { return resp.Trailer.Get(HeaderBlobCount) }).
// ReadStream returns the number of blobs read, and an error if a frame is
// damaged, the count in the trailer is missing or differs, or fn fails.
func ReadStream(body io.Reader, trailer func() string, fn func(key Key, blob []byte) error) (int, error) {
	var hdr [StreamFrameHeader]byte
	buf := make([]byte, 0, 1<<20)
	n := 0
	for {
		if _, err := io.ReadFull(body, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return n, fmt.Errorf("%w: after %d blobs: %v", ErrStreamCut, n, err)
		}
		var key Key
		copy(key[:], hdr[:32])
		size := binary.LittleEndian.Uint32(hdr[32:])
		want := binary.LittleEndian.Uint32(hdr[36:])
		if size > maxStreamBlob {
			return n, fmt.Errorf("datapath: blob %d of the stream claims %d bytes, over the %d-byte limit: the stream is damaged", n, size, maxStreamBlob)
		}
		if cap(buf) < int(size) {
			buf = make([]byte, size)
		}
		buf = buf[:size]
		if _, err := io.ReadFull(body, buf); err != nil {
			return n, fmt.Errorf("%w: in blob %d: %v", ErrStreamCut, n, err)
		}
		if got := CRC32C(buf); got != want {
			return n, fmt.Errorf("datapath: blob %d (key %x) of the stream has CRC32C %s, its frame says %s: damaged on the way; read it again",
				n, key[:8], FormatCRC(got), FormatCRC(want))
		}
		if err := fn(key, buf); err != nil {
			return n, err
		}
		n++
	}
	count, err := strconv.Atoi(trailer())
	if err != nil {
		return n, fmt.Errorf("%w: %d blobs arrived without the %s trailer", ErrStreamCut, n, HeaderBlobCount)
	}
	if count != n {
		return n, fmt.Errorf("%w: %d blobs arrived, the agent sent %d", ErrStreamCut, n, count)
	}
	return n, nil
}
