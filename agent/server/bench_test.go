package server

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/shingle-storage/shingle/agent/datapath"
	"io"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/shingle-storage/shingle/agent/extent"
	"github.com/shingle-storage/shingle/agent/record"
	agentv1 "github.com/shingle-storage/shingle/api/agent/v1"
)

// BenchmarkAPI measures blob puts and gets through the agent's API: 16
// clients, each with a connection of its own (the data path's transport,
// datapath.NewTransport: HTTP/1.1 over TLS 1.3 with client certificates,
// on loopback), against one in-process agent on three
// emulated drives (files on local disk, 256 MiB zones, 4 per extent, as
// the agent's defaults), spreading blobs over the drives. Each client
// sends a put's CRC32C and checks a get's. The same number of puts or gets
// are then done in-process, straight on the drives' stores, by 16
// goroutines in the same run (half before the API's, half after), and
// api-ratio is the API's bandwidth over theirs. Puts fill extents and seal
// full ones in the background, through the API or the store; gets read
// blobs put beforehand (at most 384 MiB of them, read round and round).
// Both sides run with the processors the agent's main gives itself (Procs:
// twice GOMAXPROCS), whatever -cpu says.
//
//	go test -run '^$' -bench BenchmarkAPI -benchtime 2s ./agent/server/
//
// Metrics: MB/s (10^6 bytes of blob data per second through the API),
// direct-MB/s (in-process) and api-ratio; api-cpu-s/GB and
// direct-cpu-s/GB are the CPU time the process spent per 10^9 bytes on
// each side (clients and agent together for the API), which varies less
// than bandwidth on a shared machine. -args -api.h2 runs the clients over
// HTTP/2 instead.
func BenchmarkAPI(b *testing.B) {
	for _, op := range []string{"put", "get"} {
		for _, size := range []int{4 << 10, 1 << 20, 4 << 20} {
			b.Run(fmt.Sprintf("op=%s/size=%s", op, sizeName(size)), func(b *testing.B) { benchAPI(b, op, size) })
		}
	}
}

var benchH2 = flag.Bool("api.h2", false, "BenchmarkAPI: clients speak HTTP/2 rather than HTTP/1.1")

const (
	benchClients = 16
	benchDrives  = 3
	benchZone    = 256 << 20
	benchPerExt  = 4
	// benchGetSet bounds the bytes of blobs gets read from.
	benchGetSet = 384 << 20
)

func sizeName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dKiB", n>>10)
}

