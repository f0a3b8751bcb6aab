package qemu

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"
)

// GuestHost is the address the guest of a NetBoot machine reaches the
// host's loopback at, through QEMU's user network (which gives the guest
// 10.0.2.15).
const GuestHost = "10.0.2.2"

// NetBootConfig describes a machine that boots from the network.
type NetBootConfig struct {
	// TFTPDir is served by QEMU's TFTP server, and BootFile, in it, is
	// the boot file its DHCP server names: the network card's iPXE ROM
	// fetches and runs it.
	TFTPDir, BootFile string
	// MAC is the network card's address (QEMU's default if empty).
	MAC string
	// Forwards maps a host address (127.0.0.1:port) to the guest port
	// its connections are forwarded to.
	Forwards map[string]int
	// Args are appended to QEMU's command line, such as the drives.
	Args []string
	// MemoryMB and CPUs size the machine (DefaultMemoryMB, DefaultCPUs).
	MemoryMB, CPUs int
	// Stdout, if not nil, receives the serial console as it arrives.
	Stdout io.Writer
}

// Machine is a running QEMU machine started by NetBoot.
type Machine struct {
	cmd     *exec.Cmd
	console *consoleWriter
	done    chan struct{}
	err     error
}

// NetBoot starts QEMU with cfg's machine, booting from its virtio network
// card, and returns once QEMU runs. The machine runs until ctx ends or
// Stop is called.
func NetBoot(ctx context.Context, cfg NetBootConfig) (*Machine, error) {
	bin, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		return nil, fmt.Errorf("qemu-system-x86_64 not found in PATH; install it: %s", InstallHint)
	}
	netdev := "user,id=n0,tftp=" + cfg.TFTPDir + ",bootfile=" + cfg.BootFile
	var hosts []string
	for h := range cfg.Forwards {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	for _, h := range hosts {
		netdev += ",hostfwd=tcp:" + h + "-:" + strconv.Itoa(cfg.Forwards[h])
	}
	nic := "virtio-net-pci,netdev=n0"
	if cfg.MAC != "" {
		nic += ",mac=" + cfg.MAC
	}
	mem, cpus := cfg.MemoryMB, cfg.CPUs
	if mem <= 0 {
		mem = DefaultMemoryMB
	}
	if cpus <= 0 {
		cpus = DefaultCPUs
	}
	// Not -nodefaults: SeaBIOS runs the card's option ROM only with the
	// default VGA present. -nic none leaves out the default card.
	args := append([]string{"-accel", "tcg", "-cpu", "max", "-m", strconv.Itoa(mem), "-smp", strconv.Itoa(cpus),
		"-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot",
		"-nic", "none", "-netdev", netdev, "-device", nic, "-boot", "n"}, cfg.Args...)
	m := &Machine{cmd: exec.CommandContext(ctx, bin, args...), console: &consoleWriter{stream: cfg.Stdout}, done: make(chan struct{})}
	m.cmd.Stdout, m.cmd.Stderr = m.console, m.console
	m.cmd.WaitDelay = 5 * time.Second
	if err := m.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting QEMU: %w", err)
	}
	go func() {
		m.err = m.cmd.Wait()
		close(m.done)
	}()
	return m, nil
}

// Console is what the machine printed on its serial console so far.
func (m *Machine) Console() string { return m.console.String() }

// Exited reports whether QEMU has exited, and how.
func (m *Machine) Exited() (bool, error) {
	select {
	case <-m.done:
		return true, m.err
	default:
		return false, nil
	}
}

// Stop kills QEMU and waits for it.
func (m *Machine) Stop() {
	if done, _ := m.Exited(); !done {
		_ = m.cmd.Process.Kill()
	}
	<-m.done
}

// Tail returns the last n lines of the console, for failure messages.
func (m *Machine) Tail(n int) string { return tail(strings.TrimSpace(m.Console()), n) }

// ZNSDriveArgs are the QEMU arguments that attach the file at path as an
// NVMe Zoned Namespace with the given controller serial: 4 KiB blocks,
// zones of 4 MiB of which 3 MiB are writable, at most 8 open and 12
// active.
func ZNSDriveArgs(path, serial string) []string {
	return []string{
		"-drive", "file=" + path + ",id=zns0,format=raw,if=none",
		"-device", "nvme,serial=" + serial + ",id=nvme0",
		"-device", "nvme-ns,drive=zns0,bus=nvme0,nsid=1,logical_block_size=4096,physical_block_size=4096," +
			"zoned=true,zoned.zone_size=4M,zoned.zone_capacity=3M,zoned.max_open=8,zoned.max_active=12",
	}
}
