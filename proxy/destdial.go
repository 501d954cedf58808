package proxy

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"

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
// services at other addresses (metadataIPs); and any of these behind the
// NAT64 well-known prefix (64:ff9b::/96, which the network's gateway
// turns into the IPv4 address) or written as an IPv4-compatible IPv6
// address (::a.b.c.d). Private addresses are allowed: an internal
// service's name resolves to one.
func refusedDestinationIP(ip netip.Addr) bool {
	ip = ip.WithZone("").Unmap()
	if ip.Is6() {
		b := ip.As16()
		if nat64.Contains(ip) || ip != netip.IPv6Unspecified() && ip != netip.IPv6Loopback() && ipv4Compatible.Contains(ip) {
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
	// metadataIPs are cloud metadata services outside link-local:
	// AWS's IPv6 endpoint (Nitro instances) and Alibaba Cloud's.
	metadataIPs = []netip.Addr{netip.MustParseAddr("fd00:ec2::254"), netip.MustParseAddr("100.100.100.200")}
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
	ips, err := u.opts.Resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	err = errDestinationAddress
	for _, ip := range ips {
		if refusedDestinationIP(ip) {
			continue
		}
		c, derr := u.dial(net.JoinHostPort(ip.Unmap().String(), port))
		if derr == nil {
			return c, nil
		}
		err = derr
	}
	return nil, err
}

// dial is the dialer of every upstream client: opts.Dial, or fasthttp's
// dual-stack one with opts.DialTimeout, so that an upstream or a
// destination at an IPv6 address ([2001:db8::1]:443), or named by a host
// that has only AAAA records, is reached (fasthttp's plain DialTimeout
// dials IPv4 only).
func (u *upstreams) dial(addr string) (net.Conn, error) {
	if u.opts.Dial != nil {
		return u.opts.Dial(addr)
	}
	return fasthttp.DialDualStackTimeout(addr, u.opts.DialTimeout)
}
