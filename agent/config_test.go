package main

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/shingle-storage/shingle/agent/config"
	"github.com/shingle-storage/shingle/agent/discover"
	"github.com/shingle-storage/shingle/agent/server"
)

// writeConfig writes a config file and returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "agent.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// clearAgentEnv unsets, for the test, every environment variable the
// agent reads, so the caller's settings do not leak in.
func clearAgentEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "SHINGLE_AGENT_") || name == "SHINGLE_CA" {
			t.Setenv(name, "") // restored after the test
			os.Unsetenv(name)
		}
	}
}

// resolved runs the agent's command line with args, applying the config
// file as the agent does, and returns the flags' values after it.
func resolved(t *testing.T, args ...string) (map[string]string, *config.File, error) {
	t.Helper()
	app := newApp()
	app.Writer, app.ErrWriter = &bytes.Buffer{}, &bytes.Buffer{}
	var values map[string]string
	var file *config.File
	app.Action = func(c *cli.Context) error {
		var err error
		if file, err = applyConfig(c); err != nil {
			return err
		}
		values = map[string]string{}
		for _, f := range c.App.Flags {
			name := f.Names()[0]
			values[name] = fmt.Sprint(c.Value(name))
		}
		return nil
	}
	err := app.Run(append([]string{"agent"}, args...))
	return values, file, err
}

// TestConfigPrecedence: a flag wins over its environment variable, which
// wins over the config file, which wins over the default.
func TestConfigPrecedence(t *testing.T) {
	clearAgentEnv(t)
	path := writeConfig(t, `
addr: 10.0.0.1:7400
rack: file-rack
host-id: file-host
log-level: warn
zones-per-extent: 2
shutdown-timeout: 45s
`)
	t.Setenv("SHINGLE_AGENT_RACK", "env-rack")
	t.Setenv("SHINGLE_AGENT_HOST_ID", "env-host")
	t.Setenv("SHINGLE_AGENT_CONFIG", path)
	values, file, err := resolved(t, "--rack", "flag-rack", "--log-level", "debug")
	if err != nil {
		t.Fatal(err)
	}
	if file == nil || file.Path != path {
		t.Fatalf("SHINGLE_AGENT_CONFIG did not name the config file: %+v", file)
	}
	for name, want := range map[string]string{
		"rack":             "flag-rack",     // flag, environment and file
		"log-level":        "debug",         // flag and file
		"host-id":          "env-host",      // environment and file
		"addr":             "10.0.0.1:7400", // file only
		"zones-per-extent": "2",
		"shutdown-timeout": (45 * time.Second).String(),
		"dev-drive-count":  "3", // default only
		"cluster":          "",
	} {
		if got := values[name]; got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}

	// --config on the command line wins over SHINGLE_AGENT_CONFIG.
	other := writeConfig(t, "addr: 10.0.0.2:7400\n")
	values, _, err = resolved(t, "--config", other)
	if err != nil {
		t.Fatal(err)
	}
	if values["addr"] != "10.0.0.2:7400" || values["rack"] != "env-rack" {
		t.Errorf("with --config %s: addr %q, rack %q", other, values["addr"], values["rack"])
	}
}

// TestConfigBadValue: a value its flag does not take is an error naming
// the key and its line.
func TestConfigBadValue(t *testing.T) {
	clearAgentEnv(t)
	_, _, err := resolved(t, "--config", writeConfig(t, "addr: a\nzones-per-extent: four\n"))
	if err == nil || !strings.Contains(err.Error(), `line 2: zones-per-extent: "four" is not a valid value`) {
		t.Errorf("bad value: %v", err)
	}
}

// runAgent runs the agent's real action in this process; the tests that
// use it stop before any drive is opened.
func runAgent(t *testing.T, args ...string) error {
	t.Helper()
	app := newApp()
	app.Writer, app.ErrWriter = &bytes.Buffer{}, &bytes.Buffer{}
	app.ExitErrHandler = func(*cli.Context, error) {} // return exit errors instead of exiting
	return app.Run(append([]string{"agent"}, args...))
}

// wantExit checks that err is a usage error (exit status 2) saying each of
// says.
func wantExit(t *testing.T, err error, says ...string) {
	t.Helper()
	var exit cli.ExitCoder
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("got %v; want a usage error (exit status 2)", err)
	}
	for _, s := range says {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
}

// TestConfigUnknownKeyRefused: the agent does not start with a misspelt
// key, and says which.
func TestConfigUnknownKeyRefused(t *testing.T) {
	clearAgentEnv(t)
	path := writeConfig(t, "addr: 127.0.0.1:0\nshutdown-timout: 10s\n")
	err := runAgent(t, "--config", path, "--ca", "ca.pem", "--cert", "a.pem", "--key", "a-key.pem", "--dev-drives", t.TempDir())
	wantExit(t, err, path+" line 2", `unknown key "shutdown-timout"`, `did you mean "shutdown-timeout"?`)
}

// TestConfigRequiredFlags: --ca, --cert and --key may come from any
// source, but must come from one.
func TestConfigRequiredFlags(t *testing.T) {
	clearAgentEnv(t)
	err := runAgent(t, "--config", writeConfig(t, "cert: a.pem\nkey: a-key.pem\n"), "--dev-drives", t.TempDir())
	wantExit(t, err, "--ca is required", "SHINGLE_AGENT_CA or SHINGLE_CA", "ca: in --config")
}

