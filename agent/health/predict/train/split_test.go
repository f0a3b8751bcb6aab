package train

import (
	"slices"
	"testing"
)

// TestInTestFold checks the split against values computed independently
// with Python: int(hashlib.sha1(serial.encode()).hexdigest(), 16) % 5 == 0.
func TestInTestFold(t *testing.T) {
	for serial, want := range map[string]bool{
		"5XW02HTX":  true,
		"5XW02LSS":  true,
		"5XW031YY":  true,
		"":          true,
		"S300WFKQ":  false,
		"S3003W81":  false,
		"13H8B3SGS": false,
		"Z300GZ0D":  false,
	} {
		if got := InTestFold(serial); got != want {
			t.Errorf("InTestFold(%q) = %v, want %v", serial, got, want)
		}
	}
}

func TestFolds(t *testing.T) {
	r := &Rows{}
	for i := range 100 {
		r.Drives = append(r.Drives, DriveInfo{Failed: i < 10})
	}
	a := Folds(r, 5, 7)
	if b := Folds(r, 5, 7); !slices.Equal(a, b) {
		t.Fatal("the same seed dealt different folds")
	}
	if c := Folds(r, 5, 8); slices.Equal(a, c) {
		t.Error("different seeds dealt the same folds")
	}
	failed := make([]int, 5)
	all := make([]int, 5)
	for d, f := range a {
		all[f]++
		if r.Drives[d].Failed {
			failed[f]++
		}
	}
	for f := range 5 {
		if failed[f] != 2 || all[f] != 20 {
			t.Errorf("fold %d has %d drives, %d failed; want 20 and 2", f, all[f], failed[f])
		}
	}
}
