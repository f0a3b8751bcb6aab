package extent_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shingle-storage/shingle/agent/extent"
	"github.com/shingle-storage/shingle/agent/record"
	"github.com/shingle-storage/shingle/zoned"
)

// blobState is what the test knows of one key. Every key is put at most
// once, so its fate is one of these.
type blobState struct {
	data    []byte
	extent  uint64
	acked   bool // the put returned success
	deleted bool // a delete (or the extent's deletion) returned success
	// maybeDeleted: a delete of the key was attempted but its outcome is
	// unknown. maybeGone: the same for a deletion of its extent. They are
	// kept apart because both can be under way at once, and one that is
	// refused must not clear the other's uncertainty.
	maybeDeleted, maybeGone bool
	hist                    []string // what happened to it, for failure messages
}

// note adds to the blob's history.
func (b *blobState) note(f string, a ...any) { b.hist = append(b.hist, fmt.Sprintf(f, a...)) }

// torture is the shared state of one crash-torture run.
type torture struct {
	mu     sync.Mutex
	blobs  map[record.Key]*blobState
	nextID int
	acks   int // puts that returned success

	cycleAcks atomic.Int64 // puts acknowledged in the current cycle
	// extentOps serializes compactions and extent deletions, so the model
	// knows which extent holds a blob when an extent is deleted: a
	// compaction's destination is an ordinary extent before Compact
	// returns and the model learns of it.
	extentOps sync.Mutex
	// path is the drive's file and dev the emulator open on it, for the
	// diagnosis of a failure.
	path string
	dev  *zoned.Emulator
}

// TestCrashTorture runs many cycles of: open the store, check every blob
// against what was acknowledged, run concurrent puts, deletes, seals,
// compactions (finishing any a crash interrupted) and extent deletions,
// and cut the power at a random moment (dropping unsynced
// writes and tearing the last one). The moment is a random delay, but
// never before a random small number of puts (0 to 3) has been
// acknowledged in the cycle, so the workload makes progress however slow
// the machine is (the race detector on two cores is several times slower
// than a laptop). Acknowledged blobs must read back byte
// for byte, acknowledged deletes must stay deleted, and nothing that was
// never put may appear.
func TestCrashTorture(t *testing.T) {
	cycles := 1000
	if testing.Short() {
		cycles = 100
	}
	dev, path := newDrive(t, smr)
	s := format(t, dev)
	must(t, s.Close())
	tt := &torture{blobs: map[record.Key]*blobState{}, path: path}
	rng := rand.New(rand.NewPCG(2026, 11))
	start := time.Now()
	stalled := 0
	for cycle := range cycles {
		if cycle > 0 && cycle%100 == 0 {
			t.Logf("%d cycles in %v, %d puts acknowledged", cycle, time.Since(start).Round(time.Second), tt.acks)
		}
		s, err := extent.Open(dev, extent.Options{Cluster: cluster})
		if err != nil {
			t.Fatalf("cycle %d: open: %v", cycle, err)
		}
		tt.dev = dev
		tt.check(t, cycle, s)
		if !tt.work(s, rng.Uint64(), time.Duration(rng.IntN(15000))*time.Microsecond, int64(rng.IntN(4)), dev) {
			stalled++
		}
		s.Close()
		must(t, dev.Close()) // the crash already stopped it; Close is a no-op
		if dev, err = zoned.OpenEmulator(path); err != nil {
			t.Fatal(err)
		}
	}
	defer dev.Close()
	// The crash waits for 1.5 acknowledged puts per cycle on average; a
	// cycle that cannot make progress in two seconds crashes anyway, and
	// many of those mean the workload is stuck.
	if tt.acks < cycles {
		t.Fatalf("only %d puts were acknowledged in %d cycles; the workload is not exercising the store", tt.acks, cycles)
	}
	if stalled > cycles/10 {
		t.Fatalf("in %d of %d cycles the workload could not get the puts it waited for acknowledged within two seconds; the store is stuck (drive full and compaction not freeing space, or appends failing)", stalled, cycles)
	}
	t.Logf("%d cycles, %d puts attempted, %d acknowledged", cycles, len(tt.blobs), tt.acks)
}

