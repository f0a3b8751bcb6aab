package client_test

import (
	"context"
	"crypto/rand"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	agentv1 "github.com/shingle-storage/shingle/api/agent/v1"
	"github.com/shingle-storage/shingle/client"
	"github.com/shingle-storage/shingle/fleetd/state"
)

// TestAFullFleetEncodesItsWayOut fills a fleet of small drives with blobs
// until puts are refused, saying the fleet is full, then checks that
// fleetd still erasure-codes every replicated volume that filled it (which
// needs room for their shards first, see fleetd/volume/room.go) and that
// every blob acknowledged on the way reads back from the coded volumes.
func TestAFullFleetEncodesItsWayOut(t *testing.T) {
	// Drives of 16 zones of 8 MiB: 4 reserved, one extent (2 zones) kept
	// for compaction, room for 5 volume members of 16 MiB each.
	f := startFleet(t, fleetShape{hosts: 9, code: state.RS(6, 3), driveBytes: 128 << 20})
	ctx := context.Background()
	blobs := stored{}
	var mu sync.Mutex
	var refused error
	const size, most = 1 << 20, 600
	for round := 0; refused == nil; round++ {
		if round*8 >= most {
			t.Fatalf("%d puts of 1 MiB to a fleet of 9 drives of 128 MiB were all taken", most)
		}
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				b := make([]byte, size)
				_, _ = rand.Read(b)
				l, err := f.client.Put(ctx, b)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					refused = err
					return
				}
				blobs[l] = b
			})
		}
		wg.Wait()
	}
	t.Logf("full after %d blobs of 1 MiB: %v", len(blobs), refused)
	if !strings.Contains(refused.Error(), "full") {
		t.Errorf("a put to a full fleet failed with %q, which does not say the fleet is full", refused)
	}

	f.sealAndEncode()
	f.checkAll(blobs, "after the full fleet was encoded")
}

// TestEncodingReadsAReplicaThatIsThere loses the extent of one replica of
// a volume holding acknowledged blobs (its drive no longer has it), with
// the cross-check, which would have it rebuilt, held off. The volume is
// then sealed and encoded: the encoder must read one of the replicas that
// are there, not take the missing one for an empty volume, and every blob
// reads back from the coded volume.
func TestEncodingReadsAReplicaThatIsThere(t *testing.T) {
	f := startFleet(t, fleetShape{hosts: 9, code: state.RS(6, 3), crossCheck: time.Hour})
	ctx := context.Background()
	blobs := f.put(12, 200<<10)
	var l client.Locator
	for l = range blobs {
		break
	}
	loc, err := f.client.Locate(ctx, l.Volume)
	if err != nil {
		t.Fatal(err)
	}
	h := loc.GetHolders()[0] // the replica the encoder reads first
	a := f.agents[h.GetHost()]
	if _, err := f.agentControl(a).SealExtent(ctx, connect.NewRequest(&agentv1.SealExtentRequest{Drive: h.GetDrive(), Extent: h.GetExtent()})); err != nil {
		t.Fatal(err)
	}
	if _, err := f.agentControl(a).DeleteExtent(ctx, connect.NewRequest(&agentv1.DeleteExtentRequest{Drive: h.GetDrive(), Extent: h.GetExtent()})); err != nil {
		t.Fatal(err)
	}
	f.sealAndEncode()
	f.checkAll(blobs, "after encoding a volume with a replica missing")
}
