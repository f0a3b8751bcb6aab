package zoned_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"pgregory.net/rapid"

	"github.com/shingle-storage/shingle/zoned"
)

// emulatorModel is what a user of the emulator may rely on, kept
// independently of the emulator: each sequential zone's content, whether it
// is full, and how much of both is durable.
type emulatorModel struct {
	dev  *zoned.Emulator
	path string
	info zoned.Info

	content    [][]byte
	full       []bool
	synced     []int
	syncedFull []bool
}

func newEmulatorModel(t *rapid.T, dir string) *emulatorModel {
	path := filepath.Join(dir, "drive")
	dev, err := zoned.CreateEmulator(path, zoned.EmulatorConfig{
		ZoneSize: 64 << 10, ZoneCapacity: rapid.SampledFrom([]int64{48 << 10, 64 << 10}).Draw(t, "capacity"),
		ZoneCount: 8, ConventionalZones: 1, MaxOpenZones: 2, MaxActiveZones: 3})
	if err != nil {
		t.Fatal(err)
	}
	n := dev.Info().ZoneCount
	return &emulatorModel{dev: dev, path: path, info: dev.Info(),
		content: make([][]byte, n), full: make([]bool, n), synced: make([]int, n), syncedFull: make([]bool, n)}
}

func (m *emulatorModel) zone(t *rapid.T) int {
	return rapid.IntRange(m.info.ConventionalZones, m.info.ZoneCount-1).Draw(t, "zone")
}

// allowedRefusal reports whether err is one the device may give for a
// request the model cannot judge (resource limits, invalid transitions).
func allowedRefusal(err error) bool {
	return errors.Is(err, zoned.ErrTooManyOpen) || errors.Is(err, zoned.ErrTooManyActive) ||
		errors.Is(err, zoned.ErrInvalidTransition)
}

func (m *emulatorModel) actions() map[string]func(*rapid.T) {
	return map[string]func(*rapid.T){
		"write": func(t *rapid.T) {
			z := m.zone(t)
			n := rapid.IntRange(1, 6).Draw(t, "blocks") * m.info.LogicalBlockSize
			data := zoned.AlignedBuffer(n, 4096)
			seed := byte(rapid.IntRange(0, 255).Draw(t, "seed"))
			for i := range data {
				data[i] = seed + byte(i*7)
			}
			if !m.full[z] && m.info.ZoneCapacity == m.info.ZoneSize && int64(len(m.content[z])+n) > m.info.ZoneSize {
				// Such a write is split at the zone boundary like the
				// kernel does; the conformance suite covers that.
				t.Skip("the write would cross into the next zone")
			}
			_, err := m.dev.WriteAt(data, m.info.ZoneStart(z)+int64(len(m.content[z])))
			switch {
			case m.full[z] || int64(len(m.content[z])+n) > m.info.ZoneCapacity:
				if !errors.Is(err, zoned.ErrZoneFull) {
					t.Fatalf("write past capacity of zone %d: %v", z, err)
				}
			case err == nil:
				m.content[z] = append(m.content[z], data...)
				if int64(len(m.content[z])) == m.info.ZoneCapacity {
					m.full[z] = true
				}
			case !allowedRefusal(err):
				t.Fatalf("write at the write pointer of zone %d: %v", z, err)
			}
		},
		"writeOffPointer": func(t *rapid.T) {
			z := m.zone(t)
			off := m.info.ZoneStart(z) + int64(len(m.content[z])) +
				int64(rapid.SampledFrom([]int{-1, 1, 2}).Draw(t, "delta")*m.info.LogicalBlockSize)
			if off < m.info.ZoneStart(z) {
				off += 2 * int64(m.info.LogicalBlockSize)
			}
			if off >= m.info.ZoneStart(z+1) {
				off = m.info.ZoneStart(z) // the zone is full
			}
			_, err := m.dev.WriteAt(zoned.AlignedBuffer(m.info.LogicalBlockSize, 4096), off)
			if err == nil || !(errors.Is(err, zoned.ErrWritePointer) || errors.Is(err, zoned.ErrZoneFull)) {
				t.Fatalf("write off the write pointer of zone %d at %d: %v", z, off, err)
			}
		},
		"open": func(t *rapid.T) {
			if err := m.dev.OpenZones(m.zone(t), 1); err != nil && !allowedRefusal(err) {
				t.Fatal(err)
			}
		},
		"close": func(t *rapid.T) {
			if err := m.dev.CloseZones(m.zone(t), 1); err != nil && !allowedRefusal(err) {
				t.Fatal(err)
			}
		},
		"finish": func(t *rapid.T) {
			z := m.zone(t)
			err := m.dev.FinishZones(z, 1)
			if err != nil {
				if !allowedRefusal(err) {
					t.Fatal(err)
				}
				return
			}
			// A finish is durable, and so is the data before it.
			m.full[z], m.synced[z], m.syncedFull[z] = true, len(m.content[z]), true
		},
		"reset": func(t *rapid.T) {
			z := m.zone(t)
			if err := m.dev.ResetZones(z, 1); err != nil {
				t.Fatal(err)
			}
			m.content[z], m.full[z], m.synced[z], m.syncedFull[z] = nil, false, 0, false
		},
		"sync": func(t *rapid.T) {
			if err := m.dev.Sync(); err != nil {
				t.Fatal(err)
			}
			for z := range m.content {
				m.synced[z], m.syncedFull[z] = len(m.content[z]), m.full[z]
			}
		},
		"crash": func(t *rapid.T) {
			if _, err := m.dev.Crash(zoned.CrashOptions{}); err != nil {
				t.Fatal(err)
			}
			m.reopen(t)
			for z := range m.content {
				m.content[z] = m.content[z][:m.synced[z]]
				m.full[z] = m.syncedFull[z]
			}
		},
		"closeAndReopen": func(t *rapid.T) {
			if err := m.dev.Close(); err != nil {
				t.Fatal(err)
			}
			m.reopen(t)
			for z := range m.content {
				m.synced[z], m.syncedFull[z] = len(m.content[z]), m.full[z]
			}
		},
		"": m.check,
	}
}

