// Package server is the agent's API: the extent control service
// (shingle.agent.v1.ExtentService over Connect, gRPC and JSON) and the HTTP
// data path for blob bytes, both on one HTTPS port with mutual TLS, plus
// /metrics, registration with fleetd, and a clean shutdown that lets
// writes in flight finish before the drives' stores close.
//
// # Data path
//
//	PUT    /v1/drives/{drive}/extents/{extent}/blobs/{key}
//	GET    /v1/drives/{drive}/extents/{extent}/blobs/{key}
//	DELETE /v1/drives/{drive}/extents/{extent}/blobs/{key}
//	GET    /v1/drives/{drive}/extents/{extent}/range?offset=N&length=M
//
// where drive is the drive's id (a UUID), extent a decimal extent id and
// key the blob's 32-byte key in 64 hex digits. A PUT carries the CRC32C
// (Castagnoli) of its body in the Shingle-CRC32C header, as 8 hex digits;
// the agent computes the CRC as the body arrives and refuses the blob,
// storing nothing, if it does not match (400, code data_loss). A blob is at
// most 4 MiB (413 over that). A GET answers with the same header for the
// client to check. A GET finds the blob by its key wherever it now is on
// the drive (compaction moves blobs between extents); a DELETE writes its
// tombstone into the open extent named.
//
// A range read returns length bytes (1 to 64 MiB, datapath.MaxRangeLength) at
// offset of the extent's byte space as the drive holds them, for erasure
// coding and repair: zone k of the extent starts at k times the zone size,
// records are laid out as agent/extent/FORMAT.md describes, and bytes that
// were never written read as the drive returns them (0xFF on the
// emulator). The agent streams the range from the drive a few MiB at a
// time, so the CRC32C of the bytes is known only at the end: it comes in
// the Shingle-CRC32C trailer (announced in the Trailer header), and the
// response has no Content-Length. A client reads the body to the end, then
// checks that it got length bytes and that the trailer is there and
// matches; a response cut short by a device error midway has no trailer.
// An offset and length that do not fit in the extent's byte space are 416
// (code out_of_range, with Content-Range: bytes */SIZE); a missing or
// malformed offset or length, a length of 0 or over 64 MiB are 400. Range
// reads are plain query parameters rather than an HTTP Range header, so
// that a request asks for exactly one range and its answer is always the
// whole of it.
//
// Errors are JSON objects {"code", "message"} with the Connect error code:
// an unknown drive, extent or blob is 404 not_found.
//
// A blob must fit in memory on both sides: the agent reads a PUT's body
// whole (into a recycled buffer, checking its CRC32C as it arrives) before
// storing it, since nothing may be stored unless the CRC32C matches, and
// the store hands a GET the whole blob. The agent speaks HTTP/2 and
// HTTP/1.1; for bulk transfers a client does better with
// HTTP/1.1 and a connection per concurrent request: Go's HTTP/2 spends a
// fifth to two fifths more CPU per byte of 1 to 4 MiB blobs on both ends
// together (BenchmarkAPI, -args -api.h2).
//
// # Scrubs
//
// StartScrub runs extent.Store.Verify over a drive's sealed extents (or
// the ones named) in the background, one extent after another, one scrub
// per drive at a time; GetScrub shows its progress and the extents that
// failed, which the fleet should repair from other copies. A rate cap is
// kept on average: each extent is read at the drive's speed and the scrub
// then waits as long as the cap requires. Results live in memory until the
// agent stops, which stops a scrub still running. The metrics
// shingle_agent_scrub_* count bytes and extents checked and failures.
package server
