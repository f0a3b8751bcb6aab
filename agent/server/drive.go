package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"

	"github.com/shingle-storage/shingle/agent/extent"
	"github.com/shingle-storage/shingle/agent/health/iotime"
	"github.com/shingle-storage/shingle/agent/health/monitor"
	"github.com/shingle-storage/shingle/agent/health/smart"
	"github.com/shingle-storage/shingle/agent/label"
	"github.com/shingle-storage/shingle/zoned"
)

// Drive is one drive the agent serves: its extent store and the device
// under it.
type Drive struct {
	// ID is the drive's id from its label, as a UUID.
	ID string
	// Path is where the drive was opened.
	Path string
	// Slot is the drive's enclosure slot, and Model and Firmware its
	// model and firmware revision, as reported to fleetd.
	Slot, Model, Firmware string
	// Store is the drive's extent store.
	Store *extent.Store
	// Device is closed after the store; nil if nothing needs closing.
	Device io.Closer

	// SMART reads the drive's SMART data for the health monitor:
	// smart.Device{Path: node} for a real drive, a smart.Replay for an
	// emulated one (ReplaySMART); nil for a drive without SMART.
	SMART smart.Reader
	// Zones is the device the health monitor reads zone reports from;
	// NewDrive sets it when dev is a zoned.Device.
	Zones zoned.Device
	// IO counts and times the drive's device I/O, for /metrics and the
	// fail-slow check; NewDrive sets it when dev came from TimeDevice.
	IO *iotime.Device

	// health is the host's health monitor, once it is started.
	health *monitor.Monitor
	// pool is the drive's shard pool (pool.go).
	pool shardPool
}

// NewDrive wraps an open store. dev, if not nil, is closed after the store.
// If dev is the store's zoned.Device, the health monitor reads its zone
// report; if it came from TimeDevice, its I/O is counted and timed.
func NewDrive(path string, store *extent.Store, dev io.Closer) *Drive {
	d := &Drive{ID: store.Label().Drive.String(), Path: path, Store: store, Device: dev}
	if z, ok := dev.(zoned.Device); ok {
		d.Zones = z
	}
	if t, ok := dev.(*iotime.Device); ok {
		d.IO = t
	}
	return d
}

// TimeDevice wraps dev so that its I/O is counted and timed, for /metrics
// and the health monitor's fail-slow check. Open the store on the device
// it returns, and pass that device to NewDrive.
func TimeDevice(dev zoned.Device) *iotime.Device { return iotime.Wrap(dev) }

// Close closes the store, waiting for its appends in flight, then the
// device.
func (d *Drive) Close() error {
	err := d.Store.Close()
	if d.Device != nil {
		err = errors.Join(err, d.Device.Close())
	}
	if err != nil {
		return fmt.Errorf("closing drive %s (%s): %w", d.ID, d.Path, err)
	}
	return nil
}

// FreeBytes is how many bytes the extents the drive can still create
// hold: free extents less the one kept for compaction. It is what fleetd
// places new volume members against.
func (d *Drive) FreeBytes() uint64 {
	return uint64(d.Store.Stat().CreatableExtents) * extentCapacity(d.Store.Label())
}

// PoolRoomBytes is about how many more bytes of shards the drive's open
// shard pool extent takes before the agent needs another extent; fleetd
// may place shards against it besides FreeBytes.
func (d *Drive) PoolRoomBytes() uint64 { return d.pool.room(d.Store) }

// UsableBytes is how many bytes the drive's extents hold at most: its
// capacity less the zones its store keeps for itself and the extent kept
// for compaction. It is the capacity the agent registers with fleetd,
// which places members against it: with the members fleetd placed on the
// drive, it bounds the drive's free space even while the agent's last
// report of it lags.
func (d *Drive) UsableBytes() uint64 {
	return uint64(d.Store.Stat().UsableExtents) * extentCapacity(d.Store.Label())
}

// extentCapacity is how many bytes an extent of a drive labelled l holds.
func extentCapacity(l label.Label) uint64 { return uint64(l.ZonesPerExtent) * uint64(l.ZoneCapacity) }

// CapacityBytes is how many bytes the drive's zones hold.
func (d *Drive) CapacityBytes() uint64 {
	l := d.Store.Label()
	return uint64(l.ZoneCount) * uint64(l.ZoneCapacity)
}

