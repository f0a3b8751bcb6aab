package zoned

import "unsafe"

// AlignedBuffer returns a zeroed buffer of n bytes whose first byte is at an
// address that is a multiple of align (such as the logical block size or
// 4096; rounded up to a power of two). O_DIRECT I/O needs such buffers. Go's
// collector does not move heap objects, so the alignment holds for the
// buffer's life. Like make, it panics if n is negative.
func AlignedBuffer(n, align int) []byte {
	if align <= 1 {
		return make([]byte, n)
	}
	for align&(align-1) != 0 {
		align += align & -align
	}
	raw := make([]byte, n+align)
	shift := 0
	if rem := int(uintptr(unsafe.Pointer(unsafe.SliceData(raw))) & uintptr(align-1)); rem != 0 {
		shift = align - rem
	}
	return raw[shift : shift+n : shift+n]
}

// IsAligned reports whether p starts at an address that is a multiple of
// align.
func IsAligned(p []byte, align int) bool {
	if align <= 1 || len(p) == 0 {
		return true
	}
	return uintptr(unsafe.Pointer(unsafe.SliceData(p)))&uintptr(align-1) == 0
}
