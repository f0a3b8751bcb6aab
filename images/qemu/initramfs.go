package qemu

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/shingle-storage/shingle/images/internal/cpio"
)

// Paths in the guest that the harness itself uses.
const (
	guestBusybox   = "/bin/busybox"
	guestInit      = "/init"
	guestScript    = "/script"
	guestFunctions = "/lib/shingle/functions.sh"
)

// Marker lines the init prints on the console for the host to find.
const (
	exitMarker  = "SHINGLE-GUEST-EXIT="
	setupMarker = "SHINGLE-GUEST-SETUP-FAILED:"
)

// source is the content of one regular file of the initramfs: a host file
// or bytes.
type source struct {
	hostPath string
	data     []byte
	perm     fs.FileMode
}

// image collects the members of an initramfs before it is written, so that
// a guest path claimed twice is an error rather than a silent overwrite.
type image struct {
	files    map[string]source
	symlinks map[string]string
	origin   map[string]string // guest path -> what claimed it, for errors
}

func newImage() *image {
	return &image{files: map[string]source{}, symlinks: map[string]string{}, origin: map[string]string{}}
}

func (im *image) claim(guest, what string) error {
	guest = path.Clean("/" + guest)
	if prev, ok := im.origin[guest]; ok {
		return fmt.Errorf("guest path %s is used twice: by %s and by %s", guest, prev, what)
	}
	im.origin[guest] = what
	return nil
}

func (im *image) addFile(guest string, src source, what string) error {
	if err := im.claim(guest, what); err != nil {
		return err
	}
	im.files[path.Clean("/"+guest)] = src
	return nil
}

func (im *image) addSymlink(guest, target, what string) error {
	if err := im.claim(guest, what); err != nil {
		return err
	}
	im.symlinks[path.Clean("/"+guest)] = target
	return nil
}

// addHostPath adds host file or directory tree hostPath at guest path
// guest, following symlinks and keeping permission bits.
func (im *image) addHostPath(guest, hostPath, what string) error {
	fi, err := os.Stat(hostPath)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if !fi.IsDir() {
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s: %s is not a regular file or directory", what, hostPath)
		}
		return im.addFile(guest, source{hostPath: hostPath, perm: fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)}, what)
	}
	return filepath.WalkDir(hostPath, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(hostPath, p)
		if err != nil {
			return err
		}
		return im.addHostPath(path.Join(guest, filepath.ToSlash(rel)), p, what)
	})
}

// addBinary adds the program at hostPath at the same path in the guest,
// with the dynamic loader and shared libraries it needs.
func (im *image) addBinary(hostPath string, libsDone map[string]bool) error {
	if !filepath.IsAbs(hostPath) {
		return fmt.Errorf("Binaries: %q is not an absolute path", hostPath)
	}
	what := "Binaries entry " + hostPath
	if err := im.addHostPath(hostPath, hostPath, what); err != nil {
		return err
	}
	static, err := isStatic(hostPath)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if static {
		return nil
	}
	libs, err := sharedLibraries(hostPath)
	if err != nil {
		return err
	}
	for _, lib := range libs {
		if libsDone[lib] {
			continue
		}
		libsDone[lib] = true
		if err := im.addHostPath(lib, lib, "shared library of "+hostPath); err != nil {
			return err
		}
	}
	return nil
}

// isStatic reports whether the ELF executable at p needs no dynamic loader.
func isStatic(p string) (bool, error) {
	f, err := elf.Open(p)
	if err != nil {
		return false, fmt.Errorf("not an ELF executable: %w", err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return false, nil
		}
	}
	return true, nil
}

// lddLine matches the lines of ldd's output that name a file: "libc.so.6
// => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" and "/lib64/ld-linux-x86-64.so.2
// (0x…)". The vDSO ("linux-vdso.so.1 (0x…)") has no file and no slash.
var lddLine = regexp.MustCompile(`^\s*(?:\S+\s+=>\s+)?(/\S+)\s+\(0x[0-9a-f]+\)\s*$`)

