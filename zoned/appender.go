package zoned

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// Appender gives user space the semantics of the zone-append command, which
// only the kernel can issue: many goroutines append to a zone (or to
// whichever zone is open), and each learns the offset its data got.
//
// Appends to one zone are queued and written by a single writer, which
// coalesces everything queued into one large aligned write at the write
// pointer. Durability is shared across zones: one syncer issues a Sync for
// every batch written since the last one began, and only then are the
// batch's appends answered, so a returned offset is durable. The writers do
// not wait for the syncer: while one Sync is in flight the next batches are
// written and the next appends gather, so write sizes and the number of
// appends per flush both grow with the load (group commit).
//
// The number of zones written at once is bounded (MaxActiveZones, default 2):
// an SMR drive's head seeks between the zones it writes, and zoned devices
// limit open zones. An append to another zone waits for one of the active
// zones to go idle.
//
// When a write fails, the appends of the batch it had not yet stored fail
// with an *AppendError (those written before the failure go on to be synced
// and acknowledged), and the zone's writer reports the zone again to learn where
// the write pointer really is (a failed write may have stored part of the
// batch) before it writes anything else there. Later appends go after that
// point; the bytes between the old and the new write pointer are garbage the
// caller must be able to recognise (Shingle's records carry checksums). A
// zone that went read-only, offline or full fails its queued appends too.
// When a Sync fails, every append waiting for it fails: its data was written
// but is not known to be durable.
type Appender struct {
	dev  Device
	info Info
	opts AppenderOptions

	mu     sync.Mutex
	idle   *sync.Cond // signalled when a zone goes idle or leaves, or a sync ends
	active map[int]*zoneQueue
	pool   []int // zones AppendAny may still start, in order
	closed bool
	bufs   [][]byte // free batch buffers of MaxBatchBytes
	// unsynced holds appends written to the device and waiting for the
	// next Sync; syncing is true while the syncer goroutine runs.
	unsynced []*appendReq
	syncing  bool
	// writesStarted and writesDone count batch writes, so the syncer can
	// wait for the writes in flight when it wakes and cover them with the
	// same Sync instead of needing another one right after.
	writesStarted, writesDone uint64
	wrote                     *sync.Cond     // signalled when a batch write ends
	finishing                 sync.WaitGroup // zones being finished by retire
	// managing holds zones being reset or finished through the Appender;
	// appends to them wait until that is done.
	managing map[int]bool
}

// AppenderOptions tune an Appender. Zero values take the defaults.
type AppenderOptions struct {
	// MaxActiveZones bounds how many zones are written at once (2).
	MaxActiveZones int
	// MaxBatchBytes bounds one coalesced write (16 MiB). A single append
	// larger than this is written alone.
	MaxBatchBytes int
	// Zones are the zones AppendAny fills, in order. Nil means every
	// sequential zone that has room, as reported when the Appender is made.
	Zones []int
}

// zoneQueue is the appender's state for one active zone.
type zoneQueue struct {
	index     int
	start     int64
	end       int64 // start + capacity
	wp        int64 // where the next batch will be written
	queued    int64 // bytes waiting in pending
	pending   []*appendReq
	writing   bool  // a flusher goroutine owns the zone
	retiring  bool  // AppendAny moved on; finish the zone once drained
	finishing bool  // the zone is being finished; it keeps its slot until done
	fromPool  bool  // AppendAny may use it
	broken    error // the zone can take no more appends
}

type appendReq struct {
	data     []byte
	zone     int
	batchOff int64 // where its batch was written
	off      int64
	err      error
	done     chan struct{}
}

// AppendError reports an append that failed: its write failed, or the Sync
// that was to make it durable did, or its zone could take no more. The
// zone's write pointer has been read again from the device.
type AppendError struct {
	// Zone is the zone appended to.
	Zone int
	// BatchOffset is where the failed write started (-1 if the append was
	// never written).
	BatchOffset int64
	// Len is the length of this append.
	Len int
	// WritePointer is the zone's write pointer reported after the failure
	// (-1 if the report failed too); later appends go there.
	WritePointer int64
	// Err is the device error.
	Err error
}

