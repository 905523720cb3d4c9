//! The types that cross a stage boundary, and nothing else.
//!
//! ```text
//! capture+demux ──PayloadBatch──▶ decode ──DnsResponse──▶ match ──Alert──▶ output
//! ```
//!
//! * [`PayloadBatch`]: what the capture thread hands the worker pool: the
//!   DNS messages of many packets copied into one arena, each with its
//!   [`PacketMeta`]. One allocation per batch, not per packet.
//! * [`DnsResponse`]: a decoded DNS response with owned, presentation-format
//!   names. hickory-proto types stop at `decode::dns`.
//! * [`Alert`]: one detection, ready for any output.

pub mod addr;
pub mod audit;
mod defect;
mod explain;
pub mod flow;
mod indicator;
pub mod names;
pub mod rule;
pub mod text;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

pub use defect::{Malformed, MalformedCounts, NotDns, NotDnsCounts};
pub use indicator::{
    Ignored, Indicator, IndicatorType, IndicatorValue, IocMatch, Lifecycle, Retraction, Standing,
};

/// A domain name in presentation format, as decoded (see
/// [`DnsRecord::name`]). Shared, because one message repeats its names
/// (each record of an RRset names its owner, a CNAME target is the next
/// owner, a compression-pointer flood repeats one name thousands of
/// times): a clone is a reference count, not an allocation. (An inline
/// small-string type was measured instead: no gain on benign traffic, and
/// 8% more instructions under a compression-pointer flood.)
pub type DomainName = Arc<str>;

/// Packet time in microseconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn from_parts(secs: i64, micros: i64) -> Self {
        Timestamp(secs.saturating_mul(1_000_000).saturating_add(micros))
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339, UTC, always six fractional digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_as(f, "%Y-%m-%dT%H:%M:%S%.6fZ")
    }
}

impl Timestamp {
    /// As Suricata writes `timestamp` in EVE: six fractional digits and a
    /// numeric offset (`2019-01-10T09:00:02.262345+0000`), always UTC here.
    pub fn eve(self) -> impl fmt::Display {
        struct Eve(Timestamp);
        impl fmt::Display for Eve {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.write_as(f, "%Y-%m-%dT%H:%M:%S%.6f+0000")
            }
        }
        Eve(self)
    }

    fn write_as(self, f: &mut fmt::Formatter<'_>, format: &str) -> fmt::Result {
        match jiff::Timestamp::from_microsecond(self.0) {
            Ok(ts) => write!(f, "{}", ts.strftime(format)),
            // Out of jiff's range (year > 9999): only a forged pcap header gets here.
            Err(_) => write!(f, "invalid-time({}us)", self.0),
        }
    }
}

/// Transport the DNS message arrived on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        }
    }
}

/// Where a packet came from: which input file (index into the run's list of
/// sources) and which packet of it, counting from 1 as Wireshark does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SourceRef {
    pub file: u32,
    pub packet: u64,
}

/// What the inputs of a run are, which decides what [`SourceRef::file`]
/// indexes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// Capture files: [`SourceNames::inputs`] are their names.
    Files,
    /// Interfaces, live: [`SourceNames::inputs`] are their names.
    Interfaces,
    /// The sensor's own questions (`dnsentry audit`): `file` indexes
    /// these, one per answer, and `packet` counts the answers from 1.
    Audit(Arc<[audit::AuditQuery]>),
}

/// What every record of a run says about where it was seen: the sensor's
/// name and the run's inputs (capture files, interfaces live, or the
/// audit's questions), shared so that a packet carries an index rather
/// than a string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceNames {
    /// `--sensor-name`, escaped as free text is.
    pub sensor: Arc<str>,
    /// Input names, escaped as free text is (none for an audit).
    pub inputs: Arc<[String]>,
    pub kind: SourceKind,
}

impl SourceNames {
    pub fn new(sensor: &str, inputs: Vec<String>, live: bool) -> SourceNames {
        SourceNames {
            sensor: text::escape_text(sensor).into(),
            inputs: inputs.into(),
            kind: if live {
                SourceKind::Interfaces
            } else {
                SourceKind::Files
            },
        }
    }

    /// An audit's answers: `SourceRef { file: i, .. }` came from `queries[i]`.
    pub fn audit(sensor: &str, queries: Vec<audit::AuditQuery>) -> SourceNames {
        SourceNames {
            sensor: text::escape_text(sensor).into(),
            inputs: Arc::new([]),
            kind: SourceKind::Audit(queries.into()),
        }
    }

