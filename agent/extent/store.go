// Package extent is the agent's storage engine: it makes a zoned drive
// full of SMR zones behave as a durable blob store with no filesystem and no
// separate metadata device.
//
// A drive is divided into extents, each a run of whole zones (4 zones of
// 256 MiB by default). An extent is an append-only sequence of
// self-describing records (package agent/record): blobs, tombstones, and a
// seal that ends it. Records are appended through a zoned.Appender, so
// concurrent puts share large writes and one flush per batch, and a put is
// acknowledged only once its record is durable. The only index is in memory
// (package agent/index); opening a drive rebuilds it. A sealed extent ends
// with a summary of its records and its seal, and the drive checkpoint
// (checkpoint.go) says where each seal is, so recovery reads summaries
// rather than whole extents; open extents, and sealed ones the checkpoint
// does not cover, are read record by record up to each zone's write
// pointer. Sealing needs no read-back either: the store remembers, for each
// open extent, the records it wrote. A torn or corrupt tail is
// detected by its checksum and cut off: recovery appends a skip record after
// it, which vouches for the torn bytes, and later records follow. Dead
// records are reclaimed by compaction (compact.go), which copies what is
// live into a new extent and resets the old one's zones.
//
// The on-drive format is in FORMAT.md.
package extent

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/shingle-storage/shingle/agent/index"
	"github.com/shingle-storage/shingle/agent/label"
	"github.com/shingle-storage/shingle/agent/record"
	"github.com/shingle-storage/shingle/zoned"
)

// Errors returned by the store. They wrap more detail; test with errors.Is.
var (
	// ErrNotFound means no live blob has the key, or no extent the id.
	ErrNotFound = errors.New("extent: not found")
	// ErrFull means the drive has no free extent, or the extent has no room.
	ErrFull = errors.New("extent: no room")
	// ErrExtentFull (which is also ErrFull) means the extent written to
	// has no room for the record, though the drive may have other extents.
	ErrExtentFull = fmt.Errorf("%w in the extent", ErrFull)
	// ErrSealed means the extent is sealed and takes no more records.
	ErrSealed = errors.New("extent: extent is sealed")
	// ErrReadOnly means the extent hit a device error and takes no more
	// records; what it holds can still be read.
	ErrReadOnly = errors.New("extent: extent is read-only after a device error")
	// ErrTooLarge means a blob is over record.MaxPayload.
	ErrTooLarge = errors.New("extent: blob too large")
	// ErrCorrupt means a record failed its checksums when read.
	ErrCorrupt = errors.New("extent: record is corrupt")
	// ErrWrongDrive means the drive's label belongs to another cluster or
	// does not match the drive's geometry.
	ErrWrongDrive = errors.New("extent: drive label does not match")
	// ErrNoLabel means the drive is not formatted for Shingle.
	ErrNoLabel = errors.New("extent: drive is not formatted")
	// ErrClosed means the store was closed.
	ErrClosed = errors.New("extent: store is closed")
)

// FormatOptions describe a new drive.
type FormatOptions struct {
	// Cluster and Drive identify the drive; both are written in its label.
	Cluster, Drive label.ID
	// ZonesPerExtent is the size of an extent in zones (4).
	ZonesPerExtent int
	// Force formats a drive that already has a Shingle label.
	Force bool
}

// Options tune an open store.
type Options struct {
	// Cluster, if not zero, must match the drive's label.
	Cluster label.ID
	// Appender tunes the zone appender.
	Appender zoned.AppenderOptions
	// FullScan makes Open read every extent in full instead of recovering
	// sealed extents from the checkpoint and their summaries: slower, but
	// every record's checksums are checked.
	FullScan bool
}

// Store is the extent store of one drive. It is safe for concurrent use.
type Store struct {
	dev   zoned.Device
	lay   layout
	label label.Label
	app   *zoned.Appender

	mu      sync.Mutex
	idx     *index.Index
	slots   []*extent // by slot; nil when free
	byID    map[uint64]*extent
	nextID  uint64
	damaged []Damage
	// pending holds the keys of puts in flight, so two puts of one key
	// cannot both land.
	pending map[record.Key]bool
	closed  bool
	// ck describes the drive checkpoint (s.mu); ckMu serializes writing
	// it.
	ck   CheckpointStat
	ckMu sync.Mutex
	// bufs recycles record buffers.
	bufs *bufPool
}

