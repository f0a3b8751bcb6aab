// Package server is the agent's API: the extent control service
// (shingle.agent.v1.ExtentService over Connect, gRPC and JSON) and the HTTP
// data path for blob bytes, both on one HTTPS port with mutual TLS, plus
// /metrics, registration with fleetd, and a clean shutdown that lets
// writes in flight finish before the drives' stores close.
//
// The data path is
//
//	PUT    /v1/drives/{drive}/extents/{extent}/blobs/{key}
//	GET    /v1/drives/{drive}/extents/{extent}/blobs/{key}
//	DELETE /v1/drives/{drive}/extents/{extent}/blobs/{key}
//
// where drive is the drive's id (a UUID), extent a decimal extent id and
// key the blob's 32-byte key in 64 hex digits. A PUT carries the CRC32C
// (Castagnoli) of its body in the Shingle-CRC32C header, as 8 hex digits;
// the agent refuses the blob, storing nothing, if the body does not match
// it. A GET answers with the same header for the client to check. A GET
// finds the blob by its key wherever it now is on the drive (compaction
// moves blobs between extents); a DELETE writes its tombstone into the
// open extent named.
package server
