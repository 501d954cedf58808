package testport

import (
	"net"
	"strconv"
	"testing"
)

// TestAddrBelowTheEphemeralRange: the address is on loopback, below the
// range outgoing connections take their ports from, and free.
func TestAddrBelowTheEphemeralRange(t *testing.T) {
	low := ephemeralLow()
	if low <= first {
		t.Skipf("the ephemeral range starts at %d: Addr falls back to port 0 here", low)
	}
	for range 20 {
		addr := Addr(t)
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := strconv.Atoi(port)
		if host != "127.0.0.1" || p < first || p >= low {
			t.Fatalf("Addr = %s, want 127.0.0.1 and a port in [%d, %d)", addr, first, low)
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("Addr = %s, not free: %v", addr, err)
		}
		ln.Close()
	}
}

// TestAddrNeverTwice: Addr does not hand out a port twice in a process,
// even once its probe closed it (a data and an admin listener once got
// one port, and the second could not bind).
func TestAddrNeverTwice(t *testing.T) {
	seen := map[string]bool{}
	for range 2000 {
		addr := Addr(t)
		if seen[addr] {
			t.Fatalf("Addr returned %s twice", addr)
		}
		seen[addr] = true
	}
}
