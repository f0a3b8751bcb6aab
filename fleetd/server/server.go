package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/shingle-storage/shingle/fleetd/volume"
	"github.com/shingle-storage/shingle/internal/tracing"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/shingle-storage/shingle/api/fleet/v1/fleetv1connect"
	"github.com/shingle-storage/shingle/fleetd/pki"
	"github.com/shingle-storage/shingle/fleetd/raftnode"
	"github.com/shingle-storage/shingle/fleetd/state"
)

// Server is one running fleetd server. Open starts Raft and binds the API
// address; Run serves until its context ends; Close releases everything.
type Server struct {
	cfg     Config
	log     *slog.Logger
	fsm     *state.FSM
	node    *raftnode.Node
	live    *Liveness
	peers   *peers
	metrics *metrics
	volumes *volume.Manager
	agents  *volume.Agents

	api         *http.Server
	apiLn       net.Listener
	metricsHTTP *http.Server // plain-HTTP /metrics, if Config.MetricsAddr is set
	metricsLn   net.Listener

	closeOnce sync.Once
	closeErr  error
}

// Open starts a server: it opens the Raft node from cfg.Dir and binds the
// API (and metrics) addresses, so that a port already in use fails here,
// before anything is served. Call Run to serve.
func Open(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	log = log.With("node", cfg.ID)
	serverTLS, err := pki.ServerConfig(cfg.TLS)
	if err != nil {
		return nil, fmt.Errorf("API TLS: %w (make certificates with the pki package, or see tools/devcluster)", err)
	}
	clientTLS, err := pki.ClientConfig(cfg.TLS)
	if err != nil {
		return nil, fmt.Errorf("peer TLS: %w", err)
	}
	s := &Server{
		cfg:   cfg,
		log:   log,
		fsm:   state.NewFSM(),
		live:  NewLiveness(cfg.HeartbeatTimeout, cfg.RepairGrace, time.Now),
		peers: newPeers(clientTLS, tracing.Interceptor(cfg.Tracer)),
	}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	if s.apiLn, err = net.Listen("tcp", cfg.APIAddr); err != nil {
		return nil, fmt.Errorf("listen for the API on %s: %w", cfg.APIAddr, err)
	}
	if cfg.MetricsAddr != "" {
		if s.metricsLn, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			return nil, fmt.Errorf("listen for metrics on %s: %w", cfg.MetricsAddr, err)
		}
	}
	s.node, err = raftnode.Open(raftnode.Config{
		ID:        cfg.ID,
		Dir:       cfg.Dir,
		BindAddr:  cfg.RaftAddr,
		FSM:       s.fsm,
		Forwarder: s,
		Logger:    raftLogger(log),
		Timing:    cfg.Timing,
	})
	if err != nil {
		return nil, err
	}
	s.metrics = newMetrics(s)
	s.agents = volume.NewAgents(clientTLS, connect.WithInterceptors(tracing.Interceptor(cfg.Tracer)))
	s.volumes = volume.New(volumeFleet{s}, s.agents, cfg.Volumes, log)
	mux := http.NewServeMux()
	s.mount(mux)
	s.api = &http.Server{
		Handler:           authorize(mux),
		TLSConfig:         serverTLS,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	s.apiLn = tls.NewListener(s.apiLn, serverTLS)
	if s.metricsLn != nil {
		m := http.NewServeMux()
		m.Handle("/metrics", s.metrics.handler())
		s.metricsHTTP = &http.Server{Handler: m, ReadHeaderTimeout: 10 * time.Second}
	}
	ok = true
	return s, nil
}

// mount registers every service and /metrics on mux.
func (s *Server) mount(mux *http.ServeMux) {
	opts := []connect.HandlerOption{connect.WithInterceptors(tracing.Interceptor(s.cfg.Tracer), s.metrics.interceptor())}
	mux.Handle(fleetv1connect.NewClusterServiceHandler(&clusterService{s}, opts...))
	mux.Handle(fleetv1connect.NewFleetServiceHandler(&fleetService{s}, opts...))
	mux.Handle(fleetv1connect.NewTokenServiceHandler(&tokenService{s}, opts...))
	mux.Handle(fleetv1connect.NewAgentServiceHandler(&agentService{s}, opts...))
	mux.Handle(fleetv1connect.NewForwardServiceHandler(&forwardService{s}, opts...))
	mux.Handle(fleetv1connect.NewVolumeServiceHandler(&volumeService{s}, opts...))
	mux.Handle("/metrics", s.metrics.handler())
}

