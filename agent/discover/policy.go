package discover

import (
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"

	"github.com/shingle-storage/shingle/agent/label"
	"github.com/shingle-storage/shingle/zoned"
)

// Policy says which drives the agent may claim. A drive is claimed when an
// allow rule matches it and vetting finds nothing on it, or only what the
// Force list overrides. Drives are named by WWN, serial or model, never by
// kernel name.
type Policy struct {
	// Cluster is this agent's cluster. A drive with the label of any other
	// cluster is refused.
	Cluster label.ID

	// AllowWWNs allows drives by WWN, in any usual spelling
	// ("0x5000c500a1b2c3d4", "naa.5000C500A1B2C3D4",
	// "wwn-0x5000c500a1b2c3d4", "eui.0025388b91b1c6a0").
	AllowWWNs []string
	// AllowSerials allows drives by serial number, exactly.
	AllowSerials []string
	// AllowModels allows drives whose model matches one of these globs
	// (path.Match syntax, case-insensitive), such as "HGST HSH72*".
	AllowModels []string
	// AllowAllZoned allows every host-managed or host-aware drive.
	AllowAllZoned bool

	// Force lists drives (by WWN, serial or ID) to claim even though they
	// hold a partition table, a filesystem or another cluster's label.
	// Claiming them destroys what they hold. It does not override a drive
	// that is not allowed, not zoned, read-only or in use.
	Force []string
}

// kernelName matches kernel disk names and /dev paths, which policies must
// not use: they change across reboots.
var kernelName = regexp.MustCompile(`^(/dev/)?(sd[a-z]+|hd[a-z]+|vd[a-z]+|xvd[a-z]+|nvme[0-9]+n[0-9]+|nvme[0-9]+c[0-9]+n[0-9]+|nullb[0-9]+)$`)

// Validate checks the policy: a cluster is set, no entry is empty or a
// kernel name (/dev/sdb), every WWN is one, every model glob is well formed.
func (p Policy) Validate() error {
	var errs []error
	if p.Cluster == (label.ID{}) {
		errs = append(errs, errors.New("no cluster id: set the agent's cluster so drives labelled for other clusters can be refused"))
	}
	check := func(list, what string, entries []string, valid func(string) error) {
		for _, e := range entries {
			switch {
			case strings.TrimSpace(e) == "":
				errs = append(errs, fmt.Errorf("%s: an empty entry; remove it", list))
			case kernelName.MatchString(strings.TrimSpace(e)):
				errs = append(errs, fmt.Errorf("%s: %q is a kernel device name, which can name another drive after a reboot; list the drive's %s instead (see ls -l /dev/disk/by-id/)", list, e, what))
			case valid != nil:
				if err := valid(e); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", list, err))
				}
			}
		}
	}
	check("allowed WWNs", "WWN", p.AllowWWNs, func(e string) error {
		if NormalizeWWN(e) == "" {
			return fmt.Errorf("%q is not a WWN (give 16 or 32 hex digits, such as 0x5000c500a1b2c3d4, or an NVMe eui. or uuid. id)", e)
		}
		return nil
	})
	check("allowed serials", "serial", p.AllowSerials, nil)
	check("allowed models", "model", p.AllowModels, func(e string) error {
		if _, err := path.Match(e, ""); err != nil {
			return fmt.Errorf("%q is not a valid glob: %v", e, err)
		}
		return nil
	})
	check("forced drives", "WWN or serial", p.Force, nil)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("discover: claim policy: %w", err)
	}
	return nil
}

// Allows reports whether an allow rule matches d, and which ("wwn
// 0x5000c500a1b2c3d4", "serial ZA1234", "model HGST*", "all zoned").
func (p Policy) Allows(d Drive) (rule string, ok bool) {
	if d.WWN != "" {
		for _, w := range p.AllowWWNs {
			if NormalizeWWN(w) == d.WWN {
				return "wwn " + d.WWN, true
			}
		}
	}
	if d.Serial != "" {
		for _, s := range p.AllowSerials {
			if strings.TrimSpace(s) == d.Serial {
				return "serial " + d.Serial, true
			}
		}
	}
	if d.Model != "" {
		for _, g := range p.AllowModels {
			if ok, _ := path.Match(strings.ToLower(g), strings.ToLower(d.Model)); ok {
				return "model " + g, true
			}
		}
	}
	if p.AllowAllZoned && d.Zoned != zoned.ModelNone {
		return "all zoned", true
	}
	return "", false
}

// Forced reports whether d is on the Force list, by WWN, serial or ID.
func (p Policy) Forced(d Drive) bool {
	for _, f := range p.Force {
		f = strings.TrimSpace(f)
		switch {
		case f == "":
		case d.WWN != "" && NormalizeWWN(f) == d.WWN,
			d.Serial != "" && f == d.Serial,
			d.ID != "" && f == d.ID:
			return true
		}
	}
	return false
}

