package erasure

import (
	"math/rand/v2"
	"testing"
	"time"
)

// benchImageLen is the image the benchmarks code: 64 MiB, a sixteenth of a
// volume, enough to be out of every cache.
const benchImageLen = 64 << 20

var benchSchemes = []Scheme{RS(6, 3), LRC(12, 2, 2)}

// benchShards lays a random 64 MiB image out over s's data shards and
// encodes it.
func benchShards(b *testing.B, c *Codec) (Layout, [][]byte) {
	s := c.Scheme()
	l, err := NewLayout(benchImageLen, s.Data, 0)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, l.ShardLen*int64(s.Data))
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < benchImageLen; i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			buf[i+j] = byte(v >> (8 * j))
		}
	}
	shards := make([][]byte, s.Width())
	for i := range s.Data {
		shards[i] = buf[int64(i)*l.ShardLen : int64(i+1)*l.ShardLen]
	}
	if err := c.Encode(shards); err != nil {
		b.Fatal(err)
	}
	return l, shards
}

// memcpyRate measures copying the image in memory, the limit any pass over
// it meets, in MB/s (10^6 bytes, as b.SetBytes reports).
func memcpyRate(b *testing.B) float64 {
	src := make([]byte, benchImageLen)
	dst := make([]byte, benchImageLen)
	for i := range src {
		src[i] = byte(i) // untouched pages would all map the one zero page
	}
	copy(dst, src) // fault the pages in
	best := time.Duration(1 << 62)
	for range 5 {
		start := time.Now()
		copy(dst, src)
		best = min(best, time.Since(start))
	}
	return benchImageLen / best.Seconds() / 1e6
}

// BenchmarkEncode computes the parities of a 64 MiB image; MB/s counts the
// image bytes, and x-memcpy is that rate over copying the image.
func BenchmarkEncode(b *testing.B) {
	for _, s := range benchSchemes {
		b.Run("scheme="+s.String(), func(b *testing.B) {
			c := mustCodec(b, s)
			_, shards := benchShards(b, c)
			limit := memcpyRate(b)
			b.SetBytes(benchImageLen)
			b.ResetTimer()
			for b.Loop() {
				if err := c.Encode(shards); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			rate := float64(benchImageLen) * float64(b.N) / b.Elapsed().Seconds() / 1e6
			b.ReportMetric(limit, "memcpy-MB/s")
			b.ReportMetric(rate/limit, "x-memcpy")
		})
	}
}

// BenchmarkRebuild rebuilds data shard 0 of a 64 MiB image from the shards
// RepairPlan names (the local group for LRC); MB/s counts the bytes
// rebuilt, reads-per-byte the shard bytes read for each.
func BenchmarkRebuild(b *testing.B) {
	for _, s := range benchSchemes {
		b.Run("scheme="+s.String(), func(b *testing.B) {
			c := mustCodec(b, s)
			l, shards := benchShards(b, c)
			read, err := c.RepairPlan(nil, 0)
			if err != nil {
				b.Fatal(err)
			}
			work := only(shards, read)
			out := make([]byte, l.ShardLen)
			b.SetBytes(l.ShardLen)
			b.ResetTimer()
			for b.Loop() {
				work[0] = out[:0]
				if err := c.Rebuild(work, 0); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(read)), "reads-per-byte")
		})
	}
}

// BenchmarkDegradedRead rebuilds one 256 KiB chunk of a lost data shard
// from the same chunk of the others, what a read of a blob on a lost shard
// costs in CPU.
func BenchmarkDegradedRead(b *testing.B) {
	for _, s := range benchSchemes {
		b.Run("scheme="+s.String(), func(b *testing.B) {
			c := mustCodec(b, s)
			_, shards := benchShards(b, c)
			part := make([][]byte, len(shards))
			out := make([]byte, DefaultChunkSize)
			b.SetBytes(DefaultChunkSize)
			b.ResetTimer()
			for b.Loop() {
				for i := range part {
					part[i] = shards[i][DefaultChunkSize : 2*DefaultChunkSize]
				}
				part[1] = out[:0]
				if err := c.Reconstruct(part); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