// Health is the agent's verdict on the drive (ok, suspect or failing) and
// the reasons behind it, from the health monitor's latest check (package
// agent/health/monitor says what goes into it). Until the first check it
// rests on the damage found when the store was opened.
func (d *Drive) Health() (string, []string) {
	if st, ok := d.HealthStatus(); ok {
		if total := totalZones(st.Zones); total > 0 && st.Zones.Offline() == total {
			// Nothing on the drive can be read or written: the fleet must
			// rebuild what it held now, not wait for a prediction.
			return HealthFailed, append([]string{fmt.Sprintf("all %d zones are offline", total)}, st.Reasons...)
		}
		return st.Health, st.Reasons
	}
	if reasons := d.damage(); len(reasons) > 0 {
		return monitor.HealthSuspect, reasons
	}
	return monitor.HealthOK, nil
}

// HealthFailed is the health reported for a drive that can no longer
// read or write anything (every zone offline). The fleet repairs the
// volumes it held at once.
const HealthFailed = "failed"

// totalZones is how many zones counts covers.
func totalZones(counts monitor.ZoneCounts) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

// HealthStatus is the health monitor's latest status of the drive, and
// false before its first check.
func (d *Drive) HealthStatus() (monitor.Status, bool) {
	if d.health == nil {
		return monitor.Status{Drive: d.ID, Health: monitor.HealthOK}, false
	}
	return d.health.Status(d.ID)
}

// FailureProbability is the predicted probability that the drive fails
// within 30 days, or 0 if there is no prediction (no SMART data, or not
// checked yet).
func (d *Drive) FailureProbability() float64 {
	st, _ := d.HealthStatus()
	return st.FailureProbability
}

// Load is how busy the drive was lately, from 0 (idle) to 1, as its last
// health check measured it (monitor.Status.Load); 0 before the first.
func (d *Drive) Load() float64 {
	st, _ := d.HealthStatus()
	return st.Load()
}

// damage describes, one line each, the damage the store found when it was
// opened.
func (d *Drive) damage() []string {
	var reasons []string
	for _, dmg := range d.Store.Stat().Damaged {
		reasons = append(reasons, fmt.Sprintf("extent %d zone %d offset %d: %s", dmg.Extent, dmg.Zone, dmg.Offset, dmg.Reason))
	}
	return reasons
}

// monitored describes the drive to the health monitor.
func (d *Drive) monitored() monitor.Drive {
	return monitor.Drive{ID: d.ID, SMART: d.SMART, Zones: d.Zones, IO: d.IO, Damage: d.damage}
}

// drives is the set of drives the agent serves, by id.
type drives struct {
	list []*Drive
	byID map[string]*Drive
	// health watches the drives, once startHealth has run.
	health *monitor.Monitor
}

// startHealth makes the health monitor of the drives; runHealth then runs
// it. The monitor's logs go to log unless cfg names a logger.
func (ds *drives) startHealth(cfg monitor.Config, log *slog.Logger) error {
	if cfg.Logger == nil {
		cfg.Logger = log
	}
	list := make([]monitor.Drive, len(ds.list))
	for i, d := range ds.list {
		list[i] = d.monitored()
	}
	m, err := monitor.New(cfg, list)
	if err != nil {
		return fmt.Errorf("drive health: %w", err)
	}
	ds.health = m
	for _, d := range ds.list {
		d.health = m
	}
	return nil
}

// runHealth checks the drives' health every interval until ctx ends; it
// returns at once if startHealth has not run.
func (ds *drives) runHealth(ctx context.Context) {
	if ds.health != nil {
		ds.health.Run(ctx)
	}
}

// newDrives indexes list by id; two drives with one id are refused.
func newDrives(list []*Drive) (*drives, error) {
	ds := &drives{byID: make(map[string]*Drive, len(list))}
	for _, d := range list {
		if old, ok := ds.byID[d.ID]; ok {
			return nil, fmt.Errorf("%s and %s carry the same drive id %s; one is a copy of the other, reformat it", old.Path, d.Path, d.ID)
		}
		ds.byID[d.ID] = d
		ds.list = append(ds.list, d)
	}
	sort.Slice(ds.list, func(i, j int) bool { return ds.list[i].Path < ds.list[j].Path })
	return ds, nil
}

// get returns the drive with id, or an error that wraps extent.ErrNotFound.
func (ds *drives) get(id string) (*Drive, error) {
	d, ok := ds.byID[id]
	if !ok {
		return nil, fmt.Errorf("%w: this agent has no drive %q; ListDrives shows its drives", extent.ErrNotFound, id)
	}
	return d, nil
}
