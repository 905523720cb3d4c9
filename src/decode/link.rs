//! Link layer: from a captured frame to the IP packet inside it.
//!
//! Every accessor goes through `get`/checked slices; a frame shorter than
//! its headers is `Malformed::LinkTruncated`, never a panic. VLAN ids met on
//! the way are pushed onto the caller's [`VlanStack`].

use etherparse::{EtherType, Ethernet2HeaderSlice, SingleVlanHeaderSlice};

use crate::model::VlanStack;
use crate::model::{Malformed, NotDns};

/// A pcap LINKTYPE_ value (tcpdump.org/linktypes.html), as stored in the
/// file. libpcap hands out DLT_ values, which differ for a few types; the
/// capture stage converts with [`LinkType::from_dlt`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkType(pub u32);

impl LinkType {
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    pub const PPP: LinkType = LinkType(9);
    pub const FDDI: LinkType = LinkType(10);
    pub const PPP_HDLC: LinkType = LinkType(50);
    pub const PPP_ETHER: LinkType = LinkType(51);
    pub const RAW: LinkType = LinkType(101);
    pub const C_HDLC: LinkType = LinkType(104);
    pub const IEEE802_11: LinkType = LinkType(105);
    pub const LOOP: LinkType = LinkType(108);
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IEEE802_11_PRISM: LinkType = LinkType(119);
    pub const IEEE802_11_RADIOTAP: LinkType = LinkType(127);
    pub const ARCNET_LINUX: LinkType = LinkType(129);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    pub const NFLOG: LinkType = LinkType(239);
    pub const PKTAP: LinkType = LinkType(258);
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// libpcap reports DLT_ values; these differ from the LINKTYPE_ written
    /// in files for raw IP (12 on Linux, 14 on OpenBSD) and for Apple's
    /// PKTAP (DLT 149 on Darwin).
    pub fn from_dlt(dlt: i32) -> LinkType {
        match dlt {
            12 | 14 => LinkType::RAW,
            149 => LinkType::PKTAP,
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
            50 => "PPP_HDLC",
            51 => "PPP_ETHER",
            101 => "RAW",
            104 => "C_HDLC",
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

    /// Every link type this build decodes.
    pub const SUPPORTED: [LinkType; 19] = [
        LinkType::ETHERNET,
        LinkType::RAW,
        LinkType::IPV4,
        LinkType::IPV6,
        LinkType::NULL,
        LinkType::LOOP,
        LinkType::LINUX_SLL,
        LinkType::LINUX_SLL2,
        LinkType::PPP,
        LinkType::PPP_HDLC,
        LinkType::PPP_ETHER,
        LinkType::C_HDLC,
        LinkType::IEEE802_11,
        LinkType::IEEE802_11_RADIOTAP,
        LinkType::IEEE802_11_PRISM,
        LinkType::NFLOG,
        LinkType::PKTAP,
        LinkType::FDDI,
        LinkType::ARCNET_LINUX,
    ];

    /// Whether this build decodes the link type at all.
    pub fn is_supported(self) -> bool {
        LinkType::SUPPORTED.contains(&self)
    }
}

/// Which IP version the network-layer bytes hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetProto {
    Ipv4,
    Ipv6,
}

/// The network-layer packet inside a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// Stacked 802.1Q/802.1ad tags beyond this make the frame malformed: real
/// networks stack two or three, and the bound stops a frame of nothing but
/// tags from looping long.
const MAX_VLAN_TAGS: usize = 8;

/// Labels in one MPLS stack beyond this make the frame malformed.
const MAX_MPLS_LABELS: usize = 16;

/// PKTAP wraps another link type; a PKTAP inside a PKTAP is not real.
const MAX_LINK_NESTING: u8 = 2;

const ETHERTYPE_QINQ_OLD: [u16; 3] = [0x9100, 0x9200, 0x9300];
const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;
const ETHERTYPE_MPLS_UNICAST: u16 = 0x8847;
const ETHERTYPE_MPLS_MULTICAST: u16 = 0x8848;
/// Transparent Ethernet bridging: the payload is an Ethernet frame.
pub const ETHERTYPE_TEB: u16 = 0x6558;
const PPP_IPV4: u16 = 0x0021;
const PPP_IPV6: u16 = 0x0057;

/// Strips the link layer of `frame`.
pub fn strip<'a>(
    link: LinkType,
    frame: &'a [u8],
    vlan: &mut VlanStack,
) -> Result<NetPacket<'a>, LinkSkip> {
    strip_nested(link, frame, vlan, 0)
}

