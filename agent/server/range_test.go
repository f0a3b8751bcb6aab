package server

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"github.com/shingle-storage/shingle/agent/datapath"
	"net/http"
	"os"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/shingle-storage/shingle/agent/record"
	agentv1 "github.com/shingle-storage/shingle/api/agent/v1"
)

// smallDrives are two 128 MiB emulated drives of 8 MiB zones, two zones
// per extent: an extent's byte space is 16 MiB.
var smallDrives = DevDrives{Count: 2, Size: 128 << 20, ZoneSize: 8 << 20, ZonesPerExtent: 2}

// errorCode is the code of a data-path error body.
func errorCode(t *testing.T, r response) string {
	t.Helper()
	var e struct{ Code, Message string }
	if err := json.Unmarshal(r.body, &e); err != nil || e.Message == "" {
		t.Fatalf("error body %q is not {code, message}", r.body)
	}
	return e.Code
}

// TestRange reads extent ranges back over HTTP/2 and HTTP/1.1: the records
// put decode from the bytes at their offsets, an unaligned range returns
// exactly its bytes, a range of the whole extent streams in several chunks
// with the CRC32C in the trailer, and bad ranges get their errors.
func TestRange(t *testing.T) {
	e := newTestEnv(t, smallDrives)
	drive := e.drives[0].ID
	created, err := e.ctl.CreateExtent(t.Context(), connect.NewRequest(&agentv1.CreateExtentRequest{Drive: drive}))
	if err != nil {
		t.Fatal(err)
	}
	ext := created.Msg.GetExtent().GetId()
	small, big := randomBytes(5000), randomBytes(1<<20+7)
	ks, kb := randomKey(), randomKey()
	for _, b := range []struct {
		k record.Key
		d []byte
	}{{ks, small}, {kb, big}} {
		if err := e.put(e.hc, datapath.BlobPath(drive, ext, b.k), b.d); err != nil {
			t.Fatal(err)
		}
	}
	const bs = 4096
	space := int64(2 * 8 << 20)
	for _, h2 := range []bool{true, false} {
		hc := e.newClient(h2)
		// The records, one after the other from offset 0.
		off := int64(0)
		for _, b := range []struct {
			k record.Key
			d []byte
		}{{ks, small}, {kb, big}} {
			size := int64(record.Size(len(b.d), bs))
			raw, err := e.readRange(hc, drive, ext, off, size)
			if err != nil {
				t.Fatalf("h2 %v: %v", h2, err)
			}
			h, payload, _, err := record.Decode(raw, bs)
			if err != nil || h.Type != record.TypeBlob || h.Key != b.k || !bytes.Equal(payload, b.d) {
				t.Fatalf("h2 %v: the record at %d: %v, key %x, %d bytes; want the %d-byte blob put", h2, off, err, h.Key[:4], len(payload), len(b.d))
			}
			off += size
		}
		// Unaligned, inside the first blob's payload.
		got, err := e.readRange(hc, drive, ext, record.HeaderSize+10, 100)
		if err != nil || !bytes.Equal(got, small[10:110]) {
			t.Fatalf("h2 %v: unaligned range: %v", h2, err)
		}
		// The whole extent: the blobs, then unwritten bytes (0xFF).
		all, err := e.readRange(hc, drive, ext, 0, space)
		if err != nil {
			t.Fatalf("h2 %v: whole extent: %v", h2, err)
		}
		if !bytes.Equal(all[record.HeaderSize:record.HeaderSize+len(small)], small) || all[space-1] != 0xFF {
			t.Fatalf("h2 %v: the whole extent's bytes are not the records then 0xFF", h2)
		}
	}

	for _, tc := range []struct {
		path   string
		status int
		code   string
	}{
		{datapath.RangePath(drive, ext, space, 1), http.StatusRequestedRangeNotSatisfiable, "out_of_range"},
		{datapath.RangePath(drive, ext, space-10, 11), http.StatusRequestedRangeNotSatisfiable, "out_of_range"},
		{datapath.RangePath(drive, ext, 0, datapath.MaxRangeLength+1), http.StatusBadRequest, "invalid_argument"},
		{datapath.RangePath(drive, ext, 0, 0), http.StatusBadRequest, "invalid_argument"},
		{"/v1/drives/" + drive + "/extents/1/range?offset=-1&length=1", http.StatusBadRequest, "invalid_argument"},
		{"/v1/drives/" + drive + "/extents/1/range?length=1", http.StatusBadRequest, "invalid_argument"},
		{"/v1/drives/" + drive + "/extents/x/range?offset=0&length=1", http.StatusBadRequest, "invalid_argument"},
		{datapath.RangePath(drive, ext+1000, 0, 1), http.StatusNotFound, "not_found"},
		{datapath.RangePath("no-such-drive", ext, 0, 1), http.StatusNotFound, "not_found"},
	} {
		r, err := e.do(e.hc, "GET", tc.path, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.status != tc.status || errorCode(t, r) != tc.code {
			t.Errorf("GET %s: %d %s; want %d %s", tc.path, r.status, r.body, tc.status, tc.code)
		}
	}
	r, _ := e.do(e.hc, "GET", datapath.RangePath(drive, ext, space, 1), nil, nil)
	if got := r.header.Get("Content-Range"); got != "bytes */16777216" {
		t.Errorf("416's Content-Range is %q", got)
	}
}

// TestPutChecksums checks the PUT side: an upper-case CRC32C is accepted,
// a malformed one refused, and a body sent without a length (chunked) is
// read to its end and checked.
func TestPutChecksums(t *testing.T) {
	e := newTestEnv(t, smallDrives)
	drive := e.drives[0].ID
	created, err := e.ctl.CreateExtent(t.Context(), connect.NewRequest(&agentv1.CreateExtentRequest{Drive: drive}))
	if err != nil {
		t.Fatal(err)
	}
	ext := created.Msg.GetExtent().GetId()
	data := randomBytes(70000)
	upper := bytes.ToUpper([]byte(datapath.FormatCRC32C(data)))
	r, err := e.do(e.hc, "PUT", datapath.BlobPath(drive, ext, randomKey()), data, http.Header{datapath.HeaderCRC32C: {string(upper)}})
	if err != nil || r.status != http.StatusCreated {
		t.Fatalf("PUT with an upper-case CRC32C: %d %s %v", r.status, r.body, err)
	}
	r, _ = e.do(e.hc, "PUT", datapath.BlobPath(drive, ext, randomKey()), data, http.Header{datapath.HeaderCRC32C: {"xyz01234"}})
	if r.status != http.StatusBadRequest || errorCode(t, r) != "invalid_argument" {
		t.Fatalf("PUT with a malformed CRC32C: %d %s", r.status, r.body)
	}
	for _, hc := range []*http.Client{e.newClient(true), e.newClient(false)} {
		for _, tc := range []struct {
			data   []byte
			crc    string
			status int
		}{
			{data, datapath.FormatCRC32C(data), http.StatusCreated},
			{data, datapath.FormatCRC32C(data[1:]), http.StatusBadRequest},
			{make([]byte, record.MaxPayload+1), "00000000", http.StatusRequestEntityTooLarge},
		} {
			k := randomKey()
			req, err := http.NewRequestWithContext(t.Context(), "PUT", e.base+datapath.BlobPath(drive, ext, k), struct{ *bytes.Reader }{bytes.NewReader(tc.data)})
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = -1 // sent chunked
			req.Header.Set(datapath.HeaderCRC32C, tc.crc)
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("chunked PUT of %d bytes: %d, want %d", len(tc.data), resp.StatusCode, tc.status)
			}
			if tc.status == http.StatusCreated {
				if got, err := e.get(hc, datapath.BlobPath(drive, ext, k)); err != nil || !bytes.Equal(got, tc.data) {
					t.Fatalf("GET of a chunked PUT: %v", err)
				}
			}
		}
	}
}

