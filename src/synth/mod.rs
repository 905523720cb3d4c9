//! Deterministic scenario captures for tests, benchmarks and the demo.
//!
//! Packets are built, never hand-edited: DNS messages with hickory-proto's
//! encoder, Ethernet/IP/UDP/TCP with etherparse's `PacketBuilder`, files with
//! `pcap-file`'s writers. The same calls always give byte-identical files:
//! time, transaction ids and client ports come from counters, not clocks or
//! randomness.

pub mod campaign;
pub mod demo;
pub mod encap;
pub mod flood;

use std::io::Write;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use etherparse::PacketBuilder;
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, NS, PTR, SOA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use pcap_file::DataLink;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};

use crate::model::Timestamp;

/// Builds a record; panics on an invalid name, which is a bug in the
/// scenario, not input.
pub fn rr(name: &str, ttl: u32, data: RData) -> Record {
    Record::from_rdata(name_of(name), ttl, data)
}

/// A name from its presentation format (RFC 1035 §5.1), `\DDD` and `\X`
/// escapes included, so that scenarios can hold any byte a hostile name
/// can: the label bytes are taken as they are, not checked as a hostname.
fn name_of(s: &str) -> Name {
    let mut labels: Vec<Vec<u8>> = vec![Vec::new()];
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'.' => labels.push(Vec::new()),
            b'\\' => {
                let next = bytes
                    .next()
                    .unwrap_or_else(|| panic!("scenario name {s:?}: \\ at end"));
                let byte = if next.is_ascii_digit() {
                    let digits = [
                        next,
                        bytes.next().unwrap_or(b'x'),
                        bytes.next().unwrap_or(b'x'),
                    ];
                    std::str::from_utf8(&digits)
                        .ok()
                        .and_then(|d| d.parse::<u8>().ok())
                        .unwrap_or_else(|| panic!("scenario name {s:?}: bad \\DDD"))
                } else {
                    next
                };
                if let Some(l) = labels.last_mut() {
                    l.push(byte);
                }
            }
            b => {
                if let Some(l) = labels.last_mut() {
                    l.push(b);
                }
            }
        }
    }
    // The trailing dot of a fully qualified name leaves an empty label.
    if labels.last().is_some_and(Vec::is_empty) {
        labels.pop();
    }
    let mut name = Name::from_labels(labels).unwrap_or_else(|e| panic!("scenario name {s:?}: {e}"));
    name.set_fqdn(true);
    name
}

pub fn a(addr: &str) -> RData {
    RData::A(A(addr
        .parse()
        .unwrap_or_else(|e| panic!("scenario IPv4 {addr:?}: {e}"))))
}

pub fn aaaa(addr: &str) -> RData {
    RData::AAAA(AAAA(
        addr.parse()
            .unwrap_or_else(|e| panic!("scenario IPv6 {addr:?}: {e}")),
    ))
}

pub fn cname(target: &str) -> RData {
    RData::CNAME(CNAME(name_of(target)))
}

pub fn ns(target: &str) -> RData {
    RData::NS(NS(name_of(target)))
}

pub fn ptr(target: &str) -> RData {
    RData::PTR(PTR(name_of(target)))
}

pub fn mx(preference: u16, exchange: &str) -> RData {
    RData::MX(MX::new(preference, name_of(exchange)))
}

pub fn txt(text: &str) -> RData {
    RData::TXT(TXT::new(vec![text.to_string()]))
}

/// An RRSIG over `covered` records, signed by `signer` (algorithm 13,
/// ECDSAP256SHA256) with a made-up signature: decoders and the sensor never
/// verify signatures, they only see whether one is there.
pub fn rrsig(covered: RecordType, labels: u8, signer: &str) -> RData {
    use hickory_proto::dnssec::Algorithm;
    use hickory_proto::dnssec::rdata::{DNSSECRData, RRSIG, SigInput};
    use hickory_proto::rr::SerialNumber;
    let input = SigInput {
        type_covered: covered,
        algorithm: Algorithm::ECDSAP256SHA256,
        num_labels: labels,
        original_ttl: 300,
        sig_expiration: SerialNumber::new(1_548_000_000),
        sig_inception: SerialNumber::new(1_546_000_000),
        key_tag: 12345,
        signer_name: name_of(signer),
    };
    RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(input, vec![0xab; 64])))
}

