package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// InstallHint is the command that installs everything Run needs on a
// Debian or Ubuntu host.
const InstallHint = "apt-get install -y qemu-system-x86 linux-image-amd64 busybox-static"

// Defaults applied by Run to the zero fields of a Config.
const (
	DefaultMemoryMB = 1024
	DefaultCPUs     = 2
	DefaultTimeout  = 10 * time.Minute
	DefaultBusybox  = "/bin/busybox"
)

// Config describes one boot of a guest. Only Script is required.
type Config struct {
	// Kernel is the path of the kernel image (a bzImage) to boot. The
	// default is the newest /boot/vmlinuz-* by version.
	Kernel string

	// ModulesDir is the kernel's modules directory, of the form
	// ROOT/lib/modules/VERSION. The default is /lib/modules/VERSION, with
	// the version read from the kernel image's header.
	ModulesDir string

	// Modules are the names of kernel modules to load, in order, before
	// Script runs, such as "null_blk" and "nvme". Their dependencies are
	// found with modprobe on the host and loaded first. A module named here
	// that fails to load fails the run; a dependency that fails to load
	// only prints a warning.
	Modules []string

	// OptionalModules are loaded like Modules, but one that fails to
	// load only prints a warning: drivers for hardware a machine may not
	// have, in an image that boots many kinds (images/pxe).
	OptionalModules []string

	// ModuleParams maps a module name to its parameters, as they would
	// follow the module on an insmod command line ("nr_devices=1
	// zoned=1"). They are pasted into the init script unquoted. Naming a
	// module that is not loaded is an error.
	ModuleParams map[string]string

	// Files maps absolute guest paths to host files or directory trees to
	// copy there, with their permission bits; symlinks on the host are
	// followed. Programs among them must be statically linked (such as a Go
	// binary built with CGO_ENABLED=0); use Binaries for others.
	Files map[string]string

	// Binaries are absolute host paths of programs, static or dynamically
	// linked, to copy to the same paths in the guest. For a dynamically
	// linked one the loader and the shared libraries that ldd reports are
	// copied too, so it runs in the guest.
	Binaries []string

	// Script is the shell script to run in the guest once setup is done,
	// with busybox sh as root, the initramfs as its root filesystem, /proc,
	// /sys, /dev (devtmpfs), /tmp (tmpfs) and, if the kernel has it,
	// configfs at /sys/kernel/config mounted. Its exit status becomes
	// Result.ExitCode. It may call waitfor PATH... to wait up to a minute
	// for device nodes that drivers create asynchronously.
	Script string

	// KernelArgs are appended to the kernel command line, after
	// "console=ttyS0 panic=-1 quiet".
	KernelArgs []string

	// QEMUArgs are appended to QEMU's command line, such as -drive and
	// -device options that attach storage.
	QEMUArgs []string

	// MemoryMB is the guest's memory size. The initramfs and anything
	// written to /tmp or to a memory-backed device live in it. The
	// default is DefaultMemoryMB.
	MemoryMB int

	// CPUs is the number of guest CPUs. The default is DefaultCPUs.
	CPUs int

	// Timeout bounds the whole run, boot to power-off; QEMU is killed when
	// it expires and Run returns an error saying so. The default is
	// DefaultTimeout.
	Timeout time.Duration

	// Stdout, if not nil, receives the guest's serial console as it
	// arrives, with carriage returns removed, for progress in long runs.
	Stdout io.Writer

	// Reboot makes the guest reboot, 30 seconds after the script returns
	// or setup fails, where it would power off: for hosts that boot from
	// the network (images/pxe), which should try again rather than wait
	// for a person. Run does not use it.
	Reboot bool

	// Busybox is the host path of a statically linked busybox, which
	// provides the guest's shell and commands. The default is
	// DefaultBusybox, as installed by Debian's busybox-static.
	Busybox string
}

// Result is the outcome of a guest that ran its script to completion.
type Result struct {
	// ExitCode is the exit status of Config.Script in the guest.
	ExitCode int
	// Console is everything the guest printed on its serial console:
	// kernel messages and the script's standard output and error, with
	// carriage returns removed.
	Console string
	// Elapsed is the wall time from starting QEMU to its exit.
	Elapsed time.Duration
}

// tailLines is how many console lines an error quotes.
const tailLines = 40

