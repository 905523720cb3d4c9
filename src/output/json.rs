//! JSON Lines encodings of alerts and of the DNS log.
//!
//! Field names and meanings are the documented schema (README.md, "Alert
//! schema" and "DNS log schema"); changing them breaks SIEM parsers.
//!
//! Every line is written through [`SafeFormatter`]: serde_json escapes
//! only `"`, `\` and U+0000..U+001F, so DEL, C1 controls and the Unicode
//! line separators would reach a file raw, and a JSON-lines reader (or a
//! terminal that shows the file) would act on them. They are written as
//! `\uNNNN`, which keeps the JSON valid and its values unchanged.

use std::fmt::Display;
use std::io::Write;
use std::net::IpAddr;

use serde::Serialize;
use serde::ser::{SerializeSeq, Serializer};

use crate::model::audit::AuditQuery;
use crate::model::names::{rcode_name, type_name};
use crate::model::rule::{Rule, RuleKind, Technique, rule};
use crate::model::text::is_unsafe_char;
use crate::model::{Alert, AlertDetail, DnsRecord, DnsResponse, Edns, SourceNames, SourceRef};
use crate::stats::SensorEvent;

/// serde_json's compact format, with every character
/// [`is_unsafe_char`] refuses written as `\uNNNN` (all of them are in the
/// Basic Multilingual Plane, so one escape each).
#[derive(Clone, Copy, Debug, Default)]
pub struct SafeFormatter;

impl serde_json::ser::Formatter for SafeFormatter {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        // Printable ASCII, the usual case, goes out as it is.
        if !fragment.bytes().any(|b| b == 0x7f || !b.is_ascii()) {
            return writer.write_all(fragment.as_bytes());
        }
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if is_unsafe_char(c) {
                writer.write_all(fragment.get(start..i).unwrap_or_default().as_bytes())?;
                write!(writer, "\\u{:04x}", u32::from(c))?;
                start = i + c.len_utf8();
            }
        }
        writer.write_all(fragment.get(start..).unwrap_or_default().as_bytes())
    }
}

/// Writes `value` as one line of JSON (without the newline) through
/// [`SafeFormatter`].
pub fn write_json<W: Write, T: Serialize + ?Sized>(out: W, value: &T) -> serde_json::Result<()> {
    value.serialize(&mut serde_json::Serializer::with_formatter(
        out,
        SafeFormatter,
    ))
}

/// `value` as indented JSON (`--stats-json`), unsafe characters escaped as
/// [`SafeFormatter`] does. serde_json has already escaped U+0000..U+001F
/// inside strings (the newlines left are the indentation's), and outside
/// strings JSON has only ASCII, so any other unsafe character is inside a
/// string, where `\uNNNN` means the same character.
pub fn to_string_pretty<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let unsafe_in_string = |c: char| is_unsafe_char(c) && u32::from(c) > 0x1f;
    let json = serde_json::to_string_pretty(value)?;
    if !json.contains(unsafe_in_string) {
        return Ok(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if unsafe_in_string(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// Serialises through `Display` without an intermediate `String`.
pub(crate) struct Disp<'a, T: Display>(pub(crate) &'a T);

impl<T: Display> Serialize for Disp<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self.0)
    }
}

pub(crate) struct TypeName(pub(crate) u16);

impl Serialize for TypeName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&type_name(self.0))
    }
}

#[derive(Serialize)]
pub(crate) struct TunnelView {
    #[serde(rename = "type")]
    kind: &'static str,
    src: IpAddr,
    dst: IpAddr,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u32>,
}

pub(crate) fn tunnel_view(t: &Option<crate::model::Tunnel>) -> Option<TunnelView> {
    t.map(|t| TunnelView {
        kind: t.kind.as_str(),
        src: t.src,
        dst: t.dst,
        id: t.id,
    })
}

