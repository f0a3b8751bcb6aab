//go:build extentguest

// The tests in this file run inside the QEMU guest that qemu_test.go boots,
// against real kernel zoned block devices opened with zoned.OpenLinux: a
// null_blk device with conventional zones (the label and checkpoints in
// conventional space) and an NVMe ZNS namespace with zone capacity below
// zone size and no conventional zones (label log and checkpoint zones). They
// are compiled only into the guest's test binary (go test -c -tags
// extentguest) and fail, rather than skip, when the devices are missing.

package extent_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shingle-storage/shingle/agent/extent"
	"github.com/shingle-storage/shingle/agent/label"
	"github.com/shingle-storage/shingle/agent/record"
	"github.com/shingle-storage/shingle/zoned"
)

var (
	kernelCtx     = context.Background()
	kernelCluster = label.ID{0x6b, 0x65, 0x72, 0x6e}
)

// kernelZonesPerExtent keeps extents small (8 MiB on null_blk, 6 MiB of
// capacity on ZNS), so a few dozen MiB of blobs fill, cross zones and seal
// several of them.
const kernelZonesPerExtent = 2

// kernelSizes are the blob sizes the tests cycle through: whole blocks,
// odd sizes, up to 1 MiB.
var kernelSizes = []int{4 << 10, 4<<10 + 100, 16 << 10, 30000, 64 << 10, 128<<10 + 5, 256 << 10, 1 << 20}

func kernelSize(i int) int { return kernelSizes[(i*3)%len(kernelSizes)] }

// kernelDevices returns the kernel zoned devices the guest was booted with.
func kernelDevices(t *testing.T) []string {
	t.Helper()
	v := os.Getenv("SHINGLE_EXTENT_DEVICES")
	if v == "" {
		t.Fatal("SHINGLE_EXTENT_DEVICES is not set; these tests run inside the QEMU guest started by `go test -tags qemu ./agent/extent/`")
	}
	return strings.Split(v, ",")
}

func openKernelDevice(t *testing.T, path string) *zoned.Linux {
	t.Helper()
	dev, err := zoned.OpenLinux(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { dev.Close() })
	return dev
}

// kernelKey is the key of blob number i; kernelKeyNumber undoes it.
func kernelKey(i int) record.Key {
	var k record.Key
	binary.LittleEndian.PutUint32(k[0:], uint32(i))
	binary.LittleEndian.PutUint64(k[8:], uint64(i)*0x9e3779b97f4a7c15)
	k[31] = 0x6b
	return k
}

func kernelKeyNumber(k record.Key) int { return int(binary.LittleEndian.Uint32(k[0:])) }

// kernelBlob is the content of blob number i, n bytes of pseudo-random data,
// so that a blob read from the wrong place or shifted does not match.
func kernelBlob(i, n int) []byte {
	b := make([]byte, (n+7)/8*8)
	x := uint64(i)*0x9e3779b97f4a7c15 ^ uint64(n) | 1
	for j := 0; j < len(b); j += 8 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		binary.LittleEndian.PutUint64(b[j:], x)
	}
	return b[:n]
}

// kernelModel is what the store has acknowledged: live blobs by number
// (with their sizes) and deleted ones.
type kernelModel struct {
	mu      sync.Mutex
	live    map[int]int
	deleted map[int]bool
}

func newKernelModel() *kernelModel {
	return &kernelModel{live: map[int]int{}, deleted: map[int]bool{}}
}

func (m *kernelModel) put(i, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.live[i] = n
}

func (m *kernelModel) del(i int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.live, i)
	m.deleted[i] = true
}

func (m *kernelModel) liveKeys() []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []int
	for i := range m.live {
		out = append(out, i)
	}
	slices.Sort(out)
	return out
}

