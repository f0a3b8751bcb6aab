package smart_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shingle-storage/shingle/agent/health/smart"
)

// sampleFiles are the sample files under testdata.
var sampleFiles = []string{
	"failing-ata.json",
	"failing-nvme.json",
	"qemu/qemu-sata.sample.json",
	"qemu/qemu-nvme.sample.json",
	"qemu/qemu-nvme-warning.sample.json",
}

func TestLoadReplay(t *testing.T) {
	var paths []string
	for _, f := range sampleFiles {
		paths = append(paths, filepath.Join("testdata", f))
	}
	r, err := smart.LoadReplay(paths...)
	if err != nil {
		t.Fatal(err)
	}
	var _ smart.Reader = r
	if r.Remaining() != 8 {
		t.Fatalf("%d samples, want 8 (4 + 1 + 1 + 1 + 1)", r.Remaining())
	}
	var serials []string
	for {
		s, err := r.Read(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		serials = append(serials, s.Serial)
	}
	want := []string{"Z840ABCD", "Z840ABCD", "Z840ABCD", "Z840ABCD", "S64HNE0T812345", "shinglesata", "shinglenvme", "shinglewarn"}
	if !reflect.DeepEqual(serials, want) {
		t.Errorf("serials %q, want %q", serials, want)
	}
	if _, err := r.Read(context.Background()); !errors.Is(err, io.EOF) {
		t.Errorf("read after the end: %v, want io.EOF", err)
	}
}

func TestLoadReplayErrors(t *testing.T) {
	if _, err := smart.LoadReplay(filepath.Join("testdata", "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"kind": "sas"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := smart.LoadReplay(bad)
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), `unknown kind "sas"`) {
		t.Errorf("bad file: %v, want an error naming the file and the kind", err)
	}
}

func TestReplayReturnsCopies(t *testing.T) {
	orig := smart.Sample{Kind: smart.ATA, ATA: []smart.Attribute{{ID: 5, Raw: 1}}}
	r := smart.NewReplay(orig, orig)
	orig.ATA[0].Raw = 100 // NewReplay copied it
	a, _ := r.Read(context.Background())
	a.ATA[0].Raw = 200
	b, _ := r.Read(context.Background())
	if a.ATA[0].Raw != 200 || b.ATA[0].Raw != 1 {
		t.Errorf("samples share memory: second read has raw %d, want 1", b.ATA[0].Raw)
	}
}

func TestReplayCanceled(t *testing.T) {
	r := smart.NewReplay(smart.Sample{Kind: smart.NVMe, NVMe: &smart.NVMeHealth{}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Read(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if r.Remaining() != 1 {
		t.Error("a canceled read used up a sample")
	}
}

// TestReplayConcurrent reads one Replay from many goroutines: every sample
// is returned exactly once (run with -race).
func TestReplayConcurrent(t *testing.T) {
	const n = 1000
	samples := make([]smart.Sample, n)
	for i := range samples {
		samples[i] = smart.Sample{Kind: smart.ATA, ATA: []smart.Attribute{{ID: 9, Raw: uint64(i)}}}
	}
	r := smart.NewReplay(samples...)
	var mu sync.Mutex
	seen := make([]int, n)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				s, err := r.Read(context.Background())
				if errors.Is(err, io.EOF) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				seen[s.ATA[0].Raw]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for i, c := range seen {
		if c != 1 {
			t.Fatalf("sample %d read %d times", i, c)
		}
	}
}

func TestReadSamplesErrors(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"empty", "  \n", "empty"},
		{"empty array", "[]", "array is empty"},
		{"not JSON", "kind: ata", "decoding"},
		{"misspelt field", `{"kind": "ata", "atta": []}`, `unknown field "atta"`},
		{"misspelt attribute field", `{"kind": "ata", "ata": [{"id": 5, "thresh": 10}]}`, `unknown field "thresh"`},
		{"no kind", `{"ata": [{"id": 5}]}`, "no kind"},
		{"unknown kind", `[{"kind": "ata"}, {"kind": "scsi"}]`, `sample 1: smart: sample of unknown kind "scsi"`},
		{"second value", `{"kind": "ata"} {"kind": "ata"}`, "data after"},
		{"trailing garbage", `{"kind": "ata"} }`, "data after"},
		{"raw out of range", `{"kind": "ata", "ata": [{"id": 5, "raw": -1}]}`, "decoding"},
		{"attribute ID out of range", `{"kind": "ata", "ata": [{"id": 256}]}`, "decoding"},
	} {
		_, err := smart.ReadSamples(strings.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.want)
		}
	}
}

func TestReadSamplesRoundTrip(t *testing.T) {
	in := []smart.Sample{
		{Path: "/dev/sda", Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Kind: smart.ATA, Model: "m", Serial: "s", Firmware: "f",
			ATA:                   []smart.Attribute{{ID: 5, Name: "Reallocated_Sector_Ct", Flags: 0x33, Value: 100, Worst: 99, Threshold: 10, Raw: 1<<48 - 1}},
			ThresholdsUnavailable: true},
		{Time: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), Kind: smart.NVMe,
			NVMe: &smart.NVMeHealth{CriticalWarning: smart.WarningTemperature, TemperatureKelvin: 300, MediaErrors: 1<<64 - 1}},
	}
	js, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := smart.ReadSamples(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip\n got %+v\nwant %+v", out, in)
	}
	one, err := json.Marshal(in[1])
	if err != nil {
		t.Fatal(err)
	}
	if out, err := smart.ReadSamples(bytes.NewReader(one)); err != nil || len(out) != 1 || !reflect.DeepEqual(out[0], in[1]) {
		t.Errorf("one sample: %+v, %v", out, err)
	}
}

// FuzzReadSamples checks that any input either fails to decode or decodes
// into valid samples that survive a round trip through JSON.
func FuzzReadSamples(f *testing.F) {
	for _, name := range sampleFiles {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"kind": "nvme", "nvme": {}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		samples, err := smart.ReadSamples(bytes.NewReader(data))
		if err != nil {
			return
		}
		for i := range samples {
			if err := samples[i].Validate(); err != nil {
				t.Fatalf("ReadSamples returned an invalid sample: %v", err)
			}
			_ = samples[i].Signals().Problems()
			_ = samples[i].PredictSample()
		}
		js, err := json.Marshal(samples)
		if err != nil {
			t.Fatal(err)
		}
		again, err := smart.ReadSamples(bytes.NewReader(js))
		if err != nil {
			t.Fatalf("re-reading %s: %v", js, err)
		}
		if len(again) != len(samples) {
			t.Fatalf("round trip read %d samples, want %d", len(again), len(samples))
		}
		for i := range samples {
			a, b := samples[i], again[i]
			// Decoding a time with a numeric zone makes a new
			// location each time; compare instants.
			if !a.Time.Equal(b.Time) {
				t.Fatalf("round trip changed sample %d's time from %v to %v", i, a.Time, b.Time)
			}
			a.Time, b.Time = time.Time{}, time.Time{}
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("round trip changed sample %d:\n%+v\n%+v", i, a, b)
			}
		}
	})
}