/// A DS record (key tag 12345, ECDSAP256SHA256, SHA-256) with a made-up
/// digest.
pub fn ds() -> RData {
    use hickory_proto::dnssec::rdata::{DNSSECRData, DS};
    use hickory_proto::dnssec::{Algorithm, DigestType};
    RData::DNSSEC(DNSSECRData::DS(DS::new(
        12345,
        Algorithm::ECDSAP256SHA256,
        DigestType::SHA256,
        vec![0xcd; 32],
    )))
}

pub fn soa(mname: &str, rname: &str, serial: u32) -> RData {
    RData::SOA(SOA::new(
        name_of(mname),
        name_of(rname),
        serial,
        3600,
        600,
        86400,
        300,
    ))
}

/// Transport of an exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    Udp,
    /// One TCP segment per message, length-prefixed (RFC 1035 §4.2.2).
    Tcp,
}

/// One query and its response.
#[derive(Clone, Debug)]
pub struct Exchange {
    pub client: IpAddr,
    pub server: IpAddr,
    pub qname: String,
    pub qtype: RecordType,
    pub rcode: ResponseCode,
    pub answers: Vec<Record>,
    pub authority: Vec<Record>,
    pub additional: Vec<Record>,
    pub via: Via,
    /// The response carries EDNS with the DO bit: the query asked for
    /// DNSSEC.
    pub dnssec_ok: bool,
}

impl Exchange {
    pub fn new(client: &str, server: &str, qname: &str, qtype: RecordType) -> Exchange {
        Exchange {
            client: client
                .parse()
                .unwrap_or_else(|e| panic!("client {client:?}: {e}")),
            server: server
                .parse()
                .unwrap_or_else(|e| panic!("server {server:?}: {e}")),
            qname: qname.to_string(),
            qtype,
            rcode: ResponseCode::NoError,
            answers: Vec::new(),
            authority: Vec::new(),
            additional: Vec::new(),
            via: Via::Udp,
            dnssec_ok: false,
        }
    }

    pub fn answer(mut self, record: Record) -> Exchange {
        self.answers.push(record);
        self
    }

    pub fn authority(mut self, record: Record) -> Exchange {
        self.authority.push(record);
        self
    }

    pub fn additional(mut self, record: Record) -> Exchange {
        self.additional.push(record);
        self
    }

    pub fn rcode(mut self, rcode: ResponseCode) -> Exchange {
        self.rcode = rcode;
        self
    }

    pub fn via(mut self, via: Via) -> Exchange {
        self.via = via;
        self
    }

    pub fn dnssec_ok(mut self) -> Exchange {
        self.dnssec_ok = true;
        self
    }

    /// The encoded query and response messages.
    pub fn messages(&self, txid: u16) -> (Vec<u8>, Vec<u8>) {
        let mut query = Message::new(txid, MessageType::Query, OpCode::Query);
        query.metadata.recursion_desired = true;
        query.add_query(Query::query(name_of(&self.qname), self.qtype));
        let mut response = query.clone();
        response.metadata.message_type = MessageType::Response;
        response.metadata.recursion_available = true;
        response.metadata.response_code = self.rcode;
        response.add_answers(self.answers.iter().cloned());
        response.add_authorities(self.authority.iter().cloned());
        response.add_additionals(self.additional.iter().cloned());
        if self.dnssec_ok {
            let mut edns = hickory_proto::op::Edns::new();
            edns.set_dnssec_ok(true);
            edns.set_max_payload(1232);
            response.set_edns(edns);
        }
        let query = query
            .to_vec()
            .unwrap_or_else(|e| panic!("encode query: {e}"));
        let response = response
            .to_vec()
            .unwrap_or_else(|e| panic!("encode response: {e}"));
        (query, response)
    }
}

/// A capture being built, Ethernet link type.
#[derive(Clone, Debug)]
pub struct Scenario {
    frames: Vec<(Timestamp, Vec<u8>)>,
    next_ts: Timestamp,
    next_txid: u16,
    next_port: u16,
}

/// Gap between one exchange and the next, and between query and response.
const EXCHANGE_GAP_US: i64 = 250_000;
const RESPONSE_DELAY_US: i64 = 12_345;

impl Scenario {
    pub fn new(start_unix_secs: i64) -> Scenario {
        Scenario {
            frames: Vec::new(),
            next_ts: Timestamp(start_unix_secs * 1_000_000),
            next_txid: 0x1000,
            next_port: 40000,
        }
    }

