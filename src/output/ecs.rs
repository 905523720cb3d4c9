//! Elastic Common Schema (ECS) 8.x documents: alerts, DNS-log events and
//! sensor events as Elastic's content (detection rules, the Security app's
//! network and threat views, dashboards) and every ECS-speaking SIEM read
//! them, one JSON object per line.
//!
//! Every field is an ECS field with its ECS type (a test checks each
//! document against ECS's own `ecs_flat.yml`); what ECS has no field for
//! is dnsentry's own and sits under `dnsentry.` only. The conventions:
//!
//! * `@timestamp` the packet time, RFC 3339 UTC with microseconds;
//! * `source` is the client and `destination` the server (the flow's
//!   initiator and responder, as ECS and Elastic's Suricata and Zeek
//!   modules have it), whichever way the response travelled;
//! * `network.community_id` is the Community ID Suricata and Zeek compute;
//! * `observer` is the sensor: `hostname` the machine, `name`
//!   `--sensor-name`, `ingress.interface.name` the interface live;
//! * `event.dataset` is `dnsentry.alert`, `dnsentry.dns` or
//!   `dnsentry.sensor`; `event.id` is unique per event, the suppression
//!   group is `dnsentry.alert_id`;
//! * ATT&CK as ECS splits it: `threat.technique.*` the techniques,
//!   `threat.technique.subtechnique.*` the sub-techniques.

use std::borrow::Cow;
use std::io::Write;
use std::net::IpAddr;
use std::sync::OnceLock;

use serde::Serialize;

use super::json::{
    Disp, EdnsView, FirstView, IpTtlView, Records, SourceView, TunnelView, TypeName, edns_view,
    sensor_rule, source_view, tunnel_view, write_json,
};
use crate::model::flow::FlowHash;
use crate::model::names::{class_name, opcode_name, rcode_name};
use crate::model::rule::Rule;
use crate::model::{
    Alert, AlertDetail, DnsFlags, DnsRecord, DnsResponse, IndicatorValue, PacketMeta, Rdata,
    SourceNames, Timestamp, Transport,
};
use crate::stats::SensorEvent;

/// The ECS release the documents follow.
pub const ECS_VERSION: &str = "8.17.0";

/// `observer.vendor` and `observer.product`.
const PRODUCT: &str = "dnsentry";

/// The ATT&CK site, for technique and tactic references.
const ATTACK: &str = "https://attack.mitre.org";

#[derive(Serialize)]
struct EcsVersion {
    version: &'static str,
}

const ECS: EcsVersion = EcsVersion {
    version: ECS_VERSION,
};

#[derive(Serialize)]
struct EventView {
    kind: &'static str,
    category: &'static [&'static str],
    #[serde(rename = "type")]
    types: &'static [&'static str],
    #[serde(skip_serializing_if = "Option::is_none")]
    severity: Option<u8>,
    dataset: &'static str,
    module: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
}

#[derive(Serialize)]
struct RuleView {
    id: String,
    name: &'static str,
    version: String,
    category: &'static str,
    description: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reference: Option<&'static str>,
    ruleset: &'static str,
}

fn rule_view(r: &Rule) -> RuleView {
    RuleView {
        id: r.id.to_string(),
        name: r.name,
        version: r.rev.to_string(),
        category: r.category,
        description: r.description,
        reference: r.references.first().copied(),
        ruleset: PRODUCT,
    }
}

#[derive(Serialize)]
struct Interface<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct Ingress<'a> {
    interface: Interface<'a>,
}

#[derive(Serialize)]
struct Observer<'a> {
    hostname: &'static str,
    name: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    vendor: &'static str,
    product: &'static str,
    version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ingress: Option<Ingress<'a>>,
}

/// The machine's name, looked up once: it is the same for every event.
fn machine() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| crate::model::text::escape_text(&crate::model::host_name()).into_owned())
}

