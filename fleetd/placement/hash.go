package placement

import "hash/fnv"

// Placement needs pseudo-random orders that are fully determined by their
// inputs (seed, key, drive id): the same fleet must always give the same
// decision, on any node and in any release. These helpers provide them
// without any random state.

// mix64 is the SplitMix64 finalizer: it spreads every input bit over the
// whole output, so inputs that differ in one bit give unrelated outputs.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// hashString is FNV-1a of s, mixed.
func hashString(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return mix64(h.Sum64())
}

// hash2 combines two values into one well-mixed value.
func hash2(a, b uint64) uint64 {
	return mix64(a ^ mix64(b+0x9e3779b97f4a7c15))
}