// TestScrub scrubs a drive with two sealed extents (clean), refuses a
// second scrub while one runs and scrubs of open or unknown extents, then
// corrupts one byte of a sealed extent on the stopped drive and finds it
// with a scrub after the restart.
func TestScrub(t *testing.T) {
	dd := smallDrives
	dd.Dir = t.TempDir()
	e := newTestEnv(t, dd)
	drive := e.drives[0].ID
	ctx := t.Context()
	var sealed []*agentv1.Extent
	for range 2 {
		created, err := e.ctl.CreateExtent(ctx, connect.NewRequest(&agentv1.CreateExtentRequest{Drive: drive}))
		if err != nil {
			t.Fatal(err)
		}
		ext := created.Msg.GetExtent().GetId()
		for range 3 {
			if err := e.put(e.hc, datapath.BlobPath(drive, ext, randomKey()), randomBytes(300000)); err != nil {
				t.Fatal(err)
			}
		}
		s, err := e.ctl.SealExtent(ctx, connect.NewRequest(&agentv1.SealExtentRequest{Drive: drive, Extent: ext}))
		if err != nil {
			t.Fatal(err)
		}
		sealed = append(sealed, s.Msg.GetExtent())
	}
	open, err := e.ctl.CreateExtent(ctx, connect.NewRequest(&agentv1.CreateExtentRequest{Drive: drive}))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.put(e.hc, datapath.BlobPath(drive, open.Msg.GetExtent().GetId(), randomKey()), []byte("x")); err != nil {
		t.Fatal(err)
	}

	got, err := e.ctl.GetScrub(ctx, connect.NewRequest(&agentv1.GetScrubRequest{Drive: drive}))
	if err != nil || got.Msg.GetScrub() != nil {
		t.Fatalf("GetScrub before any scrub: %v %v", got, err)
	}
	sc := scrubAndWait(t, e, drive, nil)
	if sc.GetExtentsChecked() != 2 || sc.GetExtentsTotal() != 2 || len(sc.GetFailures()) != 0 ||
		sc.GetBytesChecked() != sealed[0].GetUsedBytes()+sealed[1].GetUsedBytes() || sc.GetFinishedAt() == nil {
		t.Fatalf("clean scrub: %v", sc)
	}

	for _, tc := range []struct {
		req  *agentv1.StartScrubRequest
		code connect.Code
	}{
		{&agentv1.StartScrubRequest{Drive: "nope"}, connect.CodeNotFound},
		{&agentv1.StartScrubRequest{Drive: drive, Extents: []uint64{12345}}, connect.CodeNotFound},
		{&agentv1.StartScrubRequest{Drive: drive, Extents: []uint64{open.Msg.GetExtent().GetId()}}, connect.CodeFailedPrecondition},
	} {
		if _, err := e.ctl.StartScrub(ctx, connect.NewRequest(tc.req)); connect.CodeOf(err) != tc.code {
			t.Errorf("StartScrub(%v): %v, want %v", tc.req, err, tc.code)
		}
	}
	// At one byte a second the scrub waits after its first extent: a second
	// start is refused, and stopping the agent ends the scrub.
	if _, err := e.ctl.StartScrub(ctx, connect.NewRequest(&agentv1.StartScrubRequest{Drive: drive, BytesPerSecond: 1})); err != nil {
		t.Fatal(err)
	}
	_, err = e.ctl.StartScrub(ctx, connect.NewRequest(&agentv1.StartScrubRequest{Drive: drive}))
	if connect.CodeOf(err) != connect.CodeAlreadyExists {
		t.Fatalf("a second StartScrub: %v, want already_exists", err)
	}
	for {
		got, err := e.ctl.GetScrub(ctx, connect.NewRequest(&agentv1.GetScrubRequest{Drive: drive}))
		if err != nil {
			t.Fatal(err)
		}
		if sc := got.Msg.GetScrub(); sc.GetExtentsChecked() == 1 {
			if sc.GetState() != agentv1.ScrubState_SCRUB_STATE_RUNNING || sc.GetBytesPerSecond() != 1 {
				t.Fatalf("throttled scrub: %v", sc)
			}
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Another drive scrubs meanwhile.
	if sc := scrubAndWait(t, e, e.drives[1].ID, nil); sc.GetExtentsTotal() != 0 {
		t.Fatalf("scrub of an empty drive: %v", sc)
	}
	r, err := e.do(e.hc, "GET", "/metrics", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`shingle_agent_scrub_extents_verified_total{drive="` + drive + `"} 3`,
		`shingle_agent_scrub_running{drive="` + drive + `"} 1`,
		`shingle_agent_scrub_failures_total{drive="` + drive + `"} 0`,
	} {
		if !bytes.Contains(r.body, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	start := time.Now()
	if err := e.stop(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("stopping with a scrub waiting took %v", d)
	}

	// Flip a byte inside the second blob of the first sealed extent.
	corrupt(t, e.drives[0].Path, sealed[0], 8<<20, int64(record.Size(300000, 4096))+record.HeaderSize+1234)
	e2 := newTestEnv(t, dd)
	sc = scrubAndWait(t, e2, drive, nil)
	if sc.GetExtentsChecked() != 2 || len(sc.GetFailures()) != 1 || sc.GetFailures()[0].GetExtent() != sealed[0].GetId() {
		t.Fatalf("scrub after the corruption: %v", sc)
	}
	t.Logf("failure: %s", sc.GetFailures()[0].GetError())
	// Named extents only: the good one passes.
	if sc := scrubAndWait(t, e2, drive, []uint64{sealed[1].GetId(), sealed[1].GetId()}); sc.GetExtentsTotal() != 1 || len(sc.GetFailures()) != 0 {
		t.Fatalf("scrub of the good extent: %v", sc)
	}
}

// scrubAndWait starts a scrub and waits until it is done.
func scrubAndWait(t *testing.T, e *testEnv, drive string, ids []uint64) *agentv1.Scrub {
	t.Helper()
	st, err := e.ctl.StartScrub(t.Context(), connect.NewRequest(&agentv1.StartScrubRequest{Drive: drive, Extents: ids}))
	if err != nil {
		t.Fatal(err)
	}
	if st.Msg.GetScrub().GetState() != agentv1.ScrubState_SCRUB_STATE_RUNNING && st.Msg.GetScrub().GetState() != agentv1.ScrubState_SCRUB_STATE_DONE {
		t.Fatalf("StartScrub: %v", st.Msg.GetScrub())
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := e.ctl.GetScrub(t.Context(), connect.NewRequest(&agentv1.GetScrubRequest{Drive: drive}))
		if err != nil {
			t.Fatal(err)
		}
		if sc := got.Msg.GetScrub(); sc.GetState() == agentv1.ScrubState_SCRUB_STATE_DONE {
			return sc
		}
		if time.Now().After(deadline) {
			t.Fatalf("scrub not done after 30s: %v", got.Msg.GetScrub())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// corrupt flips one byte at offset off of extent x's byte space in the
// emulated drive file at path (not open), whose zones are zoneSize bytes.
func corrupt(t *testing.T, path string, x *agentv1.Extent, zoneSize, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// The emulator's header holds where zone data starts at byte 52.
	var hdr [60]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil {
		t.Fatal(err)
	}
	dataOff := int64(binary.LittleEndian.Uint64(hdr[52:]))
	pos := dataOff + int64(x.GetZones()[off/zoneSize])*zoneSize + off%zoneSize
	var b [1]byte
	if _, err := f.ReadAt(b[:], pos); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x20
	if _, err := f.WriteAt(b[:], pos); err != nil {
		t.Fatal(err)
	}
}
