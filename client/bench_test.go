package client_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"golang.org/x/sys/unix"

	"github.com/shingle-storage/shingle/agent/extent"
	"github.com/shingle-storage/shingle/agent/record"
	agentserver "github.com/shingle-storage/shingle/agent/server"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/client"
	"github.com/shingle-storage/shingle/fleetd/state"
	"github.com/shingle-storage/shingle/zoned"
	"github.com/shingle-storage/shingle/zoned/zonedtest"
)

// The durability benchmarks run a whole fleet in one process (startFleet:
// fleetd, an agent per host on an emulated zoned drive, clients, all on
// real sockets with mutual TLS) and report their speed against the
// physical limit measured in the same run, on the same filesystem, before
// the fleet starts: the agents' extent stores driven directly
// (BenchmarkEndToEnd) or a raw read of drive files (BenchmarkRepair).
// Everything shares the machine's cores: clients, agents and fleetd in the
// fleet; only the stores in the baseline.
//
//	go test -run '^$' -bench 'BenchmarkEndToEnd|BenchmarkEncode|BenchmarkRepair' -benchtime 1x ./client/
//
// Each also reports cpu-s/GB, the CPU time the process spent per 10^9
// bytes of payload (or of volume image, or rebuilt), which varies less
// than bandwidth on a shared machine.

const (
	// benchClients is how many clients put or get at once.
	benchClients = 16
	// benchRound is the payload one BenchmarkEndToEnd iteration puts or
	// gets: enough for a few hundred latency samples at 1 MiB, and a few
	// seconds of work.
	benchRound = 256 << 20
	// benchE2EZone is the zone size of BenchmarkEndToEnd's drives; its
	// volumes are at least 4 zones (an extent as the agents default to).
	benchE2EZone = 64 << 20
	// benchE2EOpen is how many volumes fleetd keeps open for its leases
	// in BenchmarkEndToEnd: 16 clients lease 4 each, so they fill evenly.
	benchE2EOpen = 4
	// benchE2EHosts is the size of BenchmarkEndToEnd's fleet.
	benchE2EHosts = 12
	// benchCodedZone and benchCodedZones make the volumes of
	// BenchmarkEncode and BenchmarkRepair: 64 MiB, 4 zones of 16 MiB.
	benchCodedZone  = 16 << 20
	benchCodedZones = 4
	// benchFillBlob is the blob size volumes are filled with before they
	// are encoded; benchFill the share of a volume filled (the rest is
	// the records' headers and room to spare, so that no put finds the
	// volume full and it is never sealed before the benchmark seals it).
	benchFillBlob = 1 << 20
	benchFill     = 0.9
	// benchPoll is how often the benchmarks poll fleetd for a volume's
	// state or a repair's progress; it bounds their timing error.
	benchPoll = 20 * time.Millisecond
)

