#!/bin/sh
# busybox udhcpc's script: applies the lease it got to the interface. A
# renewal that keeps the address leaves the interface alone, so the
# agent's connections survive it.
case "$1" in
deconfig)
	ip -4 addr flush dev "$interface"
	ip link set "$interface" up
	;;
bound | renew)
	if ! ip -4 -o addr show dev "$interface" | grep -q " $ip/"; then
		ip -4 addr flush dev "$interface"
		ip addr add "$ip/${mask:-24}" dev "$interface"
	fi
	for _r in $router; do
		ip route replace default via "$_r" dev "$interface"
		break
	done
	: >/etc/resolv.conf
	for _d in $dns; do
		echo "nameserver $_d" >>/etc/resolv.conf
	done
	;;
esac
exit 0
