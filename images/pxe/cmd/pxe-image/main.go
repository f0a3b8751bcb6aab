// Command pxe-image builds the network boot image of Shingle storage
// hosts: the kernel, the initramfs with the agent, and the iPXE script, in
// a directory to serve over HTTP. See images/README.md.
//
//	go run ./images/pxe/cmd/pxe-image --out /srv/shingle --url http://10.20.0.1:8080/
package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/shingle-storage/shingle/images/pxe"
	"github.com/urfave/cli/v2"
)

func main() {
	app := &cli.App{
		Name:  "pxe-image",
		Usage: "build the network boot image of Shingle storage hosts",
		Description: `Writes to --out the files a boot server serves over HTTP:

   vmlinuz      the kernel (Debian's, by default the newest in /boot)
   initrd.img   busybox, the kernel modules, the agent and the boot sequence
   boot.ipxe    the iPXE script: point DHCP's boot file (or a chain from
                your iPXE menu) at <url>/boot.ipxe

A booted host brings its network up with DHCP, fetches its configuration
from <url>/hosts/<MAC>/ (agent.yaml, pki/ca.pem, pki/agent.pem,
pki/agent-key.pem; MAC written 52-54-00-12-34-56) and runs the agent,
restarting it if it exits.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Required: true, Usage: "directory to write the image to (made if missing)"},
			&cli.StringFlag{Name: "url", Required: true, Usage: "URL the --out directory is served from, as the hosts reach it (http://...)"},
			&cli.StringFlag{Name: "agent", Usage: "agent binary to include, statically linked; default: built from this checkout with CGO_ENABLED=0"},
			&cli.StringFlag{Name: "kernel", Usage: "kernel image (bzImage); default: the newest /boot/vmlinuz-*"},
			&cli.StringFlag{Name: "modules-dir", Usage: "the kernel's modules, /lib/modules/VERSION; default: the kernel's own"},
			&cli.StringFlag{Name: "busybox", Usage: "statically linked busybox (apt-get install busybox-static); default: /bin/busybox"},
			&cli.StringSliceFlag{Name: "module", Usage: "kernel module to load besides the defaults (repeatable), such as mlx5_core for a Mellanox card"},
			&cli.StringSliceFlag{Name: "kernel-arg", Usage: "kernel argument (repeatable); replaces the defaults: console=tty0 console=ttyS0,115200 panic=30"},
		},
		Action: build,
	}
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "pxe-image:", err)
		os.Exit(1)
	}
}

func build(c *cli.Context) error {
	agent := c.String("agent")
	if agent == "" {
		tmp, err := os.MkdirTemp("", "pxe-image-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		agent = filepath.Join(tmp, "shingle-agent")
		fmt.Fprintln(os.Stderr, "building the agent (CGO_ENABLED=0 go build ./agent)")
		cmd := exec.Command("go", "build", "-o", agent, "github.com/shingle-storage/shingle/agent")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building the agent: %w (run from the repository, or give --agent)", err)
		}
	}
	err := pxe.Build(pxe.Options{Dir: c.String("out"), URL: c.String("url"), Agent: agent,
		Kernel: c.String("kernel"), ModulesDir: c.String("modules-dir"), Busybox: c.String("busybox"),
		Modules: c.StringSlice("module"), KernelArgs: c.StringSlice("kernel-arg")})
	if err != nil {
		return err
	}
	fmt.Printf("wrote %s, %s and %s to %s\n", pxe.KernelFile, pxe.InitrdFile, pxe.ScriptFile, c.String("out"))
	return nil
}