/// Where a packet was read: `{file, packet}` offline; live the interface
/// has a field of its own and `source` holds the packet number alone; an
/// audited answer has `{packet, audit}`, the question that was asked.
#[derive(Serialize)]
pub(crate) struct SourceView<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    packet: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    audit: Option<AuditView<'a>>,
}

/// An audit question in a record: the server asked, in what role, for
/// which monitored zone, what, and over what.
#[derive(Serialize)]
pub(crate) struct AuditView<'a> {
    server: IpAddr,
    port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_name: Option<&'a str>,
    role: &'static str,
    zone: &'a str,
    qname: &'a str,
    qtype: TypeName,
    transport: &'static str,
}

pub(crate) fn audit_view(q: &AuditQuery) -> AuditView<'_> {
    AuditView {
        server: q.server.ip(),
        port: q.server.port(),
        server_name: q.server_name.as_deref(),
        role: q.role.as_str(),
        zone: &q.zone,
        qname: &q.qname,
        qtype: TypeName(q.qtype),
        transport: q.transport.as_str(),
    }
}

pub(crate) fn source_view(sources: &SourceNames, at: SourceRef) -> SourceView<'_> {
    SourceView {
        file: sources.file(at.file),
        packet: at.packet,
        audit: sources.audit_query(at.file).map(audit_view),
    }
}

/// A rule of the catalogue as every native record carries it.
#[derive(Serialize)]
pub(crate) struct RuleView {
    id: u32,
    rev: u32,
    name: &'static str,
    category: &'static str,
    severity: u8,
}

impl RuleView {
    pub(crate) fn of(r: &Rule) -> RuleView {
        RuleView {
            id: r.id,
            rev: r.rev,
            name: r.name,
            category: r.category,
            severity: r.severity,
        }
    }
}

#[derive(Serialize)]
struct TechniqueView {
    id: &'static str,
    name: &'static str,
}

fn attack_view(t: &[Technique]) -> Vec<TechniqueView> {
    t.iter()
        .map(|t| TechniqueView {
            id: t.id,
            name: t.name,
        })
        .collect()
}

/// The rule's references, and an IOC alert's own (the indicator's
/// reference and its report's address as its feed gives them).
pub(crate) fn references<'a>(alert: &'a Alert, r: &Rule) -> Vec<&'a str> {
    let mut refs: Vec<&str> = r.references.to_vec();
    if let AlertDetail::Ioc(ind) = &alert.detail {
        refs.extend(ind.reference.as_deref());
        refs.extend(ind.url.as_deref());
    }
    refs
}

#[derive(Serialize)]
struct IocView<'a> {
    indicator: String,
    #[serde(rename = "type")]
    kind: &'static str,
    source: Option<&'a str>,
    reference: Option<&'a str>,
    feed: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    /// Days from the indicator's last sighting or report to the packet.
    #[serde(skip_serializing_if = "Option::is_none")]
    age_days: Option<i64>,
    /// Older than `--ioc-max-age`: the alert's severity was lowered.
    stale: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    confidence: Option<u8>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    meta: &'a [(String, String)],
}

#[derive(Serialize)]
struct AlertView<'a> {
    ts: Disp<'a, crate::model::Timestamp>,
    id: String,
    /// Alerts of the same id suppressed since this one last fired.
    count: u64,
    kind: &'static str,
    severity: &'static str,
    qname: &'a str,
    qtype: Option<TypeName>,
    owner: &'a str,
    rrtype: TypeName,
    section: &'static str,
    value: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl: Option<u32>,
    src_ip: IpAddr,
    src_port: u16,
    dst_ip: IpAddr,
    dst_port: u16,
    transport: &'static str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    vlan: &'a [u16],
    #[serde(skip_serializing_if = "Option::is_none")]
    tunnel: Option<TunnelView>,
    txid: u16,
    source: SourceView<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ioc: Option<IocView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    zone: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    first: Option<FirstView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip_ttl: Option<IpTtlView>,
    message: String,
    rule: RuleView,
    attack: Vec<TechniqueView>,
    reference: Vec<&'a str>,
    remediation: &'static str,
    sensor: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    interface: Option<&'a str>,
    /// Shared by every alert of one response.
    response_id: String,
    /// The response's answer section, up to
    /// [`crate::model::ResponseInfo::MAX_RECORDS_PER_SECTION`] records.
    answers: Records<'a>,
    /// Records of the response the alert does not carry (the DNS log has
    /// them).
    #[serde(skip_serializing_if = "is_zero")]
    records_omitted: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The earlier response a `conflicting_response` contradicts.
