package pxe

import (
	"debug/elf"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/shingle-storage/shingle/images/qemu"
)

// The files Build writes, served together from Options.URL.
const (
	KernelFile = "vmlinuz"
	InitrdFile = "initrd.img"
	ScriptFile = "boot.ipxe"
)

// Paths in the image.
const (
	agentPath  = "/usr/bin/shingle-agent"
	udhcpcPath = "/etc/shingle-boot/udhcpc.sh"
)

// DefaultModules are the kernel modules the image loads: the network
// cards of common storage servers and of QEMU, the drive controllers SMR
// and ZNS drives hang off (NVMe, AHCI, LSI/Broadcom SAS HBAs and RAID
// cards in HBA mode, Microchip SmartPQI), and SCSI enclosure services,
// which name the bays drives sit in. Loading a driver whose hardware is
// absent costs a little memory and nothing else, and one that fails to
// load is only a warning on the console: a host lacks most of them.
var DefaultModules = []string{
	"virtio_pci", "virtio_net", "e1000", "e1000e", "igb", "ixgbe", "i40e", "ice", "bnxt_en", "tg3", "mlx5_core",
	"nvme", "ahci", "sd_mod", "mpt3sas", "megaraid_sas", "smartpqi", "ses",
}

// DefaultKernelArgs put the console on the first serial port (last, so
// that it is /dev/console: servers are watched over serial-over-LAN) and
// on the screen, and reboot 30 s after a panic, which boots the host from
// the network again. Many Dell and Supermicro servers put serial-over-LAN
// on the second port: give console=ttyS1,115200 in Options.KernelArgs.
var DefaultKernelArgs = []string{"console=tty0", "console=ttyS0,115200", "panic=30"}

//go:embed boot.sh
var bootScript string

//go:embed udhcpc.sh
var udhcpcScript []byte

// Options say what image to build and where it will be served from.
type Options struct {
	// Dir is the directory the image's files are written to; it is made
	// if missing, and files of earlier builds in it are replaced.
	Dir string
	// URL is where Dir is served from over HTTP, as the hosts reach it,
	// such as http://10.20.0.1:8080/shingle/. Each host's configuration
	// is fetched from URL/hosts/MAC/ (see the package documentation).
	URL string
	// Agent is the agent binary to put in the image, statically linked
	// (go build -o shingle-agent ./agent with CGO_ENABLED=0).
	Agent string
	// Kernel, ModulesDir and Busybox are as in qemu.Config: the kernel
	// image, its modules and a static busybox; the defaults are the
	// newest /boot/vmlinuz-*, its modules and /bin/busybox.
	Kernel, ModulesDir, Busybox string
	// Modules are loaded besides DefaultModules.
	Modules []string
	// KernelArgs replace DefaultKernelArgs when not empty.
	KernelArgs []string
}

// Build writes the boot image to opts.Dir: the kernel (KernelFile), the
// initramfs with busybox, the modules, the agent and the boot sequence
// (InitrdFile), and the iPXE script that boots them (ScriptFile).
func Build(opts Options) error {
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("the URL the image is served from, %q, is not an http:// or https:// URL; give the address hosts reach the boot server at, such as http://10.20.0.1:8080/shingle/", opts.URL)
	}
	base := strings.TrimSuffix(opts.URL, "/") + "/"
	if opts.Agent == "" {
		return errors.New("no agent binary given: build one with CGO_ENABLED=0 go build -o shingle-agent ./agent")
	}
	if err := checkStatic(opts.Agent); err != nil {
		return err
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return err
	}
	cfg := qemu.Config{
		Kernel: opts.Kernel, ModulesDir: opts.ModulesDir, Busybox: opts.Busybox,
		OptionalModules: append(slices.Clone(DefaultModules), opts.Modules...),
		Files:           map[string]string{agentPath: opts.Agent},
		Script:          hostScript(),
		Reboot:          true,
	}
	if cfg.Kernel == "" {
		// Resolve the default here, so that the kernel copied is the one
		// whose modules go into the initramfs.
		if cfg.Kernel, err = qemu.DefaultKernel(); err != nil {
			return err
		}
	}
	if err := writeFile(filepath.Join(opts.Dir, InitrdFile), func(w io.Writer) error { return qemu.WriteInitramfs(cfg, w) }); err != nil {
		return fmt.Errorf("the initramfs: %w", err)
	}
	if err := writeFile(filepath.Join(opts.Dir, KernelFile), func(w io.Writer) error {
		k, err := os.Open(cfg.Kernel)
		if err != nil {
			return err
		}
		defer k.Close()
		_, err = io.Copy(w, k)
		return err
	}); err != nil {
		return fmt.Errorf("the kernel: %w", err)
	}
	args := opts.KernelArgs
	if len(args) == 0 {
		args = DefaultKernelArgs
	}
	return writeFile(filepath.Join(opts.Dir, ScriptFile), func(w io.Writer) error {
		_, err := io.WriteString(w, IPXEScript(base, args))
		return err
	})
}

// hostScript is what the image's /init runs: the DHCP script written
// where udhcpc finds it, then the boot sequence.
func hostScript() string {
	return "mkdir -p /etc/shingle-boot\ncat > " + udhcpcPath + " <<'UDHCPC'\n" + string(udhcpcScript) +
		"UDHCPC\nchmod 755 " + udhcpcPath + "\n" + bootScript
}

// IPXEScript returns the iPXE script that boots the image served from
// base (ending in /) with the kernel arguments args. The host's
// configuration URL, base/hosts/MAC/ with the MAC of the card iPXE booted
// from in lower case with dashes (52-54-00-12-34-56), goes on the kernel
// command line as shingle.config, and the MAC as BOOTIF, so the image
// asks DHCP on that card first. A fetch that fails is tried again after
// 10 s rather than falling through to the next boot device.
func IPXEScript(base string, args []string) string {
	return fmt.Sprintf(`#!ipxe
# Boots a Shingle storage host: the kernel and the initramfs with the agent
# from %[1]s; the image then fetches this host's configuration from
# %[1]shosts/<mac>/ (lower case, dashes).
:retry
echo shingle: booting from %[1]s as ${netX/mac:hexhyp}
kernel %[1]s%[2]s initrd=%[3]s %[4]s BOOTIF=${netX/mac:hexhyp} shingle.config=%[1]shosts/${netX/mac:hexhyp}/ || goto failed
initrd %[1]s%[3]s || goto failed
boot || goto failed
:failed
echo shingle: could not fetch the image from %[1]s; trying again in 10 s
sleep 10
goto retry
`, base, KernelFile, InitrdFile, strings.Join(args, " "))
}

// checkStatic refuses an agent binary that would not run in the image:
// one that is missing, not an ELF executable, or dynamically linked (a
// program interpreter the initramfs does not have).
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("the agent binary %s: %w; build it with CGO_ENABLED=0 go build -o shingle-agent ./agent", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("the agent binary %s is dynamically linked and would not run in the image; build it with CGO_ENABLED=0 go build -o shingle-agent ./agent", path)
		}
	}
	return nil
}

// writeFile writes path through fill, by way of a temporary file renamed
// over it once complete: a boot server never serves half a file.
func writeFile(path string, fill func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	err = fill(tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
