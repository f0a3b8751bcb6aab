package volume

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/shingle-storage/shingle/internal/pace"
	"sync"
	"time"

	"github.com/shingle-storage/shingle/agent/datapath"
	"github.com/shingle-storage/shingle/fleetd/erasure"
	"github.com/shingle-storage/shingle/fleetd/placement"
	"github.com/shingle-storage/shingle/fleetd/state"
)

// encodeSealed erasure codes sealed, replicated volumes, oldest first,
// one at a time, starting none after until, and removes replicas left
// behind by earlier encodings.
func (m *Manager) encodeSealed(ctx context.Context, until time.Time) {
	var todo []state.VolumeID
	m.fleet.Read(func(st *state.State) {
		for _, v := range st.Volumes() {
			if v.State == state.VolumeSealed && !v.Scheme.Coded() {
				todo = append(todo, v.ID)
			}
		}
	})
	m.mu.Lock()
	m.status.encodeWaiting = len(todo)
	m.mu.Unlock()
	m.dropLeftovers(ctx)
	for _, id := range todo {
		if ctx.Err() != nil || time.Now().After(until) {
			return
		}
		loc, ok := m.Locate(id)
		if !ok || loc.Volume.State != state.VolumeSealed {
			continue
		}
		// A volume that lost a replica is repaired first: encoding reads
		// one replica, and it must not be the last one left.
		if lost := m.lostMembers(loc, false); len(lost) > 0 {
			continue
		}
		start := time.Now()
		n, err := m.Encode(ctx, loc)
		if err != nil {
			m.log.Warn("encoding volume failed; will retry", "volume", id, "err", err)
			continue
		}
		m.log.Info("encoded volume", "volume", id, "code", m.opts.Code.String(), "image_bytes", n, "took", time.Since(start).Round(time.Millisecond))
		m.mu.Lock()
		m.status.encoded++
		m.status.encodeWaiting--
		m.mu.Unlock()
	}
}

// leftover is a member that no placement names any more (a replica of an
// encoded volume, a member replaced by a repair) whose data could not be
// deleted yet.
type leftover struct {
	h     Holder
	vol   state.Volume // as it was when h was its member
	tries int
}

// maxLeftoverTries bounds the retries of one leftover's deletion: a drive
// that stays dead keeps its extents, and the fleet cross-check reports
// them if its agent ever lists them again.
const maxLeftoverTries = 100

// dropLeftovers retries deleting leftover extents.
func (m *Manager) dropLeftovers(ctx context.Context) {
	m.mu.Lock()
	todo := m.leftovers
	m.leftovers = nil
	m.mu.Unlock()
	for _, l := range todo {
		if m.placedAgain(l) {
			continue // taken back: it is a live member now
		}
		if err := m.dropMember(ctx, l.vol, l.h); err != nil && l.tries < maxLeftoverTries {
			l.tries++
			m.mu.Lock()
			m.leftovers = append(m.leftovers, l)
			m.mu.Unlock()
		}
	}
}

// placedAgain reports whether the current state names l's member again:
// the same drive holding the same data, a replica's extent or a shard of
// the same index and epoch. A drive whose drain was cancelled, or a
// drained drive brought back into service, can be chosen for its old
// member before the leftover is deleted; deleting it then would delete a
// live member.
func (m *Manager) placedAgain(l leftover) bool {
	placed := false
	m.fleet.Read(func(st *state.State) {
		v, ok := st.Volume(l.vol.ID)
		if !ok {
			return
		}
		for i, d := range v.Placement {
			if d != l.h.Drive || ExtentOf(v, i) != l.h.Extent {
				continue
			}
			if l.h.Extent == datapath.PoolExtent && (i != l.h.Index || v.Epoch != l.vol.Epoch) {
				continue // another shard, or another epoch's, in the same pool
			}
			placed = true
		}
	})
	return placed
}

