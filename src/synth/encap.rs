//! Encapsulations for scenario captures: every link layer, tunnel and
//! fragmentation the decoder handles, built layer by layer.
//!
//! etherparse serialises the layers it has (Ethernet, 802.1Q, IPv4, IPv6
//! and its fragment header, UDP, TCP); the rest are small typed serialisers
//! here, each following its RFC or the libpcap link-type page, so that tests
//! never carry hand-edited bytes.

use std::net::IpAddr;

use etherparse::{
    EtherType, Ethernet2Header, IpFragOffset, IpHeaders, IpNumber, Ipv4Header, Ipv6FragmentHeader,
    Ipv6Header, PacketBuilder, PacketBuilderStep, SingleVlanHeader, VlanId, VlanPcp,
};

const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];

fn addr_pair(src: IpAddr, dst: IpAddr) -> ([u8; 4], [u8; 4], [u8; 16], [u8; 16]) {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => (s.octets(), d.octets(), [0; 16], [0; 16]),
        (IpAddr::V6(s), IpAddr::V6(d)) => ([0; 4], [0; 4], s.octets(), d.octets()),
        _ => panic!("scenario mixes IPv4 and IPv6 in one packet"),
    }
}

/// The IP layer of a packet from `src` to `dst` (TTL / hop limit 64).
fn ip_step(src: IpAddr, dst: IpAddr) -> PacketBuilderStep<IpHeaders> {
    let (s4, d4, s6, d6) = addr_pair(src, dst);
    if src.is_ipv4() {
        PacketBuilder::ipv4(s4, d4, 64)
    } else {
        PacketBuilder::ipv6(s6, d6, 64)
    }
}

/// An IP packet carrying `payload` in a UDP datagram.
pub fn ip_udp(src: IpAddr, dst: IpAddr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    ip_step(src, dst)
        .udp(sport, dport)
        .write(&mut out, payload)
        .unwrap_or_else(|e| panic!("build UDP: {e}"));
    out
}

/// An IP packet carrying a TCP segment.
pub fn ip_tcp(
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    seq: u32,
    syn: bool,
    payload: &[u8],
) -> Vec<u8> {
    let mut out = Vec::new();
    let t = ip_step(src, dst).tcp(sport, dport, seq, 65535);
    let t = if syn { t.syn().ack(1) } else { t.psh().ack(1) };
    t.write(&mut out, payload)
        .unwrap_or_else(|e| panic!("build TCP: {e}"));
    out
}

/// An IP packet carrying a TCP segment that acknowledges the peer's bytes
/// up to `ack`: what tells the sensor that a segment it never saw arrived.
pub fn ip_tcp_ack(
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    payload: &[u8],
) -> Vec<u8> {
    let mut out = Vec::new();
    ip_step(src, dst)
        .tcp(sport, dport, seq, 65535)
        .ack(ack)
        .write(&mut out, payload)
        .unwrap_or_else(|e| panic!("build TCP: {e}"));
    out
}

/// An IP packet with an arbitrary protocol payload (tunnels).
pub fn ip_raw(src: IpAddr, dst: IpAddr, protocol: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    ip_step(src, dst)
        .write(&mut out, IpNumber(protocol), payload)
        .unwrap_or_else(|e| panic!("build IP: {e}"));
    out
}

/// EtherType of an IP packet, from its version nibble.
pub fn ether_type_of(ip: &[u8]) -> u16 {
    match ip.first().map(|b| b >> 4) {
        Some(6) => EtherType::IPV6.0,
        _ => EtherType::IPV4.0,
    }
}

/// An Ethernet II frame.
pub fn ethernet(ether_type: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Ethernet2Header {
        source: MAC_A,
        destination: MAC_B,
        ether_type: EtherType(ether_type),
    }
    .to_bytes()
    .to_vec();
    out.extend_from_slice(payload);
    out
}

/// An Ethernet frame carrying an IP packet.
pub fn ethernet_ip(ip: &[u8]) -> Vec<u8> {
    ethernet(ether_type_of(ip), ip)
}

