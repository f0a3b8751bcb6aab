package extent

import (
	"bytes"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/shingle-storage/shingle/zoned"
)

// TestChainedReadAheadReadsEveryZone writes three zones (one partly, one
// empty between them) and reads them through chained readers in chunks
// smaller than a zone: every byte comes back, records straddling chunks
// included. Then, on a crashed device, a reader whose first chunk was
// read ahead reports the error on every call instead of hanging.
func TestChainedReadAheadReadsEveryZone(t *testing.T) {
	dev, err := zoned.CreateEmulator(filepath.Join(t.TempDir(), "drive"), zoned.EmulatorConfig{ZoneSize: 1 << 20, ZoneCount: 6})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []int64{1 << 20, 0, 300 << 10, 1 << 20}
	want := make([][]byte, len(sizes))
	var spans []span
	for i, n := range sizes {
		z := dev.Info().ZoneStart(i)
		want[i] = make([]byte, n)
		for j := range want[i] {
			want[i][j] = byte(rng.Uint32())
		}
		if n > 0 {
			buf := zoned.AlignedBuffer(int(n), dev.Info().LogicalBlockSize)
			copy(buf, want[i])
			if _, err := dev.WriteAt(buf, z); err != nil {
				t.Fatal(err)
			}
		}
		spans = append(spans, span{from: z, limit: z + n})
	}
	rs := chainReadAhead(dev, spans, 256<<10, newBufPool(4096))
	for i, r := range rs {
		var got []byte
		for at := spans[i].from; at < spans[i].limit; {
			n := min(int64(12<<10), spans[i].limit-at) // 12 KiB pieces straddle the 256 KiB chunks
			b, err := r.bytes(at, int(n))
			if err != nil {
				t.Fatalf("zone %d at %d: %v", i, at, err)
			}
			got = append(got, b...)
			at += n
		}
		if !bytes.Equal(got, want[i]) {
			t.Fatalf("zone %d reads back different bytes", i)
		}
	}
	closeAll(rs)

	if _, err := dev.Crash(zoned.CrashOptions{}); err != nil {
		t.Fatal(err)
	}
	rs = chainReadAhead(dev, spans[:1], 256<<10, nil) // begins reading, and fails
	defer closeAll(rs)
	done := make(chan error, 1)
	go func() {
		_, err1 := rs[0].bytes(spans[0].from, 4096)
		_, err2 := rs[0].bytes(spans[0].from, 4096)
		if err1 == nil || err2 == nil {
			done <- nil
			return
		}
		done <- err2
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a read of a crashed device succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a reader whose first read ahead failed hangs on the next call")
	}
}
