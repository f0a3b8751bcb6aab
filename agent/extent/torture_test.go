package extent_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"sync"
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
	// maybeDeleted: a delete was attempted but its outcome is unknown.
	maybeDeleted bool
}

// torture is the shared state of one crash-torture run.
type torture struct {
	mu     sync.Mutex
	blobs  map[record.Key]*blobState
	nextID int
	acks   int // puts that returned success
}

// TestCrashTorture runs many cycles of: open the store, check every blob
// against what was acknowledged, run concurrent puts, deletes, seals and
// extent deletions, and cut the power at a random moment (dropping unsynced
// writes and tearing the last one). Acknowledged blobs must read back byte
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
	tt := &torture{blobs: map[record.Key]*blobState{}}
	rng := rand.New(rand.NewPCG(2026, 11))
	for cycle := range cycles {
		s, err := extent.Open(dev, extent.Options{Cluster: cluster})
		if err != nil {
			t.Fatalf("cycle %d: open: %v", cycle, err)
		}
		tt.check(t, cycle, s)
		tt.work(s, rng.Uint64(), time.Duration(rng.IntN(15000))*time.Microsecond, dev)
		s.Close()
		must(t, dev.Close()) // the crash already stopped it; Close is a no-op
		if dev, err = zoned.OpenEmulator(path); err != nil {
			t.Fatal(err)
		}
	}
	defer dev.Close()
	// Under the race detector the machine is several times slower and
	// fewer puts land between crashes; a tenth per cycle still exercises
	// every path.
	if tt.acks < cycles/10 {
		t.Fatalf("only %d puts were acknowledged in %d cycles; the workload is not exercising the store", tt.acks, cycles)
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
			t.Fatalf("cycle %d: key %x was deleted but is back (extent %d acked %v maybe %v; extents %+v)", cycle, k[:4], b.extent, b.acked, b.maybeDeleted, s.List())
		case err != nil && b.acked && !b.deleted && !b.maybeDeleted:
			t.Fatalf("cycle %d: acknowledged key %x is lost", cycle, k[:4])
		}
		if err != nil {
			// Whatever was uncertain is settled now: it is gone.
			b.acked, b.deleted, b.maybeDeleted = true, true, false
		} else if !b.deleted {
			b.acked, b.maybeDeleted = true, false
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

// work runs the workload until the crash.
func (tt *torture) work(s *extent.Store, seed uint64, crashAfter time.Duration, dev *zoned.Emulator) {
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
	dev.Crash(zoned.CrashOptions{TearLastWrite: true, Rand: rand.New(rand.NewPCG(seed, 7))})
	close(stop)
	wg.Wait()
}

// step does one random operation; false means the store is unusable (the
// crash happened).
func (tt *torture) step(s *extent.Store, rng *rand.Rand) bool {
	var open, sealed []extent.Info
	for _, in := range s.List() {
		switch in.State {
		case extent.StateOpen:
			open = append(open, in)
		case extent.StateSealed:
			sealed = append(sealed, in)
		}
	}
	switch op := rng.IntN(20); {
	case len(open) < 2:
		if _, err := s.CreateExtent(); err != nil && errors.Is(err, extent.ErrFull) && len(sealed) > 0 {
			tt.deleteExtent(s, sealed[rng.IntN(len(sealed))].ID)
		}
	case op < 14:
		tt.put(s, open[rng.IntN(len(open))].ID, rng)
	case op < 17:
		tt.delete(s, open[rng.IntN(len(open))].ID, rng)
	case op < 19:
		err := s.Seal(ctx, open[rng.IntN(len(open))].ID)
		if isDead(err) {
			return false
		}
	default:
		if len(sealed) > 0 && len(open) < 3 {
			tt.deleteExtent(s, sealed[rng.IntN(len(sealed))].ID)
		}
	}
	return true
}

func isDead(err error) bool {
	return errors.Is(err, zoned.ErrCrashed) || errors.Is(err, extent.ErrClosed)
}

func (tt *torture) put(s *extent.Store, id uint64, rng *rand.Rand) {
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
	if err == nil {
		tt.mu.Lock()
		b.acked = true
		tt.acks++
		tt.mu.Unlock()
	}
}

func (tt *torture) delete(s *extent.Store, holder uint64, rng *rand.Rand) {
	tt.mu.Lock()
	var cands []record.Key
	for k, b := range tt.blobs {
		if b.acked && !b.deleted && !b.maybeDeleted {
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
	tt.mu.Lock()
	for _, b := range tt.blobs {
		if b.extent == id && !b.deleted {
			b.maybeDeleted = true
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
		switch {
		case err == nil:
			b.deleted, b.maybeDeleted = true, false
		case !isDead(err):
			b.maybeDeleted = false
		}
	}
}
