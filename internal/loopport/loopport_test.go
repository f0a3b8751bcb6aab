package loopport

import (
	"net"
	"strconv"
	"testing"
)

// TestRangeIsFreeAndBelowTheEphemeralRange picks ranges and addresses and
// binds them: every port is below the ephemeral range and can be
// listened on; a port held is not reported free.
func TestRangeIsFreeAndBelowTheEphemeralRange(t *testing.T) {
	low := EphemeralLow()
	for range 20 {
		base, err := Range(1, 2, 101, 201)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range []int{1, 2, 101, 201} {
			if base+o >= low || base+o < lowest {
				t.Fatalf("port %d is outside [%d, %d)", base+o, lowest, low)
			}
		}
		if !Free(base+1, base+201) {
			t.Fatalf("ports %d and %d were picked free but are not", base+1, base+201)
		}
	}
	addr, err := Addr()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listening on the address picked: %v", err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	if p >= low {
		t.Fatalf("Addr gave port %d, in the ephemeral range from %d", p, low)
	}
	if Free(p) {
		t.Fatalf("port %d is held but reported free", p)
	}
	if _, err := Range(low); err == nil {
		t.Fatal("an offset as large as the ephemeral range's start was accepted")
	}
}