// Error describes the failed append.
func (e *AppendError) Error() string {
	return fmt.Sprintf("zoned: append of %d bytes to zone %d failed in the batch written at %d: %v; "+
		"the write pointer is now at %d, later appends go there", e.Len, e.Zone, e.BatchOffset, e.Err, e.WritePointer)
}

// Unwrap returns the device error.
func (e *AppendError) Unwrap() error { return e.Err }

// NewAppender returns an Appender over dev. The Appender does not own dev;
// close the Appender before the device.
func NewAppender(dev Device, opts AppenderOptions) (*Appender, error) {
	info := dev.Info()
	// The device's own limits bound how many zones may be written at once.
	deviceLimit := 0
	for _, l := range []int{info.MaxOpenZones, info.MaxActiveZones} {
		if l > 0 && (deviceLimit == 0 || l < deviceLimit) {
			deviceLimit = l
		}
	}
	if opts.MaxActiveZones <= 0 {
		opts.MaxActiveZones = 2
		if deviceLimit > 0 {
			opts.MaxActiveZones = min(2, deviceLimit)
		}
	}
	if deviceLimit > 0 && opts.MaxActiveZones > deviceLimit {
		return nil, &Error{Op: "append", Path: info.Path, Zone: -1, Offset: -1, Kind: ErrTooManyOpen,
			Detail: fmt.Sprintf("AppenderOptions.MaxActiveZones is %d but the device allows %d open or active zones; lower it",
				opts.MaxActiveZones, deviceLimit)}
	}
	if opts.MaxBatchBytes <= 0 {
		opts.MaxBatchBytes = 16 << 20
	}
	bs := info.LogicalBlockSize
	opts.MaxBatchBytes = (opts.MaxBatchBytes + bs - 1) / bs * bs
	a := &Appender{dev: dev, info: info, opts: opts, active: map[int]*zoneQueue{}, managing: map[int]bool{}}
	a.idle = sync.NewCond(&a.mu)
	a.wrote = sync.NewCond(&a.mu)
	if opts.Zones != nil {
		for _, z := range opts.Zones {
			if err := checkZoneRange("append", info, z, 1); err != nil {
				return nil, err
			}
		}
		a.pool = append([]int(nil), opts.Zones...)
	} else {
		zones, err := ReportAll(dev)
		if err != nil {
			return nil, err
		}
		for _, z := range zones {
			if z.Sequential() && z.Remaining() > 0 {
				a.pool = append(a.pool, z.Index)
			}
		}
	}
	return a, nil
}

// Append appends data to zone and returns the byte offset it was written at,
// once it is durable. len(data) must be a positive multiple of the logical
// block size; data need not be aligned in memory. data must not be modified
// until Append returns or, if ctx ended first, until Close returns: the
// append may still be written from it.
//
// Zones appended to explicitly stay open or closed on the device after the
// Appender moves on; finishing them is the caller's job, and the device's
// active-zone limit applies to them.
func (a *Appender) Append(ctx context.Context, zone int, data []byte) (int64, error) {
	if err := a.checkData(zone, data); err != nil {
		return 0, err
	}
	data = a.alignLarge(data)
	defer a.wakeOnDone(ctx)()
	a.mu.Lock()
	q, err := a.activate(ctx, zone, false)
	if err != nil {
		a.mu.Unlock()
		return 0, err
	}
	if q.wp+q.queued+int64(len(data)) > q.end {
		left := q.end - q.wp - q.queued
		a.mu.Unlock()
		return 0, &Error{Op: "append", Path: a.info.Path, Zone: zone, Offset: -1, Kind: ErrZoneFull,
			Detail: fmt.Sprintf("%d bytes do not fit: %d bytes of the zone are left after the appends queued; append to another zone",
				len(data), max(left, 0))}
	}
	r := a.enqueue(q, data)
	a.mu.Unlock()
	return a.wait(ctx, r)
}

