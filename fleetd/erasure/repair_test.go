package erasure

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// only returns the shard list keeping just the shards in keep.
func only(shards [][]byte, keep []int) [][]byte {
	out := make([][]byte, len(shards))
	for _, i := range keep {
		out[i] = shards[i]
	}
	return out
}

func TestLRCLocalRepairReadsItsGroup(t *testing.T) {
	s := LRC(12, 2, 2)
	c := mustCodec(t, s)
	want := encoded(t, c, 3000, rand.New(rand.NewPCG(11, 12)))
	for target := range s.Data + s.LocalGroups {
		read, err := c.RepairPlan(nil, target)
		if err != nil {
			t.Fatal(err)
		}
		group := slices.DeleteFunc(s.GroupMembers(s.Group(target)), func(i int) bool { return i == target })
		if !slices.Equal(read, group) || len(read) != 6 {
			t.Errorf("repair of shard %d reads %v, want the 6 others of its group %v", target, read, group)
		}
		got := only(want, read)
		if err := c.Rebuild(got, target); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[target], want[target]) {
			t.Errorf("shard %d rebuilt wrong from its group", target)
		}
		// A loss outside the group changes nothing.
		other := s.GroupMembers(1 - s.Group(target))[0]
		if read2, _ := c.RepairPlan([]int{other, 15}, target); !slices.Equal(read2, read) {
			t.Errorf("repair of %d with %d and 15 also lost reads %v", target, other, read2)
		}
	}
}

func TestRepairPlanFallsBackToKShards(t *testing.T) {
	lrc := mustCodec(t, LRC(12, 2, 2))
	rs := mustCodec(t, RS(6, 3))
	for _, tc := range []struct {
		c      *Codec
		lost   []int
		target int
		want   []int
	}{
		// Another loss in the group: 12 shards, data first.
		{lrc, []int{1}, 0, []int{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 15}},
		// A global parity has no group: all the data.
		{lrc, nil, 14, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
		// Three data shards of a group: the local parity is needed.
		{lrc, []int{0, 1, 2}, 1, []int{3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15}},
		// RS: k survivors, data first.
		{rs, nil, 0, []int{1, 2, 3, 4, 5, 6}},
		{rs, []int{2, 6}, 8, []int{0, 1, 3, 4, 5, 7}},
	} {
		read, err := tc.c.RepairPlan(tc.lost, tc.target)
		if err != nil || !slices.Equal(read, tc.want) {
			t.Errorf("%v RepairPlan(%v, %d) = %v, %v; want %v", tc.c.Scheme(), tc.lost, tc.target, read, err, tc.want)
		}
	}
}

// TestRebuildFromEveryPlan rebuilds every shard under every loss pattern
// within tolerance from exactly the shards its plan names, on a byte range
// of the shards as a degraded read would.
func TestRebuildFromEveryPlan(t *testing.T) {
	for _, s := range []Scheme{RS(6, 3), LRC(12, 2, 2)} {
		c := mustCodec(t, s)
		want := encoded(t, c, 200, rand.New(rand.NewPCG(13, 14)))
		for n := 1; n <= c.Tolerance(); n++ {
			allSubsets(s.Width(), n, func(lost []int) {
				for _, target := range lost {
					read, err := c.RepairPlan(lost, target)
					if err != nil {
						t.Fatalf("%v RepairPlan(%v, %d): %v", s, lost, target, err)
					}
					for _, r := range read {
						if slices.Contains(lost, r) {
							t.Fatalf("%v RepairPlan(%v, %d) reads lost shard %d", s, lost, target, r)
						}
					}
					if len(read) > s.Data {
						t.Fatalf("%v RepairPlan(%v, %d) reads %d shards", s, lost, target, len(read))
					}
					part := make([][]byte, len(want))
					for _, r := range read {
						part[r] = want[r][50:150]
					}
					if err := c.Rebuild(part, target); err != nil {
						t.Fatalf("%v Rebuild of %d from %v: %v", s, target, read, err)
					}
					if !bytes.Equal(part[target], want[target][50:150]) {
						t.Fatalf("%v lost %v: shard %d rebuilt wrong from %v", s, lost, target, read)
					}
					for i := range part {
						if i != target && !slices.Contains(read, i) && part[i] != nil {
							t.Fatalf("%v Rebuild of %d filled shard %d too", s, target, i)
						}
					}
				}
			})
		}
	}
}

func TestRepairRejects(t *testing.T) {
	c := mustCodec(t, LRC(12, 2, 2))
	want := encoded(t, c, 10, rand.New(rand.NewPCG(15, 16)))
	if _, err := c.RepairPlan([]int{0, 1, 2, 3}, 4); !errors.Is(err, ErrUnrecoverable) {
		t.Errorf("RepairPlan with five data shards of one group lost: %v", err)
	}
	if _, err := c.RepairPlan(nil, 16); err == nil || !strings.Contains(err.Error(), "shard 16 does not exist") {
		t.Errorf("RepairPlan of shard 16: %v", err)
	}
	if _, err := c.RepairPlan([]int{-1}, 3); err == nil || !strings.Contains(err.Error(), "lost shard -1 does not exist") {
		t.Errorf("RepairPlan with lost -1: %v", err)
	}
	err := c.Rebuild(only(want, []int{1, 2, 3, 4, 5}), 0)
	if !errors.Is(err, ErrUnrecoverable) || !strings.Contains(err.Error(), "cannot rebuild shard 0 from shards [1 2 3 4 5]") {
		t.Errorf("Rebuild from five of the group: %v", err)
	}
	if err := c.Rebuild(make([][]byte, 16), 0); err == nil || !strings.Contains(err.Error(), "no shards given") {
		t.Errorf("Rebuild from nothing: %v", err)
	}
	// A stale target is overwritten, not read.
	got := only(want, []int{1, 2, 3, 4, 5, 12})
	got[0] = bytes.Repeat([]byte{0xff}, 10)
	if err := c.Rebuild(got, 0); err != nil || !bytes.Equal(got[0], want[0]) {
		t.Errorf("Rebuild over a stale target: %v", err)
	}
}
