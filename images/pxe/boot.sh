# The boot sequence of a Shingle storage host. The image's /init runs it
# once /proc, /sys and /dev are mounted and the kernel modules are loaded
# (see images/qemu, whose initramfs this image is). It brings the network
# up, fetches the host's agent configuration from the URL the iPXE script
# put on the kernel command line, and runs the agent, restarting it if it
# ever exits. It never returns: a storage host has nothing else to do, and
# one that cannot fetch its configuration keeps asking rather than power
# off while someone looks into it.

say() { echo "shingle-boot: $*"; }

# cmdline_arg NAME prints the value of NAME=value on the kernel command line.
cmdline_arg() {
	for _a in $(cat /proc/cmdline); do
		case "$_a" in "$1"=*) echo "${_a#*=}" ;; esac
	done
}

config=$(cmdline_arg shingle.config)
if [ -z "$config" ]; then
	say "no shingle.config= on the kernel command line: boot through the image's boot.ipxe, which passes it"
	while true; do sleep 3600; done
fi
case "$config" in */) ;; *) config="$config/" ;; esac

ip link set lo up
# DHCP on every interface but lo, until one gets an address.
until [ -s /run/shingle-iface ]; do
	for _dev in /sys/class/net/*; do
		_n=${_dev##*/}
		[ "$_n" = lo ] && continue
		ip link set "$_n" up
		if udhcpc -i "$_n" -n -q -t 5 -T 2 -s /etc/shingle-boot/udhcpc.sh >/dev/null 2>&1; then
			echo "$_n" > /run/shingle-iface
			say "network up on $_n: $(ip -4 -o addr show dev "$_n" | awk '{print $4}')"
			break
		fi
	done
	[ -s /run/shingle-iface ] || { say "no DHCP answer on any interface; trying again in 10 s"; sleep 10; }
done

# The host's configuration: agent.yaml and the certificates it names,
# under the host's own URL (the iPXE script builds it from the MAC).
mkdir -p /etc/shingle/pki
fetch() {
	until wget -q -O "/etc/shingle/$1.part" "$config$1"; do
		say "could not fetch $config$1; trying again in 10 s"
		sleep 10
	done
	mv "/etc/shingle/$1.part" "/etc/shingle/$1"
}
for f in agent.yaml pki/ca.pem pki/agent.pem pki/agent-key.pem; do
	fetch "$f"
done
chmod 600 /etc/shingle/pki/agent-key.pem
say "configuration fetched from $config"

while true; do
	say "starting the agent"
	/usr/bin/shingle-agent --config /etc/shingle/agent.yaml
	say "the agent exited with status $?; restarting it in 5 s"
	sleep 5
done
