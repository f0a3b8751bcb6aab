package state_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/shingle-storage/shingle/fleetd/state"
)

// BenchmarkFleetMemory builds a fleet in the state machine the way a
// replica does, every command encoded and applied through FSM.Apply as a
// log entry, and reports what the state holding it costs: bytes/drive is
// the growth of the live heap (after a GC) over the empty FSM, divided by
// the drives. The fleet is racks of 40 hosts of 100 drives; each drive is
// added (AddDrive, as a registering agent's host adds it) and put in
// service. No volumes: they are their own table.
//
//	go test -run '^$' -bench BenchmarkFleetMemory -benchtime 1x ./fleetd/state/
func BenchmarkFleetMemory(b *testing.B) {
	for _, racks := range []int{15, 150} {
		b.Run(fmt.Sprintf("drives=%d", racks*benchHostsPerRack*benchDrivesPerHost), func(b *testing.B) {
			for range b.N {
				benchFleetMemory(b, racks)
			}
		})
	}
}

const (
	benchHostsPerRack  = 40
	benchDrivesPerHost = 100
)

func benchFleetMemory(b *testing.B, racks int) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fsm := state.NewFSM()
	var index uint64
	apply := func(c state.Command) {
		data, err := state.Encode(c)
		if err != nil {
			b.Fatal(err)
		}
		index++
		if err, ok := fsm.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: data}).(error); ok {
			b.Fatalf("%s: %v", c.Type(), err)
		}
	}
	apply(&state.AddSite{ID: "ams1"})
	apply(&state.AddRoom{ID: "ams1-hall1", Site: "ams1"})
	apply(&state.AddRow{ID: "ams1-hall1-row1", Room: "ams1-hall1"})
	start := time.Now()
	for r := range racks {
		rack := fmt.Sprintf("ams1-r%03d", r)
		apply(&state.AddRack{ID: rack, Row: "ams1-hall1-row1", PowerBudgetWatts: 12000})
		for h := range benchHostsPerRack {
			host := fmt.Sprintf("%s-h%02d", rack, h)
			apply(&state.AddHost{ID: host, Rack: rack, Address: fmt.Sprintf("10.%d.%d.10:7400", r, h)})
			apply(&state.SetHostState{ID: host, State: state.HostInService})
			for d := range benchDrivesPerHost {
				// A WWN: NAA 5, a vendor prefix, a serial.
				id := fmt.Sprintf("5000c500%08x", (r*benchHostsPerRack+h)*benchDrivesPerHost+d)
				apply(&state.AddDrive{ID: id, Host: host, Slot: fmt.Sprint(d), CapacityBytes: 20e12,
					Model: "ST20000NM002D", Firmware: "SN02"})
				apply(&state.SetDriveState{ID: id, State: state.DriveInService})
			}
		}
	}
	elapsed := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	drives := float64(racks * benchHostsPerRack * benchDrivesPerHost)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/drives, "bytes/drive")
	b.ReportMetric(float64(elapsed.Microseconds())/float64(index), "µs/command")
	var n int
	fsm.Read(func(s *state.State) { n = len(s.Drives()) })
	if n != int(drives) {
		b.Fatalf("%d drives in the state, want %.0f", n, drives)
	}
	runtime.KeepAlive(fsm)
}
