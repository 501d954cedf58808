package proxy

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// errDestinationAddress: a destination's host name resolved only to
// addresses sdproxy does not forward to on a caller's say-so.
var errDestinationAddress = errors.New("the destination's host resolves only to loopback, link-local, unspecified or multicast addresses")

// refusedDestinationIP reports whether ip is an address a destination
// named by a host name may not lead to: loopback (the proxy's own host
// and its sidecars), link-local (cloud metadata services such as
// 169.254.169.254, fe80::/10), unspecified, "this network" (0.0.0.0/8,
// which Linux dials as the local host) and multicast; the cloud metadata
// services at other addresses (metadataIPs); and any of these behind a
// NAT64 prefix (64:ff9b::/96, 64:ff9b:1::/96 and the like, which the
// network's gateway turns into the IPv4 address), as an IPv4-translated
// (::ffff:0:a.b.c.d) or 6to4 (2002:AABB:CCDD::) address, or written as an
// IPv4-compatible IPv6 address (::a.b.c.d). Private addresses are
// allowed: an internal service's name resolves to one.
func refusedDestinationIP(ip netip.Addr) bool {
	ip = ip.WithZone("").Unmap()
	if ip.Is6() {
		b := ip.As16()
		switch {
		case sixToFour.Contains(ip):
			ip = netip.AddrFrom4([4]byte(b[2:6]))
		case nat64.Contains(ip) || nat64Local.Contains(ip) || ipv4Translated.Contains(ip) ||
			ip != netip.IPv6Unspecified() && ip != netip.IPv6Loopback() && ipv4Compatible.Contains(ip):
			ip = netip.AddrFrom4([4]byte(b[12:]))
		}
	}
	if ip.Is4() && ip.As4()[0] == 0 {
		return true // 0.0.0.0/8
	}
	for _, m := range metadataIPs {
		if ip == m {
			return true
		}
	}
	return ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsUnspecified() || ip.IsMulticast()
}

var (
	nat64          = netip.MustParsePrefix("64:ff9b::/96")
	ipv4Compatible = netip.MustParsePrefix("::/96")
	// Other IPv6 forms a translating network delivers to the IPv4
	// address they carry: the local-use NAT64 prefix (RFC 8215, in its
	// /96 use), IPv4-translated addresses (SIIT, RFC 6145) and 6to4
	// (RFC 3056, the IPv4 address in bits 16-47).
	nat64Local     = netip.MustParsePrefix("64:ff9b:1::/48")
	ipv4Translated = netip.MustParsePrefix("::ffff:0:0:0/96")
	sixToFour      = netip.MustParsePrefix("2002::/16")
	// metadataIPs are cloud metadata and credential services outside
	// link-local: AWS's IPv6 IMDS (Nitro instances) and EKS Pod Identity
	// Agent, Google Cloud's IPv6 metadata server, Scaleway's IPv6
	// metadata API, Alibaba Cloud's metadata service, Azure's WireServer
	// (which hands VM extensions their settings and certificates) and
	// Oracle Cloud Classic's metadata service.
	metadataIPs = []netip.Addr{netip.MustParseAddr("fd00:ec2::254"), netip.MustParseAddr("fd00:ec2::23"),
		netip.MustParseAddr("fd20:ce::254"), netip.MustParseAddr("fd00:42::42"), netip.MustParseAddr("100.100.100.200"),
		netip.MustParseAddr("168.63.129.16"), netip.MustParseAddr("192.0.0.192")}
)

// destinationDial dials addr, the host:port of an allowed destination
// that a caller chose with X-Qanapi-Destination. A host given as an
// address, or as localhost, is dialled as the allow-list names it: the
// admin who listed it meant it. A host name is resolved here, and only
// to addresses refusedDestinationIP lets through, in the resolver's
// order: a name that the allow-list trusts must not lead to the proxy's
// own host or to a metadata service because its DNS says so (a domain
// taken over, or answering differently from one lookup to the next).
func (u *upstreams) destinationDial(addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if _, err := netip.ParseAddr(host); err == nil || strings.EqualFold(host, "localhost") {
		return u.dial(addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), u.opts.DialTimeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	ips, err := u.opts.Resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	allowed := make([]netip.Addr, 0, len(ips))
	for _, ip := range ips {
		if !refusedDestinationIP(ip) {
			allowed = append(allowed, ip.Unmap())
		}
	}
	if len(allowed) == 0 {
		return nil, errDestinationAddress
	}
	// DialTimeout bounds the whole dial, not each address: the time left
	// is shared among the addresses left (as net.Dialer does), and the
	// address families alternate (RFC 8305), so that black-holed AAAA
	// records neither hold a connection for n × DialTimeout nor keep a
	// working IPv4 address from being tried.
	allowed = interleaveFamilies(allowed)
	err = fasthttp.ErrDialTimeout
	for i, ip := range allowed {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		c, derr := u.dialWithin(net.JoinHostPort(ip.String(), port), partialTimeout(left, len(allowed)-i))
		if derr == nil {
			return c, nil
		}
		err = derr
	}
	return nil, err
}

// interleaveFamilies orders ips with the families alternating, starting
// with the first one's, each family in the resolver's order.
func interleaveFamilies(ips []netip.Addr) []netip.Addr {
	var first, other []netip.Addr
	for _, ip := range ips {
		if ip.Is4() == ips[0].Is4() {
			first = append(first, ip)
		} else {
			other = append(other, ip)
		}
	}
	if len(other) == 0 {
		return ips
	}
	out := ips[:0]
	for i := 0; i < len(first) || i < len(other); i++ {
		if i < len(first) {
			out = append(out, first[i])
		}
		if i < len(other) {
			out = append(out, other[i])
		}
	}
	return out
}

// partialTimeout is the share of left for one of n addresses: left / n,
// but at least 2 s (or all of left, when less), as net.Dialer gives.
func partialTimeout(left time.Duration, n int) time.Duration {
	const sane = 2 * time.Second
	d := left / time.Duration(n)
	if d < sane {
		d = min(sane, left)
	}
	return d
}

// dial is the dialer of every upstream client: dialWithin opts.DialTimeout.
func (u *upstreams) dial(addr string) (net.Conn, error) {
	return u.dialWithin(addr, u.opts.DialTimeout)
}

// dialWithin dials addr with timeout: opts.Dial (which times itself), or
// fasthttp's dual-stack dialer, so that an upstream or a destination at
// an IPv6 address ([2001:db8::1]:443), or named by a host that has only
// AAAA records, is reached (fasthttp's plain DialTimeout dials IPv4 only).
func (u *upstreams) dialWithin(addr string, timeout time.Duration) (net.Conn, error) {
	if u.opts.Dial != nil {
		return u.opts.Dial(addr)
	}
	return fasthttp.DialDualStackTimeout(addr, timeout)
}
