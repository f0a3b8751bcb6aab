package iotime

import "fmt"

// Op is a kind of device operation.
type Op int

// The kinds of operation a Device counts.
const (
	// Read is ReadAt.
	Read Op = iota
	// Write is WriteAt.
	Write
	// Sync is Sync: a cache flush.
	Sync
	// Zone is a zone report or a zone management command (reset, open,
	// close, finish).
	Zone
	numOps
)

// Ops lists every Op, in order.
func Ops() []Op { return []Op{Read, Write, Sync, Zone} }

// String names the op: read, write, sync or zone.
func (o Op) String() string {
	switch o {
	case Read:
		return "read"
	case Write:
		return "write"
	case Sync:
		return "sync"
	case Zone:
		return "zone"
	}
	return fmt.Sprintf("op(%d)", int(o))
}

// OpStats are the counters of one kind of operation.
type OpStats struct {
	// Ops counts the operations, failed ones included.
	Ops uint64
	// Bytes counts the bytes read or written by the ones that succeeded
	// (for a write that failed part way, the part the device took).
	Bytes uint64
	// Errors counts the operations that failed with a device error: an
	// I/O error, or a zone that went read-only or offline. Errors that
	// are the caller's (a write off the write pointer, an unaligned
	// buffer) are not counted.
	Errors uint64
	// Latency times every operation, failed ones included.
	Latency Latency
}

// Sub returns the operations counted since the earlier reading old.
func (s OpStats) Sub(old OpStats) OpStats {
	return OpStats{
		Ops:     sub(s.Ops, old.Ops),
		Bytes:   sub(s.Bytes, old.Bytes),
		Errors:  sub(s.Errors, old.Errors),
		Latency: s.Latency.Sub(old.Latency),
	}
}

func sub(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}

// Stats are a Device's counters, by Op.
type Stats [numOps]OpStats

// Of returns the counters of op.
func (s Stats) Of(op Op) OpStats { return s[op] }

// Sub returns the operations counted since the earlier reading old.
func (s Stats) Sub(old Stats) Stats {
	var out Stats
	for i := range s {
		out[i] = s[i].Sub(old[i])
	}
	return out
}

// Errors is the number of device errors of every kind of operation.
func (s Stats) Errors() uint64 {
	var n uint64
	for _, o := range s {
		n += o.Errors
	}
	return n
}
