//! UDP DNS queries recognised at fixed offsets, before any layer is
//! parsed.
//!
//! Half of a DNS tap's packets are queries, and the decoder only counts
//! them: walking Ethernet, IP and UDP through their parsers to find the QR
//! bit cost more than anything else the capture thread does for them.
//! Only the commonest framing is recognised here (Ethernet II, an IPv4
//! header without options or an IPv6 header without extension headers, not
//! a fragment, UDP whose length agrees exactly with the IP length). Any
//! other packet, including every one the layer parsers could find a defect
//! in, goes through them as before, so every count is what the full path
//! gives (the tests below compare the two on mutated frames).

use etherparse::EtherType;

use super::link::LinkType;
use super::transport::{IPPROTO_UDP, PortSet};

const ETHERNET_HEADER: usize = 14;
const IPV4_HEADER: usize = 20;
const IPV6_HEADER: usize = 40;
const UDP_HEADER: usize = 8;
/// The DNS flags byte that holds QR is the message's third.
const DNS_FLAGS_AT: usize = 2;

/// Whether `frame` is a whole, unfragmented UDP datagram to or from one of
/// `ports` whose DNS header says query, in a framing the layer parsers
/// would take without a defect.
#[inline]
pub(super) fn is_plain_udp_query(link: LinkType, frame: &[u8], ports: &PortSet) -> bool {
    if link != LinkType::ETHERNET {
        return false;
    }
    let Some((&[t0, t1], ip)) = frame
        .get(ETHERNET_HEADER - 2..)
        .and_then(|rest| rest.split_first_chunk::<2>())
    else {
        return false;
    };
    let udp = match u16::from_be_bytes([t0, t1]) {
        t if t == EtherType::IPV4.0 => ipv4_udp(ip),
        t if t == EtherType::IPV6.0 => ipv6_udp(ip),
        _ => None,
    };
    udp.is_some_and(|udp| udp_query(udp, ports))
}

/// The UDP datagram of an IPv4 packet without options or fragmentation,
/// cut at the header's total length (Ethernet padding may follow).
fn ipv4_udp(ip: &[u8]) -> Option<&[u8]> {
    let header: &[u8; IPV4_HEADER] = ip.first_chunk()?;
    let [
        version_ihl,
        _,
        len_hi,
        len_lo,
        _,
        _,
        frag_hi,
        frag_lo,
        _,
        protocol,
        ..,
    ] = *header;
    let total = usize::from(u16::from_be_bytes([len_hi, len_lo]));
    // More fragments or an offset: the reassembler's business.
    let fragment = u16::from_be_bytes([frag_hi, frag_lo]) & 0x3fff;
    if version_ihl != 0x45 || fragment != 0 || protocol != IPPROTO_UDP || total < IPV4_HEADER {
        return None;
    }
    ip.get(IPV4_HEADER..total)
}

/// The UDP datagram of an IPv6 packet whose next header is UDP.
fn ipv6_udp(ip: &[u8]) -> Option<&[u8]> {
    let header: &[u8; IPV6_HEADER] = ip.first_chunk()?;
    let [version, _, _, _, len_hi, len_lo, next, ..] = *header;
    let payload = usize::from(u16::from_be_bytes([len_hi, len_lo]));
    // A zero length is a jumbogram's, told in a hop-by-hop option.
    if version >> 4 != 6 || next != IPPROTO_UDP || payload == 0 {
        return None;
    }
    ip.get(IPV6_HEADER..IPV6_HEADER + payload)
}