#[derive(Serialize)]
pub(crate) struct FirstView<'a> {
    pub(crate) server: IpAddr,
    pub(crate) ts: Disp<'a, crate::model::Timestamp>,
    pub(crate) source: SourceView<'a>,
    pub(crate) value: &'a str,
}

#[derive(Serialize)]
pub(crate) struct IpTtlView {
    pub(crate) now: u8,
    pub(crate) before: u8,
}

/// Writes one alert as a JSON line; `id` is its stable id and `count` how
/// many alerts of that id were suppressed since it last fired.
pub fn write_alert(
    out: &mut impl Write,
    alert: &Alert,
    id: u64,
    count: u64,
    sources: &SourceNames,
) -> std::io::Result<()> {
    let m = &alert.meta;
    let rule = &alert.rule();
    let first = match &alert.detail {
        AlertDetail::Conflict(c) => Some(FirstView {
            server: c.server,
            ts: Disp(&c.ts),
            source: source_view(sources, c.source),
            value: &c.value,
        }),
        _ => None,
    };
    let (ioc, zone, expected) = match &alert.detail {
        AlertDetail::Ioc(ind) => (
            Some(IocView {
                indicator: ind.text(),
                kind: ind.kind.as_str(),
                source: ind.source.as_deref(),
                reference: ind.reference.as_deref(),
                feed: &ind.feed,
                url: ind.url.as_deref(),
                age_days: ind.age_days,
                stale: ind.stale,
                confidence: ind.lifecycle.confidence,
                meta: &ind.meta,
            }),
            None,
            None,
        ),
        AlertDetail::Zone { zone, expected } => (None, Some(&**zone), Some(&**expected)),
        AlertDetail::Conflict(_) => (None, None, None),
    };
    let view = AlertView {
        ts: Disp(&m.ts),
        id: format!("{id:016x}"),
        count,
        kind: alert.kind.as_str(),
        severity: alert.severity().as_str(),
        qname: &alert.qname,
        qtype: alert.qtype.map(TypeName),
        owner: &alert.owner,
        rrtype: TypeName(alert.rrtype),
        section: alert.section.as_str(),
        value: &alert.value,
        ttl: alert.ttl,
        src_ip: m.src_ip,
        src_port: m.src_port,
        dst_ip: m.dst_ip,
        dst_port: m.dst_port,
        transport: m.transport.as_str(),
        vlan: m.vlan.ids(),
        tunnel: tunnel_view(&m.tunnel),
        txid: alert.txid,
        source: source_view(sources, m.source),
        ioc,
        zone,
        expected,
        first,
        ip_ttl: alert
            .ip_ttl_change
            .map(|(now, before)| IpTtlView { now, before }),
        message: alert.message(),
        rule: RuleView::of(rule),
        attack: attack_view(rule.attack),
        reference: references(alert, rule),
        remediation: rule.remediation,
        sensor: &sources.sensor,
        interface: sources.interface(m.source.file),
        response_id: format!("{:016x}", alert.response.id),
        answers: Records(&alert.response.answers),
        records_omitted: alert.response.records_omitted,
    };
    write_json(&mut *out, &view)?;
    out.write_all(b"\n")
}

pub(crate) struct Records<'a>(pub(crate) &'a [DnsRecord]);