    /// Offline inputs named after `files`, for tests and fuzzing.
    pub fn files(sensor: &str, files: &[&str]) -> SourceNames {
        SourceNames::new(sensor, files.iter().map(|f| f.to_string()).collect(), false)
    }

    /// The name of input `index`: a file or an interface.
    pub fn input(&self, index: u32) -> &str {
        self.inputs.get(index as usize).map_or("?", String::as_str)
    }

    /// The capture file `index` names; `None` live or in an audit.
    pub fn file(&self, index: u32) -> Option<&str> {
        matches!(self.kind, SourceKind::Files).then(|| self.input(index))
    }

    /// The interface `index` names; `None` offline or in an audit.
    pub fn interface(&self, index: u32) -> Option<&str> {
        matches!(self.kind, SourceKind::Interfaces).then(|| self.input(index))
    }

    /// The audit question `index` names; `None` unless this is an audit.
    pub fn audit_query(&self, index: u32) -> Option<&audit::AuditQuery> {
        match &self.kind {
            SourceKind::Audit(queries) => queries.get(index as usize),
            SourceKind::Files | SourceKind::Interfaces => None,
        }
    }
}

/// The host name, the default `--sensor-name`.
pub fn host_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "-".into())
}

/// VLAN ids of a packet, outermost first (802.1Q, 802.1ad, QinQ), inner
/// tunnels' tags after the outer network's. The first [`VlanStack::CAP`]
/// are kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct VlanStack {
    ids: [u16; VlanStack::CAP],
    len: u8,
}

impl VlanStack {
    pub const CAP: usize = 4;

    pub fn push(&mut self, id: u16) {
        if let Some(slot) = self.ids.get_mut(usize::from(self.len)) {
            *slot = id;
            self.len += 1;
        }
    }

    pub fn ids(&self) -> &[u16] {
        self.ids.get(..usize::from(self.len)).unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Encapsulation a packet arrived in (remote span, cloud mirror).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TunnelKind {
    Gre,
    /// GRE version 1, as PPTP uses it, carrying PPP.
    GrePptp,
    ErspanI,
    ErspanII,
    ErspanIII,
    /// GRE in UDP (RFC 8086, port 4754).
    GreUdp,
    Vxlan,
    Geneve,
    /// IPv4 in IPv4 (protocol 4).
    IpIp,
    /// IPv6 in IPv4 (protocol 41, 6in4).
    SixInFour,
    /// IPv4 in IPv6.
    FourInSix,
    /// IPv6 in IPv6.
    SixInSix,
}

impl TunnelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TunnelKind::Gre => "gre",
            TunnelKind::GrePptp => "gre_pptp",
            TunnelKind::ErspanI => "erspan1",
            TunnelKind::ErspanII => "erspan2",
            TunnelKind::ErspanIII => "erspan3",
            TunnelKind::GreUdp => "gre_udp",
            TunnelKind::Vxlan => "vxlan",
            TunnelKind::Geneve => "geneve",
            TunnelKind::IpIp => "ipip",
            TunnelKind::SixInFour => "6in4",
            TunnelKind::FourInSix => "4in6",
            TunnelKind::SixInSix => "6in6",
        }
    }
}

/// The outermost tunnel around a packet: its kind, endpoints, and the
/// tunnel's own id where it has one (VXLAN/Geneve VNI, GRE key, ERSPAN
/// session).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tunnel {
    pub kind: TunnelKind,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub id: Option<u32>,
}

/// Network context of one DNS message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketMeta {
    pub ts: Timestamp,
    pub src_ip: IpAddr,
    pub src_port: u16,
    pub dst_ip: IpAddr,
    pub dst_port: u16,
    pub transport: Transport,
    pub source: SourceRef,
    pub vlan: VlanStack,
    pub tunnel: Option<Tunnel>,
    /// TTL / hop limit of the innermost IP header.
    pub ip_ttl: u8,
}

/// One DNS message inside a [`PayloadBatch`] arena.
#[derive(Clone, Copy, Debug)]
pub struct PayloadRef {
    pub meta: PacketMeta,
    pub start: u32,
    pub end: u32,
}

/// One anomaly for the weird log (Zeek's weird.log): a counted reason with
/// where it was seen. Addresses are those known when it happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Weird {
    pub ts: Timestamp,
    pub name: &'static str,
    pub src_ip: Option<IpAddr>,
    pub dst_ip: Option<IpAddr>,
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
    pub source: SourceRef,
}