// Verdict is the outcome of vetting a drive that may be claimed.
type Verdict struct {
	// Drive is the vetted drive.
	Drive Drive
	// Rule is the allow rule that matched.
	Rule string
	// Label is the drive's label when it already belongs to this cluster;
	// nil means it must be formatted before use.
	Label *label.Label
	// Overridden are the problems Force overrode. When there are any, the
	// drive holds data that formatting it destroys; formatting must be
	// forced over any Shingle label it has.
	Overridden []Problem
}

// Vet decides whether d may be claimed: it must have an identity, match an
// allow rule, be zoned, writable and not held by anything, and, read
// through media, hold no partition table, filesystem or volume signature,
// or label of another cluster (see Inspect). A drive that is not allowed is
// refused before media is read. The error is a *Refusal for a refused
// drive, or another error when media cannot be read.
func (p Policy) Vet(d Drive, media io.ReaderAt) (Verdict, error) {
	v, problems, done := p.precheck(d)
	if done {
		return Verdict{}, &Refusal{Drive: d, Problems: problems}
	}
	in, err := Inspect(d, media)
	if err != nil {
		return Verdict{}, err
	}
	return p.judge(v, problems, in)
}

// VetDevice is Vet reading through an open zoned device: bytes past a
// sequential zone's write pointer, and in offline zones, read as zeros
// without being read from the device (some SMR drives fail such reads).
func (p Policy) VetDevice(d Drive, dev zoned.Device) (Verdict, error) {
	return p.Vet(d, ZoneReader(dev))
}

// precheck checks what sysfs says about d. done means the drive is refused
// whatever its media hold (it is not allowed, or cannot be claimed).
func (p Policy) precheck(d Drive) (v Verdict, problems []Problem, done bool) {
	v = Verdict{Drive: d}
	if d.ID == "" {
		return v, []Problem{{ReasonNoIdentity, "it reports neither a WWN nor a serial number"}}, true
	}
	rule, ok := p.Allows(d)
	if !ok {
		detail := "no allow rule of the claim policy matches it"
		if d.Zoned == zoned.ModelNone {
			detail = "it has no zones, and " + detail
		}
		return v, []Problem{{ReasonNotAllowed, detail}}, true
	}
	v.Rule = rule
	if d.Zoned == zoned.ModelNone {
		problems = append(problems, Problem{ReasonNotZoned, "it has no zones (queue/zoned says none)"})
	}
	if d.ReadOnly {
		problems = append(problems, Problem{ReasonReadOnly, "the kernel has it read-only"})
	}
	if len(d.Holders) > 0 {
		problems = append(problems, Problem{ReasonInUse, "it is held by " + strings.Join(d.Holders, ", ")})
	}
	if len(d.Partitions) > 0 {
		problems = append(problems, Problem{ReasonPartitionTable, "the kernel found partitions on it (" + strings.Join(d.Partitions, ", ") + ")"})
	}
	for _, pr := range problems {
		if !pr.Reason.Forceable() {
			return v, problems, true
		}
	}
	return v, problems, false
}

// judge adds what the media hold to the problems found so far and decides.
func (p Policy) judge(v Verdict, problems []Problem, in Inspection) (Verdict, error) {
	d := v.Drive
	for _, f := range in.Findings {
		r := ReasonFilesystem
		if f.Kind == PartitionTable {
			r = ReasonPartitionTable
		}
		problems = append(problems, Problem{r, "it has " + f.String()})
	}
	switch {
	case in.Label != nil && (p.Cluster == label.ID{}):
		problems = append(problems, Problem{ReasonForeignLabel, fmt.Sprintf(
			"it has the Shingle label of cluster %s (drive %s), and this agent has no cluster id to compare it with",
			in.Label.Cluster, in.Label.Drive)})
	case in.Label != nil && in.Label.Cluster != p.Cluster:
		problems = append(problems, Problem{ReasonForeignLabel, fmt.Sprintf(
			"it has the Shingle label of cluster %s (drive %s, formatted %s), not this cluster's %s",
			in.Label.Cluster, in.Label.Drive, in.Label.Created.Format("2006-01-02"), p.Cluster)})
	case in.Label != nil:
		v.Label = in.Label
	case in.LabelErr != nil:
		problems = append(problems, Problem{ReasonDamagedLabel, fmt.Sprintf("its Shingle label cannot be read (%v)", in.LabelErr)})
	}
	if len(problems) == 0 {
		return v, nil
	}
	r := &Refusal{Drive: d, Problems: problems}
	if r.Forceable() && p.Forced(d) {
		v.Overridden = problems
		v.Label = nil
		return v, nil
	}
	return Verdict{}, r
}
