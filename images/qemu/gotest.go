package qemu

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Tests that need a real kernel run the TestKernel* tests of their own
// package inside the guest: the package's test binary, built with a build
// tag that keeps those tests out of ordinary runs. BuildGuestTest and
// CheckGuestTest are the two halves every such test shares.

// BuildGuestTest builds the test binary of package pkg with the build tag
// tag (static: CGO off) into dir and returns its path. It also makes go
// test's result cache track the binary's sources, which only the child go
// command compiles: reading a directory records the size and modification
// time of every file in it, so editing a guest test reruns the host test.
func BuildGuestTest(t testing.TB, pkg, tag, dir string) string {
	t.Helper()
	goBin, err := exec.LookPath("go") // go test puts its own GOROOT/bin first in PATH
	if err != nil {
		t.Fatalf("the go command is needed to build the guest test binary: %v", err)
	}
	bin := filepath.Join(dir, filepath.Base(pkg)+".test")
	build := exec.Command(goBin, "test", "-c", "-tags", tag, "-o", bin, pkg)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the guest test binary of %s: %v\n%s", pkg, err, out)
	}
	list := exec.Command(goBin, "list", "-deps", "-test", "-tags", tag,
		"-f", "{{if not .Standard}}{{.Dir}}{{end}}", pkg)
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list of the guest test's packages: %v", err)
	}
	for _, d := range strings.Fields(string(out)) {
		if _, err := os.ReadDir(d); err != nil {
			t.Fatal(err)
		}
	}
	return bin
}

// CheckGuestTest fails t unless the guest ran a test binary (built with
// tag) to success: exit status 0, no failed test, PASS printed, and at
// least one test run. The console is logged on failure unless it was
// streamed already (verbose runs).
func CheckGuestTest(t testing.TB, res Result, tag string) {
	t.Helper()
	t.Logf("guest finished in %v with exit code %d", res.Elapsed.Round(time.Second), res.ExitCode)
	var problems []string
	if res.ExitCode != 0 {
		problems = append(problems, fmt.Sprintf("the guest exited with status %d", res.ExitCode))
	}
	if strings.Contains(res.Console, "--- FAIL") {
		problems = append(problems, "a guest test failed (--- FAIL)")
	}
	if !regexp.MustCompile(`(?m)^PASS$`).MatchString(res.Console) {
		problems = append(problems, "the guest test binary did not print PASS")
	}
	if strings.Contains(res.Console, "testing: warning: no tests to run") {
		problems = append(problems, fmt.Sprintf("no TestKernel* tests ran in the guest (are they in a file with the %s build tag?)", tag))
	}
	if len(problems) > 0 {
		if !testing.Verbose() {
			t.Logf("guest console:\n%s", res.Console)
		}
		t.Fatal(strings.Join(problems, "; "))
	}
}
