package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/api/fleet/v1/fleetv1connect"
	"github.com/shingle-storage/shingle/fleetd/pki"
	"github.com/shingle-storage/shingle/fleetd/raftnode"
	"github.com/shingle-storage/shingle/fleetd/state"
	"google.golang.org/protobuf/proto"
)

// Heartbeat benchmark fleet: 150 racks of 40 hosts of 100 drives.
const (
	hbRacks        = 150
	hbHostsPerRack = 40
	hbDrives       = 100
	hbHosts        = hbRacks * hbHostsPerRack
)

// BenchmarkHeartbeatIngest measures how many agent heartbeats the leader
// takes in, for a fleet of 6,000 hosts of 100 drives each. One op is one
// host's heartbeat with a report for each of its 100 drives; the hosts
// take turns, from as many goroutines as there are CPUs (RunParallel), as
// net/http serves concurrent calls. Metrics: heartbeats/s and drives/s.
//
//   - path=handler is the path a heartbeat takes in fleetd once its TLS
//     connection is up: the API handler (the role check on the agent's
//     certificate, Connect's decoding of the protobuf request, the metrics
//     interceptor), agentService.Heartbeat (the leader check, the host
//     looked up in the fleet state, the drive reports converted) and
//     Liveness.Heartbeat, on a leader of a real one-node Raft group whose
//     state holds the 6,000 hosts. Requests are pre-encoded bodies handed
//     to the handler in-process: TLS and HTTP/2 framing are not included.
//     It also reports liveness-bytes/drive: the growth of the live heap
//     when the leader, holding no reports, takes one heartbeat from every
//     host (the soft state a leader keeps for the fleet, request garbage
//     collected).
//
//   - path=liveness is Liveness.Heartbeat alone, with the reports already
//     decoded.
//
//     go test -run '^$' -bench BenchmarkHeartbeatIngest -benchtime 60000x ./fleetd/server/
func BenchmarkHeartbeatIngest(b *testing.B) {
	hosts, bodies, reports := heartbeats(b)
	var f *hbFixture // made once, for every run of path=handler
	parent := b
	b.Run("path=handler", func(b *testing.B) {
		if f == nil {
			f = newHBFixture(b, parent, hosts, bodies)
		}
		f.run(b)
	})
	b.Run("path=liveness", func(b *testing.B) {
		l := NewLiveness(DefaultHeartbeatTimeout, DefaultRepairGrace, time.Now)
		l.Start()
		var next atomic.Int64
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				h := int(next.Add(1)-1) % hbHosts
				if !l.Heartbeat(hosts[h], 0.3, reports[h]) {
					b.Error("the liveness tracker refused a heartbeat")
					return
				}
			}
		})
		reportHeartbeats(b)
	})
}

func reportHeartbeats(b *testing.B) {
	perSec := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(perSec, "heartbeats/s")
	b.ReportMetric(perSec*hbDrives, "drives/s")
}

// heartbeats makes each host's id, its heartbeat request as an agent
// sends it (protobuf), and the same reports as Liveness takes them.
func heartbeats(b *testing.B) ([]string, [][]byte, []map[string]DriveReport) {
	hosts := make([]string, hbHosts)
	bodies := make([][]byte, hbHosts)
	reports := make([]map[string]DriveReport, hbHosts)
	for h := range hbHosts {
		hosts[h] = fmt.Sprintf("ams1-r%03d-h%02d", h/hbHostsPerRack, h%hbHostsPerRack)
		req := &fleetv1.HeartbeatRequest{HostId: hosts[h], Load: 0.3}
		reports[h] = make(map[string]DriveReport, hbDrives)
		for d := range hbDrives {
			r := &fleetv1.DriveReport{
				Id:                 fmt.Sprintf("5000c500%08x", h*hbDrives+d),
				FreeBytes:          uint64(12e12) + uint64(d)<<30,
				Load:               0.25,
				Health:             "ok",
				FailureProbability: 0.002,
			}
			if d == 0 {
				r.Health = "suspect"
				r.FailureProbability = 0.4
				r.HealthReasons = []string{"smart: reallocated sectors rising (8 to 24 in 7 days)"}
			}
			req.Drives = append(req.Drives, r)
			reports[h][r.Id] = DriveReport{FreeBytes: r.FreeBytes, Load: r.Load, Health: r.Health,
				FailureProbability: r.FailureProbability, HealthReasons: r.HealthReasons}
		}
		var err error
		if bodies[h], err = proto.Marshal(req); err != nil {
			b.Fatal(err)
		}
	}
	return hosts, bodies, reports
}

// hbFixture is a leader holding the fleet's hosts, the agents'
// certificates, and what the leader's soft state for the fleet costs.
type hbFixture struct {
	s         *Server
	hosts     []string
	bodies    [][]byte
	conns     []*tls.ConnectionState
	liveBytes float64
	next      atomic.Int64
}

