package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/api/fleet/v1/fleetv1connect"
)

// brokenServer accepts calls and drops each connection after reading the
// request, as a server killed mid-call does; it counts the calls it got.
func brokenServer(t *testing.T, calls *atomic.Int32) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		go srv.CloseClientConnections() // no answer: the connection just ends
		<-r.Context().Done()
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// TestWritesAreNotResentAfterABrokenCall checks that a write whose
// connection broke after it was sent is reported as of unknown outcome and
// not sent to the next server (it may have been applied), while a read
// moves on to the next server.
func TestWritesAreNotResentAfterABrokenCall(t *testing.T) {
	var first, second atomic.Int32
	a, b := brokenServer(t, &first), brokenServer(t, &second)
	pool := x509.NewCertPool()
	pool.AddCert(a.Certificate())
	pool.AddCert(b.Certificate())
	conf := &tls.Config{RootCAs: pool}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: conf, ForceAttemptHTTP2: true}}
	f := &fleet{timeout: 2 * time.Second, tls: conf}
	for _, s := range []*httptest.Server{a, b} {
		f.addrs = append(f.addrs, s.Listener.Addr().String())
		f.servers = append(f.servers, &clients{addr: s.Listener.Addr().String(),
			token: fleetv1connect.NewTokenServiceClient(hc, s.URL), fleet: fleetv1connect.NewFleetServiceClient(hc, s.URL)})
	}
	ctx := context.Background()

	_, _, err := callWrite(ctx, f, &fleetv1.CreateTokenRequest{}, func(s *clients) rpc[fleetv1.CreateTokenRequest, fleetv1.CreateTokenResponse] {
		return s.token.CreateToken
	})
	var unknown *outcomeUnknownError
	if !errors.As(err, &unknown) {
		t.Fatalf("write on a broken connection: %v, want an outcome-unknown error", err)
	}
	if first.Load() != 1 || second.Load() != 0 {
		t.Fatalf("the write reached the servers %d and %d times; want once, and only the first", first.Load(), second.Load())
	}
	if code, msg := classify(err); code != exitFailed || msg == "" {
		t.Fatalf("classify: %d %q", code, msg)
	}

	_, _, err = call(ctx, f, &fleetv1.ListRacksRequest{}, func(s *clients) rpc[fleetv1.ListRacksRequest, fleetv1.ListRacksResponse] {
		return s.fleet.ListRacks
	})
	var unreachable *unreachableError
	if !errors.As(err, &unreachable) {
		t.Fatalf("read with every connection broken: %v, want unreachable", err)
	}
	if second.Load() != 1 {
		t.Fatalf("the read was not sent on to the second server")
	}
}
