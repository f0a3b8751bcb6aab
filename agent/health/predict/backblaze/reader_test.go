package backblaze

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const header = "date,serial_number,model,capacity_bytes,failure,smart_5_raw,smart_9_raw,smart_197_raw,smart_5_normalized\n"

func TestRead(t *testing.T) {
	// Rows out of order and interleaved across drives; an empty cell.
	in := header +
		"2013-04-11,B,ST1,100,1,8,20,,100\n" +
		"2013-04-10,B,ST1,100,0,0,10,0,100\n" +
		"2013-04-11,A,HDS,100,0,0,30,1,100\n" +
		"2013-04-10,A,HDS,100,0,0,,0,100\n"
	drives, err := Read(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(drives) != 2 || drives[0].Serial != "A" || drives[1].Serial != "B" {
		t.Fatalf("drives %+v, want A then B", drives)
	}
	a, b := drives[0], drives[1]
	if a.Model != "HDS" || !a.Failed.IsZero() {
		t.Errorf("drive A: model %q, failed %v; want HDS, never failed", a.Model, a.Failed)
	}
	day := func(d int) time.Time { return time.Date(2013, 4, d, 0, 0, 0, 0, time.UTC) }
	if !b.Failed.Equal(day(11)) {
		t.Errorf("drive B failed on %v, want 2013-04-11", b.Failed)
	}
	if len(b.Samples) != 2 || !b.Samples[0].Day.Equal(day(10)) || !b.Samples[1].Day.Equal(day(11)) {
		t.Fatalf("drive B samples %+v, want 04-10 then 04-11", b.Samples)
	}
	if got := b.Samples[1].SMART; got[5] != 8 || got[9] != 20 || len(got) != 2 {
		t.Errorf("drive B on 04-11: %v, want 5=8, 9=20 and no 197 (empty cell)", got)
	}
	if _, ok := a.Samples[0].SMART[9]; ok {
		t.Errorf("drive A on 04-10 has SMART 9 %v, but its cell was empty", a.Samples[0].SMART)
	}
	if a.Samples[1].SMART[197] != 1 {
		t.Errorf("drive A on 04-11: %v, want 197=1", a.Samples[1].SMART)
	}
}

// TestReadRejects checks that malformed input is rejected with an error
// that names the problem (and the line, when it is a row's).
func TestReadRejects(t *testing.T) {
	row := "2013-04-10,A,HDS,100,0,0,10,0,100\n"
	for _, c := range []struct {
		name, in string
		want     []string
	}{
		{"empty file", "", []string{"empty"}},
		{"no serial column", "date,model,failure\n2013-04-10,X,0\n", []string{"no serial_number column"}},
		{"no failure column", "date,serial_number\n2013-04-10,A\n", []string{"no failure column"}},
		{"no date column", "serial_number,failure\nA,0\n", []string{"no date column"}},
		{"attribute out of range", "date,serial_number,failure,smart_300_raw\n", []string{"smart_300_raw", "0 to 255"}},
		{"short row", header + row + "2013-04-11,A,HDS,100,0\n", []string{"line 3", "number of fields"}},
		{"bad date", header + "2013/04/10,A,HDS,100,0,0,10,0,100\n", []string{"line 2", "YYYY-MM-DD"}},
		{"bad failure", header + "2013-04-10,A,HDS,100,yes,0,10,0,100\n", []string{"line 2", `failure is "yes"`}},
		{"negative value", header + row + "2013-04-11,A,HDS,100,0,-1,10,0,100\n", []string{"line 3", "smart_5_raw", "non-negative integer"}},
		{"decimal value", header + "2013-04-10,A,HDS,100,0,0,10.5,0,100\n", []string{"line 2", "smart_9_raw"}},
		{"text value", header + "2013-04-10,A,HDS,100,0,0,10,abc,100\n", []string{"smart_197_raw", `"abc"`}},
		{"empty serial", header + "2013-04-10,,HDS,100,0,0,10,0,100\n", []string{"line 2", "serial_number is empty"}},
		{"duplicate day", header + row + row, []string{"drive A", "two rows for 2013-04-10"}},
		{"bad quoting", header + "2013-04-10,\"A,HDS,100,0,0,10,0,100\n", []string{"line"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(c.in))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "stats.csv")
	in := header + "2013-04-10,A,HDS,100,0,0,10,0,100\n"
	if err := os.WriteFile(plain, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write([]byte(in))
	w.Close()
	zipped := filepath.Join(dir, "stats.csv.gz")
	if err := os.WriteFile(zipped, z.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{plain, zipped} {
		drives, err := ReadFile(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if len(drives) != 1 || len(drives[0].Samples) != 1 {
			t.Fatalf("%s: %+v, want one drive with one sample", p, drives)
		}
	}
	// A plain file named .gz, and a file that is not there.
	fake := filepath.Join(dir, "fake.csv.gz")
	os.WriteFile(fake, []byte(in), 0o644)
	if _, err := ReadFile(fake); err == nil || !strings.Contains(err.Error(), "gzipped") {
		t.Errorf("plain file named .gz: error %v, want one asking whether it is gzipped", err)
	}
	if _, err := ReadFile(filepath.Join(dir, "absent.csv")); err == nil {
		t.Error("absent file: no error")
	}
	// Errors name the file.
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte(header+"x,A,HDS,100,0,0,10,0,100\n"), 0o644)
	if _, err := ReadFile(bad); err == nil || !strings.Contains(err.Error(), "bad.csv") {
		t.Errorf("bad row: error %v, want it to name the file", err)
	}
}

// FuzzRead checks that Read never panics, and that what it accepts is in
// order: drives by serial, each drive's days strictly increasing.
func FuzzRead(f *testing.F) {
	f.Add(header + "2013-04-11,B,ST1,100,1,8,20,,100\n2013-04-10,B,ST1,100,0,0,10,0,100\n")
	f.Add("date,serial_number,failure,smart_197_raw\n2018-01-02,S,0,18446744073709551615\n")
	f.Add("date,serial_number,failure\n\"2018-01-02\",\"S\",\"0\"\n")
	f.Fuzz(func(t *testing.T, in string) {
		drives, err := Read(strings.NewReader(in))
		if err != nil {
			return
		}
		for i, d := range drives {
			if i > 0 && drives[i-1].Serial >= d.Serial {
				t.Fatalf("drives out of order: %q then %q", drives[i-1].Serial, d.Serial)
			}
			for j := 1; j < len(d.Samples); j++ {
				if !d.Samples[j-1].Day.Before(d.Samples[j].Day) {
					t.Fatalf("drive %q: days out of order", d.Serial)
				}
			}
		}
	})
}
