package server

import (
	"fmt"

	"github.com/shingle-storage/shingle/agent/health/smart"
)

// ReplaySMART gives emulated drives SMART data played back from recorded
// samples: files[i], if not empty, is a JSON file of samples (one sample
// or an array, as smart.ReadSamples reads them; agent/health/smart/testdata
// has some) for drives[i]. The health monitor reads the next sample at each
// check; once they run out the last one stands. Drives without a file have
// no SMART data, and no failure prediction.
func ReplaySMART(drives []*Drive, files []string) error {
	if len(files) > len(drives) {
		return fmt.Errorf("SMART samples: %d files for %d drives; give at most one file per drive, in drive order", len(files), len(drives))
	}
	for i, f := range files {
		if f == "" {
			continue
		}
		r, err := smart.LoadReplay(f)
		if err != nil {
			return fmt.Errorf("SMART samples for drive %d (%s): %w", i, drives[i].Path, err)
		}
		drives[i].SMART = r
	}
	return nil
}
