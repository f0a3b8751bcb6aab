package smart_test

import (
	"context"
	"errors"
	"io"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/shingle-storage/shingle/agent/health/predict"
	"github.com/shingle-storage/shingle/agent/health/smart"
)

// replayAll reads every sample of the given files under testdata through a
// Replay.
func replayAll(t *testing.T, files ...string) []smart.Sample {
	t.Helper()
	for i, f := range files {
		files[i] = filepath.Join("testdata", f)
	}
	r, err := smart.LoadReplay(files...)
	if err != nil {
		t.Fatal(err)
	}
	var out []smart.Sample
	for {
		s, err := r.Read(context.Background())
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
}

func TestSignalsFailingATA(t *testing.T) {
	history := replayAll(t, "failing-ata.json")
	first, last := history[0].Signals(), history[len(history)-1].Signals()

	if want := map[uint8]uint64{5: 0, 187: 0, 188: 0, 197: 0, 198: 0}; !reflect.DeepEqual(first.Backblaze, want) {
		t.Errorf("first day: Backblaze %v, want %v", first.Backblaze, want)
	}
	if p := first.Problems(); len(p) != 0 {
		t.Errorf("first day: problems %q, want none", p)
	}
	if want := map[uint8]uint64{5: 2976, 187: 12, 188: 2, 197: 40, 198: 40}; !reflect.DeepEqual(last.Backblaze, want) {
		t.Errorf("last day: Backblaze %v, want %v", last.Backblaze, want)
	}
	if !reflect.DeepEqual(last.FailingAttributes, []uint8{5}) {
		t.Errorf("last day: failing attributes %v, want [5]", last.FailingAttributes)
	}
	if !last.HasTemperature || last.TemperatureC != 36 {
		t.Errorf("last day: temperature %d (reported %v), want 36 from attribute 194", last.TemperatureC, last.HasTemperature)
	}
	problems := last.Problems()
	if len(problems) != 6 {
		t.Errorf("last day: problems %q, want one per nonzero Backblaze counter and one for attribute 5", problems)
	}
	for _, want := range []string{"reallocated sectors (SMART 5) = 2976", "SMART attribute 5 is at or below its threshold"} {
		if !slices.Contains(problems, want) {
			t.Errorf("last day: problems %q lack %q", problems, want)
		}
	}
	if last.CriticalWarning != 0 || last.MediaErrors != 0 {
		t.Errorf("an ATA drive has NVMe signals: %+v", last)
	}
}

func TestSignalsFailingNVMe(t *testing.T) {
	s := replayAll(t, "failing-nvme.json")[0]
	g := s.Signals()
	if g.Backblaze != nil || g.FailingAttributes != nil {
		t.Errorf("an NVMe drive has ATA signals: %+v", g)
	}
	if g.CriticalWarning != smart.WarningSpare|smart.WarningReliability || g.MediaErrors != 37 || g.PercentageUsed != 104 {
		t.Errorf("signals %+v", g)
	}
	if !g.HasTemperature || g.TemperatureC != 45 {
		t.Errorf("temperature %d (reported %v), want 45", g.TemperatureC, g.HasTemperature)
	}
	want := []string{
		"NVMe critical warning: available spare below threshold",
		"NVMe critical warning: reliability degraded",
		"NVMe media and data integrity errors = 37",
		"NVMe percentage used = 104%: rated endurance used up",
	}
	if got := g.Problems(); !reflect.DeepEqual(got, want) {
		t.Errorf("problems\n got %q\nwant %q", got, want)
	}
}

// TestSignalsQEMU derives the signals of the samples recorded in the QEMU
// guest (see qemu_test.go).
func TestSignalsQEMU(t *testing.T) {
	sata := replayAll(t, "qemu/qemu-sata.sample.json")[0].Signals()
	// QEMU's table has no attribute 194; its 190 reads 31 °C.
	if !sata.HasTemperature || sata.TemperatureC != 31 {
		t.Errorf("SATA temperature %d (reported %v), want 31", sata.TemperatureC, sata.HasTemperature)
	}
	if want := map[uint8]uint64{5: 0}; !reflect.DeepEqual(sata.Backblaze, want) {
		t.Errorf("SATA Backblaze %v, want %v: the others are not reported", sata.Backblaze, want)
	}
	if p := sata.Problems(); len(p) != 0 {
		t.Errorf("SATA problems %q", p)
	}

	nvme := replayAll(t, "qemu/qemu-nvme.sample.json")[0].Signals()
	if !nvme.HasTemperature || nvme.TemperatureC != 50 || len(nvme.Problems()) != 0 {
		t.Errorf("NVMe signals %+v, problems %q", nvme, nvme.Problems())
	}
	warn := replayAll(t, "qemu/qemu-nvme-warning.sample.json")[0].Signals()
	if warn.CriticalWarning != smart.WarningSpare|smart.WarningReliability || len(warn.Problems()) != 2 {
		t.Errorf("NVMe with warnings: signals %+v, problems %q", warn, warn.Problems())
	}
}

func TestATATemperature(t *testing.T) {
	attr := func(id uint8, name string, raw uint64) smart.Attribute {
		return smart.Attribute{ID: id, Name: name, Raw: raw}
	}
	for _, c := range []struct {
		name  string
		attrs []smart.Attribute
		want  int // -1: none
	}{
		{"194 alone", []smart.Attribute{attr(194, "Temperature_Celsius", 38)}, 38},
		{"194 with min and max", []smart.Attribute{attr(194, "Temperature_Celsius", 0x0032_0014_0026)}, 38},
		{"194 before 190", []smart.Attribute{attr(190, "Airflow_Temperature_Cel", 30), attr(194, "Temperature_Celsius", 38)}, 38},
		{"190 when 194 is zero", []smart.Attribute{attr(190, "Airflow_Temperature_Cel", 30), attr(194, "Temperature_Celsius", 0)}, 30},
		{"190 when 194 is out of range", []smart.Attribute{attr(190, "", 30), attr(194, "", 200)}, 30},
		{"tenths of a degree", []smart.Attribute{attr(194, "Temperature_Celsius_x10", 384)}, 38},
		{"tenths rounded", []smart.Attribute{attr(194, "Temperature_Celsius_x10", 385)}, 39},
		{"none", []smart.Attribute{attr(5, "Reallocated_Sector_Ct", 0)}, -1},
		{"out of range", []smart.Attribute{attr(194, "", 0x80)}, -1},
	} {
		g := (&smart.Sample{Kind: smart.ATA, ATA: c.attrs}).Signals()
		got := -1
		if g.HasTemperature {
			got = g.TemperatureC
		}
		if got != c.want {
			t.Errorf("%s: temperature %d, want %d", c.name, got, c.want)
		}
	}

	cold := (&smart.Sample{Kind: smart.NVMe, NVMe: &smart.NVMeHealth{TemperatureKelvin: 268}}).Signals()
	if !cold.HasTemperature || cold.TemperatureC != -5 {
		t.Errorf("NVMe at 268 K: %d °C (reported %v), want -5", cold.TemperatureC, cold.HasTemperature)
	}
	if (&smart.Sample{Kind: smart.NVMe, NVMe: &smart.NVMeHealth{}}).Signals().HasTemperature {
		t.Error("an NVMe temperature of 0 K counts as reported")
	}
}

func TestThresholdsUnavailable(t *testing.T) {
	s := smart.Sample{Kind: smart.ATA, ThresholdsUnavailable: true,
		ATA: []smart.Attribute{{ID: 5, Value: 1, Threshold: 10}}}
	if g := s.Signals(); g.FailingAttributes != nil {
		t.Errorf("failing attributes %v without thresholds", g.FailingAttributes)
	}
}

func TestPredictSample(t *testing.T) {
	s := replayAll(t, "failing-ata.json")[3]
	p := s.PredictSample()
	if !p.Day.Equal(s.Time) || p.Extra != nil {
		t.Errorf("ATA predictor sample: day %v, extra %v", p.Day, p.Extra)
	}
	if len(p.SMART) != len(s.ATA) {
		t.Errorf("%d attributes in the predictor sample, %d read", len(p.SMART), len(s.ATA))
	}
	for _, a := range s.ATA {
		if p.SMART[a.ID] != a.Raw {
			t.Errorf("attribute %d: %d in the predictor sample, %d read", a.ID, p.SMART[a.ID], a.Raw)
		}
	}

	n := replayAll(t, "failing-nvme.json")[0].PredictSample()
	want := map[string]float64{
		smart.ExtraCriticalWarning: 5, smart.ExtraMediaErrors: 37, smart.ExtraPercentageUsed: 104,
		smart.ExtraAvailableSpare: 4, smart.ExtraTemperatureC: 45, smart.ExtraPowerOnHours: 38112,
		smart.ExtraUnsafeShutdowns: 9, smart.ExtraErrorLogEntries: 212,
	}
	if n.SMART != nil || !maps.Equal(n.Extra, want) {
		t.Errorf("NVMe predictor sample: SMART %v, Extra %v; want Extra %v", n.SMART, n.Extra, want)
	}
}

// TestPredictorOnReplay feeds a recorded history to the failure predictor:
// the drive is clean on its first day and failing on its last, with its
// reallocated sectors among the reasons.
func TestPredictorOnReplay(t *testing.T) {
	m, err := predict.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	var history []predict.Sample
	for _, s := range replayAll(t, "failing-ata.json") {
		history = append(history, s.PredictSample())
	}
	first, err := m.Predict(history[:1])
	if err != nil {
		t.Fatal(err)
	}
	last, err := m.Predict(history)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first day %.4f, last day %.4f (threshold %.4f); reasons %v", first.Probability, last.Probability, m.Threshold(), last.Reasons)
	if first.Probability >= m.Threshold() || last.Probability < m.Threshold() {
		t.Errorf("probability %.4f on the first day, %.4f on the last; want below and at or above the threshold %.4f",
			first.Probability, last.Probability, m.Threshold())
	}
	var features []string
	for _, r := range last.Reasons {
		features = append(features, r.Feature)
	}
	if !strings.Contains(strings.Join(features, " "), "smart_5") {
		t.Errorf("reasons %v do not include reallocated sectors", features)
	}
}
