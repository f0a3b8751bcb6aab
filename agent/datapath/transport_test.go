package datapath

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestTransportMovesBodiesWhole sends and fetches bodies of several
// shapes through NewTransport to a TLS server that also speaks HTTP/2,
// and checks each arrives whole, over HTTP/1.1.
func TestTransportMovesBodiesWhole(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	blob := make([]byte, 5<<20+17)
	for i := range blob {
		blob[i] = byte(rng.IntN(256))
	}
	sum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Proto", r.Proto)
		switch r.Method {
		case "PUT":
			b, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.Header().Set("Length", strconv.Itoa(len(b)))
			_, _ = io.WriteString(w, sum(b))
		case "GET":
			_, _ = w.Write(blob)
		}
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	hc := &http.Client{Transport: NewTransport(srv.Client().Transport.(*http.Transport).TLSClientConfig, 4)}
	defer hc.CloseIdleConnections()

	put := func(body io.Reader, length int64) (*http.Response, string, error) {
		t.Helper()
		req, err := http.NewRequest("PUT", srv.URL+"/blob", body)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = length
		resp, err := hc.Do(req)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(b), nil
	}
	check := func(name string, body io.Reader, want []byte) {
		t.Helper()
		resp, got, err := put(body, int64(len(want)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got != sum(want) || resp.Header.Get("Length") != strconv.Itoa(len(want)) {
			t.Fatalf("%s: the server got %s bytes with SHA-256 %s, want %d bytes with %s", name, resp.Header.Get("Length"), got, len(want), sum(want))
		}
		if p := resp.Header.Get("Proto"); p != "HTTP/1.1" {
			t.Fatalf("%s: the request went over %s, not HTTP/1.1", name, p)
		}
	}
	// A body in memory is written from where it is; a reader that cannot
	// write itself goes through a buffer.
	check("bytes.Reader", bytes.NewReader(blob), blob)
	check("a plain reader", struct{ io.Reader }{bytes.NewReader(blob)}, blob)
	check("a small body", strings.NewReader("x"), []byte("x"))

	// A body longer than its Content-Length fails (TestCorkedTLSBoundsABody
	// checks what reaches the wire), and the transport goes on.
	if _, _, err := put(bytes.NewReader(blob), int64(len(blob)-10)); err == nil || !strings.Contains(err.Error(), "Content-Length") {
		t.Fatalf("a body 10 bytes longer than its Content-Length: %v, want an error naming Content-Length", err)
	}
	check("the put after", bytes.NewReader(blob[:4096]), blob[:4096])

	resp, err := hc.Get(srv.URL + "/blob")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("GET: %d bytes (%v), want the %d-byte blob", len(got), err, len(blob))
	}
}

// tlsPair is a TLS connection over loopback TCP: the client end a
// corkedTLS over a Socket, as NewTransport dials, and the server's raw
// and TLS ends.
func tlsPair(t *testing.T) (client *corkedTLS, server *tls.Conn, serverRaw net.Conn) {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.StartTLS() // for its certificate and a client configuration that trusts it
	t.Cleanup(srv.Close)
	cfg := srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	cfg.ServerName = "example.com"
	c, s := tcpPair(t)
	server = tls.Server(s, srv.TLS)
	handshake := make(chan error, 1)
	go func() { handshake <- server.Handshake() }()
	sock := NewSocket(c)
	tc := tls.Client(sock, cfg)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-handshake; err != nil {
		t.Fatal(err)
	}
	return &corkedTLS{Conn: tc, sock: sock}, server, s
}

// TestCorkedTLSBoundsABody checks that a body written through ReadFrom as
// net/http hands it over, an io.LimitedReader of its Content-Length, sends
// exactly that many bytes when the body holds more, and says so.
func TestCorkedTLSBoundsABody(t *testing.T) {
	for _, tc := range []struct {
		name string
		body func([]byte) io.Reader
	}{
		{"a reader that writes itself", func(b []byte) io.Reader { return bytes.NewReader(b) }},
		{"a plain reader", func(b []byte) io.Reader { return struct{ io.Reader }{bytes.NewReader(b)} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, server, _ := tlsPair(t)
			body := bytes.Repeat([]byte("0123456789"), 100_000)
			const limit = 654_321
			received := make(chan []byte, 1)
			go func() {
				b, _ := io.ReadAll(server)
				received <- b
			}()
			n, err := client.ReadFrom(&io.LimitedReader{R: tc.body(body), N: limit})
			plain := tc.name == "a plain reader"
			switch {
			case plain && (err != nil || n != limit):
				// A plain reader is read up to the limit only, as io.Copy would.
				t.Fatalf("ReadFrom: %d, %v; want %d bytes", n, err, limit)
			case !plain && (!errors.Is(err, errBodyTooLong) || n != limit):
				t.Fatalf("ReadFrom: %d, %v; want %d bytes and an error saying the body is too long", n, err, limit)
			}
			client.Close()
			if got := <-received; !bytes.Equal(got, body[:limit]) {
				t.Fatalf("the other end got %d bytes, want the body's first %d", len(got), limit)
			}
		})
	}
}

// TestCorkedTLSCloseBreaksAStuckWrite closes a connection while a corked
// write's last bytes wait for a peer that has stopped reading: the Close,
// and the Write, return at once rather than after crypto/tls's 5 s
// close_notify limit.
func TestCorkedTLSCloseBreaksAStuckWrite(t *testing.T) {
	client, _, serverRaw := tlsPair(t) // the server never reads
	// Small socket buffers, and a write that fits one gather: the TLS
	// connection's Write returns, and the gathered bytes are then stuck
	// in Uncork's send, where crypto/tls cannot see them.
	if err := client.sock.Conn.(*net.TCPConn).SetWriteBuffer(4096); err != nil {
		t.Fatal(err)
	}
	if err := serverRaw.(*net.TCPConn).SetReadBuffer(4096); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := client.Write(make([]byte, 200<<10))
		done <- err
	}()
	time.Sleep(300 * time.Millisecond) // the write is stuck
	start := time.Now()
	client.Close()
	if err := <-done; err == nil {
		t.Fatal("a write to a connection closed under it succeeded")
	}
	if d := time.Since(start); d > 2500*time.Millisecond {
		t.Fatalf("Close and the stuck Write took %v to return; want at once, not crypto/tls's 5 s alert limit", d)
	}
}

// TestCorkedTLSWriteCountsWhatLeft checks that a Write none of whose bytes
// reached the kernel reports 0, as a plain TLS write does, so net/http
// may retry the request elsewhere.
func TestCorkedTLSWriteCountsWhatLeft(t *testing.T) {
	client, _, serverRaw := tlsPair(t)
	if err := serverRaw.(*net.TCPConn).SetLinger(0); err != nil {
		t.Fatal(err)
	}
	serverRaw.Close() // a reset
	time.Sleep(100 * time.Millisecond)
	var n int
	var err error
	for i := 0; i < 5 && err == nil; i++ {
		n, err = client.Write(make([]byte, 1000))
	}
	if err == nil {
		t.Fatal("writes to a reset connection succeeded")
	}
	if n != 0 {
		t.Fatalf("a failed Write reports %d bytes written, want 0", n)
	}
}