fn observer<'a>(sources: &'a SourceNames, interface: Option<&'a str>) -> Observer<'a> {
    Observer {
        hostname: machine(),
        name: &sources.sensor,
        kind: "sensor",
        vendor: PRODUCT,
        product: PRODUCT,
        version: env!("CARGO_PKG_VERSION"),
        ingress: interface.map(|name| Ingress {
            interface: Interface { name },
        }),
    }
}

#[derive(Serialize)]
struct Endpoint {
    ip: IpAddr,
    port: u16,
}

#[derive(Serialize)]
struct Vlan {
    id: String,
}

#[derive(Serialize)]
struct InnerVlan {
    vlan: Vlan,
}

#[derive(Serialize)]
struct Network {
    transport: &'static str,
    protocol: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    community_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    vlan: Option<Vlan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inner: Option<InnerVlan>,
}

/// The packet's flow: the client, the server, and the network between.
struct Flow {
    source: Endpoint,
    destination: Endpoint,
    network: Network,
}

fn flow(m: &PacketMeta) -> Flow {
    let vlan = |i: usize| m.vlan.ids().get(i).map(|id| Vlan { id: id.to_string() });
    Flow {
        // A response travels from the server to the client.
        source: Endpoint {
            ip: m.dst_ip,
            port: m.dst_port,
        },
        destination: Endpoint {
            ip: m.src_ip,
            port: m.src_port,
        },
        network: Network {
            transport: match m.transport {
                Transport::Udp => "udp",
                Transport::Tcp => "tcp",
            },
            protocol: "dns",
            kind: if m.src_ip.is_ipv4() { "ipv4" } else { "ipv6" },
            community_id: FlowHash::of(m).community_id(),
            vlan: vlan(0),
            inner: vlan(1).map(|vlan| InnerVlan { vlan }),
        },
    }
}

#[derive(Serialize)]
struct Question<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    qtype: TypeName,
    #[serde(skip_serializing_if = "Option::is_none")]
    class: Option<Cow<'static, str>>,
}

#[derive(Serialize)]
struct Answer<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    rtype: TypeName,
    class: Cow<'static, str>,
    ttl: u32,
    data: Disp<'a, Rdata>,
}

#[derive(Serialize)]
struct Dns<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: String,
    op_code: Cow<'static, str>,
    response_code: &'static str,
    header_flags: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    question: Option<Question<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    answers: Vec<Answer<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    resolved_ip: Vec<IpAddr>,
}

/// What a response says, whether from the DNS log or an alert.
struct DnsParts<'a> {
    txid: u16,
    opcode: u8,
    rcode: u8,
    flags: DnsFlags,
    /// The EDNS DO bit; unknown (`None`) for an alert.
    dnssec_ok: Option<bool>,
    question: Option<(&'a str, u16, Option<u16>)>,
    answers: &'a [DnsRecord],
}

fn dns(p: DnsParts<'_>) -> Dns<'_> {
    let mut flags = Vec::new();
    for (on, name) in [
        (p.flags.aa, "AA"),
        (p.flags.tc, "TC"),
        (p.flags.rd, "RD"),
        (p.flags.ra, "RA"),
        (p.flags.ad, "AD"),
        (p.flags.cd, "CD"),
        (p.dnssec_ok == Some(true), "DO"),
    ] {
        if on {
            flags.push(name);
        }
    }
    Dns {
        kind: "answer",
        id: p.txid.to_string(),
        op_code: opcode_name(p.opcode),
        response_code: rcode_name(p.rcode),
        header_flags: flags,
        question: p.question.map(|(name, qtype, class)| Question {
            name,
            qtype: TypeName(qtype),
            class: class.map(class_name),
        }),
        answers: p
            .answers
            .iter()
            .map(|r| Answer {
                name: &r.name,
                rtype: TypeName(r.rtype),
                class: class_name(r.class),
                ttl: r.ttl,
                data: Disp(&r.data),
            })
            .collect(),
        resolved_ip: p
            .answers
            .iter()
            .filter_map(|r| match r.data {
                Rdata::A(a) => Some(IpAddr::V4(a)),
                Rdata::Aaaa(a) => Some(IpAddr::V6(a)),
                _ => None,
            })
            .collect(),
    }
}

#[derive(Serialize)]
struct Related {
    ip: Vec<IpAddr>,
}

/// Every address the event names, once each, for pivoting.
fn related(m: &PacketMeta, resolved: &[IpAddr]) -> Related {
    let mut ip = vec![m.dst_ip, m.src_ip];
    for a in resolved {
        if !ip.contains(a) {
            ip.push(*a);
        }
    }
    Related { ip }
}

#[derive(Serialize)]
struct Subtechniques {
    id: Vec<&'static str>,
    name: Vec<&'static str>,
    reference: Vec<String>,
}

#[derive(Serialize)]
struct Techniques {
    id: Vec<&'static str>,
    name: Vec<&'static str>,
    reference: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subtechnique: Option<Subtechniques>,
}

#[derive(Serialize)]
struct Tactics {
    id: Vec<&'static str>,
    name: Vec<&'static str>,
    reference: Vec<String>,
}

#[derive(Serialize)]
struct UrlDomain<'a> {
    domain: &'a str,
}

