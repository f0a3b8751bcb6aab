package server

import (
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/shingle-storage/shingle/agent/extent"
)

// Drive is one drive the agent serves: its extent store and the device
// under it.
type Drive struct {
	// ID is the drive's id from its label, as a UUID.
	ID string
	// Path is where the drive was opened.
	Path string
	// Slot is the drive's enclosure slot, and Model its model, as
	// reported to fleetd.
	Slot, Model string
	// Store is the drive's extent store.
	Store *extent.Store
	// Device is closed after the store; nil if nothing needs closing.
	Device io.Closer
}

// NewDrive wraps an open store. dev, if not nil, is closed after the store.
func NewDrive(path string, store *extent.Store, dev io.Closer) *Drive {
	return &Drive{ID: store.Label().Drive.String(), Path: path, Store: store, Device: dev}
}

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

// FreeBytes is how many bytes the drive's free extents hold.
func (d *Drive) FreeBytes() uint64 {
	l := d.Store.Label()
	return uint64(d.Store.Stat().FreeZones) * uint64(l.ZoneCapacity)
}

// CapacityBytes is how many bytes the drive's zones hold.
func (d *Drive) CapacityBytes() uint64 {
	l := d.Store.Label()
	return uint64(l.ZoneCount) * uint64(l.ZoneCapacity)
}

// Health is the agent's verdict on the drive and the reasons behind it.
// For now it rests on the damage found when the store was opened.
func (d *Drive) Health() (string, []string) {
	var reasons []string
	for _, dmg := range d.Store.Stat().Damaged {
		reasons = append(reasons, fmt.Sprintf("extent %d zone %d offset %d: %s", dmg.Extent, dmg.Zone, dmg.Offset, dmg.Reason))
	}
	if len(reasons) > 0 {
		return "suspect", reasons
	}
	return "ok", nil
}

// drives is the set of drives the agent serves, by id.
type drives struct {
	list []*Drive
	byID map[string]*Drive
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
