package client_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/shingle-storage/shingle/agent/datapath"
	"github.com/shingle-storage/shingle/agent/health/monitor"
	agentserver "github.com/shingle-storage/shingle/agent/server"
	agentv1 "github.com/shingle-storage/shingle/api/agent/v1"
	"github.com/shingle-storage/shingle/api/agent/v1/agentv1connect"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/api/fleet/v1/fleetv1connect"
	"github.com/shingle-storage/shingle/client"
	"github.com/shingle-storage/shingle/fleetd/erasure"
	"github.com/shingle-storage/shingle/fleetd/pki"
	"github.com/shingle-storage/shingle/fleetd/placement"
	"github.com/shingle-storage/shingle/fleetd/raftnode"
	fleetserver "github.com/shingle-storage/shingle/fleetd/server"
	"github.com/shingle-storage/shingle/fleetd/state"
	"github.com/shingle-storage/shingle/fleetd/volume"
	"github.com/shingle-storage/shingle/internal/loopport"
	"github.com/shingle-storage/shingle/zoned"
)

// fleet is a whole fleet in one process, on real sockets with mutual
// TLS: one fleetd server (a one-member Raft group) and an agent per
// host, each on emulated zoned drives, registered with a join token as
// real hosts are.
type fleet struct {
	t      testing.TB
	shape  fleetShape
	dir    string
	certs  pki.Dir
	ca     *pki.CA
	api    string
	fleet  fleetv1connect.FleetServiceClient
	vols   fleetv1connect.VolumeServiceClient
	client *client.Client
	token  string

	mu     sync.Mutex
	agents map[string]*runningAgent // by host id
}

// runningAgent is one host's agent.
type runningAgent struct {
	host, rack, addr, drives string
	// smart, if set, is a file of SMART samples its drive replays
	// (agentserver.ReplaySMART).
	smart  string
	cancel context.CancelFunc
	done   chan struct{}
}

// fleetShape says how big a fleet to run. The drive and volume sizes
// are zero for the e2e sizes below; benchmarks ask for bigger ones.
type fleetShape struct {
	hosts int
	code  state.Scheme
	// zone is the emulated drives' zone size, zonesPerExtent their extent
	// size in zones (a volume member is one extent, so this sizes the
	// volumes), and driveBytes each drive's size.
	zone           int64
	zonesPerExtent int
	driveBytes     int64
	// openVolumes is how many open volumes fleetd keeps for leases.
	openVolumes int
	// noScrub turns the agents' scrub cadence off, so that benchmarks
	// measure their own work and not scrubs' reading.
	noScrub bool
	// repairRate caps each encoding's and repair's writes, bytes per
	// second (0: no cap); workSlice is fleetd's volume.Options.WorkSlice.
	repairRate float64
	workSlice  time.Duration
	// crossCheck is fleetd's cross-check interval (0: a second).
	crossCheck time.Duration
	// repairGrace is how long fleetd waits for an unreachable host
	// before repairing its members (0: 3 s).
	repairGrace time.Duration
}

// withDefaults fills in the e2e sizes for the fields left zero.
func (s fleetShape) withDefaults() fleetShape {
	if s.zone == 0 {
		s.zone = e2eZone
	}
	if s.zonesPerExtent == 0 {
		s.zonesPerExtent = e2eExtent / e2eZone
	}
	if s.driveBytes == 0 {
		s.driveBytes = e2eDriveBytes
	}
	if s.openVolumes == 0 {
		s.openVolumes = 2
	}
	if s.crossCheck == 0 {
		s.crossCheck = time.Second
	}
	if s.repairGrace == 0 {
		s.repairGrace = 3 * time.Second
	}
	return s
}

// scrubbing is the agents' scrub cadence: a scrub a second, so tests see
// damage found soon, unless noScrub is set.
func (s fleetShape) scrubbing() agentserver.Scrubbing {
	if s.noScrub {
		return agentserver.Scrubbing{}
	}
	return agentserver.Scrubbing{Interval: time.Second}
}

// volumeBytes is the size of a volume: one extent.
func (s fleetShape) volumeBytes() int64 { return s.zone * int64(s.zonesPerExtent) }