#[derive(Serialize)]
struct IndicatorView<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<UrlDomain<'a>>,
    provider: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reference: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    confidence: Option<&'static str>,
}

/// A 0..100 confidence in words, as STIX 2.1 Appendix A (and so ECS's
/// `threat.indicator.confidence`) scales it.
fn confidence_word(c: u8) -> &'static str {
    match c {
        0 => "None",
        1..=29 => "Low",
        30..=69 => "Medium",
        _ => "High",
    }
}

#[derive(Serialize)]
struct Threat<'a> {
    framework: &'static str,
    technique: Techniques,
    tactic: Tactics,
    #[serde(skip_serializing_if = "Option::is_none")]
    indicator: Option<IndicatorView<'a>>,
}

/// ATT&CK as ECS has it: `T1584.002 Compromise Infrastructure: DNS
/// Server` is technique `T1584 Compromise Infrastructure` with
/// sub-technique `T1584.002 DNS Server`.
fn threat<'a>(rule: &Rule, indicator: Option<IndicatorView<'a>>) -> Option<Threat<'a>> {
    if rule.attack.is_empty() {
        return None;
    }
    let mut technique = Techniques {
        id: Vec::new(),
        name: Vec::new(),
        reference: Vec::new(),
        subtechnique: None,
    };
    let mut sub = Subtechniques {
        id: Vec::new(),
        name: Vec::new(),
        reference: Vec::new(),
    };
    let mut tactic = Tactics {
        id: Vec::new(),
        name: Vec::new(),
        reference: Vec::new(),
    };
    for t in rule.attack {
        let (parent, sub_number) = t.id.split_once('.').unwrap_or((t.id, ""));
        let (parent_name, sub_name) = t.name.split_once(": ").unwrap_or((t.name, ""));
        if !technique.id.contains(&parent) {
            technique.id.push(parent);
            technique.name.push(parent_name);
            technique
                .reference
                .push(format!("{ATTACK}/techniques/{parent}/"));
        }
        if !sub_number.is_empty() {
            sub.id.push(t.id);
            sub.name.push(sub_name);
            sub.reference
                .push(format!("{ATTACK}/techniques/{parent}/{sub_number}/"));
        }
        for (id, name) in t.tactics {
            if !tactic.id.contains(id) {
                tactic.id.push(id);
                tactic.name.push(name);
                tactic.reference.push(format!("{ATTACK}/tactics/{id}/"));
            }
        }
    }
    if !sub.id.is_empty() {
        technique.subtechnique = Some(sub);
    }
    Some(Threat {
        framework: "MITRE ATT&CK",
        technique,
        tactic,
        indicator,
    })
}

