package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/shingle-storage/shingle/fleetd/state"
)

// metrics is the server's Prometheus registry: counters and histograms
// updated as calls happen, and a collector that reads Raft's and the
// fleet's state at scrape time. Each server has its own registry, so
// several servers can run in one process (tests).
type metrics struct {
	reg        *prometheus.Registry
	commit     *prometheus.HistogramVec
	calls      *prometheus.HistogramVec
	relayed    prometheus.Counter
	forwarded  prometheus.Counter
	heartbeats prometheus.Counter
}

// newMetrics registers every metric of s.
func newMetrics(s *Server) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		commit: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "shingle_fleetd_commit_seconds",
			Help:    "Time from proposing a state command on this server to its result (applied or rejected), including forwarding to the leader.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"outcome"}),
		calls: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "shingle_fleetd_api_call_seconds",
			Help:    "API calls served, by procedure and Connect code.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"procedure", "code"}),
		relayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shingle_fleetd_relayed_calls_total",
			Help: "Calls this server relayed to the leader (linearizable reads and leader-only calls received as a follower).",
		}),
		forwarded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shingle_fleetd_forwarded_writes_total",
			Help: "State commands this server forwarded to the leader as a follower.",
		}),
		heartbeats: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shingle_fleetd_heartbeats_total",
			Help: "Agent heartbeats this server received as the leader.",
		}),
	}
	m.reg.MustRegister(m.commit, m.calls, m.relayed, m.forwarded, m.heartbeats,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&stateCollector{s: s})
	return m
}

// handler serves the registry in the Prometheus text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// observeCommit records one proposal's latency and outcome.
func (m *metrics) observeCommit(d time.Duration, err error) {
	outcome := "applied"
	var se *state.Error
	switch {
	case errors.As(err, &se):
		outcome = "rejected"
	case err != nil:
		outcome = "failed"
	}
	m.commit.WithLabelValues(outcome).Observe(d.Seconds())
}

// interceptor times every unary call.
func (m *metrics) interceptor() connect.Interceptor {
	return connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			start := time.Now()
			res, err := next(ctx, req)
			code := "ok"
			if err != nil {
				code = connect.CodeOf(err).String()
			}
			m.calls.WithLabelValues(req.Spec().Procedure, code).Observe(time.Since(start).Seconds())
			return res, err
		}
	})
}

// stateCollector reads Raft's state and the fleet's counts at scrape time.
type stateCollector struct{ s *Server }

var (
	descRaftState   = prometheus.NewDesc("shingle_fleetd_raft_state", "1 for this server's Raft state (Leader, Follower, Candidate, Shutdown), 0 for the others.", []string{"state"}, nil)
	descTerm        = prometheus.NewDesc("shingle_fleetd_raft_term", "This server's current Raft term.", nil, nil)
	descLastLog     = prometheus.NewDesc("shingle_fleetd_raft_last_log_index", "Index of the last entry in this server's log.", nil, nil)
	descCommit      = prometheus.NewDesc("shingle_fleetd_raft_commit_index", "Index of the last entry this server knows is committed.", nil, nil)
	descApplied     = prometheus.NewDesc("shingle_fleetd_raft_applied_index", "Index of the last entry this server has applied.", nil, nil)
	descApplyLag    = prometheus.NewDesc("shingle_fleetd_raft_apply_lag_entries", "Committed entries this server has not applied yet (commit index less applied index).", nil, nil)
	descMembers     = prometheus.NewDesc("shingle_fleetd_raft_members", "Members in this server's Raft configuration.", nil, nil)
	descLeaderKnown = prometheus.NewDesc("shingle_fleetd_raft_leader_known", "1 if this server knows a leader.", nil, nil)
	descContact     = prometheus.NewDesc("shingle_fleetd_raft_last_contact_seconds", "Seconds since this follower last heard from the leader.", nil, nil)
	descRacks       = prometheus.NewDesc("shingle_fleetd_racks", "Racks in the fleet state.", nil, nil)
	descHosts       = prometheus.NewDesc("shingle_fleetd_hosts", "Hosts in the fleet state, by state.", []string{"state"}, nil)
	descDrives      = prometheus.NewDesc("shingle_fleetd_drives", "Drives in the fleet state, by state.", []string{"state"}, nil)
	descVolumes     = prometheus.NewDesc("shingle_fleetd_volumes", "Volumes in the fleet state, by state.", []string{"state"}, nil)
	descReach       = prometheus.NewDesc("shingle_fleetd_host_reachability", "Hosts by reachability, as the leader sees their heartbeats (only the leader reports it).", []string{"reachability"}, nil)
	descRepair      = prometheus.NewDesc("shingle_fleetd_repair_candidate_hosts", "Hosts unreachable for longer than the repair grace period (only the leader reports it).", nil, nil)
)

// Describe sends every metric's description.
func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRaftState, descTerm, descLastLog, descCommit, descApplied, descApplyLag,
		descMembers, descLeaderKnown, descContact, descRacks, descHosts, descDrives, descVolumes, descReach, descRepair} {
		ch <- d
	}
}

// Collect reads the current values.
func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	stats := s.node.Stats()
	num := func(k string) float64 { n, _ := strconv.ParseUint(stats[k], 10, 64); return float64(n) }
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, st := range []string{"Leader", "Follower", "Candidate", "Shutdown"} {
		v := 0.0
		if stats["state"] == st {
			v = 1
		}
		gauge(descRaftState, v, st)
	}
	gauge(descTerm, num("term"))
	gauge(descLastLog, num("last_log_index"))
	gauge(descCommit, num("commit_index"))
	gauge(descApplied, num("applied_index"))
	gauge(descApplyLag, max(num("commit_index")-num("applied_index"), 0))
	if servers, err := s.node.Servers(context.Background()); err == nil {
		gauge(descMembers, float64(len(servers)))
	}
	_, known := s.node.Leader()
	gauge(descLeaderKnown, boolFloat(known))
	if lc := s.node.LastContact(); !lc.IsZero() && !s.node.IsLeader() {
		gauge(descContact, time.Since(lc).Seconds())
	}
	var hostIDs []string
	s.fsm.Read(func(st *state.State) {
		counts := countsOf(st)
		gauge(descRacks, float64(counts.Racks))
		for k, v := range counts.HostsByState {
			gauge(descHosts, float64(v), k)
		}
		for k, v := range counts.DrivesByState {
			gauge(descDrives, float64(v), k)
		}
		for k, v := range counts.VolumesByState {
			gauge(descVolumes, float64(v), k)
		}
		for _, h := range st.Hosts() {
			if h.State != state.HostRetired {
				hostIDs = append(hostIDs, h.ID)
			}
		}
	})
	if !s.live.Active() {
		return
	}
	reach := map[Reachability]int{Reachable: 0, Unreachable: 0, Unknown: 0}
	repair := 0
	for _, id := range hostIDs {
		l := s.live.Host(id)
		reach[l.Reachability]++
		if l.RepairCandidate {
			repair++
		}
	}
	for k, v := range reach {
		gauge(descReach, float64(v), string(k))
	}
	gauge(descRepair, float64(repair))
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
