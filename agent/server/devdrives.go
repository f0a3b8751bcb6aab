package server

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/shingle-storage/shingle/agent/extent"
	"github.com/shingle-storage/shingle/agent/label"
	"github.com/shingle-storage/shingle/zoned"
)

// DevDrives describes emulated zoned drives kept as files in a directory,
// for development and tests.
type DevDrives struct {
	// Dir holds the drives (drive-NN.zoned), their fault files
	// (drive-NN.fault, see DevFaultOffline) and, when Cluster is not given,
	// the cluster id (cluster-id).
	Dir string
	// Count is how many drives to open; missing ones are created.
	Count int
	// Size is each new drive's size in bytes, a whole number of zones.
	Size int64
	// ZoneSize is each new drive's zone size in bytes.
	ZoneSize int64
	// ZonesPerExtent is the extent size of newly formatted drives.
	ZonesPerExtent int
	// Cluster is the cluster the drives belong to. Zero means the id kept
	// in Dir, made on first use.
	Cluster label.ID
}

// Open creates the directory and the drives that are missing, formats
// drives that have no label, and opens an extent store on each. A drive
// of another cluster is refused.
func (c DevDrives) Open(log *slog.Logger) ([]*Drive, error) {
	if c.Count <= 0 {
		return nil, fmt.Errorf("dev drives: a count of %d drives; give at least 1", c.Count)
	}
	if c.ZoneSize <= 0 || c.Size < c.ZoneSize || c.Size%c.ZoneSize != 0 {
		return nil, fmt.Errorf("dev drives: a drive size of %d bytes is not a positive whole number of %d-byte zones", c.Size, c.ZoneSize)
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("dev drives: %w", err)
	}
	cluster, err := c.cluster()
	if err != nil {
		return nil, err
	}
	var out []*Drive
	for i := range c.Count {
		d, err := c.openOne(DevDrivePath(c.Dir, i), cluster, log)
		if err == nil {
			d.Slot = strconv.Itoa(i)
		}
		if err != nil {
			for _, o := range out {
				_ = o.Close()
			}
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// cluster returns the configured cluster id, or the one kept in the
// directory, making it if there is none.
func (c DevDrives) cluster() (label.ID, error) {
	if c.Cluster != (label.ID{}) {
		return c.Cluster, nil
	}
	path := filepath.Join(c.Dir, "cluster-id")
	b, err := os.ReadFile(path)
	if err == nil {
		id, err := ParseID(strings.TrimSpace(string(b)))
		if err != nil {
			return id, fmt.Errorf("dev drives: %s: %w", path, err)
		}
		return id, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return label.ID{}, fmt.Errorf("dev drives: %w", err)
	}
	id := NewID()
	if err := os.WriteFile(path, []byte(id.String()+"\n"), 0o644); err != nil {
		return label.ID{}, fmt.Errorf("dev drives: %w", err)
	}
	return id, nil
}

// openOne opens (or creates and formats) the drive at path, and fails it
// if its fault file says so (devFault).
func (c DevDrives) openOne(path string, cluster label.ID, log *slog.Logger) (*Drive, error) {
	dev, err := zoned.OpenEmulator(path)
	if errors.Is(err, fs.ErrNotExist) {
		dev, err = zoned.CreateEmulator(path, zoned.EmulatorConfig{ZoneSize: c.ZoneSize, ZoneCount: int(c.Size / c.ZoneSize)})
	}
	if err != nil {
		return nil, fmt.Errorf("dev drives: %w", err)
	}
	faults := newDevFault(path, dev, log)
	timed := TimeDevice(faults.device())
	store, err := extent.Open(timed, extent.Options{Cluster: cluster})
	if errors.Is(err, extent.ErrNoLabel) {
		store, err = extent.Format(timed, extent.FormatOptions{Cluster: cluster, Drive: NewID(), ZonesPerExtent: c.ZonesPerExtent})
		if err == nil {
			log.Info("formatted drive", "path", path, "drive", store.Label().Drive.String(), "cluster", cluster.String())
		}
	}
	if err != nil {
		_ = dev.Close()
		return nil, fmt.Errorf("dev drives: %w", err)
	}
	d := NewDrive(path, store, timed)
	d.Model, d.Firmware = DevModel, DevFirmware
	log.Info("opened drive", "path", path, "drive", d.ID, "blobs", store.Stat().Blobs)
	d.Device = faults.watch(d.ID, timed)
	return d, nil
}

// The model and firmware revision emulated drives report. The emulator
// has no firmware; a revision lets the firmware catalog and planner
// (package firmware) be tried on a development cluster.
const (
	DevModel    = "emulated"
	DevFirmware = "EMU1"
)
