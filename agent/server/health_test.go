package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/shingle-storage/shingle/agent/extent"
	"github.com/shingle-storage/shingle/agent/health/monitor"
	agentv1 "github.com/shingle-storage/shingle/api/agent/v1"
	"github.com/shingle-storage/shingle/zoned"
	"github.com/shingle-storage/shingle/zoned/errorzone"
)

// healthDrive is an emulated drive opened the way the agent opens drives
// for health monitoring: the emulator, a fault injector, TimeDevice.
type healthDrive struct {
	*Drive
	emu    *zoned.Emulator
	faults *errorzone.Device
}

// openHealthDrives formats n emulated drives in dir, each behind a fault
// injector and TimeDevice.
func openHealthDrives(t *testing.T, n int) []healthDrive {
	t.Helper()
	dir := t.TempDir()
	cluster := NewID()
	var out []healthDrive
	for i := range n {
		path := filepath.Join(dir, fmt.Sprintf("drive-%02d.zoned", i))
		emu, err := zoned.CreateEmulator(path, zoned.EmulatorConfig{ZoneSize: 8 << 20, ZoneCount: 16})
		if err != nil {
			t.Fatal(err)
		}
		faults := errorzone.Wrap(emu, nil)
		dev := TimeDevice(faults)
		store, err := extent.Format(dev, extent.FormatOptions{Cluster: cluster, Drive: NewID(), ZonesPerExtent: 2})
		if err != nil {
			t.Fatal(err)
		}
		d := NewDrive(path, store, dev)
		d.Slot = strconv.Itoa(i)
		if d.IO != dev || d.Zones != dev {
			t.Fatal("NewDrive did not find the timed device")
		}
		out = append(out, healthDrive{Drive: d, emu: emu, faults: faults})
	}
	t.Cleanup(func() {
		for _, d := range out {
			d.Close()
		}
	})
	return out
}

