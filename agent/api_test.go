package main

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"github.com/shingle-storage/shingle/agent/datapath"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/shingle-storage/shingle/agent/record"
	agentv1 "github.com/shingle-storage/shingle/api/agent/v1"
	"github.com/shingle-storage/shingle/api/agent/v1/agentv1connect"
	"github.com/shingle-storage/shingle/fleetd/pki"
)

// threeDriveArgs are devArgs with three emulated drives.
func threeDriveArgs(c certs, dir string) []string {
	args := devArgs(c, dir)
	for i, a := range args {
		if a == "--dev-drive-count" {
			args[i+1] = "3"
		}
	}
	return args
}

// storedBlob is a blob put in a test, and where its record is.
type storedBlob struct {
	drive  string
	extent uint64
	off    int64 // of its record in the extent
	key    record.Key
	data   []byte
}

func (b storedBlob) path() string { return datapath.BlobPath(b.drive, b.extent, b.key) }

// readRange reads a range over the data path and checks its length and
// its CRC32C trailer.
func (p *agentProc) readRange(t *testing.T, hc *http.Client, drive string, id uint64, off, n int64) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), "GET", "https://"+p.addr+datapath.RangePath(drive, id, off, n), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("range %d+%d of extent %d: %d %s %v", off, n, id, resp.StatusCode, body, err)
	}
	if int64(len(body)) != n {
		t.Fatalf("range %d+%d: %d bytes", off, n, len(body))
	}
	if got, want := datapath.FormatCRC32C(body), resp.Trailer.Get(datapath.HeaderCRC32C); got != want {
		t.Fatalf("range %d+%d: the bytes' CRC32C is %s, the %s trailer says %q", off, n, got, datapath.HeaderCRC32C, want)
	}
	return body
}

// checkBlob reads b back by key (checking the CRC32C header) and, through
// a range read of its record, from where it was written.
func (p *agentProc) checkBlob(t *testing.T, hc *http.Client, b storedBlob) {
	t.Helper()
	code, body, h, err := p.do(hc, "GET", b.path(), nil, nil)
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET: %d %s %v", code, body, err)
	}
	if !bytes.Equal(body, b.data) || h.Get(datapath.HeaderCRC32C) != datapath.FormatCRC32C(b.data) {
		t.Fatalf("GET returned %d bytes with %s %q; want the %d bytes put", len(body), datapath.HeaderCRC32C, h.Get(datapath.HeaderCRC32C), len(b.data))
	}
	raw := p.readRange(t, hc, b.drive, b.extent, b.off, int64(record.Size(len(b.data), 4096)))
	rh, payload, _, err := record.Decode(raw, 4096)
	if err != nil || rh.Type != record.TypeBlob || rh.Key != b.key || !bytes.Equal(payload, b.data) {
		t.Fatalf("the record at offset %d of extent %d: %v, type %v, key %x; want the blob put", b.off, b.extent, err, rh.Type, rh.Key[:4])
	}
	// A few bytes from the middle of the payload, unaligned.
	mid := len(b.data) / 2
	n := min(len(b.data)-mid, 777)
	if got := p.readRange(t, hc, b.drive, b.extent, b.off+record.HeaderSize+int64(mid), int64(n)); !bytes.Equal(got, b.data[mid:mid+n]) {
		t.Fatalf("range of the payload's middle differs")
	}
}

