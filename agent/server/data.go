package server

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/shingle-storage/shingle/internal/tracing"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"hash/crc32"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"connectrpc.com/connect"
	"github.com/shingle-storage/shingle/agent/datapath"
	"github.com/shingle-storage/shingle/agent/extent"
	"github.com/shingle-storage/shingle/agent/record"
)

// rangeChunk is how much of a range the agent reads from the drive at once
// and sends before reading on.
const rangeChunk = 4 << 20

// dataPath serves blob bytes and extent ranges.
type dataPath struct {
	drives  *drives
	metrics *metrics
	log     *slog.Logger
	tracer  trace.TracerProvider
}

// mount registers the data path's routes on mux.
func (p *dataPath) mount(mux *http.ServeMux) {
	const blob = "/v1/drives/{drive}/extents/{extent}/blobs/{key}"
	mux.HandleFunc("PUT "+blob, p.traced("PUT blob", p.put))
	mux.HandleFunc("GET "+blob, p.traced("GET blob", p.get))
	mux.HandleFunc("DELETE "+blob, p.traced("DELETE blob", p.delete))
	mux.HandleFunc("GET /v1/drives/{drive}/extents/{extent}/range", p.traced("GET range", p.readRange))
	mux.HandleFunc("GET /v1/drives/{drive}/extents/{extent}/blobs", p.traced("GET blobs", p.streamBlobs))
}

// traced wraps a data-path handler in a server span named name, continuing
// the caller's trace (W3C traceparent); the store's spans hang under it.
func (p *dataPath) traced(name string, h http.HandlerFunc) http.HandlerFunc {
	tracer := p.tracer.Tracer("github.com/shingle-storage/shingle/agent/server")
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := tracing.Extract(r.Context(), r.Header)
		ctx, span := tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path),
				attribute.String("shingle.drive", r.PathValue("drive"))))
		defer span.End()
		h(w, r.WithContext(ctx))
	}
}

// blobRequest is a parsed data-path URL.
type blobRequest struct {
	drive  *Drive
	extent uint64
	key    record.Key
}

// parseExtent reads the drive and extent from r's path.
func (p *dataPath) parseExtent(r *http.Request) (*Drive, uint64, error) {
	d, err := p.drives.get(r.PathValue("drive"))
	if err != nil {
		return nil, 0, err
	}
	id, err := strconv.ParseUint(r.PathValue("extent"), 10, 64)
	if err != nil {
		return d, 0, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("extent %q is not a decimal extent id", r.PathValue("extent")))
	}
	return d, id, nil
}

// parse reads the drive, extent and key from r's path.
func (p *dataPath) parse(r *http.Request) (blobRequest, error) {
	var br blobRequest
	var err error
	if br.drive, br.extent, err = p.parseExtent(r); err != nil {
		return br, err
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
	want, err := datapath.ParseCRC32C(r.Header.Get(datapath.HeaderCRC32C))
	if err != nil {
		p.fail(w, r, br.drive, "put", connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("%w: the body's checksum", err)))
		return
	}
	if r.ContentLength > record.MaxPayload {
		p.fail(w, r, br.drive, "put", fmt.Errorf("%w: %d bytes, the limit is %d", extent.ErrTooLarge, r.ContentLength, record.MaxPayload))
		return
	}
	// The body goes straight into the buffer the record is written from.
	size := int(r.ContentLength)
	if r.ContentLength < 0 {
		size = record.MaxPayload + 1 // one byte more tells an oversized body
	}
	blob := br.drive.Store.NewBlob(size)
	defer blob.Release()
	n, got, err := readBody(r.Body, r.ContentLength, blob.Bytes())
	if err == nil {
		err = blob.SetLen(n)
	}
	if err != nil {
		p.fail(w, r, br.drive, "put", err)
		return
	}
	if got != want {
		p.fail(w, r, br.drive, "put", connect.NewError(connect.CodeDataLoss,
			fmt.Errorf("the body's CRC32C is %s but %s says %s: the bytes were damaged on the way; nothing was stored, send the blob again",
				datapath.FormatCRC(got), datapath.HeaderCRC32C, datapath.FormatCRC(want))))
		return
	}
	// The record keeps the checksum just verified, so the client's CRC32C
	// travels with the bytes to the drive.
	if br.extent == datapath.PoolExtent {
		err = br.drive.poolPut(r.Context(), br.key, blob, got)
	} else {
		_, err = br.drive.Store.PutBlob(r.Context(), br.extent, br.key, blob, got)
	}
	if err != nil {
		p.fail(w, r, br.drive, "put", err)
		return
	}
	p.metrics.done(br.drive.ID, "put", n, "")
	w.WriteHeader(http.StatusCreated)
}

