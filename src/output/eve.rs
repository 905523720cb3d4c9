//! Suricata's EVE JSON: alerts as `event_type: "alert"`, the DNS log as
//! `event_type: "dns"`, health as `event_type: "stats"`, laid out as
//! Suricata 8 writes them, so that content written for Suricata (Splunk's
//! TA, Elastic's Suricata module, Security Onion, Sentinel) reads them
//! unchanged.
//!
//! Every event validates against Suricata's own schema (`etc/schema.json`,
//! whose top level admits no field Suricata does not write): what is
//! dnsentry's own goes into `alert.metadata`, as lists of strings, the way
//! Suricata writes a rule's metadata. The conventions:
//!
//! * `timestamp` `2019-01-10T09:00:02.262345+0000` (UTC);
//! * a DNS response goes from the server (`src_ip`) to the client
//!   (`dest_ip`), `direction: "to_client"`, as Suricata 8 logs responses;
//! * `flow_id` and `community_id` from [`FlowHash`]: the Community ID is
//!   the one Suricata computes for the flow;
//! * `host` is `--sensor-name`, `in_iface` the interface live,
//!   `pcap_filename` the capture offline, `pcap_cnt` the packet number;
//! * the `dns` object is Suricata's version 3 response: `queries`,
//!   `answers`, `authorities` and `additionals` of `{rrname, rrtype, ttl,
//!   rdata}` (SOA and SRV as Suricata's objects), flags as hex.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::IpAddr;

use serde::Serialize;

use super::json::{references, sensor_rule, write_json};
use crate::model::flow::FlowHash;
use crate::model::names::{rcode_name, type_name};
use crate::model::rule::{GID, Rule};
use crate::model::{
    Alert, AlertDetail, DnsFlags, DnsRecord, DnsResponse, PacketMeta, Rdata, SourceNames,
    Timestamp, Transport,
};
use crate::stats::SensorEvent;

/// Suricata's logging version of the `dns` object.
const DNS_VERSION: u8 = 3;

/// The fields every packet event starts with.
#[derive(Serialize)]
struct Head<'a> {
    timestamp: String,
    flow_id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    in_iface: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pcap_filename: Option<&'a str>,
    pcap_cnt: u64,
    event_type: &'static str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    vlan: &'a [u16],
    src_ip: IpAddr,
    src_port: u16,
    dest_ip: IpAddr,
    dest_port: u16,
    proto: &'static str,
    ip_v: u8,
    community_id: String,
    direction: &'static str,
    host: &'a str,
}

fn head<'a>(m: &'a PacketMeta, event_type: &'static str, sources: &'a SourceNames) -> Head<'a> {
    let flow = FlowHash::of(m);
    Head {
        timestamp: m.ts.eve().to_string(),
        flow_id: flow.flow_id(),
        in_iface: sources.interface(m.source.file),
        pcap_filename: sources.file(m.source.file),
        pcap_cnt: m.source.packet,
        event_type,
        vlan: m.vlan.ids(),
        src_ip: m.src_ip,
        src_port: m.src_port,
        dest_ip: m.dst_ip,
        dest_port: m.dst_port,
        proto: match m.transport {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        },
        ip_v: if m.src_ip.is_ipv4() { 4 } else { 6 },
        community_id: flow.community_id(),
        direction: "to_client",
        host: &sources.sensor,
    }
}

#[derive(Serialize)]
struct Query<'a> {
    rrname: &'a str,
    rrtype: String,
}

#[derive(Serialize)]
struct Soa<'a> {
    mname: &'a str,
    rname: &'a str,
    serial: u32,
    refresh: u32,
    retry: u32,
    expire: u32,
    minimum: u32,
}

#[derive(Serialize)]
struct Srv<'a> {
    priority: u16,
    weight: u16,
    port: u16,
    name: &'a str,
}

#[derive(Serialize)]
struct Record<'a> {
    rrname: &'a str,
    rrtype: String,
    ttl: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    rdata: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    soa: Option<Soa<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    srv: Option<Srv<'a>>,
}