// newHBFixture makes the leader (closed when parent ends) and sends it one
// heartbeat from every host, answered and checked in full, measuring the
// growth of the live heap that leaves behind.
func newHBFixture(b, parent *testing.B, hosts []string, bodies [][]byte) *hbFixture {
	f := &hbFixture{s: leaderWithHosts(b, parent, hosts), hosts: hosts, bodies: bodies}
	// The agents' certificates, as TLS hands them to the handler.
	ca, err := pki.NewCA("bench CA", time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	f.conns = make([]*tls.ConnectionState, len(hosts))
	for h, host := range hosts {
		pair, err := ca.Issue(pki.Request{Name: host, Role: pki.RoleAgent, Validity: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		block, _ := pem.Decode(pair.CertPEM)
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			b.Fatal(err)
		}
		f.conns[h] = &tls.ConnectionState{Version: tls.VersionTLS13, HandshakeComplete: true, PeerCertificates: []*x509.Certificate{cert}}
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for h := range hosts {
		rec := httptest.NewRecorder()
		f.call(b, h, rec)
		if rec.Code != http.StatusOK {
			b.Fatalf("heartbeat of %s: %d %s", hosts[h], rec.Code, rec.Body)
		}
		if h == 0 {
			var res fleetv1.HeartbeatResponse
			if err := proto.Unmarshal(rec.Body.Bytes(), &res); err != nil || res.GetHostState() != string(state.HostInService) {
				b.Fatalf("heartbeat response %v, %v", &res, err)
			}
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if r, ok := f.s.live.Drive(fmt.Sprintf("5000c500%08x", hbHosts*hbDrives-1)); !ok || r.Health != "ok" {
		b.Fatalf("the last drive's report is %+v, %v", r, ok)
	}
	f.liveBytes = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (hbHosts * hbDrives)
	return f
}

// call hands host h's heartbeat to the server's API handler, as net/http
// does once it has read the request from the agent's connection.
func (f *hbFixture) call(b *testing.B, h int, w http.ResponseWriter) {
	r, err := http.NewRequestWithContext(context.Background(), http.MethodPost,
		"https://fleetd"+fleetv1connect.AgentServiceHeartbeatProcedure, bytes.NewReader(f.bodies[h]))
	if err != nil {
		b.Fatal(err)
	}
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/2.0", 2, 0
	r.Header.Set("Content-Type", "application/proto")
	r.Header.Set("Connect-Protocol-Version", "1")
	r.TLS = f.conns[h]
	f.s.api.Handler.ServeHTTP(w, r)
}

func (f *hbFixture) run(b *testing.B) {
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardResponse{header: http.Header{}}
		for pb.Next() {
			clear(w.header)
			w.code = 0
			h := int(f.next.Add(1)-1) % hbHosts
			f.call(b, h, w)
			if w.code != 0 && w.code != http.StatusOK {
				b.Errorf("heartbeat of %s: HTTP %d", f.hosts[h], w.code)
				return
			}
		}
	})
	reportHeartbeats(b)
	b.ReportMetric(f.liveBytes, "liveness-bytes/drive")
}

// discardResponse is a ResponseWriter that keeps only the status.
type discardResponse struct {
	header http.Header
	code   int
}

func (w *discardResponse) Header() http.Header         { return w.header }
func (w *discardResponse) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardResponse) WriteHeader(code int)        { w.code = code }

// leaderWithHosts opens a server on loopback with its data in a
// temporary directory, makes it the leader of a one-node Raft group, and
// adds the hosts (in service, in racks of hbHostsPerRack) through Raft. The
// server is not Run: the benchmark calls its API handler directly. It is
// closed, and its directory removed, when parent ends.
func leaderWithHosts(b, parent *testing.B, hosts []string) *Server {
	b.Helper()
	dir := parent.TempDir()
	certs := pki.Dir(dir + "/pki")
	ca, err := certs.EnsureCA()
	if err != nil {
		b.Fatal(err)
	}
	files, err := certs.Ensure(ca, pki.Request{Name: "fleet-1", Role: pki.RoleNode})
	if err != nil {
		b.Fatal(err)
	}
	s, err := Open(Config{
		ID: "fleet-1", Dir: dir + "/data", RaftAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", TLS: files,
		Timing: raftnode.LoopbackTiming(), Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	parent.Cleanup(func() { s.Close() })
	if err := s.node.Bootstrap(); err != nil {
		b.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); !s.node.IsLeader(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("the one-node group elected no leader in 10s")
		}
	}
	s.live.Start()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	propose := func(c state.Command) {
		if _, err := s.propose(ctx, c); err != nil {
			b.Fatalf("%s: %v", c.Type(), err)
		}
	}
	propose(&state.AddSite{ID: "ams1"})
	propose(&state.AddRoom{ID: "ams1-hall1", Site: "ams1"})
	propose(&state.AddRow{ID: "ams1-hall1-row1", Room: "ams1-hall1"})
	for r := range hbRacks {
		propose(&state.AddRack{ID: fmt.Sprintf("ams1-r%03d", r), Row: "ams1-hall1-row1"})
	}
	// Hosts from many writers at once, so that Raft batches them.
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 64 {
		wg.Go(func() {
			for h := int(next.Add(1) - 1); h < len(hosts); h = int(next.Add(1) - 1) {
				propose(&state.AddHost{ID: hosts[h], Rack: fmt.Sprintf("ams1-r%03d", h/hbHostsPerRack)})
				propose(&state.SetHostState{ID: hosts[h], State: state.HostInService})
			}
		})
	}
	wg.Wait()
	return s
}
