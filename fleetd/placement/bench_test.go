package placement

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/shingle-storage/shingle/fleetd/state"
)

// BenchmarkPlacement places volumes in a fleet of racks of 40 hosts of 100
// drives of 20 TB, built in the fleet state machine (state.State.Apply) and
// described to a Planner by Candidates, as the leader does. Each op is one
// Place of a new volume: width=3 is an open volume (three replicas of
// 1 GiB in three racks), width=9 an RS(6,3) encoding (nine shards of
// 171 MiB). The metrics are µs/volume, and, measured once per planner, the
// time and live heap the planner's first decision costs (Candidates, New,
// and the copysets it builds on first use): setup-ms and
// planner-bytes/drive.
//
//	go test -run '^$' -bench BenchmarkPlacement -benchtime 2000x ./fleetd/placement/
func BenchmarkPlacement(b *testing.B) {
	for _, racks := range []int{15, 150} {
		var s *state.State
		b.Run(fmt.Sprintf("drives=%d", racks*40*100), func(b *testing.B) {
			if s == nil {
				s = benchFleet(b, racks, 40, 100)
			}
			for _, width := range []int{3, 9} {
				// The planner is made once and keeps placing across the
				// runs the benchmark makes with growing b.N.
				var bp *benchPlanner
				b.Run(fmt.Sprintf("width=%d", width), func(b *testing.B) {
					if bp == nil {
						bp = newBenchPlanner(b, s, width)
					}
					bp.run(b)
				})
			}
			// Repair: each op replaces one member of a volume placed
			// before, as the repair of a lost drive does.
			var bp *benchPlanner
			b.Run("replace/width=9", func(b *testing.B) {
				if bp == nil {
					bp = newBenchPlanner(b, s, 9)
					for range 1000 {
						bp.place(b)
					}
				}
				bp.runReplace(b)
			})
		})
	}
}

// benchPlanner is a planner over the benchmark's fleet and what making it
// cost.
type benchPlanner struct {
	p             *Planner
	width         int
	member        uint64
	placed        int
	volumes       [][]string
	replaced      int
	setup         time.Duration
	bytesPerDrive float64
}

// newBenchPlanner describes the fleet to a new planner and makes its first
// decision, which builds the copysets, measuring the time and the live
// heap that takes.
func newBenchPlanner(b *testing.B, s *state.State, width int) *benchPlanner {
	bp := &benchPlanner{width: width, member: gib}
	if width > 3 {
		bp.member = gib / uint64(width-3)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	var err error
	if bp.p, err = New(Candidates(s, nil), Options{Seed: 0x5eed}); err != nil {
		b.Fatal(err)
	}
	bp.place(b)
	bp.setup = time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	bp.bytesPerDrive = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(len(bp.p.drives))
	return bp
}

func (bp *benchPlanner) place(b *testing.B) {
	bp.placed++
	got, err := bp.p.Place(Rule{Width: bp.width, MemberBytes: bp.member, Key: uint64(bp.placed)})
	if err != nil {
		b.Fatal(err)
	}
	if len(got) != bp.width {
		b.Fatalf("placed %d members, want %d", len(got), bp.width)
	}
	bp.volumes = append(bp.volumes, got)
}

func (bp *benchPlanner) runReplace(b *testing.B) {
	b.ResetTimer()
	for i := range b.N {
		bp.replaced++
		v := bp.volumes[bp.replaced%len(bp.volumes)]
		lost := bp.replaced % bp.width
		got, err := bp.p.Replace(v, lost, Rule{Width: bp.width, MemberBytes: bp.member, Key: uint64(i)})
		if err != nil {
			b.Fatal(err)
		}
		v[lost] = got
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e3/float64(b.N), "µs/repair")
}

func (bp *benchPlanner) run(b *testing.B) {
	b.ResetTimer()
	for range b.N {
		bp.place(b)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e3/float64(b.N), "µs/volume")
	b.ReportMetric(float64(bp.setup.Milliseconds()), "setup-ms")
	b.ReportMetric(bp.bytesPerDrive, "planner-bytes/drive")
}

// benchFleet builds racks×hosts×drives in-service drives of 20 TB in the
// fleet state machine.
func benchFleet(b *testing.B, racks, hosts, drives int) *state.State {
	b.Helper()
	s := state.New()
	apply := func(c state.Command) {
		if _, err := s.Apply(c); err != nil {
			b.Fatalf("%s: %v", c.Type(), err)
		}
	}
	apply(&state.AddSite{ID: "ams1"})
	apply(&state.AddRoom{ID: "ams1-hall1", Site: "ams1"})
	apply(&state.AddRow{ID: "ams1-hall1-row1", Room: "ams1-hall1"})
	for r := range racks {
		rack := fmt.Sprintf("ams1-r%03d", r)
		apply(&state.AddRack{ID: rack, Row: "ams1-hall1-row1"})
		for h := range hosts {
			host := fmt.Sprintf("%s-h%02d", rack, h)
			apply(&state.AddHost{ID: host, Rack: rack})
			apply(&state.SetHostState{ID: host, State: state.HostInService})
			for d := range drives {
				id := fmt.Sprintf("5000c500%08x", (r*hosts+h)*drives+d)
				apply(&state.AddDrive{ID: id, Host: host, Slot: fmt.Sprint(d), CapacityBytes: 20e12, Model: "ST20000NM002D"})
				apply(&state.SetDriveState{ID: id, State: state.DriveInService})
			}
		}
	}
	return s
}
