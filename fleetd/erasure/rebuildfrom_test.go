package erasure

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// TestRebuildFromRoutesAroundFailedReads checks that RebuildFrom rebuilds
// a shard when reads of the shards it first planned on fail, by planning
// again without them, reports how many shards the plan that worked read,
// and fails cleanly once too many reads fail.
func TestRebuildFromRoutesAroundFailedReads(t *testing.T) {
	for _, s := range []Scheme{RS(6, 3), LRC(12, 2, 2)} {
		c, err := NewCodec(s)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(1, 2))
		shards := make([][]byte, s.Width())
		for i := range shards {
			shards[i] = make([]byte, 4096)
			if i < s.Data {
				for j := range shards[i] {
					shards[i][j] = byte(r.Uint32())
				}
			}
		}
		if err := c.Encode(shards); err != nil {
			t.Fatal(err)
		}
		broken := map[int]bool{1: true} // shard 1 is unreadable as well as lost shard 0
		read := func(i int) ([]byte, error) {
			if broken[i] {
				return nil, errors.New("read failed")
			}
			return bytes.Clone(shards[i]), nil
		}
		got, n, err := c.RebuildFrom(nil, 0, read)
		if err != nil || !bytes.Equal(got, shards[0]) {
			t.Fatalf("%v: rebuilding shard 0 with shard 1 unreadable: %v", s, err)
		}
		if n < s.Data {
			t.Fatalf("%v: the plan that worked read %d shards, fewer than k=%d with two lost", s, n, s.Data)
		}
		// Local repair when nothing else is lost in the group.
		if _, n, err := c.RebuildFrom(nil, 0, func(i int) ([]byte, error) { return bytes.Clone(shards[i]), nil }); err != nil || (s.LocalGroups > 0 && n != s.GroupSize()) {
			t.Fatalf("%v: single loss read %d shards: %v", s, n, err)
		}
		for i := 1; i < s.Width(); i++ {
			broken[i] = true
		}
		if _, _, err := c.RebuildFrom(nil, 0, read); !errors.Is(err, ErrUnrecoverable) {
			t.Fatalf("%v: every other shard unreadable: %v, want ErrUnrecoverable", s, err)
		}
	}
}