/// The indicator an IOC alert matched, as ECS describes indicators: STIX
/// types, the address or domain itself, the feed it was loaded from as
/// the provider, its own reference, its source as the description, and
/// its confidence in STIX's words.
fn indicator_view(a: &Alert) -> Option<IndicatorView<'_>> {
    let AlertDetail::Ioc(ind) = &a.detail else {
        return None;
    };
    let family = |ip: IpAddr| {
        if ip.is_ipv4() {
            "ipv4-addr"
        } else {
            "ipv6-addr"
        }
    };
    let (kind, ip, url) = match &ind.value {
        IndicatorValue::Addr(ip) => (family(*ip), Some(*ip), None),
        // A network is no address: its text is the indicator's name.
        IndicatorValue::Net(net) => (family(net.addr()), None, None),
        IndicatorValue::Domain(d) => ("domain-name", None, Some(UrlDomain { domain: d })),
    };
    Some(IndicatorView {
        kind,
        name: ind.text(),
        ip,
        url,
        provider: &ind.feed,
        reference: ind.reference.as_deref(),
        description: ind.source.as_deref(),
        confidence: ind.lifecycle.confidence.map(confidence_word),
    })
}

/// What ECS has no field for: an IOC alert's feed columns, its report's
/// address, the indicator's age at the packet's time, whether that
/// lowered the severity, and the confidence as its number.
#[derive(Serialize)]
struct OwnIoc<'a> {
    feed: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    age_days: Option<i64>,
    stale: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    confidence: Option<u8>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    meta: &'a [(String, String)],
}

/// A record section ECS has no field for.
#[derive(Serialize)]
struct OwnDns<'a> {
    rcode: u8,
    authority: Records<'a>,
    additional: Records<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    edns: Option<EdnsView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    malformed: Option<&'static str>,
}

#[derive(Serialize)]
struct OwnAlert<'a> {
    kind: &'static str,
    severity: &'static str,
    alert_id: String,
    count: u64,
    response_id: String,
    /// Records of the response the alert does not carry.
    #[serde(skip_serializing_if = "Option::is_none")]
    response_records_omitted: Option<usize>,
    qname: &'a str,
    qtype: Option<TypeName>,
    owner: &'a str,
    rrtype: TypeName,
    section: &'static str,
    value: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ioc: Option<OwnIoc<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    zone: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    first: Option<FirstView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip_ttl: Option<IpTtlView>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    vlan: &'a [u16],
    #[serde(skip_serializing_if = "Option::is_none")]
    tunnel: Option<TunnelView>,
    source: SourceView<'a>,
    remediation: &'static str,
    dns: OwnDns<'a>,
}

#[derive(Serialize)]
struct AlertDoc<'a> {
    #[serde(rename = "@timestamp")]
    timestamp: Disp<'a, Timestamp>,
    message: String,
    ecs: &'static EcsVersion,
    event: EventView,
    rule: RuleView,
    #[serde(skip_serializing_if = "Option::is_none")]
    threat: Option<Threat<'a>>,
    dns: Dns<'a>,
    source: Endpoint,
    destination: Endpoint,
    network: Network,
    related: Related,
    observer: Observer<'a>,
    dnsentry: OwnAlert<'a>,
}