// check reads every acknowledged blob back and checks it byte for byte,
// and that every deleted blob stays deleted, from a few goroutines.
func (m *kernelModel) check(t *testing.T, s *extent.Store, when string) {
	t.Helper()
	m.mu.Lock()
	type want struct{ i, n int }
	var wants []want
	for i, n := range m.live {
		wants = append(wants, want{i, n})
	}
	for i := range m.deleted {
		wants = append(wants, want{i, -1})
	}
	live := len(m.live)
	m.mu.Unlock()

	errs := make(chan error, len(wants))
	work := make(chan want)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for w := range work {
				got, err := s.Get(kernelCtx, kernelKey(w.i))
				switch {
				case w.n < 0 && !errors.Is(err, extent.ErrNotFound):
					errs <- fmt.Errorf("deleted blob %d: %v (%d bytes), want ErrNotFound", w.i, err, len(got))
				case w.n >= 0 && err != nil:
					errs <- fmt.Errorf("blob %d (%d bytes): %v", w.i, w.n, err)
				case w.n >= 0 && !bytes.Equal(got, kernelBlob(w.i, w.n)):
					errs <- fmt.Errorf("blob %d reads back %d bytes that differ from the %d written", w.i, len(got), w.n)
				}
			}
		})
	}
	for _, w := range wants {
		work <- w
	}
	close(work)
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n < 10 {
			t.Errorf("%s: %v", when, err)
		}
		n++
	}
	if n > 0 {
		t.Fatalf("%s: %d of %d blobs read back wrong", when, n, len(wants))
	}
	if st := s.Stat(); st.Blobs != live {
		t.Fatalf("%s: the store indexes %d blobs, %d are live", when, st.Blobs, live)
	}
}

// openExtents is a set of open extents that concurrent writers share. A
// writer that finds one full puts a new extent in its place and seals the
// full one while the others may still be putting into it.
type openExtents struct {
	s   *extent.Store
	mu  sync.Mutex
	ids []uint64
	// full and sealing count the operations an extent turned away because
	// it was full or being sealed.
	full, sealing int
}

func newOpenExtents(t *testing.T, s *extent.Store, n int) *openExtents {
	t.Helper()
	o := &openExtents{s: s}
	for range n {
		id, err := s.CreateExtent()
		if err != nil {
			t.Fatal(err)
		}
		o.ids = append(o.ids, id)
	}
	return o
}

func (o *openExtents) pick(i int) uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.ids[i%len(o.ids)]
}

// retire replaces extent id, which could not take a record, with a new one
// and seals it. Writers still putting into it get ErrSealed and pick
// another.
func (o *openExtents) retire(id uint64) error {
	o.mu.Lock()
	i := slices.Index(o.ids, id)
	if i < 0 {
		o.mu.Unlock()
		return nil // another writer retired it
	}
	next, err := o.s.CreateExtent()
	if err != nil {
		o.mu.Unlock()
		return fmt.Errorf("replacing full extent %d: %w", id, err)
	}
	o.ids[i] = next
	o.mu.Unlock()
	if err := o.s.Seal(kernelCtx, id); err != nil {
		return fmt.Errorf("sealing full extent %d: %w", id, err)
	}
	return nil
}

// do runs op (a put or a delete) against the open extents, starting with
// the one salt picks, until one takes it.
func (o *openExtents) do(salt int, op func(id uint64) error) error {
	for attempt := range 100 {
		id := o.pick(salt + attempt)
		err := op(id)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, extent.ErrFull):
			o.mu.Lock()
			o.full++
			o.mu.Unlock()
			if err := o.retire(id); err != nil {
				return err
			}
		case errors.Is(err, extent.ErrSealed):
			// Being sealed by another writer; it has been replaced.
			o.mu.Lock()
			o.sealing++
			o.mu.Unlock()
		default:
			return fmt.Errorf("extent %d: %w", id, err)
		}
	}
	return errors.New("no open extent took it in 100 attempts")
}

// parallel runs fn for 0..n-1 from workers goroutines and fails the test
// if any fails, showing the first ten errors.
func parallel(t *testing.T, n, workers int, fn func(i int) error) {
	t.Helper()
	jobs := make(chan int)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				if err := fn(i); err != nil {
					errs <- fmt.Errorf("job %d: %w", i, err)
				}
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if failed < 10 {
			t.Error(err)
		}
		failed++
	}
	if failed > 0 {
		t.Fatalf("%d of %d jobs failed", failed, n)
	}
}

// kernelExtents is the store's extents by slot, for comparing two opens
// of the same drive.
func kernelExtents(s *extent.Store, withUsed bool) string {
	list := s.List()
	slices.SortFunc(list, func(a, b extent.Info) int { return a.Slot - b.Slot })
	var b strings.Builder
	for _, in := range list {
		if !withUsed {
			in.Used = 0
		}
		fmt.Fprintf(&b, "%+v\n", in)
	}
	return b.String()
}