// AppendAny appends data to whichever zone of the pool is active and has
// room, starting the next zone of the pool when needed, and returns the zone
// and offset it was written at once durable. A zone that cannot hold the
// next append is finished once its queued appends are written, so it holds
// no device resources.
func (a *Appender) AppendAny(ctx context.Context, data []byte) (zone int, off int64, err error) {
	if err := a.checkData(-1, data); err != nil {
		return -1, 0, err
	}
	data = a.alignLarge(data)
	n := int64(len(data))
	defer a.wakeOnDone(ctx)()
	a.mu.Lock()
	for {
		if a.closed {
			a.mu.Unlock()
			return -1, 0, a.closedErr()
		}
		if err := ctx.Err(); err != nil {
			a.mu.Unlock()
			return -1, 0, fmt.Errorf("zoned: append abandoned before it was queued: %w", err)
		}
		// The active pool zone with room and the least queued.
		var best *zoneQueue
		for _, q := range a.active {
			if !q.fromPool || q.retiring || q.broken != nil {
				continue
			}
			if q.wp+q.queued+n > q.end {
				q.retiring = true
				if !q.writing {
					a.retire(q)
				}
				continue
			}
			if best == nil || q.queued < best.queued || (q.queued == best.queued && q.index < best.index) {
				best = q
			}
		}
		if best != nil {
			r := a.enqueue(best, data)
			a.mu.Unlock()
			off, err := a.wait(ctx, r)
			return best.index, off, err
		}
		if len(a.pool) == 0 {
			a.mu.Unlock()
			return -1, 0, &Error{Op: "append", Path: a.info.Path, Zone: -1, Offset: -1, Kind: ErrZoneFull,
				Detail: fmt.Sprintf("no zone in the appender's pool has room for %d more bytes; reset zones and make a new Appender", n)}
		}
		if a.freeSlot() {
			next := a.pool[0]
			q, err := a.activate(ctx, next, true)
			if err != nil {
				if zoneUnusable(err) {
					// This zone cannot be written (offline, say): skip it.
					a.dropFromPool(next)
					continue
				}
				// Keep the zone in the pool: the failure may pass.
				a.mu.Unlock()
				return -1, 0, err
			}
			a.dropFromPool(next)
			if q.wp+q.queued+n > q.end {
				q.retiring = true
				if !q.writing {
					a.retire(q)
				}
			}
			continue
		}
		a.idle.Wait()
	}
}

// Close waits for queued appends to be written and synced and stops the
// Appender. Appends after Close, and appends waiting for a zone, fail with
// ErrClosed.
func (a *Appender) Close() error {
	a.mu.Lock()
	a.closed = true
	a.idle.Broadcast()
	for {
		busy := a.syncing
		for _, q := range a.active {
			busy = busy || q.writing
		}
		if !busy {
			break
		}
		a.idle.Wait()
	}
	a.mu.Unlock()
	a.finishing.Wait()
	return nil
}

// ResetZones resets count zones from first on the device, through the
// Appender. An Appender remembers where it left each zone it appends to;
// a zone reset behind its back would have the next append written where
// the old write pointer was, and refused. No append to these zones may be
// queued: that is an error, and nothing is reset. It waits for the writes
// in flight to end, and appends to the zones made meanwhile wait until the
// reset is done.
func (a *Appender) ResetZones(first, count int) error {
	return a.manage(first, count, a.dev.ResetZones)
}

// FinishZones finishes count zones from first on the device, through the
// Appender, which lets go of them at once instead of keeping them among its
// active zones; see ResetZones.
func (a *Appender) FinishZones(first, count int) error {
	return a.manage(first, count, a.dev.FinishZones)
}