/// A batch of DNS response messages, in capture order, with the anomalies
/// the capture stage met while producing them (only when a weird log is
/// written).
///
/// `seq` orders batches so that the output stage can restore capture order
/// whatever the number of workers.
#[derive(Debug, Default)]
pub struct PayloadBatch {
    pub seq: u64,
    pub arena: Vec<u8>,
    pub messages: Vec<PayloadRef>,
    pub weirds: Vec<Weird>,
}

impl PayloadBatch {
    /// Appends a message. Returns `false` (and stores nothing) when the
    /// arena would pass 4 GiB, which a batch never approaches.
    pub fn push(&mut self, meta: PacketMeta, payload: &[u8]) -> bool {
        let Ok(start) = u32::try_from(self.arena.len()) else {
            return false;
        };
        let Ok(end) = u32::try_from(self.arena.len() + payload.len()) else {
            return false;
        };
        self.arena.extend_from_slice(payload);
        self.messages.push(PayloadRef { meta, start, end });
        true
    }

    /// Message `index`, as [`PayloadBatch::iter`] gives it.
    pub fn get(&self, index: usize) -> Option<(&PacketMeta, &[u8])> {
        let m = self.messages.get(index)?;
        let bytes = self.arena.get(m.start as usize..m.end as usize)?;
        Some((&m.meta, bytes))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&PacketMeta, &[u8])> {
        self.messages.iter().map(|m| {
            let bytes = self
                .arena
                .get(m.start as usize..m.end as usize)
                .unwrap_or_default();
            (&m.meta, bytes)
        })
    }

    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty() && self.weirds.is_empty()
    }
    /// Empties the batch, keeping its buffers' room for the next one.
    pub fn clear(&mut self) {
        self.seq = 0;
        self.arena.clear();
        self.messages.clear();
        self.weirds.clear();
    }
}

/// Section of a DNS message a record came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Section {
    Question,
    Answer,
    Authority,
    Additional,
}

impl Section {
    pub fn as_str(self) -> &'static str {
        match self {
            Section::Question => "question",
            Section::Answer => "answer",
            Section::Authority => "authority",
            Section::Additional => "additional",
        }
    }
}

/// Record data in a form the matchers and the logs can use without
/// touching wire bytes again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rdata {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    /// CNAME, NS, PTR, DNAME, ANAME: a single target name, shared like
    /// owner names (a CNAME target is the next record's owner).
    Name(DomainName),
    Mx {
        preference: u16,
        exchange: DomainName,
    },
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: DomainName,
    },
    Soa {
        mname: DomainName,
        rname: DomainName,
        serial: u32,
        refresh: u32,
        retry: u32,
        expire: u32,
        minimum: u32,
    },
    /// Any other decoded type, already in presentation format.
    Text(String),
    /// Unknown type, or data that did not decode: kept as RFC 3597 bytes.
    Opaque(Box<[u8]>),
}

impl Rdata {
    /// The name inside the data that a hijack could point somewhere else:
    /// CNAME/NS/PTR target, MX exchange, SRV target, SOA primary server.
    pub fn target_name(&self) -> Option<&str> {
        match self {
            Rdata::Name(n) => Some(n),
            Rdata::Mx { exchange, .. } => Some(exchange),
            Rdata::Srv { target, .. } => Some(target),
            Rdata::Soa { mname, .. } => Some(mname),
            _ => None,
        }
    }

    pub fn ip_addr(&self) -> Option<IpAddr> {
        match self {
            Rdata::A(a) => Some(IpAddr::V4(*a)),
            Rdata::Aaaa(a) => Some(IpAddr::V6(*a)),
            _ => None,
        }
    }
}

