package client_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/shingle-storage/shingle/agent/datapath"
	agentv1 "github.com/shingle-storage/shingle/api/agent/v1"
	"github.com/shingle-storage/shingle/client"
	"github.com/shingle-storage/shingle/fleetd/state"
)

// TestFiles stores files through PutFile: a small one as a single blob,
// larger ones as blobs plus a manifest. Each reads back whole, with
// progress to its size; Stat gives a manifest locator the file's size,
// blobs, volumes and SHA-256; a file with a lost blob fails to read and
// says which; DeleteFile removes every blob and the manifest and can be
// run again after being cut short; and a put whose input fails part way
// leaves no blob of the file behind.
func TestFiles(t *testing.T) {
	f := startFleet(t, fleetShape{hosts: 9, code: state.RS(6, 3)})
	ctx := context.Background()
	c := f.client

	// One blob.
	small := randomFile(100 << 10)
	l := putFile(t, c, small)
	if l.Manifest {
		t.Fatalf("a %d-byte file got a manifest locator %v", len(small), l)
	}
	checkFile(t, c, l, small)
	st, err := c.Stat(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size != int64(len(small)) || st.File != nil || st.CRC32C != datapath.CRC32C(small) {
		t.Fatalf("stat of a blob: size %d, file %+v, crc32c %08x; want %d, none, %08x", st.Size, st.File, st.CRC32C, len(small), datapath.CRC32C(small))
	}

	// Three blobs and a manifest.
	big := randomFile(2*client.MaxBlob + 12345)
	l = putFile(t, c, big)
	if !l.Manifest {
		t.Fatalf("a %d-byte file got a blob locator %v", len(big), l)
	}
	checkFile(t, c, l, big)
	blobs := manifestBlobs(t, c, l)
	if len(blobs) != 3 {
		t.Fatalf("the manifest lists %d blobs, want 3", len(blobs))
	}
	st, err = c.Stat(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(big)
	var vols []uint64
	for _, b := range blobs {
		if !slices.Contains(vols, b.Volume) {
			vols = append(vols, b.Volume)
		}
	}
	slices.Sort(vols)
	raw, err := c.Get(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size != int64(len(big)) || st.File == nil || st.File.Blobs != 3 || st.File.SHA256 != hex.EncodeToString(sum[:]) ||
		!slices.Equal(st.File.Volumes, vols) || st.File.ManifestSize != len(raw) || st.CRC32C != datapath.CRC32C(raw) || st.Volume != l.Volume {
		t.Fatalf("stat of a file: %+v, file %+v; want size %d, 3 blobs in volumes %v, SHA-256 %x, a %d-byte manifest in volume %d",
			st, st.File, len(big), vols, sum, len(raw), l.Volume)
	}

	// A file that lost a blob reads as not found, naming the blob; its
	// deletion goes past the lost blob.
	other := randomFile(client.MaxBlob + 1)
	ol := putFile(t, c, other)
	lost := manifestBlobs(t, c, ol)[1]
	if err := c.Delete(ctx, lost); err != nil {
		t.Fatal(err)
	}
	if err := c.GetFile(ctx, ol, io.Discard, nil); !errors.Is(err, client.ErrNotFound) || !strings.Contains(err.Error(), "blob 1") {
		t.Fatalf("get of a file whose blob 1 is deleted: %v, want not found naming blob 1", err)
	}
	if err := c.DeleteFile(ctx, ol, nil); err != nil {
		t.Fatalf("delete of a file whose blob 1 is deleted: %v", err)
	}

	// A deletion cut short (the first blob deleted only) is finished by
	// running it again; then everything is gone, and a third run says
	// not found.
	if err := c.Delete(ctx, blobs[0]); err != nil {
		t.Fatal(err)
	}
	var last [2]int
	if err := c.DeleteFile(ctx, l, func(done, total int) { last = [2]int{done, total} }); err != nil {
		t.Fatalf("delete of a file whose deletion was cut short: %v", err)
	}
	if last != [2]int{4, 4} {
		t.Fatalf("delete progress ended at %d of %d, want 4 of 4", last[0], last[1])
	}
	for _, gone := range append(blobs, l, ol) {
		if _, err := c.Get(ctx, gone); !errors.Is(err, client.ErrNotFound) {
			t.Fatalf("get %v after the file's deletion: %v, want not found", gone, err)
		}
	}
	if err := c.DeleteFile(ctx, l, nil); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("delete of a deleted file: %v, want not found", err)
	}

	// A put whose input fails after two blobs were stored deletes them.
	// On a fleet of its own, whose volumes do not fill (the volumes
	// above do, and get encoded, which moves live bytes around).
	f = startFleet(t, fleetShape{hosts: 3})
	c = f.client
	before := f.liveBytes()
	boom := errors.New("the disk under the file went away")
	stored := make(chan struct{})
	var once atomic.Bool
	r := io.MultiReader(bytes.NewReader(randomFile(2*client.MaxBlob)), &failingReader{wait: stored, err: boom})
	_, err = c.PutFile(ctx, r, func(done int64) {
		if done == 2*client.MaxBlob && once.CompareAndSwap(false, true) {
			close(stored)
		}
	})
	if !errors.Is(err, boom) || strings.Contains(err.Error(), "could not be deleted") {
		t.Fatalf("put of a file whose input fails: %v, want the input's error and no blobs left", err)
	}
	if after := f.liveBytes(); after != before {
		t.Fatalf("after a failed put the drives hold %d bytes of live blobs, %d before it", after, before)
	}
}

// randomFile is n random bytes.
func randomFile(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// putFile stores data with PutFile and checks its progress reports.
func putFile(t *testing.T, c *client.Client, data []byte) client.Locator {
	t.Helper()
	var last int64
	l, err := c.PutFile(context.Background(), bytes.NewReader(data), func(done int64) {
		if done < atomic.LoadInt64(&last) {
			t.Errorf("put progress went back from %d to %d", last, done)
		}
		atomic.StoreInt64(&last, done)
	})
	if err != nil {
		t.Fatalf("put a %d-byte file: %v", len(data), err)
	}
	if last != int64(len(data)) {
		t.Fatalf("put progress of a %d-byte file ended at %d", len(data), last)
	}
	return l
}

// checkFile reads the file at l and compares it with want, checking the
// progress reports.
func checkFile(t *testing.T, c *client.Client, l client.Locator, want []byte) {
	t.Helper()
	var got bytes.Buffer
	var done, total int64
	if err := c.GetFile(context.Background(), l, &got, func(d, n int64) { done, total = d, n }); err != nil {
		t.Fatalf("get %v: %v", l, err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("get %v: %d bytes differ from the %d put", l, got.Len(), len(want))
	}
	if done != int64(len(want)) || total != int64(len(want)) {
		t.Fatalf("get progress of %v ended at %d of %d, want %d", l, done, total, len(want))
	}
}

// manifestBlobs reads the blobs a manifest lists.
func manifestBlobs(t *testing.T, c *client.Client, l client.Locator) []client.Locator {
	t.Helper()
	b, err := c.Get(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	var ls []client.Locator
	for _, s := range strings.Split(string(b), `"`) {
		if p, err := client.ParseLocator(s); err == nil {
			ls = append(ls, p)
		}
	}
	return ls
}

// failingReader fails with err, once wait is closed.
type failingReader struct {
	wait <-chan struct{}
	err  error
}

func (r *failingReader) Read([]byte) (int, error) {
	select {
	case <-r.wait:
	case <-time.After(time.Minute):
	}
	return 0, r.err
}

// liveBytes adds up the bytes of live blobs in every extent of every
// drive of the fleet.
func (f *fleet) liveBytes() uint64 {
	f.t.Helper()
	ctx := context.Background()
	var n uint64
	for _, a := range f.agents {
		ctl := f.agentControl(a)
		drives, err := ctl.ListDrives(ctx, connect.NewRequest(&agentv1.ListDrivesRequest{}))
		if err != nil {
			f.t.Fatal(err)
		}
		for _, d := range drives.Msg.GetDrives() {
			res, err := ctl.ListExtents(ctx, connect.NewRequest(&agentv1.ListExtentsRequest{Drive: d.GetId()}))
			if err != nil {
				f.t.Fatal(err)
			}
			for _, e := range res.Msg.GetExtents() {
				n += e.GetLiveBytes()
			}
		}
	}
	return n
}