// scrape fetches /metrics from h and returns each sample's value by its
// series, written name{label="value",...} with the labels in the order
// the exposition gives them (sorted by name).
func scrape(t *testing.T, h http.Handler) map[string]float64 {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics: %s: %s", resp.Status, b)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHealthMetrics runs five emulated drives: one replays a failing ATA
// drive's SMART samples, one a worn-out NVMe drive's, one is slowed by
// errorzone's Latency injector, and one has a zone gone read-only and a
// read error. It checks the series /metrics exposes for each, ListDrives'
// health detail and the heartbeat's report.
func TestHealthMetrics(t *testing.T) {
	hd := openHealthDrives(t, 5)
	list := make([]*Drive, len(hd))
	for i, d := range hd {
		list[i] = d.Drive
	}
	smartDir := filepath.Join("..", "health", "smart", "testdata")
	if err := ReplaySMART(list, []string{filepath.Join(smartDir, "failing-ata.json"), filepath.Join(smartDir, "failing-nvme.json")}); err != nil {
		t.Fatal(err)
	}
	if err := ReplaySMART(list, make([]string, 6)); err == nil {
		t.Error("six SMART files for five drives were accepted")
	}
	ds, err := newDrives(list)
	if err != nil {
		t.Fatal(err)
	}
	ata, nvme, slow, broken, plain := hd[0], hd[1], hd[2], hd[3], hd[4]
	// Before the first check, no health series and the old verdict.
	m := newMetrics(ds)
	if h, r := ata.Health(); h != "ok" || r != nil {
		t.Errorf("before the monitor starts: %s %q", h, r)
	}
	if err := ds.startHealth(monitor.Config{}, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	before := scrape(t, m.handler())
	if _, ok := before[fmt.Sprintf(`shingle_agent_drive_fail_slow{drive=%q}`, ata.ID)]; ok {
		t.Error("health series before the first check")
	}
	if _, ok := before[fmt.Sprintf(`shingle_agent_device_ops_total{drive=%q,op="write"}`, ata.ID)]; !ok {
		t.Error("no device I/O series before the first check")
	}

	// Work: a blob on every drive, then 512 reads each (sixteen readers on
	// the slowed drive, one on the others).
	for _, d := range hd {
		id, err := d.Store.CreateExtent()
		if err != nil {
			t.Fatal(err)
		}
		var key [32]byte
		key[0] = 1
		if _, err := d.Store.Put(context.Background(), id, key, make([]byte, 64<<10)); err != nil {
			t.Fatal(err)
		}
	}
	slow.faults.SetInjector(errorzone.Latency(errorzone.Read, 40*time.Millisecond))
	var wg sync.WaitGroup
	for _, d := range hd {
		workers := 1
		if d.Drive == slow.Drive {
			workers = 16
		}
		for w := range workers {
			wg.Go(func() {
				buf := zoned.AlignedBuffer(4096, 4096)
				for i := range 512 / workers {
					if _, err := d.IO.ReadAt(buf, int64((w+i)%16)*4096); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	slow.faults.SetInjector(nil)
	if err := errorzone.SetZoneCondition(broken.IO, 15, zoned.CondReadOnly); err != nil {
		t.Fatal(err)
	}
	broken.faults.SetInjector(errorzone.OnNth(errorzone.Read, 1, 0))
	if _, err := broken.IO.ReadAt(zoned.AlignedBuffer(4096, 4096), 0); err == nil {
		t.Fatal("no injected read error")
	}
	broken.faults.SetInjector(nil)

	// Four checks: the ATA replay's four days.
	for range 4 {
		ds.health.Tick(context.Background())
	}

	got := scrape(t, m.handler())
	want := map[string]float64{}
	series := func(name, drive string, labels ...string) string {
		ls := []string{fmt.Sprintf("drive=%q", drive)}
		for i := 0; i < len(labels); i += 2 {
			ls = append(ls, fmt.Sprintf("%s=%q", labels[i], labels[i+1]))
		}
		// The exposition sorts labels by name; drive sorts before the
		// others used here except attribute and condition.
		if len(labels) > 0 && (labels[0] == "attribute" || labels[0] == "condition") {
			ls[0], ls[1] = ls[1], ls[0]
		}
		return name + "{" + strings.Join(ls, ",") + "}"
	}
	for _, d := range hd {
		slowV := 0.0
		if d.Drive == slow.Drive {
			slowV = 1
		}
		want[series("shingle_agent_drive_fail_slow", d.ID)] = slowV
		want[series("shingle_agent_device_ops_total", d.ID, "op", "sync")] = -1 // present
		want[series("shingle_agent_device_bytes_total", d.ID, "op", "write")] = -1
		want[series("shingle_agent_device_bytes_total", d.ID, "op", "read")] = -1
		want[series("shingle_agent_device_latency_seconds_count", d.ID, "op", "write")] = -1
		want[series("shingle_agent_device_latency_seconds_bucket", d.ID, "op", "read", "le", "+Inf")] = -1
		want[series("shingle_agent_device_latency_seconds_sum", d.ID, "op", "sync")] = -1
		want[series("shingle_agent_drive_zones", d.ID, "condition", "offline")] = 0
		want[series("shingle_agent_drive_health_checked_timestamp_seconds", d.ID)] = -1
	}
	want[series("shingle_agent_device_latency_seconds_bucket", slow.ID, "op", "read", "le", "0.02")] = -1
	want[series("shingle_agent_drive_zones", broken.ID, "condition", "read_only")] = 1
	want[series("shingle_agent_drive_zones", plain.ID, "condition", "read_only")] = 0
	want[series("shingle_agent_device_errors_total", broken.ID, "op", "read")] = 1
	want[series("shingle_agent_device_errors_total", plain.ID, "op", "read")] = 0
	want[series("shingle_agent_drive_health", ata.ID, "state", "failing")] = 1
	want[series("shingle_agent_drive_health", ata.ID, "state", "ok")] = 0
	want[series("shingle_agent_drive_health", nvme.ID, "state", "failing")] = 1
	want[series("shingle_agent_drive_health", slow.ID, "state", "suspect")] = 1
	want[series("shingle_agent_drive_health", broken.ID, "state", "suspect")] = 1
	want[series("shingle_agent_drive_health", plain.ID, "state", "ok")] = 1
	want[series("shingle_agent_drive_smart_raw", ata.ID, "attribute", "5")] = 2976
	want[series("shingle_agent_drive_smart_raw", ata.ID, "attribute", "197")] = 40
	want[series("shingle_agent_drive_smart_failing_attributes", ata.ID)] = 1
	want[series("shingle_agent_drive_temperature_celsius", ata.ID)] = 36
	want[series("shingle_agent_drive_nvme_critical_warning", nvme.ID)] = 5
	want[series("shingle_agent_drive_nvme_percentage_used", nvme.ID)] = 104
	want[series("shingle_agent_drive_nvme_media_errors", nvme.ID)] = -1
	want[series("shingle_agent_drive_temperature_celsius", nvme.ID)] = 45
	for name, w := range want {
		v, ok := got[name]
		switch {
		case !ok:
			t.Errorf("no series %s", name)
		case w >= 0 && v != w:
			t.Errorf("%s = %v, want %v", name, v, w)
		}
	}
	p := got[series("shingle_agent_drive_failure_probability", ata.ID)]
	if p < 0.9 {
		t.Errorf("ATA drive's failure probability %v, want the last day's 0.976", p)
	}
	if _, ok := got[series("shingle_agent_drive_failure_probability", plain.ID)]; ok {
		t.Error("a drive without SMART has a failure probability")
	}
	if n := got[series("shingle_agent_device_ops_total", slow.ID, "op", "read")]; n < 512 {
		t.Errorf("slowed drive: %v reads counted, want at least 512", n)
	}
	if got[series("shingle_agent_device_latency_seconds_bucket", slow.ID, "op", "read", "le", "0.02")] >=
		got[series("shingle_agent_device_latency_seconds_count", slow.ID, "op", "read")]-500 {
		t.Error("the slowed drive's reads are not in the buckets over 20ms")
	}

	// ListDrives carries the same.
	resp, err := (&control{drives: ds}).ListDrives(context.Background(), connect.NewRequest(&agentv1.ListDrivesRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*agentv1.Drive{}
	for _, d := range resp.Msg.GetDrives() {
		byID[d.GetId()] = d
	}
	a := byID[ata.ID]
	if h := a.GetHealthDetail(); a.GetHealth() != "failing" || !h.GetPredicted() || h.GetFailureProbability() != p ||
		h.GetSmartRaw()[5] != 2976 || h.GetTemperatureCelsius() != 36 || len(h.GetPredictionReasons()) == 0 || !h.GetSmart() {
		t.Errorf("ATA drive: %s %v", a.GetHealth(), h)
	}
	if h := byID[nvme.ID].GetHealthDetail(); h.GetNvmeCriticalWarning() != 5 || h.GetNvmePercentageUsed() != 104 || h.GetSmartRaw() != nil {
		t.Errorf("NVMe drive: %v", h)
	}
	s := byID[slow.ID]
	if h := s.GetHealthDetail(); s.GetHealth() != "suspect" || !h.GetFailSlow() || h.GetReadP99Seconds() < 0.02 ||
		h.GetReadPeerP99Seconds() <= 0 || h.GetReadPeerP99Seconds() > 0.01 || !strings.HasPrefix(s.GetHealthReasons()[0], "fail-slow: read p99") {
		t.Errorf("slowed drive: %s %q %v", s.GetHealth(), s.GetHealthReasons(), h)
	}
	b := byID[broken.ID]
	if h := b.GetHealthDetail(); h.GetReadOnlyZones() != 1 || h.GetIoErrors() != 1 || h.GetFailSlow() || h.GetSmart() {
		t.Errorf("broken drive: %q %v", b.GetHealthReasons(), h)
	}
	if h := byID[plain.ID]; h.GetHealth() != "ok" || len(h.GetHealthReasons()) != 0 || h.GetHealthDetail().GetPredicted() {
		t.Errorf("plain drive: %s %q %v", h.GetHealth(), h.GetHealthReasons(), h.GetHealthDetail())
	}

	// The heartbeat reports the verdicts, fail-slow among the reasons.
	hb := (&registrar{drives: ds}).heartbeatRequest()
	for _, r := range hb.GetDrives() {
		if r.GetId() == slow.ID && (r.GetHealth() != "suspect" || !strings.HasPrefix(r.GetHealthReasons()[0], "fail-slow")) {
			t.Errorf("heartbeat of the slowed drive: %v", r)
		}
		if r.GetId() == ata.ID && r.GetHealth() != "failing" {
			t.Errorf("heartbeat of the failing drive: %v", r)
		}
		// The drive kept busy by sixteen readers waiting 40 ms each
		// reads as saturated; the others, which read one at a time from
		// memory, as nearly idle.
		switch {
		case r.GetId() == slow.ID && r.GetLoad() < 0.9:
			t.Errorf("heartbeat of the slowed drive: load %v, want near 1", r.GetLoad())
		case r.GetId() != slow.ID && (r.GetLoad() < 0 || r.GetLoad() > 0.5):
			t.Errorf("heartbeat of drive %s: load %v, want well below the slowed drive's", r.GetId(), r.GetLoad())
		}
	}
	if p := ata.FailureProbability(); p < 0.9 {
		t.Errorf("FailureProbability %v", p)
	}
}

// TestHealthNotStarted: without a monitor a drive's verdict rests on its
// store's damage, as it did before there was a monitor.
func TestHealthNotStarted(t *testing.T) {
	hd := openHealthDrives(t, 1)
	var ds drives
	ds.runHealth(context.Background()) // not started: returns at once
	if h, r := hd[0].Health(); h != "ok" || len(r) != 0 {
		t.Errorf("%s %q", h, r)
	}
	if _, ok := hd[0].HealthStatus(); ok {
		t.Error("a status without a monitor")
	}
}