/// Writes one alert as an ECS document line; `id` is its suppression
/// group and `count` how many alerts of it were suppressed before it.
pub fn write_alert(
    out: &mut impl Write,
    a: &Alert,
    id: u64,
    count: u64,
    sources: &SourceNames,
) -> std::io::Result<()> {
    let m = &a.meta;
    let rule = &a.rule();
    let r = &a.response;
    let Flow {
        source,
        destination,
        network,
    } = flow(m);
    let dns = dns(DnsParts {
        txid: a.txid,
        opcode: r.opcode,
        rcode: r.rcode,
        flags: r.flags,
        dnssec_ok: None,
        question: a.qtype.map(|t| (a.qname.as_str(), t, None)),
        answers: &r.answers,
    });
    let (ioc, zone, expected, first) = match &a.detail {
        AlertDetail::Ioc(ind) => (
            Some(OwnIoc {
                feed: &ind.feed,
                kind: ind.kind.as_str(),
                url: ind.url.as_deref(),
                age_days: ind.age_days,
                stale: ind.stale,
                confidence: ind.lifecycle.confidence,
                meta: &ind.meta,
            }),
            None,
            None,
            None,
        ),
        AlertDetail::Zone { zone, expected } => (None, Some(&**zone), Some(&**expected), None),
        AlertDetail::Conflict(c) => (
            None,
            None,
            None,
            Some(FirstView {
                server: c.server,
                ts: Disp(&c.ts),
                source: source_view(sources, c.source),
                value: &c.value,
            }),
        ),
    };
    let doc = AlertDoc {
        timestamp: Disp(&m.ts),
        message: a.message(),
        ecs: &ECS,
        event: EventView {
            kind: "alert",
            category: &["network", "intrusion_detection"],
            types: &["info"],
            severity: Some(rule.severity),
            dataset: "dnsentry.alert",
            module: PRODUCT,
            id: Some(format!("{:016x}", a.event_id(id))),
        },
        rule: rule_view(rule),
        threat: threat(rule, indicator_view(a)),
        related: related(m, &dns.resolved_ip),
        dns,
        source,
        destination,
        network,
        observer: observer(sources, sources.interface(m.source.file)),
        dnsentry: OwnAlert {
            kind: a.kind.as_str(),
            severity: a.severity().as_str(),
            alert_id: format!("{id:016x}"),
            count,
            response_id: format!("{:016x}", r.id),
            response_records_omitted: (r.records_omitted > 0).then_some(r.records_omitted),
            qname: &a.qname,
            qtype: a.qtype.map(TypeName),
            owner: &a.owner,
            rrtype: TypeName(a.rrtype),
            section: a.section.as_str(),
            value: &a.value,
            ttl: a.ttl,
            ioc,
            zone,
            expected,
            first,
            ip_ttl: a
                .ip_ttl_change
                .map(|(now, before)| IpTtlView { now, before }),
            vlan: m.vlan.ids(),
            tunnel: tunnel_view(&m.tunnel),
            source: source_view(sources, m.source),
            remediation: rule.remediation,
            dns: OwnDns {
                rcode: r.rcode,
                authority: Records(&r.authority),
                additional: Records(&r.additional),
                edns: None,
                malformed: None,
            },
        },
    };
    write_json(&mut *out, &doc)?;
    out.write_all(b"\n")
}

#[derive(Serialize)]
struct OwnDnsLog<'a> {
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    vlan: &'a [u16],
    #[serde(skip_serializing_if = "Option::is_none")]
    tunnel: Option<TunnelView>,
    source: SourceView<'a>,
    dns: OwnDns<'a>,
}

#[derive(Serialize)]
struct DnsDoc<'a> {
    #[serde(rename = "@timestamp")]
    timestamp: Disp<'a, Timestamp>,
    ecs: &'static EcsVersion,
    event: EventView,
    dns: Dns<'a>,
    source: Endpoint,
    destination: Endpoint,
    network: Network,
    related: Related,
    observer: Observer<'a>,
    dnsentry: OwnDnsLog<'a>,
}

/// Writes one decoded response as an ECS document line.
pub fn write_dns_log(out: &mut Vec<u8>, r: &DnsResponse, sources: &SourceNames) {
    let m = &r.meta;
    let Flow {
        source,
        destination,
        network,
    } = flow(m);
    let dns = dns(DnsParts {
        txid: r.txid,
        opcode: r.opcode,
        rcode: r.rcode,
        flags: r.flags,
        dnssec_ok: Some(r.edns.as_ref().is_some_and(|e| e.dnssec_ok)),
        question: r
            .question
            .as_ref()
            .map(|q| (&*q.name, q.qtype, Some(q.qclass))),
        answers: &r.answers,
    });
    let doc = DnsDoc {
        timestamp: Disp(&m.ts),
        ecs: &ECS,
        event: EventView {
            kind: "event",
            category: &["network"],
            types: &["protocol", "info"],
            severity: None,
            dataset: "dnsentry.dns",
            module: PRODUCT,
            id: None,
        },
        related: related(m, &dns.resolved_ip),
        dns,
        source,
        destination,
        network,
        observer: observer(sources, sources.interface(m.source.file)),
        dnsentry: OwnDnsLog {
            vlan: m.vlan.ids(),
            tunnel: tunnel_view(&m.tunnel),
            source: source_view(sources, m.source),
            dns: OwnDns {
                rcode: r.rcode,
                authority: Records(&r.authority),
                additional: Records(&r.additional),
                edns: r.edns.as_ref().map(edns_view),
                malformed: r.defect.map(|d| d.as_str()),
            },
        },
    };
    // Writing to a Vec cannot fail, and every field serialises.
    if write_json(&mut *out, &doc).is_ok() {
        out.push(b'\n');
    }
}

