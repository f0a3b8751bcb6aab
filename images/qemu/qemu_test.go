//go:build qemu

package qemu

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// These tests boot a virtual machine, which takes a few seconds under TCG.
// Run them with: go test -tags qemu -v ./images/qemu/
// A host without QEMU, a kernel or busybox fails them; it does not skip.

func run(t *testing.T, script string) Result {
	t.Helper()
	cfg := Config{Script: script, Timeout: 5 * time.Minute}
	if testing.Verbose() {
		cfg.Stdout = os.Stdout
	}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("guest ran in %v", res.Elapsed.Round(time.Millisecond))
	return res
}

func TestRunExitZero(t *testing.T) {
	res := run(t, `echo "hello from $(uname -r)"; test -c /dev/null && test -d /proc/self`)
	if res.ExitCode != 0 {
		t.Errorf("exit code %d, want 0\n%s", res.ExitCode, res.Console)
	}
	if !strings.Contains(res.Console, "hello from ") {
		t.Errorf("console lacks the script's output:\n%s", res.Console)
	}
}

func TestRunExitCode(t *testing.T) {
	res := run(t, `echo about to fail; exit 3`)
	if res.ExitCode != 3 {
		t.Errorf("exit code %d, want 3\n%s", res.ExitCode, res.Console)
	}
}

func TestRunModulesAndBinaries(t *testing.T) {
	cfg := Config{
		Modules:      []string{"null_blk"},
		ModuleParams: map[string]string{"null_blk": "nr_devices=1 gb=1 zoned=1 zone_size=64"},
		Binaries:     []string{"/usr/sbin/blkzone"},
		Script: `waitfor /dev/nullb0 || exit 1
cat /sys/block/nullb0/queue/zoned
blkzone report -c 1 /dev/nullb0`,
		Timeout: 5 * time.Minute,
	}
	if testing.Verbose() {
		cfg.Stdout = os.Stdout
	}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("exit code %d\n%s", res.ExitCode, res.Console)
	}
	for _, want := range []string{"host-managed", "start: 0x000000000"} {
		if !strings.Contains(res.Console, want) {
			t.Errorf("console lacks %q:\n%s", want, res.Console)
		}
	}
}

func TestRunTimeout(t *testing.T) {
	_, err := Run(context.Background(), Config{Script: "sleep 600", Timeout: 20 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "did not finish within 20s") {
		t.Fatalf("err = %v, want a timeout", err)
	}
}