// check compares the reopened store with the model.
func (tt *torture) check(t *testing.T, cycle int, s *extent.Store) {
	t.Helper()
	for k, b := range tt.blobs {
		got, err := s.Get(ctx, k)
		switch {
		case err != nil && !errors.Is(err, extent.ErrNotFound):
			t.Fatalf("cycle %d: get %x: %v", cycle, k[:4], err)
		case err == nil && !bytes.Equal(got, b.data):
			t.Fatalf("cycle %d: key %x reads back different bytes", cycle, k[:4])
		case err == nil && b.deleted:
			t.Fatalf("cycle %d: key %x was deleted but is back (extent %d acked %v; extents %+v)", cycle, k[:4], b.extent, b.acked, s.List())
		case err != nil && b.acked && !b.deleted && !b.maybeDeleted && !b.maybeGone:
			t.Fatalf("cycle %d: acknowledged key %x is lost (extent %d %q; extents %+v; damaged %+v; checkpoint %+v; %s)", cycle, k[:4], b.extent, b.hist, s.List(), s.Stat().Damaged,
				s.Stat().Checkpoint, tt.onDisk(s, k))
		}
		if err != nil {
			// Whatever was uncertain is settled now: it is gone.
			if !b.deleted {
				b.note("cycle %d: gone (acked %v, maybe deleted %v, extent maybe deleted %v)", cycle, b.acked, b.maybeDeleted, b.maybeGone)
			}
			b.acked, b.deleted, b.maybeDeleted, b.maybeGone = true, true, false, false
		} else if !b.deleted {
			if b.maybeDeleted || b.maybeGone || !b.acked {
				b.note("cycle %d: found (acked %v, maybe deleted %v, extent maybe deleted %v)", cycle, b.acked, b.maybeDeleted, b.maybeGone)
			}
			b.acked, b.maybeDeleted, b.maybeGone = true, false, false
			// A compaction the crash interrupted may have moved it.
			old := b.extent
			if b.extent, err = s.Locate(k); err != nil {
				t.Fatalf("cycle %d: locate %x: %v", cycle, k[:4], err)
			}
			if old != b.extent {
				b.note("cycle %d: located in %d", cycle, b.extent)
			}
		}
	}
	// Nothing that was never put appears in any extent.
	for _, in := range s.List() {
		err := s.Records(in.ID, func(_ int64, h record.Header, p []byte) bool {
			if h.Type != record.TypeBlob {
				return true
			}
			b := tt.blobs[h.Key]
			if b == nil || !bytes.Equal(p, b.data) {
				t.Fatalf("cycle %d: extent %d holds a blob that was never put", cycle, in.ID)
			}
			return true
		})
		if err != nil {
			t.Fatalf("cycle %d: records of extent %d: %v", cycle, in.ID, err)
		}
	}
}

// onDisk says where the records of key k are on the drive, read record
// by record from every extent: whether a lost key's blob is still on the
// drive (and the index or a checkpoint summary lost it) or gone.
func (tt *torture) onDisk(open *extent.Store, k record.Key) string {
	_ = open.Close()
	_ = tt.dev.Close()
	dev, err := zoned.OpenEmulator(tt.path)
	if err != nil {
		return "drive not reopened: " + err.Error()
	}
	defer dev.Close()
	s, err := extent.Open(dev, extent.Options{Cluster: cluster, FullScan: true})
	if err != nil {
		return "full scan failed: " + err.Error()
	}
	defer s.Close()
	var found []string
	for _, in := range s.List() {
		_ = s.Records(in.ID, func(off int64, h record.Header, _ []byte) bool {
			if h.Key == k {
				found = append(found, fmt.Sprintf("%v in extent %d at %d", h.Type, in.ID, off))
			}
			return true
		})
	}
	_, gerr := s.Get(ctx, k)
	return fmt.Sprintf("after a full scan, get: %v; records: %v", gerr, found)
}

// work runs the workload until the crash, which comes after crashAfter
// once minAcks puts have been acknowledged, or after two seconds.
func (tt *torture) work(s *extent.Store, seed uint64, crashAfter time.Duration, minAcks int64, dev *zoned.Emulator) (progressed bool) {
	tt.cycleAcks.Store(0)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(g)))
			for {
				select {
				case <-stop:
					return
				default:
				}
				if !tt.step(s, rng) {
					return
				}
			}
		})
	}
	time.Sleep(crashAfter)
	for deadline := time.Now().Add(2 * time.Second); tt.cycleAcks.Load() < minAcks && time.Now().Before(deadline); {
		time.Sleep(100 * time.Microsecond)
	}
	progressed = tt.cycleAcks.Load() >= minAcks
	dev.Crash(zoned.CrashOptions{TearLastWrite: true, Rand: rand.New(rand.NewPCG(seed, 7))})
	close(stop)
	wg.Wait()
	return progressed
}