// Encode erasure codes the sealed volume at loc: it seals the replicas on
// their agents, reads every live blob from one sealed replica (leaving out
// those the volume's deleted list names), builds and
// encodes the volume image, places the shards, writes them (chunks and
// header) and seals them, then reads every chunk back and compares it with
// what was encoded, decodes every stripe from only k shards with the first
// data shards left out, and checks every blob against the index (see
// verifyEncoded). Only then is
// the encoding recorded (a compare-and-swap on the generation), and only
// after that are the replicas deleted. It returns the image's size.
func (m *Manager) Encode(ctx context.Context, loc Location) (int64, error) {
	vol := loc.Volume
	codec, err := erasure.NewCodec(erasureScheme(m.opts.Code))
	if err != nil {
		return 0, err
	}
	// 1. Seal every reachable replica; read from a sealed one.
	var sources []Holder
	for _, h := range loc.Holders {
		if h.Address != "" && m.sealExtent(ctx, h) == nil {
			sources = append(sources, h)
		}
	}
	if len(sources) == 0 {
		return 0, fmt.Errorf("no replica of %s could be sealed on its agent", fmtVolume(vol.ID))
	}
	// A replica on a draining drive is read only if no other can be.
	drainingLast(sources)
	// 2. Read the live blobs into the builder, leaving out those deleted
	// since the volume was sealed.
	deleted := deletedSet(vol)
	var purged []string
	var enc *erasure.Encoded
	var readErr error
	gone := 0
	newBuilder := func(sizeHint int64) (*erasure.Builder, error) {
		return erasure.NewBuilder(codec, erasure.BuilderOptions{Volume: uint64(vol.ID), Generation: vol.Generation + 1,
			ChunkSize: int64(m.opts.ChunkSize), SizeHint: sizeHint})
	}
	for _, src := range sources {
		purged = purged[:0]
		b, err := newBuilder(int64(m.opts.VolumeBytes))
		if err != nil {
			return 0, err
		}
		_, err = m.agents.Data.Stream(ctx, src.Address, src.Drive, src.Extent, func(k datapath.Key, blob []byte) error {
			if hk := hex.EncodeToString(k[:]); deleted[hk] {
				purged = append(purged, hk)
				return nil
			}
			return b.Add(erasure.Key(k), blob)
		})
		if isGone(err) {
			// The extent never got a record before its agent restarted,
			// or was lost. Another replica that has its extent is the
			// one to read: a missing one proves the volume empty only
			// if every replica is missing (every acknowledged blob is on
			// every replica).
			gone++
			readErr = fmt.Errorf("replica on drive %s: %w", src.Drive, err)
			continue
		}
		if err == nil {
			enc, readErr = b.Finish()
			break
		}
		readErr = fmt.Errorf("reading replica on drive %s: %w", src.Drive, err)
	}
	if enc == nil && gone == len(loc.Holders) {
		b, err := newBuilder(0)
		if err != nil {
			return 0, err
		}
		enc, readErr = b.Finish()
	}
	if enc == nil {
		return 0, readErr
	}
	// 3. Place the shards.
	width := m.opts.Code.Width()
	// A shard's chunks go to its drive's shard pool; it reserves its
	// length (dropMember counts its chunks from it).
	shardBytes := uint64(enc.Header.ShardLen)
	var drives []string
	m.fleet.Read(func(st *state.State) {
		var p *placement.Planner
		if p, err = m.planner(st); err != nil {
			return
		}
		// Each drive keeps room for a shard after this one, so that the
		// volumes it holds shards of can be compacted (room.go); an
		// encoding that finds no such room still goes ahead where a shard
		// fits, since it frees more than it takes.
		r := placement.Rule{Width: width, Domain: m.opts.Domain, MemberBytes: shardBytes, Shards: true, Key: uint64(vol.ID),
			KeepFree: shardBudget(m.opts.VolumeBytes, m.opts.Code)}
		if drives, err = p.Place(r); err != nil {
			r.KeepFree = 0
			drives, err = p.Place(r)
		}
	})
	if err != nil {
		return 0, fmt.Errorf("placing %d shards: %w", width, err)
	}
	coded := vol
	coded.Scheme, coded.Placement, coded.State, coded.Epoch = m.opts.Code, drives, state.VolumeEncoded, 0
	coded.MemberBytes = shardBytes
	// 4 and 5. Write the shards, read them back, decode-check the image.
	shardLoc, err := m.storeImage(ctx, coded, codec, enc)
	if err != nil {
		return 0, err
	}
	// 6. Record it; the compare-and-swap fails if the replicas moved.
	if _, err := m.fleet.Propose(ctx, &state.EncodeVolume{ID: vol.ID, ExpectedGeneration: vol.Generation, Scheme: m.opts.Code,
		Placement: drives, MemberBytes: shardBytes, Purged: purged, Blobs: enc.Header.BlobCount}); err != nil {
		// Delete the shards only if the encoding surely was not recorded:
		// if it was, they are the volume's only copy once the replicas,
		// then named by nothing, are cleaned up.
		if refused(err) {
			m.abandon(ctx, coded, shardLoc)
		}
		return 0, fmt.Errorf("recording the encoding: %w", err)
	}
	// 7. The replicas are no longer named by the state: delete them, all
	// at once (deleting an extent reads it to clean the agent's index).
	var dwg sync.WaitGroup
	for _, h := range loc.Holders {
		dwg.Go(func() {
			if err := m.deleteExtent(ctx, h); err != nil {
				m.log.Warn("could not delete a replica of an encoded volume yet; will retry", "volume", vol.ID, "drive", h.Drive, "err", err)
				m.mu.Lock()
				m.leftovers = append(m.leftovers, leftover{h: h, vol: vol})
				m.mu.Unlock()
			}
		})
	}
	dwg.Wait()
	return enc.Header.ImageLen, nil
}

