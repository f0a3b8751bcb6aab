package qemu

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// module is a kernel module file to copy into the guest and load there.
type module struct {
	name     string // canonical name: file name without ".ko…", '-' as '_'
	hostPath string // as modprobe printed it, possibly compressed
	explicit bool   // named in Config.Modules rather than pulled in
}

// guestName is the module's file name in the guest: uncompressed.
func (m module) guestName() string {
	base := filepath.Base(m.hostPath)
	return base[:strings.Index(base, ".ko")] + ".ko"
}

// moduleName returns the canonical name of a module given as a name or a
// file path: "crc-t10dif", "crc_t10dif" and ".../crc-t10dif.ko.xz" are all
// "crc_t10dif", as the kernel treats '-' and '_' in module names alike.
func moduleName(s string) string {
	s = filepath.Base(s)
	if i := strings.Index(s, ".ko"); i >= 0 {
		s = s[:i]
	}
	return strings.ReplaceAll(s, "-", "_")
}

// parseShowDepends parses the output of `modprobe --show-depends NAME`: an
// "insmod PATH [options]" line for each module to load, dependencies first,
// or "builtin NAME" for a module compiled into the kernel. It returns the
// module paths in load order with repeats removed (modprobe repeats a
// module that several dependencies share).
func parseShowDepends(out string) ([]string, error) {
	var paths []string
	seen := map[string]bool{}
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case f[0] == "builtin" && len(f) >= 2:
		case f[0] == "insmod" && len(f) >= 2:
			if !seen[f[1]] {
				seen[f[1]] = true
				paths = append(paths, f[1])
			}
		default:
			return nil, fmt.Errorf("unexpected line in modprobe --show-depends output: %q", strings.TrimSpace(line))
		}
	}
	return paths, nil
}

// loadOrder merges the load orders of the modules named in want (each a
// list of paths, dependencies first, as from parseShowDepends) into one
// order that loads every module once and after its dependencies.
func loadOrder(want []string, orders [][]string) []module {
	explicit := map[string]bool{}
	for _, w := range want {
		explicit[moduleName(w)] = true
	}
	var mods []module
	seen := map[string]bool{}
	for _, order := range orders {
		for _, p := range order {
			name := moduleName(p)
			if seen[name] {
				continue
			}
			seen[name] = true
			mods = append(mods, module{name: name, hostPath: p, explicit: explicit[name]})
		}
	}
	return mods
}

// resolveModules finds the files of the modules named in names and of
// everything they depend on (including soft dependencies) for the kernel
// whose modules are in modulesDir, and returns them in load order.
func resolveModules(modulesDir string, names []string) ([]module, error) {
	if len(names) == 0 {
		return nil, nil
	}
	if _, err := os.Stat(filepath.Join(modulesDir, "modules.dep")); err != nil {
		return nil, fmt.Errorf("kernel modules: %w (is the modules package for this kernel installed? apt-get install -y linux-image-amd64)", err)
	}
	modprobe, err := lookPath("modprobe", "/usr/sbin/modprobe", "/sbin/modprobe")
	if err != nil {
		return nil, errors.New("modprobe not found; it resolves module dependencies on the host: apt-get install -y kmod")
	}
	// modprobe looks for ROOT/lib/modules/VERSION.
	modulesDir = filepath.Clean(modulesDir)
	version := filepath.Base(modulesDir)
	root, ok := strings.CutSuffix(modulesDir, "/lib/modules/"+version)
	if !ok {
		return nil, fmt.Errorf("modules directory %s is not of the form ROOT/lib/modules/VERSION, which modprobe needs", modulesDir)
	}
	var orders [][]string
	for _, name := range names {
		// -C /dev/null keeps the host's modprobe.d (blacklists, options)
		// out of the guest; soft dependencies recorded in the modules
		// themselves still apply.
		args := []string{"-S", version, "-C", "/dev/null", "--show-depends", name}
		if root != "" {
			args = append([]string{"-d", root}, args...)
		}
		cmd := exec.Command(modprobe, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("kernel module %q for %s: %s: %w", name, version, strings.TrimSpace(stderr.String()), err)
		}
		order, err := parseShowDepends(string(out))
		if err != nil {
			return nil, fmt.Errorf("kernel module %q: %w", name, err)
		}
		orders = append(orders, order)
	}
	return loadOrder(names, orders), nil
}

// readModule returns the uncompressed contents of a module file. The
// kernel can load compressed modules only when built to, and busybox insmod
// cannot decompress them, so compressed modules are expanded on the host.
func readModule(path string) ([]byte, error) {
	switch {
	case strings.HasSuffix(path, ".ko"):
		return os.ReadFile(path)
	case strings.HasSuffix(path, ".ko.gz"):
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return io.ReadAll(zr)
	case strings.HasSuffix(path, ".ko.xz"):
		return decompress(path, "xz", "xz-utils")
	case strings.HasSuffix(path, ".ko.zst"):
		return decompress(path, "zstd", "zstd")
	}
	return nil, fmt.Errorf("%s: unrecognized kernel module file name", path)
}

// decompress runs tool -dc on path.
func decompress(path, tool, pkg string) ([]byte, error) {
	bin, err := exec.LookPath(tool)
	if err != nil {
		return nil, fmt.Errorf("%s is compressed and %s is not installed: apt-get install -y %s", path, tool, pkg)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "-dc", path)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s -dc %s: %w: %s", tool, path, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// lookPath finds a program in PATH or, failing that, at one of the given
// absolute paths (sbin directories are often missing from a user's PATH).
func lookPath(name string, fallbacks ...string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, p := range fallbacks {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}
