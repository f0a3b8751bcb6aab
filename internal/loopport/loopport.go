// Package loopport picks loopback TCP ports for tests that run real
// servers and bring them back on the same address after a restart: a
// Raft member, whose peers know it by address, or an agent that registers
// with the fleet under its address.
//
// A port the kernel picks (listening on port 0) is in its ephemeral range,
// the same range it takes the local ports of outgoing connections from.
// Once the server stops, any connection made by any test running beside
// it can take the port, and the restart fails with "address already in
// use". Ports below the ephemeral range are given only to listeners that
// ask for them by number, so a port picked there stays free for the
// test's life unless another test picks the same number: Addr picks at
// random among some twenty thousand and checks that the port is free.
package loopport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
)

// lowest is the first port Addr considers: below it are the well-known
// ports of services a developer's machine may run.
const lowest = 10000

// EphemeralLow returns the first port of the kernel's ephemeral range
// (net.ipv4.ip_local_port_range), or 32768, Linux's default, if it cannot
// be read or leaves too little room below it.
func EphemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	var low, high int
	if _, err := fmt.Sscan(string(b), &low, &high); err != nil || low < lowest+2000 {
		return 32768
	}
	return low
}

// Free reports whether nothing listens on each of ports on 127.0.0.1.
func Free(ports ...int) bool {
	for _, p := range ports {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			return false
		}
		ln.Close()
	}
	return true
}

// Range returns a base port such that base+offset is free for every
// offset given, all of them below the ephemeral range. The largest offset
// must leave room: it is an error if base cannot be found in 100 tries.
func Range(offsets ...int) (int, error) {
	top := 0
	for _, o := range offsets {
		top = max(top, o)
	}
	room := EphemeralLow() - lowest - top
	if room < 100 {
		return 0, fmt.Errorf("loopport: offsets up to %d leave no room below the ephemeral range at %d", top, EphemeralLow())
	}
	for range 100 {
		base := lowest + rand.IntN(room)
		ports := make([]int, len(offsets))
		for i, o := range offsets {
			ports[i] = base + o
		}
		if Free(ports...) {
			return base, nil
		}
	}
	return 0, fmt.Errorf("loopport: no free range of %d ports below %d in 100 tries", len(offsets), EphemeralLow())
}

// Addr returns a loopback host:port below the ephemeral range that
// nothing listens on now.
func Addr() (string, error) {
	p, err := Range(0)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("127.0.0.1:%d", p), nil
}
