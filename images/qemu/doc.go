// Package qemu boots a Linux kernel under QEMU with an initramfs built on
// the fly, runs a shell script in it, and returns what the guest printed and
// the script's exit status. Shingle's kernel-level tests use it to exercise
// code against real zoned block devices.
//
// # Why a virtual machine
//
// Shingle drives host-managed SMR disks and NVMe Zoned Namespaces through
// the kernel's zoned block layer: the BLKREPORTZONE family of ioctls,
// sysfs queue attributes and O_DIRECT I/O that the kernel checks against
// each zone's write pointer. Emulating a zoned drive in user space (the
// zoned package's Emulator) is fast and runs anywhere, but it only proves
// that the code agrees with the emulator. To prove it agrees with Linux the
// tests must run against the kernel's own implementation, on two kinds of
// device:
//
//   - null_blk in zoned mode, the kernel's reference zoned device, shaped
//     like an SMR disk (conventional zones first, then sequential ones);
//   - an NVMe namespace with the Zoned Namespace command set, which QEMU's
//     nvme-ns device emulates, including zone capacity smaller than zone
//     size and open/active zone limits.
//
// Development machines and CI hosts cannot be relied on for either: their
// kernels may be built without CONFIG_BLK_DEV_ZONED or null_blk, loading
// modules needs root on the host, and there is no ZNS drive to attach. So
// the tests boot a stock distribution kernel (Debian's linux-image-amd64,
// which builds zoned block support in and ships null_blk and nvme as
// modules) inside QEMU. KVM is usually unavailable in containers and CI, so QEMU
// runs with TCG, its portable CPU emulator: a boot takes seconds, and code
// in the guest runs roughly ten times slower than on the host. Tests size
// their devices and timeouts for that.
//
// # How a run works
//
// [Run] builds a gzip-compressed cpio initramfs in a temporary directory
// containing:
//
//   - a static busybox and a symlink for each of its applets, which
//     provide the shell, mount, insmod, dd and the rest of the userland;
//   - the kernel modules named in [Config.Modules] and everything they
//     depend on, resolved on the host with modprobe --show-depends against
//     the kernel's own modules directory, and decompressed if the
//     distribution ships them compressed;
//   - the files of [Config.Files] (for example a test binary built with
//     CGO_ENABLED=0) and the dynamically linked programs of
//     [Config.Binaries] together with the shared libraries ldd reports for
//     them;
//   - an /init script that mounts /proc, /sys, /dev (devtmpfs), /tmp and
//     configfs, loads the modules in dependency order with their
//     [Config.ModuleParams], runs [Config.Script] with busybox sh, prints
//     a marker line carrying the script's exit status and powers the
//     machine off.
//
// It then runs qemu-system-x86_64 with the kernel, the initramfs and the
// serial console on QEMU's standard output, streams the console to
// [Config.Stdout] if set, and reads the exit status back from the marker.
// A guest that never prints the marker (a kernel panic, a hang until
// [Config.Timeout], a module that fails to load) is an error whose message
// carries the tail of the console.
//
// # Requirements
//
// The host needs QEMU, a kernel with its modules, and a static busybox; on
// Debian:
//
//	apt-get install -y qemu-system-x86 linux-image-amd64 busybox-static
//
// Run reports which of these is missing in its error. Tests that use this
// package are expected to fail, not skip, when it does: a kernel-level test
// that silently does not run is worse than one that fails.
package qemu
