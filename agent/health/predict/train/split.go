package train

import (
	"crypto/sha1"
	"math/rand/v2"
)

// InTestFold reports whether a drive is one of the held-out test drives,
// which training never sees. The rule is the one the data's README uses for
// its baselines: the drive is in the test fold when the SHA-1 of its serial
// number, read as a big-endian integer, is divisible by 5. Every day of a
// drive falls on the same side, since a drive's consecutive days are nearly
// identical.
func InTestFold(serial string) bool {
	sum := sha1.Sum([]byte(serial))
	r := 0
	for _, b := range sum {
		r = (r*256 + int(b)) % 5
	}
	return r == 0
}

// Folds deals the drives of r into k folds at random (from seed), failed
// and healthy drives separately so that each fold gets its share of
// failures. It returns each drive's fold, indexed like r.Drives.
func Folds(r *Rows, k int, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, 0))
	fold := make([]int, len(r.Drives))
	for _, failed := range []bool{true, false} {
		var ids []int
		for i, d := range r.Drives {
			if d.Failed == failed {
				ids = append(ids, i)
			}
		}
		rng.Shuffle(len(ids), func(a, b int) { ids[a], ids[b] = ids[b], ids[a] })
		for j, id := range ids {
			fold[id] = j % k
		}
	}
	return fold
}