/// A datagram whose length field is exactly its size, on a DNS port,
/// carrying a DNS query.
fn udp_query(udp: &[u8], ports: &PortSet) -> bool {
    let Some(&[sp0, sp1, dp0, dp1, len0, len1, _, _]) = udp.first_chunk::<UDP_HEADER>() else {
        return false;
    };
    let (sport, dport) = (
        u16::from_be_bytes([sp0, sp1]),
        u16::from_be_bytes([dp0, dp1]),
    );
    usize::from(u16::from_be_bytes([len0, len1])) == udp.len()
        && (ports.contains(sport) || ports.contains(dport))
        && udp
            .get(UDP_HEADER + DNS_FLAGS_AT)
            .is_some_and(|flags| flags & 0x80 == 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Demux;
    use crate::model::{PayloadBatch, SourceRef, Timestamp};
    use crate::synth::{Exchange, Scenario, a, rr};
    use hickory_proto::rr::RecordType;

    /// Queries and responses on port 53 over IPv4 and IPv6, with and
    /// without Ethernet padding (other ports come from the mutations).
    fn frames() -> Vec<Vec<u8>> {
        let mut s = Scenario::new(1_700_000_000);
        for (client, server) in [("10.1.2.3", "192.0.2.53"), ("2001:db8::7", "2001:db8::53")] {
            for name in ["www.example.com", "a.b"] {
                s.exchange(
                    &Exchange::new(client, server, name, RecordType::A).answer(rr(
                        name,
                        60,
                        a("198.51.100.7"),
                    )),
                );
            }
        }
        let mut frames: Vec<Vec<u8>> = s.frames().iter().map(|(_, f)| f.clone()).collect();
        let padded: Vec<Vec<u8>> = frames
            .iter()
            .map(|f| {
                let mut p = f.clone();
                p.extend_from_slice(&[0; 6]);
                p
            })
            .collect();
        frames.extend(padded);
        frames
    }

    /// Every byte of the headers (and the DNS flags) set to values that
    /// matter at that offset, and every cut of the frame.
    fn mutations(frame: &[u8]) -> Vec<Vec<u8>> {
        let mut out = vec![frame.to_vec()];
        let headers = (ETHERNET_HEADER + IPV6_HEADER + UDP_HEADER + 4).min(frame.len());
        for at in 0..headers {
            let Some(&orig) = frame.get(at) else { continue };
            for value in [
                0,
                0xff,
                orig.wrapping_add(1),
                orig.wrapping_sub(1),
                orig ^ 0x80,
                orig ^ 0x20,
                0x45,
                0x60,
                17,
                53,
            ] {
                let mut m = frame.to_vec();
                if let Some(b) = m.get_mut(at) {
                    *b = value;
                }
                out.push(m);
            }
        }
        for cut in 0..frame.len() {
            out.push(frame.get(..cut).unwrap_or_default().to_vec());
        }
        out
    }

    /// What the demultiplexer yields for a frame: counters and batch.
    fn through(d: &mut Demux, frame: &[u8]) -> (String, Vec<(String, Vec<u8>)>) {
        let mut batch = PayloadBatch::default();
        let src = SourceRef { file: 0, packet: 1 };
        d.frame(LinkType::ETHERNET, src, Timestamp(0), frame, &mut batch);
        let messages = batch
            .iter()
            .map(|(meta, bytes)| (format!("{meta:?}"), bytes.to_vec()))
            .collect();
        (format!("{:?}", d.counters), messages)
    }

    #[test]
    fn the_fast_path_counts_exactly_what_the_layers_would() {
        let ports = PortSet::new(&[53]);
        let (mut fast, mut layered) = (Demux::new(ports.clone()), Demux::new(ports.clone()));
        layered.skip_plain_queries = false;
        let (mut frames_seen, mut taken) = (0usize, 0usize);
        for frame in frames() {
            for m in mutations(&frame) {
                frames_seen += 1;
                taken += usize::from(is_plain_udp_query(LinkType::ETHERNET, &m, &ports));
                assert_eq!(
                    through(&mut fast, &m),
                    through(&mut layered, &m),
                    "{m:02x?}"
                );
            }
        }
        // Both paths were exercised: a test that never took the fast path
        // (or took it for everything) would prove nothing.
        assert!(
            taken > 100 && taken < frames_seen / 2,
            "{taken} of {frames_seen}"
        );
    }

    #[test]
    fn only_whole_queries_in_the_commonest_framing_are_taken() {
        let ports = PortSet::new(&[53]);
        let frames = frames();
        let verdicts: Vec<bool> = frames
            .iter()
            .map(|f| is_plain_udp_query(LinkType::ETHERNET, f, &ports))
            .collect();
        // Query, response, for each of 4 exchanges, then the padded copies.
        let one = [true, false].repeat(4);
        assert_eq!(verdicts, [one.clone(), one].concat());
        let other_port = PortSet::new(&[5353]);
        assert!(
            frames
                .iter()
                .all(|f| !is_plain_udp_query(LinkType::ETHERNET, f, &other_port))
        );
        let first = frames.first().cloned().unwrap_or_default();
        assert!(!is_plain_udp_query(LinkType::RAW, &first, &ports));
    }
}