    /// Appends the query and response packets of `ex`. Returns the packet
    /// number (1-based) of the response.
    pub fn exchange(&mut self, ex: &Exchange) -> u64 {
        let txid = self.next_txid;
        self.next_txid = self.next_txid.wrapping_add(0x0101);
        let port = self.next_port;
        self.next_port = if self.next_port >= 60000 {
            40000
        } else {
            self.next_port + 7
        };

        let (query, response) = ex.messages(txid);
        let t0 = self.next_ts;
        let q = frame(ex.via, ex.client, ex.server, port, 53, &query, 1);
        let r = frame(ex.via, ex.server, ex.client, 53, port, &response, 1);
        self.frames.push((t0, q));
        self.frames.push((Timestamp(t0.0 + RESPONSE_DELAY_US), r));
        self.next_ts = Timestamp(t0.0 + EXCHANGE_GAP_US);
        self.frames.len() as u64
    }

    /// Lets `secs` of packet time pass before the next exchange, for
    /// captures that span days.
    pub fn pause(&mut self, secs: i64) {
        self.next_ts = Timestamp(
            self.next_ts
                .0
                .saturating_add(secs.saturating_mul(1_000_000)),
        );
    }

    /// Appends a frame as it is (for non-DNS traffic or hostile packets).
    pub fn raw_frame(&mut self, bytes: Vec<u8>) -> u64 {
        let t = self.next_ts;
        self.frames.push((t, bytes));
        self.next_ts = Timestamp(t.0 + EXCHANGE_GAP_US);
        self.frames.len() as u64
    }

    pub fn frames(&self) -> &[(Timestamp, Vec<u8>)] {
        &self.frames
    }

    /// Writes a classic little-endian pcap, microsecond timestamps.
    pub fn write_pcap(&self, out: impl Write) -> Result<(), pcap_file::PcapError> {
        write_pcap(out, DataLink::ETHERNET, &self.frames)
    }

    pub fn write_pcap_file(&self, path: &Path) -> std::io::Result<()> {
        let file = std::fs::File::create(path)?;
        self.write_pcap(std::io::BufWriter::new(file))
            .map_err(std::io::Error::other)
    }
}

/// Writes frames of one link type as a classic pcap.
pub fn write_pcap(
    out: impl Write,
    link: DataLink,
    frames: &[(Timestamp, Vec<u8>)],
) -> Result<(), pcap_file::PcapError> {
    let header = PcapHeader {
        datalink: link,
        endianness: pcap_file::Endianness::Little,
        ..PcapHeader::default()
    };
    let mut w = PcapWriter::with_header(out, header)?;
    for (ts, data) in frames {
        let micros = u64::try_from(ts.0).unwrap_or(0);
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        w.write_packet(&PcapPacket::new(Duration::from_micros(micros), len, data))?;
    }
    Ok(())
}

/// Stable fake MAC addresses derived from the IP, so the same host keeps
/// the same MAC across a scenario.
fn mac_of(ip: IpAddr) -> [u8; 6] {
    let o = match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets()[12..].to_vec(),
    };
    [0x02, 0x00, o[0], o[1], o[2], o[3]]
}

/// One Ethernet frame carrying `payload` over UDP or (length-prefixed) TCP.
pub fn frame(
    via: Via,
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    payload: &[u8],
    tcp_seq: u32,
) -> Vec<u8> {
    let eth = PacketBuilder::ethernet2(mac_of(src), mac_of(dst));
    let ip = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => eth.ipv4(s.octets(), d.octets(), 64),
        (IpAddr::V6(s), IpAddr::V6(d)) => eth.ipv6(s.octets(), d.octets(), 64),
        _ => panic!("scenario mixes IPv4 and IPv6 in one packet"),
    };
    let mut out = Vec::new();
    match via {
        Via::Udp => ip
            .udp(sport, dport)
            .write(&mut out, payload)
            .unwrap_or_else(|e| panic!("build UDP frame: {e}")),
        Via::Tcp => {
            let mut framed = u16::try_from(payload.len())
                .unwrap_or_else(|_| panic!("DNS message over 65535 bytes"))
                .to_be_bytes()
                .to_vec();
            framed.extend_from_slice(payload);
            ip.tcp(sport, dport, tcp_seq, 65535)
                .psh()
                .ack(1)
                .write(&mut out, &framed)
                .unwrap_or_else(|e| panic!("build TCP frame: {e}"))
        }
    }
    out
}
