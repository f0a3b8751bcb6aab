// Command evaluate measures the drive-failure predictor on the test drives
// of the Backblaze files, the fifth of the drives that cmd/train never
// sees, against Backblaze's rule "any of SMART 5, 187, 188, 197, 198 is
// above zero", and prints the table README.md shows. Run it from the
// repository's root:
//
//	go run ./agent/health/predict/cmd/evaluate
//
// By default it measures the model compiled into the package (model.json);
// -model measures another file.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/shingle-storage/shingle/agent/health/predict"
	"github.com/shingle-storage/shingle/agent/health/predict/train"
)

func main() {
	data := flag.String("data", train.DefaultDataDir, "folder of the Backblaze files")
	model := flag.String("model", "", "model file to measure (default: the compiled-in model.json)")
	resamples := flag.Int("resamples", train.DefaultResamples, "bootstrap resamples for the confidence intervals")
	seed := flag.Uint64("seed", 1, "seed for the bootstrap")
	flag.Parse()
	if err := run(*data, *model, *resamples, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "evaluate:", err)
		os.Exit(1)
	}
}

func run(data, path string, resamples int, seed uint64) error {
	m, err := load(path)
	if err != nil {
		return err
	}
	table, err := train.EvaluateTestFold(m, data, resamples, seed)
	if err != nil {
		return err
	}
	fmt.Print(table)
	return nil
}

// load reads the model at path, or the compiled-in one if path is empty.
func load(path string) (*predict.Model, error) {
	if path == "" {
		return predict.Embedded()
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return predict.Load(f)
}