// Format writes a new label on dev and returns the empty store. It resets
// every sequential zone. A drive that already carries a Shingle label is
// refused unless opts.Force is set.
func Format(dev zoned.Device, opts FormatOptions) (*Store, error) {
	if opts.ZonesPerExtent == 0 {
		opts.ZonesPerExtent = 4
	}
	info := dev.Info()
	lay, err := newLayout(info, opts.ZonesPerExtent)
	if err != nil {
		return nil, err
	}
	if old, err := readLabel(dev, lay); err == nil && !opts.Force {
		return nil, fmt.Errorf("extent: %s already holds drive %s of cluster %s; pass Force to format it anyway",
			info.Path, old.Drive, old.Cluster)
	}
	if err := dev.ResetZones(0, info.ZoneCount); err != nil {
		return nil, fmt.Errorf("extent: resetting %s: %w", info.Path, err)
	}
	l := label.Label{
		Version: label.Version, Cluster: opts.Cluster, Drive: opts.Drive,
		ZoneSize: info.ZoneSize, ZoneCapacity: info.ZoneCapacity, ZoneCount: uint32(info.ZoneCount),
		BlockSize: uint32(info.LogicalBlockSize), ZonesPerExtent: uint32(opts.ZonesPerExtent),
		Created: time.Now().UTC().Truncate(time.Nanosecond), Generation: 1,
	}
	if err := writeLabel(dev, lay, l); err != nil {
		return nil, err
	}
	return Open(dev, Options{Cluster: opts.Cluster})
}

// Open reads dev's label, checks it, and rebuilds the index from the
// extents on the drive.
func Open(dev zoned.Device, opts Options) (*Store, error) {
	info := dev.Info()
	probe, err := newLayout(info, 1)
	if err != nil {
		return nil, err
	}
	l, err := readLabel(dev, probe)
	if errors.Is(err, errNoLabel) {
		return nil, fmt.Errorf("%w: %s has no Shingle label; format it first", ErrNoLabel, info.Path)
	}
	if err != nil {
		return nil, err
	}
	if opts.Cluster != (label.ID{}) && l.Cluster != opts.Cluster {
		return nil, fmt.Errorf("%w: %s belongs to cluster %s, not %s; it is another cluster's drive",
			ErrWrongDrive, info.Path, l.Cluster, opts.Cluster)
	}
	if l.ZoneSize != info.ZoneSize || l.ZoneCapacity != info.ZoneCapacity || int(l.ZoneCount) != info.ZoneCount ||
		int(l.BlockSize) != info.LogicalBlockSize {
		return nil, fmt.Errorf("%w: %s was formatted with %d zones of %d bytes (capacity %d, block %d) but reports %d of %d (capacity %d, block %d)",
			ErrWrongDrive, info.Path, l.ZoneCount, l.ZoneSize, l.ZoneCapacity, l.BlockSize,
			info.ZoneCount, info.ZoneSize, info.ZoneCapacity, info.LogicalBlockSize)
	}
	lay, err := newLayout(info, int(l.ZonesPerExtent))
	if err != nil {
		return nil, err
	}
	s := &Store{dev: dev, lay: lay, label: l, idx: index.New(0), slots: make([]*extent, lay.slots),
		byID: map[uint64]*extent{}, nextID: 1, pending: map[record.Key]bool{}, bufs: newBufPool(info.LogicalBlockSize)}
	// The appender comes first: zones are reset and finished through it
	// (recovery finishes compactions), so it never holds stale zone state.
	aopts := opts.Appender
	aopts.Zones = []int{} // the store appends to named zones only, never AppendAny
	if s.app, err = zoned.NewAppender(dev, aopts); err != nil {
		return nil, err
	}
	if err := s.recover(opts.FullScan); err != nil {
		s.app.Close()
		return nil, err
	}
	return s, nil
}

// Label returns the drive's label.
func (s *Store) Label() label.Label { return s.label }

// Close waits for appends in flight and stops the store. It does not close
// the device.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	return s.app.Close()
}