func (a *Appender) manage(first, count int, op func(first, count int) error) error {
	if err := checkZoneRange("manage", a.info, first, count); err != nil {
		return err
	}
	a.mu.Lock()
	for busy := true; busy; {
		busy = false
		for z := first; z < first+count; z++ {
			q := a.active[z]
			if q != nil && len(q.pending) > 0 {
				a.mu.Unlock()
				return &Error{Op: "manage", Path: a.info.Path, Zone: z, Offset: -1, Kind: ErrBusy,
					Detail: "the zone has appends queued; wait for them first"}
			}
			// A writer about to go idle, a finish or another reset or
			// finish in progress: wait for it.
			busy = busy || a.managing[z] || q != nil && (q.writing || q.finishing)
		}
		if busy {
			a.idle.Wait()
		}
	}
	for z := first; z < first+count; z++ {
		delete(a.active, z)
		a.managing[z] = true
	}
	a.mu.Unlock()
	err := op(first, count)
	a.mu.Lock()
	for z := first; z < first+count; z++ {
		delete(a.managing, z)
	}
	a.idle.Broadcast()
	a.mu.Unlock()
	return err
}

func (a *Appender) closedErr() error {
	return &Error{Op: "append", Path: a.info.Path, Zone: -1, Offset: -1, Kind: ErrClosed,
		Detail: "the appender was closed"}
}

// alignLarge copies a large append that is not aligned in memory into an
// aligned buffer, in the caller's goroutine, so the zone's writer can send it
// to the device without copying it on the write path.
func (a *Appender) alignLarge(data []byte) []byte {
	if len(data) < directWriteMin || IsAligned(data, a.info.LogicalBlockSize) {
		return data
	}
	b := AlignedBuffer(len(data), max(a.info.LogicalBlockSize, 4096))
	copy(b, data)
	return b
}

func (a *Appender) checkData(zone int, data []byte) error {
	bs := a.info.LogicalBlockSize
	if len(data) == 0 || len(data)%bs != 0 {
		return &Error{Op: "append", Path: a.info.Path, Zone: zone, Offset: -1, Kind: ErrUnaligned,
			Detail: fmt.Sprintf("an append of %d bytes must be a positive multiple of the %d-byte block size; pad it", len(data), bs)}
	}
	if int64(len(data)) > a.info.ZoneCapacity {
		return &Error{Op: "append", Path: a.info.Path, Zone: zone, Offset: -1, Kind: ErrZoneFull,
			Detail: fmt.Sprintf("an append of %d bytes is larger than a zone's %d-byte capacity", len(data), a.info.ZoneCapacity)}
	}
	return nil
}

// freeSlot reports whether another zone may become active, making room by
// letting go of an idle zone (one with nothing queued or being written) if
// needed. An idle pool zone that still has room goes back to the front of
// the pool, so AppendAny resumes it later. a.mu is held.
func (a *Appender) freeSlot() bool {
	if len(a.active) < a.opts.MaxActiveZones {
		return true
	}
	victim := -1
	for i, q := range a.active {
		if !q.writing && !q.finishing && len(q.pending) == 0 && (victim < 0 || i < victim) {
			victim = i
		}
	}
	if victim < 0 {
		return false
	}
	q := a.active[victim]
	delete(a.active, victim)
	if q.fromPool && !q.retiring && q.broken == nil && q.wp < q.end {
		a.pool = append([]int{victim}, a.pool...)
	}
	return true
}

// dropFromPool removes zone from the pool of AppendAny. a.mu is held.
func (a *Appender) dropFromPool(zone int) {
	if i := slices.Index(a.pool, zone); i >= 0 {
		a.pool = slices.Delete(a.pool, i, i+1)
	}
}

// wakeOnDone wakes the goroutines waiting for a zone when ctx ends, so a
// waiting append can give up; call the returned function when done.
func (a *Appender) wakeOnDone(ctx context.Context) func() {
	if ctx.Done() == nil {
		return func() {}
	}
	stop := context.AfterFunc(ctx, func() {
		a.mu.Lock()
		a.idle.Broadcast()
		a.mu.Unlock()
	})
	return func() { stop() }
}

