package smart_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shingle-storage/shingle/agent/health/smart"
)

func TestValidate(t *testing.T) {
	ata := func(ids ...uint8) []smart.Attribute {
		var as []smart.Attribute
		for _, id := range ids {
			as = append(as, smart.Attribute{ID: id})
		}
		return as
	}
	for _, c := range []struct {
		name string
		s    smart.Sample
		want string // part of the error, "" for none
	}{
		{"ata", smart.Sample{Kind: smart.ATA, ATA: ata(1, 5, 194)}, ""},
		{"ata without attributes", smart.Sample{Kind: smart.ATA}, ""},
		{"nvme", smart.Sample{Kind: smart.NVMe, NVMe: &smart.NVMeHealth{}}, ""},
		{"no kind", smart.Sample{ATA: ata(1)}, "no kind"},
		{"unknown kind", smart.Sample{Kind: "scsi"}, `unknown kind "scsi"`},
		{"ata with nvme log", smart.Sample{Kind: smart.ATA, NVMe: &smart.NVMeHealth{}}, "NVMe health log"},
		{"attribute 0", smart.Sample{Kind: smart.ATA, ATA: ata(1, 0)}, "ID 0"},
		{"attributes out of order", smart.Sample{Kind: smart.ATA, ATA: ata(5, 1)}, "out of order"},
		{"attribute twice", smart.Sample{Kind: smart.ATA, ATA: ata(5, 5)}, "repeated"},
		{"nvme without log", smart.Sample{Kind: smart.NVMe}, "no health log"},
		{"nvme with attributes", smart.Sample{Kind: smart.NVMe, NVMe: &smart.NVMeHealth{}, ATA: ata(1)}, "ATA attributes"},
	} {
		err := c.s.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.want)
		}
	}
}

func TestCriticalWarning(t *testing.T) {
	var none smart.CriticalWarning
	if none.String() != "none" || none.Conditions() != nil {
		t.Errorf("zero warning: %q, %q", none.String(), none.Conditions())
	}
	w := smart.WarningSpare | smart.WarningReadOnly | 1<<7
	if got, want := w.Conditions(), []string{"available spare below threshold", "media read-only", "reserved bit 7"}; !reflect.DeepEqual(got, want) {
		t.Errorf("conditions %q, want %q", got, want)
	}
	if got := w.String(); got != "0x89 (available spare below threshold, media read-only, reserved bit 7)" {
		t.Errorf("String() = %q", got)
	}
	if !w.Has(smart.WarningSpare|smart.WarningReadOnly) || w.Has(smart.WarningSpare|smart.WarningTemperature) {
		t.Errorf("Has is wrong for %v", w)
	}
	// The bits are the NVMe specification's.
	for bit, w := range []smart.CriticalWarning{smart.WarningSpare, smart.WarningTemperature, smart.WarningReliability,
		smart.WarningReadOnly, smart.WarningVolatileBackup, smart.WarningPersistentMemory} {
		if w != 1<<bit {
			t.Errorf("warning %v is not bit %d", w, bit)
		}
	}
}

func TestAttributeFailing(t *testing.T) {
	for _, c := range []struct {
		value, threshold uint8
		want             bool
	}{
		{100, 10, false},
		{11, 10, false},
		{10, 10, true},
		{9, 10, true},
		{1, 0, false},     // threshold 0: never fails
		{0, 10, false},    // 0 is not a valid normalized value
		{254, 255, false}, // neither is 254
		{253, 253, true},
	} {
		a := smart.Attribute{ID: 5, Value: c.value, Threshold: c.threshold}
		if got := a.Failing(); got != c.want {
			t.Errorf("value %d, threshold %d: failing %v, want %v", c.value, c.threshold, got, c.want)
		}
	}
}

func TestClone(t *testing.T) {
	s := smart.Sample{Kind: smart.ATA, Time: time.Now(), ATA: []smart.Attribute{{ID: 5, Raw: 1}}}
	c := s.Clone()
	c.ATA[0].Raw = 2
	if s.ATA[0].Raw != 1 {
		t.Error("the clone shares ATA attributes with the original")
	}
	n := smart.Sample{Kind: smart.NVMe, NVMe: &smart.NVMeHealth{MediaErrors: 1}}
	d := n.Clone()
	d.NVMe.MediaErrors = 2
	if n.NVMe.MediaErrors != 1 {
		t.Error("the clone shares the NVMe health log with the original")
	}
}

func TestAttributeLookup(t *testing.T) {
	s := smart.Sample{Kind: smart.ATA, ATA: []smart.Attribute{{ID: 5, Raw: 7}, {ID: 197, Raw: 9}}}
	if a, ok := s.Attribute(197); !ok || a.Raw != 9 {
		t.Errorf("Attribute(197) = %+v, %v", a, ok)
	}
	if _, ok := s.Attribute(198); ok {
		t.Error("Attribute(198) found an attribute the sample does not have")
	}
}
