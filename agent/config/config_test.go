package config_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/shingle-storage/shingle/agent/config"
	"github.com/shingle-storage/shingle/agent/discover"
	"github.com/shingle-storage/shingle/agent/label"
)

// flags are the flag names the tests' files may set.
var flags = []string{"addr", "cluster", "zones-per-extent", "shutdown-timeout", "host-id", "rack", "log-level"}

func TestParse(t *testing.T) {
	f, err := config.Parse("agent.yaml", []byte(`# a comment
addr: 0.0.0.0:7400
cluster: 6f1c2a9e-0d4b-4c8e-9a71-3b5e2d8f4c10
zones-per-extent: 0x4
host-id: 007
rack: "r12"
shutdown-timeout: 45s
log-level:
drives:
  allow-wwns: [0x5000cca2a1b2c3d4, "naa.5000CCA2A1B2C3D5"]
  allow-serials:
    - 00012345
    - ZA1234
  allow-models: ["HGST HSH72*"]
  allow-all-zoned: true
  force: [0x5000cca2a1b2c3d4]
`), flags)
	if err != nil {
		t.Fatal(err)
	}
	want := []config.Setting{
		{Name: "addr", Value: "0.0.0.0:7400", Line: 2},
		{Name: "cluster", Value: "6f1c2a9e-0d4b-4c8e-9a71-3b5e2d8f4c10", Line: 3},
		{Name: "zones-per-extent", Value: "0x4", Line: 4},
		{Name: "host-id", Value: "007", Line: 5}, // as written, not the number 7
		{Name: "rack", Value: "r12", Line: 6},
		{Name: "shutdown-timeout", Value: "45s", Line: 7},
		// log-level: with no value is as if it were absent.
	}
	if !reflect.DeepEqual(f.Settings, want) {
		t.Errorf("settings\n got %+v\nwant %+v", f.Settings, want)
	}
	cluster := label.ID{1}
	wantPolicy := discover.Policy{
		Cluster:       cluster,
		AllowWWNs:     []string{"0x5000cca2a1b2c3d4", "naa.5000CCA2A1B2C3D5"},
		AllowSerials:  []string{"00012345", "ZA1234"}, // leading zeros kept
		AllowModels:   []string{"HGST HSH72*"},
		AllowAllZoned: true,
		Force:         []string{"0x5000cca2a1b2c3d4"},
	}
	if f.Drives == nil || f.Drives.Line != 9 {
		t.Fatalf("drives %+v, want the section of line 9", f.Drives)
	}
	p := f.Drives.Policy(cluster)
	if !reflect.DeepEqual(p, wantPolicy) {
		t.Errorf("policy\n got %+v\nwant %+v", p, wantPolicy)
	}
	if err := p.Validate(); err != nil {
		t.Error(err)
	}
}

func TestParseEmpty(t *testing.T) {
	for _, text := range []string{"", "# only a comment\n", "---\n", "{}\n"} {
		f, err := config.Parse("agent.yaml", []byte(text), flags)
		if err != nil || len(f.Settings) != 0 || f.Drives != nil {
			t.Errorf("%q: %+v, %v; want an empty config", text, f, err)
		}
	}
}

// TestParseRefuses checks that every mistake is an error that names the
// key and its line, and says what to write instead.
func TestParseRefuses(t *testing.T) {
	tests := []struct {
		name, text string
		says       []string
	}{
		{"typo", "addr: x\nadr: y\n", []string{"line 2", `unknown key "adr"`, `did you mean "addr"?`}},
		{"unknown", "color: blue\n", []string{"line 1", `unknown key "color"`, "agent --help"}},
		{"flag-with-dashes", "--addr: x\n", []string{`unknown key "--addr"`, `did you mean "addr"?`}},
		{"drive-key-at-top", "allow-all-zoned: true\n", []string{`unknown key "allow-all-zoned"`, "belongs under drives:"}},
		{"drives-typo", "drives:\n  allow-wwn: [0x5000cca2a1b2c3d4]\n", []string{"line 2", `drives: unknown key "allow-wwn"`, `did you mean "allow-wwns"?`}},
		{"drives-top-level-key", "drives:\n  allow-all-zoned: true\n  zones-per-extent: 2\n", []string{"line 3", `unknown key "zones-per-extent"`, "top-level key"}},
		{"drives-cluster", "drives:\n  allow-all-zoned: true\n  cluster: x\n", []string{"line 3", `unknown key "cluster"`, "top-level key"}},
		{"config", "config: other.yaml\n", []string{"line 1", "config cannot be set in a config file"}},
		{"twice", "addr: a\nrack: r\naddr: b\n", []string{"line 3", "addr is set twice (first on line 1)"}},
		{"drives-twice", "drives:\n  force: []\n  allow-all-zoned: true\n  force: []\n", []string{"line 4", "force is set twice"}},
		{"list", "addr: [a, b]\n", []string{"line 1", "addr takes a single value, not a list"}},
		{"mapping", "rack:\n  name: r1\n", []string{"line 2", "rack takes a single value, not a mapping"}},
		{"not-a-mapping", "- addr\n", []string{"line 1", "must be a mapping"}},
		{"drives-empty", "drives:\n", []string{"line 1", "drives: the section is empty"}},
		{"drives-scalar", "drives: all\n", []string{"line 1", "drives: must be a mapping"}},
		{"drives-no-allow", "drives:\n  force: [ZA1234]\n", []string{"line 1", "drives: allows no drive", "allow-all-zoned: true"}},
		{"wwns-scalar", "drives:\n  allow-wwns: 0x5000cca2a1b2c3d4\n", []string{"line 2", "allow-wwns takes a list"}},
		{"wwns-nested", "drives:\n  allow-wwns:\n    - [a]\n", []string{"line 3", "each entry must be a single value"}},
		{"all-zoned-yes", "drives:\n  allow-all-zoned: yes\n", []string{"line 2", `allow-all-zoned takes true or false, not "yes"`}},
		{"two-documents", "addr: a\n---\nrack: r\n", []string{"second YAML document"}},
		{"syntax", "addr: [a\n", []string{"config agent.yaml:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse("agent.yaml", []byte(tc.text), flags)
			if err == nil {
				t.Fatalf("%q parsed", tc.text)
			}
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
}

// fakeFlags records what Apply sets.
type fakeFlags struct {
	set    map[string]bool // given on the command line or in the environment
	values map[string]string
	bad    string // a flag that refuses every value
}

func (f *fakeFlags) IsSet(name string) bool { return f.set[name] }

func (f *fakeFlags) Set(name, value string) error {
	if name == f.bad {
		return errors.New("parse error")
	}
	f.values[name] = value
	return nil
}

func TestApply(t *testing.T) {
	file, err := config.Parse("agent.yaml", []byte("addr: from-file\nrack: from-file\nhost-id: from-file\n"), flags)
	if err != nil {
		t.Fatal(err)
	}
	fl := &fakeFlags{set: map[string]bool{"rack": true}, values: map[string]string{}}
	if err := file.Apply(fl); err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"addr": "from-file", "host-id": "from-file"}; !reflect.DeepEqual(fl.values, want) {
		t.Errorf("set %v, want %v (rack was given already)", fl.values, want)
	}

	fl = &fakeFlags{values: map[string]string{}, bad: "host-id"}
	err = file.Apply(fl)
	if err == nil || !strings.Contains(err.Error(), `config agent.yaml line 3: host-id: "from-file" is not a valid value (parse error)`) {
		t.Errorf("Apply of a bad value: %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := config.Load(t.TempDir()+"/agent.yaml", flags)
	if err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("Load of a missing file: %v", err)
	}
}