fn record(r: &DnsRecord) -> Record<'_> {
    let mut out = Record {
        rrname: &r.name,
        rrtype: type_name(r.rtype).into_owned(),
        ttl: r.ttl,
        rdata: None,
        soa: None,
        srv: None,
    };
    match &r.data {
        Rdata::Soa {
            mname,
            rname,
            serial,
            refresh,
            retry,
            expire,
            minimum,
        } => {
            out.soa = Some(Soa {
                mname,
                rname,
                serial: *serial,
                refresh: *refresh,
                retry: *retry,
                expire: *expire,
                minimum: *minimum,
            });
        }
        Rdata::Srv {
            priority,
            weight,
            port,
            target,
        } => {
            out.srv = Some(Srv {
                priority: *priority,
                weight: *weight,
                port: *port,
                name: target,
            });
        }
        // Suricata's MX rdata is the exchange alone.
        Rdata::Mx { exchange, .. } => out.rdata = Some(exchange.to_string()),
        other => out.rdata = Some(other.to_string()),
    }
    out
}

/// Records for a list the schema wants absent rather than empty.
fn records(rs: &[DnsRecord]) -> Option<Vec<Record<'_>>> {
    (!rs.is_empty()).then(|| rs.iter().map(record).collect())
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Suricata's version 3 `dns` object of a response.
#[derive(Serialize)]
struct Dns<'a> {
    version: u8,
    #[serde(rename = "type")]
    kind: &'static str,
    id: u16,
    flags: String,
    #[serde(skip_serializing_if = "is_false")]
    qr: bool,
    #[serde(skip_serializing_if = "is_false")]
    aa: bool,
    #[serde(skip_serializing_if = "is_false")]
    tc: bool,
    #[serde(skip_serializing_if = "is_false")]
    rd: bool,
    #[serde(skip_serializing_if = "is_false")]
    ra: bool,
    opcode: u8,
    rcode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    queries: Option<[Query<'a>; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    answers: Option<Vec<Record<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    authorities: Option<Vec<Record<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    additionals: Option<Vec<Record<'a>>>,
}

/// The header's second 16 bits, as Suricata prints them (hex, no `0x`).
/// The Z bit is not kept by the decoder and reads as 0.
fn header_flags(opcode: u8, rcode: u8, f: DnsFlags) -> String {
    let bit = |on: bool, mask: u16| if on { mask } else { 0 };
    let v = 0x8000
        | (u16::from(opcode & 0x0f) << 11)
        | bit(f.aa, 0x0400)
        | bit(f.tc, 0x0200)
        | bit(f.rd, 0x0100)
        | bit(f.ra, 0x0080)
        | bit(f.ad, 0x0020)
        | bit(f.cd, 0x0010)
        | u16::from(rcode & 0x0f);
    format!("{v:x}")
}

struct DnsParts<'a> {
    txid: u16,
    opcode: u8,
    rcode: u8,
    flags: DnsFlags,
    question: Option<(&'a str, u16)>,
    answers: &'a [DnsRecord],
    authority: &'a [DnsRecord],
    additional: &'a [DnsRecord],
}

fn dns(p: DnsParts<'_>) -> Dns<'_> {
    Dns {
        version: DNS_VERSION,
        kind: "response",
        id: p.txid,
        flags: header_flags(p.opcode, p.rcode, p.flags),
        qr: true,
        aa: p.flags.aa,
        tc: p.flags.tc,
        rd: p.flags.rd,
        ra: p.flags.ra,
        opcode: p.opcode,
        rcode: rcode_name(p.rcode),
        queries: p.question.map(|(name, qtype)| {
            [Query {
                rrname: name,
                rrtype: type_name(qtype).into_owned(),
            }]
        }),
        answers: records(p.answers),
        authorities: records(p.authority),
        additionals: records(p.additional),
    }
}

#[derive(Serialize)]
struct AlertObject<'a> {
    action: &'static str,
    gid: u32,
    signature_id: u32,
    rev: u32,
    signature: &'static str,
    category: &'static str,
    severity: u8,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    references: Vec<&'a str>,
    metadata: BTreeMap<&'static str, Vec<String>>,
}

