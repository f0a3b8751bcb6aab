package pxe

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestIPXEScript checks the script boot.ipxe holds: the kernel and the
// initramfs from the image's URL, the kernel arguments, and the host's
// configuration URL built from the MAC of the card that booted.
func TestIPXEScript(t *testing.T) {
	s := IPXEScript("http://10.20.0.1:8080/shingle/", []string{"console=ttyS0", "panic=30"})
	for _, want := range []string{
		"#!ipxe\n",
		"\nkernel http://10.20.0.1:8080/shingle/vmlinuz initrd=initrd.img console=ttyS0 panic=30 BOOTIF=${netX/mac:hexhyp} shingle.config=http://10.20.0.1:8080/shingle/hosts/${netX/mac:hexhyp}/ || goto failed\n",
		"\ninitrd http://10.20.0.1:8080/shingle/initrd.img || goto failed\n",
		"\nboot || goto failed\n",
		"\nsleep 10\ngoto retry\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the script lacks %q:\n%s", want, s)
		}
	}
	if !strings.HasPrefix(s, "#!ipxe\n") {
		t.Errorf("the script does not start with #!ipxe, which iPXE needs to run it:\n%s", s)
	}
}

// TestBuildRefusesWhatCannotBoot checks that Build refuses a URL hosts
// could not fetch from and a missing agent, saying what to give instead,
// and writes nothing then.
func TestBuildRefusesWhatCannotBoot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	agent := filepath.Join(t.TempDir(), "shingle-agent")
	if err := os.WriteFile(agent, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		opts Options
		want string
	}{
		{"no URL", Options{Dir: dir, Agent: agent}, "not an http:// or https:// URL"},
		{"a TFTP URL", Options{Dir: dir, URL: "tftp://10.0.0.1/", Agent: agent}, "not an http:// or https:// URL"},
		{"a URL without a host", Options{Dir: dir, URL: "http:///x", Agent: agent}, "not an http:// or https:// URL"},
		{"no agent", Options{Dir: dir, URL: "http://10.0.0.1/"}, "no agent binary given"},
		{"an agent that is not there", Options{Dir: dir, URL: "http://10.0.0.1/", Agent: agent + ".missing"}, "no such file"},
		{"an agent that is not a program", Options{Dir: dir, URL: "http://10.0.0.1/", Agent: agent}, "CGO_ENABLED=0"},
		{"a dynamically linked agent", Options{Dir: dir, URL: "http://10.0.0.1/", Agent: dynamic(t)}, "dynamically linked"},
	} {
		err := Build(c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error saying %q", c.name, err, c.want)
		}
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("a refused build made %s", dir)
	}
}

// dynamic returns the path of one of the system's dynamically linked
// programs.
func dynamic(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/bin/sh", "/bin/ls", "/usr/bin/env"} {
		if checkStatic(p) != nil {
			return p
		}
	}
	t.Fatal("no dynamically linked program found in /bin or /usr/bin to test with")
	return ""
}

// TestBootScriptsParse checks that the boot sequence, the DHCP script and
// the script the image runs (both, joined) are valid shell: a syntax
// error would leave every host of a rack at a dead console.
func TestBootScriptsParse(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("no sh to check the scripts with: %v", err)
	}
	if !strings.Contains(hostScript(), "\nUDHCPC\n") || !strings.Contains(hostScript(), "shingle-agent --config") {
		t.Errorf("the host's script lacks the DHCP script's end or the agent:\n%s", hostScript())
	}
	for name, script := range map[string]string{"boot.sh": bootScript, "udhcpc.sh": string(udhcpcScript), "the host's script": hostScript()} {
		cmd := exec.Command(sh, "-n")
		cmd.Stdin = strings.NewReader(script)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s does not parse: %v\n%s", name, err, out)
		}
	}
}
