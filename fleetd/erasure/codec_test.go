package erasure

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/reedsolomon"
	"pgregory.net/rapid"
)

// encoded returns the shards of size random data bytes per data shard,
// encoded with c.
func encoded(t tb, c *Codec, size int, rng *rand.Rand) [][]byte {
	t.Helper()
	shards := make([][]byte, c.Scheme().Width())
	for i := range c.Scheme().Data {
		shards[i] = make([]byte, size)
		for j := range shards[i] {
			shards[i][j] = byte(rng.Uint32())
		}
	}
	if err := c.Encode(shards); err != nil {
		t.Fatal(err)
	}
	return shards
}

// tb is what the helpers need of a *testing.T or a *rapid.T.
type tb interface {
	Helper()
	Fatal(args ...any)
}

func mustCodec(t testing.TB, s Scheme) *Codec {
	t.Helper()
	c, err := NewCodec(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// without returns a copy of the shard list with the shards in lost set to
// nil; the shard bytes are shared, the lost ones are not touched.
func without(shards [][]byte, lost []int) [][]byte {
	out := slices.Clone(shards)
	for _, i := range lost {
		out[i] = nil
	}
	return out
}

// allSubsets calls f with every subset of [0,n) of size r.
func allSubsets(n, r int, f func([]int)) {
	forEachSubset(n, r, func(s []int) bool { f(slices.Clone(s)); return true })
}

func TestLRCParityIsXORAndRS(t *testing.T) {
	// The LRC's parities must be what the design says they are: local
	// parity j the XOR of group j, global parities those of RS(k,m)
	// (reedsolomon's Cauchy matrix), so another implementation can read
	// the shards.
	s := LRC(12, 2, 2)
	c := mustCodec(t, s)
	shards := encoded(t, c, 1000, rand.New(rand.NewPCG(1, 2)))
	for g := range s.LocalGroups {
		x := make([]byte, 1000)
		for _, i := range s.GroupMembers(g)[:s.GroupSize()] {
			subtle.XORBytes(x, x, shards[i])
		}
		if !bytes.Equal(x, shards[s.Data+g]) {
			t.Errorf("local parity %d is not the XOR of its group", g)
		}
	}
	rs, _ := reedsolomon.New(12, 2, reedsolomon.WithCauchyMatrix())
	full := append(slices.Clone(shards[:12]), make([]byte, 1000), make([]byte, 1000))
	if err := rs.Encode(full); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(full[12], shards[14]) || !bytes.Equal(full[13], shards[15]) {
		t.Error("global parities differ from RS(12,2) with the Cauchy matrix")
	}
}

func TestRSParityIsStandard(t *testing.T) {
	c := mustCodec(t, RS(6, 3))
	shards := encoded(t, c, 777, rand.New(rand.NewPCG(3, 4)))
	rs, _ := reedsolomon.New(6, 3)
	if ok, err := rs.Verify(shards); !ok || err != nil {
		t.Errorf("RS(6,3) shards do not verify with reedsolomon's default RS(6,3): %v %v", ok, err)
	}
}

// checkAllPatterns loses every pattern of n shards and checks that
// Reconstruct brings back exactly the original bytes, or fails with a
// LossError exactly when Recoverable says so. It returns how many patterns
// were recoverable.
func checkAllPatterns(t *testing.T, c *Codec, n, size int) (ok, total int) {
	t.Helper()
	want := encoded(t, c, size, rand.New(rand.NewPCG(uint64(n), uint64(size))))
	allSubsets(c.Scheme().Width(), n, func(lost []int) {
		total++
		got := without(want, lost)
		err := c.Reconstruct(got)
		if recoverable := c.Recoverable(lost); recoverable != (err == nil) {
			t.Errorf("%v lost %v: Recoverable says %v, Reconstruct says %v", c.Scheme(), lost, recoverable, err)
		}
		if err != nil {
			var le *LossError
			if !errors.As(err, &le) || !errors.Is(err, ErrUnrecoverable) || !slices.Equal(le.Lost, lost) {
				t.Errorf("%v lost %v: error %v is not a LossError naming the shards", c.Scheme(), lost, err)
			}
			return
		}
		ok++
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Errorf("%v lost %v: shard %d rebuilt wrong", c.Scheme(), lost, i)
			}
		}
	})
	return ok, total
}