func countSealed(s *extent.Store) (sealed, other int) {
	for _, in := range s.List() {
		if in.State == extent.StateSealed {
			sealed++
		} else {
			other++
		}
	}
	return sealed, other
}

// kernelStore is a store on a kernel device that the test closes and opens
// again.
type kernelStore struct {
	path string
	dev  *zoned.Linux
	s    *extent.Store
}

// reopen closes the store and the device and opens both again, as a
// restart of the agent would.
func (k *kernelStore) reopen(t *testing.T, opts extent.Options) {
	t.Helper()
	if err := k.s.Close(); err != nil {
		t.Fatalf("closing the store: %v", err)
	}
	if err := k.dev.Close(); err != nil {
		t.Fatalf("closing %s: %v", k.path, err)
	}
	k.dev = openKernelDevice(t, k.path)
	opts.Cluster = kernelCluster
	start := time.Now()
	s, err := extent.Open(k.dev, opts)
	if err != nil {
		t.Fatalf("reopening the store on %s (%+v): %v", k.path, opts, err)
	}
	k.s = s
	t.Cleanup(func() { s.Close() })
	st := s.Stat()
	t.Logf("reopened %s (full scan %v) in %v: %d extents, %d blobs, checkpoint %+v",
		k.path, opts.FullScan, time.Since(start).Round(time.Millisecond), st.Extents, st.Blobs, st.Checkpoint)
	if len(st.Damaged) > 0 {
		t.Fatalf("the reopened store reports damage after a clean close: %+v", st.Damaged)
	}
	if l := s.Label(); l.Cluster != kernelCluster || l.ZonesPerExtent != kernelZonesPerExtent {
		t.Fatalf("label after reopen: %+v", l)
	}
}

