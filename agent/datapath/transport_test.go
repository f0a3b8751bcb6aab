package datapath

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
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
	check("a plain reader", io.MultiReader(bytes.NewReader(blob[:1000]), bytes.NewReader(blob[1000:])), blob)
	check("a small body", strings.NewReader("x"), []byte("x"))

	// A body longer than its Content-Length fails, and sends no more than
	// its length: the connection stays usable.
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
