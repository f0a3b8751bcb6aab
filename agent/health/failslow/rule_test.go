package failslow_test

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shingle-storage/shingle/agent/health/failslow"
	"github.com/shingle-storage/shingle/agent/health/iotime"
	"github.com/shingle-storage/shingle/zoned"
	"github.com/shingle-storage/shingle/zoned/errorzone"
)

// synthetic returns the I/O of a drive that did n reads and n writes whose
// latencies spread around typical (from half to twice it), with the
// slowest percent ten times slower still, as disks have a tail.
func synthetic(rng *rand.Rand, n int, typical time.Duration) iotime.Stats {
	var reads, writes iotime.Histogram
	for i := range n {
		for _, h := range []*iotime.Histogram{&reads, &writes} {
			d := time.Duration(float64(typical) * (0.5 + 1.5*rng.Float64()))
			if i%100 == 0 {
				d *= 10
			}
			h.Observe(d)
		}
	}
	var s iotime.Stats
	s[iotime.Read] = iotime.OpStats{Ops: uint64(n), Latency: reads.Snapshot()}
	s[iotime.Write] = iotime.OpStats{Ops: uint64(n), Latency: writes.Snapshot()}
	return s
}

func TestJudgeSynthetic(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	hdd := 8 * time.Millisecond
	host := func(typicals ...time.Duration) map[string]iotime.Stats {
		out := map[string]iotime.Stats{}
		for i, d := range typicals {
			out[fmt.Sprintf("d%d", i)] = synthetic(rng, 500, d)
		}
		return out
	}
	rule := failslow.Rule{}
	for _, c := range []struct {
		name   string
		drives map[string]iotime.Stats
		slow   []string // the drives that must be flagged
		judged bool     // whether the drives are judged at all
	}{
		{"healthy host", host(hdd, hdd, hdd, hdd, hdd, hdd), nil, true},
		{"healthy spread", host(hdd, 12*time.Millisecond, 6*time.Millisecond, 10*time.Millisecond), nil, true},
		{"one slow drive", host(hdd, hdd, 10*hdd, hdd, hdd), []string{"d2"}, true},
		{"two slow drives of six", host(15*hdd, hdd, hdd, hdd, 20*hdd, hdd), []string{"d0", "d4"}, true},
		{"slow by 2x only", host(hdd, hdd, 2*hdd, hdd), nil, true},
		{"two peers are too few", host(hdd, 10*hdd, hdd), nil, false},
		// A hundred times slower, but 200 µs: nothing anyone waits on.
		{"under the floor", host(2*time.Microsecond, 2*time.Microsecond, 200*time.Microsecond, 2*time.Microsecond), nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := rule.Judge(c.drives)
			if len(v) != len(c.drives) {
				t.Fatalf("%d verdicts for %d drives", len(v), len(c.drives))
			}
			var slow []string
			for id := range c.drives {
				if v[id].Judged() != c.judged {
					t.Errorf("%s judged %v, want %v", id, v[id].Judged(), c.judged)
				}
				if v[id].Slow {
					slow = append(slow, id)
					if r := v[id].Reasons(); len(r) == 0 || !strings.HasPrefix(r[0], "fail-slow: ") {
						t.Errorf("%s: reasons %q", id, r)
					}
				} else if r := v[id].Reasons(); len(r) != 0 {
					t.Errorf("%s is not slow, yet has reasons %q", id, r)
				}
			}
			if fmt.Sprint(sorted(slow)) != fmt.Sprint(c.slow) {
				t.Errorf("slow drives %v, want %v", sorted(slow), c.slow)
			}
		})
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func TestJudgeNeedsSamples(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	drives := map[string]iotime.Stats{
		"a": synthetic(rng, 500, 5*time.Millisecond),
		"b": synthetic(rng, 500, 5*time.Millisecond),
		"c": synthetic(rng, 500, 5*time.Millisecond),
		"d": synthetic(rng, 500, 5*time.Millisecond),
		// Very slow, but only 50 operations: not judged, and no peer.
		"e": synthetic(rng, 50, 500*time.Millisecond),
	}
	v := failslow.Rule{}.Judge(drives)
	if v["e"].Judged() || v["e"].Slow {
		t.Errorf("a drive with 50 operations was judged: %+v", v["e"])
	}
	if f := v["a"].Findings; len(f) != 2 || f[0].Peers != 3 {
		t.Errorf("drive a: findings %+v, want reads and writes against 3 peers", f)
	}
	// With a lower MinSamples it is judged, and slow.
	v = failslow.Rule{MinSamples: 50}.Judge(drives)
	if !v["e"].Slow {
		t.Errorf("with MinSamples 50 drive e is not slow: %+v", v["e"])
	}
	// Writes only: a drive slow at writes alone is fail-slow, and says so.
	s := drives["c"]
	s[iotime.Write] = synthetic(rng, 500, 100*time.Millisecond)[iotime.Write]
	drives["c"] = s
	v = failslow.Rule{}.Judge(drives)
	if r := v["c"].Reasons(); !v["c"].Slow || len(r) != 1 || !strings.Contains(r[0], "write p99") {
		t.Errorf("drive c: %+v, reasons %q; want slow at writes only", v["c"], r)
	}
}

func TestMedianRule(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	drives := map[string]iotime.Stats{}
	for i := range 4 {
		drives[fmt.Sprint(i)] = synthetic(rng, 500, 4*time.Millisecond)
	}
	drives["slow"] = synthetic(rng, 500, 40*time.Millisecond)
	v := failslow.Rule{Quantile: 0.5}.Judge(drives)
	if r := v["slow"].Reasons(); !v["slow"].Slow || !strings.Contains(r[0], "read p50") {
		t.Errorf("median rule: %+v %q", v["slow"], r)
	}
}

// TestSlowedDrive runs real I/O on five emulated drives, one of them
// slowed by errorzone's Latency injector, and finds that one with the
// default rule.
func TestSlowedDrive(t *testing.T) {
	const reads = 512 // per drive, over MinSamples
	dir := t.TempDir()
	devs := map[string]*iotime.Device{}
	for i := range 5 {
		emu, err := zoned.CreateEmulator(filepath.Join(dir, fmt.Sprintf("d%d.zoned", i)), zoned.EmulatorConfig{ZoneSize: 1 << 20, ZoneCount: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { emu.Close() })
		faults := errorzone.Wrap(emu, nil)
		if i == 3 {
			faults.SetInjector(errorzone.Latency(errorzone.Read, 50*time.Millisecond))
		}
		devs[fmt.Sprint("d", i)] = iotime.Wrap(faults)
	}
	start := time.Now()
	windows := map[string]*failslow.Window{}
	for id, dev := range devs {
		windows[id] = failslow.NewWindow(time.Minute, start)
		// A few writes to read back: too few to be judged.
		buf := zoned.AlignedBuffer(64*4096, 4096)
		if _, err := dev.WriteAt(buf, 0); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for id, dev := range devs {
		// One reader per healthy drive; the slowed one gets sixteen to
		// get through its reads in a second or so. More readers would
		// time the goroutine scheduler on a small machine as much as the
		// drives.
		workers := 1
		if id == "d3" {
			workers = 16
		}
		for w := range workers {
			wg.Go(func() {
				buf := zoned.AlignedBuffer(4096, 4096)
				for i := range reads / workers {
					if _, err := dev.ReadAt(buf, int64((w+i)%64)*4096); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	in := map[string]iotime.Stats{}
	for id, dev := range devs {
		in[id] = windows[id].Add(time.Now(), dev.Stats())
	}
	v := failslow.Rule{}.Judge(in)
	for id, verdict := range v {
		if want := id == "d3"; verdict.Slow != want {
			t.Errorf("%s: slow %v, want %v: %+v", id, verdict.Slow, want, verdict.Findings)
		}
		if f := verdict.Findings; len(f) != 1 || f[0].Op != iotime.Read || f[0].Peers != 4 {
			t.Errorf("%s: findings %+v, want reads alone, against 4 peers", id, f)
		}
	}
	r := v["d3"].Reasons()
	if len(r) != 1 || !strings.HasPrefix(r[0], "fail-slow: read p99 ") {
		t.Errorf("reasons %q, want one about reads", r)
	}
	t.Logf("%q", r)
}