// sharedLibraries returns the absolute paths of the loader and shared
// libraries that ldd reports for the program at p.
func sharedLibraries(p string) ([]string, error) {
	ldd, err := lookPath("ldd", "/usr/bin/ldd")
	if err != nil {
		return nil, fmt.Errorf("ldd not found; it lists the shared libraries of %s: apt-get install -y libc-bin", p)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(ldd, p)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w: %s", p, err, strings.TrimSpace(stderr.String()+string(out)))
	}
	return parseLdd(p, string(out))
}

// parseLdd extracts library paths from ldd's output for program p.
func parseLdd(p, out string) ([]string, error) {
	var libs []string
	for line := range strings.Lines(out) {
		if strings.Contains(line, "=> not found") {
			return nil, fmt.Errorf("%s needs a shared library that is not installed: %s", p, strings.TrimSpace(line))
		}
		if m := lddLine.FindStringSubmatch(line); m != nil {
			libs = append(libs, m[1])
		}
	}
	return libs, nil
}

// busyboxApplets returns the install paths of the applets of the busybox
// at bin ("bin/sh", "usr/bin/dd", ...).
func busyboxApplets(bin string) ([]string, error) {
	out, err := exec.Command(bin, "--list-full").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list-full: %w", bin, err)
	}
	return strings.Fields(string(out)), nil
}

