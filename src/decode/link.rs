//! Link layer: from a captured frame to the IP packet inside it.
//!
//! Every accessor goes through `get`/checked slices; a frame shorter than
//! its headers is `Malformed::LinkTruncated`, never a panic.

use etherparse::{EtherType, Ethernet2HeaderSlice, SingleVlanHeaderSlice};

use crate::stats::{Malformed, NotDns};

/// A pcap LINKTYPE_ value (tcpdump.org/linktypes.html), as stored in the
/// file. libpcap hands out DLT_ values, which differ for a few types; the
/// capture stage converts with [`LinkType::from_dlt`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkType(pub u32);

impl LinkType {
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    pub const RAW: LinkType = LinkType(101);
    pub const LOOP: LinkType = LinkType(108);
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// libpcap reports DLT_ values; only DLT_RAW differs from its
    /// LINKTYPE_ among the types that matter here (12 on Linux, 14 on
    /// OpenBSD, written to files as 101).
    pub fn from_dlt(dlt: i32) -> LinkType {
        match dlt {
            12 | 14 => LinkType::RAW,
            other => LinkType(u32::try_from(other).unwrap_or(u32::MAX)),
        }
    }

    pub fn name(self) -> String {
        let known = match self.0 {
            0 => "NULL",
            1 => "ETHERNET",
            6 => "IEEE802_5",
            9 => "PPP",
            10 => "FDDI",
            101 => "RAW",
            105 => "IEEE802_11",
            108 => "LOOP",
            113 => "LINUX_SLL",
            119 => "IEEE802_11_PRISM",
            127 => "IEEE802_11_RADIOTAP",
            129 => "ARCNET_LINUX",
            228 => "IPV4",
            229 => "IPV6",
            239 => "NFLOG",
            258 => "PKTAP",
            276 => "LINUX_SLL2",
            _ => return format!("LINKTYPE_{}", self.0),
        };
        known.to_string()
    }

    /// Whether this build decodes the link type at all.
    pub fn is_supported(self) -> bool {
        matches!(
            self,
            LinkType::NULL
                | LinkType::ETHERNET
                | LinkType::RAW
                | LinkType::LOOP
                | LinkType::LINUX_SLL
                | LinkType::IPV4
                | LinkType::IPV6
                | LinkType::LINUX_SLL2
        )
    }
}

/// Which IP version the network-layer bytes hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetProto {
    Ipv4,
    Ipv6,
}

/// The network-layer packet inside a frame.
#[derive(Debug, PartialEq, Eq)]
pub struct NetPacket<'a> {
    pub proto: NetProto,
    pub bytes: &'a [u8],
}

/// Why a frame yields no IP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkSkip {
    NotDns(NotDns),
    Malformed(Malformed),
}

/// Stacked 802.1Q/802.1ad tags beyond this are treated as a malformed frame:
/// real networks stack two or three, and the bound stops a frame of
/// nothing but tags from looping long.
const MAX_VLAN_TAGS: usize = 8;

/// Labels in one MPLS stack beyond this are treated as malformed.
const MAX_MPLS_LABELS: usize = 16;

const ETHERTYPE_QINQ_OLD: [u16; 3] = [0x9100, 0x9200, 0x9300];
const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;
const ETHERTYPE_MPLS_UNICAST: u16 = 0x8847;
const ETHERTYPE_MPLS_MULTICAST: u16 = 0x8848;
const PPP_IPV4: u16 = 0x0021;
const PPP_IPV6: u16 = 0x0057;

/// Strips the link layer of `frame`.
pub fn strip(link: LinkType, frame: &[u8]) -> Result<NetPacket<'_>, LinkSkip> {
    match link {
        LinkType::ETHERNET => ethernet(frame),
        LinkType::RAW => by_version(frame),
        LinkType::IPV4 => Ok(NetPacket {
            proto: NetProto::Ipv4,
            bytes: frame,
        }),
        LinkType::IPV6 => Ok(NetPacket {
            proto: NetProto::Ipv6,
            bytes: frame,
        }),
        LinkType::NULL | LinkType::LOOP => null_loopback(frame),
        LinkType::LINUX_SLL => linux_sll(frame),
        LinkType::LINUX_SLL2 => linux_sll2(frame),
        _ => Err(LinkSkip::NotDns(NotDns::UnsupportedLinkType)),
    }
}

fn truncated() -> LinkSkip {
    LinkSkip::Malformed(Malformed::LinkTruncated)
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at + 2)?;
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
}

fn ethernet(frame: &[u8]) -> Result<NetPacket<'_>, LinkSkip> {
    let eth = Ethernet2HeaderSlice::from_slice(frame).map_err(|_| truncated())?;
    let rest = frame.get(eth.slice().len()..).ok_or_else(truncated)?;
    by_ethertype(eth.ether_type().0, rest)
}

