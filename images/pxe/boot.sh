# The boot sequence of a Shingle storage host. The image's /init runs it
# once /proc, /sys and /dev are mounted and the kernel modules are loaded
# (see images/qemu, whose initramfs this image is). It brings the network
# up, waits for the drives to be found, fetches the host's agent
# configuration from the URL the iPXE script put on the kernel command
# line, and runs the agent, fetching the configuration again and
# restarting the agent whenever it exits. It never returns: a storage
# host has nothing else to do, and one that cannot reach its boot server
# keeps asking rather than stop while someone looks into it.

say() { echo "shingle-boot: $*"; }

# cmdline_arg NAME prints the value of NAME=value on the kernel command
# line, which is split on spaces and never globbed.
cmdline_arg() {
	set -f
	for _a in $(cat /proc/cmdline); do
		case "$_a" in "$1"=*) echo "${_a#*=}" ;; esac
	done
	set +f
}

config=$(cmdline_arg shingle.config)
if [ -z "$config" ]; then
	say "no shingle.config= on the kernel command line: boot through the image's boot.ipxe, which passes it"
	while true; do sleep 3600; done
fi
case "$config" in */) ;; *) config="$config/" ;; esac

# The network: DHCP on the card the host booted from (BOOTIF, its MAC as
# iPXE wrote it) first, then on every other, until one gets an address.
# udhcpc stays in the background once it has a lease, to renew it.
mkdir -p /run
ip link set lo up
bootif=$(cmdline_arg BOOTIF | tr 'A-F-' 'a-f:')
ifaces=""
for _dev in /sys/class/net/*; do
	_n=${_dev##*/}
	[ "$_n" = lo ] && continue
	if [ -n "$bootif" ] && [ "$(cat "$_dev/address")" = "$bootif" ]; then
		ifaces="$_n $ifaces"
	else
		ifaces="$ifaces $_n"
	fi
done
until [ -s /run/shingle-iface ]; do
	for _n in $ifaces; do
		ip link set "$_n" up
		if udhcpc -i "$_n" -n -t 5 -T 2 -p "/run/udhcpc.$_n.pid" -s /etc/shingle-boot/udhcpc.sh; then
			echo "$_n" > /run/shingle-iface
			say "network up on $_n: $(ip -4 -o addr show dev "$_n" | awk '{print $4}')"
			break
		fi
	done
	[ -s /run/shingle-iface ] || { say "no DHCP answer on any of:$ifaces; trying again in 10 s"; sleep 10; }
done

# The drives: drivers find them after insmod returns, SAS and SATA ones
# as they spin up, and the agent looks for drives once, when it starts.
# Wait until the list of disks has not changed for 10 s (3 minutes at
# most).
_last="" _stable=0 _waited=0
while [ "$_stable" -lt 10 ] && [ "$_waited" -lt 180 ]; do
	_now=$(ls /sys/block)
	if [ "$_now" = "$_last" ]; then _stable=$((_stable + 2)); else _stable=0; fi
	_last=$_now
	sleep 2
	_waited=$((_waited + 2))
done
say "disks: $(echo $_last)"

# The host's configuration: agent.yaml and the certificates it names,
# under the host's own URL (the iPXE script builds it from the MAC).
mkdir -p /etc/shingle/pki
fetch() {
	until timeout 60 wget -q -O "/etc/shingle/$1.part" "$config$1"; do
		say "could not fetch $config$1; trying again in 10 s"
		sleep 10
	done
	mv "/etc/shingle/$1.part" "/etc/shingle/$1"
}

while true; do
	for f in agent.yaml pki/ca.pem pki/agent.pem pki/agent-key.pem; do
		fetch "$f"
	done
	chmod 600 /etc/shingle/pki/agent-key.pem
	say "configuration fetched from $config"
	say "starting the agent"
	/usr/bin/shingle-agent --config /etc/shingle/agent.yaml
	say "the agent exited with status $?; fetching the configuration again and restarting it in 5 s"
	sleep 5
done