impl Serialize for Records<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for r in self.0 {
            seq.serialize_element(&RecordView {
                name: &r.name,
                rtype: TypeName(r.rtype),
                ttl: r.ttl,
                data: Disp(&r.data),
            })?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
struct RecordView<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    rtype: TypeName,
    ttl: u32,
    data: Disp<'a, crate::model::Rdata>,
}

#[derive(Serialize)]
pub(crate) struct EdnsView<'a> {
    udp_payload_size: u16,
    extended_rcode: u8,
    version: u8,
    dnssec_ok: bool,
    options: Vec<EdnsOptionView<'a>>,
}

#[derive(Serialize)]
struct EdnsOptionView<'a> {
    code: u16,
    name: &'static str,
    data: &'a str,
}

pub(crate) fn edns_view(e: &Edns) -> EdnsView<'_> {
    EdnsView {
        udp_payload_size: e.udp_payload_size,
        extended_rcode: e.extended_rcode,
        version: e.version,
        dnssec_ok: e.dnssec_ok,
        options: e
            .options
            .iter()
            .map(|o| EdnsOptionView {
                code: o.code,
                name: edns_option_name(o.code),
                data: &o.data,
            })
            .collect(),
    }
}

fn edns_option_name(code: u16) -> &'static str {
    match code {
        3 => "NSID",
        8 => "ECS",
        9 => "EXPIRE",
        10 => "COOKIE",
        11 => "TCP_KEEPALIVE",
        12 => "PADDING",
        13 => "CHAIN",
        14 => "KEY_TAG",
        15 => "EDE",
        _ => "OTHER",
    }
}

#[derive(Serialize)]
struct Flags {
    aa: bool,
    tc: bool,
    rd: bool,
    ra: bool,
    ad: bool,
    cd: bool,
}

#[derive(Serialize)]
struct DnsLogView<'a> {
    ts: Disp<'a, crate::model::Timestamp>,
    src_ip: IpAddr,
    src_port: u16,
    dst_ip: IpAddr,
    dst_port: u16,
    transport: &'static str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    vlan: &'a [u16],
    #[serde(skip_serializing_if = "Option::is_none")]
    tunnel: Option<TunnelView>,
    txid: u16,
    opcode: u8,
    rcode: u8,
    rcode_name: &'static str,
    flags: Flags,
    qname: &'a str,
    qtype: Option<TypeName>,
    answers: Records<'a>,
    authority: Records<'a>,
    additional: Records<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    edns: Option<EdnsView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    malformed: Option<&'static str>,
    source: SourceView<'a>,
    sensor: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    interface: Option<&'a str>,
}

#[derive(Serialize)]
struct WeirdView<'a> {
    ts: Disp<'a, crate::model::Timestamp>,
    name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    src_ip: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    src_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dst_ip: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dst_port: Option<u16>,
    source: SourceView<'a>,
    sensor: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    interface: Option<&'a str>,
}

/// Writes one anomaly as a weird-log JSON line.
pub fn write_weird(
    out: &mut impl Write,
    w: &crate::model::Weird,
    sources: &SourceNames,
) -> std::io::Result<()> {
    let view = WeirdView {
        ts: Disp(&w.ts),
        name: w.name,
        src_ip: w.src_ip,
        src_port: w.src_port,
        dst_ip: w.dst_ip,
        dst_port: w.dst_port,
        source: source_view(sources, w.source),
        sensor: &sources.sensor,
        interface: sources.interface(w.source.file),
    };
    write_json(&mut *out, &view)?;
    out.write_all(b"\n")
}

