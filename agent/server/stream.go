package server

import (
	"bufio"
	"net/http"
	"strconv"

	"github.com/shingle-storage/shingle/agent/datapath"
	"github.com/shingle-storage/shingle/agent/record"
)

// streamBlobs sends every live blob of an extent as a datapath blob
// stream, with the count in the trailer. An error before the first byte
// gets an error status; one after it ends the response without the
// trailer, which the reader takes as a cut stream.
func (p *dataPath) streamBlobs(w http.ResponseWriter, r *http.Request) {
	d, id, err := p.parseExtent(r)
	if err != nil {
		p.fail(w, r, nil, "stream", err)
		return
	}
	bw := bufio.NewWriterSize(corkedWriter{w, r}, 1<<20)
	started, n, bytes := false, 0, 0
	var frame []byte
	err = d.Store.LiveBlobs(r.Context(), id, func(key record.Key, blob []byte) error {
		if !started {
			h := w.Header()
			h.Set("Content-Type", "application/octet-stream")
			h.Set("Trailer", datapath.HeaderBlobCount)
			w.WriteHeader(http.StatusOK)
			started = true
		}
		frame = datapath.AppendFrame(frame[:0], key, blob)
		n++
		bytes += len(blob)
		_, err := bw.Write(frame)
		return err
	})
	if err != nil {
		if !started {
			p.fail(w, r, d, "stream", err)
			return
		}
		p.log.Warn("data path error", "op", "stream", "path", r.URL.Path, "blobs", n, "err", err)
		_ = bw.Flush()
		panic(http.ErrAbortHandler)
	}
	if !started {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Trailer", datapath.HeaderBlobCount)
		w.WriteHeader(http.StatusOK)
	}
	if err := bw.Flush(); err != nil {
		return
	}
	w.Header().Set(datapath.HeaderBlobCount, strconv.Itoa(n))
	p.metrics.done(d.ID, "stream", bytes, "")
}
