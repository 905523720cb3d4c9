//! What an attacker sends to blind the sensor before a hijack, for the
//! flood benchmark (`scripts/bench --floods`, `cargo run --release
//! --example gen-floods`): each flood next to benign traffic of the same
//! packet count, so the cost per packet can be compared.
//!
//! Benign traffic names hosts under example.com, which no demo or bench
//! expect file monitors: in the live bench (the demo's zones loaded) it
//! must raise nothing, or it measures an alert flood instead.

use std::net::{IpAddr, Ipv4Addr};

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::RecordType;

use super::encap::{ethernet_ip, ip_tcp, ip_udp, ipv4_fragments};
use super::{Exchange, Scenario, a, name_of, rr};
use crate::model::Timestamp;

/// Packet time between flood packets: 10 µs, 100k packets/s.
const GAP_US: i64 = 10;
const START_US: i64 = 1_700_000_000_000_000;

/// The kinds of traffic the flood benchmark compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flood {
    /// Ordinary lookups answered with an A record: the yardstick.
    Benign,
    /// Lookups answered with as big a response as a compression bomb
    /// (~1,400 bytes: 80 A records of one name, owners compressed to the
    /// question as every server writes them): the yardstick for the bomb,
    /// whose packets are as large.
    LargeBenign,
    /// First fragments of UDP responses that never complete, each a new
    /// datagram: the reassembly table fills and must evict.
    Fragments,
    /// SYNs to port 53 from ever new clients: the TCP flow table fills.
    Syn,
    /// One TCP flow: half its segments out of order past a hole, then the
    /// hole filled one byte at a time.
    OutOfOrder,
    /// Responses of records whose owner is a pointer to a 250-byte name.
    CompressionBomb,
}

impl Flood {
    pub const ALL: [Flood; 6] = [
        Flood::Benign,
        Flood::LargeBenign,
        Flood::Fragments,
        Flood::Syn,
        Flood::OutOfOrder,
        Flood::CompressionBomb,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Flood::Benign => "benign",
            Flood::LargeBenign => "large-benign",
            Flood::Fragments => "fragments",
            Flood::Syn => "syn",
            Flood::OutOfOrder => "out-of-order",
            Flood::CompressionBomb => "compression-bomb",
        }
    }
}

