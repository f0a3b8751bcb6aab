//go:build linux

package discover

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/shingle-storage/shingle/zoned"
)

// Claimed is a drive the agent has claimed: vetted and open for exclusive
// use.
type Claimed struct {
	Verdict
	// Device is the drive, opened with zoned.OpenLinux. The caller owns it
	// and closes it.
	Device *zoned.Linux
}

// Claim claims d under policy p. A drive the policy refuses whatever its
// contents (no identity, not allowed, not zoned, read-only, held) is
// refused without being opened. Otherwise the drive is opened for exclusive
// use, checked to still be the drive that was scanned (its name and device
// number may have been given to another since), and vetted through its
// write pointers (see VetDevice). On success the drive stays open in the
// returned Claimed; on any error it is closed. A refused drive gives a
// *Refusal; a drive that another program holds gives a *Refusal with
// ReasonInUse.
func (s Scanner) Claim(p Policy, d Drive) (*Claimed, error) {
	if _, problems, done := p.precheck(d); done {
		return nil, &Refusal{Drive: d, Problems: problems}
	}
	dev, err := zoned.OpenLinux(d.Path)
	if errors.Is(err, zoned.ErrBusy) {
		return nil, &Refusal{Drive: d, Problems: []Problem{{ReasonInUse, fmt.Sprintf("it cannot be opened exclusively (%v)", err)}}}
	}
	if err != nil {
		return nil, fmt.Errorf("discover: claiming %s: %w", d, err)
	}
	if err := s.sameDrive(d, dev); err != nil {
		dev.Close()
		return nil, err
	}
	v, err := p.VetDevice(d, dev)
	if err != nil {
		dev.Close()
		return nil, err
	}
	return &Claimed{Verdict: v, Device: dev}, nil
}

// sameDrive checks that the device open at d.Path is still d: the same
// device number, and the same identity in sysfs now.
func (s Scanner) sameDrive(d Drive, dev *zoned.Linux) error {
	changed := func(now string) error {
		return fmt.Errorf("discover: %s is no longer drive %s (%s); the drives changed since the scan: scan again", d.Path, d.ID, now)
	}
	var st unix.Stat_t
	if err := unix.Stat(d.Path, &st); err != nil {
		return fmt.Errorf("discover: claiming %s: %w", d, err)
	}
	if unix.Major(st.Rdev) != d.Major || unix.Minor(st.Rdev) != d.Minor {
		return changed(fmt.Sprintf("its device number is now %d:%d, was %d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev), d.Major, d.Minor))
	}
	now, err := s.Drive(d.Name)
	if err != nil {
		return changed(err.Error())
	}
	if now.ID != d.ID || now.Major != d.Major || now.Minor != d.Minor {
		return changed("it is now " + now.String())
	}
	if info := dev.Info(); info.Capacity != d.Size {
		return changed(fmt.Sprintf("it now has %d bytes, was %d", info.Capacity, d.Size))
	}
	return nil
}
