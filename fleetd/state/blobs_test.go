package state

import (
	"slices"
	"strings"
	"testing"
)

func TestDeleteBlobsAndCompact(t *testing.T) {
	s := smallFleet(t, 9, 1)
	id := mustApply(t, s, &CreateVolume{Scheme: Replication(3), Placement: []string{"h1-d1", "h2-d1", "h3-d1"}, MemberBytes: 1 << 30}).Volume
	a, b, c := strings.Repeat("aa", 32), strings.Repeat("bb", 32), strings.Repeat("cc", 32)

	wantErr(t, s, &DeleteBlobs{ID: id, Keys: []string{a}}, ErrConflict, "tombstones on its replicas")
	mustApply(t, s, &SealVolume{ID: id})
	wantErr(t, s, &DeleteBlobs{ID: id}, ErrInvalid, "0 keys")
	wantErr(t, s, &DeleteBlobs{ID: id, Keys: []string{strings.ToUpper(a)}}, ErrInvalid, "lowercase hex")
	wantErr(t, s, &DeleteBlobs{ID: 99, Keys: []string{a}}, ErrNotFound, "volume 99")
	mustApply(t, s, &DeleteBlobs{ID: id, Keys: []string{c, a}})
	mustApply(t, s, &DeleteBlobs{ID: id, Keys: []string{a}}) // a retry changes nothing
	v, _ := s.Volume(id)
	if !slices.Equal(v.Deleted, []string{a, c}) || !v.IsDeleted(c) || v.IsDeleted(b) {
		t.Fatalf("deleted after two deletes: %v", v.Deleted)
	}

	// The encoding leaves out a and c; b is deleted while it runs and stays.
	shards := []string{"h1-d1", "h2-d1", "h3-d1", "h4-d1", "h5-d1", "h6-d1", "h7-d1", "h8-d1", "h9-d1"}
	mustApply(t, s, &DeleteBlobs{ID: id, Keys: []string{b}})
	mustApply(t, s, &EncodeVolume{ID: id, ExpectedGeneration: 1, Scheme: RS(6, 3), Placement: shards, MemberBytes: 1 << 28, Purged: []string{a, c}, Blobs: 10})
	v, _ = s.Volume(id)
	if !slices.Equal(v.Deleted, []string{b}) || v.Blobs != 10 || v.Epoch != 0 || v.Generation != 2 {
		t.Fatalf("after encoding: %+v", v)
	}

	// Compaction: a compare-and-swap on generation and epoch.
	wantErr(t, s, &CompactVolume{ID: id, ExpectedGeneration: 1, Epoch: 1, Purged: []string{b}, Blobs: 9, MemberBytes: 1 << 27}, ErrConflict, "generation 2, not 1")
	wantErr(t, s, &CompactVolume{ID: id, ExpectedGeneration: 2, Epoch: 2, Purged: []string{b}, Blobs: 9, MemberBytes: 1 << 27}, ErrConflict, "writes epoch 1, not 2")
	mustApply(t, s, &CompactVolume{ID: id, ExpectedGeneration: 2, Epoch: 1, Purged: []string{b}, Blobs: 9, MemberBytes: 1 << 27})
	v, _ = s.Volume(id)
	if len(v.Deleted) != 0 || v.Blobs != 9 || v.Epoch != 1 || v.Generation != 3 || v.MemberBytes != 1<<27 {
		t.Fatalf("after compaction: %+v", v)
	}
	if err := s.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	// Only coded volumes are compacted.
	open := mustApply(t, s, &CreateVolume{Scheme: Replication(3), Placement: []string{"h4-d1", "h5-d1", "h6-d1"}, MemberBytes: 1 << 30}).Volume
	wantErr(t, s, &CompactVolume{ID: open, ExpectedGeneration: 1, Epoch: 1, Blobs: 1, MemberBytes: 1}, ErrConflict, "only an encoded volume")
}