// APIAddr is the address the API is served on.
func (s *Server) APIAddr() string { return s.cfg.APIAddr }

// Node is the server's Raft node.
func (s *Server) Node() *raftnode.Node { return s.node }

// ErrRemoved is returned by Run when this server has been removed from the
// cluster: it can serve nothing any more.
var ErrRemoved = errors.New("this server was removed from the cluster; to bring it back, start it with an empty --dir and --join")

// Run serves the API, bootstraps or joins a cluster if asked to and the
// data directory is new, and keeps the server's record and soft state
// current, until ctx ends (a clean shutdown: it returns nil) or the server
// is removed from the cluster (ErrRemoved). It then shuts down and closes
// the server.
func (s *Server) Run(ctx context.Context) error {
	defer s.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() { errc <- s.api.Serve(s.apiLn) }()
	if s.metricsHTTP != nil {
		go func() { errc <- s.metricsHTTP.Serve(s.metricsLn) }()
	}
	s.log.Info("fleetd serving", "api", s.cfg.APIAddr, "raft", s.node.Addr(), "restarted", s.node.Restarted())

	if err := s.start(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	removed := make(chan struct{})
	for _, loop := range []func(context.Context){s.watchLeadership, s.recordSelf, func(ctx context.Context) { s.watchRemoval(ctx, removed) }} {
		wg.Add(1)
		go func() { defer wg.Done(); loop(ctx) }()
	}
	var err error
	select {
	case <-ctx.Done():
		s.log.Info("fleetd shutting down")
	case <-removed:
		err = ErrRemoved
		s.log.Warn("fleetd removed from the cluster; stopping")
	case err = <-errc:
		err = fmt.Errorf("API server stopped: %w", err)
	}
	cancel()
	wg.Wait()
	s.shutdown()
	return err
}

// start bootstraps or joins, for a server on a new data directory.
func (s *Server) start(ctx context.Context) error {
	switch {
	case s.node.Restarted():
		if s.cfg.Bootstrap || s.cfg.Join != "" {
			s.log.Info("data directory holds Raft state; rejoining the cluster by itself, ignoring --bootstrap and --join")
		}
	case s.cfg.Bootstrap:
		if err := s.node.Bootstrap(); err != nil && !errors.Is(err, raftnode.ErrAlreadyBootstrapped) {
			return fmt.Errorf("bootstrap: %w", err)
		}
		s.log.Info("bootstrapped a new cluster with this server as its only member")
	case s.cfg.Join != "":
		go s.join(ctx)
	default:
		s.log.Warn("new data directory and neither --bootstrap nor --join: waiting for a member to add this server",
			"hint", fmt.Sprintf("fleetctl cluster join --id %s --raft-addr %s --api-addr %s", s.cfg.ID, s.node.Addr(), s.cfg.APIAddr))
	}
	return nil
}

// shutdown hands leadership over if this server leads (so the cluster
// does not wait out an election), then stops serving, letting calls in
// flight finish for a few seconds.
func (s *Server) shutdown() {
	if s.node.IsLeader() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		if servers, err := s.node.Servers(ctx); err == nil && len(servers) > 1 {
			if err := s.node.TransferLeadership(ctx, ""); err != nil {
				s.log.Warn("could not hand over leadership before stopping", "err", err)
			} else {
				s.log.Info("handed over leadership before stopping")
			}
		}
		cancel()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.api.Shutdown(ctx); err != nil {
		s.log.Warn("API shutdown", "err", err)
	}
	if s.metricsHTTP != nil {
		_ = s.metricsHTTP.Shutdown(ctx)
	}
}

// Close stops Raft and releases the listeners. Run calls it; call it
// yourself only for a server that was opened and never run.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.api != nil {
			_ = s.api.Close()
		}
		if s.metricsHTTP != nil {
			_ = s.metricsHTTP.Close()
		}
		for _, ln := range []net.Listener{s.apiLn, s.metricsLn} {
			if ln != nil {
				_ = ln.Close()
			}
		}
		if s.node != nil {
			errs = append(errs, s.node.Close())
		}
		if s.peers != nil {
			s.peers.close()
		}
		if s.agents != nil {
			s.agents.Close()
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}
