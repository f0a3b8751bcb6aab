package volume

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/shingle-storage/shingle/fleetd/erasure"
)

// TestVerifyStripes checks the encoder's read-back check on an image of
// several stripes: shards that read back as encoded
// pass; a flipped byte in a stored chunk, a read that fails, and parity
// that was stored as computed but computed wrong (the decode check's
// case) each fail it, naming the chunk.
func TestVerifyStripes(t *testing.T) {
	for _, scheme := range []erasure.Scheme{erasure.RS(6, 3), erasure.LRC(12, 2, 2)} {
		t.Run(scheme.String(), func(t *testing.T) {
			codec, err := erasure.NewCodec(scheme)
			if err != nil {
				t.Fatal(err)
			}
			const chunk = 4096
			b, err := erasure.NewBuilder(codec, erasure.BuilderOptions{Volume: 7, Generation: 1, ChunkSize: chunk})
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range 40 {
				blob := make([]byte, 1+rng.IntN(20000))
				for j := range blob {
					blob[j] = byte(rng.Uint32())
				}
				if err := b.Add(erasure.Key{byte(i), 0x77}, blob); err != nil {
					t.Fatal(err)
				}
			}
			enc, err := b.Finish()
			if err != nil {
				t.Fatal(err)
			}
			if enc.Header.ShardLen < 3*chunk {
				t.Fatalf("shards of %d bytes: the test wants several %d-byte chunks", enc.Header.ShardLen, chunk)
			}
			// stored is what the drives hold: a copy of each shard.
			stored := make([][]byte, len(enc.Shards))
			for i, s := range enc.Shards {
				stored[i] = append([]byte(nil), s...)
			}
			read := func(ctx context.Context, i int, c int64) ([]byte, error) {
				s := stored[i]
				return append([]byte(nil), s[c*chunk:min((c+1)*chunk, int64(len(s)))]...), nil
			}
			ctx := context.Background()
			if err := verifyStripes(ctx, codec, enc, read); err != nil {
				t.Fatalf("shards stored as encoded: %v", err)
			}

			stored[4][chunk+5] ^= 0x10
			if err := verifyStripes(ctx, codec, enc, read); err == nil || !strings.Contains(err.Error(), "shard 4 chunk 1 does not read back") {
				t.Fatalf("a flipped byte in shard 4 chunk 1: %v", err)
			}
			stored[4][chunk+5] ^= 0x10

			boom := errors.New("drive gone")
			failing := func(ctx context.Context, i int, c int64) ([]byte, error) {
				if i == 2 && c == 2 {
					return nil, boom
				}
				return read(ctx, i, c)
			}
			if err := verifyStripes(ctx, codec, enc, failing); !errors.Is(err, boom) {
				t.Fatalf("a chunk that cannot be read: %v", err)
			}

			// Parity computed wrong and stored so: it reads back as
			// "encoded", and only the decode check can tell.
			last := len(enc.Shards) - 1
			enc.Shards[last][chunk] ^= 0x01
			stored[last][chunk] ^= 0x01
			if err := verifyStripes(ctx, codec, enc, read); err == nil || !strings.Contains(err.Error(), "decode check") || !strings.Contains(err.Error(), "chunk 1") {
				t.Fatalf("wrong parity in stripe 1: %v", err)
			}
		})
	}
}
