package zoned_test

import (
	"path/filepath"
	"testing"

	"github.com/shingle-storage/shingle/zoned"
	"github.com/shingle-storage/shingle/zoned/zonedtest"
)

// Emulator configurations shaped like the two kernel devices the suite runs
// on under QEMU: an SMR-like null_blk device with conventional zones first,
// and an NVMe ZNS namespace whose zone capacity is below its zone size.
var emulatorShapes = []struct {
	name string
	cfg  zoned.EmulatorConfig
}{
	{"smr", zoned.EmulatorConfig{ZoneSize: 4 << 20, ZoneCount: 64, ConventionalZones: 4,
		MaxOpenZones: 8, MaxActiveZones: 12}},
	{"zns", zoned.EmulatorConfig{ZoneSize: 4 << 20, ZoneCapacity: 3 << 20, ZoneCount: 64,
		MaxOpenZones: 8, MaxActiveZones: 12}},
	{"unlimited-512", zoned.EmulatorConfig{ZoneSize: 1 << 20, ZoneCount: 40, ConventionalZones: 1,
		LogicalBlockSize: 512}},
}

func TestEmulatorConformance(t *testing.T) {
	for _, shape := range emulatorShapes {
		t.Run(shape.name, func(t *testing.T) {
			zonedtest.Run(t, zonedtest.Target{
				Name: "emulator-" + shape.name,
				Open: func(t *testing.T) zoned.Device {
					dev, err := zoned.CreateEmulator(filepath.Join(t.TempDir(), "dev"), shape.cfg)
					if err != nil {
						t.Fatal(err)
					}
					return dev
				},
				PastWritePointer: 0xFF,
			})
		})
	}
}
