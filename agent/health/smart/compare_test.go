package smart_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/shingle-storage/shingle/agent/health/smart"
)

// recordedPair loads a sample and smartctl's report on the same drive, as
// recorded in the QEMU guest.
func recordedPair(t *testing.T, name string) (smart.Sample, smartctlReport) {
	t.Helper()
	s := replayAll(t, filepath.Join("qemu", name+".sample.json"))[0]
	data, err := os.ReadFile(filepath.Join("testdata", "qemu", name+".smartctl.json"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := parseSmartctl(data)
	if err != nil {
		t.Fatal(err)
	}
	return s, r
}

// TestCompareSmartctlRecorded checks the recorded samples against the
// smartctl reports recorded with them.
func TestCompareSmartctlRecorded(t *testing.T) {
	for _, name := range []string{"qemu-sata", "qemu-nvme", "qemu-nvme-warning"} {
		s, r := recordedPair(t, name)
		if d := compareSmartctl(s, r); len(d) != 0 {
			t.Errorf("%s: %q", name, d)
		}
	}
}

// TestCompareSmartctlCatchesATA changes one thing at a time in a recorded
// ATA sample: the comparison with smartctl must notice each.
func TestCompareSmartctlCatchesATA(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(s *smart.Sample)
	}{
		{"model", func(s *smart.Sample) { s.Model += "x" }},
		{"serial", func(s *smart.Sample) { s.Serial = "" }},
		{"firmware", func(s *smart.Sample) { s.Firmware = "1.0" }},
		{"kind", func(s *smart.Sample) { s.Kind, s.ATA, s.NVMe = smart.NVMe, nil, &smart.NVMeHealth{} }},
		{"value", func(s *smart.Sample) { s.ATA[0].Value-- }},
		{"worst", func(s *smart.Sample) { s.ATA[1].Worst++ }},
		{"threshold", func(s *smart.Sample) { s.ATA[2].Threshold++ }},
		{"raw", func(s *smart.Sample) { s.ATA[3].Raw += 1 << 40 }},
		{"flags", func(s *smart.Sample) { s.ATA[4].Flags ^= smart.FlagPrefailure }},
		{"failing", func(s *smart.Sample) { s.ATA[0].Value = s.ATA[0].Threshold }},
		{"missing attribute", func(s *smart.Sample) { s.ATA = s.ATA[1:] }},
		{"extra attribute", func(s *smart.Sample) { s.ATA = append(s.ATA, smart.Attribute{ID: 240}) }},
		// QEMU's temperature is in attribute 190's low byte.
		{"temperature", func(s *smart.Sample) {
			i := len(s.ATA) - 1
			if s.ATA[i].ID != 190 {
				t.Fatalf("the last attribute is %d, not 190", s.ATA[i].ID)
			}
			s.ATA[i].Raw++
		}},
		{"no temperature", func(s *smart.Sample) { s.ATA = s.ATA[:len(s.ATA)-1] }},
	} {
		s, r := recordedPair(t, "qemu-sata")
		c.change(&s)
		d := compareSmartctl(s, r)
		t.Logf("%s: %q", c.name, d)
		if len(d) == 0 {
			t.Errorf("%s: no difference found", c.name)
		}
	}
}

// TestCompareSmartctlCatchesNVMe changes each field of a recorded NVMe
// health log in turn: the comparison with smartctl must notice each, so it
// covers every field.
func TestCompareSmartctlCatchesNVMe(t *testing.T) {
	fields := reflect.TypeFor[smart.NVMeHealth]().NumField()
	for i := range fields {
		s, r := recordedPair(t, "qemu-nvme-warning")
		f := reflect.ValueOf(s.NVMe).Elem().Field(i)
		f.SetUint(f.Uint() ^ 1)
		name := reflect.TypeFor[smart.NVMeHealth]().Field(i).Name
		d := compareSmartctl(s, r)
		if len(d) == 0 {
			t.Errorf("changing %s: no difference found", name)
		}
	}
	s, r := recordedPair(t, "qemu-nvme")
	r.NVMeHealth = nil
	if d := compareSmartctl(s, r); len(d) == 0 || !strings.Contains(strings.Join(d, " "), "no NVMe health log") {
		t.Errorf("a report without a health log: %q", d)
	}
}
