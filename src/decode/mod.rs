//! Decoding, one module per protocol layer.
//!
//! * [`Demux`] runs in the capture thread: link → IP → UDP/TCP → "is this
//!   a DNS response?". It is cheap and keeps per-flow state (TCP), so it runs
//!   in packet order; only the DNS messages it finds are copied into the
//!   [`PayloadBatch`] that goes to the workers. Non-DNS traffic is dropped on
//!   the port check before any DNS parsing.
//! * [`dns::decode_response`] runs in the worker pool: the DNS message to a
//!   [`crate::model::DnsResponse`].

// Packet and file bytes are hostile: every access is checked.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

pub mod dns;
pub mod ip;
pub mod link;
pub mod name;
pub mod transport;

use crate::model::{PacketMeta, PayloadBatch, SourceRef, Timestamp, Transport};
use crate::stats::{CaptureCounters, Malformed, NotDns};
use link::{LinkSkip, LinkType};
use transport::{IPPROTO_TCP, IPPROTO_UDP, PortSet, Segment};

/// Size of the DNS header; a message shorter than this is counted
/// malformed by the workers.
pub const DNS_HEADER_LEN: usize = 12;

/// The link-to-transport stage of one capture thread.
pub struct Demux {
    ports: PortSet,
    pub counters: CaptureCounters,
}

impl Demux {
    pub fn new(ports: PortSet) -> Self {
        Demux {
            ports,
            counters: CaptureCounters::default(),
        }
    }

    /// Takes one captured frame; any DNS response in it is appended to `out`.
    pub fn frame(
        &mut self,
        link: LinkType,
        source: SourceRef,
        ts: Timestamp,
        frame: &[u8],
        out: &mut PayloadBatch,
    ) {
        self.counters.packets += 1;
        self.counters.bytes += frame.len() as u64;

        let net = match link::strip(link, frame) {
            Ok(net) => net,
            Err(LinkSkip::NotDns(reason)) => return self.counters.not_dns.add(reason),
            Err(LinkSkip::Malformed(reason)) => return self.counters.malformed.add(reason),
        };
        let ip = match ip::parse(net) {
            Ok(ip) => ip,
            Err(reason) => return self.counters.malformed.add(reason),
        };
        if ip.fragmented {
            return self.counters.not_dns.add(NotDns::IpFragment);
        }
        let (segment, transport) = match ip.protocol {
            IPPROTO_UDP => (transport::udp(ip.payload), Transport::Udp),
            IPPROTO_TCP => (transport::tcp(ip.payload), Transport::Tcp),
            _ => return self.counters.not_dns.add(NotDns::NotUdpOrTcp),
        };
        let segment = match segment {
            Ok(s) => s,
            Err(reason) => return self.counters.malformed.add(reason),
        };
        if !self.ports.contains(segment.src_port) && !self.ports.contains(segment.dst_port) {
            return self.counters.not_dns.add(NotDns::NotDnsPort);
        }
        let meta = PacketMeta {
            ts,
            src_ip: ip.src,
            src_port: segment.src_port,
            dst_ip: ip.dst,
            dst_port: segment.dst_port,
            transport,
            source,
        };
        match transport {
            Transport::Udp => self.message(meta, segment.payload, out),
            Transport::Tcp => self.tcp_segment(meta, &segment, out),
        }
    }

    /// DNS over TCP without reassembly: the length-prefixed messages that
    /// lie whole inside this one segment (RFC 1035 §4.2.2).
    fn tcp_segment(&mut self, meta: PacketMeta, segment: &Segment<'_>, out: &mut PayloadBatch) {
        let mut rest = segment.payload;
        let mut found = false;
        while let Some(len_bytes) = rest.get(..2) {
            let len = usize::from(u16::from_be_bytes([
                len_bytes.first().copied().unwrap_or(0),
                len_bytes.get(1).copied().unwrap_or(0),
            ]));
            let Some(msg) = rest.get(2..2 + len) else {
                break;
            };
            if len > 0 {
                found = true;
                self.message(meta, msg, out);
            }
            rest = rest.get(2 + len..).unwrap_or_default();
        }
        if !found {
            self.counters.not_dns.add(NotDns::TcpNoMessage);
        }
    }

