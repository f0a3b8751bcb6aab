package extent

import (
	"math/bits"
	"sync"

	"github.com/shingle-storage/shingle/zoned"
)

// bufPool recycles the aligned buffers records are encoded into. A put of a
// 4 MiB blob needs a 4 MiB buffer only until its append returns; allocating
// (and zeroing) a fresh one for every put costs as much CPU as encoding the
// record, and the garbage collector's work besides. Buffers come in power
// of two sizes from 4 KiB up, one sync.Pool per size.
type bufPool struct {
	align   int
	classes [24]sync.Pool // 4 KiB << i
}

const minBufClass = 12 // 4 KiB

func newBufPool(align int) *bufPool { return &bufPool{align: max(align, 4096)} }

func bufClass(n int) int {
	if n <= 1<<minBufClass {
		return 0
	}
	return bits.Len(uint(n-1)) - minBufClass
}

// get returns an aligned buffer of n bytes with undefined contents.
func (p *bufPool) get(n int) []byte {
	c := bufClass(n)
	if c >= len(p.classes) {
		return zoned.AlignedBuffer(n, p.align)
	}
	if b, ok := p.classes[c].Get().(*[]byte); ok {
		return (*b)[:n]
	}
	return zoned.AlignedBuffer(1<<(c+minBufClass), p.align)[:n]
}

// put gives back a buffer from get; the caller must not use it afterwards.
func (p *bufPool) put(b []byte) {
	c := bufClass(cap(b))
	if c >= len(p.classes) || cap(b) != 1<<(c+minBufClass) {
		return
	}
	b = b[:cap(b)]
	p.classes[c].Put(&b)
}
