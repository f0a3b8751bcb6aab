// Package config reads the agent's YAML config file.
//
// The file sets the agent's flags by name, one key per flag, and says in its
// drives: section which of the host's real drives the agent may claim:
//
//	addr: 0.0.0.0:7400
//	cluster: 6f1c2a9e-0d4b-4c8e-9a71-3b5e2d8f4c10
//	shutdown-timeout: 30s
//	drives:
//	  allow-models: ["HGST HSH72*"]
//	  force: ["0x5000cca2a1b2c3d4"]
//
// A key that names no flag, or a drives: key that does not exist, is an
// error that names it: a misspelt setting is never silently ignored. A flag's
// key with no value (addr: or addr: ~) is as if it were absent; an empty
// drives: section is an error. The file sets a
// flag only where neither the command line nor the flag's environment
// variable did (see File.Apply). agent/agent.example.yaml shows every key.
package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/shingle-storage/shingle/agent/discover"
	"github.com/shingle-storage/shingle/agent/label"
)

// File is a parsed config file.
type File struct {
	// Path is where the file was read from.
	Path string
	// Settings are the flag values the file gives, in the order written.
	Settings []Setting
	// Drives is the drives: section; nil when the file has none.
	Drives *Drives
}

// Setting is one flag's value from the file.
type Setting struct {
	// Name is the flag's name (addr, cluster, shutdown-timeout).
	Name string
	// Value is the value as it would be written after --name: the YAML
	// scalar's text, so 0x5000c500a1b2c3d4 and 007 stay as written.
	Value string
	// Line is where the key is in the file.
	Line int
}

// Drives is the drives: section: which real drives the agent may claim.
// Its fields are those of discover.Policy; the cluster comes from the
// agent's cluster setting.
type Drives struct {
	// AllowWWNs (allow-wwns) allows drives by WWN, in any usual spelling.
	AllowWWNs []string
	// AllowSerials (allow-serials) allows drives by serial number.
	AllowSerials []string
	// AllowModels (allow-models) allows drives whose model matches a glob.
	AllowModels []string
	// AllowAllZoned (allow-all-zoned) allows every host-managed or
	// host-aware drive.
	AllowAllZoned bool
	// Force (force) lists drives, by WWN, serial or ID, to claim even
	// though they hold a partition table, a filesystem or another
	// cluster's label; claiming them destroys what they hold.
	Force []string
	// Line is where the drives: key is in the file.
	Line int
}

// Policy is the claim policy the section describes, for cluster.
func (d *Drives) Policy(cluster label.ID) discover.Policy {
	return discover.Policy{
		Cluster:       cluster,
		AllowWWNs:     slices.Clone(d.AllowWWNs),
		AllowSerials:  slices.Clone(d.AllowSerials),
		AllowModels:   slices.Clone(d.AllowModels),
		AllowAllZoned: d.AllowAllZoned,
		Force:         slices.Clone(d.Force),
	}
}

// driveKeys are the keys of the drives: section, in the order help lists
// them.
var driveKeys = []string{"allow-wwns", "allow-serials", "allow-models", "allow-all-zoned", "force"}

// Load reads the config file at path. flags are the names of the flags the
// file may set.
func Load(path string, flags []string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data, flags)
}

// Parse parses a config file's contents; path names it in errors. flags
// are the names of the flags the file may set.
func Parse(path string, data []byte, flags []string) (*File, error) {
	f := &File{Path: path}
	fail := func(line int, format string, args ...any) (*File, error) {
		if line > 0 {
			return nil, fmt.Errorf("config %s line %d: %s", path, line, fmt.Sprintf(format, args...))
		}
		return nil, fmt.Errorf("config %s: %s", path, fmt.Sprintf(format, args...))
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return f, nil // empty file
	} else if err != nil {
		return fail(0, "%v", err)
	}
	var second yaml.Node
	if err := dec.Decode(&second); !errors.Is(err, io.EOF) {
		return fail(second.Line, "a second YAML document (after ---); keep all settings in one")
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return f, nil
		}
		root = root.Content[0]
	}
	root = deref(root)
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return f, nil // only comments
	}
	if root.Kind != yaml.MappingNode {
		return fail(root.Line, "the file must be a mapping of keys to values (addr: 127.0.0.1:7400), not %s", kindName(root))
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], deref(root.Content[i+1])
		key := k.Value
		if first, ok := seen[key]; ok {
			return fail(k.Line, "%s is set twice (first on line %d)", key, first)
		}
		seen[key] = k.Line
		switch {
		case key == "drives":
			d, err := parseDrives(k, v)
			if err != nil {
				return nil, fmt.Errorf("config %s %w", path, err)
			}
			f.Drives = d
		case key == "config":
			return fail(k.Line, "config cannot be set in a config file; give the file with --config or SHINGLE_AGENT_CONFIG")
		case slices.Contains(flags, key):
			if isNull(v) {
				continue
			}
			if v.Kind != yaml.ScalarNode {
				return fail(v.Line, "%s takes a single value, not %s", key, kindName(v))
			}
			f.Settings = append(f.Settings, Setting{Name: key, Value: v.Value, Line: k.Line})
		default:
			msg := fmt.Sprintf("unknown key %q", key)
			if slices.Contains(driveKeys, key) {
				msg += "; it belongs under drives:"
			} else if s := closest(key, append(slices.Clone(flags), "drives")); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			return fail(k.Line, "%s (the keys are the flags agent --help lists, without the dashes, and drives:)", msg)
		}
	}
	return f, nil
}