// TestConfigDrivesNeedCluster: real drives are not claimed without the
// cluster id to tell this cluster's drives from others'.
func TestConfigDrivesNeedCluster(t *testing.T) {
	clearAgentEnv(t)
	openRealDrives = func(server.RealDrives, *slog.Logger) ([]*server.Drive, error) {
		t.Fatal("drives opened")
		return nil, nil
	}
	t.Cleanup(func() {
		openRealDrives = func(rd server.RealDrives, log *slog.Logger) ([]*server.Drive, error) { return rd.Open(log) }
	})
	path := writeConfig(t, "ca: ca.pem\ncert: a.pem\nkey: a-key.pem\ndrives:\n  allow-all-zoned: true\n")
	wantExit(t, runAgent(t, "--config", path), "drives: section needs this cluster's id", "cluster:")

	path = writeConfig(t, "ca: ca.pem\ncert: a.pem\nkey: a-key.pem\ncluster: 6f1c2a9e-0d4b-4c8e-9a71-3b5e2d8f4c10\ndrives:\n  allow-serials: [/dev/sdb]\n")
	wantExit(t, runAgent(t, "--config", path), path+" line 5: drives:", `"/dev/sdb" is a kernel device name`)
}

// TestConfigRealDrives: a config with a drives: section and no
// --dev-drives claims real drives with the policy it describes.
func TestConfigRealDrives(t *testing.T) {
	clearAgentEnv(t)
	var got server.RealDrives
	stop := errors.New("stop before the drives are touched")
	openRealDrives = func(rd server.RealDrives, _ *slog.Logger) ([]*server.Drive, error) {
		got = rd
		return nil, stop
	}
	t.Cleanup(func() {
		openRealDrives = func(rd server.RealDrives, log *slog.Logger) ([]*server.Drive, error) { return rd.Open(log) }
	})
	path := writeConfig(t, `ca: ca.pem
cert: a.pem
key: a-key.pem
zones-per-extent: 8
drives:
  allow-wwns: ["0x5000cca2a1b2c3d4"]
  allow-models: ["HGST HSH72*"]
  force: [ZA1234]
`)
	err := runAgent(t, "--config", path, "--cluster", "6f1c2a9e-0d4b-4c8e-9a71-3b5e2d8f4c10", "--log-level", "error")
	if !errors.Is(err, stop) {
		t.Fatalf("run: %v", err)
	}
	cluster, _ := server.ParseID("6f1c2a9e-0d4b-4c8e-9a71-3b5e2d8f4c10")
	want := server.RealDrives{ZonesPerExtent: 8, Policy: discover.Policy{Cluster: cluster,
		AllowWWNs: []string{"0x5000cca2a1b2c3d4"}, AllowModels: []string{"HGST HSH72*"}, Force: []string{"ZA1234"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("real drives\n got %+v\nwant %+v", got, want)
	}
}

// TestConfigExample: agent.example.yaml loads, sets what it says, and
// explains every flag.
func TestConfigExample(t *testing.T) {
	clearAgentEnv(t)
	values, file, err := resolved(t, "--config", "agent.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"addr": "0.0.0.0:7400", "ca": "/etc/shingle/pki/ca.pem", "cluster": "6f1c2a9e-0d4b-4c8e-9a71-3b5e2d8f4c10",
		"shutdown-timeout": "30s", "log-level": "info", "zones-per-extent": "4", "join-token": "", "dev-drives": "",
	} {
		if values[name] != want {
			t.Errorf("%s = %q, want %q", name, values[name], want)
		}
	}
	cluster, _ := server.ParseID(values["cluster"])
	rd, err := realDrives(file, cluster, 4)
	if err != nil {
		t.Fatal(err)
	}
	if p := rd.Policy; len(p.AllowWWNs) != 2 || len(p.AllowSerials) != 1 || len(p.AllowModels) != 2 || p.AllowAllZoned || len(p.Force) != 0 {
		t.Errorf("example's policy: %+v", p)
	}

	text, err := os.ReadFile("agent.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"drives", "allow-wwns", "allow-serials", "allow-models", "allow-all-zoned", "force"}
	for _, f := range newApp().Flags {
		if name := f.Names()[0]; name != "config" {
			keys = append(keys, name)
		}
	}
	for _, k := range keys {
		if !regexp.MustCompile(`(?m)^\s*(# )?` + regexp.QuoteMeta(k) + `:`).Match(text) {
			t.Errorf("agent.example.yaml does not show %s", k)
		}
	}
}

// TestHelpMentionsConfig: agent --help tells of the config file, its
// environment variable, the precedence and the example.
func TestHelpMentionsConfig(t *testing.T) {
	app := newApp()
	var out bytes.Buffer
	app.Writer = &out
	if err := app.Run([]string{"agent", "--help"}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"--config value", "SHINGLE_AGENT_CONFIG", "agent.example.yaml", "drives:",
		"which wins over the file", "(required)", "allow-all-zoned"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("--help does not say %q:\n%s", s, out.String())
		}
	}
}

// TestConfigFileRunsAgent starts the agent binary with nothing but
// --config: it serves from the settings in the file and stops cleanly on
// SIGTERM.
func TestConfigFileRunsAgent(t *testing.T) {
	c := newCerts(t)
	dir := t.TempDir()
	path := writeConfig(t, "addr: 127.0.0.1:0\nca: "+c.agent.CA+"\ncert: "+c.agent.Cert+"\nkey: "+c.agent.Key+"\n"+
		"dev-drives: "+dir+"\ndev-drive-count: 2\ndev-drive-size: 128MiB\ndev-zone-size: 8MiB\nzones-per-extent: 2\n"+
		"shutdown-timeout: 20s\n")
	a := startAgent(t, "--config", path)
	if !strings.Contains(a.output(), `"msg":"read config"`) {
		t.Errorf("the agent did not log the config it read:\n%s", a.output())
	}
	for _, name := range []string{"drive-00.zoned", "drive-01.zoned"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
	a.stop()
}