fn strip_nested<'a>(
    link: LinkType,
    frame: &'a [u8],
    vlan: &mut VlanStack,
    depth: u8,
) -> Result<NetPacket<'a>, LinkSkip> {
    match link {
        LinkType::ETHERNET => ethernet(frame, vlan),
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
        LinkType::LINUX_SLL => linux_sll(frame, vlan),
        LinkType::LINUX_SLL2 => linux_sll2(frame, vlan),
        LinkType::PPP | LinkType::PPP_HDLC => ppp(frame),
        LinkType::PPP_ETHER => pppoe_session(frame),
        LinkType::C_HDLC => cisco_hdlc(frame, vlan),
        LinkType::IEEE802_11 => ieee802_11(frame, vlan),
        LinkType::IEEE802_11_RADIOTAP => radiotap(frame, vlan),
        LinkType::IEEE802_11_PRISM => prism(frame, vlan),
        LinkType::NFLOG => nflog(frame),
        LinkType::PKTAP if depth < MAX_LINK_NESTING => pktap(frame, vlan, depth),
        LinkType::FDDI => fddi(frame, vlan),
        LinkType::ARCNET_LINUX => arcnet_linux(frame),
        _ => Err(LinkSkip::NotDns(NotDns::UnsupportedLinkType)),
    }
}

fn truncated() -> LinkSkip {
    LinkSkip::Malformed(Malformed::LinkTruncated)
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]))
}

fn le16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]))
}

fn le32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 4)?;
    Some(u32::from_le_bytes([
        *b.first()?,
        *b.get(1)?,
        *b.get(2)?,
        *b.get(3)?,
    ]))
}

/// An Ethernet II frame.
pub fn ethernet<'a>(frame: &'a [u8], vlan: &mut VlanStack) -> Result<NetPacket<'a>, LinkSkip> {
    let eth = Ethernet2HeaderSlice::from_slice(frame).map_err(|_| truncated())?;
    let rest = frame.get(eth.slice().len()..).ok_or_else(truncated)?;
    by_ethertype(eth.ether_type().0, rest, vlan)
}

/// Follows an EtherType through VLAN tags, PPPoE and MPLS to IP.
pub fn by_ethertype<'a>(
    mut ether_type: u16,
    mut rest: &'a [u8],
    vlan: &mut VlanStack,
) -> Result<NetPacket<'a>, LinkSkip> {
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
                    return Err(LinkSkip::Malformed(Malformed::TooManyVlanTags));
                }
                let tag = SingleVlanHeaderSlice::from_slice(rest).map_err(|_| truncated())?;
                vlan.push(tag.vlan_identifier().value());
                ether_type = tag.ether_type().0;
                rest = rest.get(tag.slice().len()..).ok_or_else(truncated)?;
            }
            ETHERTYPE_PPPOE_SESSION => return pppoe_session(rest),
            ETHERTYPE_MPLS_UNICAST | ETHERTYPE_MPLS_MULTICAST => return mpls(rest),
            ETHERTYPE_TEB => return ethernet(rest, vlan),
            _ => return Err(LinkSkip::NotDns(NotDns::NotIp)),
        }
    }
}

/// PPPoE session stage (RFC 2516): ver/type, code, session id, length,
/// then a PPP protocol field.
fn pppoe_session(rest: &[u8]) -> Result<NetPacket<'_>, LinkSkip> {
    let length = usize::from(be16(rest, 4).ok_or_else(truncated)?);
    let end = (6 + length).min(rest.len());
    let ppp_frame = rest.get(6..end).ok_or_else(truncated)?;
    ppp(ppp_frame)
}