func formatKernelStore(t *testing.T, path string) *kernelStore {
	t.Helper()
	dev := openKernelDevice(t, path)
	// A new drive id, as formatting a drive anew assigns.
	drive := label.ID{0xd1, 0x5c}
	binary.LittleEndian.PutUint64(drive[8:], uint64(time.Now().UnixNano()))
	s, err := extent.Format(dev, extent.FormatOptions{Cluster: kernelCluster, Drive: drive,
		ZonesPerExtent: kernelZonesPerExtent, Force: true})
	if err != nil {
		t.Fatalf("format %s: %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return &kernelStore{path: path, dev: dev, s: s}
}

// TestKernelStoreReopen puts blobs of assorted sizes from several
// goroutines while full extents are sealed under them, deletes a quarter of
// them (tombstones in other extents, and in the blob's own), compacts the
// extent with the most to reclaim, and checks that everything acknowledged
// is there, byte for byte, after closing and reopening the store and the
// device: recovering sealed extents from the checkpoint, with a full scan,
// and again after more writes.
func TestKernelStoreReopen(t *testing.T) {
	for _, path := range kernelDevices(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			start := time.Now()
			k := formatKernelStore(t, path)
			m := newKernelModel()
			const blobs = 300
			pool := newOpenExtents(t, k.s, 3)

			// Puts from six goroutines into three shared extents.
			parallel(t, blobs, 6, func(i int) error {
				n := kernelSize(i)
				err := pool.do(i, func(id uint64) error {
					_, err := k.s.Put(kernelCtx, id, kernelKey(i), kernelBlob(i, n))
					return err
				})
				if err == nil {
					m.put(i, n)
				}
				return err
			})
			if sealed, _ := countSealed(k.s); sealed < 3 {
				t.Fatalf("only %d extents were sealed by %d puts; the blobs are too small to fill extents", sealed, blobs)
			}

			// A few blobs in two new extents, deleted with tombstones in
			// their own extent and in the other one.
			a, err := k.s.CreateExtent()
			if err != nil {
				t.Fatal(err)
			}
			b, err := k.s.CreateExtent()
			if err != nil {
				t.Fatal(err)
			}
			pool.ids = append(pool.ids, a, b)
			for i := blobs; i < blobs+8; i++ {
				if _, err := k.s.Put(kernelCtx, a, kernelKey(i), kernelBlob(i, 8000)); err != nil {
					t.Fatalf("put %d into extent %d: %v", i, a, err)
				}
				m.put(i, 8000)
			}
			for i := blobs; i < blobs+8; i += 2 {
				holder := a
				if i%4 == 0 {
					holder = b
				}
				if err := k.s.Delete(kernelCtx, holder, kernelKey(i)); err != nil {
					t.Fatalf("delete %d with a tombstone in extent %d: %v", i, holder, err)
				}
				m.del(i)
			}

			// Deletes of a quarter of the blobs, of every size, from four
			// goroutines: most blobs are in sealed extents, so the
			// tombstones are in other extents.
			parallel(t, blobs/4, 4, func(j int) error {
				i := 4*j + j%4
				err := pool.do(j, func(id uint64) error { return k.s.Delete(kernelCtx, id, kernelKey(i)) })
				if err == nil {
					m.del(i)
				}
				return err
			})
			m.check(t, k.s, "after puts and deletes")

			// Seal all open extents but one, and compact the extent with
			// the most to reclaim.
			keep := pool.pick(0)
			for _, id := range pool.ids {
				if id != keep {
					if err := k.s.Seal(kernelCtx, id); err != nil {
						t.Fatalf("seal %d: %v", id, err)
					}
				}
			}
			cands := k.s.Candidates(0.1)
			if len(cands) == 0 {
				t.Fatalf("no extent is worth compacting after deleting a quarter of the blobs: %s", kernelExtents(k.s, true))
			}
			src := cands[0].ID
			where := map[int]uint64{}
			for _, i := range m.liveKeys() {
				id, err := k.s.Locate(kernelKey(i))
				if err != nil {
					t.Fatalf("locate %d: %v", i, err)
				}
				where[i] = id
			}
			dst, err := k.s.Compact(kernelCtx, src, extent.CompactOptions{})
			if err != nil {
				t.Fatalf("compact %d: %v", src, err)
			}
			if err := k.s.Records(src, func(int64, record.Header, []byte) bool { return true }); !errors.Is(err, extent.ErrNotFound) {
				t.Fatalf("the compacted extent %d is still there: %v", src, err)
			}
			moved := 0
			for i, id := range where {
				got, err := k.s.Locate(kernelKey(i))
				want := id
				if id == src {
					want = dst
					moved++
				}
				if err != nil || got != want {
					t.Fatalf("after compacting %d into %d, blob %d is in %d (%v), want %d", src, dst, i, got, err, want)
				}
			}
			if moved == 0 {
				t.Fatalf("compacting extent %d moved no live blob", src)
			}
			m.check(t, k.s, "after compaction")
			checkReadRange(t, k.s, m)
			before := kernelExtents(k.s, false)
			sealed, open := countSealed(k.s)
			t.Logf("%s: %d live and %d deleted blobs in %d sealed and %d open extents (writers found an extent full %d times, being sealed %d times), compacted %d into %d (%d blobs moved); %v so far",
				path, len(m.live), len(m.deleted), sealed, open, pool.full, pool.sealing, src, dst, moved, time.Since(start).Round(time.Millisecond))

			// Reopen: sealed extents come back from the checkpoint.
			k.reopen(t, extent.Options{})
			st := k.s.Stat().Checkpoint
			if st.Recovered == 0 || st.Recovered != sealed || st.Scanned != open {
				t.Fatalf("reopen recovered %d extents from the checkpoint and scanned %d; want the %d sealed recovered and the %d others scanned (%+v)",
					st.Recovered, st.Scanned, sealed, open, st)
			}
			m.check(t, k.s, "after reopening from the checkpoint")
			if after := kernelExtents(k.s, false); after != before {
				t.Fatalf("extents after reopening differ from before:\n%s\nbefore:\n%s", after, before)
			}
			checkReadRange(t, k.s, m)
			fast := kernelExtents(k.s, true)

			// Reopen reading every extent in full: the same store.
			k.reopen(t, extent.Options{FullScan: true})
			if st := k.s.Stat().Checkpoint; st.Recovered != 0 || st.Scanned != sealed+open {
				t.Fatalf("a full scan recovered %d extents from the checkpoint and scanned %d, want 0 and %d", st.Recovered, st.Scanned, sealed+open)
			}
			m.check(t, k.s, "after reopening with a full scan")
			if full := kernelExtents(k.s, true); full != fast {
				t.Fatalf("extents after a full scan differ from the recovery from the checkpoint:\n%s\nfrom the checkpoint:\n%s", full, fast)
			}

			// The reopened store takes more writes: into the extent left
			// open (appending after what the last run wrote, then into a
			// new one once it is full), a delete of a moved blob, seals,
			// and a new open extent.
			more := &openExtents{s: k.s, ids: []uint64{keep}}
			for i := blobs + 100; i < blobs+110; i++ {
				n := kernelSize(i)
				err := more.do(0, func(id uint64) error {
					_, err := k.s.Put(kernelCtx, id, kernelKey(i), kernelBlob(i, n))
					return err
				})
				if err != nil {
					t.Fatalf("put %d after reopening: %v", i, err)
				}
				m.put(i, n)
			}
			for i, id := range where {
				if id == src && m.live[i] > 0 {
					if err := more.do(0, func(id uint64) error { return k.s.Delete(kernelCtx, id, kernelKey(i)) }); err != nil {
						t.Fatalf("delete moved blob %d: %v", i, err)
					}
					m.del(i)
					break
				}
			}
			if err := k.s.Seal(kernelCtx, more.pick(0)); err != nil {
				t.Fatalf("seal %d after reopening: %v", more.pick(0), err)
			}
			last, err := k.s.CreateExtent()
			if err != nil {
				t.Fatal(err)
			}
			for i := blobs + 200; i < blobs+205; i++ {
				n := kernelSize(i)
				if _, err := k.s.Put(kernelCtx, last, kernelKey(i), kernelBlob(i, n)); err != nil {
					t.Fatalf("put %d into new extent %d: %v", i, last, err)
				}
				m.put(i, n)
			}
			before = kernelExtents(k.s, false)
			sealed, open = countSealed(k.s)
			k.reopen(t, extent.Options{})
			if st := k.s.Stat().Checkpoint; st.Recovered != sealed || st.Scanned != open {
				t.Fatalf("second reopen recovered %d extents from the checkpoint and scanned %d, want %d and %d (%+v)",
					st.Recovered, st.Scanned, sealed, open, st)
			}
			m.check(t, k.s, "after writing more and reopening")
			if after := kernelExtents(k.s, false); after != before {
				t.Fatalf("extents after the second reopen differ from before:\n%s\nbefore:\n%s", after, before)
			}
			if err := k.s.Close(); err != nil {
				t.Fatal(err)
			}
			if err := k.dev.Close(); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d live blobs, %d deleted, in %v", path, len(m.live), len(m.deleted), time.Since(start).Round(time.Millisecond))
		})
	}
}