// Run boots a guest as cfg describes and waits for its script to finish
// and the guest to power off. It returns an error, and no Result, if the
// host lacks QEMU, the kernel or busybox, if the initramfs cannot be built,
// if setup in the guest fails, or if the guest stops or times out without
// reporting the script's exit status; a script that fails is not an error
// but a Result with a non-zero ExitCode.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := applyDefaults(&cfg); err != nil {
		return Result{}, err
	}
	qemuBin, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		return Result{}, fmt.Errorf("qemu-system-x86_64 not found in PATH; install it: %s", InstallHint)
	}
	if _, err := os.Stat(cfg.Busybox); err != nil {
		return Result{}, fmt.Errorf("busybox: %w; install it: apt-get install -y busybox-static", err)
	}

	dir, err := os.MkdirTemp("", "shingle-qemu-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	initrd := filepath.Join(dir, "initramfs.cpio.gz")
	f, err := os.Create(initrd)
	if err != nil {
		return Result{}, err
	}
	err = WriteInitramfs(cfg, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Result{}, err
	}

	runCtx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, qemuBin, qemuArgs(&cfg, initrd)...)
	cmd.WaitDelay = 5 * time.Second
	console := &consoleWriter{stream: cfg.Stdout}
	var stderr bytes.Buffer
	cmd.Stdout = console
	cmd.Stderr = &stderr
	start := time.Now()
	runErr := cmd.Run()
	res := Result{Console: console.String(), Elapsed: time.Since(start)}

	code, markerErr := parseConsole(res.Console)
	if markerErr == nil {
		res.ExitCode = code
		return res, nil
	}
	var why string
	switch {
	case errors.Is(markerErr, errSetupFailed):
		why = "qemu"
	case ctx.Err() != nil:
		return Result{}, fmt.Errorf("qemu: %w", ctx.Err())
	case errors.Is(runCtx.Err(), context.DeadlineExceeded):
		why = fmt.Sprintf("guest did not finish within %v; QEMU was killed", cfg.Timeout)
	case strings.Contains(res.Console, "Kernel panic"):
		why = "the guest kernel panicked"
	case runErr != nil:
		why = fmt.Sprintf("qemu: %v", runErr)
	default:
		why = "qemu exited"
	}
	msg := fmt.Sprintf("%s: %v", why, markerErr)
	if s := strings.TrimSpace(stderr.String()); s != "" {
		msg += "\nqemu stderr:\n" + s
	}
	if strings.TrimSpace(res.Console) == "" {
		msg += "\nthe guest printed nothing on its console"
	} else {
		msg += fmt.Sprintf("\nlast %d console lines:\n%s", tailLines, tail(res.Console, tailLines))
	}
	return Result{}, errors.New(msg)
}

// qemuArgs returns QEMU's command line for cfg and initramfs initrd.
func qemuArgs(cfg *Config, initrd string) []string {
	appendLine := strings.Join(append([]string{"console=ttyS0", "panic=-1", "quiet"}, cfg.KernelArgs...), " ")
	args := []string{
		"-accel", "tcg",
		// "max" offers every instruction TCG emulates, so the kernel's
		// accelerated crypto and CRC drivers load as on real hardware.
		"-cpu", "max",
		"-m", strconv.Itoa(cfg.MemoryMB),
		"-smp", strconv.Itoa(cfg.CPUs),
		// No default NIC, VGA, floppy or CD-ROM: nothing to probe, and no
		// ROM files needed.
		"-nodefaults", "-no-user-config",
		"-display", "none",
		"-serial", "stdio",
		"-monitor", "none",
		"-no-reboot",
		"-kernel", cfg.Kernel,
		"-initrd", initrd,
		"-append", appendLine,
	}
	return append(args, cfg.QEMUArgs...)
}

// applyDefaults fills in the zero fields of cfg and checks the kernel.
func applyDefaults(cfg *Config) error {
	if cfg.MemoryMB <= 0 {
		cfg.MemoryMB = DefaultMemoryMB
	}
	if cfg.CPUs <= 0 {
		cfg.CPUs = DefaultCPUs
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Busybox == "" {
		cfg.Busybox = DefaultBusybox
	}
	if cfg.Kernel == "" {
		k, err := newestKernel("/boot")
		if err != nil {
			return err
		}
		cfg.Kernel = k
	}
	f, err := os.Open(cfg.Kernel)
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return fmt.Errorf("kernel: %w (some distributions install kernels readable only by root)", err)
		}
		return fmt.Errorf("kernel: %w; install one: %s", err, InstallHint)
	}
	defer f.Close()
	if cfg.ModulesDir == "" {
		version, err := kernelVersion(f)
		if err != nil {
			// Fall back to the name Debian and most distributions use.
			v, ok := strings.CutPrefix(filepath.Base(cfg.Kernel), "vmlinuz-")
			if !ok {
				return fmt.Errorf("kernel %s: %v; set Config.ModulesDir", cfg.Kernel, err)
			}
			version = v
		}
		cfg.ModulesDir = "/lib/modules/" + version
		if _, err := os.Stat(cfg.ModulesDir); err != nil && len(cfg.Modules)+len(cfg.OptionalModules) > 0 {
			return fmt.Errorf("modules of kernel %s: %w; install them: %s", cfg.Kernel, err, InstallHint)
		}
	}
	return nil
}