// parseDrives parses the drives: section whose key is k and value v.
func parseDrives(k, v *yaml.Node) (*Drives, error) {
	fail := func(line int, format string, args ...any) (*Drives, error) {
		return nil, fmt.Errorf("line %d: drives: %s", line, fmt.Sprintf(format, args...))
	}
	d := &Drives{Line: k.Line}
	if isNull(v) {
		return fail(k.Line, "the section is empty; list the drives to claim under allow-wwns, allow-serials or allow-models, or set allow-all-zoned: true")
	}
	if v.Kind != yaml.MappingNode {
		return fail(v.Line, "must be a mapping of %s, not %s", strings.Join(driveKeys, ", "), kindName(v))
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		kk, vv := v.Content[i], deref(v.Content[i+1])
		key := kk.Value
		if first, ok := seen[key]; ok {
			return fail(kk.Line, "%s is set twice (first on line %d)", key, first)
		}
		seen[key] = kk.Line
		var err error
		switch key {
		case "allow-wwns":
			d.AllowWWNs, err = stringList(key, vv)
		case "allow-serials":
			d.AllowSerials, err = stringList(key, vv)
		case "allow-models":
			d.AllowModels, err = stringList(key, vv)
		case "force":
			d.Force, err = stringList(key, vv)
		case "allow-all-zoned":
			if !isNull(vv) {
				if vv.Kind != yaml.ScalarNode || vv.ShortTag() != "!!bool" {
					return fail(vv.Line, "allow-all-zoned takes true or false, not %q", vv.Value)
				}
				err = vv.Decode(&d.AllowAllZoned)
			}
		default:
			msg := fmt.Sprintf("unknown key %q", key)
			if s := closest(key, driveKeys); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			if key == "zones-per-extent" || key == "cluster" {
				msg += fmt.Sprintf("; %s is a top-level key, outside drives:", key)
			}
			return fail(kk.Line, "%s (the section takes %s)", msg, strings.Join(driveKeys, ", "))
		}
		if err != nil {
			return fail(vv.Line, "%v", err)
		}
	}
	if len(d.AllowWWNs)+len(d.AllowSerials)+len(d.AllowModels) == 0 && !d.AllowAllZoned {
		return fail(k.Line, "allows no drive; list the drives to claim under allow-wwns, allow-serials or allow-models, or set allow-all-zoned: true")
	}
	return d, nil
}

// stringList reads a list of scalars. Each entry is taken as written, so a
// WWN or a serial made of digits keeps its spelling. A single scalar is not
// taken for a list of one: an unquoted glob or WWN is easy to misread.
func stringList(key string, v *yaml.Node) ([]string, error) {
	if isNull(v) {
		return nil, nil
	}
	if v.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s takes a list ([a, b], or one \"- a\" line per entry), not %s", key, kindName(v))
	}
	out := make([]string, 0, len(v.Content))
	for _, e := range v.Content {
		e = deref(e)
		if e.Kind != yaml.ScalarNode || isNull(e) {
			return nil, fmt.Errorf("%s: line %d: each entry must be a single value, not %s", key, e.Line, kindName(e))
		}
		out = append(out, e.Value)
	}
	return out, nil
}

// Flags are the flags File.Apply sets; *cli.Context is one.
type Flags interface {
	// IsSet reports whether the flag was given on the command line or
	// through its environment variable.
	IsSet(name string) bool
	// Set sets the flag as --name value would.
	Set(name, value string) error
}

// Apply sets each flag the file gives that was given neither on the command
// line nor through its environment variable, so a flag wins over its
// environment variable, which wins over the file, which wins over the
// flag's default. A value the flag does not accept is an error naming the
// key and its line.
func (f *File) Apply(fl Flags) error {
	for _, s := range f.Settings {
		if fl.IsSet(s.Name) {
			continue
		}
		if err := fl.Set(s.Name, s.Value); err != nil {
			return fmt.Errorf("config %s line %d: %s: %q is not a valid value (%v)", f.Path, s.Line, s.Name, s.Value, err)
		}
	}
	return nil
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// kindName says what a node is, for errors.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "an empty value"
		}
		return fmt.Sprintf("the value %q", n.Value)
	}
	return "that"
}

// closest returns the candidate within two edits of key, if one is.
func closest(key string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := editDistance(key, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