/// An Ethernet frame with stacked tags, outermost first: (TPID, VLAN id).
pub fn ethernet_tagged(tags: &[(u16, u16)], ether_type: u16, payload: &[u8]) -> Vec<u8> {
    let Some(((first_tpid, _), _)) = tags.split_first() else {
        return ethernet(ether_type, payload);
    };
    let mut body = Vec::new();
    for (i, (_, id)) in tags.iter().enumerate() {
        let next = tags.get(i + 1).map_or(ether_type, |(tpid, _)| *tpid);
        let tag = SingleVlanHeader {
            pcp: VlanPcp::ZERO,
            drop_eligible_indicator: false,
            vlan_id: VlanId::try_new(*id).unwrap_or_else(|e| panic!("VLAN id: {e}")),
            ether_type: EtherType(next),
        };
        body.extend_from_slice(&tag.to_bytes());
    }
    body.extend_from_slice(payload);
    ethernet(*first_tpid, &body)
}

/// Linux cooked capture v1 (LINKTYPE_LINUX_SLL): packet type, ARPHRD,
/// address length, address, protocol.
pub fn sll(ether_type: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0, 1, 0, 6];
    out.extend_from_slice(&MAC_A);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&ether_type.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Linux cooked capture v2 (LINKTYPE_LINUX_SLL2): protocol, reserved,
/// interface index, ARPHRD, packet type, address length, address.
pub fn sll2(ether_type: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = ether_type.to_be_bytes().to_vec();
    out.extend_from_slice(&[0, 0, 0, 0, 0, 2, 0, 1, 0, 6]);
    out.extend_from_slice(&MAC_A);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(payload);
    out
}

/// BSD loopback (LINKTYPE_NULL): address family in host (here: little
/// endian) byte order. IPv6 is 30, as on macOS.
pub fn null_loopback(ip: &[u8]) -> Vec<u8> {
    let family: u32 = if ether_type_of(ip) == EtherType::IPV6.0 {
        30
    } else {
        2
    };
    let mut out = family.to_le_bytes().to_vec();
    out.extend_from_slice(ip);
    out
}

/// PPP protocol number of an IP packet.
fn ppp_protocol_of(ip: &[u8]) -> u16 {
    if ether_type_of(ip) == EtherType::IPV6.0 {
        0x0057
    } else {
        0x0021
    }
}

/// A PPP frame in HDLC-like framing (LINKTYPE_PPP): `ff 03`, protocol.
pub fn ppp(ip: &[u8]) -> Vec<u8> {
    let mut out = vec![0xff, 0x03];
    out.extend_from_slice(&ppp_protocol_of(ip).to_be_bytes());
    out.extend_from_slice(ip);
    out
}

/// A PPPoE session frame (RFC 2516) inside Ethernet.
pub fn pppoe(session: u16, ip: &[u8]) -> Vec<u8> {
    let len = u16::try_from(ip.len() + 2).unwrap_or(u16::MAX);
    let mut body = vec![0x11, 0x00];
    body.extend_from_slice(&session.to_be_bytes());
    body.extend_from_slice(&len.to_be_bytes());
    body.extend_from_slice(&ppp_protocol_of(ip).to_be_bytes());
    body.extend_from_slice(ip);
    ethernet(0x8864, &body)
}

/// An MPLS label stack (RFC 3032) over an IP packet, inside Ethernet.
pub fn mpls(labels: &[u32], ip: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for (i, label) in labels.iter().enumerate() {
        let bottom = u32::from(i + 1 == labels.len());
        let entry = (label << 12) | (bottom << 8) | 64;
        body.extend_from_slice(&entry.to_be_bytes());
    }
    body.extend_from_slice(ip);
    ethernet(0x8847, &body)
}

/// Linux NFLOG (LINKTYPE_NFLOG): family, version, resource id, then
/// little-endian TLVs: a prefix string and the packet (NFULA_PAYLOAD, 9).
pub fn nflog(ip: &[u8]) -> Vec<u8> {
    let family = if ether_type_of(ip) == EtherType::IPV6.0 {
        10
    } else {
        2
    };
    let mut out = vec![family, 0, 0, 5];
    let tlv = |out: &mut Vec<u8>, typ: u16, value: &[u8]| {
        let len = u16::try_from(4 + value.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&typ.to_le_bytes());
        out.extend_from_slice(value);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    };
    tlv(&mut out, 10, b"dnsentry\0");
    tlv(&mut out, 9, ip);
    out
}

/// Apple PKTAP (LINKTYPE_PKTAP): a 108-byte little-endian header giving
/// its length and the DLT of what follows (here Ethernet), then the frame.
pub fn pktap(ethernet_frame: &[u8]) -> Vec<u8> {
    let mut hdr = vec![0u8; 108];
    hdr[..4].copy_from_slice(&108u32.to_le_bytes());
    hdr[4..8].copy_from_slice(&1u32.to_le_bytes());
    hdr[12..16].copy_from_slice(b"en0\0");
    hdr.extend_from_slice(ethernet_frame);
    hdr
}