// readBody reads a blob's body of length bytes (-1: unknown, up to the end
// of the body) into buf, which has room for length bytes, or for one more
// than record.MaxPayload when the length is unknown, computing its CRC32C
// as the bytes arrive. It returns how many bytes it read. A body over
// record.MaxPayload is refused with extent.ErrTooLarge.
func readBody(body io.Reader, length int64, buf []byte) (int, uint32, error) {
	n, crc := 0, uint32(0)
	for n < len(buf) {
		m, err := body.Read(buf[n:])
		crc = crc32.Update(crc, datapath.Castagnoli, buf[n:n+m])
		n += m
		if errors.Is(err, io.EOF) {
			if length >= 0 && n < len(buf) {
				return n, crc, connect.NewError(connect.CodeCanceled, fmt.Errorf("reading the body: it ended after %d of its %d bytes", n, len(buf)))
			}
			break
		}
		if err != nil {
			return n, crc, connect.NewError(connect.CodeCanceled, fmt.Errorf("reading the body: %w", err))
		}
	}
	if n > record.MaxPayload {
		return n, crc, fmt.Errorf("%w: the body is over the %d-byte limit", extent.ErrTooLarge, record.MaxPayload)
	}
	return n, crc, nil
}

// get answers with the blob's bytes and their CRC32C.
func (p *dataPath) get(w http.ResponseWriter, r *http.Request) {
	br, err := p.parse(r)
	if err != nil {
		p.fail(w, r, nil, "get", err)
		return
	}
	// The checksum sent is the one the drive held for the blob, which the
	// read checked against the bytes. Over HTTP/1.x the blob is read into
	// a pooled buffer, given back once written: a Write there has encrypted
	// the bytes when it returns. An HTTP/2 Write can return (its stream
	// reset) while the connection's writer still holds the bytes, so there
	// the blob gets memory of its own.
	var data []byte
	var sum uint32
	if r.ProtoMajor == 1 {
		var blob *extent.Blob
		blob, sum, err = br.drive.Store.GetBlob(r.Context(), br.key)
		if err == nil {
			defer blob.Release()
			data = blob.Bytes()
		}
	} else {
		data, sum, err = br.drive.Store.GetChecked(r.Context(), br.key)
	}
	if err != nil {
		p.fail(w, r, br.drive, "get", err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.Itoa(len(data)))
	h.Set(datapath.HeaderCRC32C, datapath.FormatCRC(sum))
	_, _ = corkedWriter{w, r}.Write(data)
	p.metrics.done(br.drive.ID, "get", len(data), "")
}

// delete writes a tombstone for the blob into the named open extent.
func (p *dataPath) delete(w http.ResponseWriter, r *http.Request) {
	br, err := p.parse(r)
	if err != nil {
		p.fail(w, r, nil, "delete", err)
		return
	}
	if br.extent == datapath.PoolExtent {
		err = br.drive.poolDelete(r.Context(), br.key)
	} else {
		err = br.drive.Store.Delete(r.Context(), br.extent, br.key)
	}
	if err != nil {
		p.fail(w, r, br.drive, "delete", err)
		return
	}
	p.metrics.done(br.drive.ID, "delete", 0, "")
	w.WriteHeader(http.StatusNoContent)
}

// readRange streams length bytes at offset of an extent's byte space, as
// the drive holds them, with their CRC32C in the trailer.
func (p *dataPath) readRange(w http.ResponseWriter, r *http.Request) {
	d, id, err := p.parseExtent(r)
	if err != nil {
		p.fail(w, r, nil, "range", err)
		return
	}
	l := d.Store.Label()
	space := int64(l.ZonesPerExtent) * l.ZoneSize
	off, n, err := parseRange(r, id, space)
	if err != nil {
		if connect.CodeOf(err) == connect.CodeOutOfRange {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", space))
		}
		p.fail(w, r, d, "range", err)
		return
	}
	// The device reads whole blocks into aligned memory: read the blocks
	// that cover the range and send the part asked for. The next chunk is
	// read while the current one is sent.
	bs := int64(max(l.BlockSize, 1))
	start, end := off/bs*bs, (off+n+bs-1)/bs*bs
	chunks, stop := readChunks(d, id, start, end)
	defer stop()
	crc := uint32(0)
	for c := range chunks {
		if c.err != nil {
			c.done()
			if c.pos == start {
				p.fail(w, r, d, "range", c.err)
				return
			}
			// The status is sent: end the response without its trailer,
			// so the client sees the range cut short.
			p.metrics.done(d.ID, "range", 0, connect.CodeOf(connectError(c.err)).String())
			p.log.Warn("data path error", "op", "range", "path", r.URL.Path, "offset", c.pos, "err", c.err)
			panic(http.ErrAbortHandler)
		}
		part := c.buf[max(off-c.pos, 0):min(off+n-c.pos, int64(len(c.buf)))]
		if c.pos == start {
			h := w.Header()
			h.Set("Content-Type", "application/octet-stream")
			h.Set("Trailer", datapath.HeaderCRC32C)
			w.WriteHeader(http.StatusOK)
		}
		crc = crc32.Update(crc, datapath.Castagnoli, part)
		_, err := corkedWriter{w, r}.Write(part)
		c.done()
		if err != nil {
			return // the client went away
		}
	}
	w.Header().Set(datapath.HeaderCRC32C, datapath.FormatCRC(crc))
	p.metrics.done(d.ID, "range", int(n), "")
}

// rangeRead is one chunk of a range read from the drive.
type rangeRead struct {
	pos  int64
	buf  []byte
	err  error
	done func() // gives buf back for the next chunk
}

// readChunks reads bytes [start, end) of extent id's byte space in chunks
// of rangeChunk, at most two ahead of the reader, and sends them in order;
// after an error it sends nothing more. stop ends the reading and returns
// the buffers to the pool; call it once done.
func readChunks(d *Drive, id uint64, start, end int64) (<-chan rangeRead, func()) {
	size := int(min(rangeChunk, end-start))
	free := make(chan []byte, 2)
	free <- bufs.get(size)
	free <- bufs.get(size)
	out := make(chan rangeRead, 2)
	quit := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		defer close(out)
		for pos := start; pos < end; pos += int64(size) {
			var b []byte
			select {
			case b = <-free:
			case <-quit:
				return
			}
			b = b[:min(int64(size), end-pos)]
			err := d.Store.ReadRange(id, pos, b)
			out <- rangeRead{pos: pos, buf: b, err: err, done: func() { free <- b[:cap(b)] }}
			if err != nil {
				return
			}
		}
	}()
	stop := func() {
		close(quit)
		<-finished
		for c := range out {
			c.done()
		}
		for len(free) > 0 {
			bufs.put(<-free)
		}
	}
	return out, stop
}