func (m *emulatorModel) reopen(t *rapid.T) {
	dev, err := zoned.OpenEmulator(m.path)
	if err != nil {
		t.Fatal(err)
	}
	m.dev = dev
}

// check compares every zone with the model and checks the resource limits.
func (m *emulatorModel) check(t *rapid.T) {
	zones, err := zoned.ReportAll(m.dev)
	if err != nil {
		t.Fatal(err)
	}
	open, active := 0, 0
	for _, z := range zones {
		if z.Cond.IsOpen() {
			open++
		}
		if z.Cond.IsActive() {
			active++
		}
		if !z.Sequential() {
			continue
		}
		want := m.content[z.Index]
		if m.full[z.Index] {
			if z.Cond != zoned.CondFull || z.WritePointer != z.Start+z.Size {
				t.Fatalf("zone %d should be full: %v", z.Index, z)
			}
		} else if z.WritePointer != z.Start+int64(len(want)) || z.Cond == zoned.CondFull {
			t.Fatalf("zone %d: %v, model has %d bytes", z.Index, z, len(want))
		}
		if len(want) == 0 {
			continue
		}
		got := zoned.AlignedBuffer(len(want), 4096)
		if _, err := m.dev.ReadAt(got, z.Start); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("zone %d: content differs from the model", z.Index)
		}
	}
	if open > m.info.MaxOpenZones || active > m.info.MaxActiveZones {
		t.Fatalf("%d open and %d active zones, limits %d and %d", open, active, m.info.MaxOpenZones, m.info.MaxActiveZones)
	}
}

// TestEmulatorModel runs random sequences of writes, zone operations, syncs,
// crashes and restarts against the emulator and checks after each step that
// contents, write pointers and durability match a simple model, and that the
// open and active limits hold.
func TestEmulatorModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := newEmulatorModel(t, tempDir(t))
		defer func() { m.dev.Close() }()
		t.Repeat(m.actions())
	})
}

// tempDir makes a directory that lives as long as one rapid run.
func tempDir(t *rapid.T) string {
	dir, err := os.MkdirTemp("", "shingle-model-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