impl fmt::Display for Rdata {
    /// Presentation format (RFC 1035 §5.1, RFC 3597 for opaque data).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rdata::A(a) => write!(f, "{a}"),
            Rdata::Aaaa(a) => write!(f, "{a}"),
            Rdata::Name(n) => f.write_str(n),
            Rdata::Mx {
                preference,
                exchange,
            } => write!(f, "{preference} {exchange}"),
            Rdata::Srv {
                priority,
                weight,
                port,
                target,
            } => write!(f, "{priority} {weight} {port} {target}"),
            Rdata::Soa {
                mname,
                rname,
                serial,
                refresh,
                retry,
                expire,
                minimum,
            } => write!(
                f,
                "{mname} {rname} {serial} {refresh} {retry} {expire} {minimum}"
            ),
            Rdata::Text(t) => f.write_str(t),
            Rdata::Opaque(bytes) => {
                write!(f, "\\# {}", bytes.len())?;
                if !bytes.is_empty() {
                    f.write_str(" ")?;
                    for b in bytes.iter() {
                        write!(f, "{b:02x}")?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// One resource record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsRecord {
    /// Owner name in presentation format, without the trailing dot; the
    /// root is `"."`. Case as on the wire.
    pub name: DomainName,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    pub data: Rdata,
}

/// An EDNS(0) option (RFC 6891).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EdnsOption {
    pub code: u16,
    /// Human-readable value where the option is known (client subnet,
    /// extended error, cookie), otherwise hex.
    pub data: String,
}

/// The OPT pseudo-record, taken out of the additional section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edns {
    pub udp_payload_size: u16,
    /// Upper 8 bits of the 12-bit extended RCODE.
    pub extended_rcode: u8,
    pub version: u8,
    pub dnssec_ok: bool,
    pub options: Vec<EdnsOption>,
}

/// Header flags of a response.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DnsFlags {
    pub aa: bool,
    pub tc: bool,
    pub rd: bool,
    pub ra: bool,
    pub ad: bool,
    pub cd: bool,
}

/// A decoded DNS response.
///
/// When the message is damaged, everything decoded before the damage is
/// kept and `defect` says what stopped the decoder: a forged answer must not
/// hide behind a broken additional section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsResponse {
    pub meta: PacketMeta,
    pub txid: u16,
    pub opcode: u8,
    pub rcode: u8,
    pub flags: DnsFlags,
    /// First question; `None` when QDCOUNT is 0 or the question is damaged.
    pub question: Option<Question>,
    pub answers: Vec<DnsRecord>,
    pub authority: Vec<DnsRecord>,
    pub additional: Vec<DnsRecord>,
    pub edns: Option<Edns>,
    pub defect: Option<Malformed>,
}

impl DnsResponse {
    /// A response to `meta` holding nothing yet, for a decoder to fill.
    pub fn empty(meta: PacketMeta) -> DnsResponse {
        DnsResponse {
            meta,
            txid: 0,
            opcode: 0,
            rcode: 0,
            flags: DnsFlags::default(),
            question: None,
            answers: Vec::new(),
            authority: Vec::new(),
            additional: Vec::new(),
            edns: None,
            defect: None,
        }
    }

    pub fn qname(&self) -> &str {
        self.question.as_ref().map_or("", |q| &*q.name)
    }

    /// Type of the first question; `None` when there is no question.
    pub fn qtype(&self) -> Option<u16> {
        self.question.as_ref().map(|q| q.qtype)
    }

    /// Records of every section, tagged with the section.
    pub fn records(&self) -> impl Iterator<Item = (Section, &DnsRecord)> {
        self.answers
            .iter()
            .map(|r| (Section::Answer, r))
            .chain(self.authority.iter().map(|r| (Section::Authority, r)))
            .chain(self.additional.iter().map(|r| (Section::Additional, r)))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    /// As [`DnsRecord::name`]; answers point back at it.
    pub name: DomainName,
    pub qtype: u16,
    pub qclass: u16,
}

/// What an alert is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlertKind {
    IocAddress,
    IocDomain,
    UnexpectedAddress,
    UnexpectedNs,
    UnexpectedNsAddress,
    UnexpectedMx,
    UnexpectedCname,
    LowTtl,
    UnexpectedResolver,
    DnssecMissing,
    ConflictingResponse,
    DnssecInvalid,
    InconsistentServers,
}

impl AlertKind {
    pub fn parse(s: &str) -> Option<AlertKind> {
        AlertKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub const ALL: [AlertKind; 13] = [
        AlertKind::IocAddress,
        AlertKind::IocDomain,
        AlertKind::UnexpectedAddress,
        AlertKind::UnexpectedNs,
        AlertKind::UnexpectedNsAddress,
        AlertKind::UnexpectedMx,
        AlertKind::UnexpectedCname,
        AlertKind::LowTtl,
        AlertKind::UnexpectedResolver,
        AlertKind::DnssecMissing,
        AlertKind::ConflictingResponse,
        AlertKind::DnssecInvalid,
        AlertKind::InconsistentServers,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::IocAddress => "ioc_address",
            AlertKind::IocDomain => "ioc_domain",
            AlertKind::UnexpectedAddress => "unexpected_address",
            AlertKind::UnexpectedNs => "unexpected_ns",
            AlertKind::UnexpectedNsAddress => "unexpected_ns_address",
            AlertKind::UnexpectedMx => "unexpected_mx",
            AlertKind::UnexpectedCname => "unexpected_cname",
            AlertKind::LowTtl => "low_ttl",
            AlertKind::UnexpectedResolver => "unexpected_resolver",
            AlertKind::DnssecMissing => "dnssec_missing",
            AlertKind::ConflictingResponse => "conflicting_response",
            AlertKind::DnssecInvalid => "dnssec_invalid",
            AlertKind::InconsistentServers => "inconsistent_servers",
        }
    }