/// A PPP frame (RFC 1661): optional HDLC address/control `ff 03`, then a
/// protocol field of one byte (protocol-field compression) or two.
pub fn ppp(frame: &[u8]) -> Result<NetPacket<'_>, LinkSkip> {
    let frame = match frame {
        [0xff, 0x03, rest @ ..] => rest,
        other => other,
    };
    let first = *frame.first().ok_or_else(truncated)?;
    let (protocol, payload) = if first & 0x01 == 1 {
        (u16::from(first), frame.get(1..).ok_or_else(truncated)?)
    } else {
        (
            be16(frame, 0).ok_or_else(truncated)?,
            frame.get(2..).ok_or_else(truncated)?,
        )
    };
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

/// Cisco HDLC: address, control, then an EtherType.
fn cisco_hdlc<'a>(frame: &'a [u8], vlan: &mut VlanStack) -> Result<NetPacket<'a>, LinkSkip> {
    let protocol = be16(frame, 2).ok_or_else(truncated)?;
    by_ethertype(protocol, frame.get(4..).ok_or_else(truncated)?, vlan)
}

/// MPLS label stack (RFC 3032); the payload after the bottom of stack is
/// told apart by its IP version nibble, as every MPLS decoder does.
pub fn mpls(mut rest: &[u8]) -> Result<NetPacket<'_>, LinkSkip> {
    for _ in 0..MAX_MPLS_LABELS {
        let bottom = rest.get(2).ok_or_else(truncated)? & 0x01 == 1;
        rest = rest.get(4..).ok_or_else(truncated)?;
        if bottom {
            return by_version(rest);
        }
    }
    Err(LinkSkip::Malformed(Malformed::TooManyMplsLabels))
}

pub fn by_version(bytes: &[u8]) -> Result<NetPacket<'_>, LinkSkip> {
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
    let raw = le32(frame, 0).ok_or_else(truncated)?;
    let rest = frame.get(4..).ok_or_else(truncated)?;
    let family = if raw <= 0xffff { raw } else { raw.swap_bytes() };
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
fn linux_sll<'a>(frame: &'a [u8], vlan: &mut VlanStack) -> Result<NetPacket<'a>, LinkSkip> {
    let protocol = be16(frame, 14).ok_or_else(truncated)?;
    by_ethertype(protocol, frame.get(16..).ok_or_else(truncated)?, vlan)
}

/// Linux cooked capture v2: 20-byte header, protocol at offset 0.
fn linux_sll2<'a>(frame: &'a [u8], vlan: &mut VlanStack) -> Result<NetPacket<'a>, LinkSkip> {
    let protocol = be16(frame, 0).ok_or_else(truncated)?;
    by_ethertype(protocol, frame.get(20..).ok_or_else(truncated)?, vlan)
}

/// Linux NFLOG: family, version, resource id, then TLVs whose length and
/// type are in the capturing host's byte order; the packet is the
/// NFULA_PAYLOAD TLV (type 9). TLVs are padded to 4 bytes.
fn nflog(frame: &[u8]) -> Result<NetPacket<'_>, LinkSkip> {
    const NFULA_PAYLOAD: u16 = 9;
    let family = *frame.first().ok_or_else(truncated)?;
    let tlvs = frame.get(4..).ok_or_else(truncated)?;
    // Try little-endian TLV headers first (what x86 and ARM hosts write),
    // then big-endian.
    for big_endian in [false, true] {
        let mut at = 0usize;
        while at + 4 <= tlvs.len() {
            let (len, typ) = if big_endian {
                (be16(tlvs, at), be16(tlvs, at + 2))
            } else {
                (le16(tlvs, at), le16(tlvs, at + 2))
            };
            let (Some(len), Some(typ)) = (len, typ) else {
                break;
            };
            let len = usize::from(len);
            if len < 4 || at + len > tlvs.len() {
                break;
            }
            if typ & 0x7fff == NFULA_PAYLOAD {
                let payload = tlvs.get(at + 4..at + len).ok_or_else(truncated)?;
                return match family {
                    2 => Ok(NetPacket {
                        proto: NetProto::Ipv4,
                        bytes: payload,
                    }),
                    10 => Ok(NetPacket {
                        proto: NetProto::Ipv6,
                        bytes: payload,
                    }),
                    _ => by_version(payload),
                };
            }
            at += (len + 3) & !3;
        }
    }
    Err(LinkSkip::NotDns(NotDns::NotIp))
}

