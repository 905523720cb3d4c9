//! IPv4 addresses written as IPv6: the IPv4-mapped form (`::ffff:a.b.c.d`,
//! RFC 4291 §2.5.5.2) and the NAT64 well-known prefix (`64:ff9b::/96`,
//! RFC 6052). A client that connects to either reaches the IPv4 host, so
//! an attacker can answer AAAA with one of them to slip a known-bad IPv4
//! address past a comparison made in the IPv6 family. Feeds, allowlists,
//! expect files and answers are all compared in the canonical form.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net};

/// Bits of the IPv6 prefix in front of an embedded IPv4 address.
const EMBEDDED_PREFIX_LEN: u8 = 96;
const NAT64_WELL_KNOWN: u128 = 0x0064_ff9b << 96;
const MAPPED: u128 = 0xffff << 32;
const PREFIX_MASK: u128 = !0 << 32;

/// The IPv4 address an IPv6 address stands for, when it is IPv4-mapped or
/// in the NAT64 well-known prefix. (Not [`Ipv6Addr::to_ipv4`]: that also
/// takes the deprecated IPv4-compatible form, so `::1` would become
/// 0.0.0.1.)
pub fn embedded_ipv4(a: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(a);
    match bits & PREFIX_MASK {
        MAPPED | NAT64_WELL_KNOWN => Some(Ipv4Addr::from(bits as u32)),
        _ => None,
    }
}

/// `addr` in the family it is compared in: IPv4 for an IPv4 address
/// written as IPv6, otherwise unchanged.
pub fn canonical_ip(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(a) => embedded_ipv4(a).map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

/// `net` in the family it is compared in: an IPv6 network inside one of
/// the embedding prefixes, and no larger than it, is the IPv4 network it
/// covers (`::ffff:192.0.2.0/120` is 192.0.2.0/24). Larger networks stay
/// IPv6: they cover more than IPv4 addresses.
pub fn canonical_net(net: IpNet) -> IpNet {
    let IpNet::V6(n) = net else {
        return net;
    };
    let Some(v4) = embedded_ipv4(n.network()) else {
        return net;
    };
    if n.prefix_len() < EMBEDDED_PREFIX_LEN {
        return net;
    }
    Ipv4Net::new(v4, n.prefix_len() - EMBEDDED_PREFIX_LEN).map_or(net, IpNet::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn mapped_and_nat64_addresses_are_ipv4() {
        assert_eq!(canonical_ip(ip("::ffff:185.20.187.8")), ip("185.20.187.8"));
        assert_eq!(canonical_ip(ip("64:ff9b::b914:bb08")), ip("185.20.187.8"));
        assert_eq!(canonical_ip(ip("185.20.187.8")), ip("185.20.187.8"));
        // IPv4-compatible (deprecated), loopback, and the NAT64 local-use
        // prefix are other addresses.
        for other in [
            "::1",
            "::185.20.187.8",
            "64:ff9b:1::b914:bb08",
            "2001:db8::1",
        ] {
            assert_eq!(canonical_ip(ip(other)), ip(other));
        }
    }

    #[test]
    fn embedded_networks_are_ipv4_networks() {
        let net = |s: &str| s.parse::<IpNet>().unwrap();
        assert_eq!(
            canonical_net(net("::ffff:192.0.2.0/120")),
            net("192.0.2.0/24")
        );
        assert_eq!(canonical_net(net("64:ff9b::/96")), net("0.0.0.0/0"));
        assert_eq!(canonical_net(net("::ffff:0:0/95")), net("::ffff:0:0/95"));
        assert_eq!(canonical_net(net("2001:db8::/32")), net("2001:db8::/32"));
        assert_eq!(canonical_net(net("192.0.2.0/24")), net("192.0.2.0/24"));
    }
}