// checkReadRange reads records of every sealed extent through ReadRange, as
// erasure coding and repair do, and checks that they decode to what was
// written: the first and largest blob, and the seal.
func checkReadRange(t *testing.T, s *extent.Store, m *kernelModel) {
	t.Helper()
	bs := s.Label().BlockSize
	extentBytes := int64(s.Label().ZonesPerExtent) * s.Label().ZoneSize
	checked := 0
	for _, in := range s.List() {
		if in.State != extent.StateSealed {
			continue
		}
		type rec struct {
			off int64
			h   record.Header
		}
		var blobsIn []rec
		var seal *rec
		err := s.Records(in.ID, func(off int64, h record.Header, _ []byte) bool {
			switch h.Type {
			case record.TypeBlob:
				blobsIn = append(blobsIn, rec{off, h})
			case record.TypeSeal:
				seal = &rec{off, h}
			}
			return true
		})
		if err != nil {
			t.Fatalf("records of extent %d: %v", in.ID, err)
		}
		if seal == nil {
			t.Fatalf("sealed extent %d has no seal record", in.ID)
		}
		picks := []rec{*seal}
		if len(blobsIn) > 0 {
			largest := slices.MaxFunc(blobsIn, func(a, b rec) int { return int(a.h.Length) - int(b.h.Length) })
			picks = append(picks, blobsIn[0], largest)
		}
		for _, r := range picks {
			buf := zoned.AlignedBuffer(record.Size(int(r.h.Length), int(bs)), int(bs))
			if err := s.ReadRange(in.ID, r.off, buf); err != nil {
				t.Fatalf("ReadRange of extent %d at %d (%d bytes): %v", in.ID, r.off, len(buf), err)
			}
			h, payload, _, err := record.Decode(buf, int(bs))
			if err != nil {
				t.Fatalf("ReadRange of extent %d at %d: the record does not decode: %v", in.ID, r.off, err)
			}
			if h.Type != r.h.Type || h.Extent != in.ID || h.Key != r.h.Key {
				t.Fatalf("ReadRange of extent %d at %d: got a %v record of extent %d, want %v of %d", in.ID, r.off, h.Type, h.Extent, r.h.Type, in.ID)
			}
			if h.Type == record.TypeBlob {
				i := kernelKeyNumber(h.Key)
				if !bytes.Equal(payload, kernelBlob(i, int(h.Length))) {
					t.Fatalf("ReadRange of extent %d at %d: blob %d differs from what was written", in.ID, r.off, i)
				}
			}
			checked++
		}
		// A range past the end of the extent's byte space is refused.
		if err := s.ReadRange(in.ID, extentBytes-int64(bs), zoned.AlignedBuffer(2*int(bs), int(bs))); err == nil ||
			!strings.Contains(err.Error(), "outside") {
			t.Fatalf("ReadRange past the end of extent %d: %v, want an error saying the range is outside it", in.ID, err)
		}
	}
	if checked == 0 {
		t.Fatal("no sealed extent to check ReadRange on")
	}
}