// scrub starts a scrub and waits for it to finish.
func scrub(t *testing.T, ctl agentv1connect.ExtentServiceClient, drive string) *agentv1.Scrub {
	t.Helper()
	if _, err := ctl.StartScrub(ctx(t), connect.NewRequest(&agentv1.StartScrubRequest{Drive: drive})); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, err := ctl.GetScrub(ctx(t), connect.NewRequest(&agentv1.GetScrubRequest{Drive: drive}))
		if err != nil {
			t.Fatal(err)
		}
		if sc := got.Msg.GetScrub(); sc.GetState() == agentv1.ScrubState_SCRUB_STATE_DONE {
			return sc
		}
		if time.Now().After(deadline) {
			t.Fatalf("scrub of drive %s not done after 60s: %v", drive, got.Msg.GetScrub())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// flipByte flips one bit of the byte at offset off of extent x's byte
// space in the emulated drive file at path, whose zones are zoneSize bytes.
// The agent must not be running.
func flipByte(t *testing.T, path string, x *agentv1.Extent, zoneSize uint64, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// The emulator's header says where zone data starts, at byte 52
	// (zoned/emulator_state.go); zone z starts z zone sizes after it.
	var hdr [64]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil {
		t.Fatal(err)
	}
	zone := int64(zoneSize)
	pos := int64(binary.LittleEndian.Uint64(hdr[52:])) + int64(x.GetZones()[off/zone])*zone + off%zone
	var b [1]byte
	if _, err := f.ReadAt(b[:], pos); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x04
	if _, err := f.WriteAt(b[:], pos); err != nil {
		t.Fatal(err)
	}
}

// TestAPI runs a real agent on three emulated drives and drives its API
// over HTTPS with client certificates: puts on every drive, gets checked
// against the CRC32C header, range reads that decode the records put at
// their offsets, a seal, a blob delete and an extent delete, each bad
// input with its error, callers without a certificate or with another
// CA's refused; a clean scrub, a second scrub refused while one runs, and
// a stop in the middle of a throttled scrub; then one byte of a sealed
// extent is flipped on the stopped drive, and after the restart every
// other blob reads back, the damaged one is DataLoss, and a scrub reports
// the extent.
func TestAPI(t *testing.T) {
	c := newCerts(t)
	dir := t.TempDir()
	a := startAgent(t, threeDriveArgs(c, dir)...)
	hc := httpClient(t, c.client)
	ctl := a.control(hc)

	listed, err := ctl.ListDrives(ctx(t), connect.NewRequest(&agentv1.ListDrivesRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	drives := listed.Msg.GetDrives()
	if len(drives) != 3 {
		t.Fatalf("ListDrives: %d drives, want 3", len(drives))
	}
	put := func(drive string, ext uint64, off int64, data []byte) storedBlob {
		t.Helper()
		b := storedBlob{drive: drive, extent: ext, off: off, key: randomKey(), data: data}
		if code, body, _, err := a.do(hc, "PUT", b.path(), data, crcHeader(datapath.FormatCRC32C(data))); err != nil || code != http.StatusCreated {
			t.Fatalf("PUT of %d bytes: %d %s %v", len(data), code, body, err)
		}
		return b
	}
	create := func(drive string) uint64 {
		t.Helper()
		r, err := ctl.CreateExtent(ctx(t), connect.NewRequest(&agentv1.CreateExtentRequest{Drive: drive}))
		if err != nil {
			t.Fatal(err)
		}
		return r.Msg.GetExtent().GetId()
	}

	// Blobs on every drive, one after the other in one extent each, so
	// each record's offset is the sum of the records' sizes before it.
	var blobs []storedBlob
	open := map[string]uint64{}
	for _, d := range drives {
		ext := create(d.GetId())
		open[d.GetId()] = ext
		off := int64(0)
		for _, n := range []int{1, 5000, 1<<20 + 123, record.MaxPayload} {
			data := make([]byte, n)
			_, _ = rand.Read(data)
			blobs = append(blobs, put(d.GetId(), ext, off, data))
			off += int64(record.Size(n, 4096))
		}
	}
	for _, b := range blobs {
		a.checkBlob(t, hc, b)
	}

	// Seal the extent of the first drive; it takes no more blobs.
	first := drives[0]
	sealed, err := ctl.SealExtent(ctx(t), connect.NewRequest(&agentv1.SealExtentRequest{Drive: first.GetId(), Extent: open[first.GetId()]}))
	if err != nil || sealed.Msg.GetExtent().GetState() != agentv1.ExtentState_EXTENT_STATE_SEALED {
		t.Fatalf("SealExtent: %v %v", sealed, err)
	}
	sealedExt := sealed.Msg.GetExtent()
	one := []byte("one more")
	if code, body, _, _ := a.do(hc, "PUT", datapath.BlobPath(first.GetId(), sealedExt.GetId(), randomKey()), one, crcHeader(datapath.FormatCRC32C(one))); code != http.StatusConflict || errorCode(t, body) != "failed_precondition" {
		t.Fatalf("PUT into a sealed extent: %d %s, want 409 failed_precondition", code, body)
	}
	// Reads of the sealed extent go on.
	a.checkBlob(t, hc, blobs[2])

	// Delete a blob (its tombstone goes to the second drive's open
	// extent), and a whole extent with its blobs.
	second := drives[1].GetId()
	deleted := blobs[5] // the second drive's 5000-byte blob
	if code, body, _, err := a.do(hc, "DELETE", datapath.BlobPath(second, open[second], deleted.key), nil, nil); err != nil || code != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s %v", code, body, err)
	}
	if code, body, _, _ := a.do(hc, "GET", deleted.path(), nil, nil); code != http.StatusNotFound || errorCode(t, body) != "not_found" {
		t.Fatalf("GET of a deleted blob: %d %s, want 404 not_found", code, body)
	}
	doomedExt := create(second)
	doomed := put(second, doomedExt, 0, []byte("short-lived"))
	if _, err := ctl.DeleteExtent(ctx(t), connect.NewRequest(&agentv1.DeleteExtentRequest{Drive: second, Extent: doomedExt})); err != nil {
		t.Fatal(err)
	}
	if code, body, _, _ := a.do(hc, "GET", doomed.path(), nil, nil); code != http.StatusNotFound {
		t.Fatalf("GET of a blob of a deleted extent: %d %s, want 404", code, body)
	}

	// Bad inputs, each with its error.
	drive, ext := first.GetId(), open[drives[2].GetId()]
	third := drives[2].GetId()
	good := []byte("a good blob")
	damaged := bytes.Clone(good)
	damaged[3] ^= 1
	huge := make([]byte, record.MaxPayload+1)
	space := int64(first.GetZoneSizeBytes()) * 2 // two zones per extent
	for _, tc := range []struct {
		what, method, path string
		body               []byte
		crc                string
		status             int
		code               string
	}{
		{"a key that is not hex", "PUT", "/v1/drives/" + third + "/extents/" + fmt.Sprint(ext) + "/blobs/" + strings.Repeat("zz", 32), good, datapath.FormatCRC32C(good), 400, "invalid_argument"},
		{"a short key", "GET", "/v1/drives/" + third + "/extents/" + fmt.Sprint(ext) + "/blobs/abcd", nil, "", 400, "invalid_argument"},
		{"an extent id that is not a number", "GET", "/v1/drives/" + third + "/extents/first/blobs/" + strings.Repeat("00", 32), nil, "", 400, "invalid_argument"},
		{"a body damaged on the way", "PUT", datapath.BlobPath(third, ext, randomKey()), damaged, datapath.FormatCRC32C(good), 400, "data_loss"},
		{"no CRC32C", "PUT", datapath.BlobPath(third, ext, randomKey()), good, "", 400, "invalid_argument"},
		{"a CRC32C that is not hex", "PUT", datapath.BlobPath(third, ext, randomKey()), good, "0x123456", 400, "invalid_argument"},
		{"a blob over 4 MiB", "PUT", datapath.BlobPath(third, ext, randomKey()), huge, datapath.FormatCRC32C(huge), 413, "invalid_argument"},
		{"an unknown extent", "PUT", datapath.BlobPath(third, ext+1000, randomKey()), good, datapath.FormatCRC32C(good), 404, "not_found"},
		{"an unknown drive", "PUT", datapath.BlobPath("no-such-drive", ext, randomKey()), good, datapath.FormatCRC32C(good), 404, "not_found"},
		{"an unknown blob", "GET", datapath.BlobPath(third, ext, randomKey()), nil, "", 404, "not_found"},
		{"a range past the extent's end", "GET", datapath.RangePath(drive, sealedExt.GetId(), space-100, 101), nil, "", 416, "out_of_range"},
		{"a range starting past the end", "GET", datapath.RangePath(drive, sealedExt.GetId(), space, 1), nil, "", 416, "out_of_range"},
		{"a range over 64 MiB", "GET", datapath.RangePath(drive, sealedExt.GetId(), 0, datapath.MaxRangeLength+1), nil, "", 400, "invalid_argument"},
		{"an empty range", "GET", datapath.RangePath(drive, sealedExt.GetId(), 0, 0), nil, "", 400, "invalid_argument"},
		{"a range without a length", "GET", "/v1/drives/" + drive + "/extents/" + fmt.Sprint(sealedExt.GetId()) + "/range?offset=0", nil, "", 400, "invalid_argument"},
		{"a range of an unknown extent", "GET", datapath.RangePath(drive, 12345, 0, 10), nil, "", 404, "not_found"},
		{"a range of a deleted extent", "GET", datapath.RangePath(second, doomedExt, 0, 10), nil, "", 404, "not_found"},
	} {
		var h http.Header
		if tc.crc != "" {
			h = crcHeader(tc.crc)
		}
		code, body, _, err := a.do(hc, tc.method, tc.path, tc.body, h)
		if err != nil {
			t.Fatalf("%s: %v", tc.what, err)
		}
		if code != tc.status || errorCode(t, body) != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.what, code, body, tc.status, tc.code)
		}
	}

	// Callers without a certificate, or with one from another CA.
	noCert, err := pki.ClientConfig(c.client)
	if err != nil {
		t.Fatal(err)
	}
	noCert.Certificates = nil
	if _, _, _, err := a.do(clientWith(noCert), "GET", blobs[0].path(), nil, nil); err == nil {
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
	strangerTLS.RootCAs = noCert.RootCAs // it trusts the agent; the agent does not trust it
	if _, _, _, err := a.do(clientWith(strangerTLS), "GET", datapath.RangePath(drive, sealedExt.GetId(), 0, 10), nil, nil); err == nil {
		t.Fatal("a client with another CA's certificate was served")
	}
	if _, err := a.control(clientWith(strangerTLS)).ListDrives(ctx(t), connect.NewRequest(&agentv1.ListDrivesRequest{})); err == nil {
		t.Fatal("a control call with another CA's certificate was served")
	}

	// A clean scrub of the sealed extent.
	sc := scrub(t, ctl, drive)
	if sc.GetExtentsChecked() != 1 || len(sc.GetFailures()) != 0 || sc.GetBytesChecked() != sealedExt.GetUsedBytes() {
		t.Fatalf("scrub: %v; want 1 extent of %d bytes checked, no failures", sc, sealedExt.GetUsedBytes())
	}
	// A second sealed extent, then a scrub throttled to a byte a second:
	// it waits after its first extent, a second start is refused, and
	// SIGTERM stops the agent all the same.
	more := create(drive)
	blobs = append(blobs, put(drive, more, 0, []byte("in the second sealed extent")))
	if _, err := ctl.SealExtent(ctx(t), connect.NewRequest(&agentv1.SealExtentRequest{Drive: drive, Extent: more})); err != nil {
		t.Fatal(err)
	}
	if _, err := ctl.StartScrub(ctx(t), connect.NewRequest(&agentv1.StartScrubRequest{Drive: drive, BytesPerSecond: 1})); err != nil {
		t.Fatal(err)
	}
	if _, err := ctl.StartScrub(ctx(t), connect.NewRequest(&agentv1.StartScrubRequest{Drive: drive})); connect.CodeOf(err) != connect.CodeAlreadyExists {
		t.Fatalf("a second StartScrub: %v, want already_exists", err)
	}
	a.stop()

	// Flip a bit in the payload of the 1 MiB blob of the sealed extent.
	victim := blobs[2]
	flipByte(t, first.GetPath(), sealedExt, first.GetZoneSizeBytes(), victim.off+record.HeaderSize+1000)

	b := startAgent(t, threeDriveArgs(c, dir)...)
	ctl = b.control(hc)
	for i, bl := range blobs {
		if i != 2 && i != 5 {
			b.checkBlob(t, hc, bl)
		}
	}
	if code, body, _, _ := b.do(hc, "GET", victim.path(), nil, nil); code != http.StatusInternalServerError || errorCode(t, body) != "data_loss" {
		t.Fatalf("GET of the damaged blob: %d %s, want 500 data_loss", code, body)
	}
	sc = scrub(t, ctl, drive)
	if sc.GetExtentsChecked() != 2 || len(sc.GetFailures()) != 1 || sc.GetFailures()[0].GetExtent() != sealedExt.GetId() ||
		!strings.Contains(sc.GetFailures()[0].GetError(), "does not match its seal") {
		t.Fatalf("scrub after the damage: %v; want extent %d reported", sc, sealedExt.GetId())
	}
	t.Logf("scrub found: extent %d: %s", sc.GetFailures()[0].GetExtent(), sc.GetFailures()[0].GetError())
	code, body, _, err := b.do(hc, "GET", "/metrics", nil, nil)
	if err != nil || code != http.StatusOK {
		t.Fatalf("/metrics: %d %v", code, err)
	}
	for _, want := range []string{
		`shingle_agent_scrub_failures_total{drive="` + drive + `"} 1`,
		`shingle_agent_scrub_failing_extents{drive="` + drive + `"} 1`,
		`shingle_agent_scrub_extents_verified_total{drive="` + drive + `"} 2`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if !strings.Contains(b.output(), `"msg":"scrub: extent failed; repair it from other copies"`) {
		t.Errorf("the agent did not log the failing extent")
	}
	b.stop()
}