/// About `packets` Ethernet frames of `kind`, timestamped.
pub fn frames(kind: Flood, packets: usize) -> Vec<(Timestamp, Vec<u8>)> {
    let at = |i: usize| Timestamp(START_US + GAP_US * i64::try_from(i).unwrap_or(i64::MAX));
    let server = IpAddr::from([192, 0, 2, 53]);
    // A client per packet, so every packet is a new datagram or flow.
    let client = |i: usize| {
        let i = u32::try_from(i).unwrap_or(u32::MAX);
        IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (i & 0x00ff_ffff)))
    };
    match kind {
        Flood::Benign => {
            let mut s = Scenario::new(START_US / 1_000_000);
            for i in 0..packets.div_ceil(2) {
                let name = format!("host{}.example.com", i % 5000);
                s.exchange(
                    &Exchange::new("10.1.2.3", "192.0.2.53", &name, RecordType::A).answer(rr(
                        &name,
                        300,
                        a("198.51.100.10"),
                    )),
                );
            }
            s.frames().to_vec()
        }
        Flood::LargeBenign => {
            // Responses only, as the bomb is.
            let mut s = Scenario::new(START_US / 1_000_000);
            for i in 0..packets {
                let name = format!("pool{}.cdn.example.com", i % 5000);
                let mut ex = Exchange::new("10.1.2.3", "192.0.2.53", &name, RecordType::A);
                for k in 0..80u8 {
                    ex = ex.answer(rr(&name, 300, a(&format!("198.51.100.{k}"))));
                }
                s.exchange(&ex);
            }
            s.frames().iter().skip(1).step_by(2).cloned().collect()
        }
        Flood::Fragments => {
            let response = response_with(20);
            (0..packets)
                .map(|i| {
                    let packet = ip_udp(server, client(i), 53, 40000, &response);
                    let ident = u16::try_from(i % 65536).unwrap_or(0);
                    let first = ipv4_fragments(&packet, ident, 8).swap_remove(0);
                    (at(i), ethernet_ip(&first))
                })
                .collect()
        }
        Flood::Syn => (0..packets)
            .map(|i| {
                let port = 1024 + u16::try_from(i % 60000).unwrap_or(0);
                (
                    at(i),
                    ethernet_ip(&ip_tcp(client(i), server, port, 53, 1, true, &[])),
                )
            })
            .collect(),
        Flood::OutOfOrder => {
            let half = packets.saturating_sub(2) / 2;
            let start = 1_000u32;
            let hole = u32::try_from(half).unwrap_or(u32::MAX);
            let segment = |seq: u32| ip_tcp(server, client(0), 53, 40000, seq, false, &[0x41]);
            // The server's SYN-ACK starts the stream, so every byte after it
            // has a known place ...
            let syn_ack = (
                at(0),
                ethernet_ip(&ip_tcp(server, client(0), 53, 40000, start - 1, true, &[])),
            );
            let first = std::iter::once(start);
            // ... then a hole, and every segment past it out of order ...
            let ahead = (0..hole).map(|i| start + 1 + hole + i);
            // ... then the hole, one byte at a time.
            let fill = (0..hole).map(|i| start + 1 + i);
            std::iter::once(syn_ack)
                .chain(
                    first
                        .chain(ahead)
                        .chain(fill)
                        .enumerate()
                        .map(|(i, seq)| (at(i + 1), ethernet_ip(&segment(seq)))),
                )
                .collect()
        }
        Flood::CompressionBomb => {
            let label = "x".repeat(62);
            // As big as a UDP response on an Ethernet path gets (~1,400
            // bytes): the bomb is in the compression, not the size.
            let bomb = pointer_bomb(&format!("{label}.{label}.{label}.{label}."), 70);
            (0..packets)
                .map(|i| {
                    (
                        at(i),
                        ethernet_ip(&ip_udp(server, client(i), 53, 40000, &bomb)),
                    )
                })
                .collect()
        }
    }
}

/// A response with `answers` A records, for fragments big enough to need
/// several.
fn response_with(answers: u8) -> Vec<u8> {
    let mut ex = Exchange::new("10.1.2.3", "192.0.2.53", "www.example.com", RecordType::A);
    for i in 0..answers {
        ex = ex.answer(rr("www.example.com", 60, a(&format!("198.51.100.{i}"))));
    }
    ex.messages(0x4242).1
}

/// A response whose `count` answers all have a 2-byte pointer to the
/// question name as owner: 16 bytes a record on the wire, whatever the
/// name's length. (hickory's encoder would write each name out.)
pub fn pointer_bomb(qname: &str, count: u16) -> Vec<u8> {
    const POINTER_TO_QUESTION: [u8; 2] = [0xc0, 12];
    const TYPE_A: u16 = 1;
    const CLASS_IN: u16 = 1;
    let mut m = Message::new(0xbeef, MessageType::Response, OpCode::Query);
    m.add_query(Query::query(name_of(qname), RecordType::A));
    let mut bytes = m
        .to_vec()
        .unwrap_or_else(|e| panic!("encode the bomb's question: {e}"));
    for i in 0..count {
        bytes.extend_from_slice(&POINTER_TO_QUESTION);
        bytes.extend_from_slice(&TYPE_A.to_be_bytes());
        bytes.extend_from_slice(&CLASS_IN.to_be_bytes());
        bytes.extend_from_slice(&60u32.to_be_bytes());
        bytes.extend_from_slice(&4u16.to_be_bytes());
        bytes.extend_from_slice(&u32::from(i).to_be_bytes());
    }
    // ANCOUNT: the question alone was encoded with 0.
    if let Some(ancount) = bytes.get_mut(6..8) {
        ancount.copy_from_slice(&count.to_be_bytes());
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flood_has_the_packets_asked_for() {
        for kind in Flood::ALL {
            let f = frames(kind, 100);
            assert!(
                (99..=101).contains(&f.len()),
                "{}: {}",
                kind.name(),
                f.len()
            );
        }
    }
}
