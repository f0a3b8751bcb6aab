package server

import (
	"bytes"
	"errors"
	"net/http"
	"testing"

	"connectrpc.com/connect"
	"github.com/shingle-storage/shingle/agent/datapath"
	"github.com/shingle-storage/shingle/agent/record"
	agentv1 "github.com/shingle-storage/shingle/api/agent/v1"
)

// TestStreamBlobs creates an extent under a chosen id, puts blobs, deletes
// some, and reads the extent back as a blob stream: exactly the live
// blobs, byte for byte, with the count in the trailer. A second create of
// the id is already_exists and a stream of a missing extent not_found.
func TestStreamBlobs(t *testing.T) {
	e := newTestEnv(t, smallDrives)
	drive := e.drives[0].ID
	const ext = 42 << 16
	created, err := e.ctl.CreateExtent(t.Context(), connect.NewRequest(&agentv1.CreateExtentRequest{Drive: drive, Id: ext}))
	if err != nil || created.Msg.GetExtent().GetId() != ext {
		t.Fatalf("create extent %d: %v, got %v", ext, err, created)
	}
	_, err = e.ctl.CreateExtent(t.Context(), connect.NewRequest(&agentv1.CreateExtentRequest{Drive: drive, Id: ext}))
	if connect.CodeOf(err) != connect.CodeAlreadyExists {
		t.Fatalf("second create of extent %d: %v, want already_exists", ext, err)
	}
	want := map[record.Key][]byte{}
	var order []record.Key
	for i := range 30 {
		k, d := randomKey(), randomBytes(100+i*7919)
		if err := e.put(e.hc, datapath.BlobPath(drive, ext, k), d); err != nil {
			t.Fatal(err)
		}
		want[k] = d
		order = append(order, k)
	}
	for i := 0; i < 30; i += 4 {
		req, _ := http.NewRequestWithContext(t.Context(), "DELETE", e.base+datapath.BlobPath(drive, ext, order[i]), nil)
		resp, err := e.hc.Do(req)
		if err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("delete: %v %v", err, resp)
		}
		resp.Body.Close()
		delete(want, order[i])
	}
	read := func(hc *http.Client, path string) (map[record.Key][]byte, int, error) {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", e.base+path, nil)
		resp, err := hc.Do(req)
		if err != nil {
			return nil, 0, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, resp.StatusCode, nil
		}
		got := map[record.Key][]byte{}
		_, err = datapath.ReadStream(resp.Body, func() string { return resp.Trailer.Get(datapath.HeaderBlobCount) }, func(k datapath.Key, b []byte) error {
			if got[k] != nil {
				return errors.New("a key twice")
			}
			got[k] = bytes.Clone(b)
			return nil
		})
		return got, resp.StatusCode, err
	}
	// Over HTTP/2, and over HTTP/1.1, where the agent corks the socket
	// while it writes.
	for _, hc := range []*http.Client{e.hc, e.newClient(false)} {
		got, _, err := read(hc, datapath.StreamPath(drive, ext))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("stream has %d blobs, want %d", len(got), len(want))
		}
		for k, d := range want {
			if !bytes.Equal(got[k], d) {
				t.Fatalf("blob %x: %d bytes streamed, want %d", k[:4], len(got[k]), len(d))
			}
		}
	}
	if _, status, _ := read(e.hc, datapath.StreamPath(drive, 12345)); status != http.StatusNotFound {
		t.Fatalf("stream of a missing extent: status %d, want 404", status)
	}
}

// TestReadStreamRefusesDamage checks the stream decoder: a flipped byte,
// a cut stream and a wrong count in the trailer are errors.
func TestReadStreamRefusesDamage(t *testing.T) {
	var s []byte
	for i := range 3 {
		s = datapath.AppendFrame(s, record.Key{byte(i)}, randomBytes(1000))
	}
	none := func(datapath.Key, []byte) error { return nil }
	if n, err := datapath.ReadStream(bytes.NewReader(s), func() string { return "3" }, none); err != nil || n != 3 {
		t.Fatalf("good stream: %d blobs, %v", n, err)
	}
	bad := bytes.Clone(s)
	bad[len(bad)-5] ^= 1
	if _, err := datapath.ReadStream(bytes.NewReader(bad), func() string { return "3" }, none); err == nil {
		t.Fatal("a flipped byte went unnoticed")
	}
	if _, err := datapath.ReadStream(bytes.NewReader(s[:len(s)-10]), func() string { return "" }, none); !errors.Is(err, datapath.ErrStreamCut) {
		t.Fatalf("a cut stream: %v", err)
	}
	if _, err := datapath.ReadStream(bytes.NewReader(s), func() string { return "4" }, none); !errors.Is(err, datapath.ErrStreamCut) {
		t.Fatalf("a wrong count: %v", err)
	}
	if _, err := datapath.ReadStream(bytes.NewReader(s), func() string { return "" }, none); !errors.Is(err, datapath.ErrStreamCut) {
		t.Fatalf("no trailer: %v", err)
	}
}
