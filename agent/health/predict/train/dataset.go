package train

import (
	"fmt"
	"path/filepath"

	"github.com/shingle-storage/shingle/agent/health/predict/backblaze"
)

// Dataset is one Backblaze file's drives, and how its healthy drives were
// sampled.
type Dataset struct {
	// Name labels the dataset in reports, for example "2018".
	Name string
	// Drives are the file's drives.
	Drives []backblaze.Drive
	// HealthyWeight is how many drives of the full fleet each healthy drive
	// in the file stands for. The files keep every drive that failed but
	// only a sample of the healthy ones (for example one in ten, making
	// HealthyWeight 10); weighting each healthy drive's days by this
	// restores the fleet's proportions. 1 for a file that is not sampled.
	HealthyWeight float64
}

// DefaultDataDir is where the Backblaze files live, relative to the
// repository's root: the project's shared data folder, next to the
// repository.
const DefaultDataDir = "../shared/data/smart"

// BackblazeFile is one of the sampled Backblaze files the model is trained
// and evaluated on.
type BackblazeFile struct {
	// Name labels the file's dataset in reports.
	Name string
	// File is the file's name in the data folder.
	File string
	// HealthyWeight is the number of the fleet's healthy drives over the
	// number kept in the file, from the file's README.
	HealthyWeight float64
}

// BackblazeFiles lists the files, as the data folder's README describes
// them: all drives that failed and a random sample of the healthy ones.
func BackblazeFiles() []BackblazeFile {
	return []BackblazeFile{
		{Name: "2013", File: "backblaze-2013-train.csv.gz", HealthyWeight: 22772.0 / 2277},
		{Name: "2018", File: "backblaze-2018-train.csv.gz", HealthyWeight: 31704.0 / 2700},
	}
}

// LoadDatasets reads every file of BackblazeFiles from dir.
func LoadDatasets(dir string) ([]Dataset, error) {
	files := BackblazeFiles()
	sets := make([]Dataset, len(files))
	errs := make([]error, len(files))
	parallel(len(files), func(i int) {
		f := files[i]
		drives, err := backblaze.ReadFile(filepath.Join(dir, f.File))
		if err != nil {
			errs[i] = fmt.Errorf("%w; the Backblaze files are expected in %s (set -data to their folder)", err, dir)
			return
		}
		sets[i] = Dataset{Name: f.Name, Drives: drives, HealthyWeight: f.HealthyWeight}
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return sets, nil
}