/// Follows an EtherType through VLAN tags, PPPoE and MPLS to IP.
fn by_ethertype(mut ether_type: u16, mut rest: &[u8]) -> Result<NetPacket<'_>, LinkSkip> {
    let mut tags = 0;
    loop {
        match ether_type {
            t if t == EtherType::IPV4.0 => {
                return Ok(NetPacket {
                    proto: NetProto::Ipv4,
                    bytes: rest,
                });
            }
            t if t == EtherType::IPV6.0 => {
                return Ok(NetPacket {
                    proto: NetProto::Ipv6,
                    bytes: rest,
                });
            }
            t if t == EtherType::VLAN_TAGGED_FRAME.0
                || t == EtherType::PROVIDER_BRIDGING.0
                || t == EtherType::VLAN_DOUBLE_TAGGED_FRAME.0
                || ETHERTYPE_QINQ_OLD.contains(&t) =>
            {
                tags += 1;
                if tags > MAX_VLAN_TAGS {
                    return Err(LinkSkip::Malformed(Malformed::LinkTruncated));
                }
                let vlan = SingleVlanHeaderSlice::from_slice(rest).map_err(|_| truncated())?;
                ether_type = vlan.ether_type().0;
                rest = rest.get(vlan.slice().len()..).ok_or_else(truncated)?;
            }
            ETHERTYPE_PPPOE_SESSION => {
                // RFC 2516: ver/type, code, session id, length, then PPP protocol.
                let length = usize::from(be16(rest, 4).ok_or_else(truncated)?);
                let ppp = be16(rest, 6).ok_or_else(truncated)?;
                let end = (6 + length).min(rest.len());
                let payload = rest.get(8..end).ok_or_else(truncated)?;
                return ppp_protocol(ppp, payload);
            }
            ETHERTYPE_MPLS_UNICAST | ETHERTYPE_MPLS_MULTICAST => return mpls(rest),
            _ => return Err(LinkSkip::NotDns(NotDns::NotIp)),
        }
    }
}

fn ppp_protocol(protocol: u16, payload: &[u8]) -> Result<NetPacket<'_>, LinkSkip> {
    match protocol {
        PPP_IPV4 => Ok(NetPacket {
            proto: NetProto::Ipv4,
            bytes: payload,
        }),
        PPP_IPV6 => Ok(NetPacket {
            proto: NetProto::Ipv6,
            bytes: payload,
        }),
        _ => Err(LinkSkip::NotDns(NotDns::NotIp)),
    }
}

/// MPLS label stack (RFC 3032); the payload after the bottom of stack is
/// told apart by its IP version nibble, as every MPLS decoder does.
fn mpls(mut rest: &[u8]) -> Result<NetPacket<'_>, LinkSkip> {
    for _ in 0..MAX_MPLS_LABELS {
        let entry = rest.get(..4).ok_or_else(truncated)?;
        let bottom = entry.get(2).is_some_and(|b| b & 0x01 == 1);
        rest = rest.get(4..).ok_or_else(truncated)?;
        if bottom {
            return by_version(rest);
        }
    }
    Err(LinkSkip::Malformed(Malformed::LinkTruncated))
}

fn by_version(bytes: &[u8]) -> Result<NetPacket<'_>, LinkSkip> {
    match bytes.first().map(|b| b >> 4) {
        Some(4) => Ok(NetPacket {
            proto: NetProto::Ipv4,
            bytes,
        }),
        Some(6) => Ok(NetPacket {
            proto: NetProto::Ipv6,
            bytes,
        }),
        Some(_) => Err(LinkSkip::NotDns(NotDns::NotIp)),
        None => Err(truncated()),
    }
}

/// BSD loopback: a 4-byte address family in the *capturing* host's byte
/// order, so both orders are tried. IPv6's value differs between BSDs.
fn null_loopback(frame: &[u8]) -> Result<NetPacket<'_>, LinkSkip> {
    let family = frame.get(..4).ok_or_else(truncated)?;
    let rest = frame.get(4..).ok_or_else(truncated)?;
    let mut raw = [0u8; 4];
    raw.copy_from_slice(family);
    let family = match u32::from_le_bytes(raw) {
        f if f <= 0xffff => f,
        _ => u32::from_be_bytes(raw),
    };
    match family {
        2 => Ok(NetPacket {
            proto: NetProto::Ipv4,
            bytes: rest,
        }),
        24 | 28 | 30 => Ok(NetPacket {
            proto: NetProto::Ipv6,
            bytes: rest,
        }),
        _ => Err(LinkSkip::NotDns(NotDns::NotIp)),
    }
}

/// Linux cooked capture v1: 16-byte header, protocol at offset 14.
fn linux_sll(frame: &[u8]) -> Result<NetPacket<'_>, LinkSkip> {
    let protocol = be16(frame, 14).ok_or_else(truncated)?;
    let rest = frame.get(16..).ok_or_else(truncated)?;
    by_ethertype(protocol, rest)
}

