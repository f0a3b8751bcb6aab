package discover

import (
	"fmt"
	"slices"
	"strings"

	"github.com/shingle-storage/shingle/zoned"
)

// Reason is why a drive is refused.
type Reason int

// Reasons. Those for which Forceable is true are overridden by listing the
// drive under Policy.Force; the others are not.
const (
	// ReasonNoIdentity: the drive reports neither WWN nor serial, so it
	// could not be told apart from another after a reboot.
	ReasonNoIdentity Reason = iota + 1
	// ReasonNotAllowed: no allow rule of the policy matches the drive.
	ReasonNotAllowed
	// ReasonNotZoned: the drive has no zones (queue/zoned is "none").
	ReasonNotZoned
	// ReasonReadOnly: the kernel has the drive read-only.
	ReasonReadOnly
	// ReasonInUse: something holds the drive (device-mapper, md, a mount).
	ReasonInUse
	// ReasonPartitionTable: the drive has a partition table, or the kernel
	// found partitions on it.
	ReasonPartitionTable
	// ReasonFilesystem: the drive has a filesystem, swap, or volume
	// manager, RAID or encryption signature.
	ReasonFilesystem
	// ReasonForeignLabel: the drive has the Shingle label of another
	// cluster.
	ReasonForeignLabel
	// ReasonDamagedLabel: the drive has a Shingle label that cannot be
	// decoded (damaged, or from a newer format).
	ReasonDamagedLabel
)

// String names the reason.
func (r Reason) String() string {
	switch r {
	case ReasonNoIdentity:
		return "no identity"
	case ReasonNotAllowed:
		return "not allowed"
	case ReasonNotZoned:
		return "not zoned"
	case ReasonReadOnly:
		return "read-only"
	case ReasonInUse:
		return "in use"
	case ReasonPartitionTable:
		return "partition table"
	case ReasonFilesystem:
		return "filesystem"
	case ReasonForeignLabel:
		return "another cluster's label"
	case ReasonDamagedLabel:
		return "damaged label"
	}
	return fmt.Sprintf("reason(%d)", int(r))
}

// Forceable reports whether listing the drive under Policy.Force overrides
// the reason: true for what is on the drive (a partition table, a
// filesystem, a label), which formatting destroys; false for what formatting
// cannot change.
func (r Reason) Forceable() bool {
	switch r {
	case ReasonPartitionTable, ReasonFilesystem, ReasonForeignLabel, ReasonDamagedLabel:
		return true
	}
	return false
}

// Problem is one reason a drive is refused, with the specifics.
type Problem struct {
	Reason Reason
	// Detail says what was found, as a clause: "it has a GPT partition
	// table (signature at byte 512)".
	Detail string
}

// Refusal is the error for a drive that is not claimed. Its message names
// the drive by ID and path, says every reason, and what the operator can do.
type Refusal struct {
	// Drive is the refused drive.
	Drive Drive
	// Problems are the reasons, in the order they were found.
	Problems []Problem
}

// Has reports whether r is one of the refusal's reasons.
func (e *Refusal) Has(r Reason) bool {
	return slices.ContainsFunc(e.Problems, func(p Problem) bool { return p.Reason == r })
}

// Forceable reports whether every reason can be overridden by Policy.Force.
func (e *Refusal) Forceable() bool {
	return !slices.ContainsFunc(e.Problems, func(p Problem) bool { return !p.Reason.Forceable() })
}

// Error says which drive, why, and what to do.
func (e *Refusal) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "discover: refusing drive %s", e.Drive)
	if who := e.Drive.description(); who != "" {
		fmt.Fprintf(&b, ", %s", who)
	}
	b.WriteString(": ")
	details := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		details[i] = p.Detail
	}
	b.WriteString(strings.Join(details, "; "))
	b.WriteString(". ")
	b.WriteString(e.remedy())
	return b.String()
}

// remedy says what the operator can do about all the problems at once.
func (e *Refusal) remedy() string {
	d := e.Drive
	var todo []string
	add := func(s string) {
		if !slices.Contains(todo, s) {
			todo = append(todo, s)
		}
	}
	for _, p := range e.Problems {
		switch p.Reason {
		case ReasonNoIdentity:
			add("Shingle uses only drives with a stable identity; attach it through an HBA that passes its WWN or serial through, or leave it out")
		case ReasonNotAllowed:
			if d.Zoned == zoned.ModelNone {
				add("Shingle uses only zoned drives (SMR or NVMe ZNS) and leaves this one alone")
			} else if d.WWN != "" {
				add(fmt.Sprintf("To use it, add its WWN %s (or its serial or a model glob) to the allow list, or allow all zoned drives", d.WWN))
			} else {
				add(fmt.Sprintf("To use it, add its serial %q (or a model glob) to the allow list, or allow all zoned drives", d.Serial))
			}
		case ReasonNotZoned:
			add("Shingle needs a host-managed or host-aware drive (SMR or NVMe ZNS); take this one off the allow list")
		case ReasonReadOnly:
			add("Check its write protection and health (dmesg, smartctl); it cannot be claimed while read-only")
		case ReasonInUse:
			add("Stop what holds it (umount, dmsetup remove, mdadm --stop) and claim it again")
		}
	}
	content := e.Has(ReasonPartitionTable) || e.Has(ReasonFilesystem)
	switch {
	case e.Forceable() && content:
		add(fmt.Sprintf("If what it holds is not needed, wipe it (blkzone reset %s empties its sequential zones, wipefs -a %s clears signatures in conventional ones) or list its %s under force to claim it anyway, which destroys what it holds",
			d.Path, d.Path, d.key()))
	case e.Forceable():
		// Only a Shingle label, which wipefs does not know.
		add(fmt.Sprintf("If it still belongs to another cluster, return it there; otherwise list its %s under force to format it for this cluster, which destroys what it holds",
			d.key()))
	case slices.ContainsFunc(e.Problems, func(p Problem) bool { return p.Reason.Forceable() }):
		add("Its contents would also have to be wiped or forced")
	}
	return strings.Join(todo, ". ") + "."
}

// description says what the drive is: model, serial and size.
func (d Drive) description() string {
	var parts []string
	if d.Model != "" {
		parts = append(parts, d.Model)
	}
	if d.Serial != "" {
		parts = append(parts, "serial "+d.Serial)
	}
	if d.Size > 0 {
		parts = append(parts, humanBytes(d.Size))
	}
	return strings.Join(parts, ", ")
}

func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, suffix := float64(n), ""
	for _, s := range []string{"kB", "MB", "GB", "TB", "PB"} {
		v /= unit
		suffix = s
		if v < unit {
			break
		}
	}
	return fmt.Sprintf("%.1f %s", v, suffix)
}
