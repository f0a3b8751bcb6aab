// Package volume runs the life of volumes on the Raft leader: it hands
// clients leases on open volumes, seals volumes that are full, old or
// failing, erasure codes sealed volumes, and repairs volumes that lost
// members.
//
// The package holds the work, not the truth: every decision ends in a
// state command (volume.create, volume.seal, volume.encode,
// volume.replace_member) proposed through Raft, and every command that
// changes a placement is a compare-and-swap on the volume's generation,
// so a leader that lost office mid-way, or two repairs of one volume,
// cannot corrupt anything — the loser's command is rejected and its
// copies are orphans that a later pass removes.
//
// Three rules keep acknowledged blobs safe:
//
//   - A blob is acknowledged only once every replica of its volume has it
//     durable (the client's job). So any one replica holds every
//     acknowledged blob, and reading a volume from one replica is enough
//     to encode or rebuild it.
//   - That one replica is read only after its extent is sealed on its
//     agent. A sealed extent takes no more writes, so no blob can be
//     acknowledged after the read began.
//   - A placement changes only on a sealed volume: an open volume that
//     loses a member is sealed first, and writers move to another volume.
//     Writers therefore never need to learn of a placement change.
//
// A replica lives in an extent named after its volume (MemberExtent: the
// volume id shifted left 16 bits), so a client or agent can name it
// without asking anyone. A shard is a fraction of a volume, so shards go
// to their drive's shard pool, extents the agent fills with the chunks of
// many volumes' shards; they are found by key (erasure.ChunkKey).
package volume