// BenchmarkEndToEnd measures blob puts and gets through the client
// package against a fleet of 12 hosts (RS(6,3), though nothing is sealed
// or encoded here): 16 clients, each a client.Client of its own as 16
// frontends would be, with 4 open volumes of 3 replicas that each take
// the puts of 4 clients. The volumes are big enough (256 MiB or more, 64
// MiB zones) that none fills, so no put meets a full volume and fleetd
// seals and encodes nothing meanwhile; agents scrub nothing (the fleet's
// shape turns the scrub cadence off).
//
// One iteration (ns/op) is a round of 256 MiB of payload: 256 blobs of 1
// MiB or 64 of 4 MiB, the clients taking equal shares (so at -benchtime
// 1x the p99 of 4 MiB blobs is the slowest of 64). op=put puts fresh
// blobs, each acknowledged once all 3 replicas have it durable; op=get
// reads blobs at random from a set of 256 MiB put beforehand (into
// replicated volumes: a get is one blob read from one replica). Each
// client warms up first (a lease, connections to the agents, the
// volumes' locations), out of the timer.
//
// Metrics: MB/s (10^6 bytes of payload per second), p50-ms and p99-ms
// (the latency of one Put or Get), and store-ratio. Before the fleet
// starts, as many fresh emulated drives as it has hosts (the same
// agentserver.DevDrives, geometry and filesystem as the agents') are
// opened in-process and their extent stores do the same device work with
// 16 goroutines: for op=put, 3 Store.Put of the blob size per blob put
// (one per replica), spread over the drives; for op=get, one Store.Get
// per blob got, from a set of the same size put beforehand. store-MB/s is
// the stores' device bytes per second, and store-ratio the fleet's device
// bytes per second (payload × 3 for puts, × 1 for gets) over it: 1.0
// means the fleet gets blobs on and off the drives as fast as the agents'
// stores alone can; the rest is the price of the clients, TLS, HTTP and
// the agents' request handling (on the same cores as the stores), and of
// waiting for the slowest of 3 replicas.
//
//	go test -run '^$' -bench BenchmarkEndToEnd -benchtime 3x ./client/
func BenchmarkEndToEnd(b *testing.B) {
	for _, op := range []string{"put", "get"} {
		for _, size := range []int{1 << 20, 4 << 20} {
			b.Run(fmt.Sprintf("op=%s/size=%s", op, benchSizeName(size)), func(b *testing.B) { benchEndToEnd(b, op, size) })
		}
	}
}

func benchSizeName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dKiB", n>>10)
}