// storeImage writes enc's shards, each with the header, to the members of
// coded (its placement, under its epoch's keys), all at once; then reads
// every shard back, checks it, and decodes the image from k shards
// without the first data shards. It returns where the shards are. On any
// failure it deletes what it wrote.
func (m *Manager) storeImage(ctx context.Context, coded state.Volume, codec *erasure.Codec, enc *erasure.Encoded) (Location, error) {
	var shardLoc Location
	m.fleet.Read(func(st *state.State) { shardLoc = Locate(st, coded, m.fleet.Host) })
	header, err := erasure.EncodeHeader(enc.Header)
	if err != nil {
		return Location{}, err
	}
	if err := m.roomFor(shardLoc, enc.Header); err != nil {
		return Location{}, err
	}
	pacer := pace.New(m.opts.RepairBytesPerSecond)
	errs := make([]error, len(shardLoc.Holders))
	var wg sync.WaitGroup
	for i, h := range shardLoc.Holders {
		wg.Go(func() {
			errs[i] = m.writeShard(ctx, h, uint64(coded.ID), coded.Epoch, i, enc.Shards[i], header, enc.Header.ChunkSize, pacer)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		m.abandon(ctx, coded, shardLoc)
		return Location{}, fmt.Errorf("writing shards: %w", err)
	}
	if err := m.verifyEncoded(ctx, shardLoc, codec, enc); err != nil {
		m.abandon(ctx, coded, shardLoc)
		return Location{}, fmt.Errorf("verifying the shards: %w", err)
	}
	return shardLoc, nil
}

// deletedSet returns the keys vol records deleted, as a set.
func deletedSet(vol state.Volume) map[string]bool {
	set := make(map[string]bool, len(vol.Deleted))
	for _, k := range vol.Deleted {
		set[k] = true
	}
	return set
}

// abandon deletes the shards of an encoding that will not be recorded.
// What cannot be deleted now is deleted when the volume is encoded again
// (putFresh replaces blobs left under the same keys).
func (m *Manager) abandon(ctx context.Context, coded state.Volume, shardLoc Location) {
	for _, h := range shardLoc.Holders {
		_ = m.dropMember(ctx, coded, h)
	}
}

// verifyEncoded checks the shards just written before anything names
// them: every shard's stored header carries its checksum, every chunk of
// every shard reads back exactly as encoded, and every stripe (one chunk
// of each shard) decodes from k shards with the first data shards left
// out (as many as the code tolerates losing) to the chunks encoded. Then
// the index and every blob are checked on the image, every byte of which
// has been read back by then.
//
// It works a few stripes at a time, so it needs a few MiB besides the
// image it checks against, not another copy of every shard: the leader
// encodes and compacts volumes of a GiB or more.
func (m *Manager) verifyEncoded(ctx context.Context, shardLoc Location, codec *erasure.Codec, enc *erasure.Encoded) error {
	h := enc.Header
	epoch := shardLoc.Volume.Epoch
	holders := shardLoc.Holders
	errs := make([]error, len(holders))
	var wg sync.WaitGroup
	for i, ho := range holders {
		wg.Go(func() {
			if got, err := m.readHeader(ctx, ho, h.Volume, epoch, i); err != nil || got.ShardCRCs[i] != h.ShardCRCs[i] {
				errs[i] = fmt.Errorf("shard %d's stored header does not read back: %v", i, err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	err := verifyStripes(ctx, codec, enc, func(ctx context.Context, i int, c int64) ([]byte, error) {
		ho := holders[i]
		b, err := m.agents.Data.Get(ctx, ho.Address, ho.Drive, ho.Extent, erasure.ChunkKey(h.Volume, epoch, i, c))
		if err != nil {
			return nil, fmt.Errorf("shard %d chunk %d from drive %s: %w", i, c, ho.Drive, err)
		}
		return b, nil
	})
	if err != nil {
		return err
	}
	image := enc.Image[:h.ImageLen]
	entries, err := erasure.DecodeIndexPage(image[h.IndexOffset:])
	if err != nil {
		return fmt.Errorf("decode check: the index: %w", err)
	}
	if uint64(len(entries)) != h.BlobCount {
		return fmt.Errorf("decode check: the index lists %d blobs, the header %d", len(entries), h.BlobCount)
	}
	for _, e := range entries {
		if err := e.Verify(image[e.Offset : e.Offset+uint64(e.Len)]); err != nil {
			return fmt.Errorf("decode check: %w", err)
		}
	}
	return nil
}

// verifyStripes reads every stripe of enc's shards (chunk c of each, from
// read) a few at a time and checks that each chunk reads back exactly as
// encoded and that the stripe decodes from k shards, the first data shards
// left out (as many as the code tolerates losing), to the chunks encoded.
func verifyStripes(ctx context.Context, codec *erasure.Codec, enc *erasure.Encoded, read func(ctx context.Context, i int, c int64) ([]byte, error)) error {
	h := enc.Header
	width := len(enc.Shards)
	drop := min(codec.Tolerance(), h.Scheme.Data)
	stripes := (h.ShardLen + h.ChunkSize - 1) / h.ChunkSize
	return forEachChunk(ctx, stripes, chunkWorkers, func(ctx context.Context, c int64) error {
		lo, hi := c*h.ChunkSize, min((c+1)*h.ChunkSize, h.ShardLen)
		stripe := make([][]byte, width)
		errs := make([]error, width)
		var wg sync.WaitGroup
		for i := range width {
			wg.Go(func() {
				b, err := read(ctx, i, c)
				if err == nil && !bytes.Equal(b, enc.Shards[i][lo:hi]) {
					err = fmt.Errorf("shard %d chunk %d does not read back as it was written", i, c)
				}
				stripe[i], errs[i] = b, err
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		for i := range drop {
			stripe[i] = nil
		}
		if err := codec.Reconstruct(stripe); err != nil {
			return fmt.Errorf("decode check, chunk %d: %w", c, err)
		}
		for i := range drop {
			if !bytes.Equal(stripe[i], enc.Shards[i][lo:hi]) {
				return fmt.Errorf("decode check: chunk %d of shard %d rebuilt from the other shards differs from the one encoded", c, i)
			}
		}
		return nil
	})
}

// erasureScheme converts a state scheme to the codec's.
func erasureScheme(s state.Scheme) erasure.Scheme {
	if s.Kind == state.LocalReconstruction {
		return erasure.LRC(s.Data, s.LocalGroups, s.Parity)
	}
	return erasure.RS(s.Data, s.Parity)
}
