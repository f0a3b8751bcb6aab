// Package zoned drives zoned block devices: host-managed SMR disks and NVMe
// Zoned Namespaces, the media Shingle stores blobs on.
//
// A zoned device is split into zones of equal size. Conventional zones take
// writes anywhere, like an ordinary disk. Sequential-write-required zones
// take writes only at their write pointer; a zone is reset to empty to be
// written again, and only a limited number of zones may be open (being
// written) or active (open or closed but not yet full) at once. Shingle
// writes its extents append-only into sequential zones with no filesystem in
// between, so this package is the lowest layer of the agent's storage stack.
//
// Everything above this package speaks to a [Device]. Two backends implement
// it:
//
//   - [OpenLinux] opens a real zoned block device through the kernel's zone
//     ioctls (BLKREPORTZONE, BLKRESETZONE, ...) with O_DIRECT I/O. The
//     constants and struct blk_zone are defined here because
//     golang.org/x/sys/unix lacks them.
//   - [Emulator] keeps a zoned device in one regular file: the zones' write
//     pointers and conditions, then their data. It follows the Linux
//     null_blk driver's zoned mode rule for rule (see zonetable.go) so that
//     code developed against it behaves the same on a real drive, and it can
//     crash on demand, dropping whatever was not synced.
//
// Both backends pass one conformance suite (package zonedtest); the suite runs
// against the emulator in every `go test` and against null_blk and an NVMe ZNS
// namespace under QEMU with `go test -tags qemu ./zoned/...`.
//
// User space cannot issue the zone-append command, so [Appender] provides its
// semantics: many goroutines append, each learns the offset its data landed
// at, and writes to a zone are coalesced into large aligned writes that share
// one flush (group commit).
//
// Faults are injected by package errorzone, which wraps any Device the way
// Pebble's errorfs wraps a filesystem.
//
// Errors returned by this package are *Error values. They name the device,
// the zone and the offset, wrap a sentinel (ErrWritePointer, ErrUnaligned, ...)
// for errors.Is, wrap the underlying errno when there is one, and say what to
// do next.
package zoned