/// Apple PKTAP: a little-endian header length and the DLT of the packet
/// that follows, which is decoded as that link type.
fn pktap<'a>(frame: &'a [u8], vlan: &mut VlanStack, depth: u8) -> Result<NetPacket<'a>, LinkSkip> {
    let header_len = usize::try_from(le32(frame, 0).ok_or_else(truncated)?).unwrap_or(usize::MAX);
    let next = le32(frame, 4).ok_or_else(truncated)?;
    let inner = frame.get(header_len..).ok_or_else(truncated)?;
    let dlt = i32::try_from(next).unwrap_or(i32::MAX);
    strip_nested(LinkType::from_dlt(dlt), inner, vlan, depth + 1)
}

/// Radiotap: a little-endian header length, then an 802.11 frame. A
/// trailing FCS does no harm: IP and UDP lengths bound the payload.
fn radiotap<'a>(frame: &'a [u8], vlan: &mut VlanStack) -> Result<NetPacket<'a>, LinkSkip> {
    let len = usize::from(le16(frame, 2).ok_or_else(truncated)?);
    ieee802_11(frame.get(len..).ok_or_else(truncated)?, vlan)
}

/// Prism monitoring header: its length is the little-endian word at 4.
fn prism<'a>(frame: &'a [u8], vlan: &mut VlanStack) -> Result<NetPacket<'a>, LinkSkip> {
    let len = usize::try_from(le32(frame, 4).ok_or_else(truncated)?).unwrap_or(usize::MAX);
    ieee802_11(frame.get(len..).ok_or_else(truncated)?, vlan)
}

/// An 802.11 data frame: MAC header (24 bytes, +6 with four addresses, +2
/// for QoS, +4 for HT control), then LLC/SNAP carrying an EtherType.
fn ieee802_11<'a>(frame: &'a [u8], vlan: &mut VlanStack) -> Result<NetPacket<'a>, LinkSkip> {
    let fc0 = *frame.first().ok_or_else(truncated)?;
    let fc1 = *frame.get(1).ok_or_else(truncated)?;
    let frame_type = (fc0 >> 2) & 0x3;
    let subtype = fc0 >> 4;
    if frame_type != 2 || subtype & 0x4 != 0 {
        // Management, control, or a data frame without data ("null").
        return Err(LinkSkip::NotDns(NotDns::NotIp));
    }
    if fc1 & 0x40 != 0 {
        return Err(LinkSkip::NotDns(NotDns::Encrypted));
    }
    let qos = subtype & 0x8 != 0;
    let mut header = 24;
    if fc1 & 0x03 == 0x03 {
        header += 6;
    }
    if qos {
        header += 2;
        if fc1 & 0x80 != 0 {
            header += 4;
        }
    }
    let llc = frame.get(header..).ok_or_else(truncated)?;
    match llc {
        [0xaa, 0xaa, 0x03, _, _, _, t0, t1, rest @ ..] => {
            by_ethertype(u16::from_be_bytes([*t0, *t1]), rest, vlan)
        }
        [_, _, _, _, _, _, _, _, ..] => Err(LinkSkip::NotDns(NotDns::NotIp)),
        _ => Err(truncated()),
    }
}

/// FDDI (libpcap's DLT_FDDI): frame control, destination and source
/// addresses (13 bytes), then IEEE 802.2 LLC; IP rides in SNAP.
fn fddi<'a>(frame: &'a [u8], vlan: &mut VlanStack) -> Result<NetPacket<'a>, LinkSkip> {
    const HEADER: usize = 13;
    let fc = *frame.first().ok_or_else(truncated)?;
    // Frame control 0b01LL_0xxx: an asynchronous LLC frame; anything else
    // is MAC or station management.
    if fc & 0xf8 != 0x50 && fc & 0xf8 != 0x58 {
        return Err(LinkSkip::NotDns(NotDns::NotIp));
    }
    match frame.get(HEADER..).ok_or_else(truncated)? {
        [0xaa, 0xaa, 0x03, _, _, _, t0, t1, rest @ ..] => {
            by_ethertype(u16::from_be_bytes([*t0, *t1]), rest, vlan)
        }
        [_, _, _, _, _, _, _, _, ..] => Err(LinkSkip::NotDns(NotDns::NotIp)),
        _ => Err(truncated()),
    }
}

