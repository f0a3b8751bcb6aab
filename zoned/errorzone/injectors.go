package errorzone

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// OnNth fails the nth operation (counting from 1) whose kind is in kinds,
// once. For a write, tornBlocks leading blocks reach the device first.
func OnNth(kinds Kind, n int64, tornBlocks int) Injector {
	var count atomic.Int64
	return InjectorFunc(func(op Op) Fault {
		if op.Kind&kinds == 0 {
			return Fault{}
		}
		if count.Add(1) == n {
			return Fault{Fail: true, TornBlocks: tornBlocks}
		}
		return Fault{}
	})
}

// OnZones fails every operation whose kind is in kinds and that touches a
// zone in [first, first+count): a bad region of the media.
func OnZones(kinds Kind, first, count int) Injector {
	return InjectorFunc(func(op Op) Fault {
		if op.Kind&kinds != 0 && op.Touches(first, count) {
			return Fault{Fail: true}
		}
		return Fault{}
	})
}

// Latency delays every operation whose kind is in kinds by d: a slow drive.
func Latency(kinds Kind, d time.Duration) Injector {
	return InjectorFunc(func(op Op) Fault {
		if op.Kind&kinds != 0 {
			return Fault{Delay: d}
		}
		return Fault{}
	})
}

// Randomly fails operations whose kind is in kinds with probability p,
// using a generator seeded with seed so a failing run can be replayed.
// Failed writes keep a random prefix of their blocks (a torn write).
func Randomly(kinds Kind, p float64, seed uint64) Injector {
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	return InjectorFunc(func(op Op) Fault {
		if op.Kind&kinds == 0 {
			return Fault{}
		}
		mu.Lock()
		defer mu.Unlock()
		if rng.Float64() >= p {
			return Fault{}
		}
		f := Fault{Fail: true}
		if op.Kind == Write && op.Len >= op.BlockSize && op.BlockSize > 0 {
			f.TornBlocks = rng.IntN(op.Len / op.BlockSize)
		}
		return f
	})
}

// All combines injectors: delays add up, and the first one that fails the
// operation decides how.
func All(injectors ...Injector) Injector {
	return InjectorFunc(func(op Op) Fault {
		var out Fault
		for _, inj := range injectors {
			f := inj.Inject(op)
			out.Delay += f.Delay
			if f.Fail && !out.Fail {
				out.Fail, out.TornBlocks = true, f.TornBlocks
			}
		}
		return out
	})
}

// FlipByte returns an injector that corrupts every read covering device
// offset at: the byte there comes back with its bits inverted, as bit rot
// on the medium would, while the read itself succeeds.
func FlipByte(at int64) Injector {
	return InjectorFunc(func(op Op) Fault {
		if op.Kind == Read {
			return Fault{Flip: at}
		}
		return Fault{}
	})
}