/// Writes one decoded response as a DNS-log JSON line.
pub fn write_dns_log(out: &mut Vec<u8>, r: &DnsResponse, sources: &SourceNames) {
    let m = &r.meta;
    let view = DnsLogView {
        ts: Disp(&m.ts),
        src_ip: m.src_ip,
        src_port: m.src_port,
        dst_ip: m.dst_ip,
        dst_port: m.dst_port,
        transport: m.transport.as_str(),
        vlan: m.vlan.ids(),
        tunnel: tunnel_view(&m.tunnel),
        txid: r.txid,
        opcode: r.opcode,
        rcode: r.rcode,
        rcode_name: rcode_name(r.rcode),
        flags: Flags {
            aa: r.flags.aa,
            tc: r.flags.tc,
            rd: r.flags.rd,
            ra: r.flags.ra,
            ad: r.flags.ad,
            cd: r.flags.cd,
        },
        qname: r.qname(),
        qtype: r.qtype().map(TypeName),
        answers: Records(&r.answers),
        authority: Records(&r.authority),
        additional: Records(&r.additional),
        edns: r.edns.as_ref().map(edns_view),
        malformed: r.defect.map(|d| d.as_str()),
        source: source_view(sources, m.source),
        sensor: &sources.sensor,
        interface: sources.interface(m.source.file),
    };
    // Writing to a Vec cannot fail, and every field serialises.
    if write_json(&mut *out, &view).is_ok() {
        out.push(b'\n');
    }
}

#[derive(Serialize)]
struct SensorEventView<'a> {
    #[serde(flatten)]
    event: &'a SensorEvent,
    rule: RuleView,
    sensor: &'a str,
}

/// The catalogue's entry of a sensor event.
pub fn sensor_rule(e: &SensorEvent) -> &'static Rule {
    rule(match e {
        SensorEvent::SensorHealth { .. } => RuleKind::SensorHealth,
        SensorEvent::CaptureLoss { .. } => RuleKind::CaptureLoss,
        SensorEvent::CaptureStalled { .. } => RuleKind::CaptureStalled,
        SensorEvent::AuditFailed { .. } => RuleKind::AuditFailed,
    })
}

/// Writes a sensor event (health, capture loss, stall) as a JSON line of
/// the alerts output: it carries its own `kind`, so a SIEM never mistakes
/// it for a detection.
pub fn write_sensor_event(
    out: &mut impl Write,
    e: &SensorEvent,
    sources: &SourceNames,
) -> std::io::Result<()> {
    let view = SensorEventView {
        event: e,
        rule: RuleView::of(sensor_rule(e)),
        sensor: &sources.sensor,
    };
    write_json(&mut *out, &view)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::audit::AuditRole;
    use crate::model::{AlertKind, Transport};

    fn line(sources: &SourceNames) -> serde_json::Value {
        let a = Alert::sample(
            AlertKind::UnexpectedMx,
            "example.org",
            "mx.evil.test",
            AlertDetail::Zone {
                zone: "example.org".into(),
                expected: vec!["mail.example.org".to_string()].into(),
            },
        );
        let mut out = Vec::new();
        write_alert(&mut out, &a, 1, 0, sources).unwrap();
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn an_audited_answer_names_the_question_instead_of_a_file() {
        let query = AuditQuery {
            server: "10.1.0.53:53".parse().unwrap(),
            server_name: Some("ns1.example.org".into()),
            role: AuditRole::Authoritative,
            zone: "example.org".into(),
            qname: "example.org".into(),
            qtype: 15,
            transport: Transport::Tcp,
        };
        let v = line(&SourceNames::audit("s", vec![query]));
        assert_eq!(
            v["source"],
            serde_json::json!({"packet": 1, "audit": {
                "server": "10.1.0.53", "port": 53, "server_name": "ns1.example.org",
                "role": "authoritative", "zone": "example.org", "qname": "example.org",
                "qtype": "MX", "transport": "tcp"}})
        );
        assert!(v.get("interface").is_none());
        let v = line(&SourceNames::files("s", &["x.pcap"]));
        assert_eq!(
            v["source"],
            serde_json::json!({"file": "x.pcap", "packet": 1})
        );
    }
}