// writeArchive writes im as a gzip-compressed newc cpio archive to w.
func (im *image) writeArchive(w io.Writer) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	cw := cpio.NewWriter(zw)
	// The kernel opens /dev/console for init's standard streams before it
	// runs /init, so the node must exist before devtmpfs is mounted.
	if err := cw.AddCharDevice("dev/console", 0o600, 5, 1); err != nil {
		return err
	}
	for _, d := range []string{"proc", "sys", "tmp", "root", "etc", "mnt"} {
		perm := fs.FileMode(0o755)
		if d == "tmp" {
			perm = 0o1777
		}
		if err := cw.Mkdir(d, perm); err != nil {
			return err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(im.files)) {
		src := im.files[name]
		if err := writeSource(cw, name, src); err != nil {
			return err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(im.symlinks)) {
		if err := cw.AddSymlink(name, im.symlinks[name]); err != nil {
			return err
		}
	}
	if err := cw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

func writeSource(cw *cpio.Writer, name string, src source) error {
	if src.hostPath == "" {
		return cw.AddFile(name, src.perm, bytes.NewReader(src.data), int64(len(src.data)))
	}
	f, err := os.Open(src.hostPath)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	return cw.AddFile(name, src.perm, bufio.NewReaderSize(f, 1<<20), fi.Size())
}

// buildImage assembles the initramfs for cfg. version names the kernel's
// modules directory in the guest.
func buildImage(cfg *Config, version string, mods []module) (*image, error) {
	im := newImage()

	static, err := isStatic(cfg.Busybox)
	if err != nil {
		return nil, fmt.Errorf("busybox %s: %w (install it: apt-get install -y busybox-static)", cfg.Busybox, err)
	}
	if !static {
		return nil, fmt.Errorf("busybox %s is dynamically linked and would not run in the guest; install the static build: apt-get install -y busybox-static", cfg.Busybox)
	}
	if err := im.addHostPath(guestBusybox, cfg.Busybox, "busybox"); err != nil {
		return nil, err
	}

	loaded := map[string]bool{}
	for _, m := range mods {
		loaded[m.name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.ModuleParams)) {
		if !loaded[moduleName(name)] {
			return nil, fmt.Errorf("ModuleParams names kernel module %q, which is not in Modules or their dependencies", name)
		}
	}

	var loads []string
	for _, m := range mods {
		data, err := readModule(m.hostPath)
		if err != nil {
			return nil, fmt.Errorf("kernel module %s: %w", m.name, err)
		}
		guest := path.Join("/lib/modules", version, m.guestName())
		if err := im.addFile(guest, source{data: data, perm: 0o644}, "kernel module "+m.name); err != nil {
			return nil, err
		}
		loads = append(loads, loadCommand(guest, m, cfg.ModuleParams))
	}

	for _, guest := range slices.Sorted(maps.Keys(cfg.Files)) {
		if !path.IsAbs(guest) {
			return nil, fmt.Errorf("Files: guest path %q is not absolute", guest)
		}
		if err := im.addHostPath(guest, cfg.Files[guest], "Files entry "+guest); err != nil {
			return nil, err
		}
	}
	libs := map[string]bool{}
	for _, bin := range cfg.Binaries {
		if err := im.addBinary(bin, libs); err != nil {
			return nil, err
		}
	}

	if err := im.addFile(guestInit, source{data: []byte(initScript(loads, cfg.Reboot)), perm: 0o755}, "the init script"); err != nil {
		return nil, err
	}
	if err := im.addFile(guestFunctions, source{data: []byte(functions), perm: 0o644}, "the script helpers"); err != nil {
		return nil, err
	}
	script := "#!/bin/sh\n. " + guestFunctions + "\n" + cfg.Script + "\n"
	if err := im.addFile(guestScript, source{data: []byte(script), perm: 0o755}, "the script"); err != nil {
		return nil, err
	}

	applets, err := busyboxApplets(cfg.Busybox)
	if err != nil {
		return nil, err
	}
	for _, a := range applets {
		a = path.Clean("/" + a)
		if _, taken := im.origin[a]; taken {
			continue // a file of Files or Binaries takes precedence
		}
		if err := im.addSymlink(a, guestBusybox, "busybox applet"); err != nil {
			return nil, err
		}
	}
	return im, nil
}

// loadCommand returns the init's shell command that loads m.
func loadCommand(guest string, m module, params map[string]string) string {
	cmd := "insmod " + guest
	for _, name := range slices.Sorted(maps.Keys(params)) {
		if p := strings.TrimSpace(params[name]); moduleName(name) == m.name && p != "" {
			cmd += " " + p
		}
	}
	if m.explicit {
		return cmd + " || setup_failed 'could not load kernel module " + m.name + "'"
	}
	// A dependency that fails to load is not fatal by itself: soft
	// dependencies such as CPU-specific crypto drivers fail on CPUs that
	// lack the instructions, and a hard dependency that fails makes the
	// module that needs it fail too.
	return cmd + " || echo 'shingle-init: warning: could not load kernel module " + m.name + "'"
}

// functions is sourced by the script before Config.Script runs.
const functions = `# Helpers for scripts run by images/qemu.

# waitfor PATH... waits up to 60 seconds for each PATH to exist, such as a
# device node that a driver creates asynchronously after insmod returns.
waitfor() {
	for _p in "$@"; do
		_n=0
		while [ ! -e "$_p" ]; do
			_n=$((_n + 1))
			if [ "$_n" -gt 600 ]; then
				echo "waitfor: $_p did not appear within 60 seconds" >&2
				return 1
			fi
			sleep 0.1
		done
	done
}
`

// initScript returns the guest's /init; with reboot set it reboots where
// it would power off.
func initScript(loads []string, reboot bool) string {
	halt := "sleep 1\npoweroff -f"
	if reboot {
		halt = "echo 'rebooting in 30 s'\nsleep 30\nreboot -f"
	}
	var b strings.Builder
	b.WriteString(`#!/bin/busybox sh
# /init of an initramfs built by images/qemu: set up, run /script, report
# its exit status on the console and power off (or reboot).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TMPDIR=/tmp

finish() {
	` + strings.ReplaceAll(halt, "\n", "\n\t") + `
}

setup_failed() {
	echo
	echo "` + setupMarker + ` $*"
	finish
	exit 1
}

mount -t proc proc /proc || setup_failed 'mount /proc'
mount -t sysfs sysfs /sys || setup_failed 'mount /sys'
mount -t devtmpfs devtmpfs /dev || setup_failed 'mount /dev'
mount -t tmpfs -o mode=1777 tmpfs /tmp || setup_failed 'mount /tmp'
`)
	for _, l := range loads {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	b.WriteString(`if grep -qw configfs /proc/filesystems; then
	mount -t configfs configfs /sys/kernel/config || setup_failed 'mount configfs'
fi

sh ` + guestScript + `
status=$?
sync
# The marker goes on a line of its own; the serial port gets a moment to
# drain before the machine powers off.
echo
echo "` + exitMarker + `$status"
finish
`)
	return b.String()
}

// Errors parseConsole returns when the guest reported no exit status.
var (
	errNoMarker    = errors.New("guest stopped without reporting an exit status")
	errSetupFailed = errors.New("guest setup failed")
)
