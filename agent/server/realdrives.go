package server

import (
	"errors"
	"fmt"
	"github.com/shingle-storage/shingle/agent/health/smart"
	"log/slog"
	"strings"
	"sync"

	"github.com/shingle-storage/shingle/agent/discover"
	"github.com/shingle-storage/shingle/agent/extent"
	"github.com/shingle-storage/shingle/zoned"
)

// RealDrives describes the host's drives that a claim policy allows.
type RealDrives struct {
	// Policy says which drives may be claimed; its Cluster is the cluster
	// the drives belong to, written in new labels and required of old ones.
	Policy discover.Policy
	// ZonesPerExtent is the extent size of newly formatted drives (4).
	ZonesPerExtent int
	// Scanner finds the drives; the zero value reads /sys, /proc and /dev.
	Scanner discover.Scanner
	// Claim claims one drive; nil means ClaimLinux(Scanner).
	Claim ClaimFunc
}

// ClaimFunc claims drive d under policy p: it vets the drive and returns
// the verdict and the drive opened for exclusive use, which the caller then
// owns. A refused drive gives a *discover.Refusal.
type ClaimFunc func(p discover.Policy, d discover.Drive) (discover.Verdict, zoned.Device, error)

// ClaimLinux claims drives with s.Claim, opening them with zoned.OpenLinux.
func ClaimLinux(s discover.Scanner) ClaimFunc {
	return func(p discover.Policy, d discover.Drive) (discover.Verdict, zoned.Device, error) {
		c, err := s.Claim(p, d)
		if err != nil {
			return discover.Verdict{}, nil, err
		}
		return c.Verdict, c.Device, nil
	}
}

// Open scans the host's drives, claims those the policy allows, opens the
// extent store of each that has this cluster's label and formats each that
// is blank (over what it holds only when the policy forces it). A drive
// that is refused, or whose store cannot be opened, is logged with the
// reasons and left out; Open fails only when no drive could be claimed and
// opened, saying why for each drive found.
func (c RealDrives) Open(log *slog.Logger) ([]*Drive, error) {
	if err := c.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("real drives: %w", err)
	}
	claim := c.Claim
	if claim == nil {
		claim = ClaimLinux(c.Scanner)
	}
	found, err := c.Scanner.Drives()
	if err != nil {
		if len(found) == 0 {
			return nil, fmt.Errorf("real drives: %w", err)
		}
		log.Warn("some drives could not be read from sysfs; going on without them", "error", err.Error())
	}

	type claimed struct {
		drive   discover.Drive
		verdict discover.Verdict
		dev     zoned.Device
	}
	var toOpen []claimed
	var why []string // for each drive left out, why
	for _, d := range found {
		v, dev, err := claim(c.Policy, d)
		if err != nil {
			logRefusal(log, d, err)
			why = append(why, fmt.Sprintf("%s: %s", d, shortReason(err)))
			continue
		}
		toOpen = append(toOpen, claimed{d, v, dev})
	}

	opened := make([]*Drive, len(toOpen))
	errs := make([]error, len(toOpen))
	var wg sync.WaitGroup
	for i, cl := range toOpen {
		wg.Go(func() {
			opened[i], errs[i] = c.openClaimed(cl.drive, cl.verdict, cl.dev, log)
		})
	}
	wg.Wait()
	var out []*Drive
	for i, d := range opened {
		if errs[i] != nil {
			log.Error("drive claimed but not opened; going on without it", "disk", toOpen[i].drive.ID,
				"path", toOpen[i].drive.Path, "error", errs[i].Error())
			why = append(why, fmt.Sprintf("%s: %v", toOpen[i].drive, errs[i]))
			continue
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		if len(found) == 0 {
			return nil, fmt.Errorf("real drives: no drives found under %s/block", orDefault(c.Scanner.SysRoot, "/sys"))
		}
		return nil, fmt.Errorf("real drives: no drive could be claimed of the %d found (%s); the drives: section of the config says which drives to claim",
			len(found), strings.Join(why, "; "))
	}
	log.Info("claimed drives", "claimed", len(out), "found", len(found))
	return out, nil
}

// openClaimed opens the store of a claimed drive, formatting it if it has
// no label of this cluster. On error the device is closed.
func (c RealDrives) openClaimed(d discover.Drive, v discover.Verdict, dev zoned.Device, log *slog.Logger) (*Drive, error) {
	dev = TimeDevice(dev)
	cluster := c.Policy.Cluster
	var store *extent.Store
	var err error
	if v.Label != nil {
		store, err = extent.Open(dev, extent.Options{Cluster: cluster})
	} else {
		forced := len(v.Overridden) > 0
		if forced {
			var overridden []string
			for _, p := range v.Overridden {
				overridden = append(overridden, p.Detail)
			}
			log.Warn("formatting a forced drive: what it held is destroyed", "disk", d.ID, "path", d.Path,
				"overridden", overridden)
		}
		store, err = extent.Format(dev, extent.FormatOptions{Cluster: cluster, Drive: NewID(),
			ZonesPerExtent: c.ZonesPerExtent, Force: forced})
		if err == nil {
			log.Info("formatted drive", "disk", d.ID, "path", d.Path, "drive", store.Label().Drive.String(),
				"cluster", cluster.String())
		}
	}
	if err != nil {
		_ = dev.Close()
		return nil, err
	}
	out := NewDrive(d.Path, store, dev)
	out.Model, out.Firmware = d.Model, d.Firmware
	// fleetd knows a drive by its slot on the host; one with no slot
	// (null_blk) is registered in a slot named after its id.
	out.Slot = d.Slot
	out.SMART = smart.Device{Path: d.Path}
	log.Info("opened drive", "disk", d.ID, "path", d.Path, "drive", out.ID, "rule", v.Rule,
		"blobs", store.Stat().Blobs)
	return out, nil
}

// logRefusal logs why drive d was not claimed: quietly for a drive the
// policy does not name, as a warning for one it names but refuses.
func logRefusal(log *slog.Logger, d discover.Drive, err error) {
	attrs := []any{"disk", d.ID, "path", d.Path, "model", d.Model, "serial", d.Serial}
	var r *discover.Refusal
	if !errors.As(err, &r) {
		log.Error("drive could not be claimed", append(attrs, "error", err.Error())...)
		return
	}
	reasons := make([]string, len(r.Problems))
	for i, p := range r.Problems {
		reasons[i] = p.Reason.String()
	}
	attrs = append(attrs, "reasons", reasons, "error", err.Error())
	if r.Has(discover.ReasonNotAllowed) {
		log.Info("drive not claimed: no allow rule names it", attrs...)
		return
	}
	log.Warn("drive refused", attrs...)
}

// shortReason is why a drive was left out, in a few words.
func shortReason(err error) string {
	var r *discover.Refusal
	if !errors.As(err, &r) {
		return err.Error()
	}
	reasons := make([]string, len(r.Problems))
	for i, p := range r.Problems {
		reasons[i] = p.Reason.String()
	}
	return strings.Join(reasons, ", ")
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