func benchAPI(b *testing.B, op string, size int) {
	// The processors the agent's main gives itself (see Procs), for the
	// API's side and the in-process side alike.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(Procs(runtime.GOMAXPROCS(0))))
	n := b.N
	rec := int64(record.Size(size, 4096))
	// Room for both phases' records, the extents they leave part full,
	// and the reserved zones and the extent kept free.
	blobs := int64(n)
	if op == "get" {
		blobs = min(blobs, max(benchGetSet/int64(size), benchClients))
	}
	perDrive := 2 * (blobs/benchDrives + 1) * rec
	extents := perDrive/(benchZone*benchPerExt) + 8
	e := newTestEnv(b, DevDrives{Count: benchDrives, Size: (4 + extents*benchPerExt) * benchZone,
		ZoneSize: benchZone, ZonesPerExtent: benchPerExt})
	clients := make([]*http.Client, benchClients)
	for i := range clients {
		clients[i] = e.newClient(*benchH2)
	}
	data := randomBytes(size)
	crc := datapath.FormatCRC32C(data)
	ctx := context.Background()

	var apiOp, directOp func(c, i int) error
	switch op {
	case "put":
		api, direct := make([]*benchFiller, benchDrives), make([]*benchFiller, benchDrives)
		for i, d := range e.drives {
			api[i] = newBenchFiller(b, func() (uint64, error) {
				r, err := e.ctl.CreateExtent(ctx, connect.NewRequest(&agentv1.CreateExtentRequest{Drive: d.ID}))
				return r.Msg.GetExtent().GetId(), err
			}, func(id uint64) error {
				_, err := e.ctl.SealExtent(ctx, connect.NewRequest(&agentv1.SealExtentRequest{Drive: d.ID, Extent: id}))
				return err
			})
			direct[i] = newBenchFiller(b, d.Store.CreateExtent, func(id uint64) error { return d.Store.Seal(ctx, id) })
		}
		defer func() {
			for i := range e.drives {
				api[i].wait()
				direct[i].wait()
			}
		}()
		apiOp = func(c, i int) error {
			d := i % benchDrives
			path := func(ext uint64) string { return datapath.BlobPath(e.drives[d].ID, ext, benchKey(1, i)) }
			return api[d].put(func(ext uint64) (bool, error) {
				req, err := http.NewRequestWithContext(ctx, "PUT", e.base+path(ext), bytes.NewReader(data))
				if err != nil {
					return false, err
				}
				req.Header.Set(datapath.HeaderCRC32C, datapath.FormatCRC32C(data))
				resp, err := clients[c].Do(req)
				if err != nil {
					return false, err
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusCreated:
					return false, nil
				case http.StatusInsufficientStorage, http.StatusConflict:
					return true, nil // full or sealed: on to the next extent
				}
				return false, fmt.Errorf("PUT: %s %s", resp.Status, body)
			})
		}
		directOp = func(c, i int) error {
			d := i % benchDrives
			return direct[d].put(func(ext uint64) (bool, error) {
				_, err := e.drives[d].Store.Put(ctx, ext, benchKey(2, i), data)
				if errors.Is(err, extent.ErrFull) || errors.Is(err, extent.ErrSealed) {
					return true, nil
				}
				return false, err
			})
		}
	case "get":
		// Blobs to read, put in-process beforehand.
		fill := make([]*benchFiller, benchDrives)
		for i, d := range e.drives {
			fill[i] = newBenchFiller(b, d.Store.CreateExtent, func(id uint64) error { return d.Store.Seal(ctx, id) })
		}
		if err := parallel(int(blobs), func(_, i int) error {
			d := i % benchDrives
			return fill[d].put(func(ext uint64) (bool, error) {
				_, err := e.drives[d].Store.Put(ctx, ext, benchKey(0, i), data)
				if errors.Is(err, extent.ErrFull) || errors.Is(err, extent.ErrSealed) {
					return true, nil
				}
				return false, err
			})
		}); err != nil {
			b.Fatal(err)
		}
		for _, f := range fill {
			f.wait()
		}
		apiOp = func(c, i int) error {
			k := i % int(blobs)
			path := datapath.BlobPath(e.drives[k%benchDrives].ID, 0, benchKey(0, k))
			req, err := http.NewRequestWithContext(ctx, "GET", e.base+path, nil)
			if err != nil {
				return err
			}
			resp, err := clients[c].Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			buf := bufs.get(size)
			defer bufs.put(buf)
			if _, err := io.ReadFull(resp.Body, buf); err != nil || resp.StatusCode != http.StatusOK {
				return fmt.Errorf("GET: %s: %v", resp.Status, err)
			}
			if got := datapath.FormatCRC32C(buf); got != resp.Header.Get(datapath.HeaderCRC32C) || got != crc {
				return fmt.Errorf("GET: CRC32C %s, header %s, put %s", got, resp.Header.Get(datapath.HeaderCRC32C), crc)
			}
			return nil
		}
		directOp = func(c, i int) error {
			k := i % int(blobs)
			_, err := e.drives[k%benchDrives].Store.Get(ctx, benchKey(0, k))
			return err
		}
	}

	// In-process, half before and half after the API, so that neither
	// side alone gets the drives fresh.
	run := func(from, to int, fn func(c, i int) error) (wall, cpu time.Duration) {
		start, cpu0 := time.Now(), cpuTime()
		if err := parallelRange(from, to, fn); err != nil {
			b.Fatal(err)
		}
		return time.Since(start), cpuTime() - cpu0
	}
	direct, directCPU := run(0, n/2, directOp)
	b.ResetTimer()
	api, apiCPU := run(0, n, apiOp)
	b.StopTimer()
	wall, cpu := run(n/2, n, directOp)
	direct, directCPU = direct+wall, directCPU+cpu

	mb := float64(n) * float64(size) / 1e6
	apiRate, directRate := mb/api.Seconds(), mb/direct.Seconds()
	b.ReportMetric(apiRate, "MB/s")
	b.ReportMetric(directRate, "direct-MB/s")
	b.ReportMetric(apiRate/directRate, "api-ratio")
	b.ReportMetric(apiCPU.Seconds()/(mb/1e3), "api-cpu-s/GB")
	b.ReportMetric(directCPU.Seconds()/(mb/1e3), "direct-cpu-s/GB")
}

// parallel runs fn(client, i) for i in [0, n) on benchClients goroutines.
func parallel(n int, fn func(c, i int) error) error { return parallelRange(0, n, fn) }

// parallelRange runs fn(client, i) for i in [from, to) on benchClients
// goroutines and returns the first error.
func parallelRange(from, to int, fn func(c, i int) error) error {
	var next atomic.Int64
	next.Store(int64(from))
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for c := range benchClients {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= to {
					return
				}
				if err := fn(c, i); err != nil {
					once.Do(func() { first = err })
					next.Store(int64(to))
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// benchKey is blob i's key in one of the benchmark's sets.
func benchKey(set byte, i int) record.Key {
	var k record.Key
	for j := range 8 {
		k[j] = byte(i >> (8 * j))
	}
	k[30], k[31] = set, 0xbe
	return k
}

// benchFiller puts into one drive's current open extent, opening another
// when it is full and sealing the full one in the background, as a writer
// of the fleet would.
type benchFiller struct {
	tb     testing.TB
	create func() (uint64, error)
	seal   func(uint64) error
	mu     sync.Mutex
	cur    uint64
	seals  sync.WaitGroup
}

func newBenchFiller(tb testing.TB, create func() (uint64, error), seal func(uint64) error) *benchFiller {
	id, err := create()
	if err != nil {
		tb.Fatal(err)
	}
	return &benchFiller{tb: tb, create: create, seal: seal, cur: id}
}

// put calls try with the current extent until it reports the blob stored
// (false, nil) or fails.
func (f *benchFiller) put(try func(ext uint64) (full bool, err error)) error {
	for {
		f.mu.Lock()
		id := f.cur
		f.mu.Unlock()
		full, err := try(id)
		if err != nil || !full {
			return err
		}
		f.mu.Lock()
		if f.cur == id {
			nid, err := f.create()
			if err != nil {
				f.mu.Unlock()
				return fmt.Errorf("opening an extent: %w", err)
			}
			f.cur = nid
			f.seals.Go(func() {
				if err := f.seal(id); err != nil {
					f.tb.Errorf("sealing extent %d: %v", id, err)
				}
			})
		}
		f.mu.Unlock()
	}
}

func (f *benchFiller) wait() { f.seals.Wait() }

// cpuTime is the CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