// parseRange reads a range read's offset and length and checks them
// against the extent's byte space of space bytes.
func parseRange(r *http.Request, id uint64, space int64) (int64, int64, error) {
	q := r.URL.Query()
	num := func(name string) (int64, error) {
		s := q.Get(name)
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 0 {
			return 0, connect.NewError(connect.CodeInvalidArgument,
				fmt.Errorf("%s %q is not a decimal byte count; a range read takes ?offset=N&length=M", name, s))
		}
		return v, nil
	}
	off, err := num("offset")
	if err != nil {
		return 0, 0, err
	}
	n, err := num("length")
	if err != nil {
		return 0, 0, err
	}
	switch {
	case n == 0:
		return 0, 0, connect.NewError(connect.CodeInvalidArgument, errors.New("length 0: a range read reads at least one byte"))
	case n > datapath.MaxRangeLength:
		return 0, 0, connect.NewError(connect.CodeInvalidArgument,
			fmt.Errorf("length %d is over the %d bytes one range read may return; read the range in pieces", n, datapath.MaxRangeLength))
	case off >= space || n > space-off:
		return 0, 0, connect.NewError(connect.CodeOutOfRange,
			fmt.Errorf("bytes %d to %d are outside extent %d's byte space of %d bytes", off, off+n, id, space))
	}
	return off, n, nil
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
	case connect.CodeOutOfRange:
		return http.StatusRequestedRangeNotSatisfiable
	case connect.CodeCanceled:
		return 499
	}
	return http.StatusInternalServerError
}