// activate returns the queue of zone, making it active (and waiting for a
// slot) if it is not. a.mu is held; it is released while waiting.
func (a *Appender) activate(ctx context.Context, zone int, fromPool bool) (*zoneQueue, error) {
	for {
		if a.closed {
			return nil, a.closedErr()
		}
		if a.managing[zone] {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("zoned: append abandoned while its zone was being reset or finished: %w", err)
			}
			a.idle.Wait()
			continue
		}
		if q, ok := a.active[zone]; ok {
			if q.broken != nil {
				return nil, q.broken
			}
			q.fromPool = q.fromPool || fromPool
			return q, nil
		}
		if a.freeSlot() {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("zoned: append abandoned while waiting for a zone: %w", err)
		}
		a.idle.Wait()
	}
	z, err := ReportZone(a.dev, zone)
	if err != nil {
		return nil, err
	}
	if !z.Sequential() {
		return nil, &Error{Op: "append", Path: a.info.Path, Zone: zone, Offset: -1, Kind: ErrInvalidTransition,
			Detail: "zone is conventional; appends need a sequential zone"}
	}
	if e := refusal("write", &z, z.WritePointer, 0); e != nil {
		e.Op, e.Path, e.Zone, e.Offset = "append", a.info.Path, zone, -1
		return nil, e
	}
	q := &zoneQueue{index: zone, start: z.Start, end: z.Start + z.Capacity, wp: z.WritePointer, fromPool: fromPool}
	a.active[zone] = q
	return q, nil
}

// enqueue adds an append to q and starts its flusher. a.mu is held.
func (a *Appender) enqueue(q *zoneQueue, data []byte) *appendReq {
	r := &appendReq{data: data, zone: q.index, done: make(chan struct{})}
	q.pending = append(q.pending, r)
	q.queued += int64(len(data))
	if !q.writing {
		q.writing = true
		go a.flush(q)
	}
	return r
}

// wait blocks until r is durable or failed. A cancelled context stops the
// wait, not the append: the data may still be written.
func (a *Appender) wait(ctx context.Context, r *appendReq) (int64, error) {
	select {
	case <-r.done:
		return r.off, r.err
	case <-ctx.Done():
		return 0, fmt.Errorf("zoned: append abandoned (it may still be written): %w", ctx.Err())
	}
}

// retire finishes a drained zone that AppendAny has moved on from, releasing
// its slot. a.mu is held.
func (a *Appender) retire(q *zoneQueue) {
	if q.finishing {
		return
	}
	if q.wp <= q.start || q.wp >= q.end || q.broken != nil {
		delete(a.active, q.index)
		a.idle.Broadcast()
		return
	}
	// Finishing frees the zone's open and active resources on the device.
	// It is device I/O, so it runs without a.mu; the zone keeps its slot
	// until it is done so the device's limits are never passed. A failure
	// leaves the zone closed, which is harmless.
	q.finishing = true
	a.finishing.Add(1)
	go func() {
		defer a.finishing.Done()
		_ = a.dev.FinishZones(q.index, 1)
		a.mu.Lock()
		delete(a.active, q.index)
		a.idle.Broadcast()
		a.mu.Unlock()
	}()
}