func TestRSSurvivesAnyThreeLosses(t *testing.T) {
	c := mustCodec(t, RS(6, 3))
	if c.Tolerance() != 3 {
		t.Errorf("RS(6,3) tolerance %d", c.Tolerance())
	}
	for n := 1; n <= 3; n++ {
		if ok, total := checkAllPatterns(t, c, n, 100); ok != total {
			t.Errorf("RS(6,3) rebuilt %d of %d patterns of %d losses", ok, total, n)
		}
	}
	if ok, total := checkAllPatterns(t, c, 4, 100); ok != 0 || total != 126 {
		t.Errorf("RS(6,3) rebuilt %d of %d patterns of 4 losses", ok, total)
	}
	err := c.Reconstruct(without(encoded(t, c, 10, rand.New(rand.NewPCG(0, 0))), []int{0, 3, 5, 8}))
	if want := "RS(6,3) lost 4 shards (0, 3, 5, 8); it can lose any 3"; err == nil || err.Error() != "erasure: "+want {
		t.Errorf("error %q, want %q", err, want)
	}
}

func TestLRCSurvivesAnyThreeLosses(t *testing.T) {
	c := mustCodec(t, LRC(12, 2, 2))
	if c.Tolerance() != 3 {
		t.Errorf("LRC(12,2,2) tolerance %d", c.Tolerance())
	}
	for n := 1; n <= 3; n++ {
		if ok, total := checkAllPatterns(t, c, n, 64); ok != total {
			t.Errorf("LRC(12,2,2) rebuilt %d of %d patterns of %d losses", ok, total, n)
		}
	}
	// Beyond its tolerance an LRC still survives most patterns (one loss in
	// each group plus two anywhere, for a start). 1555 of the 1820 4-loss
	// patterns is what these coefficients give; the number pins them down.
	ok, total := checkAllPatterns(t, c, 4, 64)
	if ok != 1555 || total != 1820 {
		t.Errorf("LRC(12,2,2) rebuilt %d of %d patterns of 4 losses, want 1555 of 1820", ok, total)
	}
	err := c.Reconstruct(without(encoded(t, c, 10, rand.New(rand.NewPCG(0, 0))), []int{0, 1, 2, 3}))
	if err == nil || !strings.Contains(err.Error(), "LRC(12,2,2) lost 4 shards (0, 1, 2, 3); it can lose any 3 and some larger patterns, but not this one") {
		t.Errorf("four data shards of one group: %v", err)
	}
}

// TestLRCWithDefaultMatrixWouldNotSurviveThree documents why the global
// parities use reedsolomon's Cauchy matrix: with its default matrix, or
// with a decoder that only peels local groups and hands the rest to
// RS(12,2), some 3-loss patterns of LRC(12,2,2) are lost.
func TestLRCWithDefaultMatrixWouldNotSurviveThree(t *testing.T) {
	rs, _ := reedsolomon.New(12, 2)
	c := mustCodec(t, LRC(12, 2, 2))
	alt := &Codec{scheme: c.scheme, gen: slices.Clone(c.gen)}
	copy(alt.gen[14:], parityRows(rs, 12, 2))
	var singular, peelOnly []string
	allSubsets(16, 3, func(lost []int) {
		if _, _, err := alt.solve(lost, -1); err != nil {
			singular = append(singular, fmt.Sprint(lost))
		}
		p, _, _ := c.solve(lost, -1)
		// What peeling leaves to RS(12,2): the data and global shards
		// still missing after the XOR steps.
		left := 0
		for _, o := range p.out {
			if o < 12 || o >= 14 {
				left++
			}
		}
		if left > 2 {
			peelOnly = append(peelOnly, fmt.Sprint(lost))
		}
	})
	if got := strings.Join(singular, " "); got != "[6 9 11] [7 8 10]" {
		t.Errorf("with the default matrix the singular 3-loss patterns are %s", got)
	}
	// 3 data shards of one group (2·C(6,3) = 40), or 2 of one group and a
	// global parity (2·C(6,2)·2 = 60).
	if len(peelOnly) != 100 {
		t.Errorf("a peel-then-RS decoder would lose %d 3-loss patterns, not 100", len(peelOnly))
	}
}

func TestWiderLRCTolerance(t *testing.T) {
	for _, s := range []Scheme{LRC(6, 2, 2), LRC(6, 3, 1), LRC(12, 3, 3)} {
		c := mustCodec(t, s)
		if c.Tolerance() < s.Parity || c.Tolerance() > s.Parity+1 {
			t.Errorf("%v tolerance %d", s, c.Tolerance())
		}
		if ok, total := checkAllPatterns(t, c, c.Tolerance(), 16); ok != total {
			t.Errorf("%v rebuilt %d of %d patterns of %d losses", s, ok, total, c.Tolerance())
		}
	}
}