fn alert_object<'a>(
    rule: &Rule,
    references: Vec<&'a str>,
    mut metadata: BTreeMap<&'static str, Vec<String>>,
) -> AlertObject<'a> {
    let techniques = rule.attack;
    let mut put = |k: &'static str, v: Vec<String>| {
        if !v.is_empty() {
            metadata.insert(k, v);
        }
    };
    put("dnsentry_kind", vec![rule.kind.into()]);
    put(
        "mitre_technique_id",
        techniques.iter().map(|t| t.id.into()).collect(),
    );
    put(
        "mitre_technique_name",
        techniques.iter().map(|t| t.name.into()).collect(),
    );
    let mut tactics: Vec<(&str, &str)> = techniques
        .iter()
        .flat_map(|t| t.tactics.iter().copied())
        .collect();
    tactics.sort_unstable();
    tactics.dedup();
    put(
        "mitre_tactic_id",
        tactics.iter().map(|t| t.0.into()).collect(),
    );
    put(
        "mitre_tactic_name",
        tactics.iter().map(|t| t.1.into()).collect(),
    );
    put("remediation", vec![rule.remediation.into()]);
    AlertObject {
        action: "allowed",
        gid: GID,
        signature_id: rule.id,
        rev: rule.rev,
        signature: rule.name,
        category: rule.category,
        severity: rule.eve_severity(),
        references,
        metadata,
    }
}

#[derive(Serialize)]
struct AlertEvent<'a> {
    #[serde(flatten)]
    head: Head<'a>,
    app_proto: &'static str,
    alert: AlertObject<'a>,
    dns: Dns<'a>,
}

/// What an alert has beyond Suricata's fields, as `alert.metadata`.
fn alert_metadata(
    a: &Alert,
    id: u64,
    count: u64,
    sources: &SourceNames,
) -> BTreeMap<&'static str, Vec<String>> {
    let mut md: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut put = |k: &'static str, v: String| {
        md.insert(k, vec![v]);
    };
    put("message", a.message());
    put("dnsentry_severity", a.severity().as_str().into());
    put("alert_id", format!("{id:016x}"));
    put("suppressed_count", count.to_string());
    put("response_id", format!("{:016x}", a.response.id));
    if a.response.records_omitted > 0 {
        put(
            "response_records_omitted",
            a.response.records_omitted.to_string(),
        );
    }
    put("qname", a.qname.clone());
    if let Some(t) = a.qtype {
        put("qtype", type_name(t).into_owned());
    }
    put("owner", a.owner.clone());
    put("rrtype", type_name(a.rrtype).into_owned());
    put("section", a.section.as_str().into());
    put("value", a.value.clone());
    if let Some(ttl) = a.ttl {
        put("ttl", ttl.to_string());
    }
    if let Some(t) = &a.meta.tunnel {
        put("tunnel_type", t.kind.as_str().into());
        put("tunnel_src", t.src.to_string());
        put("tunnel_dst", t.dst.to_string());
        if let Some(tid) = t.id {
            put("tunnel_id", tid.to_string());
        }
    }
    if let Some((now, before)) = a.ip_ttl_change {
        put("ip_ttl_now", now.to_string());
        put("ip_ttl_before", before.to_string());
    }
    // An audited answer has no pcap file: the question asked says where
    // it came from.
    if let Some(q) = sources.audit_query(a.meta.source.file) {
        put("audit_server", q.server.to_string());
        if let Some(n) = &q.server_name {
            put("audit_server_name", n.clone());
        }
        put("audit_role", q.role.as_str().into());
        put("audit_zone", q.zone.clone());
        put("audit_question", q.question());
        put("audit_transport", q.transport.as_str().into());
    }
    match &a.detail {
        AlertDetail::Ioc(ind) => {
            put("indicator", ind.text());
            put("indicator_type", ind.kind.as_str().into());
            put("feed", ind.feed.to_string());
            if let Some(s) = &ind.source {
                put("ioc_source", s.clone());
            }
            if let Some(r) = &ind.reference {
                put("ioc_reference", r.clone());
            }
            if let Some(u) = &ind.url {
                put("ioc_url", u.clone());
            }
            if let Some(d) = ind.age_days {
                put("ioc_age_days", d.to_string());
            }
            put("ioc_stale", ind.stale.to_string());
            if let Some(c) = ind.lifecycle.confidence {
                put("ioc_confidence", c.to_string());
            }
            if !ind.meta.is_empty() {
                md.insert(
                    "ioc_meta",
                    ind.meta.iter().map(|(k, v)| format!("{k}={v}")).collect(),
                );
            }
        }
        AlertDetail::Zone { zone, expected } => {
            put("zone", zone.to_string());
            if !expected.is_empty() {
                md.insert("expected", expected.to_vec());
            }
        }
        AlertDetail::Conflict(c) => {
            put("first_server", c.server.to_string());
            put("first_timestamp", c.ts.eve().to_string());
            put("first_value", c.value.clone());
            put("first_pcap_cnt", c.source.packet.to_string());
            if let Some(f) = sources.file(c.source.file) {
                put("first_pcap_filename", f.into());
            }
        }
    }
    md
}

