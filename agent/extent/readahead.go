package extent

import (
	"github.com/shingle-storage/shingle/zoned"
)

// readAhead reads a zone front to back in large chunks for scanZone,
// reading the next chunk while the caller decodes the current one, so a
// scan goes at the speed of the drive rather than of the drive plus the
// decoder. Records that straddle two chunks are put together in a scratch
// buffer; the rare look back before the current chunk is read directly.
//
// The readers of a run of zones are chained (chainReadAhead): once one has
// read its zone's last chunk, the next starts reading its first, so the
// drive stays busy across zone boundaries while the last chunk is decoded.
type readAhead struct {
	dev   zoned.Device
	from  int64 // device offset where the zone's bytes start
	limit int64 // device offset where the readable bytes end
	bs    int
	chunk int

	bufs     [2][]byte
	cur      int // index in bufs of the current chunk
	curStart int64
	curLen   int

	// The chunk after the current one, being read into bufs[1-cur]; or,
	// before the first chunk is current, the first being read into
	// bufs[0] (see begin).
	next      chan readResult
	nextStart int64
	nextLen   int

	// then is the reader to begin once this one has nothing more to read.
	then *readAhead
	// pool, if not nil, lends the chunk buffers (see release).
	pool *bufPool

	scratch []byte
}

type readResult struct{ err error }

func newReadAhead(dev zoned.Device, from, limit int64, chunk int, pool *bufPool) *readAhead {
	bs := dev.Info().LogicalBlockSize
	chunk = int(min(int64(chunk), max(limit-from, int64(bs))))
	chunk = (chunk + bs - 1) / bs * bs
	return &readAhead{dev: dev, from: from, limit: limit, bs: bs, chunk: chunk, curStart: from, pool: pool}
}

// span is the readable stretch [from, limit) of one zone.
type span struct{ from, limit int64 }

// chainReadAhead returns a reader for each span, each beginning to read
// when the one before it has read everything it will, and begins the
// first. Their buffers come from pool (nil: allocated); release each
// reader when done with it.
func chainReadAhead(dev zoned.Device, spans []span, chunk int, pool *bufPool) []*readAhead {
	rs := make([]*readAhead, len(spans))
	for i := len(spans) - 1; i >= 0; i-- {
		rs[i] = newReadAhead(dev, spans[i].from, spans[i].limit, chunk, pool)
		if i+1 < len(spans) {
			rs[i].then = rs[i+1]
		}
	}
	if len(rs) > 0 {
		rs[0].begin()
	}
	return rs
}

// buffers gets the chunk buffers on first use.
func (r *readAhead) buffers() {
	if r.bufs[0] == nil {
		r.bufs[0] = r.buffer()
		if r.limit-r.from > int64(r.chunk) {
			r.bufs[1] = r.buffer()
		}
	}
}

func (r *readAhead) buffer() []byte {
	if r.pool != nil {
		return r.pool.get(r.chunk)
	}
	return zoned.AlignedBuffer(r.chunk, r.bs)
}

// begin starts reading the first chunk, if nothing has been read yet.
func (r *readAhead) begin() {
	if r.next != nil || r.curLen != 0 || r.from >= r.limit {
		r.passOn()
		return
	}
	r.buffers()
	r.startRead(r.bufs[0], r.from)
}

// startRead starts reading into buf at device offset at, as much as buf
// holds up to the limit; advance collects it.
func (r *readAhead) startRead(buf []byte, at int64) {
	n := int(min(int64(len(buf)), r.limit-at))
	r.next, r.nextStart, r.nextLen = make(chan readResult, 1), at, n
	go func() {
		_, err := r.dev.ReadAt(buf[:n], at)
		r.next <- readResult{err}
	}()
}

// passOn begins the next reader of the chain, once.
func (r *readAhead) passOn() {
	if r.then != nil {
		r.then.begin()
		r.then = nil
	}
}

// prefetch starts reading the chunk that follows the current one, or,
// past the zone's last, has the next reader of the chain begin.
func (r *readAhead) prefetch() {
	at := r.curStart + int64(r.curLen)
	if at >= r.limit || r.bufs[1] == nil {
		r.passOn()
		return
	}
	if r.next == nil {
		r.startRead(r.bufs[1-r.cur], at)
	}
}

// advance makes the prefetched chunk current, reading the first chunk if
// none is loaded yet.
func (r *readAhead) advance() error {
	if r.curLen == 0 {
		if r.next != nil {
			// begin started reading the first chunk.
			res := <-r.next
			r.next = nil
			if res.err == nil {
				r.curLen = r.nextLen
				r.prefetch()
				return nil
			}
			// Read it again, and report the error if it stays.
		}
		r.buffers()
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

// release closes r and gives its buffers back to the pool; r reads
// nothing more.
func (r *readAhead) release() {
	r.close()
	if r.pool != nil {
		for i, b := range r.bufs {
			if b != nil {
				r.pool.put(b)
				r.bufs[i] = nil
			}
		}
	}
	r.curLen, r.limit = 0, r.from
}

// closeAll releases a chain of readers, some of which may have begun
// reading though never used.
func closeAll(rs []*readAhead) {
	for _, r := range rs {
		r.release()
	}
}