// Volumes of 16 MiB: emulated drives of 8 MiB zones, two zones per
// extent.
const (
	e2eZone       = 8 << 20
	e2eExtent     = 2 * e2eZone
	e2eDriveBytes = 256 << 20
)

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// startFleet starts fleetd and one agent per host (one rack per host).
func startFleet(t testing.TB, shape fleetShape) *fleet {
	t.Helper()
	shape = shape.withDefaults()
	f := &fleet{t: t, shape: shape, dir: t.TempDir(), agents: map[string]*runningAgent{}}
	f.certs = pki.Dir(filepath.Join(f.dir, "pki"))
	var err error
	if f.ca, err = f.certs.EnsureCA(); err != nil {
		t.Fatal(err)
	}
	node, err := f.certs.Ensure(f.ca, pki.Request{Name: "fleet-1", Role: pki.RoleNode})
	if err != nil {
		t.Fatal(err)
	}
	f.api, err = freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	raftAddr, _ := freeAddr()
	srv, err := fleetserver.Open(fleetserver.Config{
		ID: "fleet-1", Dir: filepath.Join(f.dir, "fleet-1"), RaftAddr: raftAddr, APIAddr: f.api, TLS: node,
		Bootstrap: true, Timing: raftnode.LoopbackTiming(), HeartbeatInterval: 500 * time.Millisecond,
		HeartbeatTimeout: 2 * time.Second, RepairGrace: shape.repairGrace, Logger: fleetLog(),
		Volumes: volume.Options{Code: shape.code, VolumeBytes: uint64(shape.volumeBytes()), Domain: placement.DomainHost, OpenVolumes: shape.openVolumes,
			MaxAge: time.Hour, Interval: 300 * time.Millisecond, CrossCheck: shape.crossCheck,
			RepairBytesPerSecond: shape.repairRate, WorkSlice: shape.workSlice},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	f.client = f.newClient()
	hc := f.operatorHTTP()
	f.fleet = fleetv1connect.NewFleetServiceClient(hc, "https://"+f.api)
	f.vols = fleetv1connect.NewVolumeServiceClient(hc, "https://"+f.api)
	tokens := fleetv1connect.NewTokenServiceClient(hc, "https://"+f.api)

	f.eventually("a leader and the topology", 30*time.Second, func() error {
		for _, step := range []func() error{
			func() error {
				_, err := f.fleet.AddSite(ctx, connect.NewRequest(&fleetv1.AddSiteRequest{Id: "s"}))
				return err
			},
			func() error {
				_, err := f.fleet.AddRoom(ctx, connect.NewRequest(&fleetv1.AddRoomRequest{Id: "m", Site: "s"}))
				return err
			},
			func() error {
				_, err := f.fleet.AddRow(ctx, connect.NewRequest(&fleetv1.AddRowRequest{Id: "w", Room: "m"}))
				return err
			},
		} {
			if err := step(); err != nil && connect.CodeOf(err) != connect.CodeAlreadyExists {
				return err
			}
		}
		return nil
	})
	for h := range shape.hosts {
		rack := fmt.Sprintf("rack-%d", h)
		if _, err := f.fleet.AddRack(ctx, connect.NewRequest(&fleetv1.AddRackRequest{Id: rack, Row: "w", PowerBudgetWatts: 8000})); err != nil {
			t.Fatal(err)
		}
		if _, err := f.fleet.AddHost(ctx, connect.NewRequest(&fleetv1.AddHostRequest{Id: fmt.Sprintf("host-%d", h), Rack: rack})); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := tokens.CreateToken(ctx, connect.NewRequest(&fleetv1.CreateTokenRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	f.token = tok.Msg.GetToken()
	for h := range shape.hosts {
		addr, _ := freeAddr()
		f.startAgent(&runningAgent{host: fmt.Sprintf("host-%d", h), rack: fmt.Sprintf("rack-%d", h), addr: addr,
			drives: filepath.Join(f.dir, fmt.Sprintf("host-%d", h))})
	}
	// Once every drive has registered, put hosts and drives in service.
	f.eventually("every drive registered", 60*time.Second, func() error {
		res, err := f.fleet.ListDrives(ctx, connect.NewRequest(&fleetv1.ListDrivesRequest{}))
		if err != nil {
			return err
		}
		if n := len(res.Msg.GetDrives()); n < shape.hosts {
			return fmt.Errorf("%d of %d drives", n, shape.hosts)
		}
		return nil
	})
	for h := range shape.hosts {
		if _, err := f.fleet.SetHostState(ctx, connect.NewRequest(&fleetv1.SetHostStateRequest{Id: fmt.Sprintf("host-%d", h), State: "in_service"})); err != nil {
			t.Fatal(err)
		}
	}
	res, _ := f.fleet.ListDrives(ctx, connect.NewRequest(&fleetv1.ListDrivesRequest{}))
	for _, d := range res.Msg.GetDrives() {
		if _, err := f.fleet.SetDriveState(ctx, connect.NewRequest(&fleetv1.SetDriveStateRequest{Id: d.GetId(), State: "in_service"})); err != nil {
			t.Fatal(err)
		}
	}
	f.eventually("every host reachable", 30*time.Second, func() error {
		res, err := f.fleet.ListHosts(ctx, connect.NewRequest(&fleetv1.ListHostsRequest{}))
		if err != nil {
			return err
		}
		for _, h := range res.Msg.GetHosts() {
			if h.GetLiveness().GetReachability() != "reachable" {
				return fmt.Errorf("%s is %s", h.GetId(), h.GetLiveness().GetReachability())
			}
		}
		return nil
	})
	return f
}

// startAgent starts (or restarts) a host's agent on its drives.
func (f *fleet) startAgent(a *runningAgent) {
	t := f.t
	t.Helper()
	cert, err := f.certs.Ensure(f.ca, pki.Request{Name: a.host, Role: pki.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	drives, err := agentserver.DevDrives{Dir: a.drives, Count: 1, Size: f.shape.driveBytes, ZoneSize: f.shape.zone, ZonesPerExtent: f.shape.zonesPerExtent}.Open(quiet())
	if err != nil {
		t.Fatal(err)
	}
	if a.smart != "" {
		if err := agentserver.ReplaySMART(drives, []string{a.smart}); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := agentserver.New(agentserver.Config{Addr: a.addr, TLS: cert, Drives: drives, Logger: agentLog(),
		Health:    monitor.Config{Interval: 300 * time.Millisecond},
		Scrubbing: f.shape.scrubbing(),
		Fleet:     agentserver.Fleet{Addr: f.api, JoinToken: f.token, HostID: a.host, Rack: a.rack, Address: a.addr, RetryInterval: 300 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel, a.done = cancel, make(chan struct{})
	go func() { defer close(a.done); _ = srv.Run(ctx) }()
	f.mu.Lock()
	f.agents[a.host] = a
	f.mu.Unlock()
	t.Cleanup(func() { a.stop() })
}

// stop stops the agent, as a host going dark would (it answers nothing
// more).
func (a *runningAgent) stop() {
	a.cancel()
	<-a.done
}

// failDrive fails the host's drive through its fault file: every zone
// offline, as a dead drive.
func (f *fleet) failDrive(host string) {
	f.t.Helper()
	a := f.agents[host]
	path := agentserver.DevFaultPath(agentserver.DevDrivePath(a.drives, 0))
	if err := os.WriteFile(path, []byte(agentserver.DevFaultOffline+"\n"), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// eventually retries check until it passes or the time is up.
func (f *fleet) eventually(what string, limit time.Duration, check func() error) {
	f.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("%s: still not so after %v: %v", what, limit, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// volumes lists the fleet's volumes.
func (f *fleet) volumes() []*fleetv1.Volume {
	res, err := f.fleet.ListVolumes(context.Background(), connect.NewRequest(&fleetv1.ListVolumesRequest{}))
	if err != nil {
		f.t.Fatal(err)
	}
	return res.Msg.GetVolumes()
}

// drivesOf maps drive ids to hosts.
func (f *fleet) drivesOf() map[string]string {
	res, err := f.fleet.ListDrives(context.Background(), connect.NewRequest(&fleetv1.ListDrivesRequest{}))
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range res.Msg.GetDrives() {
		out[d.GetId()] = d.GetHost()
	}
	return out
}

// stored is what the test put and expects back.
type stored map[client.Locator][]byte

// put stores n random blobs of up to max bytes, 8 at a time.
func (f *fleet) put(n, maxSize int) stored {
	f.t.Helper()
	return f.putWith(f.client, n, maxSize)
}

// putWith is put through client c.
func (f *fleet) putWith(c *client.Client, n, maxSize int) stored {
	f.t.Helper()
	out := stored{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 8)
	for range n {
		size, _ := rand.Int(rand.Reader, big.NewInt(int64(maxSize)))
		b := make([]byte, size.Int64()+1)
		_, _ = rand.Read(b)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			l, err := c.Put(context.Background(), b)
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			out[l] = b
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		f.t.Fatalf("put: %v", err)
	}
	return out
}

// checkAll reads every blob back and compares it.
func (f *fleet) checkAll(s stored, when string) {
	f.t.Helper()
	for l, want := range s {
		got, err := f.client.Get(context.Background(), l)
		if err != nil {
			loc, lerr := f.client.Locate(context.Background(), l.Volume)
			f.t.Logf("volume %d: %v %v", l.Volume, loc, lerr)
			for _, v := range f.volumes() {
				f.t.Logf("volume %v", v)
			}
			f.t.Fatalf("%s: get %v: %v", when, l, err)
		}
		if !bytes.Equal(got, want) {
			f.t.Fatalf("%s: get %v: %d bytes differ from the %d put", when, l, len(got), len(want))
		}
	}
}

// sealAndEncode seals every open volume and waits until all are encoded.
func (f *fleet) sealAndEncode() {
	f.t.Helper()
	for _, v := range f.volumes() {
		if v.GetState() == "open" {
			if _, err := f.vols.SealVolume(context.Background(), connect.NewRequest(&fleetv1.SealVolumeRequest{Id: v.GetId()})); err != nil {
				f.t.Fatal(err)
			}
		}
	}
	f.eventually("every volume encoded", 120*time.Second, func() error {
		for _, v := range f.volumes() {
			if v.GetState() != "encoded" {
				return fmt.Errorf("volume %d is %s", v.GetId(), v.GetState())
			}
		}
		return nil
	})
}

// waitRepaired waits until no volume has a member on a drive of the
// given hosts, and the repair queue is empty.
func (f *fleet) waitRepaired(hosts ...string) {
	f.t.Helper()
	f.eventually("repair done", 180*time.Second, func() error {
		st, err := f.vols.GetRepairStatus(context.Background(), connect.NewRequest(&fleetv1.GetRepairStatusRequest{}))
		if err != nil {
			return err
		}
		owner := f.drivesOf()
		for _, v := range f.volumes() {
			for _, d := range v.GetPlacement() {
				for _, h := range hosts {
					if owner[d] == h {
						return fmt.Errorf("volume %d still has a member on %s (repairs: %v)", v.GetId(), h, st.Msg)
					}
				}
			}
		}
		if n := len(st.Msg.GetQueued()) + len(st.Msg.GetRunning()); n > 0 {
			return fmt.Errorf("%d repairs queued or running", n)
		}
		return nil
	})
}

// TestDurabilityRS runs a fleet of 14 hosts (9 for the code, and spares
// for four lost hosts) with RS(6,3): blobs put to
// replicated volumes read back; the volumes are sealed and encoded and
// still read back; a drive dies and every blob reads back while (and
// after) its shards are rebuilt elsewhere; then two drives die at once,
// and then a whole host goes dark past the grace period.
func TestDurabilityRS(t *testing.T) {
	f := startFleet(t, fleetShape{hosts: 14, code: state.RS(6, 3)})
	blobs := f.put(60, 700<<10)
	if len(f.volumes()) < 2 {
		t.Fatalf("60 blobs filled only %d volume(s); the test wants several", len(f.volumes()))
	}
	f.checkAll(blobs, "replicated")
	f.sealAndEncode()
	f.checkAll(blobs, "encoded")

	// One drive dies: reads are degraded until its shards are rebuilt.
	victim := f.hostWithShards()
	f.failDrive(victim)
	f.checkAll(blobs, "one drive failed")
	f.waitRepaired(victim)
	f.checkAll(blobs, "after repairing one drive")

	// Two drives die at once.
	a := f.hostWithShards(victim)
	b := f.hostWithShards(victim, a)
	f.failDrive(a)
	f.failDrive(b)
	f.checkAll(blobs, "two drives failed")
	f.waitRepaired(victim, a, b)
	f.checkAll(blobs, "after repairing two drives")

	// A host goes dark: repaired once the grace period is over.
	c := f.hostWithShards(victim, a, b)
	f.agents[c].stop()
	f.checkAll(blobs, "a host dark")
	f.waitRepaired(victim, a, b, c)
	f.checkAll(blobs, "after repairing a dark host")

	// The host comes back with the shards it held, which no placement
	// names any more: they are deleted (the repair's clean-up or the
	// cross-check, whichever reaches the agent first).
	f.startAgent(f.agents[c])
	f.eventually("the returning host's stale shards deleted", 60*time.Second, func() error {
		if stale := f.fleetExtents(f.agents[c]); len(stale) > 0 {
			return fmt.Errorf("%s still holds extents %v that no placement names", c, stale)
		}
		return nil
	})
	f.checkAll(blobs, "after the host came back")
}

// hostWithShards returns a host, other than those excluded, that holds a
// member of some volume.
func (f *fleet) hostWithShards(exclude ...string) string {
	f.t.Helper()
	owner := f.drivesOf()
	for _, v := range f.volumes() {
		for _, d := range v.GetPlacement() {
			if h := owner[d]; !contains(exclude, h) {
				return h
			}
		}
	}
	f.t.Fatalf("no host other than %s holds a volume member", strings.Join(exclude, ", "))
	return ""
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// freeAddr returns a loopback address with a free port, one a restarted
// agent can bind again (see package loopport).
func freeAddr() (string, error) { return loopport.Addr() }

// TestDurabilityLRC runs a fleet of 18 hosts with LRC(12,2,2): after the
// volumes are encoded, one drive dies, every blob reads back while its
// shards are rebuilt, and each rebuilt shard was read from the 6 other
// members of its local group, not from 12 shards.
func TestDurabilityLRC(t *testing.T) {
	f := startFleet(t, fleetShape{hosts: 18, code: state.LRC(12, 2, 2)})
	blobs := f.put(40, 700<<10)
	f.sealAndEncode()
	f.checkAll(blobs, "encoded")
	victim := f.hostWithShards()
	f.failDrive(victim)
	f.checkAll(blobs, "one drive failed")
	f.waitRepaired(victim)
	f.checkAll(blobs, "after repairing one drive")
	st, err := f.vols.GetRepairStatus(context.Background(), connect.NewRequest(&fleetv1.GetRepairStatusRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	reads := st.Msg.GetRecentReads()
	if len(reads) == 0 {
		t.Fatal("nothing was repaired")
	}
	for _, r := range reads {
		// A lost data shard or local parity is rebuilt from its group
		// (6 reads); a lost global parity needs 12.
		if r != 6 && r != 12 {
			t.Fatalf("rebuilt members read from %v shards; want 6 (local group) or 12 (a global parity)", reads)
		}
	}
	if !slices.Contains(reads, 6) {
		t.Fatalf("no member was rebuilt from its local group of 6: reads %v", reads)
	}
	t.Logf("reads per rebuilt member: %v", reads)
}

// TestScrubbedDamageIsRepaired flips one byte inside a shard on a drive,
// as bit rot would: the agent's scheduled scrub finds the extent no
// longer matches its seal and reports it, fleetd rebuilds that shard on
// another drive, and every blob still reads back.
func TestScrubbedDamageIsRepaired(t *testing.T) {
	f := startFleet(t, fleetShape{hosts: 10, code: state.RS(6, 3)})
	blobs := f.put(20, 500<<10)
	f.sealAndEncode()
	v := f.volumes()[0]
	drive := v.GetPlacement()[0]
	host := f.drivesOf()[drive]
	a := f.agents[host]
	// Shards live in the drive's pool extents; scrubs check sealed
	// extents, so seal the pool extents first (the agent opens another
	// for the next shard).
	ctl := f.agentControl(a)
	res, err := ctl.ListExtents(context.Background(), connect.NewRequest(&agentv1.ListExtentsRequest{Drive: drive}))
	if err != nil {
		t.Fatal(err)
	}
	var pool []uint64
	for _, x := range res.Msg.GetExtents() {
		if x.GetId() > datapath.PoolExtent && x.GetId() < 2*datapath.PoolExtent {
			pool = append(pool, x.GetId())
			if _, err := ctl.SealExtent(context.Background(), connect.NewRequest(&agentv1.SealExtentRequest{Drive: drive, Extent: x.GetId()})); err != nil && connect.CodeOf(err) != connect.CodeFailedPrecondition {
				t.Fatal(err)
			}
		}
	}
	if len(pool) == 0 {
		t.Fatalf("drive %s holds shard 0 of volume %d but has no pool extent", drive, v.GetId())
	}
	before := map[string]bool{} // the shards on the drive, as volume/index
	for _, w := range f.volumes() {
		for i, d := range w.GetPlacement() {
			if d == drive {
				before[fmt.Sprint(w.GetId(), "/", i)] = true
			}
		}
	}
	zones := f.extentZones(a, drive, pool[0])
	// The first chunk record's payload starts one 4 KiB block into the
	// extent's first zone.
	path := agentserver.DevDrivePath(a.drives, 0)
	fh, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	off := zoned.EmulatorFileOffset(int(f.shape.driveBytes/f.shape.zone), int64(zones[0])*f.shape.zone+4096+1000)
	b := make([]byte, 1)
	if _, err := fh.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x40
	if _, err := fh.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	f.eventually("a shard of the damaged pool extent rebuilt elsewhere", 120*time.Second, func() error {
		for _, w := range f.volumes() {
			for i, d := range w.GetPlacement() {
				if before[fmt.Sprint(w.GetId(), "/", i)] && d != drive {
					return nil
				}
			}
		}
		return fmt.Errorf("no shard has moved off drive %s yet", drive)
	})
	f.checkAll(blobs, "after the damaged shard was rebuilt")

	// A shard disappears behind the fleet's back (its header deleted on
	// the agent): the cross-check notices, and the shard is rebuilt
	// elsewhere.
	v = f.volumes()[0]
	drive = v.GetPlacement()[1]
	a = f.agents[f.drivesOf()[drive]]
	dc := &datapath.Client{HTTP: f.operatorHTTP()}
	if err := dc.Delete(context.Background(), a.addr, drive, datapath.PoolExtent, erasure.HeaderKey(v.GetId(), v.GetEpoch(), 1)); err != nil {
		t.Fatal(err)
	}
	f.eventually("the missing shard rebuilt elsewhere", 120*time.Second, func() error {
		for _, w := range f.volumes() {
			if w.GetId() == v.GetId() && w.GetPlacement()[1] == drive {
				return fmt.Errorf("shard 1 of volume %d is still placed on drive %s", v.GetId(), drive)
			}
		}
		return nil
	})
	f.checkAll(blobs, "after the missing shard was rebuilt")
}

// fleetExtents lists the fleet-named extents (volume members) a host's
// agent holds that no placement names.
func (f *fleet) fleetExtents(a *runningAgent) []uint64 {
	f.t.Helper()
	named := map[string]bool{}
	for _, v := range f.volumes() {
		for i, d := range v.GetPlacement() {
			named[fmt.Sprint(d, volume.MemberExtent(state.VolumeID(v.GetId()), v.GetState() == "encoded", i))] = true
		}
	}
	drives, err := f.agentControl(a).ListDrives(context.Background(), connect.NewRequest(&agentv1.ListDrivesRequest{}))
	if err != nil {
		f.t.Fatal(err)
	}
	var out []uint64
	for _, d := range drives.Msg.GetDrives() {
		res, err := f.agentControl(a).ListExtents(context.Background(), connect.NewRequest(&agentv1.ListExtentsRequest{Drive: d.GetId()}))
		if err != nil {
			f.t.Fatal(err)
		}
		for _, e := range res.Msg.GetExtents() {
			if e.GetId() < 1<<56 && !named[fmt.Sprint(d.GetId(), e.GetId())] {
				out = append(out, e.GetId())
			}
		}
	}
	return out
}

// operatorTLS is the TLS configuration of a client with the operator's
// certificate.
func (f *fleet) operatorTLS() *tls.Config {
	f.t.Helper()
	op, err := f.certs.Ensure(f.ca, pki.Request{Name: "tester", Role: pki.RoleOperator})
	if err != nil {
		f.t.Fatal(err)
	}
	tlsConf, err := pki.ClientConfig(op)
	if err != nil {
		f.t.Fatal(err)
	}
	return tlsConf
}

// operatorHTTP is an HTTP client with the operator's certificate.
func (f *fleet) operatorHTTP() *http.Client { return httpClient(f.operatorTLS()) }

// newClient returns a client of the fleet of its own (with its own lease
// and connections), closed when the test ends.
func (f *fleet) newClient() *client.Client {
	f.t.Helper()
	c, err := client.New(client.Config{Fleet: []string{f.api}, TLS: f.operatorTLS()})
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(c.Close)
	return c
}

// agentControl is a client of a host's agent's extent API.
func (f *fleet) agentControl(a *runningAgent) agentv1connect.ExtentServiceClient {
	f.t.Helper()
	return agentv1connect.NewExtentServiceClient(f.operatorHTTP(), "https://"+a.addr)
}

// extentZones asks a host's agent which zones an extent occupies.
func (f *fleet) extentZones(a *runningAgent, drive string, ext uint64) []uint32 {
	f.t.Helper()
	res, err := f.agentControl(a).StatExtent(context.Background(), connect.NewRequest(&agentv1.StatExtentRequest{Drive: drive, Extent: ext}))
	if err != nil {
		f.t.Fatal(err)
	}
	return res.Msg.GetExtent().GetZones()
}