#[derive(Serialize)]
struct SensorDoc<'a> {
    #[serde(rename = "@timestamp")]
    timestamp: &'a str,
    message: String,
    ecs: &'static EcsVersion,
    event: EventView,
    rule: RuleView,
    observer: Observer<'a>,
    /// The native event whole: its counters have no ECS fields.
    dnsentry: &'a SensorEvent,
}

/// Writes a sensor event: `sensor_health` as a metric, `capture_loss`
/// and `capture_stalled` as alerts of their own rules, about the
/// interface in `observer.ingress`.
pub fn write_sensor_event(
    out: &mut impl Write,
    e: &SensorEvent,
    sources: &SourceNames,
) -> std::io::Result<()> {
    let rule = sensor_rule(e);
    let kind = match e {
        SensorEvent::SensorHealth { .. } => "metric",
        SensorEvent::CaptureLoss { .. }
        | SensorEvent::CaptureStalled { .. }
        | SensorEvent::AuditFailed { .. } => "alert",
    };
    let doc = SensorDoc {
        timestamp: e.ts(),
        message: e.message(),
        ecs: &ECS,
        event: EventView {
            kind,
            category: &["host"],
            types: &["info"],
            severity: Some(rule.severity),
            dataset: "dnsentry.sensor",
            module: PRODUCT,
            id: Some(format!("{:016x}", e.event_id())),
        },
        rule: rule_view(rule),
        observer: observer(sources, e.interface()),
        dnsentry: e,
    };
    write_json(&mut *out, &doc)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AlertKind;

    #[test]
    fn attack_techniques_are_split_into_technique_and_subtechnique() {
        let t = threat(AlertKind::IocDomain.rule(), None).unwrap();
        assert_eq!(t.technique.id, ["T1584"]);
        assert_eq!(t.technique.name, ["Compromise Infrastructure"]);
        let sub = t.technique.subtechnique.unwrap();
        assert_eq!(sub.id, ["T1584.002", "T1584.001"]);
        assert_eq!(sub.name, ["DNS Server", "Domains"]);
        assert_eq!(
            sub.reference[0],
            "https://attack.mitre.org/techniques/T1584/002/"
        );
        assert_eq!(t.tactic.id, ["TA0042"]);
        let t = threat(AlertKind::ConflictingResponse.rule(), None).unwrap();
        assert_eq!(t.technique.id, ["T1557"]);
        assert!(t.technique.subtechnique.is_none());
        assert_eq!(t.tactic.id, ["TA0006", "TA0009"]);
    }

    #[test]
    fn a_response_goes_from_the_server_so_the_client_is_the_source() {
        let a = Alert::sample(
            AlertKind::LowTtl,
            "www.example.org",
            "192.0.2.10",
            AlertDetail::Zone {
                zone: "example.org".into(),
                expected: vec!["ttl >= 300".to_string()].into(),
            },
        );
        let mut out = Vec::new();
        write_alert(&mut out, &a, 1, 0, &SourceNames::files("s", &["x.pcap"])).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["source"]["ip"], "10.1.2.3");
        assert_eq!(v["source"]["port"], 40000);
        assert_eq!(v["destination"]["ip"], "10.1.0.53");
        assert_eq!(v["destination"]["port"], 53);
        assert_eq!(v["@timestamp"], "2019-01-10T09:00:00.000000Z");
        assert_eq!(v["rule"]["id"], "9000008");
        assert!(v.get("threat").is_some());
        assert_eq!(v["dnsentry"]["alert_id"], "0000000000000001");
        assert_ne!(v["event"]["id"], v["dnsentry"]["alert_id"]);
    }
}