// TestReconstructRange is the degraded read's promise: rebuilding a byte
// range of the shards gives the same bytes as rebuilding whole shards and
// cutting the range out.
func TestReconstructRange(t *testing.T) {
	codecs := map[string]*Codec{"RS(6,3)": mustCodec(t, RS(6, 3)), "LRC(12,2,2)": mustCodec(t, LRC(12, 2, 2))}
	rapid.Check(t, func(rt *rapid.T) {
		c := codecs[rapid.SampledFrom([]string{"RS(6,3)", "LRC(12,2,2)"}).Draw(rt, "scheme")]
		w := c.Scheme().Width()
		size := rapid.IntRange(1, 5000).Draw(rt, "size")
		full := encoded(rt, c, size, rand.New(rand.NewPCG(rapid.Uint64().Draw(rt, "seed"), 0)))
		lost := rapid.SliceOfNDistinct(rapid.IntRange(0, w-1), 1, c.Tolerance(), rapid.ID[int]).Draw(rt, "lost")
		off := rapid.IntRange(0, size-1).Draw(rt, "off")
		n := rapid.IntRange(1, size-off).Draw(rt, "n")

		whole := without(full, lost)
		if err := c.Reconstruct(whole); err != nil {
			rt.Fatal(err)
		}
		part := make([][]byte, w)
		for i := range part {
			part[i] = full[i][off : off+n]
		}
		part = without(part, lost)
		if err := c.Reconstruct(part); err != nil {
			rt.Fatal(err)
		}
		for i := range part {
			if !bytes.Equal(part[i], whole[i][off:off+n]) || !bytes.Equal(part[i], full[i][off:off+n]) {
				rt.Fatalf("shard %d: range [%d,+%d) rebuilt differently from the whole shard", i, off, n)
			}
		}
	})
}

func TestReconstructReusesCapacity(t *testing.T) {
	c := mustCodec(t, LRC(12, 2, 2))
	want := encoded(t, c, 100, rand.New(rand.NewPCG(5, 6)))
	got := without(want, []int{0, 7, 15})
	buf := make([]byte, 0, 100)
	got[7] = buf
	if err := c.Reconstruct(got); err != nil {
		t.Fatal(err)
	}
	if &got[7][0] != &buf[:1][0] || !bytes.Equal(got[7], want[7]) {
		t.Error("shard 7 was not rebuilt into the buffer given")
	}
}

func TestEncodeAndReconstructReject(t *testing.T) {
	c := mustCodec(t, RS(6, 3))
	shards := encoded(t, c, 10, rand.New(rand.NewPCG(7, 8)))
	for name, tc := range map[string]struct {
		shards [][]byte
		f      func([][]byte) error
		want   string
	}{
		"encode too few":     {shards[:8], c.Encode, "encodes 9 shards, not 8"},
		"encode empty data":  {append([][]byte{nil}, shards[1:]...), c.Encode, "data shard 0 is empty"},
		"encode ragged":      {append(slices.Clone(shards[:3]), append([][]byte{shards[3][:5]}, shards[4:]...)...), c.Encode, "shard 3 holds 5 bytes, shard 0 10"},
		"reconstruct ragged": {append([][]byte{nil, shards[1][:4]}, shards[2:]...), c.Reconstruct, "shard 2 holds 10 bytes, shard 1 4"},
		"reconstruct count":  {shards[:3], c.Reconstruct, "decodes 9 shards, not 3"},
		"nothing given":      {make([][]byte, 9), c.Reconstruct, "lost 9 shards"},
	} {
		if err := tc.f(slices.Clone(tc.shards)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, tc.want)
		}
	}
	// Empty parity shards are allocated.
	enc := slices.Clone(shards)
	enc[7] = nil
	if err := c.Encode(enc); err != nil || !bytes.Equal(enc[7], shards[7]) {
		t.Errorf("encode into a nil parity shard: %v", err)
	}
}

func TestCodecIsSafeForConcurrentUse(t *testing.T) {
	c := mustCodec(t, LRC(12, 2, 2))
	want := encoded(t, c, 4096, rand.New(rand.NewPCG(9, 10)))
	done := make(chan error)
	for g := range 8 {
		go func() {
			var err error
			for i := range 50 {
				lost := []int{(g + i) % 16, (g + 2*i + 1) % 16}
				got := without(want, lost)
				if err = c.Reconstruct(got); err == nil {
					for j := range got {
						if !bytes.Equal(got[j], want[j]) {
							err = fmt.Errorf("lost %v: shard %d wrong", lost, j)
						}
					}
				}
				if err != nil {
					break
				}
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
