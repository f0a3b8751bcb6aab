//go:build smartdata

package train

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shingle-storage/shingle/agent/health/predict"
)

// dataDir is where the tests find the Backblaze files: $SHINGLE_SMART_DATA,
// or the project's shared data folder next to the repository.
func dataDir() string {
	if d := os.Getenv("SHINGLE_SMART_DATA"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "..", DefaultDataDir)
}

// TestCommittedModelMatchesREADME evaluates the committed model on the test
// drives and checks that README.md shows exactly the table that comes out,
// so the numbers there are the model's. It needs the Backblaze files, so it
// builds only with the smartdata tag; tools/test.sh runs it whenever the
// files are next to the repository, and it fails, rather than skips, when
// asked to run without them.
func TestCommittedModelMatchesREADME(t *testing.T) {
	dir := dataDir()
	for _, f := range BackblazeFiles() {
		if _, err := os.Stat(filepath.Join(dir, f.File)); err != nil {
			t.Fatalf("%v; this test needs the Backblaze files: put them in %s or set SHINGLE_SMART_DATA to their folder", err, dir)
		}
	}
	m, err := predict.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	table, err := EvaluateTestFold(m, dir, DefaultResamples, 1)
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), table) {
		t.Fatalf("README.md does not show the committed model's test results; replace its table with the output of "+
			"`go run ./agent/health/predict/cmd/evaluate`:\n%s", table)
	}
}
