package server

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"connectrpc.com/connect"
	"github.com/shingle-storage/shingle/agent/extent"
	"github.com/shingle-storage/shingle/agent/record"
)

// HeaderCRC32C carries the CRC32C (Castagnoli) of a blob's bytes, as 8
// hex digits, on a PUT's request and a GET's response.
const HeaderCRC32C = "Shingle-CRC32C"

// BlobPath is the data-path URL path of a blob.
func BlobPath(drive string, extentID uint64, key record.Key) string {
	return fmt.Sprintf("/v1/drives/%s/extents/%d/blobs/%x", drive, extentID, key[:])
}

// castagnoli is the CRC32C table.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// FormatCRC32C returns the Shingle-CRC32C header value for b.
func FormatCRC32C(b []byte) string {
	return fmt.Sprintf("%08x", crc32.Checksum(b, castagnoli))
}

// dataPath serves blob bytes.
type dataPath struct {
	drives  *drives
	metrics *metrics
	log     *slog.Logger
}

// mount registers the data path's routes on mux.
func (p *dataPath) mount(mux *http.ServeMux) {
	const blob = "/v1/drives/{drive}/extents/{extent}/blobs/{key}"
	mux.HandleFunc("PUT "+blob, p.put)
	mux.HandleFunc("GET "+blob, p.get)
	mux.HandleFunc("DELETE "+blob, p.delete)
}

// blobRequest is a parsed data-path URL.
type blobRequest struct {
	drive  *Drive
	extent uint64
	key    record.Key
}

// parse reads the drive, extent and key from r's path.
func (p *dataPath) parse(r *http.Request) (blobRequest, error) {
	var br blobRequest
	d, err := p.drives.get(r.PathValue("drive"))
	if err != nil {
		return br, err
	}
	br.drive = d
	if br.extent, err = strconv.ParseUint(r.PathValue("extent"), 10, 64); err != nil {
		return br, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("extent %q is not a decimal extent id", r.PathValue("extent")))
	}
	k, err := hex.DecodeString(r.PathValue("key"))
	if err != nil || len(k) != record.KeySize {
		return br, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("key %q is not %d bytes in %d hex digits", r.PathValue("key"), record.KeySize, 2*record.KeySize))
	}
	copy(br.key[:], k)
	return br, nil
}

// put stores the request's body as a blob once its CRC32C checks.
func (p *dataPath) put(w http.ResponseWriter, r *http.Request) {
	br, err := p.parse(r)
	if err != nil {
		p.fail(w, r, nil, "put", err)
		return
	}
	want := r.Header.Get(HeaderCRC32C)
	if len(want) != 8 {
		p.fail(w, r, br.drive, "put", connect.NewError(connect.CodeInvalidArgument,
			fmt.Errorf("the %s header must carry the body's CRC32C (Castagnoli) as 8 hex digits, got %q", HeaderCRC32C, want)))
		return
	}
	if r.ContentLength > record.MaxPayload {
		p.fail(w, r, br.drive, "put", fmt.Errorf("%w: %d bytes, the limit is %d", extent.ErrTooLarge, r.ContentLength, record.MaxPayload))
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, record.MaxPayload))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			err = fmt.Errorf("%w: the body is over the %d-byte limit", extent.ErrTooLarge, record.MaxPayload)
		} else {
			err = connect.NewError(connect.CodeCanceled, fmt.Errorf("reading the body: %w", err))
		}
		p.fail(w, r, br.drive, "put", err)
		return
	}
	if got := FormatCRC32C(data); got != want {
		p.fail(w, r, br.drive, "put", connect.NewError(connect.CodeDataLoss,
			fmt.Errorf("the body's CRC32C is %s but %s says %s: the bytes were damaged on the way; nothing was stored, send the blob again", got, HeaderCRC32C, want)))
		return
	}
	if _, err := br.drive.Store.Put(r.Context(), br.extent, br.key, data); err != nil {
		p.fail(w, r, br.drive, "put", err)
		return
	}
	p.metrics.done(br.drive.ID, "put", len(data), "")
	w.WriteHeader(http.StatusCreated)
}

// get answers with the blob's bytes and their CRC32C.
func (p *dataPath) get(w http.ResponseWriter, r *http.Request) {
	br, err := p.parse(r)
	if err != nil {
		p.fail(w, r, nil, "get", err)
		return
	}
	data, err := br.drive.Store.Get(r.Context(), br.key)
	if err != nil {
		p.fail(w, r, br.drive, "get", err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Header().Set(HeaderCRC32C, FormatCRC32C(data))
	_, _ = w.Write(data)
	p.metrics.done(br.drive.ID, "get", len(data), "")
}

// delete writes a tombstone for the blob into the named open extent.
func (p *dataPath) delete(w http.ResponseWriter, r *http.Request) {
	br, err := p.parse(r)
	if err != nil {
		p.fail(w, r, nil, "delete", err)
		return
	}
	if err := br.drive.Store.Delete(r.Context(), br.extent, br.key); err != nil {
		p.fail(w, r, br.drive, "delete", err)
		return
	}
	p.metrics.done(br.drive.ID, "delete", 0, "")
	w.WriteHeader(http.StatusNoContent)
}

// fail answers err as a Connect-style JSON error ({"code", "message"})
// with the matching HTTP status, and counts it against drive if known.
func (p *dataPath) fail(w http.ResponseWriter, r *http.Request, drive *Drive, op string, err error) {
	code, status := classify(err)
	msg := err.Error()
	var ce *connect.Error
	if errors.As(err, &ce) {
		code, status, msg = ce.Code(), statusOf(ce.Code()), ce.Message()
	}
	if drive != nil {
		p.metrics.done(drive.ID, op, 0, code.String())
	}
	if status >= 500 {
		p.log.Warn("data path error", "op", op, "path", r.URL.Path, "code", code.String(), "err", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": code.String(), "message": msg})
}

// statusOf is the HTTP status of an error the data path raised itself.
func statusOf(code connect.Code) int {
	switch code {
	case connect.CodeInvalidArgument, connect.CodeDataLoss:
		return http.StatusBadRequest
	case connect.CodeNotFound:
		return http.StatusNotFound
	case connect.CodeCanceled:
		return 499
	}
	return http.StatusInternalServerError
}