    /// Known-bad infrastructure, a moved delegation, an answer from a
    /// server that has no business answering, and a stripped signature are
    /// what AA19-024A and Sea Turtle look like on the wire; other
    /// deviations from the expected records are often an unannounced change
    /// by the organisation itself, and a lowered TTL prepares a change
    /// rather than being one.
    pub fn severity(self) -> Severity {
        match self {
            AlertKind::IocAddress
            | AlertKind::IocDomain
            | AlertKind::UnexpectedNs
            | AlertKind::UnexpectedNsAddress
            | AlertKind::UnexpectedResolver
            | AlertKind::DnssecMissing
            | AlertKind::DnssecInvalid
            | AlertKind::ConflictingResponse => Severity::High,
            AlertKind::UnexpectedAddress
            | AlertKind::InconsistentServers
            | AlertKind::UnexpectedMx
            | AlertKind::UnexpectedCname
            | AlertKind::LowTtl => Severity::Medium,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Severity {
    High,
    Medium,
    /// Only ever by the zone owner's choice (an expect file's `severity`).
    Low,
}

impl Severity {
    /// One level down (an aged indicator goes no lower than medium; low
    /// is the zone owner's word and stays).
    pub fn lowered(self) -> Severity {
        match self {
            Severity::High | Severity::Medium => Severity::Medium,
            Severity::Low => Severity::Low,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "high" => Some(Severity::High),
            "medium" => Some(Severity::Medium),
            "low" => Some(Severity::Low),
            _ => None,
        }
    }
}

/// What the alert matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AlertDetail {
    /// An indicator of compromise, with its age at the packet's time.
    Ioc(IocMatch),
    /// A monitored zone's policy that the record broke.
    Zone {
        zone: Arc<str>,
        expected: Arc<[String]>,
    },
    /// The earlier response to the same query that said otherwise.
    Conflict(Arc<Conflict>),
}

/// The other response of a conflict, for the alert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    pub server: IpAddr,
    pub ts: Timestamp,
    pub source: SourceRef,
    pub value: String,
}

/// The response an alert was raised on: every alert it raised shares one,
/// so each carries the answer set without the DNS log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResponseInfo {
    /// [`ResponseInfo::id_of`] the response.
    pub id: u64,
    pub opcode: u8,
    pub rcode: u8,
    pub flags: DnsFlags,
    /// The first [`ResponseInfo::MAX_RECORDS_PER_SECTION`] records of each
    /// section.
    pub answers: Vec<DnsRecord>,
    pub authority: Vec<DnsRecord>,
    pub additional: Vec<DnsRecord>,
    /// Records of the response past that bound, in all sections together:
    /// the DNS log has them.
    pub records_omitted: usize,
}

impl ResponseInfo {
    /// Records of one section an alert carries. Every alert of a response
    /// carries them, so without a bound a message of a thousand hostile
    /// addresses for a monitored name (a thousand alerts, each with a
    /// thousand answers) turned 29 KB on the wire into 70 MB of alerts.
    pub const MAX_RECORDS_PER_SECTION: usize = 32;

    pub fn of(resp: &DnsResponse) -> ResponseInfo {
        let mut records_omitted = 0;
        let mut first = |records: &[DnsRecord]| {
            let kept = records.len().min(Self::MAX_RECORDS_PER_SECTION);
            records_omitted += records.len() - kept;
            records.get(..kept).unwrap_or_default().to_vec()
        };
        ResponseInfo {
            id: ResponseInfo::id_of(&resp.meta, resp.txid),
            opcode: resp.opcode,
            rcode: resp.rcode,
            flags: resp.flags,
            answers: first(&resp.answers),
            authority: first(&resp.authority),
            additional: first(&resp.additional),
            records_omitted,
        }
    }

