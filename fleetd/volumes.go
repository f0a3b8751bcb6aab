package main

import (
	"fmt"

	"github.com/shingle-storage/shingle/fleetd/placement"
	"github.com/shingle-storage/shingle/fleetd/state"
	"github.com/shingle-storage/shingle/fleetd/volume"
	"github.com/shingle-storage/shingle/internal/bytesize"
	"github.com/urfave/cli/v2"
)

// volumeOptions reads the flags that tune the life of volumes.
func volumeOptions(c *cli.Context) (volume.Options, error) {
	var o volume.Options
	if o.Replicas = c.Int("replicas"); o.Replicas < 1 {
		return o, fmt.Errorf("--replicas %d: give 1 or more", o.Replicas)
	}
	code, err := state.ParseScheme(c.String("code"))
	if err != nil || !code.Coded() {
		return o, fmt.Errorf("--code %q: give an erasure code, RS(k,m) or LRC(k,l,m)", c.String("code"))
	}
	o.Code = code
	size, err := bytesize.Parse(c.String("volume-size"))
	if err != nil || size == 0 {
		return o, fmt.Errorf("--volume-size %q: give a size such as 1GiB or 64MiB", c.String("volume-size"))
	}
	o.VolumeBytes = size
	if o.OpenVolumes = c.Int("open-volumes"); o.OpenVolumes < 1 {
		return o, fmt.Errorf("--open-volumes %d: give 1 or more", o.OpenVolumes)
	}
	if o.MaxAge = c.Duration("volume-max-age"); o.MaxAge <= 0 {
		return o, fmt.Errorf("--volume-max-age %v: give a positive duration", o.MaxAge)
	}
	switch d := placement.Domain(c.String("failure-domain")); d {
	case placement.DomainRack, placement.DomainHost, placement.DomainDrive:
		o.Domain = d
	default:
		return o, fmt.Errorf("--failure-domain %q: use rack, host or drive", d)
	}
	rate, err := bytesize.Parse(c.String("repair-rate"))
	if err != nil {
		return o, fmt.Errorf("--repair-rate %q: give bytes per second such as 100MiB, or 0", c.String("repair-rate"))
	}
	o.RepairBytesPerSecond = float64(rate)
	if o.RepairWorkers = c.Int("repair-workers"); o.RepairWorkers < 1 {
		return o, fmt.Errorf("--repair-workers %d: give 1 or more", o.RepairWorkers)
	}
	switch o.DrainFailing = c.Int("drain-failing"); {
	case o.DrainFailing < 0:
		return o, fmt.Errorf("--drain-failing %d: give how many drives may drain at once, or 0 to never drain a drive on the agent's word", o.DrainFailing)
	case o.DrainFailing == 0:
		o.DrainFailing = -1 // Options: negative turns it off
	}
	switch f := c.Float64("compact-deleted"); {
	case f < 0 || f > 1:
		return o, fmt.Errorf("--compact-deleted %v: give a share from 0 to 1, such as 0.2, or 0 to never compact", f)
	case f == 0:
		o.CompactDeleted = -1 // Options: negative turns it off
	default:
		o.CompactDeleted = f
	}
	return o, nil
}
