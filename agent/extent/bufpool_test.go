package extent

import (
	"testing"

	"github.com/shingle-storage/shingle/zoned"
)

func TestBufPool(t *testing.T) {
	p := newBufPool(4096)
	for _, n := range []int{1, 4096, 4097, 1 << 20, 4<<20 + 4096} {
		b := p.get(n)
		if len(b) != n || !zoned.IsAligned(b, 4096) {
			t.Fatalf("get(%d): %d bytes, aligned %v", n, len(b), zoned.IsAligned(b, 4096))
		}
		if c := cap(b); c < n || c&(c-1) != 0 {
			t.Fatalf("get(%d): capacity %d is not a power of two at least n", n, c)
		}
		p.put(b)
		if again := p.get(n); len(again) != n || !zoned.IsAligned(again, 4096) {
			t.Fatalf("reused buffer for %d bytes is %d bytes long or unaligned", n, len(again))
		}
	}
	p.put(make([]byte, 5000)) // not from the pool: ignored
}
