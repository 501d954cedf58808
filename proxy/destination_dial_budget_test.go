package proxy

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDestinationDialBudget: DialTimeout bounds a destination's whole
// dial, not each of its addresses, and the address families alternate:
// a name whose AAAA records black-hole (a broken IPv6 path, or DNS an
// attacker controls: ~40 AAAA fit one answer) neither holds a connection
// for n × DialTimeout nor keeps a working IPv4 address behind them from
// being tried second. The dialer below stands for black-holed addresses
// that its dial gives up on after at least blackhole; what is asserted is
// how many and which addresses were dialled, which the sleeps bound from
// below whatever the machine's load.
func TestDestinationDialBudget(t *testing.T) {
	const dt, blackhole = 400 * time.Millisecond, 100 * time.Millisecond
	for _, tc := range []struct {
		name      string
		ips       []string
		wantDials []string // nil: at most dt/blackhole dials, none succeeding
	}{
		{"only-aaaa", []string{"2001:db8::1", "2001:db8::2", "2001:db8::3", "2001:db8::4", "2001:db8::5", "2001:db8::6", "2001:db8::7", "2001:db8::8"}, nil},
		{"dual", []string{"2001:db8::1", "2001:db8::2", "2001:db8::3", "2001:db8::4", "2001:db8::5", "198.51.100.7"}, []string{"[2001:db8::1]:443", "198.51.100.7:443"}},
	} {
		var ips []netip.Addr
		for _, s := range tc.ips {
			ips = append(ips, netip.MustParseAddr(s))
		}
		var dials []string
		u := newUpstreams(UpstreamOptions{
			DialTimeout: dt,
			Resolve:     func(context.Context, string) ([]netip.Addr, error) { return ips, nil },
			Dial: func(addr string) (net.Conn, error) {
				dials = append(dials, addr)
				if strings.HasPrefix(addr, "[") {
					time.Sleep(blackhole) // black-holed: the SYN is never answered
					return nil, errors.New("dial " + addr + ": i/o timeout")
				}
				c, s := net.Pipe()
				s.Close()
				return c, nil
			},
		}, nil)
		c, err := u.destinationDial("dual.test:443")
		if err == nil {
			c.Close()
		}
		if tc.wantDials == nil {
			if err == nil || len(dials) > int(dt/blackhole) {
				t.Errorf("%s: = %v after dialling %v, want an error once DialTimeout (%v) is spent: at most %d dials of %v", tc.name, err, dials, dt, dt/blackhole, blackhole)
			}
			continue
		}
		if err != nil || !slices.Equal(dials, tc.wantDials) {
			t.Errorf("%s: = %v after dialling %v, want the IPv4 address right after the first IPv6 one (families interleaved): %v", tc.name, err, dials, tc.wantDials)
		}
	}
}
