package discover_test

import (
	"bytes"
	"testing"

	"github.com/shingle-storage/shingle/agent/discover"
)

// FuzzInspect feeds arbitrary drive contents and geometries to Inspect,
// which decodes bytes read from drives nobody vouches for: it must not
// panic, and reading a byte slice never fails.
func FuzzInspect(f *testing.F) {
	f.Add([]byte("XFSB"), int64(1<<20), int64(0), 4096)
	f.Add(append(make([]byte, 510), 0x55, 0xaa), int64(600<<10), int64(256<<10), 512)
	gpt := make([]byte, 1024)
	copy(gpt[446:], mbrEntry(0, 0xEE))
	copy(gpt[510:], "\x55\xaaEFI PART")
	f.Add(gpt, int64(len(gpt)), int64(0), 512)
	f.Add([]byte("SHGLABEL\x01"), int64(8<<20), int64(1<<20), 4096)
	f.Fuzz(func(t *testing.T, data []byte, size, zoneSize int64, blockSize int) {
		d := discover.Drive{ID: "wwn-0x5000cca2a1b2c3d4", Size: size % (1 << 40), ZoneSize: zoneSize, LogicalBlockSize: blockSize % (1 << 16)}
		if d.Size < 0 {
			d.Size = -d.Size
		}
		in, err := discover.Inspect(d, bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range in.Findings {
			if f.Offset < 0 || f.Offset >= max(d.Size, 1) || f.Name == "" {
				t.Fatalf("finding %+v outside a drive of %d bytes", f, d.Size)
			}
		}
	})
}