// TestKernelDriveFull fills every extent slot, checks the drive-full error,
// fills an extent to its last byte (which must still seal), and reopens.
func TestKernelDriveFull(t *testing.T) {
	for _, path := range kernelDevices(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			k := formatKernelStore(t, path)
			info := k.dev.Info()
			first := info.ConventionalZones
			if first == 0 {
				first = 4 // label log and checkpoint zones; see FORMAT.md
			}
			slots := (info.ZoneCount - first) / kernelZonesPerExtent
			var ids []uint64
			for {
				id, err := k.s.CreateExtent()
				if err != nil {
					if !errors.Is(err, extent.ErrFull) || !strings.Contains(err.Error(), "free zones") || !strings.Contains(err.Error(), path) {
						t.Fatalf("creating extent %d of %d slots: %v; want ErrFull naming the device and its free zones", len(ids)+1, slots, err)
					}
					t.Logf("drive full: %v", err)
					break
				}
				ids = append(ids, id)
				if len(ids) > slots {
					t.Fatalf("created %d extents on %d slots", len(ids), slots)
				}
			}
			if len(ids) != slots-1 {
				t.Fatalf("created %d extents on %d slots; want all but the one kept for compaction", len(ids), slots)
			}
			if st := k.s.Stat(); st.FreeZones != kernelZonesPerExtent {
				t.Fatalf("%d free zones with every extent in use, want the %d kept for compaction", st.FreeZones, kernelZonesPerExtent)
			}

			// Fill one extent with 1 MiB blobs until it has no room; the
			// room kept for the seal lets it still be sealed.
			id := ids[0]
			m := newKernelModel()
			n := 0
			for ; ; n++ {
				_, err := k.s.Put(kernelCtx, id, kernelKey(n), kernelBlob(n, 1<<20))
				if err != nil {
					if !errors.Is(err, extent.ErrFull) {
						t.Fatalf("put %d into a full extent: %v, want ErrFull", n, err)
					}
					break
				}
				m.put(n, 1<<20)
			}
			capacity := int64(kernelZonesPerExtent) * info.ZoneCapacity
			if int64(n+1)<<20 < capacity*3/4 {
				t.Fatalf("only %d blobs of 1 MiB fit in an extent of %d bytes", n, capacity)
			}
			if err := k.s.Seal(kernelCtx, id); err != nil {
				t.Fatalf("sealing the full extent: %v", err)
			}
			// A freed slot can be taken again.
			if err := k.s.DeleteExtent(kernelCtx, ids[1]); err != nil {
				t.Fatal(err)
			}
			if _, err := k.s.CreateExtent(); err != nil {
				t.Fatalf("creating an extent after deleting one: %v", err)
			}
			m.check(t, k.s, "after filling an extent")

			// Empty extents are gone after a restart; the full one stays.
			k.reopen(t, extent.Options{})
			if st := k.s.Stat(); st.Extents != 1 || st.Checkpoint.Recovered != 1 {
				t.Fatalf("after reopening: %+v, want the one sealed extent recovered from the checkpoint", st)
			}
			m.check(t, k.s, "after reopening a full extent")
			if err := k.s.Close(); err != nil {
				t.Fatal(err)
			}
			if err := k.dev.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
