package zoned_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shingle-storage/shingle/zoned"
)

// writeQueue makes dir/queue/ with the given files.
func writeQueue(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "queue"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, v := range files {
		if err := os.WriteFile(filepath.Join(dir, "queue", name), []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestReadQueueLimits(t *testing.T) {
	dir := writeQueue(t, map[string]string{
		"zoned": "host-managed", "chunk_sectors": "524288", "nr_zones": "55880",
		"max_open_zones": "128", "max_active_zones": "0",
		"logical_block_size": "4096", "physical_block_size": "4096",
	})
	q, err := zoned.ReadQueueLimits(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := zoned.QueueLimits{Model: zoned.ModelHostManaged, ChunkSectors: 524288, ZoneCount: 55880,
		MaxOpenZones: 128, LogicalBlockSize: 4096, PhysicalBlockSize: 4096}
	if q != want {
		t.Fatalf("got %+v, want %+v", q, want)
	}

	// A kernel before 5.9 has no max_active_zones; a conventional disk says
	// none and has no zones.
	dir = writeQueue(t, map[string]string{"zoned": "host-aware", "chunk_sectors": "8", "nr_zones": "4"})
	if q, err = zoned.ReadQueueLimits(dir); err != nil || q.Model != zoned.ModelHostAware || q.MaxActiveZones != 0 {
		t.Fatalf("host-aware without zone limits: %+v, %v", q, err)
	}
	dir = writeQueue(t, map[string]string{"zoned": "none", "logical_block_size": "512"})
	if q, err = zoned.ReadQueueLimits(dir); err != nil || q.Model != zoned.ModelNone || q.ZoneCount != 0 || q.LogicalBlockSize != 512 {
		t.Fatalf("conventional disk: %+v, %v", q, err)
	}

	// Errors name the file.
	dir = writeQueue(t, map[string]string{"zoned": "host-managed", "nr_zones": "many"})
	if _, err = zoned.ReadQueueLimits(dir); err == nil || !strings.Contains(err.Error(), "queue/nr_zones") {
		t.Fatalf("bad number: %v", err)
	}
	if _, err = zoned.ReadQueueLimits(t.TempDir()); !os.IsNotExist(err) {
		t.Fatalf("no queue/zoned: %v, want a not-exist error", err)
	}
}
