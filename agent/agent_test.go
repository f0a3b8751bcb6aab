package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"github.com/shingle-storage/shingle/agent/datapath"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/shingle-storage/shingle/agent/record"
	agentv1 "github.com/shingle-storage/shingle/api/agent/v1"
	"github.com/shingle-storage/shingle/fleetd/pki"
)

// ctx is a context for one call.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// randomKey is a fresh blob key.
func randomKey() record.Key {
	var k record.Key
	_, _ = rand.Read(k[:])
	return k
}

// crcHeader is the header carrying crc.
func crcHeader(crc string) http.Header {
	return http.Header{datapath.HeaderCRC32C: {crc}}
}

// errorCode reads the code of a data-path error body.
func errorCode(t *testing.T, body []byte) string {
	t.Helper()
	var e struct{ Code, Message string }
	if err := json.Unmarshal(body, &e); err != nil || e.Message == "" {
		t.Fatalf("error body %q is not {code, message}", body)
	}
	return e.Code
}

// TestPutGetRestart runs a real agent on two emulated drives: it puts a
// blob over HTTPS with a client certificate and reads it back byte for
// byte, refuses a body whose CRC32C does not match (storing nothing), an
// unknown extent, an oversized blob and a caller without a certificate or
// with one from another CA; then it stops on SIGTERM, starts again on the
// same drives, and serves the blob again.
func TestPutGetRestart(t *testing.T) {
	c := newCerts(t)
	dir := t.TempDir()
	a := startAgent(t, devArgs(c, dir)...)
	hc := httpClient(t, c.client)
	ctl := a.control(hc)

	drives, err := ctl.ListDrives(ctx(t), connect.NewRequest(&agentv1.ListDrivesRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(drives.Msg.GetDrives()); n != 2 {
		t.Fatalf("ListDrives: %d drives, want 2", n)
	}
	drive := drives.Msg.GetDrives()[1]
	if drive.GetHealth() != "ok" || drive.GetFreeBytes() == 0 || drive.GetCapacityBytes() != 128<<20 {
		t.Fatalf("drive %v: want health ok, free space, 128 MiB", drive)
	}
	created, err := ctl.CreateExtent(ctx(t), connect.NewRequest(&agentv1.CreateExtentRequest{Drive: drive.GetId()}))
	if err != nil {
		t.Fatal(err)
	}
	ext := created.Msg.GetExtent().GetId()

	blob := make([]byte, 1<<20+123)
	_, _ = rand.Read(blob)
	key := randomKey()
	path := datapath.BlobPath(drive.GetId(), ext, key)
	if code, body, _, err := a.do(hc, "PUT", path, blob, crcHeader(datapath.FormatCRC32C(blob))); err != nil || code != http.StatusCreated {
		t.Fatalf("PUT: %d %s %v", code, body, err)
	}
	get := func(a *agentProc) {
		t.Helper()
		code, body, h, err := a.do(hc, "GET", path, nil, nil)
		if err != nil || code != http.StatusOK {
			t.Fatalf("GET: %d %s %v", code, body, err)
		}
		if !bytes.Equal(body, blob) {
			t.Fatalf("GET returned %d bytes that differ from the %d put", len(body), len(blob))
		}
		if h.Get(datapath.HeaderCRC32C) != datapath.FormatCRC32C(blob) {
			t.Fatalf("GET's %s is %q, want %q", datapath.HeaderCRC32C, h.Get(datapath.HeaderCRC32C), datapath.FormatCRC32C(blob))
		}
	}
	get(a)

	// A damaged body is refused and leaves nothing behind.
	bad := randomKey()
	badPath := datapath.BlobPath(drive.GetId(), ext, bad)
	damaged := bytes.Clone(blob)
	damaged[len(damaged)/2] ^= 1
	code, body, _, err := a.do(hc, "PUT", badPath, damaged, crcHeader(datapath.FormatCRC32C(blob)))
	if err != nil || code != http.StatusBadRequest || errorCode(t, body) != "data_loss" {
		t.Fatalf("PUT with a wrong CRC32C: %d %s %v, want 400 data_loss", code, body, err)
	}
	if code, body, _, _ := a.do(hc, "GET", badPath, nil, nil); code != http.StatusNotFound || errorCode(t, body) != "not_found" {
		t.Fatalf("GET of a refused blob: %d %s, want 404 not_found", code, body)
	}
	// No checksum at all is refused too.
	if code, body, _, _ := a.do(hc, "PUT", badPath, blob, nil); code != http.StatusBadRequest || errorCode(t, body) != "invalid_argument" {
		t.Fatalf("PUT without a CRC32C: %d %s, want 400 invalid_argument", code, body)
	}
	// Unknown extent, unknown drive.
	if code, body, _, _ := a.do(hc, "PUT", datapath.BlobPath(drive.GetId(), ext+1000, bad), blob, crcHeader(datapath.FormatCRC32C(blob))); code != http.StatusNotFound || errorCode(t, body) != "not_found" {
		t.Fatalf("PUT to an unknown extent: %d %s, want 404 not_found", code, body)
	}
	if code, body, _, _ := a.do(hc, "GET", datapath.BlobPath("no-such-drive", ext, key), nil, nil); code != http.StatusNotFound {
		t.Fatalf("GET from an unknown drive: %d %s, want 404", code, body)
	}
	// Over 4 MiB.
	huge := make([]byte, record.MaxPayload+1)
	if code, body, _, _ := a.do(hc, "PUT", badPath, huge, crcHeader(datapath.FormatCRC32C(huge))); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("PUT of %d bytes: %d %s, want 413", len(huge), code, body)
	}
	// The same key twice.
	if code, body, _, _ := a.do(hc, "PUT", path, blob, crcHeader(datapath.FormatCRC32C(blob))); code != http.StatusConflict || errorCode(t, body) != "already_exists" {
		t.Fatalf("second PUT of one key: %d %s, want 409 already_exists", code, body)
	}

	// Callers without a certificate, or with one from another CA.
	caOnly, err := pki.ClientConfig(c.client)
	if err != nil {
		t.Fatal(err)
	}
	caOnly.Certificates = nil
	if _, _, _, err := a.do(clientWith(caOnly), "GET", path, nil, nil); err == nil {
		t.Fatal("a client without a certificate was served")
	}
	other := pki.Dir(t.TempDir())
	otherCA, err := other.EnsureCA()
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := other.Ensure(otherCA, pki.Request{Name: "tester", Role: pki.RoleOperator})
	if err != nil {
		t.Fatal(err)
	}
	strangerTLS, err := pki.ClientConfig(stranger)
	if err != nil {
		t.Fatal(err)
	}
	strangerTLS.RootCAs = caOnly.RootCAs // it trusts the agent, the agent does not trust it
	if _, _, _, err := a.do(clientWith(strangerTLS), "GET", path, nil, nil); err == nil {
		t.Fatal("a client with another CA's certificate was served")
	}

	// Metrics count the bytes put and the refusals.
	code, body, _, err = a.do(hc, "GET", "/metrics", nil, nil)
	if err != nil || code != http.StatusOK {
		t.Fatalf("/metrics: %d %v", code, err)
	}
	for _, want := range []string{
		`shingle_agent_drive_bytes_total{drive="` + drive.GetId() + `",op="put"} 1.048699e+06`,
		`shingle_agent_drive_errors_total{code="data_loss",drive="` + drive.GetId() + `",op="put"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	a.stop()
	if !strings.Contains(a.output(), `"msg":"closed drive"`) {
		t.Fatalf("the agent did not close its drives on SIGTERM:\n%s", a.output())
	}
	b := startAgent(t, devArgs(c, dir)...)
	get(b)
	again, err := b.control(hc).ListDrives(ctx(t), connect.NewRequest(&agentv1.ListDrivesRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if got := again.Msg.GetDrives()[1]; got.GetId() != drive.GetId() || got.GetBlobs() != 1 {
		t.Fatalf("after restart drive is %v, want id %s with 1 blob", got, drive.GetId())
	}
	b.stop()
}

// TestControlErrors drives the control API into each of its refusals:
// unknown extent (NotFound), a put into a sealed extent (409
// failed_precondition), compacting an open extent (FailedPrecondition),
// and a drive with no free extent (ResourceExhausted); then deletes an
// extent and compacts a sealed one.
func TestControlErrors(t *testing.T) {
	c := newCerts(t)
	a := startAgent(t, devArgs(c, t.TempDir())...)
	hc := httpClient(t, c.client)
	ctl := a.control(hc)
	drives, err := ctl.ListDrives(ctx(t), connect.NewRequest(&agentv1.ListDrivesRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	drive := drives.Msg.GetDrives()[0].GetId()
	wantCode := func(what string, err error, code connect.Code) {
		t.Helper()
		if connect.CodeOf(err) != code {
			t.Fatalf("%s: %v, want %v", what, err, code)
		}
	}

	_, err = ctl.StatExtent(ctx(t), connect.NewRequest(&agentv1.StatExtentRequest{Drive: drive, Extent: 999}))
	wantCode("StatExtent of an unknown extent", err, connect.CodeNotFound)
	_, err = ctl.ListExtents(ctx(t), connect.NewRequest(&agentv1.ListExtentsRequest{Drive: "nope"}))
	wantCode("ListExtents of an unknown drive", err, connect.CodeNotFound)

	created, err := ctl.CreateExtent(ctx(t), connect.NewRequest(&agentv1.CreateExtentRequest{Drive: drive}))
	if err != nil {
		t.Fatal(err)
	}
	ext := created.Msg.GetExtent().GetId()
	blob := []byte("a small blob")
	for range 3 {
		if code, body, _, err := a.do(hc, "PUT", datapath.BlobPath(drive, ext, randomKey()), blob, crcHeader(datapath.FormatCRC32C(blob))); code != http.StatusCreated {
			t.Fatalf("PUT: %d %s %v", code, body, err)
		}
	}
	deleted := randomKey()
	if code, body, _, err := a.do(hc, "PUT", datapath.BlobPath(drive, ext, deleted), blob, crcHeader(datapath.FormatCRC32C(blob))); code != http.StatusCreated {
		t.Fatalf("PUT: %d %s %v", code, body, err)
	}
	if code, body, _, err := a.do(hc, "DELETE", datapath.BlobPath(drive, ext, deleted), nil, nil); code != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s %v", code, body, err)
	}
	_, err = ctl.CompactExtent(ctx(t), connect.NewRequest(&agentv1.CompactExtentRequest{Drive: drive, Extent: ext}))
	wantCode("CompactExtent of an open extent", err, connect.CodeFailedPrecondition)

	sealed, err := ctl.SealExtent(ctx(t), connect.NewRequest(&agentv1.SealExtentRequest{Drive: drive, Extent: ext}))
	if err != nil {
		t.Fatal(err)
	}
	if s := sealed.Msg.GetExtent().GetState(); s != agentv1.ExtentState_EXTENT_STATE_SEALED {
		t.Fatalf("sealed extent is %v", s)
	}
	code, body, _, _ := a.do(hc, "PUT", datapath.BlobPath(drive, ext, randomKey()), blob, crcHeader(datapath.FormatCRC32C(blob)))
	if code != http.StatusConflict || errorCode(t, body) != "failed_precondition" {
		t.Fatalf("PUT into a sealed extent: %d %s, want 409 failed_precondition", code, body)
	}
	compacted, err := ctl.CompactExtent(ctx(t), connect.NewRequest(&agentv1.CompactExtentRequest{Drive: drive, Extent: ext}))
	if err != nil {
		t.Fatal(err)
	}
	if n := compacted.Msg.GetExtent(); n.GetId() == ext || n.GetState() != agentv1.ExtentState_EXTENT_STATE_SEALED {
		t.Fatalf("compaction made %v", n)
	}
	_, err = ctl.StatExtent(ctx(t), connect.NewRequest(&agentv1.StatExtentRequest{Drive: drive, Extent: ext}))
	wantCode("StatExtent of a compacted extent", err, connect.CodeNotFound)
	if _, err := ctl.DeleteExtent(ctx(t), connect.NewRequest(&agentv1.DeleteExtentRequest{Drive: drive, Extent: compacted.Msg.GetExtent().GetId()})); err != nil {
		t.Fatal(err)
	}

	// Fill the drive with extents until it refuses.
	var full error
	for range 100 {
		if _, full = ctl.CreateExtent(ctx(t), connect.NewRequest(&agentv1.CreateExtentRequest{Drive: drive})); full != nil {
			break
		}
	}
	wantCode("CreateExtent on a full drive", full, connect.CodeResourceExhausted)
	a.stop()
}

// TestBadFlags checks the agent refuses to start without drives, naming
// the flag that fixes it.
func TestBadFlags(t *testing.T) {
	c := newCerts(t)
	cmd := exec.Command(agentBin, "--addr", "127.0.0.1:0", "--ca", c.agent.CA, "--cert", c.agent.Cert, "--key", c.agent.Key)
	out, err := cmd.CombinedOutput()
	var exit interface{ ExitCode() int }
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), "--dev-drives") {
		t.Fatalf("agent without drives: %v\n%s", err, out)
	}
}

// TestSIGTERMDrainsWrites sends SIGTERM while a PUT's body is half
// uploaded: the agent finishes that PUT (201) before it stops, and the
// blob is there after a restart.
func TestSIGTERMDrainsWrites(t *testing.T) {
	c := newCerts(t)
	dir := t.TempDir()
	a := startAgent(t, devArgs(c, dir)...)
	hc := httpClient(t, c.client)
	drives, err := a.control(hc).ListDrives(ctx(t), connect.NewRequest(&agentv1.ListDrivesRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	drive := drives.Msg.GetDrives()[0].GetId()
	created, err := a.control(hc).CreateExtent(ctx(t), connect.NewRequest(&agentv1.CreateExtentRequest{Drive: drive}))
	if err != nil {
		t.Fatal(err)
	}
	blob := make([]byte, 2<<20)
	_, _ = rand.Read(blob)
	path := datapath.BlobPath(drive, created.Msg.GetExtent().GetId(), randomKey())

	body, upload := io.Pipe()
	req, err := http.NewRequestWithContext(ctx(t), "PUT", "https://"+a.addr+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(blob))
	req.Header.Set(datapath.HeaderCRC32C, datapath.FormatCRC32C(blob))
	status := make(chan string, 1)
	go func() {
		resp, err := hc.Do(req)
		if err != nil {
			status <- err.Error()
			return
		}
		resp.Body.Close()
		status <- resp.Status
	}()
	if _, err := upload.Write(blob[:len(blob)/2]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	select {
	case <-a.done:
		t.Fatalf("the agent exited with a PUT in flight:\n%s", a.output())
	default:
	}
	if _, err := upload.Write(blob[len(blob)/2:]); err != nil {
		t.Fatal(err)
	}
	upload.Close()
	if s := <-status; s != "201 Created" {
		t.Fatalf("PUT in flight at SIGTERM: %s, want 201 Created\n%s", s, a.output())
	}
	a.stop()

	b := startAgent(t, devArgs(c, dir)...)
	code, got, _, err := b.do(hc, "GET", path, nil, nil)
	if err != nil || code != http.StatusOK || !bytes.Equal(got, blob) {
		t.Fatalf("GET after restart: %d, %d bytes, %v; want 200 and the %d bytes put", code, len(got), err, len(blob))
	}
	b.stop()
}

// TestParseSize checks sizes with and without suffixes, and refusals.
func TestParseSize(t *testing.T) {
	for s, want := range map[string]int64{"4096": 4096, "8MiB": 8 << 20, "16GiB": 16 << 30, "2TiB": 2 << 40, "3KiB": 3 << 10} {
		if got, err := parseSize(s); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "-1GiB", "1GB", "lots", "99999999999TiB"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) accepted", bad)
		}
	}
}