// flush is the single writer of one zone: it writes batches until the queue
// is empty, handing each written batch to the syncer.
func (a *Appender) flush(q *zoneQueue) {
	for {
		a.mu.Lock()
		if len(q.pending) == 0 {
			q.writing = false
			switch {
			case q.retiring:
				a.retire(q)
			case q.wp >= q.end || q.broken != nil:
				// Nothing more can go here; a later append reports the
				// zone again and learns why.
				delete(a.active, q.index)
			}
			a.idle.Broadcast()
			a.mu.Unlock()
			return
		}
		batch, total := a.takeBatch(q)
		wp := q.wp
		// The space is taken now so Append's capacity check counts bytes
		// in flight; a failed write sets the write pointer from the device.
		q.wp += int64(total)
		q.queued -= int64(total)
		a.writesStarted++
		a.mu.Unlock()

		written, err := a.writeBatch(batch, wp)

		a.mu.Lock()
		a.writesDone++
		a.wrote.Broadcast()
		off := wp
		for _, r := range batch {
			r.batchOff, r.off = wp, off
			off += int64(len(r.data))
		}
		if err != nil {
			// The appends written before the failure are intact and go on
			// to the syncer; the rest fail.
			failed := batch[written:]
			a.recover(q, failed, failed[0].off, err)
			for _, r := range failed {
				close(r.done)
			}
			batch = batch[:written]
		}
		if len(batch) > 0 {
			a.unsynced = append(a.unsynced, batch...)
			if !a.syncing {
				a.syncing = true
				go a.syncLoop()
			}
		}
		a.mu.Unlock()
	}
}

// directWriteMin is the size from which an aligned append is written from
// the caller's buffer instead of being copied into the batch buffer: large
// appends gain nothing from coalescing and the copy would sit on the write
// path.
const directWriteMin = 128 << 10

// writeBatch writes a batch at wp: runs of small appends are copied into one
// aligned buffer and written together, large aligned appends are written
// from the caller's memory. It returns how many appends were written before
// an error.
func (a *Appender) writeBatch(batch []*appendReq, wp int64) (int, error) {
	var buf []byte
	used, done := 0, 0
	pos := wp
	flushRun := func(upTo int) error {
		if used == 0 {
			return nil
		}
		_, err := a.dev.WriteAt(buf[:used], pos)
		if err != nil {
			return err
		}
		pos += int64(used)
		used, done = 0, upTo
		return nil
	}
	defer func() {
		if buf != nil {
			a.mu.Lock()
			a.releaseBuffer(buf)
			a.mu.Unlock()
		}
	}()
	for i, r := range batch {
		if len(r.data) >= directWriteMin && IsAligned(r.data, a.info.LogicalBlockSize) {
			if err := flushRun(i); err != nil {
				return done, err
			}
			if _, err := a.dev.WriteAt(r.data, pos); err != nil {
				return done, err
			}
			pos += int64(len(r.data))
			done = i + 1
			continue
		}
		if buf == nil {
			a.mu.Lock()
			buf = a.batchBuffer()
			a.mu.Unlock()
		}
		if used+len(r.data) > len(buf) {
			if err := flushRun(i); err != nil {
				return done, err
			}
		}
		if len(r.data) > len(buf) {
			// Larger than a batch buffer and not written directly (small
			// MaxBatchBytes, or unaligned below directWriteMin): write it
			// from its own aligned copy.
			big := AlignedBuffer(len(r.data), a.info.LogicalBlockSize)
			copy(big, r.data)
			if _, err := a.dev.WriteAt(big, pos); err != nil {
				return done, err
			}
			pos += int64(len(r.data))
			done = i + 1
			continue
		}
		used += copy(buf[used:], r.data)
	}
	if err := flushRun(len(batch)); err != nil {
		return done, err
	}
	return len(batch), nil
}

// syncLoop is the syncer: while written appends wait, it issues one Sync for
// all of them and answers them. One Sync covers every zone of the device.
func (a *Appender) syncLoop() {
	a.mu.Lock()
	for len(a.unsynced) > 0 {
		// Let the writes already in flight finish so this Sync covers
		// them; writes started after this point wait for the next one.
		for target := a.writesStarted; a.writesDone < target; {
			a.wrote.Wait()
		}
		batch := a.unsynced
		a.unsynced = nil
		a.mu.Unlock()
		err := a.dev.Sync()
		if err != nil {
			a.failSync(batch, err)
		}
		for _, r := range batch {
			close(r.done)
		}
		a.mu.Lock()
	}
	a.syncing = false
	a.idle.Broadcast()
	a.mu.Unlock()
}

