// Package testport picks loopback ports for the servers tests start
// (sdproxy serve, etcd). Tests import it; nothing else does.
package testport

import (
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"sync"
	"testing"
)

// given holds the ports Addr has returned (or tried) in this process.
var given struct {
	sync.Mutex
	ports map[int]bool
}

// claim records port as given and reports whether it was not before.
func claim(port int) bool {
	given.Lock()
	defer given.Unlock()
	if given.ports[port] {
		return false
	}
	if given.ports == nil {
		given.ports = map[int]bool{}
	}
	given.ports[port] = true
	return true
}

// first is the lowest port Addr picks.
const first = 10000

// Addr returns a loopback address that was free a moment ago, on a port
// below the kernel's range for outgoing connections: a port from that
// range (as port 0 gives) can be taken by one of the thousands of client
// connections a test makes before the server binds it ("address already
// in use"). It never returns a port it returned before in this process:
// two calls in a row (a data and an admin listener) once got the same
// free port, and the second listener could not bind it. It falls back to
// port 0 when it finds no such port free.
func Addr(t testing.TB) string {
	t.Helper()
	if last := ephemeralLow(); last > first {
		for range 50 {
			port := first + mrand.IntN(last-first)
			if !claim(port) {
				continue
			}
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err == nil {
				ln.Close()
				return ln.Addr().String()
			}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testport: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// ephemeralLow is the first port of the kernel's range for outgoing
// connections (Linux's ip_local_port_range; 32768 when unknown).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	var low, high int
	if _, err := fmt.Sscan(string(b), &low, &high); err != nil {
		return 32768
	}
	return low
}
