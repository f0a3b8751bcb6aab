package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/shingle-storage/shingle/agent/datapath"
	"github.com/shingle-storage/shingle/agent/record"
	"github.com/shingle-storage/shingle/api/agent/v1/agentv1connect"
	"github.com/shingle-storage/shingle/fleetd/pki"
)

// discard drops logs.
var discard = slog.New(slog.DiscardHandler)

// testEnv is an agent API served in-process over HTTPS with mutual TLS on
// loopback, on emulated drives in a temporary directory.
type testEnv struct {
	srv       *Server
	drives    []*Drive
	clientTLS *tls.Config
	base      string // https://addr
	hc        *http.Client
	ctl       agentv1connect.ExtentServiceClient
	stop      func() error // stops the server; the drives close
}

// newTestEnv starts a server on the drives dd describes (in a temporary
// directory if dd.Dir is empty).
func newTestEnv(tb testing.TB, dd DevDrives) *testEnv {
	tb.Helper()
	return newTestEnvWith(tb, dd, nil)
}

// newTestEnvWith is newTestEnv with the server's Config adjusted by
// adjust, if not nil.
func newTestEnvWith(tb testing.TB, dd DevDrives, adjust func(*Config)) *testEnv {
	tb.Helper()
	certs := pki.Dir(tb.TempDir())
	ca, err := certs.EnsureCA()
	if err != nil {
		tb.Fatal(err)
	}
	agent, err := certs.Ensure(ca, pki.Request{Name: "host-1", Role: pki.RoleAgent})
	if err != nil {
		tb.Fatal(err)
	}
	client, err := certs.Ensure(ca, pki.Request{Name: "tester", Role: pki.RoleOperator})
	if err != nil {
		tb.Fatal(err)
	}
	clientTLS, err := pki.ClientConfig(client)
	if err != nil {
		tb.Fatal(err)
	}
	if dd.Dir == "" {
		dd.Dir = tb.TempDir()
	}
	drives, err := dd.Open(discard)
	if err != nil {
		tb.Fatal(err)
	}
	cfg := Config{Addr: "127.0.0.1:0", TLS: agent, Drives: drives, Logger: discard}
	if adjust != nil {
		adjust(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	e := &testEnv{srv: srv, drives: srv.drives.list, clientTLS: clientTLS, base: "https://" + srv.Addr()}
	e.hc = e.newClient(true)
	e.ctl = agentv1connect.NewExtentServiceClient(e.hc, e.base)
	stopped := false
	var stopErr error
	e.stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			stopErr = <-done
		}
		return stopErr
	}
	tb.Cleanup(func() {
		if err := e.stop(); err != nil {
			tb.Error(err)
		}
	})
	return e
}

// newClient is a client of its own (own connections) of the API, over
// HTTP/2 if h2, else HTTP/1.1.
func (e *testEnv) newClient(h2 bool) *http.Client {
	if !h2 {
		return &http.Client{Transport: datapath.NewTransport(e.clientTLS, 64), Timeout: 60 * time.Second}
	}
	tr := &http.Transport{TLSClientConfig: e.clientTLS.Clone(), ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 64}
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

// randomBytes is n random bytes.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// randomKey is a fresh blob key.
func randomKey() record.Key {
	var k record.Key
	_, _ = rand.Read(k[:])
	return k
}

// response is a data-path answer.
type response struct {
	status  int
	body    []byte
	header  http.Header
	trailer http.Header
}

// do sends a data-path request with hc.
func (e *testEnv) do(hc *http.Client, method, path string, body []byte, header http.Header) (response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.base+path, rd)
	if err != nil {
		return response{}, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := hc.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, body: b, header: resp.Header, trailer: resp.Trailer}, err
}

// put stores data under path, sending its CRC32C.
func (e *testEnv) put(hc *http.Client, path string, data []byte) error {
	r, err := e.do(hc, "PUT", path, data, http.Header{datapath.HeaderCRC32C: {datapath.FormatCRC32C(data)}})
	if err != nil {
		return err
	}
	if r.status != http.StatusCreated {
		return fmt.Errorf("PUT %s: %d %s", path, r.status, r.body)
	}
	return nil
}

// get reads the blob at path and checks it against the CRC32C sent with it.
func (e *testEnv) get(hc *http.Client, path string) ([]byte, error) {
	r, err := e.do(hc, "GET", path, nil, nil)
	if err != nil {
		return nil, err
	}
	if r.status != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d %s", path, r.status, r.body)
	}
	if got, want := datapath.FormatCRC32C(r.body), r.header.Get(datapath.HeaderCRC32C); got != want {
		return nil, fmt.Errorf("GET %s: the body's CRC32C is %s, %s says %q", path, got, datapath.HeaderCRC32C, want)
	}
	return r.body, nil
}

// readRange reads a range and checks its length and trailer.
func (e *testEnv) readRange(hc *http.Client, drive string, id uint64, off, n int64) ([]byte, error) {
	r, err := e.do(hc, "GET", datapath.RangePath(drive, id, off, n), nil, nil)
	if err != nil {
		return nil, err
	}
	if r.status != http.StatusOK {
		return nil, fmt.Errorf("range %d+%d: %d %s", off, n, r.status, r.body)
	}
	if int64(len(r.body)) != n {
		return nil, fmt.Errorf("range %d+%d: %d bytes", off, n, len(r.body))
	}
	want := r.trailer.Get(datapath.HeaderCRC32C)
	if want == "" {
		return nil, errors.New("range: no CRC32C trailer")
	}
	if got := datapath.FormatCRC32C(r.body); got != want {
		return nil, fmt.Errorf("range %d+%d: the body's CRC32C is %s, the trailer says %s", off, n, got, want)
	}
	return r.body, nil
}