/// Writes one alert as an EVE `alert` event line; `id` is its stable id
/// and `count` how many alerts of that id were suppressed before it.
pub fn write_alert(
    out: &mut impl Write,
    a: &Alert,
    id: u64,
    count: u64,
    sources: &SourceNames,
) -> std::io::Result<()> {
    let rule = &a.rule();
    let r = &a.response;
    let event = AlertEvent {
        head: head(&a.meta, "alert", sources),
        app_proto: "dns",
        alert: alert_object(
            rule,
            references(a, rule),
            alert_metadata(a, id, count, sources),
        ),
        dns: dns(DnsParts {
            txid: a.txid,
            opcode: r.opcode,
            rcode: r.rcode,
            flags: r.flags,
            question: a.qtype.map(|t| (a.qname.as_str(), t)),
            answers: &r.answers,
            authority: &r.authority,
            additional: &r.additional,
        }),
    };
    write_json(&mut *out, &event)?;
    out.write_all(b"\n")
}

#[derive(Serialize)]
struct DnsEvent<'a> {
    #[serde(flatten)]
    head: Head<'a>,
    dns: Dns<'a>,
}

/// Writes one decoded response as an EVE `dns` event line.
pub fn write_dns_log(out: &mut Vec<u8>, r: &DnsResponse, sources: &SourceNames) {
    let event = DnsEvent {
        head: head(&r.meta, "dns", sources),
        dns: dns(DnsParts {
            txid: r.txid,
            opcode: r.opcode,
            rcode: r.rcode,
            flags: r.flags,
            question: r.question.as_ref().map(|q| (&*q.name, q.qtype)),
            answers: &r.answers,
            authority: &r.authority,
            additional: &r.additional,
        }),
    };
    // Writing to a Vec cannot fail, and every field serialises.
    if write_json(&mut *out, &event).is_ok() {
        out.push(b'\n');
    }
}

/// A sensor event's RFC 3339 time as EVE writes it.
fn eve_time(rfc3339: &str) -> String {
    match rfc3339.parse::<jiff::Timestamp>() {
        Ok(t) => Timestamp(t.as_microsecond()).eve().to_string(),
        Err(_) => rfc3339.to_string(),
    }
}

#[derive(Serialize)]
struct Capture {
    kernel_packets: u64,
    kernel_drops: u64,
    kernel_ifdrops: u64,
}

#[derive(Serialize)]
struct Stats {
    uptime: u64,
    capture: Capture,
}

#[derive(Serialize)]
struct StatsEvent<'a> {
    timestamp: String,
    event_type: &'static str,
    host: &'a str,
    stats: Stats,
}