/// An 802.11 QoS data frame (to the AP), LLC/SNAP encapsulated.
pub fn wifi(ip: &[u8]) -> Vec<u8> {
    let mut out = vec![0x88, 0x01, 0x2c, 0x00];
    out.extend_from_slice(&MAC_B); // BSSID
    out.extend_from_slice(&MAC_A); // source
    out.extend_from_slice(&MAC_B); // destination
    out.extend_from_slice(&[0x10, 0x00]); // sequence control
    out.extend_from_slice(&[0x00, 0x00]); // QoS control
    out.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0]);
    out.extend_from_slice(&ether_type_of(ip).to_be_bytes());
    out.extend_from_slice(ip);
    out
}

/// A radiotap header (flags and rate fields) in front of an 802.11 frame.
pub fn radiotap(wifi_frame: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 10, 0, 0x06, 0, 0, 0, 0x00, 0x02];
    out.extend_from_slice(wifi_frame);
    out
}

/// A GRE header (RFC 2784/2890) with optional key and sequence number.
pub fn gre(protocol: u16, key: Option<u32>, seq: Option<u32>, payload: &[u8]) -> Vec<u8> {
    let mut flags = 0u16;
    if key.is_some() {
        flags |= 0x2000;
    }
    if seq.is_some() {
        flags |= 0x1000;
    }
    let mut out = flags.to_be_bytes().to_vec();
    out.extend_from_slice(&protocol.to_be_bytes());
    if let Some(k) = key {
        out.extend_from_slice(&k.to_be_bytes());
    }
    if let Some(s) = seq {
        out.extend_from_slice(&s.to_be_bytes());
    }
    out.extend_from_slice(payload);
    out
}

/// GRE version 1 as PPTP sends it (RFC 2637): key (payload length and call
/// id) and sequence number, protocol PPP.
pub fn gre_pptp(call_id: u16, seq: u32, ppp_frame: &[u8]) -> Vec<u8> {
    let mut out = vec![0x30, 0x01, 0x88, 0x0b];
    let len = u16::try_from(ppp_frame.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&call_id.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(ppp_frame);
    out
}

/// ERSPAN type II: GRE with a sequence number, protocol 0x88be, and an
/// 8-byte header with version 1 and the session id.
pub fn erspan2(session: u16, seq: u32, ethernet_frame: &[u8]) -> Vec<u8> {
    let mut body = vec![0x10, 0x00];
    body.extend_from_slice(&(session & 0x03ff).to_be_bytes());
    body.extend_from_slice(&[0, 0, 0, 0]);
    body.extend_from_slice(ethernet_frame);
    gre(0x88be, None, Some(seq), &body)
}

/// ERSPAN type III: GRE protocol 0x22eb, a 12-byte header (version 2) and
/// the optional 8-byte platform subheader.
pub fn erspan3(session: u16, seq: u32, ethernet_frame: &[u8]) -> Vec<u8> {
    let mut body = vec![0x20, 0x00];
    body.extend_from_slice(&(session & 0x03ff).to_be_bytes());
    body.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0x01]);
    body.extend_from_slice(&[0u8; 8]);
    body.extend_from_slice(ethernet_frame);
    gre(0x22eb, None, Some(seq), &body)
}

/// A VXLAN header (RFC 7348) in front of an Ethernet frame.
pub fn vxlan(vni: u32, ethernet_frame: &[u8]) -> Vec<u8> {
    let mut out = vec![0x08, 0, 0, 0];
    out.extend_from_slice(&(vni << 8).to_be_bytes());
    out.extend_from_slice(ethernet_frame);
    out
}

/// A Geneve header (RFC 8926) with one 8-byte option.
pub fn geneve(vni: u32, protocol: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0x02, 0x00];
    out.extend_from_slice(&protocol.to_be_bytes());
    out.extend_from_slice(&(vni << 8).to_be_bytes());
    out.extend_from_slice(&[0x01, 0x02, 0x03, 0x01, 0, 0, 0, 7]);
    out.extend_from_slice(payload);
    out
}