/// ARCnet as Linux captures it (DLT_ARCNET_LINUX): source and destination
/// station (one byte each), a two-byte offset, then the protocol id. RFC
/// 1201 protocols carry a split flag and a sequence number before the
/// packet; RFC 1051 ones do not. A packet split over several ARCnet
/// frames (split flag not 0) is not reassembled: DNS over ARCnet is a
/// museum piece, and tshark shows such fragments undecoded too.
fn arcnet_linux(frame: &[u8]) -> Result<NetPacket<'_>, LinkSkip> {
    const RFC1201_IP: u8 = 0xd4;
    const RFC1201_IPV6: u8 = 0xc4;
    const RFC1051_IP: u8 = 0xf0;
    let protocol = *frame.get(4).ok_or_else(truncated)?;
    let (proto, at) = match protocol {
        RFC1201_IP | RFC1201_IPV6 => {
            let split = *frame.get(5).ok_or_else(truncated)?;
            // 0xff marks an exception packet: four more bytes, then the
            // flag again.
            let (split, at) = if split == 0xff {
                (*frame.get(9).ok_or_else(truncated)?, 12)
            } else {
                (split, 8)
            };
            if split != 0 {
                return Err(LinkSkip::NotDns(NotDns::NotIp));
            }
            let proto = if protocol == RFC1201_IP {
                NetProto::Ipv4
            } else {
                NetProto::Ipv6
            };
            (proto, at)
        }
        RFC1051_IP => (NetProto::Ipv4, 5),
        _ => return Err(LinkSkip::NotDns(NotDns::NotIp)),
    };
    let bytes = frame.get(at..).ok_or_else(truncated)?;
    Ok(NetPacket { proto, bytes })
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

    fn strip_v(link: LinkType, f: &[u8]) -> (Result<NetPacket<'_>, LinkSkip>, VlanStack) {
        let mut v = VlanStack::default();
        (strip(link, f, &mut v), v)
    }

    #[test]
    fn ethernet_ipv4() {
        let f = eth(0x0800, &IPV4_MIN);
        let p = strip_v(LinkType::ETHERNET, &f).0.unwrap();
        assert_eq!(p.proto, NetProto::Ipv4);
        assert_eq!(p.bytes, &IPV4_MIN);
    }

    /// An FDDI frame: frame control, two station addresses, then `llc`.
    fn fddi_frame(frame_control: u8, llc: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut f = vec![frame_control];
        f.extend_from_slice(&[0xaa, 0, 4, 0, 0x83, 0xa7, 0xaa, 0, 4, 0, 0x82, 0xa7]);
        f.extend_from_slice(llc);
        f.extend_from_slice(payload);
        f
    }

    const SNAP_IPV4: [u8; 8] = [0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00];

    #[test]
    fn fddi_carries_ip_in_snap() {
        let f = fddi_frame(0x50, &SNAP_IPV4, &IPV4_MIN);
        let p = strip_v(LinkType::FDDI, &f).0.unwrap();
        assert_eq!((p.proto, p.bytes), (NetProto::Ipv4, &IPV4_MIN[..]));
        // Station management, and LLC that is not SNAP, carry no IP.
        let smt = fddi_frame(0x41, &SNAP_IPV4, &IPV4_MIN);
        assert_eq!(
            strip_v(LinkType::FDDI, &smt).0,
            Err(LinkSkip::NotDns(NotDns::NotIp))
        );
        let netbios = fddi_frame(0x50, &[0xf0, 0xf0, 0x03, 0, 0, 0, 0, 0], &IPV4_MIN);
        assert_eq!(
            strip_v(LinkType::FDDI, &netbios).0,
            Err(LinkSkip::NotDns(NotDns::NotIp))
        );
        assert_eq!(strip_v(LinkType::FDDI, &f[..16]).0, Err(truncated()));
    }

    /// A Linux ARCnet frame: source, destination, offset, protocol, then
    /// `rest` (split flag and sequence for RFC 1201 protocols).
    fn arcnet_frame(protocol: u8, rest: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0xbe, 0x50, 0xa8, 0xe7, protocol];
        f.extend_from_slice(rest);
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn arcnet_rfc1201_and_rfc1051_carry_ip() {
        let whole = arcnet_frame(0xd4, &[0, 0x01, 0x66], &IPV4_MIN);
        let p = strip_v(LinkType::ARCNET_LINUX, &whole).0.unwrap();
        assert_eq!((p.proto, p.bytes), (NetProto::Ipv4, &IPV4_MIN[..]));
        let v6 = arcnet_frame(0xc4, &[0, 0, 1], &[0x60]);
        assert_eq!(
            strip_v(LinkType::ARCNET_LINUX, &v6).0.unwrap().proto,
            NetProto::Ipv6
        );
        let exception = arcnet_frame(0xd4, &[0xff, 0, 0, 0xd4, 0, 0, 1], &IPV4_MIN);
        assert_eq!(
            strip_v(LinkType::ARCNET_LINUX, &exception).0.unwrap().bytes,
            &IPV4_MIN[..]
        );
        let rfc1051 = arcnet_frame(0xf0, &[], &IPV4_MIN);
        assert_eq!(
            strip_v(LinkType::ARCNET_LINUX, &rfc1051).0.unwrap().bytes,
            &IPV4_MIN[..]
        );
        // A fragment of a split packet, and ARP, are not decoded.
        for f in [
            arcnet_frame(0xd4, &[0x03, 0, 1], &IPV4_MIN),
            arcnet_frame(0xd5, &[0, 0, 1], &[0, 1]),
        ] {
            assert_eq!(
                strip_v(LinkType::ARCNET_LINUX, &f).0,
                Err(LinkSkip::NotDns(NotDns::NotIp))
            );
        }
        assert_eq!(
            strip_v(LinkType::ARCNET_LINUX, &whole[..6]).0,
            Err(truncated())
        );
    }

    #[test]
    fn stacked_vlan_tags_of_every_family_are_kept_outer_first() {
        for outer in [0x8100u16, 0x88a8, 0x9100, 0x9200] {
            let mut inner = vec![0x00, 0x0b];
            inner.extend_from_slice(&0x8100u16.to_be_bytes());
            inner.extend_from_slice(&[0x20, 0x0c]);
            inner.extend_from_slice(&0x8100u16.to_be_bytes());
            inner.extend_from_slice(&[0x00, 0x0d]);
            inner.extend_from_slice(&0x86ddu16.to_be_bytes());
            inner.push(0x60);
            let f = eth(outer, &inner);
            let (p, v) = strip_v(LinkType::ETHERNET, &f);
            assert_eq!(p.unwrap().proto, NetProto::Ipv6, "outer {outer:#x}");
            assert_eq!(v.ids(), &[11, 12, 13], "PCP bits are not part of the id");
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
            strip_v(LinkType::ETHERNET, &f).0,
            Err(LinkSkip::Malformed(Malformed::TooManyVlanTags))
        );
    }

    #[test]
    fn truncated_frames_never_panic() {
        let full = eth(
            0x8100,
            &[0x00, 0x0b, 0x88, 0x64, 0x11, 0x00, 0, 1, 0, 8, 0, 0x21],
        );
        for link in LinkType::SUPPORTED {
            for cut in 0..full.len() {
                let _ = strip_v(link, &full[..cut]);
            }
            let _ = strip_v(link, &[0xff; 64]);
        }
    }

    #[test]
    fn pppoe_session_ipv4() {
        // ver/type 0x11, code 0, session 1, length 3 (2 PPP + 1 payload)
        let f = eth(
            0x8864,
            &[0x11, 0x00, 0x00, 0x01, 0x00, 0x03, 0x00, 0x21, 0x45, 0xff],
        );
        let p = strip_v(LinkType::ETHERNET, &f).0.unwrap();
        assert_eq!(p.proto, NetProto::Ipv4);
        assert_eq!(p.bytes, &[0x45], "PPPoE length bounds the payload");
    }

    #[test]
    fn ppp_with_and_without_address_control_and_compression() {
        for f in [
            &[0xff, 0x03, 0x00, 0x21, 0x45][..],
            &[0x00, 0x21, 0x45],
            &[0x21, 0x45],
        ] {
            assert_eq!(strip_v(LinkType::PPP, f).0.unwrap().bytes, &[0x45]);
        }
        assert_eq!(
            strip_v(LinkType::PPP, &[0xc0, 0x21, 1]).0,
            Err(LinkSkip::NotDns(NotDns::NotIp)),
            "LCP is not IP"
        );
    }

    #[test]
    fn mpls_stack() {
        let f = eth(0x8847, &[0, 0, 0x10, 64, 0, 0, 0x21, 64, 0x45]);
        assert_eq!(strip_v(LinkType::ETHERNET, &f).0.unwrap().bytes, &[0x45]);
    }

    #[test]
    fn null_loopback_both_byte_orders() {
        for family in [[2u8, 0, 0, 0], [0, 0, 0, 2]] {
            let mut f = family.to_vec();
            f.push(0x45);
            assert_eq!(strip_v(LinkType::NULL, &f).0.unwrap().proto, NetProto::Ipv4);
        }
        let f = [30u8, 0, 0, 0, 0x60];
        assert_eq!(strip_v(LinkType::NULL, &f).0.unwrap().proto, NetProto::Ipv6);
    }

    #[test]
    fn sll_and_sll2() {
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&[0x08, 0x00, 0x45]);
        assert_eq!(strip_v(LinkType::LINUX_SLL, &sll).0.unwrap().bytes, &[0x45]);
        let mut sll2 = vec![0x86, 0xdd];
        sll2.extend_from_slice(&[0u8; 18]);
        sll2.push(0x60);
        assert_eq!(
            strip_v(LinkType::LINUX_SLL2, &sll2).0.unwrap().bytes,
            &[0x60]
        );
    }

    #[test]
    fn nflog_payload_tlv() {
        // family 2, version 0, resource 0; a prefix TLV, then the payload.
        let mut f = vec![2, 0, 0, 0];
        f.extend_from_slice(&[6, 0, 10, 0, b'x', b'y', 0, 0]);
        f.extend_from_slice(&[5, 0, 9, 0, 0x45, 0, 0, 0]);
        assert_eq!(strip_v(LinkType::NFLOG, &f).0.unwrap().bytes, &[0x45]);
    }

    #[test]
    fn pktap_wraps_another_link_type() {
        let mut f = vec![0u8; 108];
        f[0] = 108;
        f[4] = 1; // DLT_EN10MB
        f.extend_from_slice(&eth(0x0800, &IPV4_MIN));
        assert_eq!(strip_v(LinkType::PKTAP, &f).0.unwrap().bytes, &IPV4_MIN);
    }

    #[test]
    fn wifi_qos_data_with_and_without_radiotap() {
        let mut wifi = vec![0x88, 0x01];
        wifi.extend_from_slice(&[0u8; 22]); // rest of the 24-byte header
        wifi.extend_from_slice(&[0, 0]); // QoS control
        wifi.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00, 0x45]);
        assert_eq!(
            strip_v(LinkType::IEEE802_11, &wifi).0.unwrap().bytes,
            &[0x45]
        );
        let mut rt = vec![0, 0, 8, 0, 0, 0, 0, 0];
        rt.extend_from_slice(&wifi);
        assert_eq!(
            strip_v(LinkType::IEEE802_11_RADIOTAP, &rt).0.unwrap().bytes,
            &[0x45]
        );
        let mut protected = wifi.clone();
        protected[1] |= 0x40;
        assert_eq!(
            strip_v(LinkType::IEEE802_11, &protected).0,
            Err(LinkSkip::NotDns(NotDns::Encrypted))
        );
    }

    #[test]
    fn unsupported_link_type() {
        assert_eq!(
            strip_v(LinkType(6), &[0; 40]).0,
            Err(LinkSkip::NotDns(NotDns::UnsupportedLinkType))
        );
        assert!(!LinkType(6).is_supported());
        assert_eq!(LinkType(6).name(), "IEEE802_5");
        assert_eq!(LinkType::FDDI.name(), "FDDI");
        assert_eq!(LinkType(4242).name(), "LINKTYPE_4242");
    }
}
