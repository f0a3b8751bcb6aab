// Package pxe builds the network boot image of Shingle storage hosts. A
// storage host has no operating system on disk: every drive belongs to the
// agent, written append-only with no filesystem. It boots from the network
// each time, into an initramfs that holds the agent and nothing else it
// does not need.
//
// # How a host boots
//
//  1. The host's network card ROM (iPXE, or PXE chain-loading iPXE) gets
//     an address and a boot file name from DHCP and fetches boot.ipxe
//     (over TFTP or HTTP, as the DHCP server says).
//  2. boot.ipxe fetches the kernel (vmlinuz) and the initramfs
//     (initrd.img) over HTTP from the URL the image was built for, trying
//     again every 10 s if it cannot, and boots the kernel with
//     shingle.config=URL/hosts/MAC/ and BOOTIF=MAC on its command line,
//     MAC being the card's in lower case with dashes (52-54-00-12-34-56).
//  3. The initramfs's /init (images/qemu's: it mounts /proc, /sys, /dev
//     and loads the network and drive controller modules, any of which
//     may be missing) runs boot.sh: DHCP on the boot card first, then on
//     the others, until one answers (udhcpc then stays to renew the
//     lease); a wait until the list of disks has been still for 10 s,
//     since drivers find drives after they load and the agent looks
//     once; then agent.yaml and the certificates it names (pki/ca.pem,
//     pki/agent.pem, pki/agent-key.pem) fetched from the host's URL, and
//     the agent, fetched and restarted again whenever it exits. A host
//     that cannot reach the network or its configuration says so on its
//     console and keeps trying; should the sequence ever end, the host
//     reboots, and so boots from the network again.
//  4. The agent claims the drives its configuration allows, formats blank
//     ones, and registers with fleetd with the join token in agent.yaml.
//
// The agent's advertise-addr in agent.yaml is the address fleetd and
// other agents reach it at, so each host needs a fixed address: a DHCP
// reservation by MAC.
//
// Build writes vmlinuz, initrd.img and boot.ipxe; the per-host directories
// are the provisioning system's to write (the Ansible playbooks, or an
// operator). TestPXEBootJoinsTheFleet (build tag qemu) boots a QEMU host
// exactly this way, from its virtio card's iPXE ROM and QEMU's TFTP
// server, with an NVMe Zoned Namespace drive, and checks that the host
// joins a fleetd run by the test and serves a blob from that drive.
//
// # Security
//
// The host's private key travels from the boot server to the host as the
// configuration of PXE hosts usually does, over HTTP: busybox's wget can
// fetch https:// but does not check the server's certificate, and the
// iPXE ROMs of many cards (QEMU's among them) cannot fetch https:// at
// all. Serve hosts/ only on the provisioning network, and to each host
// only its own directory if the server can tell. A host that
// makes its own key and has fleetd sign it against its join token would
// keep the key off the network; fleetd does not sign certificates yet.
package pxe