func benchEndToEnd(b *testing.B, op string, size int) {
	perRound := benchRound / size
	n := b.N * perRound // Puts or Gets timed
	replicas := 1
	stored := perRound // blobs put before the gets
	if op == "put" {
		replicas, stored = 3, n
	}
	// Volumes that hold every blob put with a quarter to spare (the
	// records' headers, the warm-up blobs, clients that do not keep
	// exactly in step), on drives with room for several volumes' extents
	// besides, as placement does not balance exactly, and for the
	// baseline's share of the puts.
	rec := int64(record.Size(size, 4096))
	zones := max(4, int(math.Ceil(float64(int64(stored)*rec)*1.25/float64(benchE2EOpen*benchE2EZone))))
	shape := fleetShape{hosts: benchE2EHosts, code: state.RS(6, 3), zone: benchE2EZone, zonesPerExtent: zones,
		driveBytes: benchE2EZone * int64(4+6*zones), openVolumes: benchE2EOpen, noScrub: true}.withDefaults()

	data := make([][]byte, benchClients)
	for c := range data {
		data[c] = benchBytes(size, uint64(c))
	}
	pick := func(i int) int { return int(rand.New(rand.NewPCG(uint64(i), 7)).Int64N(int64(perRound))) }

	// The stores alone first, before the fleet's agents, fleetd and their
	// background work start.
	b.StopTimer()
	storeTime := benchStores(b, shape, op, data, n*replicas, perRound, pick)

	f := startFleet(b, shape)
	clients := make([]*client.Client, benchClients)
	ctx := context.Background()
	for c := range clients {
		clients[c] = f.newClient()
		// One at a time, so that the first leases create the open volumes
		// and the rest share them out evenly.
		if _, err := clients[c].Put(ctx, data[c][:4096]); err != nil {
			b.Fatal(err)
		}
	}
	var locs []client.Locator
	if op == "get" {
		locs = make([]client.Locator, perRound)
		if err := benchParallel(perRound, func(c, i int) error {
			l, err := clients[c].Put(ctx, data[c])
			locs[i] = l
			return err
		}); err != nil {
			b.Fatal(err)
		}
		for _, c := range clients {
			seen := map[uint64]bool{}
			for _, l := range locs {
				if !seen[l.Volume] {
					seen[l.Volume] = true
					if _, err := c.Get(ctx, l); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
	}

	lat := make([]time.Duration, n)
	fn := func(c, i int) error {
		t0 := time.Now()
		if op == "put" {
			if _, err := clients[c].Put(ctx, data[c]); err != nil {
				return err
			}
		} else {
			got, err := clients[c].Get(ctx, locs[pick(i)])
			if err != nil {
				return err
			}
			if len(got) != size {
				return fmt.Errorf("get: %d bytes, put %d", len(got), size)
			}
		}
		lat[i] = time.Since(t0)
		return nil
	}
	cpu0 := benchCPU()
	b.ResetTimer()
	b.StartTimer()
	start := time.Now()
	err := benchParallel(n, fn)
	elapsed := time.Since(start)
	b.StopTimer()
	cpu := benchCPU() - cpu0
	if err != nil {
		b.Fatal(err)
	}
	// A volume sealed during the puts means some put met a full volume
	// and fleetd encoded it meanwhile: the numbers include that work.
	for _, v := range f.volumes() {
		if v.GetState() != "open" {
			b.Logf("volume %d is %s: it filled during the benchmark, which then included its sealing and encoding", v.GetId(), v.GetState())
		}
	}

	payload := float64(n) * float64(size)
	device := payload * float64(replicas)
	b.ReportMetric(payload/elapsed.Seconds()/1e6, "MB/s")
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1e3, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1e3, "p99-ms")
	storeMBps := device / storeTime.Seconds() / 1e6
	b.ReportMetric(storeMBps, "store-MB/s")
	b.ReportMetric(device/elapsed.Seconds()/1e6/storeMBps, "store-ratio")
	b.ReportMetric(cpu.Seconds()/(payload/1e9), "cpu-s/GB")
}

// benchParallel runs fn(client, i) for i in [0, n) on benchClients
// goroutines, client c doing the i with i%benchClients == c (so each client
// puts the same share, and the volumes they lease fill evenly). It returns
// the first error and stops the others' work at it.
func benchParallel(n int, fn func(c, i int) error) error {
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	var stop atomic.Bool
	for c := range benchClients {
		wg.Go(func() {
			for i := c; i < n && !stop.Load(); i += benchClients {
				if err := fn(c, i); err != nil {
					once.Do(func() { first = err })
					stop.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// benchStores is BenchmarkEndToEnd's baseline: it opens as many fresh
// drives as the fleet has hosts, with the fleet's geometry, in a temporary
// directory, and times ops Store.Put (op put) or Store.Get (op get) of
// blobs of data's size from benchClients goroutines, blob i on drive i
// modulo the count. Gets read blob pick(i) of a set of set blobs put
// beforehand. The drives are closed and removed before it returns.
func benchStores(b *testing.B, shape fleetShape, op string, data [][]byte, ops, set int, pick func(int) int) time.Duration {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "stores")
	defer os.RemoveAll(dir)
	drives, err := agentserver.DevDrives{Dir: dir, Count: shape.hosts, Size: shape.driveBytes, ZoneSize: shape.zone,
		ZonesPerExtent: shape.zonesPerExtent}.Open(quiet())
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		for _, d := range drives {
			_ = d.Close()
		}
	}()
	fillers := make([]*storeFiller, len(drives))
	for i, d := range drives {
		fillers[i] = newStoreFiller(b, d.Store)
	}
	put := func(c, i int) error { return fillers[i%len(drives)].put(benchStoreKey(i), data[c]) }
	var elapsed time.Duration
	switch op {
	case "put":
		start := time.Now()
		err = benchParallel(ops, put)
		elapsed = time.Since(start)
	case "get":
		if err := benchParallel(set, put); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		err = benchParallel(ops, func(c, i int) error {
			k := pick(i)
			got, err := drives[k%len(drives)].Store.Get(context.Background(), benchStoreKey(k))
			if err == nil && len(got) != len(data[c]) {
				err = fmt.Errorf("store get: %d bytes, put %d", len(got), len(data[c]))
			}
			return err
		})
		elapsed = time.Since(start)
	}
	for _, f := range fillers {
		f.wait()
	}
	if err != nil {
		b.Fatal(err)
	}
	return elapsed
}

// benchStoreKey is blob i's key in the baseline's stores.
func benchStoreKey(i int) record.Key {
	var k record.Key
	for j := range 8 {
		k[j] = byte(i >> (8 * j))
	}
	k[31] = 0xbe
	return k
}

// storeFiller puts into one store's current open extent, opening another
// when it is full and sealing the full one in the background, as the
// agent's writers (volumes) would.
type storeFiller struct {
	tb    testing.TB
	s     *extent.Store
	mu    sync.Mutex
	cur   uint64
	seals sync.WaitGroup
}

func newStoreFiller(tb testing.TB, s *extent.Store) *storeFiller {
	id, err := s.CreateExtent()
	if err != nil {
		tb.Fatal(err)
	}
	return &storeFiller{tb: tb, s: s, cur: id}
}

// put stores data under key in the current extent, moving on to a new one
// when it is full.
func (f *storeFiller) put(key record.Key, data []byte) error {
	ctx := context.Background()
	for {
		f.mu.Lock()
		id := f.cur
		f.mu.Unlock()
		_, err := f.s.Put(ctx, id, key, data)
		if !errors.Is(err, extent.ErrFull) && !errors.Is(err, extent.ErrSealed) {
			return err
		}
		f.mu.Lock()
		if f.cur == id {
			nid, err := f.s.CreateExtent()
			if err != nil {
				f.mu.Unlock()
				return fmt.Errorf("opening an extent: %w", err)
			}
			f.cur = nid
			f.seals.Go(func() {
				if err := f.s.Seal(ctx, id); err != nil {
					f.tb.Errorf("sealing extent %d: %v", id, err)
				}
			})
		}
		f.mu.Unlock()
	}
}

func (f *storeFiller) wait() { f.seals.Wait() }

// BenchmarkEncode measures erasure coding through fleetd's own path: each
// iteration fills 4 fresh volumes of 64 MiB (4 zones of 16 MiB) to 90%
// with blobs of 1 MiB, out of the timer, then seals them (SealVolume) and
// times until fleetd lists all four encoded (polled every 20 ms).
// fleetd encodes one volume at a time: it reads the live blobs of one
// replica, builds and encodes the image, writes the shards (chunks of 256
// KiB, all shards at once), reads every chunk back, decodes every stripe
// from k shards and checks every blob, records the encoding and deletes
// the replicas. The time includes the wait for fleetd's next round of
// background work (every 300 ms here) after the seal.
//
// Metrics: MB/s is 10^6 bytes of volume image (the blobs put) encoded per
// second; volumes is how many one iteration encodes. RS(6,3) runs on 12
// hosts, LRC(12,2,2) (16 shards) on 18.
func BenchmarkEncode(b *testing.B) {
	for _, code := range []state.Scheme{state.RS(6, 3), state.LRC(12, 2, 2)} {
		b.Run("scheme="+code.String(), func(b *testing.B) { benchEncode(b, code) })
	}
}

// benchEncodeVolumes is how many volumes one BenchmarkEncode iteration
// encodes.
const benchEncodeVolumes = 4

func benchEncode(b *testing.B, code state.Scheme) {
	hosts := max(12, code.Width()+2)
	f := startFleet(b, codedShape(hosts, code, b.N*benchEncodeVolumes, benchEncodeVolumes))
	var image int64
	var timed, cpu time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		vols := f.fillVolumes(benchEncodeVolumes)
		cpu0 := benchCPU()
		b.StartTimer()
		start := time.Now()
		f.encode(vols)
		timed += time.Since(start)
		b.StopTimer()
		cpu += benchCPU() - cpu0
		for _, n := range vols {
			image += n
		}
	}
	b.ReportMetric(float64(image)/timed.Seconds()/1e6, "MB/s")
	b.ReportMetric(benchEncodeVolumes, "volumes")
	b.ReportMetric(cpu.Seconds()/(float64(image)/1e9), "cpu-s/GB")
}

// codedShape is the fleet of BenchmarkEncode and BenchmarkRepair: 64 MiB
// volumes, filled perFill at a time (fleetd keeps as many open, so that
// each filling client's first lease creates a volume of its own), on
// drives with extent slots for every member of volumes volumes (replicas
// and shards) spread over hosts drives, twice over as placement does not
// balance exactly, and the store's reserved zones.
func codedShape(hosts int, code state.Scheme, volumes, perFill int) fleetShape {
	perDrive := (volumes*(3+code.Width()) + hosts - 1) / hosts
	slots := 4 + 2*perDrive
	return fleetShape{hosts: hosts, code: code, zone: benchCodedZone, zonesPerExtent: benchCodedZones,
		driveBytes: benchCodedZone * int64(4+benchCodedZones*slots), openVolumes: perFill, noScrub: true}
}

// fillVolumes puts blobs of benchFillBlob bytes into n fresh volumes until
// each holds benchFill of its size, and returns the volumes with the bytes
// of blobs each holds. Each volume is filled by a client of its own (its
// first lease creates the volume), 4 puts at a time.
func (f *fleet) fillVolumes(n int) map[uint64]int64 {
	f.t.Helper()
	perVolume := int(float64(f.shape.volumeBytes()) * benchFill / float64(record.Size(benchFillBlob, 4096)))
	out := map[uint64]int64{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for v := range n {
		c := f.newClient()
		// The first put takes the lease: it must see the volumes the
		// earlier clients created, so that this one creates its own.
		first := benchBytes(benchFillBlob, uint64(v))
		l, err := c.Put(context.Background(), first)
		if err != nil {
			f.t.Fatal(err)
		}
		if _, ok := out[l.Volume]; ok {
			f.t.Fatalf("client %d leased volume %d, already another's; want a volume each", v, l.Volume)
		}
		out[l.Volume] = benchFillBlob
		var next atomic.Int64
		next.Store(1)
		for w := range 4 {
			wg.Go(func() {
				blob := benchBytes(benchFillBlob, uint64(v<<8|w))
				for next.Add(1) <= int64(perVolume) {
					got, err := c.Put(context.Background(), blob)
					if err == nil && got.Volume != l.Volume {
						err = fmt.Errorf("a put of client %d went to volume %d, not its volume %d", v, got.Volume, l.Volume)
					}
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					out[l.Volume] += benchFillBlob
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		f.t.Fatal(err)
	}
	return out
}

// encode seals the volumes and waits until fleetd has encoded them all.
func (f *fleet) encode(vols map[uint64]int64) {
	f.t.Helper()
	for id := range vols {
		if _, err := f.vols.SealVolume(context.Background(), connect.NewRequest(&fleetv1.SealVolumeRequest{Id: id})); err != nil {
			f.t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		left := 0
		for _, v := range f.volumes() {
			if _, ok := vols[v.GetId()]; ok && v.GetState() != "encoded" {
				left++
			}
		}
		if left == 0 {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("%d of %d volumes still not encoded after 5 minutes", left, len(vols))
		}
		time.Sleep(benchPoll)
	}
}

// BenchmarkRepair measures the rebuild of a dead drive's shards through
// fleetd's own path. Out of the timer, 6 volumes of 64 MiB are filled to
// 90% with blobs of 1 MiB, sealed and encoded; then each iteration fails
// the drive of the host holding the most shards (every zone offline, as
// failDrive does) and times until no volume has a member on it and the
// repair queue is empty (polled every 20 ms). In that time the agent's
// health monitor finds the drive dead and reports it, fleetd marks it
// failed and rebuilds its shards one at a time, each chunk (256 KiB) by
// chunk from the shards the code's repair plan names (k for RS; the 6 of
// a local group for an LRC data shard or local parity, 12 for a global
// parity), onto drives of other hosts. The fleet has the code's width
// plus one host per iteration plus one, so that every rebuilt shard finds
// a host that holds none of its volume. RS(6,3) and LRC(12,2,2).
//
// Metrics:
//
//   - GB/s is 10^9 bytes rebuilt (GetRepairStatus repaired_bytes) per
//     second from the drive's failure to the end of its repair;
//     detect-s is the part of that before fleetd starts repairing (the
//     agent's health check, a heartbeat and fleetd's next round), and
//     rebuild-GB/s the rate over the rest.
//   - reads is the mean number of shards each rebuilt shard was read
//     from (GetRepairStatus recent_reads).
//   - read-ratio is the rebuild's read bandwidth, rebuild-GB/s × reads,
//     over raw-read-MB/s: the read bandwidth the surviving drives could
//     supply, measured before the fleet starts as the aggregate of one
//     sequential reader per file (8 MiB blocks, O_DIRECT as the emulated
//     drives use it) over as many files as the fleet has drives left
//     after the first failure, each written with 64 MiB (an extent) on
//     the same filesystem. The emulated drives share one disk, so this is
//     that disk's read bandwidth under as many readers. 1.0 would be a
//     rebuild limited only by reading.
func BenchmarkRepair(b *testing.B) {
	for _, code := range []state.Scheme{state.RS(6, 3), state.LRC(12, 2, 2)} {
		b.Run("scheme="+code.String(), func(b *testing.B) { benchRepair(b, code) })
	}
}

// benchRepairVolumes is how many volumes BenchmarkRepair encodes before
// it fails drives.
const benchRepairVolumes = 6

func benchRepair(b *testing.B, code state.Scheme) {
	hosts := code.Width() + b.N + 1
	shape := codedShape(hosts, code, benchRepairVolumes, benchRepairVolumes).withDefaults()
	b.StopTimer()
	rawMBps := benchRawRead(b, hosts-1, shape.volumeBytes())
	f := startFleet(b, shape)
	f.encode(f.fillVolumes(benchRepairVolumes))

	var rebuilt, read float64
	var total, detect time.Duration
	var cpu time.Duration
	var failed []string
	b.ResetTimer()
	for range b.N {
		victim := f.busiestHost(failed...)
		before := f.repairStatus()
		cpu0 := benchCPU()
		b.StartTimer()
		start := time.Now()
		f.failDrive(victim)
		began := f.waitRepairDone(victim, before)
		took := time.Since(start)
		b.StopTimer()
		cpu += benchCPU() - cpu0
		f.waitRepaired(victim)
		failed = append(failed, victim)
		after := f.repairStatus()
		bytes := float64(after.GetRepairedBytes() - before.GetRepairedBytes())
		members := int(after.GetRepaired() - before.GetRepaired())
		if members == 0 {
			b.Fatalf("failing %s repaired nothing", victim)
		}
		// recent_reads keeps the last 16 rebuilt members; shards of a
		// volume are the same size, so the mean weighs bytes well enough.
		reads := after.GetRecentReads()
		reads = reads[max(0, len(reads)-members):]
		var sum float64
		for _, r := range reads {
			sum += float64(r)
		}
		rebuilt += bytes
		read += bytes * sum / float64(len(reads))
		total += took
		detect += began.Sub(start)
	}
	rebuildTime := (total - detect).Seconds()
	b.ReportMetric(rebuilt/total.Seconds()/1e9, "GB/s")
	b.ReportMetric(rebuilt/rebuildTime/1e9, "rebuild-GB/s")
	b.ReportMetric(detect.Seconds()/float64(b.N), "detect-s")
	b.ReportMetric(read/rebuilt, "reads")
	b.ReportMetric(rawMBps, "raw-read-MB/s")
	b.ReportMetric(read/rebuildTime/1e6/rawMBps, "read-ratio")
	b.ReportMetric(rebuilt/float64(b.N)/1e6, "MB-rebuilt")
	b.ReportMetric(cpu.Seconds()/(rebuilt/1e9), "cpu-s/GB")
}

// repairStatus asks fleetd what its repairs have done.
func (f *fleet) repairStatus() *fleetv1.GetRepairStatusResponse {
	f.t.Helper()
	res, err := f.vols.GetRepairStatus(context.Background(), connect.NewRequest(&fleetv1.GetRepairStatusRequest{}))
	if err != nil {
		f.t.Fatal(err)
	}
	return res.Msg
}

// busiestHost returns the host, other than those excluded, whose drive
// holds the most volume members.
func (f *fleet) busiestHost(exclude ...string) string {
	f.t.Helper()
	owner := f.drivesOf()
	count := map[string]int{}
	for _, v := range f.volumes() {
		for _, d := range v.GetPlacement() {
			if h := owner[d]; !contains(exclude, h) {
				count[h]++
			}
		}
	}
	best := ""
	for h, n := range count {
		if best == "" || n > count[best] || n == count[best] && h < best {
			best = h
		}
	}
	if best == "" {
		f.t.Fatal("no host holds a volume member")
	}
	return best
}

// waitRepairDone polls fleetd until no volume has a member on host's
// drives and no repair is queued or running, and returns when it first
// saw a repair under way (or done) since before.
func (f *fleet) waitRepairDone(host string, before *fleetv1.GetRepairStatusResponse) time.Time {
	f.t.Helper()
	var began time.Time
	deadline := time.Now().Add(5 * time.Minute)
	for {
		now := time.Now()
		st := f.repairStatus()
		busy := len(st.GetQueued())+len(st.GetRunning()) > 0
		if began.IsZero() && (busy || st.GetRepaired() > before.GetRepaired()) {
			began = now
		}
		if !busy && !began.IsZero() {
			owner := f.drivesOf()
			left := 0
			for _, v := range f.volumes() {
				for _, d := range v.GetPlacement() {
					if owner[d] == host {
						left++
					}
				}
			}
			if left == 0 {
				return began
			}
		}
		if now.After(deadline) {
			f.t.Fatalf("the repair of %s is not done after 5 minutes: %v", host, st)
		}
		time.Sleep(benchPoll)
	}
}

// benchRawRead writes files files of size bytes each in a temporary
// directory (O_DIRECT when the filesystem takes it, as the emulated drives
// do), then reads them all at once, one sequential reader per file in
// blocks of 8 MiB, and returns the aggregate bandwidth in MB/s. The files
// are removed before it returns.
func benchRawRead(b *testing.B, files int, size int64) float64 {
	b.Helper()
	dir := b.TempDir()
	direct := benchDirectIO(b, dir)
	const block = 8 << 20
	buf := zoned.AlignedBuffer(block, 4096)
	for i := range buf {
		buf[i] = byte(i*7 + 1)
	}
	paths := make([]string, files)
	for i := range paths {
		paths[i] = filepath.Join(dir, fmt.Sprintf("raw-%02d", i))
		defer os.Remove(paths[i])
		flags := os.O_RDWR | os.O_CREATE
		if direct {
			flags |= syscall.O_DIRECT
		}
		fh, err := os.OpenFile(paths[i], flags, 0o644)
		if err != nil {
			b.Fatal(err)
		}
		for off := int64(0); off < size; off += block {
			if _, err := fh.WriteAt(buf[:min(block, size-off)], off); err != nil {
				b.Fatal(err)
			}
		}
		if err := unix.Fdatasync(int(fh.Fd())); err != nil {
			b.Fatal(err)
		}
		fh.Close()
	}
	errs := make([]error, files)
	var wg sync.WaitGroup
	start := time.Now()
	for i, p := range paths {
		wg.Go(func() { _, errs[i] = zonedtest.RawRead(p, 0, size, block, direct) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	return float64(files) * float64(size) / elapsed.Seconds() / 1e6
}

// benchDirectIO reports whether emulated drives in dir use O_DIRECT.
func benchDirectIO(b *testing.B, dir string) bool {
	b.Helper()
	path := filepath.Join(dir, "probe.zoned")
	defer os.Remove(path)
	dev, err := zoned.CreateEmulator(path, zoned.EmulatorConfig{ZoneSize: 1 << 20, ZoneCount: 4})
	if err != nil {
		b.Fatal(err)
	}
	defer dev.Close()
	return dev.DirectIO()
}

// benchBytes returns n bytes of pseudo-random data, distinct for each
// seed.
func benchBytes(n int, seed uint64) []byte {
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	out := make([]byte, n)
	_, _ = rand.NewChaCha8(s).Read(out)
	return out
}

// benchCPU is the CPU time the process has used.
func benchCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
