// Package index is the extent store's in-memory map from blob key to the
// place its record lives on the drive.
//
// A drive of 20 TB holds tens of millions of blobs, and a host has a hundred
// drives, so the index must be small: its budget is 32 bytes per blob, with
// no per-blob pointer or heap object for the garbage collector to trace. An
// Index is therefore one flat slice of 16-byte slots, an open-addressing
// hash table with linear probing and backward-shift deletion, kept at most
// three-quarters full (21 to 27 bytes per blob, depending on where between
// two doublings the table is).
//
// A slot does not hold the 32-byte key, only 40 bits of its hash (the tag).
// Two keys can share a tag (among ten million keys, a few dozen pairs do), so
// Find reports every location whose tag matches and the caller confirms the
// key against the record header on the drive, which it reads anyway to check
// the record's checksum. Insert never merges entries for the same reason:
// replacing a blob is Delete of the old location and Insert of the new one.
//
// An Index is not safe for concurrent use; the store guards it.
package index

import (
	"fmt"
	"hash/maphash"
)

// Location is where a record lives: which extent, the byte offset of the
// record in the extent, and the payload length.
type Location struct {
	// Extent is the extent's number on the drive, below 1<<24.
	Extent uint32
	// Offset is the record's byte offset in the extent; a multiple of 512
	// below 2 TiB.
	Offset int64
	// Length is the payload length.
	Length uint32
}

// Limits of what a slot can hold.
const (
	MaxExtent = 1<<24 - 1
	MaxOffset = (1<<32 - 1) * 512
)

// slot packs a tag and a Location in 16 bytes: w0 = tag<<24 | extent,
// w1 = offset/512<<32 | length. A zero w0 marks an empty slot; tags are
// never zero.
type slot struct{ w0, w1 uint64 }

const (
	tagBits  = 40
	maxLoad  = 0.75
	minSlots = 16
)

// Index maps keys to locations.
type Index struct {
	seed  maphash.Seed
	slots []slot
	mask  uint64
	n     int
}

// New returns an empty Index sized for about hint entries.
func New(hint int) *Index {
	x := &Index{seed: maphash.MakeSeed()}
	x.resize(slotsFor(hint))
	return x
}

func slotsFor(n int) int {
	s := minSlots
	for float64(n) > maxLoad*float64(s) {
		s *= 2
	}
	return s
}

func (x *Index) resize(size int) {
	old := x.slots
	x.slots = make([]slot, size)
	x.mask = uint64(size - 1)
	for _, s := range old {
		if s.w0 != 0 {
			x.place(s)
		}
	}
}

// hash returns the home slot and the tag of key.
func (x *Index) hash(key []byte) (uint64, uint64) {
	h := maphash.Bytes(x.seed, key)
	tag := h >> (64 - tagBits)
	if tag == 0 {
		tag = 1
	}
	return h, tag
}

// place puts s in the first empty slot from its home slot on.
func (x *Index) place(s slot) {
	i := x.home(s)
	for x.slots[i].w0 != 0 {
		i = (i + 1) & x.mask
	}
	x.slots[i] = s
}

// home is the slot a stored entry hashes to. The tag is the top of the
// hash, and the home slot is taken from the tag's low bits mixed with its
// high bits, so an entry can be moved without the key.
func (x *Index) home(s slot) uint64 {
	return homeOf(s.w0>>24) & x.mask
}

func homeOf(tag uint64) uint64 {
	// A multiplicative mix spreads the 40 tag bits over 64.
	return tag * 0x9E3779B97F4A7C15 >> 20
}

func pack(tag uint64, loc Location) (slot, error) {
	if loc.Extent > MaxExtent || loc.Offset < 0 || loc.Offset > MaxOffset || loc.Offset%512 != 0 {
		return slot{}, fmt.Errorf("index: location %+v out of range (extent <= %d, offset a multiple of 512 <= %d)",
			loc, MaxExtent, int64(MaxOffset))
	}
	return slot{w0: tag<<24 | uint64(loc.Extent), w1: uint64(loc.Offset/512)<<32 | uint64(loc.Length)}, nil
}

func (s slot) location() Location {
	return Location{Extent: uint32(s.w0 & MaxExtent), Offset: int64(s.w1>>32) * 512, Length: uint32(s.w1)}
}

// Insert adds an entry for key at loc. It does not look for an existing
// entry for the key; see the package documentation.
func (x *Index) Insert(key []byte, loc Location) error {
	_, tag := x.hash(key)
	s, err := pack(tag, loc)
	if err != nil {
		return err
	}
	if float64(x.n+1) > maxLoad*float64(len(x.slots)) {
		x.resize(2 * len(x.slots))
	}
	x.place(s)
	x.n++
	return nil
}

// Find calls fn with every location whose entry may be key's, until fn
// returns false. The caller confirms the key from the record itself.
func (x *Index) Find(key []byte, fn func(Location) bool) {
	_, tag := x.hash(key)
	for i := homeOf(tag) & x.mask; x.slots[i].w0 != 0; i = (i + 1) & x.mask {
		if x.slots[i].w0>>24 == tag && !fn(x.slots[i].location()) {
			return
		}
	}
}

// Delete removes the entry for key at loc and reports whether there was one.
func (x *Index) Delete(key []byte, loc Location) bool {
	_, tag := x.hash(key)
	want, err := pack(tag, loc)
	if err != nil {
		return false
	}
	i := homeOf(tag) & x.mask
	for ; x.slots[i] != want; i = (i + 1) & x.mask {
		if x.slots[i].w0 == 0 {
			return false
		}
	}
	// Backward-shift deletion: move later entries of the probe run into
	// the hole when that brings them no further from home, so lookups
	// never need tombstones.
	hole := i
	for j := (i + 1) & x.mask; x.slots[j].w0 != 0; j = (j + 1) & x.mask {
		home := x.home(x.slots[j])
		// The entry at j may fill the hole if its home is not in (hole, j].
		if (j-home)&x.mask >= (j-hole)&x.mask {
			x.slots[hole] = x.slots[j]
			hole = j
		}
	}
	x.slots[hole] = slot{}
	x.n--
	return true
}

// Len returns the number of entries.
func (x *Index) Len() int { return x.n }

// Bytes returns the memory the table holds.
func (x *Index) Bytes() int { return len(x.slots) * 16 }