    /// One DNS message: queries are counted and dropped here, responses go
    /// to the workers.
    fn message(&mut self, meta: PacketMeta, msg: &[u8], out: &mut PayloadBatch) {
        let Some(flags) = msg.get(2) else {
            return self.counters.malformed.add(Malformed::DnsHeaderTruncated);
        };
        if flags & 0x80 == 0 {
            return self.counters.not_dns.add(NotDns::Query);
        }
        if out.push(meta, msg) {
            self.counters.dns_messages += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;
    use std::net::IpAddr;

    fn frame_udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        PacketBuilder::ethernet2([2; 6], [4; 6])
            .ipv4([192, 0, 2, 53], [198, 51, 100, 7], 64)
            .udp(sport, dport)
            .write(&mut out, payload)
            .unwrap();
        out
    }

    fn demux() -> Demux {
        Demux::new(PortSet::new(&[53]))
    }

    const SRC: SourceRef = SourceRef { file: 0, packet: 1 };
    const RESPONSE_HDR: [u8; 12] = [0x12, 0x34, 0x81, 0x80, 0, 0, 0, 0, 0, 0, 0, 0];
    const QUERY_HDR: [u8; 12] = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];

    #[test]
    fn udp_response_is_batched_with_its_meta() {
        let mut d = demux();
        let mut batch = PayloadBatch::default();
        let f = frame_udp(53, 40000, &RESPONSE_HDR);
        d.frame(LinkType::ETHERNET, SRC, Timestamp(7), &f, &mut batch);
        assert_eq!(batch.len(), 1);
        let (meta, bytes) = batch.iter().next().unwrap();
        assert_eq!(bytes, &RESPONSE_HDR);
        assert_eq!(meta.src_ip, "192.0.2.53".parse::<IpAddr>().unwrap());
        assert_eq!((meta.src_port, meta.dst_port), (53, 40000));
        assert_eq!(meta.transport, Transport::Udp);
        assert_eq!(d.counters.dns_messages, 1);
    }

    #[test]
    fn queries_and_other_ports_are_skipped_before_parsing() {
        let mut d = demux();
        let mut batch = PayloadBatch::default();
        d.frame(
            LinkType::ETHERNET,
            SRC,
            Timestamp(0),
            &frame_udp(40000, 53, &QUERY_HDR),
            &mut batch,
        );
        d.frame(
            LinkType::ETHERNET,
            SRC,
            Timestamp(0),
            &frame_udp(123, 123, &RESPONSE_HDR),
            &mut batch,
        );
        assert!(batch.is_empty());
        assert_eq!(d.counters.not_dns.get(NotDns::Query), 1);
        assert_eq!(d.counters.not_dns.get(NotDns::NotDnsPort), 1);
    }

    #[test]
    fn tcp_whole_messages_in_one_segment() {
        let mut payload = Vec::new();
        for _ in 0..2 {
            payload.extend_from_slice(&(RESPONSE_HDR.len() as u16).to_be_bytes());
            payload.extend_from_slice(&RESPONSE_HDR);
        }
        let mut f = Vec::new();
        PacketBuilder::ethernet2([2; 6], [4; 6])
            .ipv4([192, 0, 2, 53], [198, 51, 100, 7], 64)
            .tcp(53, 40000, 1, 1000)
            .write(&mut f, &payload)
            .unwrap();
        let mut d = demux();
        let mut batch = PayloadBatch::default();
        d.frame(LinkType::ETHERNET, SRC, Timestamp(0), &f, &mut batch);
        assert_eq!(batch.len(), 2);
        assert!(batch.iter().all(|(m, _)| m.transport == Transport::Tcp));
    }

    #[test]
    fn every_truncation_of_a_frame_is_counted_not_panicking() {
        let f = frame_udp(53, 40000, &RESPONSE_HDR);
        for cut in 0..f.len() {
            let mut d = demux();
            let mut batch = PayloadBatch::default();
            d.frame(LinkType::ETHERNET, SRC, Timestamp(0), &f[..cut], &mut batch);
            let c = &d.counters;
            assert_eq!(
                c.not_dns.total() + c.malformed.total() + c.dns_messages,
                1,
                "cut at {cut}"
            );
        }
    }
}
