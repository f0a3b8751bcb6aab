package qemu

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"
	"slices"
)

// WriteInitramfs writes, gzip-compressed, the initramfs Run would boot for
// cfg: busybox, the modules and files, and the /init that sets up, runs
// cfg.Script and powers off once it returns. It is for boots that do not
// go through Run: the PXE image (package images/pxe) is this initramfs
// with a script that never returns, served to hosts over the network.
// Only the fields that shape the initramfs are read (Kernel, ModulesDir,
// Modules, ModuleParams, Files, Binaries, Script, Busybox).
func WriteInitramfs(cfg Config, w io.Writer) error {
	if err := applyDefaults(&cfg); err != nil {
		return err
	}
	mods, err := resolveModules(cfg.ModulesDir, append(slices.Clone(cfg.Modules), cfg.OptionalModules...))
	if err != nil {
		return err
	}
	for i := range mods {
		if mods[i].explicit && !slices.ContainsFunc(cfg.Modules, func(n string) bool { return moduleName(n) == mods[i].name }) {
			mods[i].explicit = false // optional: a failure to load is a warning
		}
	}
	im, err := buildImage(&cfg, filepath.Base(cfg.ModulesDir), mods)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	if err := im.writeArchive(bw); err != nil {
		return fmt.Errorf("writing initramfs: %w", err)
	}
	return bw.Flush()
}

// DefaultKernel returns the kernel Run boots when Config.Kernel is empty:
// the newest /boot/vmlinuz-* by version.
func DefaultKernel() (string, error) { return newestKernel("/boot") }