#[derive(Serialize)]
struct SensorAlertEvent<'a> {
    timestamp: String,
    event_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    in_iface: Option<&'a str>,
    host: &'a str,
    alert: AlertObject<'a>,
}

/// Writes a sensor event: `sensor_health` as Suricata's `stats` event
/// (its capture counters summed over the interfaces; the schema allows no
/// key of ours there, so the audit's counts are in the native and ECS
/// events only), `capture_loss`,
/// `capture_stalled` and `audit_failed` as alerts of their own rules.
pub fn write_sensor_event(
    out: &mut impl Write,
    e: &SensorEvent,
    sources: &SourceNames,
) -> std::io::Result<()> {
    let rule = sensor_rule(e);
    match e {
        SensorEvent::SensorHealth {
            ts,
            uptime_seconds,
            interfaces,
            ..
        } => {
            let sum = |f: fn(&crate::stats::IfaceReport) -> u64| interfaces.iter().map(f).sum();
            let event = StatsEvent {
                timestamp: eve_time(ts),
                event_type: "stats",
                host: &sources.sensor,
                stats: Stats {
                    uptime: *uptime_seconds,
                    capture: Capture {
                        kernel_packets: sum(|i| i.received),
                        kernel_drops: sum(|i| i.kernel_dropped),
                        kernel_ifdrops: sum(|i| i.interface_dropped),
                    },
                },
            };
            write_json(&mut *out, &event)?;
        }
        SensorEvent::CaptureLoss {
            ts,
            interface,
            received,
            dropped,
            drop_rate,
            ..
        } => {
            let mut md = BTreeMap::new();
            md.insert("message", vec![e.message()]);
            md.insert("received", vec![received.to_string()]);
            md.insert("dropped", vec![dropped.to_string()]);
            md.insert("drop_rate", vec![drop_rate.to_string()]);
            let event = SensorAlertEvent {
                timestamp: eve_time(ts),
                event_type: "alert",
                in_iface: Some(interface),
                host: &sources.sensor,
                alert: alert_object(rule, Vec::new(), md),
            };
            write_json(&mut *out, &event)?;
        }
        SensorEvent::AuditFailed {
            ts,
            server,
            role,
            zone,
            question,
            reason,
            ..
        } => {
            let mut md = BTreeMap::new();
            md.insert("message", vec![e.message()]);
            md.insert("audit_server", vec![server.clone()]);
            md.insert("audit_role", vec![(*role).to_string()]);
            md.insert("audit_zone", vec![zone.clone()]);
            md.insert("audit_question", vec![question.clone()]);
            md.insert("reason", vec![reason.clone()]);
            let event = SensorAlertEvent {
                timestamp: eve_time(ts),
                event_type: "alert",
                in_iface: None,
                host: &sources.sensor,
                alert: alert_object(rule, Vec::new(), md),
            };
            write_json(&mut *out, &event)?;
        }
        SensorEvent::CaptureStalled { ts, interface, .. } => {
            let mut md = BTreeMap::new();
            md.insert("message", vec![e.message()]);
            let event = SensorAlertEvent {
                timestamp: eve_time(ts),
                event_type: "alert",
                in_iface: Some(interface),
                host: &sources.sensor,
                alert: alert_object(rule, Vec::new(), md),
            };
            write_json(&mut *out, &event)?;
        }
    }
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_the_header_bits_in_hex_as_suricata_prints_them() {
        let f = DnsFlags {
            rd: true,
            ra: true,
            ..DnsFlags::default()
        };
        assert_eq!(header_flags(0, 0, f), "8180");
        assert_eq!(header_flags(0, 3, f), "8183");
    }

    #[test]
    fn timestamps_have_six_digits_and_a_numeric_offset() {
        assert_eq!(
            Timestamp(1_547_110_802_262_345).eve().to_string(),
            "2019-01-10T09:00:02.262345+0000"
        );
        assert_eq!(
            eve_time("2026-11-27T17:20:19.284176Z"),
            "2026-11-27T17:20:19.284176+0000"
        );
    }
}
