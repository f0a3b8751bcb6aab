// Package client stores and reads blobs in a Shingle fleet: the library
// services link to, and what fleetctl put, get, rm and stat use.
//
// A put asks fleetd for a lease on an open volume once (leases are
// cached; no Raft write happens per blob), writes the blob to every
// replica of the volume in parallel, straight to the agents, and returns
// a Locator once every replica has it durable. The locator names the
// volume, so a get asks fleetd where the volume is (cached too) and reads
// from any healthy holder, checking the CRC32C, falling back to another
// holder — and, for an erasure-coded volume, to reconstructing just the
// bytes it needs from other shards. A volume moves while clients read it
// (encoded, repaired, compacted), and its old members are deleted as soon
// as fleetd records the move; a read that fails asks fleetd again and
// follows the volume while it keeps moving, so only a location still
// current says a blob is not found.
//
// Files larger than a blob (4 MiB) are split by PutFile into blobs plus
// a manifest blob that lists them; GetFile reads them back in order and
// checks the file's SHA-256, Stat reports the file's size and where its
// blobs are, and a PutFile that fails deletes the blobs it stored.
package client
