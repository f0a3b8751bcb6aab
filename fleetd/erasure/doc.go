// Package erasure holds the erasure coding of sealed volumes: the codes,
// how a volume's bytes are laid out over shards, and the format of what an
// encoded volume holds. It is pure: no I/O, no clock, no network. The
// encode loop, degraded reads and repair call it with bytes they fetched.
//
// A sealed volume is turned into a volume image by a [Builder]: the live
// blobs of one replica one after another, then an index of them sorted by
// key. The image is cut into k data shards of equal length ([Layout]: data
// shard i holds image bytes [i·ShardLen, (i+1)·ShardLen), the length rounded
// up to whole chunks, the records shards are stored as), and a [Codec]
// computes the parity shards. Each shard goes to its own drive, in its own
// rack, with a copy of the volume [Header] beside it: the scheme, the
// lengths, each shard's CRC32C, and a fence per index page, so that any one
// surviving shard says how to read the rest. FORMAT.md gives the header and
// index byte by byte.
//
// Codes ([Scheme]): RS(k,m), Reed-Solomon with k data and m parity shards,
// which survives any m losses (RS(6,3) by default); and LRC(k,l,m), k data
// shards in l local groups with an XOR parity each, plus m global
// Reed-Solomon parities. LRC(12,2,2) stores 1.33x the data where RS(6,3)
// stores 1.5x and also survives any 3 losses, and it rebuilds a lost data
// shard by reading the 6 other members of its group, where a Reed-Solomon
// code as wide (RS(12,4)) reads 12: repair reads are what limit how dense
// a code a fleet can afford.
//
// Reading a blob: [Header.Lookup] names the index page to fetch,
// [Header.Find] finds the blob's entry in it, [Layout.Pieces] says which
// data shards hold its bytes and where ([Layout.ChunkRange] which chunks to
// fetch), and [IndexEntry.Verify] checks them. When a data shard is lost,
// the same byte range of k other shards (or of the local group) goes
// through [Codec.Reconstruct]: coding works byte position by byte
// position, so rebuilding a range is as good as rebuilding the shard.
//
// Repair: [Codec.RepairPlan] says which shards to read to rebuild one
// (the local group when it can), [Codec.Rebuild] rebuilds it from them,
// and [Header.CheckShard] checks the result. [Codec.Recoverable] and
// [Codec.Tolerance] tell the repair loop how close a stripe is to loss.
//
// Every decoder of bytes that come from a drive ([DecodeHeader],
// [DecodeIndexPage], [FindInPage]) has a fuzz target and returns an error
// saying what is wrong rather than panicking.
package erasure
