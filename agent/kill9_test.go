package main

import (
	"bytes"
	"github.com/shingle-storage/shingle/agent/datapath"
	"math/rand/v2"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/shingle-storage/shingle/agent/record"
	agentv1 "github.com/shingle-storage/shingle/api/agent/v1"
)

// TestKill9 kills the agent process with SIGKILL 50 times while clients
// put blobs over the network, restarting it on the same drives each time.
// Every put that was answered 201 must read back byte for byte after the
// restart; a put that got no answer may be there or not, but never with
// other bytes.
func TestKill9(t *testing.T) {
	const rounds = 50
	c := newCerts(t)
	dir := t.TempDir()
	hc := httpClient(t, c.client)
	rng := rand.New(rand.NewPCG(9, 9))

	type blob struct {
		data  []byte
		acked bool
		// settled: read back after a restart, so it is there for good;
		// later rounds check only a sample of these.
		settled bool
	}
	blobs := map[record.Key]*blob{}
	var mu sync.Mutex
	var drive string
	var ext uint64
	acked := 0

	// One more start than kills: the last only checks.
	for round := range rounds + 1 {
		a := startAgent(t, append(devArgs(c, dir), "--dev-drive-size", "512MiB")...)
		ctl := a.control(hc)
		if drive == "" {
			drives, err := ctl.ListDrives(ctx(t), connect.NewRequest(&agentv1.ListDrivesRequest{}))
			if err != nil {
				t.Fatal(err)
			}
			drive = drives.Msg.GetDrives()[0].GetId()
		}
		newExtent := func() (uint64, error) {
			created, err := ctl.CreateExtent(ctx(t), connect.NewRequest(&agentv1.CreateExtentRequest{Drive: drive}))
			if err != nil {
				return 0, err // the agent may be being killed
			}
			return created.Msg.GetExtent().GetId(), nil
		}
		if ext == 0 {
			var err error
			if ext, err = newExtent(); err != nil {
				t.Fatal(err)
			}
		}

		// Everything acknowledged so far is there; nothing unacknowledged
		// is there with other bytes. Blobs already read back after an
		// earlier restart are sampled, except in the last round.
		sampled := 0
		for k, b := range blobs {
			if b.settled && round < rounds {
				if sampled >= 50 {
					continue
				}
				sampled++
			}
			code, body, _, err := a.do(hc, "GET", datapath.BlobPath(drive, ext, k), nil, nil)
			switch {
			case err != nil:
				t.Fatalf("round %d: GET: %v", round, err)
			case code == http.StatusOK && !bytes.Equal(body, b.data):
				t.Fatalf("round %d: blob %x reads back other bytes", round, k[:4])
			case code == http.StatusNotFound && b.acked:
				t.Fatalf("round %d: acknowledged blob %x is lost after kill -9", round, k[:4])
			case code != http.StatusOK && code != http.StatusNotFound:
				t.Fatalf("round %d: GET %x: %d %s", round, k[:4], code, body)
			}
			if code == http.StatusOK {
				b.acked, b.settled = true, true
			} else {
				delete(blobs, k)
			}
		}

		if round == rounds {
			a.stop()
			break
		}

		// Put from four clients, then kill at a random moment.
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var full sync.Once
		for g := range 4 {
			seed := rng.Uint64()
			wg.Go(func() {
				r := rand.New(rand.NewPCG(seed, uint64(g)))
				for {
					select {
					case <-stop:
						return
					default:
					}
					var k record.Key
					for i := range k {
						k[i] = byte(r.Uint32())
					}
					data := make([]byte, 1+r.IntN(16<<10))
					for i := range data {
						data[i] = byte(r.Uint32())
					}
					mu.Lock()
					b := &blob{data: data}
					blobs[k] = b
					id := ext
					mu.Unlock()
					code, _, _, err := a.do(hc, "PUT", datapath.BlobPath(drive, id, k), data, crcHeader(datapath.FormatCRC32C(data)))
					mu.Lock()
					switch {
					case err == nil && code == http.StatusCreated:
						b.acked = true
						acked++
					case err == nil && code == http.StatusInsufficientStorage:
						delete(blobs, k) // refused: nothing written
						mu.Unlock()
						full.Do(func() {
							if nid, err := newExtent(); err == nil {
								mu.Lock()
								ext = nid
								mu.Unlock()
							}
						})
						continue
					case err == nil:
						delete(blobs, k) // refused: nothing written
					}
					mu.Unlock()
					if err != nil {
						return // the agent is gone
					}
				}
			})
		}
		time.Sleep(time.Duration(50+rng.IntN(250)) * time.Millisecond)
		if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-a.done
		close(stop)
		wg.Wait()
	}
	if acked < rounds {
		t.Fatalf("only %d puts were acknowledged in %d rounds; the test is not exercising the agent", acked, rounds)
	}
	t.Logf("%d kill -9 rounds, %d puts acknowledged, %d blobs kept", rounds, acked, len(blobs))
}