// newestKernel returns the /boot/vmlinuz-* in dir with the highest version.
func newestKernel(dir string) (string, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "vmlinuz-*"))
	if err != nil {
		return "", err
	}
	if len(matches) == 0 {
		return "", fmt.Errorf("no kernel found (looked for %s/vmlinuz-*); install one: %s", dir, InstallHint)
	}
	slices.SortFunc(matches, func(a, b string) int {
		return compareVersions(strings.TrimPrefix(filepath.Base(a), "vmlinuz-"), strings.TrimPrefix(filepath.Base(b), "vmlinuz-"))
	})
	return matches[len(matches)-1], nil
}

// versionPart splits a version into runs of digits and of other characters.
var versionPart = regexp.MustCompile(`\d+|\D+`)

// compareVersions orders kernel release strings such as "6.1.0-9-amd64"
// and "6.1.0-56-amd64" by comparing runs of digits numerically.
func compareVersions(a, b string) int {
	pa, pb := versionPart.FindAllString(a, -1), versionPart.FindAllString(b, -1)
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, errx := strconv.ParseUint(pa[i], 10, 64)
		y, erry := strconv.ParseUint(pb[i], 10, 64)
		if errx == nil && erry == nil {
			if x != y {
				if x < y {
					return -1
				}
				return 1
			}
			continue
		}
		if c := strings.Compare(pa[i], pb[i]); c != 0 {
			return c
		}
	}
	return len(pa) - len(pb)
}

// kernelVersion reads the release string ("6.1.0-56-amd64") from an x86
// bzImage's setup header (Documentation/arch/x86/boot.rst): the header
// magic "HdrS" at 0x202 and, at 0x20E, the offset minus 0x200 of a
// NUL-terminated string that starts with the release.
func kernelVersion(r io.ReaderAt) (string, error) {
	var hdr [16]byte
	if _, err := r.ReadAt(hdr[:], 0x202); err != nil {
		return "", fmt.Errorf("reading boot header: %w", err)
	}
	if string(hdr[:4]) != "HdrS" {
		return "", errors.New("not a bzImage (no HdrS boot header)")
	}
	off := int64(hdr[12]) | int64(hdr[13])<<8
	var s [256]byte
	n, err := r.ReadAt(s[:], off+0x200)
	if n == 0 {
		return "", fmt.Errorf("reading kernel version string: %w", err)
	}
	v, _, _ := strings.Cut(string(s[:n]), " ")
	if v == "" {
		return "", errors.New("empty kernel version string")
	}
	return v, nil
}

// exitLine and setupLine find the init's markers. Kernel messages can share
// a line with guest output, so they are not anchored at the line start.
var (
	exitLine  = regexp.MustCompile(regexp.QuoteMeta(exitMarker) + `(\d+)\s*$`)
	setupLine = regexp.MustCompile(regexp.QuoteMeta(setupMarker) + ` (.*)$`)
)

// parseConsole finds the script's exit status in the console output.
func parseConsole(console string) (int, error) {
	lines := strings.Split(console, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if m := exitLine.FindStringSubmatch(lines[i]); m != nil {
			code, err := strconv.Atoi(m[1])
			if err != nil {
				return 0, fmt.Errorf("bad exit marker %q", lines[i])
			}
			return code, nil
		}
		if m := setupLine.FindStringSubmatch(lines[i]); m != nil {
			return 0, fmt.Errorf("%w: %s", errSetupFailed, strings.TrimSpace(m[1]))
		}
	}
	return 0, errNoMarker
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// consoleWriter collects the serial console with carriage returns removed
// and copies it to stream, if any. A failing stream is dropped rather than
// failing the run.
type consoleWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	stream io.Writer
}

func (c *consoleWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	clean := bytes.ReplaceAll(p, []byte("\r"), nil)
	c.buf.Write(clean)
	if c.stream != nil && len(clean) > 0 {
		if _, err := c.stream.Write(clean); err != nil {
			c.stream = nil
		}
	}
	return len(p), nil
}

func (c *consoleWriter) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}
