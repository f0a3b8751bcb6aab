package raftnode

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shingle-storage/shingle/fleetd/state"
)

// BenchmarkRaftWrite measures metadata writes through Raft: a real
// three-node group on loopback TCP, raft-wal on local disk (b.TempDir) with
// its default 64 MiB segments, production timing, and the fleet state
// machine. Each op is one CreateVolume (a three-replica volume, the most
// common write of a running fleet) proposed on the leader by one of
// `clients` concurrent clients, timed until the leader's state machine has
// applied it, that is until a quorum holds it on disk.
//
// Metrics: ops/s, p50-ms and p99-ms of the commit latency; raw-fsync/s,
// the synced 4 KiB appends per second of one writer to a file in the same
// directory, measured before and after and averaged (the physical limit:
// a commit needs the leader's and a follower's log on disk, one after the
// other); and fsync-ratio, ops/s over raw-fsync/s. One client waiting for
// each write can reach at most about 0.5; concurrent clients share
// fsyncs, since raft writes every entry queued meanwhile in one batch.
//
//	go test -run '^$' -bench BenchmarkRaftWrite -benchtime 3000x ./fleetd/raftnode/
func BenchmarkRaftWrite(b *testing.B) {
	for _, clients := range []int{1, 32} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) { benchRaftWrite(b, clients) })
	}
}

func benchRaftWrite(b *testing.B, clients int) {
	c := newClusterWith(b, 3, true, clusterOptions{timing: ProductionTiming()})
	leader := c.leader()
	// Three racks with one in-service drive each, for the volumes.
	mustPropose(b, leader.node, &state.AddSite{ID: "s"})
	mustPropose(b, leader.node, &state.AddRoom{ID: "m", Site: "s"})
	mustPropose(b, leader.node, &state.AddRow{ID: "w", Room: "m"})
	var drives []string
	for r := range 3 {
		rack, host, drive := fmt.Sprintf("r%d", r), fmt.Sprintf("h%d", r), fmt.Sprintf("d%d", r)
		mustPropose(b, leader.node, &state.AddRack{ID: rack, Row: "w"})
		mustPropose(b, leader.node, &state.AddHost{ID: host, Rack: rack})
		mustPropose(b, leader.node, &state.SetHostState{ID: host, State: state.HostInService})
		mustPropose(b, leader.node, &state.AddDrive{ID: drive, Host: host, Slot: "1", CapacityBytes: 20e12, Model: "m"})
		mustPropose(b, leader.node, &state.SetDriveState{ID: drive, State: state.DriveInService})
		drives = append(drives, drive)
	}
	cmd, err := state.Encode(&state.CreateVolume{Scheme: state.Replication(3), Placement: drives, MemberBytes: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	dir := filepath.Dir(leader.dir)
	rawBefore := fsyncRate(b, dir)

	var (
		next    atomic.Int64
		failed  atomic.Value
		wg      sync.WaitGroup
		latency = make([][]time.Duration, clients)
	)
	b.ResetTimer()
	start := time.Now()
	for w := range clients {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				t0 := time.Now()
				res, err := leader.node.Apply(ctx, cmd)
				d := time.Since(t0)
				cancel()
				if err == nil {
					if _, ok := res.(state.Result); !ok {
						err = fmt.Errorf("apply returned %T", res)
					}
				}
				if err != nil {
					failed.Store(err)
					return
				}
				latency[w] = append(latency[w], d)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	all := slices.Concat(latency...)
	slices.Sort(all)
	raw := (rawBefore + fsyncRate(b, dir)) / 2
	ops := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(ops, "ops/s")
	b.ReportMetric(ms(all[len(all)/2]), "p50-ms")
	b.ReportMetric(ms(all[len(all)*99/100]), "p99-ms")
	b.ReportMetric(raw, "raw-fsync/s")
	b.ReportMetric(ops/raw, "fsync-ratio")
	var volumes int
	leader.fsm.Read(func(s *state.State) { volumes = int(s.LastVolumeID()) })
	if volumes < b.N {
		b.Fatalf("the leader holds %d volumes after %d acknowledged creates", volumes, b.N)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// fsyncRate appends 500 blocks of 4 KiB to a new file in dir, syncing
// after each, and returns the appends per second: what one writer that
// waits for every write to reach the disk gets from it, as raft-wal waits
// for every batch.
func fsyncRate(b *testing.B, dir string) float64 {
	b.Helper()
	f, err := os.CreateTemp(dir, "fsync-*")
	if err != nil {
		b.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 4096)
	const n = 500
	start := time.Now()
	for range n {
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	return n / time.Since(start).Seconds()
}