/// Linux cooked capture v2: 20-byte header, protocol at offset 0.
fn linux_sll2(frame: &[u8]) -> Result<NetPacket<'_>, LinkSkip> {
    let protocol = be16(frame, 0).ok_or_else(truncated)?;
    let rest = frame.get(20..).ok_or_else(truncated)?;
    by_ethertype(protocol, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    const IPV4_MIN: [u8; 1] = [0x45];

    fn eth(ether_type: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&ether_type.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn ethernet_ipv4() {
        let f = eth(0x0800, &IPV4_MIN);
        let p = strip(LinkType::ETHERNET, &f).unwrap();
        assert_eq!(p.proto, NetProto::Ipv4);
        assert_eq!(p.bytes, &IPV4_MIN);
    }

    #[test]
    fn stacked_vlan_tags_of_every_family() {
        for outer in [0x8100u16, 0x88a8, 0x9100, 0x9200] {
            let mut inner = vec![0x00, 0x0b];
            inner.extend_from_slice(&0x8100u16.to_be_bytes());
            inner.extend_from_slice(&[0x00, 0x0c]);
            inner.extend_from_slice(&0x86ddu16.to_be_bytes());
            inner.push(0x60);
            let f = eth(outer, &inner);
            let p = strip(LinkType::ETHERNET, &f).unwrap();
            assert_eq!(p.proto, NetProto::Ipv6, "outer {outer:#x}");
        }
    }

    #[test]
    fn endless_vlan_tags_are_malformed() {
        let mut tags = Vec::new();
        for _ in 0..(MAX_VLAN_TAGS + 2) {
            tags.extend_from_slice(&[0x00, 0x01, 0x81, 0x00]);
        }
        let f = eth(0x8100, &tags);
        assert_eq!(
            strip(LinkType::ETHERNET, &f),
            Err(LinkSkip::Malformed(Malformed::LinkTruncated))
        );
    }

    #[test]
    fn truncated_frames_never_panic() {
        let full = eth(
            0x8100,
            &[0x00, 0x0b, 0x88, 0x64, 0x11, 0x00, 0, 1, 0, 8, 0, 0x21],
        );
        for cut in 0..full.len() {
            let _ = strip(LinkType::ETHERNET, &full[..cut]);
            let _ = strip(LinkType::LINUX_SLL, &full[..cut]);
            let _ = strip(LinkType::LINUX_SLL2, &full[..cut]);
            let _ = strip(LinkType::NULL, &full[..cut]);
            let _ = strip(LinkType::RAW, &full[..cut]);
        }
    }

    #[test]
    fn pppoe_session_ipv4() {
        // ver/type 0x11, code 0, session 1, length 3 (2 PPP + 1 payload)
        let f = eth(
            0x8864,
            &[0x11, 0x00, 0x00, 0x01, 0x00, 0x03, 0x00, 0x21, 0x45, 0xff],
        );
        let p = strip(LinkType::ETHERNET, &f).unwrap();
        assert_eq!(p.proto, NetProto::Ipv4);
        assert_eq!(p.bytes, &[0x45], "PPPoE length bounds the payload");
    }

    #[test]
    fn mpls_stack() {
        let f = eth(0x8847, &[0, 0, 0x10, 64, 0, 0, 0x21, 64, 0x45]);
        assert_eq!(strip(LinkType::ETHERNET, &f).unwrap().bytes, &[0x45]);
    }

    #[test]
    fn null_loopback_both_byte_orders() {
        for family in [[2u8, 0, 0, 0], [0, 0, 0, 2]] {
            let mut f = family.to_vec();
            f.push(0x45);
            assert_eq!(strip(LinkType::NULL, &f).unwrap().proto, NetProto::Ipv4);
        }
        let f = [30u8, 0, 0, 0, 0x60];
        assert_eq!(strip(LinkType::NULL, &f).unwrap().proto, NetProto::Ipv6);
    }

    #[test]
    fn sll_and_sll2() {
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&[0x08, 0x00, 0x45]);
        assert_eq!(strip(LinkType::LINUX_SLL, &sll).unwrap().bytes, &[0x45]);
        let mut sll2 = vec![0x86, 0xdd];
        sll2.extend_from_slice(&[0u8; 18]);
        sll2.push(0x60);
        assert_eq!(strip(LinkType::LINUX_SLL2, &sll2).unwrap().bytes, &[0x60]);
    }

    #[test]
    fn unsupported_link_type() {
        assert_eq!(
            strip(LinkType(10), &[0; 40]),
            Err(LinkSkip::NotDns(NotDns::UnsupportedLinkType))
        );
        assert!(!LinkType(10).is_supported());
        assert_eq!(LinkType(10).name(), "FDDI");
        assert_eq!(LinkType(4242).name(), "LINKTYPE_4242");
    }
}
