package firmware

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Manifest is what the catalog says about one drive model's firmware.
type Manifest struct {
	// Model names the drives it covers: the model as the drives report
	// it, or a glob (* ? [...]) matched without regard to case.
	Model string `yaml:"model"`
	// Target is the revision the fleet should run.
	Target string `yaml:"target"`
	// Bad lists the revisions known to be bad, with why; drives running
	// one are updated first.
	Bad []BadRevision `yaml:"bad"`
	// Image is the file that installs Target (relative to the catalog),
	// and SHA256 its checksum, for the tool that flashes it.
	Image  string `yaml:"image"`
	SHA256 string `yaml:"sha256"`
	// Notes are for the operator: release notes, the vendor's advisory.
	Notes string `yaml:"notes"`

	file string // where the manifest was read from, for messages
}

// BadRevision is a revision known to be bad.
type BadRevision struct {
	Revision string `yaml:"revision"`
	Reason   string `yaml:"reason"`
}

// Catalog is the set of manifests, in the order of their files' names.
type Catalog []Manifest

// Load reads every *.yaml and *.yml manifest in dir. A manifest with an
// unknown key, a missing model or target, a target it also calls bad, or
// the same model as another is refused, with the file and what to fix.
// Where globs overlap, the manifest naming a model exactly wins, then the
// first file by name (see Find).
func Load(dir string) (Catalog, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	yml, _ := filepath.Glob(filepath.Join(dir, "*.yml"))
	files = append(files, yml...)
	if len(files) == 0 {
		return nil, fmt.Errorf("no firmware manifests (*.yaml) in %s; give the catalog's directory with --catalog or SHINGLE_FIRMWARE_CATALOG", dir)
	}
	slices.Sort(files)
	var cat Catalog
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		m, err := parseManifest(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		m.file = f
		for _, other := range cat {
			if strings.EqualFold(other.Model, m.Model) {
				return nil, fmt.Errorf("%s: model %q is covered by %s already; keep one manifest per model", f, m.Model, other.file)
			}
		}
		cat = append(cat, m)
	}
	return cat, nil
}

// parseManifest decodes and checks one manifest.
func parseManifest(b []byte) (Manifest, error) {
	var m Manifest
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("not a firmware manifest: %w (keys: model, target, bad, image, sha256, notes)", err)
	}
	m.Model, m.Target = strings.TrimSpace(m.Model), strings.TrimSpace(m.Target)
	switch {
	case m.Model == "":
		return m, errors.New("model is empty: name the drive model, as fleetctl drive list shows it")
	case m.Target == "":
		return m, errors.New("target is empty: give the revision drives of this model should run")
	}
	if _, err := path.Match(strings.ToLower(m.Model), ""); err != nil {
		return m, fmt.Errorf("model %q is not a valid glob: %w", m.Model, err)
	}
	for i := range m.Bad {
		m.Bad[i].Revision = strings.TrimSpace(m.Bad[i].Revision)
		bad := m.Bad[i]
		if bad.Revision == "" {
			return m, errors.New("a bad revision has no revision")
		}
		if bad.Revision == m.Target {
			return m, fmt.Errorf("target %q is also listed as bad", m.Target)
		}
	}
	if m.SHA256 != "" {
		if b, err := hex.DecodeString(m.SHA256); err != nil || len(b) != 32 {
			return m, fmt.Errorf("sha256 %q is not 64 hex digits", m.SHA256)
		}
	}
	return m, nil
}

// Find returns the manifest that covers model: the one naming it exactly,
// else the first whose glob matches it.
func (c Catalog) Find(model string) (Manifest, bool) {
	model = strings.TrimSpace(model)
	for _, m := range c {
		if strings.EqualFold(m.Model, model) {
			return m, true
		}
	}
	for _, m := range c {
		if ok, _ := path.Match(strings.ToLower(m.Model), strings.ToLower(model)); ok {
			return m, true
		}
	}
	return Manifest{}, false
}

// bad returns why revision is bad, if the manifest says it is.
func (m Manifest) bad(revision string) (string, bool) {
	for _, b := range m.Bad {
		if b.Revision == revision {
			return b.Reason, true
		}
	}
	return "", false
}