// step does one random operation; false means the store is unusable (the
// crash happened).
func (tt *torture) step(s *extent.Store, rng *rand.Rand) bool {
	var open, sealed []extent.Info
	for _, in := range s.List() {
		switch {
		case in.CompactingFrom != 0:
			// An interrupted compaction: finish it.
			return tt.compact(s, in.CompactingFrom)
		case in.State == extent.StateOpen:
			open = append(open, in)
		case in.State == extent.StateSealed:
			sealed = append(sealed, in)
		}
	}
	switch op := rng.IntN(20); {
	case len(open) < 2:
		if _, err := s.CreateExtent(); err != nil && errors.Is(err, extent.ErrFull) && len(sealed) > 0 {
			// Make room: compact the extent with the most dead bytes.
			if c := s.Candidates(0); len(c) > 0 {
				return tt.compact(s, c[0].ID)
			}
			tt.deleteExtent(s, sealed[rng.IntN(len(sealed))].ID)
		}
	case op < 15:
		id := open[rng.IntN(len(open))].ID
		if err := tt.put(s, id, rng); errors.Is(err, extent.ErrFull) {
			if isDead(s.Seal(ctx, id)) {
				return false
			}
		}
	case op < 18:
		tt.delete(s, open[rng.IntN(len(open))].ID, rng)
	case op < 19:
		err := s.Seal(ctx, open[rng.IntN(len(open))].ID)
		if isDead(err) {
			return false
		}
	case len(sealed) > 0 && rng.IntN(2) == 0:
		return tt.compact(s, sealed[rng.IntN(len(sealed))].ID)
	case len(sealed) > 0 && len(open) < 3:
		tt.deleteExtent(s, sealed[rng.IntN(len(sealed))].ID)
	}
	return true
}

// compact compacts extent id and moves its blobs in the model; false means
// the crash happened.
func (tt *torture) compact(s *extent.Store, id uint64) bool {
	tt.extentOps.Lock()
	defer tt.extentOps.Unlock()
	dst, err := s.Compact(ctx, id, extent.CompactOptions{})
	if err != nil {
		return !isDead(err)
	}
	tt.mu.Lock()
	defer tt.mu.Unlock()
	for _, b := range tt.blobs {
		if b.extent == id {
			b.extent = dst
			b.note("compacted %d -> %d", id, dst)
		}
	}
	return true
}

func isDead(err error) bool {
	return errors.Is(err, zoned.ErrCrashed) || errors.Is(err, extent.ErrClosed)
}

// put puts a new blob into extent id and returns the Put's error.
func (tt *torture) put(s *extent.Store, id uint64, rng *rand.Rand) error {
	tt.mu.Lock()
	n := tt.nextID
	tt.nextID++
	k := key(n)
	k[3] = 0xee // keys of this test are distinct from the other tests'
	data := make([]byte, 1+rng.IntN(48<<10))
	for i := range data {
		data[i] = byte(n + i*13)
	}
	b := &blobState{data: data, extent: id}
	tt.blobs[k] = b
	tt.mu.Unlock()
	_, err := s.Put(ctx, id, k, data)
	tt.mu.Lock()
	defer tt.mu.Unlock()
	switch {
	case err == nil:
		b.acked = true
		b.note("acked in %d", id)
		tt.acks++
		tt.cycleAcks.Add(1)
	case !isDead(err) && !errors.Is(err, extent.ErrReadOnly):
		// Refused before anything was written (the extent is full,
		// sealed or gone): forget it, or a busy loop of refusals would
		// grow the model without bound.
		delete(tt.blobs, k)
	}
	return err
}

func (tt *torture) delete(s *extent.Store, holder uint64, rng *rand.Rand) {
	tt.mu.Lock()
	var cands []record.Key
	for k, b := range tt.blobs {
		if b.acked && !b.deleted && !b.maybeDeleted && !b.maybeGone {
			cands = append(cands, k)
			if len(cands) > 20 {
				break
			}
		}
	}
	if len(cands) == 0 {
		tt.mu.Unlock()
		return
	}
	k := cands[rng.IntN(len(cands))]
	b := tt.blobs[k]
	b.maybeDeleted = true
	tt.mu.Unlock()
	err := s.Delete(ctx, holder, k)
	tt.mu.Lock()
	defer tt.mu.Unlock()
	b.note("delete with a tombstone in %d: %v", holder, err)
	switch {
	case err == nil:
		b.deleted, b.maybeDeleted = true, false
	case errors.Is(err, extent.ErrNotFound):
		// Its extent was deleted meanwhile.
	case !isDead(err):
		b.maybeDeleted = false // refused before anything was written
	}
}

func (tt *torture) deleteExtent(s *extent.Store, id uint64) {
	tt.extentOps.Lock()
	defer tt.extentOps.Unlock()
	tt.mu.Lock()
	for _, b := range tt.blobs {
		if b.extent == id && !b.deleted {
			b.maybeGone = true
		}
	}
	tt.mu.Unlock()
	err := s.DeleteExtent(ctx, id)
	tt.mu.Lock()
	defer tt.mu.Unlock()
	for _, b := range tt.blobs {
		if b.extent != id || b.deleted {
			continue
		}
		b.note("extent %d deleted: %v", id, err)
		switch {
		case err == nil:
			b.deleted, b.maybeGone = true, false
		case !isDead(err):
			b.maybeGone = false
		}
	}
}
