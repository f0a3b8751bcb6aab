package server

import (
	"math/bits"
	"sync"

	"github.com/shingle-storage/shingle/zoned"
)

// bufPool recycles the buffers the data path reads request bodies and
// extent ranges into, so a 4 MiB put or a range read does not allocate
// (and zero) a fresh buffer each time. Buffers come in power of two sizes
// from 4 KiB, one sync.Pool per size, aligned to 4 KiB so that device
// reads with O_DIRECT can use them directly.
type bufPool struct {
	classes [12]sync.Pool // 4 KiB << i, up to 8 MiB
}

const (
	minBufShift = 12 // 4 KiB
	bufAlign    = 4096
)

// bufs is the data path's pool.
var bufs bufPool

func bufClass(n int) int {
	if n <= 1<<minBufShift {
		return 0
	}
	return bits.Len(uint(n-1)) - minBufShift
}

// get returns an aligned buffer of n bytes with undefined contents. Give it
// back with put.
func (p *bufPool) get(n int) []byte {
	c := bufClass(n)
	if c >= len(p.classes) {
		return zoned.AlignedBuffer(n, bufAlign)
	}
	if b, ok := p.classes[c].Get().(*[]byte); ok {
		return (*b)[:n]
	}
	return zoned.AlignedBuffer(1<<(c+minBufShift), bufAlign)[:n]
}

// put gives back a buffer from get; the caller must not use it afterwards.
func (p *bufPool) put(b []byte) {
	c := bufClass(cap(b))
	if c >= len(p.classes) || cap(b) != 1<<(c+minBufShift) {
		return
	}
	b = b[:cap(b)]
	p.classes[c].Put(&b)
}