/// IPv4 fragments of a complete IPv4 packet, each carrying at most `chunk`
/// bytes of the original payload (rounded down to a multiple of 8).
pub fn ipv4_fragments(packet: &[u8], ident: u16, chunk: usize) -> Vec<Vec<u8>> {
    let (header, payload) =
        Ipv4Header::from_slice(packet).unwrap_or_else(|e| panic!("fragment IPv4: {e}"));
    let payload = payload
        .get(..usize::from(header.total_len) - header.header_len())
        .unwrap_or(payload);
    let chunk = (chunk / 8).max(1) * 8;
    payload
        .chunks(chunk)
        .enumerate()
        .map(|(i, part)| {
            let offset = i * chunk;
            let mut h = header.clone();
            h.identification = ident;
            h.more_fragments = offset + part.len() < payload.len();
            h.fragment_offset = IpFragOffset::try_new(u16::try_from(offset / 8).unwrap_or(0))
                .unwrap_or_else(|e| panic!("fragment offset: {e}"));
            h.set_payload_len(part.len())
                .unwrap_or_else(|e| panic!("fragment length: {e}"));
            h.header_checksum = h.calc_header_checksum();
            let mut out = h.to_bytes().to_vec();
            out.extend_from_slice(part);
            out
        })
        .collect()
}

/// IPv6 fragments of a complete IPv6 packet (no extension headers), each
/// with a Fragment header (RFC 8200 §4.5).
pub fn ipv6_fragments(packet: &[u8], ident: u32, chunk: usize) -> Vec<Vec<u8>> {
    let (header, payload) =
        Ipv6Header::from_slice(packet).unwrap_or_else(|e| panic!("fragment IPv6: {e}"));
    let next = header.next_header;
    let chunk = (chunk / 8).max(1) * 8;
    payload
        .chunks(chunk)
        .enumerate()
        .map(|(i, part)| {
            let offset = i * chunk;
            let frag = Ipv6FragmentHeader::new(
                next,
                IpFragOffset::try_new(u16::try_from(offset / 8).unwrap_or(0))
                    .unwrap_or_else(|e| panic!("fragment offset: {e}")),
                offset + part.len() < payload.len(),
                ident,
            );
            let mut h = header.clone();
            h.next_header = IpNumber::IPV6_FRAGMENTATION_HEADER;
            h.payload_length = u16::try_from(8 + part.len()).unwrap_or(u16::MAX);
            let mut out = h.to_bytes().to_vec();
            out.extend_from_slice(&frag.to_bytes());
            out.extend_from_slice(part);
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::link::{LinkType, strip};
    use crate::model::VlanStack;

    fn ip() -> Vec<u8> {
        ip_udp(
            "192.0.2.53".parse().unwrap(),
            "198.51.100.7".parse().unwrap(),
            53,
            40000,
            b"x",
        )
    }

    #[test]
    fn every_link_serialiser_round_trips_through_the_decoder() {
        let ip = ip();
        let cases: Vec<(LinkType, Vec<u8>)> = vec![
            (LinkType::ETHERNET, ethernet_ip(&ip)),
            (
                LinkType::ETHERNET,
                ethernet_tagged(&[(0x88a8, 1), (0x8100, 2), (0x8100, 3)], 0x0800, &ip),
            ),
            (LinkType::ETHERNET, pppoe(7, &ip)),
            (LinkType::ETHERNET, mpls(&[16, 17], &ip)),
            (LinkType::LINUX_SLL, sll(0x0800, &ip)),
            (LinkType::LINUX_SLL2, sll2(0x0800, &ip)),
            (LinkType::NULL, null_loopback(&ip)),
            (LinkType::PPP, ppp(&ip)),
            (LinkType::NFLOG, nflog(&ip)),
            (LinkType::PKTAP, pktap(&ethernet_ip(&ip))),
            (LinkType::IEEE802_11, wifi(&ip)),
            (LinkType::IEEE802_11_RADIOTAP, radiotap(&wifi(&ip))),
        ];
        for (link, frame) in cases {
            let mut v = VlanStack::default();
            let net = strip(link, &frame, &mut v).unwrap_or_else(|e| panic!("{link:?}: {e:?}"));
            assert_eq!(net.bytes, &ip[..], "{link:?}");
        }
    }

    #[test]
    fn fragments_cover_the_payload() {
        let big = ip_udp(
            "192.0.2.53".parse().unwrap(),
            "198.51.100.7".parse().unwrap(),
            53,
            40000,
            &[7u8; 1000],
        );
        let f = ipv4_fragments(&big, 1, 300);
        assert_eq!(f.len(), 4);
        let total: usize = f.iter().map(|p| p.len() - 20).sum();
        assert_eq!(total, big.len() - 20);
    }
}
