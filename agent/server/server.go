package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/shingle-storage/shingle/agent/datapath"
	"github.com/shingle-storage/shingle/agent/health/monitor"
	"github.com/shingle-storage/shingle/api/agent/v1/agentv1connect"
	"github.com/shingle-storage/shingle/fleetd/pki"
	"github.com/shingle-storage/shingle/internal/tracing"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Config configures a Server.
type Config struct {
	// Addr is the host:port the API listens on ("127.0.0.1:0" picks a
	// free port; see Server.Addr).
	Addr string
	// TLS names the cluster CA and the agent's certificate and key. Every
	// caller must present a certificate the CA signed.
	TLS pki.Files
	// Drives are the drives to serve. The server owns them from New on
	// and closes them when it stops.
	Drives []*Drive
	// Fleet, if its Addr is set, registers the host with fleetd and sends
	// heartbeats. An empty Fleet.Address advertises the listen address.
	Fleet Fleet
	// ShutdownTimeout bounds how long stopping waits for requests in
	// flight (30s).
	ShutdownTimeout time.Duration
	// Logger receives the server's logs.
	Logger *slog.Logger
	// Health configures the drive health monitor (SMART, the failure
	// predictor, fail-slow); zero values take its defaults.
	Health monitor.Config
	// Tracer traces control calls and data-path requests, with the
	// store's work and device writes as child spans. Nil records nothing.
	Tracer trace.TracerProvider
	// Scrubbing is the agent's own scrub cadence (off when zero).
	Scrubbing Scrubbing
	// PoolCompaction is how the drives' shard pools are compacted (off
	// when zero).
	PoolCompaction PoolCompaction
}

// Server is a running agent API.
type Server struct {
	cfg     Config
	drives  *drives
	metrics *metrics
	scrubs  *scrubber
	ln      net.Listener
	http    *http.Server
	reg     *registrar
	log     *slog.Logger
}

// New listens on cfg.Addr and prepares the API over cfg.Drives. On error
// the drives are closed.
func New(cfg Config) (_ *Server, err error) {
	defer func() {
		if err != nil {
			closeDrives(cfg.Drives, cfg.Logger)
		}
	}()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	if cfg.Tracer == nil {
		cfg.Tracer = noop.NewTracerProvider()
	}
	ds, err := newDrives(cfg.Drives)
	if err != nil {
		return nil, err
	}
	if err := ds.startHealth(cfg.Health, cfg.Logger); err != nil {
		return nil, err
	}
	serverTLS, err := pki.ServerConfig(cfg.TLS)
	if err != nil {
		return nil, fmt.Errorf("agent TLS: %w", err)
	}
	// Blobs go out in full-size records from a connection's first byte.
	serverTLS.DynamicRecordSizingDisabled = true
	s := &Server{cfg: cfg, drives: ds, metrics: newMetrics(ds), log: cfg.Logger}
	mux := http.NewServeMux()
	s.scrubs = newScrubber(ds, s.metrics.reg, cfg.Logger)
	mux.Handle(agentv1connect.NewExtentServiceHandler(&control{drives: ds, scrubs: s.scrubs},
		connect.WithInterceptors(tracing.Interceptor(cfg.Tracer))))
	(&dataPath{drives: ds, metrics: s.metrics, log: cfg.Logger, tracer: cfg.Tracer}).mount(mux)
	mux.Handle("GET /metrics", s.metrics.handler())
	s.http = &http.Server{
		Handler:           requireClientCert(mux),
		TLSConfig:         serverTLS,
		ReadHeaderTimeout: 10 * time.Second,
		ConnContext:       withSocket,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("agent API: %w; pick a free --addr", err)
	}
	// Connections are datapath.Sockets beneath their TLS, which the data
	// path's handlers find in their requests' contexts.
	s.ln = tls.NewListener(datapath.Listen(ln), serverTLS)
	if cfg.Fleet.Addr != "" {
		clientTLS, err := pki.ClientConfig(cfg.TLS)
		if err != nil {
			_ = ln.Close()
			return nil, fmt.Errorf("agent TLS: %w", err)
		}
		if cfg.Fleet.Address == "" {
			cfg.Fleet.Address = ln.Addr().String()
		}
		s.reg = newRegistrar(cfg.Fleet, clientTLS, ds, cfg.Logger)
		s.reg.badExtents = s.scrubs.badExtents
	}
	return s, nil
}

// Addr is the address the API listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Run serves until ctx ends, then stops: it stops taking requests, lets
// the ones in flight (writes included) finish, and closes every drive's
// store. It returns nil after a clean stop.
func (s *Server) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	regCtx, stopReg := context.WithCancel(ctx)
	defer stopReg()
	if s.reg != nil {
		wg.Go(func() { s.reg.run(regCtx) })
	}
	wg.Go(func() { s.drives.runHealth(regCtx) })
	wg.Go(func() { s.scrubs.runCadence(regCtx, s.drives, s.cfg.Scrubbing) })
	wg.Go(func() { s.runPoolCompaction(regCtx, s.cfg.PoolCompaction) })
	served := make(chan error, 1)
	go func() { served <- s.http.Serve(s.ln) }()
	s.log.Info("serving", "addr", s.Addr(), "drives", len(s.drives.list))

	var err error
	select {
	case err = <-served:
		err = fmt.Errorf("agent API stopped: %w", err)
	case <-ctx.Done():
		s.log.Info("stopping: draining requests in flight")
		sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		if serr := s.http.Shutdown(sctx); serr != nil {
			err = fmt.Errorf("agent API: requests still in flight after %s: %w", s.cfg.ShutdownTimeout, serr)
		}
		cancel()
		if serveErr := <-served; !errors.Is(serveErr, http.ErrServerClosed) {
			err = errors.Join(err, serveErr)
		}
	}
	stopReg()
	wg.Wait()
	s.scrubs.stop()
	return errors.Join(err, closeDrives(s.drives.list, s.log))
}

// closeDrives closes every drive, logging each.
func closeDrives(list []*Drive, log *slog.Logger) error {
	var errs []error
	for _, d := range list {
		if err := d.Close(); err != nil {
			errs = append(errs, err)
			continue
		}
		if log != nil {
			log.Info("closed drive", "drive", d.ID, "path", d.Path)
		}
	}
	return errors.Join(errs...)
}