    /// The id of a response: FNV-1a of its packet time, addresses, ports,
    /// transport and transaction id. The same in every run over the same
    /// capture; two packets that agree on all of it are one response seen
    /// twice.
    pub fn id_of(meta: &PacketMeta, txid: u16) -> u64 {
        use std::hash::Hasher;
        let mut h = fnv::FnvHasher::default();
        h.write(&meta.ts.0.to_be_bytes());
        for (ip, port) in [(meta.src_ip, meta.src_port), (meta.dst_ip, meta.dst_port)] {
            match ip {
                IpAddr::V4(a) => h.write(&a.octets()),
                IpAddr::V6(a) => h.write(&a.octets()),
            }
            h.write(&port.to_be_bytes());
        }
        h.write(meta.transport.as_str().as_bytes());
        h.write(&txid.to_be_bytes());
        h.finish()
    }
}

/// One detection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    pub kind: AlertKind,
    pub meta: PacketMeta,
    pub txid: u16,
    pub qname: String,
    pub qtype: Option<u16>,
    /// Owner name of the offending record (the query name for a question match).
    pub owner: String,
    pub rrtype: u16,
    pub section: Section,
    /// The offending value: an address, or a name without trailing dot.
    pub value: String,
    /// TTL of the offending record (none for a question match or a
    /// whole-response finding).
    pub ttl: Option<u32>,
    pub detail: AlertDetail,
    /// The server's packets arrived with another IP TTL before: (now,
    /// before). Evidence of an injector; set by the output stage.
    pub ip_ttl_change: Option<(u8, u8)>,
    /// Severity the owner's zone sets for this kind (expect file
    /// `severity`); set by the output stage.
    pub severity_override: Option<Severity>,
    /// The response it was raised on, shared with the response's other
    /// alerts.
    pub response: Arc<ResponseInfo>,
}

impl Alert {
    /// The alert's severity: the zone owner's override if the expect file
    /// sets one, else its kind's, one level lower for an indicator older
    /// than the configured maximum age (README, "IOC feeds").
    pub fn severity(&self) -> Severity {
        if let Some(s) = self.severity_override {
            return s;
        }
        match &self.detail {
            AlertDetail::Ioc(m) if m.stale => self.kind.severity().lowered(),
            _ => self.kind.severity(),
        }
    }

    /// The alert's catalogue rule with the alert's own severity on the
    /// numeric scale, as every format writes it.
    pub fn rule(&self) -> rule::Rule {
        rule::Rule {
            severity: rule::severity_number(self.severity()),
            ..*self.kind.rule()
        }
    }

    /// The id of this one alert event, unique where `group` (the alert's
    /// suppression id, shared by its repeats) is not: FNV-1a of the
    /// response's id and `group`. A response raises one alert per kind and
    /// value, so no two events of a run share it; the same in every run
    /// over the same capture.
    pub fn event_id(&self, group: u64) -> u64 {
        use std::hash::Hasher;
        let mut h = fnv::FnvHasher::default();
        h.write(&self.response.id.to_be_bytes());
        h.write(&group.to_be_bytes());
        h.finish()
    }
}

#[cfg(test)]
impl PacketMeta {
    /// A UDP response from 10.1.0.53:53 to 10.1.2.3:40000 at 2019-01-10
    /// 09:00 UTC, packet 1 of file 0, for unit tests.
    pub(crate) fn sample() -> PacketMeta {
        PacketMeta {
            ts: Timestamp(1_547_110_800_000_000),
            src_ip: std::net::IpAddr::from([10, 1, 0, 53]),
            src_port: 53,
            dst_ip: std::net::IpAddr::from([10, 1, 2, 3]),
            dst_port: 40000,
            transport: Transport::Udp,
            source: SourceRef { file: 0, packet: 1 },
            vlan: VlanStack::default(),
            tunnel: None,
            ip_ttl: 64,
        }
    }
}

#[cfg(test)]
impl Alert {
    /// An A-record alert from 10.1.0.53 to 10.1.2.3 at 2019-01-10 09:00 UTC,
    /// for unit tests that need one whole alert.
    pub(crate) fn sample(kind: AlertKind, owner: &str, value: &str, detail: AlertDetail) -> Alert {
        Alert {
            kind,
            meta: PacketMeta::sample(),
            txid: 1,
            qname: owner.into(),
            qtype: Some(1),
            owner: owner.into(),
            rrtype: 1,
            section: Section::Answer,
            value: value.into(),
            ttl: Some(60),
            detail,
            ip_ttl_change: None,
            severity_override: None,
            response: Arc::default(),
        }
    }
}
