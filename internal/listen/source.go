package listen

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// addrOf is the IP of a TCP address (IPv4-mapped IPv6 unmapped), or the
// zero Addr for anything else.
func addrOf(a net.Addr) netip.Addr {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.Addr{}
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	if !ok {
		return netip.Addr{}
	}
	return ip.Unmap()
}

// sourceKey maps an address to its per-source key: one host of IPv6 owns
// a whole /64, so counting its addresses one by one would count nothing.
func sourceKey(a netip.Addr) netip.Addr {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// ParseSources reads a comma-separated list of IPv4 addresses and CIDR
// ranges ("10.0.0.5,192.168.1.0/24"), the value of the central server's
// -proxy flag. Spaces around the items are allowed; an empty item, an
// IPv6 address or a malformed one is an error.
func ParseSources(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("empty item in %q", s)
		}
		var p netip.Prefix
		if strings.Contains(item, "/") {
			var err error
			if p, err = netip.ParsePrefix(item); err != nil {
				return nil, fmt.Errorf("%q is not an IPv4 CIDR range", item)
			}
			p = p.Masked()
		} else {
			a, err := netip.ParseAddr(item)
			if err != nil {
				return nil, fmt.Errorf("%q is not an IPv4 address", item)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if !p.Addr().Is4() {
			return nil, fmt.Errorf("%q is not IPv4", item)
		}
		out = append(out, p)
	}
	return out, nil
}
