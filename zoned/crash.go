package zoned

import (
	"fmt"
	"math/rand/v2"

	"golang.org/x/sys/unix"
)

// CrashOptions shapes a simulated power cut.
type CrashOptions struct {
	// TearLastWrite keeps a prefix of the last write's blocks, chosen by
	// Rand, if that write was not yet synced: the drive was part way through
	// it when the power went. Writes before it in the same zone that were not
	// synced survive too (the drive had flushed them); every other unsynced
	// write is dropped.
	TearLastWrite bool
	// Rand chooses the torn prefix; nil means a fixed seed of 1.
	Rand *rand.Rand
}

// CrashReport says what a Crash kept of the unsynced writes.
type CrashReport struct {
	// TornZone is the zone of the torn write, or -1 if none was torn.
	TornZone int
	// TornOffset is where the torn write started.
	TornOffset int64
	// KeptBytes is how many bytes of the torn write survived (a whole
	// number of blocks, less than the write's length).
	KeptBytes int64
}

// Crash simulates a power cut. It waits for operations in flight, then puts
// the file in the state a drive would come back in: every write not synced
// is gone (except a torn prefix of the last one, if asked), open zones come
// back closed. The Emulator is unusable afterwards (ErrCrashed); open the
// path again with OpenEmulator to see what survived. It can be called from
// tests in the same process as the code under test.
func (e *Emulator) Crash(opts CrashOptions) (CrashReport, error) {
	e.ioMu.Lock()
	defer e.ioMu.Unlock()
	report := CrashReport{TornZone: -1}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped != nil {
		return report, &Error{Op: "crash", Path: e.info.Path, Zone: -1, Offset: -1, Kind: e.stopped,
			Detail: "the device is already stopped"}
	}
	e.stopped = ErrCrashed
	defer e.data.Close()
	defer e.meta.Close()

	bs := int64(e.info.LogicalBlockSize)
	rng := opts.Rand
	if rng == nil {
		rng = rand.New(rand.NewPCG(1, 1))
	}
	// keep is how many bytes of the last write survive.
	keep := int64(0)
	last := e.last
	if opts.TearLastWrite && last.n > 0 {
		keep = bs * rng.Int64N(last.n/bs)
	}

	// Conventional zones: put back what unsynced writes overwrote.
	for off, old := range e.undo {
		if opts.TearLastWrite && off >= last.off && off < last.off+keep {
			continue
		}
		if _, err := e.data.WriteAt(old, e.dataOff+off); err != nil {
			return report, e.crashErr(err)
		}
	}
	if len(e.undo) > 0 && opts.TearLastWrite && last.zone < e.info.ConventionalZones && keep > 0 {
		report = CrashReport{TornZone: last.zone, TornOffset: last.off, KeptBytes: keep}
	}
	e.undo = nil

	// Sequential zones: the write pointer goes back to the last synced one.
	var zones []int
	var states []durableZone
	if opts.TearLastWrite && last.zone >= e.info.ConventionalZones {
		z := &e.table.zones[last.zone]
		synced := e.synced[last.zone]
		syncedEnd := z.Start + synced.dataEnd
		if last.off+last.n > syncedEnd && last.off >= syncedEnd && synced.cond != CondFull &&
			synced.cond != CondReadOnly && synced.cond != CondOffline {
			d := durableZone{dataEnd: last.off + keep - z.Start, cond: CondClosed}
			if d.dataEnd == 0 {
				d.cond = CondEmpty
			}
			zones, states = append(zones, last.zone), append(states, d)
			e.synced[last.zone] = d
			report = CrashReport{TornZone: last.zone, TornOffset: last.off, KeptBytes: keep}
		}
	}
	if err := e.writeRecords(zones, states); err != nil {
		return report, e.crashErr(err)
	}
	if err := unix.Fdatasync(int(e.data.Fd())); err != nil {
		return report, e.crashErr(err)
	}
	return report, nil
}

func (e *Emulator) crashErr(err error) error {
	return &Error{Op: "crash", Path: e.info.Path, Zone: -1, Offset: -1, Kind: ErrIO, Err: err,
		Detail: fmt.Sprintf("could not write the post-crash state of %s; remove and recreate it", e.info.Path)}
}
