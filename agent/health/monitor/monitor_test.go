package monitor_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shingle-storage/shingle/agent/health/iotime"
	"github.com/shingle-storage/shingle/agent/health/monitor"
	"github.com/shingle-storage/shingle/agent/health/predict"
	"github.com/shingle-storage/shingle/agent/health/smart"
	"github.com/shingle-storage/shingle/zoned"
	"github.com/shingle-storage/shingle/zoned/errorzone"
)

// replay loads SMART samples from the smart package's testdata.
func replay(t *testing.T, name string) *smart.Replay {
	t.Helper()
	r, err := smart.LoadReplay(filepath.Join("..", "smart", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// clock is a settable time for the monitor.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newMonitor(t *testing.T, cfg monitor.Config, drives ...monitor.Drive) *monitor.Monitor {
	t.Helper()
	m, err := monitor.New(cfg, drives)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func status(t *testing.T, m *monitor.Monitor, id string) monitor.Status {
	t.Helper()
	st, ok := m.Status(id)
	if !ok {
		t.Fatalf("drive %s has no status", id)
	}
	return st
}

// TestFailingATA replays a drive whose reallocated and pending sectors grow
// over six weeks: the probability of failure must rise with every sample
// and the verdict go from ok to failing.
func TestFailingATA(t *testing.T) {
	ctx := context.Background()
	m := newMonitor(t, monitor.Config{}, monitor.Drive{ID: "sdc", SMART: replay(t, "failing-ata.json")})
	cfg := m.Config()
	var probs []float64
	var healths []string
	for range 4 {
		m.Tick(ctx)
		st := status(t, m, "sdc")
		if !st.HasSMART || !st.Predicted {
			t.Fatalf("no SMART sample or prediction: %+v", st)
		}
		probs = append(probs, st.FailureProbability)
		healths = append(healths, st.Health)
	}
	t.Logf("probabilities %.4f, verdicts %v", probs, healths)
	for i := 1; i < len(probs); i++ {
		if probs[i] <= probs[i-1] {
			t.Errorf("the probability fell or stayed from day %d to day %d: %.4f", i-1, i, probs)
		}
	}
	if probs[0] >= cfg.SuspectProbability || healths[0] != monitor.HealthOK {
		t.Errorf("first day: probability %.4f (suspect at %.4f), verdict %s; want a healthy drive", probs[0], cfg.SuspectProbability, healths[0])
	}
	if probs[3] < 0.5 || healths[3] != monitor.HealthFailing {
		t.Errorf("last day: probability %.4f, verdict %s; want failing", probs[3], healths[3])
	}
	last := status(t, m, "sdc")
	if last.HistoryDays != 4 {
		t.Errorf("history of %d days, want 4", last.HistoryDays)
	}
	want := []string{"at or below the drive's own threshold", "failure probability", "predictor: ", "pending sectors (SMART 197) = 40"}
	all := strings.Join(last.Reasons, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("reasons lack %q:\n%s", w, all)
		}
	}
	if !strings.HasPrefix(last.Reasons[0], "failure probability") && !strings.HasPrefix(last.Reasons[0], "SMART attribute 5") {
		t.Errorf("first reason %q, want a failing one", last.Reasons[0])
	}
	if g := last.Signals; g.Backblaze[smart.ReallocatedSectors] != 2976 || !g.HasTemperature {
		t.Errorf("signals %+v", g)
	}

	// The replay has run out: the last sample stands.
	m.Tick(ctx)
	if st := status(t, m, "sdc"); st.FailureProbability != probs[3] || st.Health != monitor.HealthFailing || st.SMARTError != "" {
		t.Errorf("after the replay ran out: %+v", st)
	}
}

func TestFailingNVMe(t *testing.T) {
	m := newMonitor(t, monitor.Config{}, monitor.Drive{ID: "nvme2", SMART: replay(t, "failing-nvme.json")})
	m.Tick(context.Background())
	st := status(t, m, "nvme2")
	if st.Health != monitor.HealthFailing {
		t.Fatalf("verdict %s, want failing: %q", st.Health, st.Reasons)
	}
	all := strings.Join(st.Reasons, "\n")
	for _, w := range []string{"NVMe critical warning: available spare below threshold", "NVMe critical warning: reliability degraded",
		"percentage used = 104%", "media and data integrity errors"} {
		if !strings.Contains(all, w) {
			t.Errorf("reasons lack %q:\n%s", w, all)
		}
	}
	// NVMe fields are not features of the model: it gives the base rate.
	if !st.Predicted || st.FailureProbability > 0.01 {
		t.Errorf("probability %.4f", st.FailureProbability)
	}
}

// failingReader fails every read.
type failingReader struct{}

func (failingReader) Read(context.Context) (smart.Sample, error) {
	return smart.Sample{}, fmt.Errorf("smart: /dev/sdz: %w", smart.ErrUnsupported)
}

func TestNoSMART(t *testing.T) {
	m := newMonitor(t, monitor.Config{}, monitor.Drive{ID: "a"}, monitor.Drive{ID: "b", SMART: failingReader{}})
	if _, ok := m.Status("a"); ok {
		t.Error("a status before the first check")
	}
	m.Tick(context.Background())
	for _, id := range []string{"a", "b"} {
		st := status(t, m, id)
		if st.Health != monitor.HealthOK || st.Predicted || st.HasSMART || len(st.Reasons) != 0 {
			t.Errorf("%s: %+v, want ok without a prediction", id, st)
		}
	}
	if st := status(t, m, "b"); !strings.Contains(st.SMARTError, "unsupported") {
		t.Errorf("SMART error %q", st.SMARTError)
	}
}

func TestHistoryKeptAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	samples, err := smart.LoadReplay(filepath.Join("..", "smart", "testdata", "failing-ata.json"))
	if err != nil {
		t.Fatal(err)
	}
	var all []smart.Sample
	for samples.Remaining() > 0 {
		s, _ := samples.Read(context.Background())
		all = append(all, s)
	}
	cfg := monitor.Config{HistoryDir: dir}
	// The first three days, then a restart, then the last day.
	m := newMonitor(t, cfg, monitor.Drive{ID: "sdc", SMART: smart.NewReplay(all[:3]...)})
	for range 3 {
		m.Tick(context.Background())
	}
	m = newMonitor(t, cfg, monitor.Drive{ID: "sdc", SMART: smart.NewReplay(all[3])})
	m.Tick(context.Background())
	restarted := status(t, m, "sdc")

	whole := newMonitor(t, monitor.Config{}, monitor.Drive{ID: "sdc", SMART: smart.NewReplay(all...)})
	for range 4 {
		whole.Tick(context.Background())
	}
	want := status(t, whole, "sdc")
	if restarted.HistoryDays != 4 || restarted.FailureProbability != want.FailureProbability {
		t.Errorf("after a restart: %d days, probability %.4f; without one: %d days, %.4f",
			restarted.HistoryDays, restarted.FailureProbability, want.HistoryDays, want.FailureProbability)
	}
	// A restart that replays an old day again keeps the history and still
	// predicts.
	m = newMonitor(t, cfg, monitor.Drive{ID: "sdc", SMART: smart.NewReplay(all[0])})
	m.Tick(context.Background())
	if st := status(t, m, "sdc"); !st.Predicted || st.HistoryDays != 4 || st.FailureProbability != want.FailureProbability {
		t.Errorf("after replaying an old day: %+v", st)
	}
	// Another drive's file is refused.
	b, err := os.ReadFile(filepath.Join(dir, "sdc.smart-history.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "other.smart-history.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := monitor.New(cfg, []monitor.Drive{{ID: "other"}}); err == nil || !strings.Contains(err.Error(), `of drive "sdc"`) {
		t.Errorf("another drive's history: %v", err)
	}
}

func TestHistoryWindow(t *testing.T) {
	// Forty daily samples: the predictor needs 30 days back, so the
	// monitor keeps the samples from day 10 (30 before day 40) on.
	day0 := time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC)
	var samples []smart.Sample
	var byDay []predict.Sample // what the history should hold: each day's latest
	for i := range 41 {
		s := smart.Sample{Kind: smart.ATA, Time: day0.AddDate(0, 0, i), ATA: []smart.Attribute{{ID: 5, Raw: uint64(i)}, {ID: 9, Raw: 1000 + 24*uint64(i)}, {ID: 197, Raw: uint64(i)}}}
		samples = append(samples, s)
		if i == 20 {
			// A second sample on one day replaces the first.
			s.Time = s.Time.Add(time.Hour)
			s.ATA = []smart.Attribute{{ID: 5, Raw: uint64(i)}, {ID: 9, Raw: 1001 + 24*uint64(i)}, {ID: 197, Raw: 500}}
			samples = append(samples, s)
		}
		byDay = append(byDay, s.PredictSample())
	}
	m := newMonitor(t, monitor.Config{}, monitor.Drive{ID: "d", SMART: smart.NewReplay(samples...)})
	for range samples {
		m.Tick(context.Background())
	}
	st := status(t, m, "d")
	if st.HistoryDays != 31 {
		t.Errorf("%d days kept, want 31 (day 10 to day 40)", st.HistoryDays)
	}
	h := byDay[10:]
	model, _ := predict.Embedded()
	p, err := model.Predict(h)
	if err != nil {
		t.Fatal(err)
	}
	if p.Probability != st.FailureProbability {
		t.Errorf("probability %.5f, want %.5f from the same 31 days", st.FailureProbability, p.Probability)
	}
	// Day 20's second sample counts: its 500 pending sectors are the
	// highest of the last 30 days.
	if !strings.Contains(fmt.Sprint(st.PredictionReasons), "reached 500") {
		t.Errorf("reasons %v, want day 20's 500 pending sectors", st.PredictionReasons)
	}
}

// emulated is an emulated drive behind an errorzone wrapper and a timer.
type emulated struct {
	emu    *zoned.Emulator
	faults *errorzone.Device
	io     *iotime.Device
	slow   *bool
}

func newEmulated(t *testing.T, dir, name string) emulated {
	t.Helper()
	emu, err := zoned.CreateEmulator(filepath.Join(dir, name+".zoned"), zoned.EmulatorConfig{ZoneSize: 1 << 20, ZoneCount: 16})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	faults := errorzone.Wrap(emu, nil)
	return emulated{emu: emu, faults: faults, io: iotime.Wrap(faults), slow: new(bool)}
}

// slowed reports whether e has an injector set.
func (e emulated) slowed() bool { return e.slow != nil && *e.slow }

func (e emulated) drive(id string) monitor.Drive {
	return monitor.Drive{ID: id, Zones: e.io, IO: e.io}
}

func TestZonesAndDamage(t *testing.T) {
	e := newEmulated(t, t.TempDir(), "z")
	d := e.drive("z")
	var damage []string
	var mu sync.Mutex
	d.Damage = func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(damage)
	}
	m := newMonitor(t, monitor.Config{}, d)
	m.Tick(context.Background())
	st := status(t, m, "z")
	if st.Health != monitor.HealthOK || st.Zones[zoned.CondEmpty] != 16 {
		t.Fatalf("fresh drive: %s, zones %v", st.Health, st.Zones)
	}
	if err := errorzone.SetZoneCondition(e.io, 3, zoned.CondReadOnly); err != nil {
		t.Fatal(err)
	}
	for _, z := range []int{5, 6} {
		if err := errorzone.SetZoneCondition(e.io, z, zoned.CondOffline); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	damage = []string{"extent 2 zone 9 offset 4096: bad record CRC"}
	mu.Unlock()
	m.Tick(context.Background())
	st = status(t, m, "z")
	if st.Zones.ReadOnly() != 1 || st.Zones.Offline() != 2 || st.Zones[zoned.CondEmpty] != 13 {
		t.Errorf("zones %v", st.Zones)
	}
	want := []string{"1 zones read-only", "2 zones offline: their data is lost", "extent 2 zone 9 offset 4096: bad record CRC"}
	if st.Health != monitor.HealthSuspect || !slices.Equal(st.Reasons, want) {
		t.Errorf("verdict %s %q, want suspect %q", st.Health, st.Reasons, want)
	}

	// A zone report that fails.
	e.faults.SetInjector(errorzone.OnZones(errorzone.Report, 0, 16))
	m.Tick(context.Background())
	st = status(t, m, "z")
	if st.ZoneError == "" || st.Zones != nil || !strings.Contains(strings.Join(st.Reasons, "\n"), "zone report failed") {
		t.Errorf("failed report: %+v", st)
	}
}

func TestIOErrorsHold(t *testing.T) {
	clk := newClock()
	e := newEmulated(t, t.TempDir(), "e")
	m := newMonitor(t, monitor.Config{Now: clk.Now, ErrorHold: time.Hour}, e.drive("e"))
	m.Tick(context.Background())
	e.faults.SetInjector(errorzone.OnNth(errorzone.Read, 1, 0))
	buf := zoned.AlignedBuffer(4096, 4096)
	if _, err := e.io.ReadAt(buf, 0); err == nil {
		t.Fatal("no injected error")
	}
	clk.advance(time.Minute)
	m.Tick(context.Background())
	st := status(t, m, "e")
	if st.Health != monitor.HealthSuspect || len(st.Reasons) != 1 || !strings.HasPrefix(st.Reasons[0], "1 device I/O errors since the drive was opened (1 read)") {
		t.Errorf("after a read error: %s %q", st.Health, st.Reasons)
	}
	clk.advance(59 * time.Minute)
	m.Tick(context.Background())
	if st := status(t, m, "e"); st.Health != monitor.HealthSuspect {
		t.Errorf("59 minutes after the error: %s", st.Health)
	}
	clk.advance(time.Minute)
	m.Tick(context.Background())
	if st := status(t, m, "e"); st.Health != monitor.HealthOK || st.IO.Errors() != 1 {
		t.Errorf("an hour after the error: %s, %d errors", st.Health, st.IO.Errors())
	}
}

// TestFailSlow runs reads on five emulated drives, one slowed by
// errorzone's Latency injector, and checks that the monitor flags that
// drive alone, and lets it go once it is fast again and the window has
// moved on.
func TestFailSlow(t *testing.T) {
	clk := newClock()
	dir := t.TempDir()
	var drives []monitor.Drive
	var devs []emulated
	for i := range 5 {
		e := newEmulated(t, dir, fmt.Sprint("d", i))
		devs = append(devs, e)
		drives = append(drives, e.drive(fmt.Sprint("d", i)))
		buf := zoned.AlignedBuffer(64*4096, 4096)
		if _, err := e.io.WriteAt(buf, 0); err != nil {
			t.Fatal(err)
		}
	}
	m := newMonitor(t, monitor.Config{Now: clk.Now, FailSlowWindow: 5 * time.Minute}, drives...)
	readAll := func() {
		var wg sync.WaitGroup
		for _, e := range devs {
			// One reader per drive, except the slowed one, which gets
			// sixteen to get through its reads in a second or so. More
			// readers would time the goroutine scheduler on a small
			// machine as much as the drives.
			workers := 1
			if e.slowed() {
				workers = 16
			}
			for w := range workers {
				wg.Go(func() {
					buf := zoned.AlignedBuffer(4096, 4096)
					for i := range 512 / workers {
						if _, err := e.io.ReadAt(buf, int64((w+i)%64)*4096); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
		}
		wg.Wait()
	}
	devs[2].faults.SetInjector(errorzone.Latency(errorzone.Read, 40*time.Millisecond))
	*devs[2].slow = true
	readAll()
	clk.advance(time.Minute)
	m.Tick(context.Background())
	for i := range devs {
		st := status(t, m, fmt.Sprint("d", i))
		if want := i == 2; st.FailSlow.Slow != want {
			t.Errorf("d%d: fail-slow %v, want %v: %+v", i, st.FailSlow.Slow, want, st.FailSlow.Findings)
		}
		if !st.Timed || st.Window.Of(iotime.Read).Ops != 512 {
			t.Errorf("d%d: %d reads in the window, want 512", i, st.Window.Of(iotime.Read).Ops)
		}
	}
	st := status(t, m, "d2")
	if st.Health != monitor.HealthSuspect || len(st.Reasons) != 1 || !strings.HasPrefix(st.Reasons[0], "fail-slow: read p99 ") {
		t.Errorf("slowed drive: %s %q", st.Health, st.Reasons)
	}
	t.Log(st.Reasons)

	// The drive recovers; five minutes on its slow reads are out of the
	// window.
	devs[2].faults.SetInjector(nil)
	*devs[2].slow = false
	clk.advance(5 * time.Minute)
	m.Tick(context.Background())
	readAll()
	clk.advance(time.Minute)
	m.Tick(context.Background())
	if st := status(t, m, "d2"); st.FailSlow.Slow || st.Health != monitor.HealthOK {
		t.Errorf("recovered drive: %s %q, findings %+v", st.Health, st.Reasons, st.FailSlow.Findings)
	}
}

func TestRun(t *testing.T) {
	m := newMonitor(t, monitor.Config{Interval: 10 * time.Millisecond}, monitor.Drive{ID: "sdc", SMART: replay(t, "failing-ata.json")})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if st, ok := m.Status("sdc"); ok && st.Health == monitor.HealthFailing {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the drive was not found failing within 10s of checks every 10ms")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
}

func TestDuplicateDrive(t *testing.T) {
	if _, err := monitor.New(monitor.Config{}, []monitor.Drive{{ID: "a"}, {ID: "a"}}); err == nil {
		t.Error("a drive given twice was accepted")
	}
}