// failSync fails appends whose Sync failed, reporting each zone's write
// pointer as the device now gives it.
func (a *Appender) failSync(batch []*appendReq, err error) {
	wps := map[int]int64{}
	for _, r := range batch {
		wp, ok := wps[r.zone]
		if !ok {
			wp = -1
			if z, rerr := ReportZone(a.dev, r.zone); rerr == nil {
				wp = z.WritePointer
			}
			wps[r.zone] = wp
		}
		r.err = &AppendError{Zone: r.zone, BatchOffset: r.batchOff, Len: len(r.data), WritePointer: wp, Err: err}
	}
}

// takeBatch removes up to MaxBatchBytes of appends from the queue (at least
// one). a.mu is held.
func (a *Appender) takeBatch(q *zoneQueue) ([]*appendReq, int) {
	total, n := 0, 0
	for n < len(q.pending) {
		l := len(q.pending[n].data)
		if n > 0 && total+l > a.opts.MaxBatchBytes {
			break
		}
		total += l
		n++
	}
	batch := make([]*appendReq, n)
	copy(batch, q.pending)
	rest := copy(q.pending, q.pending[n:])
	clear(q.pending[rest:]) // drop references to requests taken
	q.pending = q.pending[:rest]
	return batch, total
}

// recover handles a failed write: it re-reads the zone's write pointer,
// fails the batch, and fails everything queued if the zone can take no more.
// a.mu is held.
func (a *Appender) recover(q *zoneQueue, batch []*appendReq, wp int64, err error) {
	newWP := int64(-1)
	z, rerr := ReportZone(a.dev, q.index)
	switch {
	case rerr != nil:
		q.broken = rerr
	case z.Cond == CondReadOnly || z.Cond == CondOffline || z.Cond == CondFull:
		newWP = z.WritePointer
		gone := refusal("write", &z, z.WritePointer, 0)
		gone.Op, gone.Path, gone.Zone, gone.Offset = "append", a.info.Path, q.index, -1
		q.broken = gone
	default:
		newWP = z.WritePointer
		q.wp = newWP
		// Appends queued behind the failed batch still fit only if the
		// write pointer did not move past what they were promised.
		if q.wp+q.queued > q.end {
			q.broken = &Error{Op: "append", Path: a.info.Path, Zone: q.index, Offset: -1, Kind: ErrZoneFull,
				Detail: "after a failed write the zone has no room for the appends queued behind it"}
		}
	}
	for _, r := range batch {
		r.err = &AppendError{Zone: q.index, BatchOffset: wp, Len: len(r.data), WritePointer: newWP, Err: err}
	}
	if q.broken != nil {
		for _, r := range q.pending {
			r.err = &AppendError{Zone: q.index, BatchOffset: -1, Len: len(r.data), WritePointer: newWP, Err: q.broken}
			close(r.done)
		}
		q.pending, q.queued = nil, 0
	}
}

// batchBuffer returns an aligned buffer of MaxBatchBytes. a.mu is held.
func (a *Appender) batchBuffer() []byte {
	if k := len(a.bufs); k > 0 {
		b := a.bufs[k-1]
		a.bufs = a.bufs[:k-1]
		return b
	}
	return AlignedBuffer(a.opts.MaxBatchBytes, max(a.info.LogicalBlockSize, 4096))
}

// releaseBuffer keeps a batch buffer for reuse. a.mu is held.
func (a *Appender) releaseBuffer(b []byte) {
	if b != nil && len(b) == a.opts.MaxBatchBytes && len(a.bufs) < a.opts.MaxActiveZones {
		a.bufs = append(a.bufs, b)
	}
}

// zoneUnusable reports whether err means one zone cannot take appends, as
// opposed to the device failing as a whole.
func zoneUnusable(err error) bool {
	return errors.Is(err, ErrOffline) || errors.Is(err, ErrReadOnly) || errors.Is(err, ErrZoneFull) ||
		errors.Is(err, ErrInvalidTransition)
}
