package extent

import (
	"github.com/shingle-storage/shingle/zoned"
)

// readAhead reads a zone front to back in large chunks for scanZone,
// reading the next chunk while the caller decodes the current one, so a
// scan goes at the speed of the drive rather than of the drive plus the
// decoder. Records that straddle two chunks are put together in a scratch
// buffer; the rare look back before the current chunk is read directly.
type readAhead struct {
	dev   zoned.Device
	limit int64 // device offset where the readable bytes end
	bs    int

	bufs     [2][]byte
	cur      int // index in bufs of the current chunk
	curStart int64
	curLen   int

	// The chunk after the current one, being read into bufs[1-cur].
	next      chan readResult
	nextStart int64
	nextLen   int

	scratch []byte
}

type readResult struct{ err error }

func newReadAhead(dev zoned.Device, from, limit int64, chunk int) *readAhead {
	bs := dev.Info().LogicalBlockSize
	chunk = int(min(int64(chunk), max(limit-from, int64(bs))))
	chunk = (chunk + bs - 1) / bs * bs
	r := &readAhead{dev: dev, limit: limit, bs: bs, curStart: from}
	r.bufs[0] = zoned.AlignedBuffer(chunk, bs)
	if limit-from > int64(chunk) {
		r.bufs[1] = zoned.AlignedBuffer(chunk, bs)
	}
	return r
}

// prefetch starts reading the chunk that follows the current one.
func (r *readAhead) prefetch() {
	at := r.curStart + int64(r.curLen)
	if r.next != nil || at >= r.limit || r.bufs[1] == nil {
		return
	}
	buf := r.bufs[1-r.cur]
	n := int(min(int64(len(buf)), r.limit-at))
	r.next, r.nextStart, r.nextLen = make(chan readResult, 1), at, n
	go func() {
		_, err := r.dev.ReadAt(buf[:n], at)
		r.next <- readResult{err}
	}()
}

// advance makes the prefetched chunk current, reading the first chunk if
// none is loaded yet.
func (r *readAhead) advance() error {
	if r.curLen == 0 {
		n := int(min(int64(len(r.bufs[0])), r.limit-r.curStart))
		if _, err := r.dev.ReadAt(r.bufs[0][:n], r.curStart); err != nil {
			return err
		}
		r.curLen = n
		r.prefetch()
		return nil
	}
	r.prefetch()
	if r.next == nil {
		return errReadPastLimit
	}
	res := <-r.next
	r.next = nil
	if res.err != nil {
		return res.err
	}
	r.cur = 1 - r.cur
	r.curStart, r.curLen = r.nextStart, r.nextLen
	r.prefetch()
	return nil
}

var errReadPastLimit = &zoned.Error{Op: "read", Zone: -1, Offset: -1, Kind: zoned.ErrOutOfRange,
	Detail: "a scan read past the written part of a zone"}

// bytes returns the n bytes at device offset at; at+n must not pass the
// limit. The slice is valid until the next call.
func (r *readAhead) bytes(at int64, n int) ([]byte, error) {
	if at+int64(n) > r.limit {
		return nil, errReadPastLimit
	}
	if r.curLen == 0 {
		if err := r.advance(); err != nil {
			return nil, err
		}
	}
	if at < r.curStart {
		return r.direct(at, n)
	}
	for at >= r.curStart+int64(r.curLen) {
		if err := r.advance(); err != nil {
			return nil, err
		}
	}
	off := int(at - r.curStart)
	if off+n <= r.curLen {
		return r.bufs[r.cur][off : off+n], nil
	}
	// The bytes straddle the end of the current chunk.
	if cap(r.scratch) < n {
		r.scratch = zoned.AlignedBuffer(n, r.bs)
	}
	out := r.scratch[:n]
	got := copy(out, r.bufs[r.cur][off:r.curLen])
	for got < n {
		if err := r.advance(); err != nil {
			return nil, err
		}
		got += copy(out[got:], r.bufs[r.cur][:r.curLen])
	}
	return out, nil
}

// direct reads n bytes at at without the chunks.
func (r *readAhead) direct(at int64, n int) ([]byte, error) {
	if cap(r.scratch) < n {
		r.scratch = zoned.AlignedBuffer(n, r.bs)
	}
	out := r.scratch[:n]
	if _, err := r.dev.ReadAt(out, at); err != nil {
		return nil, err
	}
	return out, nil
}

// close waits for a read in flight, so the buffers are free.
func (r *readAhead) close() {
	if r.next != nil {
		<-r.next
		r.next = nil
	}
}
