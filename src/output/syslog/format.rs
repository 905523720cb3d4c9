//! Syslog messages: the header (RFC 5424, or RFC 3164 on request) around a
//! body (the JSON alert, Suricata's EVE alert, an ECS document, ArcSight
//! CEF, or QRadar LEEF 2.0). Sensor events take the destination's body
//! format too.
//!
//! DNS names and feed metadata are attacker-controlled, so every field is
//! escaped the way its format demands, and anything that could end a record
//! (line breaks, NUL) or a field (each format's separators) is escaped or
//! replaced before it is written. Framing is the transport's business
//! (`transport.rs`); nothing here depends on how the bytes travel.

use std::fmt::Write as _;

use crate::model::names::type_name;
use crate::model::rule::Rule;
use crate::model::text::is_unsafe_char;
use crate::model::{Alert, AlertDetail, Severity, SourceNames, Timestamp};
use crate::output::json::{sensor_rule, write_alert, write_sensor_event};
use crate::output::{ecs, eve};
use crate::stats::SensorEvent;

/// The syslog header format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Header {
    Rfc5424,
    Rfc3164,
}

/// What the message carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    Json,
    /// Suricata's EVE JSON, as `--alerts-format eve` writes it.
    Eve,
    /// An Elastic Common Schema document, as `--alerts-format ecs` writes
    /// it.
    Ecs,
    Cef,
    Leef,
}

/// The default private enterprise number of the structured data's SD-ID
/// (`dnsentry@32473`): the number RFC 5612 reserves for documentation, so
/// no real organisation's number is claimed. An organisation that keys on
/// its own number configures it.
pub const EXAMPLE_ENTERPRISE_NUMBER: u32 = 32473;

/// Who sends: fixed for a run.
#[derive(Clone, Debug)]
pub struct Origin {
    pub hostname: String,
    pub procid: u32,
    /// Syslog facility (0..=23); `local0` is 16.
    pub facility: u8,
    /// The private enterprise number in the SD-ID `dnsentry@N`.
    pub enterprise_number: u32,
}

impl Origin {
    pub fn this_host(facility: u8, enterprise_number: u32) -> Origin {
        Origin {
            hostname: printusascii(&crate::model::host_name(), 255),
            procid: std::process::id(),
            facility,
            enterprise_number,
        }
    }

    /// `[dnsentry@N ` : the opening of the one SD-ELEMENT.
    fn sd_open(&self) -> String {
        format!("[dnsentry@{} ", self.enterprise_number)
    }
}

/// Syslog severity of an alert: `high` is critical (2), `medium` warning
/// (4), `low` notice (5); health events are informational (6), blindness events critical.
pub fn syslog_severity(sev: Severity) -> u8 {
    match sev {
        Severity::High => 2,
        Severity::Medium => 4,
        Severity::Low => 5,
    }
}

/// Names of the syslog facilities, for flags and config.
pub fn parse_facility(name: &str) -> Option<u8> {
    const NAMES: [&str; 24] = [
        "kern",
        "user",
        "mail",
        "daemon",
        "auth",
        "syslog",
        "lpr",
        "news",
        "uucp",
        "cron",
        "authpriv",
        "ftp",
        "ntp",
        "security",
        "console",
        "solaris-cron",
        "local0",
        "local1",
        "local2",
        "local3",
        "local4",
        "local5",
        "local6",
        "local7",
    ];
    if let Ok(n) = name.parse::<u8>() {
        return (n <= 23).then_some(n);
    }
    NAMES
        .iter()
        .position(|n| n.eq_ignore_ascii_case(name))
        .and_then(|i| u8::try_from(i).ok())
}

/// Printable US-ASCII (33..=126) only, at most `max` characters, `-` when
/// empty: what RFC 5424 allows in HOSTNAME, APP-NAME, PROCID, MSGID.
fn printusascii(s: &str, max: usize) -> String {
    let out: String = s
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if out.is_empty() { "-".into() } else { out }
}

/// Writes a character no record may carry raw (C0 and C1 controls, DEL,
/// line and paragraph separators, invisible format characters: see
/// [`is_unsafe_char`]) as `\u{XX}`, as every other output does. Feed text
/// arrives escaped already and DNS names in presentation format; this is
/// what keeps one record one record whatever slips through.
fn push_unsafe(c: char, out: &mut String) {
    let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
}

/// RFC 5424 §6.3.3 PARAM-VALUE: `"`, `\` and `]` escaped with `\`.
fn sd_value(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '"' | '\\' | ']' => {
                out.push('\\');
                out.push(c);
            }
            c if is_unsafe_char(c) => push_unsafe(c, out),
            c => out.push(c),
        }
    }
}

/// CEF header field: `\` and `|` escaped.
fn cef_header(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '\\' | '|' => {
                out.push('\\');
                out.push(c);
            }
            c if is_unsafe_char(c) => push_unsafe(c, out),
            c => out.push(c),
        }
    }
}

/// CEF extension value: `\`, `=` escaped, line breaks as `\n` / `\r`.
fn cef_value(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '\\' | '=' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if is_unsafe_char(c) => push_unsafe(c, out),
            c => out.push(c),
        }
    }
}

/// LEEF 2.0 header field: `|` escaped with `\`.
fn leef_header(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '\\' | '|' => {
                out.push('\\');
                out.push(c);
            }
            c if is_unsafe_char(c) => push_unsafe(c, out),
            c => out.push(c),
        }
    }
}

/// LEEF attribute value: the tab delimiter and every other unsafe
/// character escaped (LEEF has no escape of its own for its delimiter).
fn leef_value(s: &str, out: &mut String) {
    for c in s.chars() {
        if is_unsafe_char(c) {
            push_unsafe(c, out);
        } else {
            out.push(c);
        }
    }
}

/// A JSON line as a message body: written through the same escaping
/// formatter as the alerts file, so it holds no line break and no raw
/// control character.
fn json_body(write: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> String {
    let mut v = Vec::with_capacity(1024);
    // Writing to a Vec cannot fail, and every field serialises.
    let _ = write(&mut v);
    let json =
        String::from_utf8(v).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    json.trim_end().to_string()
}

/// The fields every body and the structured data draw on.
struct Fields<'a> {
    kind: &'static str,
    qname: &'a str,
    value: &'a str,
    indicator: Option<String>,
    feed: Option<&'a str>,
    zone: Option<&'a str>,
}

fn fields(a: &Alert) -> Fields<'_> {
    let (indicator, feed, zone) = match &a.detail {
        AlertDetail::Ioc(i) => (Some(i.text()), Some(&*i.feed), None),
        AlertDetail::Zone { zone, .. } => (None, None, Some(&**zone)),
        AlertDetail::Conflict(_) => (None, None, None),
    };
    Fields {
        kind: a.kind.as_str(),
        qname: &a.qname,
        value: &a.value,
        indicator,
        feed,
        zone,
    }
}

fn rfc3339(ts: Timestamp) -> String {
    ts.to_string()
}

/// RFC 3164 TIMESTAMP: `Mmm dd hh:mm:ss`, UTC (the format has no zone).
fn bsd_time(ts: Timestamp) -> String {
    jiff::Timestamp::from_microsecond(ts.0)
        .map(|t| t.strftime("%b %e %H:%M:%S").to_string())
        .unwrap_or_else(|_| "Jan  1 00:00:00".into())
}

/// LEEF's `devTimeFormat`: a Java `SimpleDateFormat` pattern, which QRadar
/// parses `devTime` with (IBM's LEEF 2.0 specification). `leef_time`
/// writes exactly this.
pub const LEEF_TIME_FORMAT: &str = "MMM dd yyyy HH:mm:ss.SSS z";

/// A time as [`LEEF_TIME_FORMAT`] reads it: English month abbreviation,
/// zero-padded day, milliseconds, and the zone `UTC`.
fn leef_time(ts: Timestamp) -> String {
    jiff::Timestamp::from_microsecond(ts.0)
        .map(|t| t.strftime("%b %d %Y %H:%M:%S%.3f UTC").to_string())
        .unwrap_or_else(|_| "Jan 01 1970 00:00:00.000 UTC".into())
}

/// A sensor event's RFC 3339 time as a [`Timestamp`]; the epoch if it is
/// none (it is always written by the sensor itself).
fn sensor_time(e: &SensorEvent) -> Timestamp {
    Timestamp(
        e.ts()
            .parse::<jiff::Timestamp>()
            .map_or(0, |t| t.as_microsecond()),
    )
}

/// The header, the structured data, then the body: one message, without
/// framing.
fn message(
    header: Header,
    origin: &Origin,
    severity: u8,
    ts: Timestamp,
    msgid: &str,
    sd: &str,
    body: &str,
) -> String {
    let pri = u32::from(origin.facility) * 8 + u32::from(severity);
    match header {
        Header::Rfc5424 => format!(
            "<{pri}>1 {} {} dnsentry {} {} {sd} {body}",
            rfc3339(ts),
            origin.hostname,
            origin.procid,
            printusascii(msgid, 32)
        ),
        // RFC 3164 has no structured data: the body carries everything.
        Header::Rfc3164 => format!(
            "<{pri}>{} {} dnsentry[{}]: {body}",
            bsd_time(ts),
            origin.hostname,
            origin.procid
        ),
    }
}

/// One alert as a syslog message (without framing).
pub fn alert_message(
    a: &Alert,
    id: u64,
    count: u64,
    header: Header,
    body: Body,
    origin: &Origin,
    sources: &SourceNames,
) -> String {
    let f = fields(a);
    let mut sd = origin.sd_open();
    sd.push_str("kind=\"");
    sd_value(f.kind, &mut sd);
    sd.push_str("\" qname=\"");
    sd_value(f.qname, &mut sd);
    sd.push_str("\" value=\"");
    sd_value(f.value, &mut sd);
    if let Some(i) = &f.indicator {
        sd.push_str("\" ioc=\"");
        sd_value(i, &mut sd);
    }
    if let Some(z) = f.zone {
        sd.push_str("\" zone=\"");
        sd_value(z, &mut sd);
    }
    let _ = write!(sd, "\" id=\"{id:016x}\"]");
    let body = match body {
        Body::Json => json_body(|v| write_alert(v, a, id, count, sources)),
        Body::Eve => json_body(|v| eve::write_alert(v, a, id, count, sources)),
        Body::Ecs => json_body(|v| ecs::write_alert(v, a, id, count, sources)),
        Body::Cef => cef_alert(a, &f, id, count, sources),
        Body::Leef => leef_alert(a, &f, id, count, sources),
    };
    message(
        header,
        origin,
        syslog_severity(a.severity()),
        a.meta.ts,
        f.kind,
        &sd,
        &body,
    )
}

/// CEF:0's header up to its extension: vendor, product and version, then
/// the rule's number as the signature id, its constant name, and its
/// severity on CEF's 0..10 scale (the catalogue's own scale).
fn cef_header_of(rule: &Rule) -> String {
    let mut s = String::from("CEF:0|dnsentry|dnsentry|");
    cef_header(env!("CARGO_PKG_VERSION"), &mut s);
    let _ = write!(s, "|{}|", rule.id);
    cef_header(rule.name, &mut s);
    let _ = write!(s, "|{}|", rule.severity);
    s
}

/// CEF extension pairs, written in the order given, each value escaped.
struct CefExtension(String);

impl CefExtension {
    fn new(header: String) -> CefExtension {
        CefExtension(header)
    }

    fn put(&mut self, key: &str, value: &str) {
        if !self.0.ends_with('|') {
            self.0.push(' ');
        }
        self.0.push_str(key);
        self.0.push('=');
        cef_value(value, &mut self.0);
    }

    /// A custom field with its label (`cs1Label=kind cs1=...`).
    fn labelled(&mut self, key: &str, label: &str, value: &str) {
        self.put(&format!("{key}Label"), label);
        self.put(key, value);
    }
}

/// ArcSight CEF:0. Standard keys first: `rt` packet time (ms since the
/// epoch), `dvchost` the sensor, `deviceInboundInterface` live, `app`
/// DNS, `cat` the rule's category, `src`/`spt` the answering server,
/// `dst`/`dpt` the client, `proto`, for an audited answer `shost` the
/// server's name and `sourceServiceName` its role, `externalId` unique per
/// event, `cnt` the suppressed count, `msg` the sentence; then the labelled custom
/// ones: cs1 kind, cs2 qname, cs3 value, cs4 indicator, cs5 zone, cs6
/// feed, cn1 the indicator's age in days, cn2 its confidence,
/// flexString1 the alert id (the suppression group), flexString2 the
/// response id.
fn cef_alert(a: &Alert, f: &Fields<'_>, id: u64, count: u64, sources: &SourceNames) -> String {
    let m = &a.meta;
    let rule = &a.rule();
    let mut x = CefExtension::new(cef_header_of(rule));
    x.put("rt", &(m.ts.0 / 1000).to_string());
    x.put("dvchost", &sources.sensor);
    if let Some(i) = sources.interface(m.source.file) {
        x.put("deviceInboundInterface", i);
    }
    x.put("app", "DNS");
    x.put("cat", rule.category);
    x.put("src", &m.src_ip.to_string());
    x.put("spt", &m.src_port.to_string());
    x.put("dst", &m.dst_ip.to_string());
    x.put("dpt", &m.dst_port.to_string());
    x.put("proto", &m.transport.as_str().to_ascii_uppercase());
    // An audited answer: the server asked (src) by name, and in what role.
    if let Some(q) = sources.audit_query(m.source.file) {
        if let Some(n) = &q.server_name {
            x.put("shost", n);
        }
        x.put(
            "sourceServiceName",
            &format!("DNS {} (audit)", q.role.as_str()),
        );
    }
    x.put("externalId", &format!("{:016x}", a.event_id(id)));
    x.put("cnt", &count.to_string());
    x.put("msg", &a.message());
    x.labelled("cs1", "kind", f.kind);
    x.labelled("cs2", "qname", f.qname);
    x.labelled("cs3", "value", f.value);
    if let Some(i) = &f.indicator {
        x.labelled("cs4", "indicator", i);
    }
    if let Some(z) = f.zone {
        x.labelled("cs5", "zone", z);
    }
    if let Some(feed) = f.feed {
        x.labelled("cs6", "feed", feed);
    }
    if let AlertDetail::Ioc(ind) = &a.detail {
        if let Some(d) = ind.age_days {
            x.labelled("cn1", "indicatorAgeDays", &d.to_string());
        }
        if let Some(c) = ind.lifecycle.confidence {
            x.labelled("cn2", "indicatorConfidence", &c.to_string());
        }
    }
    x.labelled("flexString1", "alertId", &format!("{id:016x}"));
    x.labelled(
        "flexString2",
        "responseId",
        &format!("{:016x}", a.response.id),
    );
    x.0
}

/// A sensor event in CEF: its own rule's id, name and severity, the same
/// standard keys as an alert where they apply (`rt`, `dvchost`,
/// `deviceInboundInterface`, `app`, `cat`, `externalId`, `msg`, and
/// `reason` for a stall), then its counters: `cn1` packets received, `cn2`
/// dropped, `cn3` DNS responses (health), `cfp1` the drop rate (loss).
fn cef_sensor(e: &SensorEvent, sources: &SourceNames) -> String {
    let rule = sensor_rule(e);
    let mut x = CefExtension::new(cef_header_of(rule));
    x.put("rt", &(sensor_time(e).0 / 1000).to_string());
    x.put("dvchost", &sources.sensor);
    if let Some(i) = e.interface() {
        x.put("deviceInboundInterface", i);
    }
    x.put("app", "DNS");
    x.put("cat", rule.category);
    x.put("externalId", &format!("{:016x}", e.event_id()));
    x.put("msg", &e.message());
    if let SensorEvent::CaptureStalled { reason, .. } | SensorEvent::AuditFailed { reason, .. } = e
    {
        x.put("reason", reason);
    }
    x.labelled("cs1", "kind", e.kind());
    for (key, label, value) in sensor_counters(e) {
        x.labelled(key, label, &value);
    }
    x.0
}

/// A sensor event's counters as CEF's labelled numbers (`key`), with the
/// names LEEF gives them (`label`).
fn sensor_counters(e: &SensorEvent) -> Vec<(&'static str, &'static str, String)> {
    match e {
        SensorEvent::SensorHealth {
            interfaces,
            dns_responses,
            ..
        } => vec![
            (
                "cn1",
                "received",
                interfaces
                    .iter()
                    .map(|i| i.received)
                    .sum::<u64>()
                    .to_string(),
            ),
            (
                "cn2",
                "dropped",
                interfaces
                    .iter()
                    .map(|i| i.kernel_dropped + i.interface_dropped)
                    .sum::<u64>()
                    .to_string(),
            ),
            ("cn3", "dnsResponses", dns_responses.to_string()),
        ],
        SensorEvent::CaptureLoss {
            received,
            dropped,
            drop_rate,
            ..
        } => vec![
            ("cn1", "received", received.to_string()),
            ("cn2", "dropped", dropped.to_string()),
            ("cfp1", "dropRate", drop_rate.to_string()),
        ],
        SensorEvent::CaptureStalled { .. } | SensorEvent::AuditFailed { .. } => Vec::new(),
    }
}

/// LEEF 2.0 attributes with the tab delimiter, each value escaped.
struct LeefAttributes(String);

impl LeefAttributes {
    /// The header: vendor, product, version, the readable event id (the
    /// kind), and the delimiter.
    fn new(event_id: &str) -> LeefAttributes {
        let mut s = String::from("LEEF:2.0|dnsentry|dnsentry|");
        leef_header(env!("CARGO_PKG_VERSION"), &mut s);
        s.push('|');
        leef_header(event_id, &mut s);
        s.push_str("|x09|");
        LeefAttributes(s)
    }

    fn put(&mut self, k: &str, v: &str) {
        if !self.0.ends_with('|') {
            self.0.push('\t');
        }
        self.0.push_str(k);
        self.0.push('=');
        leef_value(v, &mut self.0);
    }

    /// `devTime` as [`LEEF_TIME_FORMAT`] says, then the common keys: the
    /// severity (1..10) and category, the rule's id and name, the sensor
    /// and, live, the interface.
    fn common(&mut self, ts: Timestamp, rule: &Rule, sensor: &str, interface: Option<&str>) {
        self.put("devTime", &leef_time(ts));
        self.put("devTimeFormat", LEEF_TIME_FORMAT);
        self.put("sev", &rule.severity.max(1).to_string());
        self.put("cat", rule.category);
        self.put("ruleId", &rule.id.to_string());
        self.put("ruleName", rule.name);
        self.put("sensor", sensor);
        if let Some(i) = interface {
            self.put("interface", i);
        }
    }
}

/// QRadar LEEF 2.0 with a tab delimiter. The event id is the kind;
/// predefined keys `devTime`, `devTimeFormat`, `sev`, `cat` (the rule's
/// category), `src`/`srcPort` the answering server, `dst`/`dstPort` the
/// client, `proto`; custom keys (README: a QRadar property list)
/// `ruleId`, `ruleName`, `sensor`, `interface`, `msg`, `qname`, `qtype`,
/// `owner`, `rrtype`, `value`, `indicator`, `zone`, `feed`,
/// `indicatorAgeDays`, `indicatorConfidence`, `indicatorUrl`, for an audited
/// answer `auditServer`, `auditServerName`, `auditRole`, `auditQuestion`, `eventId`,
/// `alertId`, `responseId`, `count`.
fn leef_alert(a: &Alert, f: &Fields<'_>, id: u64, count: u64, sources: &SourceNames) -> String {
    let m = &a.meta;
    let mut x = LeefAttributes::new(f.kind);
    x.common(
        m.ts,
        &a.rule(),
        &sources.sensor,
        sources.interface(m.source.file),
    );
    x.put("src", &m.src_ip.to_string());
    x.put("srcPort", &m.src_port.to_string());
    x.put("dst", &m.dst_ip.to_string());
    x.put("dstPort", &m.dst_port.to_string());
    x.put("proto", &m.transport.as_str().to_ascii_uppercase());
    x.put("msg", &a.message());
    x.put("qname", f.qname);
    if let Some(t) = a.qtype {
        x.put("qtype", &type_name(t));
    }
    x.put("owner", &a.owner);
    x.put("rrtype", &type_name(a.rrtype));
    x.put("value", f.value);
    if let Some(i) = &f.indicator {
        x.put("indicator", i);
    }
    if let Some(z) = f.zone {
        x.put("zone", z);
    }
    if let Some(feed) = f.feed {
        x.put("feed", feed);
    }
    if let AlertDetail::Ioc(ind) = &a.detail {
        if let Some(d) = ind.age_days {
            x.put("indicatorAgeDays", &d.to_string());
        }
        if let Some(c) = ind.lifecycle.confidence {
            x.put("indicatorConfidence", &c.to_string());
        }
        if let Some(u) = &ind.url {
            x.put("indicatorUrl", u);
        }
    }
    if let Some(q) = sources.audit_query(m.source.file) {
        x.put("auditServer", &q.server.to_string());
        if let Some(n) = &q.server_name {
            x.put("auditServerName", n);
        }
        x.put("auditRole", q.role.as_str());
        x.put("auditQuestion", &q.question());
    }
    x.put("eventId", &format!("{:016x}", a.event_id(id)));
    x.put("alertId", &format!("{id:016x}"));
    x.put("responseId", &format!("{:016x}", a.response.id));
    x.put("count", &count.to_string());
    x.0
}

/// A sensor event in LEEF 2.0: the common keys, `msg`, `eventId`,
/// `reason` for a stall and the counters (`received`, `dropped`,
/// `dnsResponses`, `dropRate`).
fn leef_sensor(e: &SensorEvent, sources: &SourceNames) -> String {
    let mut x = LeefAttributes::new(e.kind());
    x.common(
        sensor_time(e),
        sensor_rule(e),
        &sources.sensor,
        e.interface(),
    );
    x.put("msg", &e.message());
    x.put("eventId", &format!("{:016x}", e.event_id()));
    if let SensorEvent::CaptureStalled { reason, .. } | SensorEvent::AuditFailed { reason, .. } = e
    {
        x.put("reason", reason);
    }
    for (_, label, value) in sensor_counters(e) {
        x.put(label, &value);
    }
    x.0
}

/// A health or blindness event in the destination's body format; MSGID
/// its kind, informational or critical.
pub fn sensor_message(
    e: &SensorEvent,
    header: Header,
    body: Body,
    origin: &Origin,
    sources: &SourceNames,
) -> String {
    let kind = e.kind();
    let severity = match e {
        SensorEvent::SensorHealth { .. } => 6,
        SensorEvent::CaptureLoss { .. }
        | SensorEvent::CaptureStalled { .. }
        | SensorEvent::AuditFailed { .. } => 2,
    };
    let body = match body {
        Body::Json => json_body(|v| write_sensor_event(v, e, sources)),
        Body::Eve => json_body(|v| eve::write_sensor_event(v, e, sources)),
        Body::Ecs => json_body(|v| ecs::write_sensor_event(v, e, sources)),
        Body::Cef => cef_sensor(e, sources),
        Body::Leef => leef_sensor(e, sources),
    };
    let ts = Timestamp(jiff::Timestamp::now().as_microsecond());
    let sd = format!("{}kind=\"{kind}\"]", origin.sd_open());
    message(header, origin, severity, ts, kind, &sd, &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use std::sync::Arc;

    fn origin() -> Origin {
        Origin {
            hostname: "sensor1".into(),
            procid: 42,
            facility: 16,
            enterprise_number: EXAMPLE_ENTERPRISE_NUMBER,
        }
    }

    fn alert(qname: &str, feed_source: &str) -> Alert {
        let ind = crate::ioc::Indicator {
            value: crate::ioc::IndicatorValue::Addr("185.20.187.8".parse().unwrap()),
            kind: crate::ioc::IndicatorType::Ipv4,
            source: Some(feed_source.into()),
            reference: None,
            meta: vec![],
            feed: "feed|=]\".csv".into(),
            line: 1,
            url: None,
            lifecycle: Default::default(),
        };
        let standing = Standing {
            age_days: None,
            stale: false,
        };
        Alert::sample(
            AlertKind::IocAddress,
            qname,
            "185.20.187.8",
            AlertDetail::Ioc(IocMatch::new(Arc::new(ind), standing)),
        )
    }

    fn sources() -> SourceNames {
        SourceNames::files("sensor1", &["x.pcap"])
    }

    #[test]
    fn rfc5424_header_and_structured_data() {
        let m = alert_message(
            &alert("mail.example.org", "CISA"),
            0xabc,
            0,
            Header::Rfc5424,
            Body::Json,
            &origin(),
            &sources(),
        );
        assert!(
            m.starts_with("<130>1 2019-01-10T09:00:00.000000Z sensor1 dnsentry 42 ioc_address [dnsentry@32473 kind=\"ioc_address\" qname=\"mail.example.org\" value=\"185.20.187.8\" ioc=\"185.20.187.8\" id=\"0000000000000abc\"] {\"ts\""),
            "{m}"
        );
    }

    #[test]
    fn rfc3164_header() {
        let m = alert_message(
            &alert("a.test", "x"),
            1,
            0,
            Header::Rfc3164,
            Body::Json,
            &origin(),
            &sources(),
        );
        assert!(
            m.starts_with("<130>Jan 10 09:00:00 sensor1 dnsentry[42]: {\"ts\""),
            "{m}"
        );
    }

    /// Hostile names and feed metadata: whatever they hold, every format
    /// stays one record with exactly the fields it was given.
    #[test]
    fn hostile_values_never_split_a_record_or_inject_a_field() {
        let hostile = [
            "a\nb.example",
            "x|y=z\\w.example",
            "q]\"x=\"1\" evil=\"2",
            "nul\0byte",
            "\u{7f}\u{85}\u{2028}ünïcode",
            "cs1=injected cs2=x",
            "tab\there=1",
        ];
        let long =
            "a".repeat(63) + "." + &"b".repeat(63) + "." + &"c".repeat(63) + "." + &"d".repeat(61);
        for q in hostile
            .iter()
            .copied()
            .chain(std::iter::once(long.as_str()))
        {
            for body in [Body::Json, Body::Eve, Body::Ecs, Body::Cef, Body::Leef] {
                for header in [Header::Rfc5424, Header::Rfc3164] {
                    let m = alert_message(&alert(q, q), 7, 0, header, body, &origin(), &sources());
                    // LEEF's attribute delimiter is a tab by design; nothing
                    // else that breaks a line or a field may appear.
                    let stray = |c: char| is_unsafe_char(c) && !(body == Body::Leef && c == '\t');
                    assert!(!m.contains(stray), "{body:?} {header:?}: {m:?}");
                    match body {
                        Body::Cef => {
                            let cef = &m[m.find("CEF:0|").unwrap()..];
                            let ext = cef.splitn(8, '|').nth(7).unwrap();
                            let unescaped_eq = ext
                                .char_indices()
                                .filter(|(i, c)| *c == '=' && !ext[..*i].ends_with('\\'))
                                .count();
                            // rt dvchost app cat src spt dst dpt proto externalId
                            // cnt msg, and 2 per labelled field: cs1..cs4, cs6
                            // (kind, qname, value, indicator, feed), flexString1
                            // and 2 (alert and response ids).
                            assert_eq!(unescaped_eq, 12 + 2 * 7, "{m}");
                            let header: Vec<&str> = cef.splitn(8, '|').take(7).collect();
                            assert_eq!(
                                header,
                                [
                                    "CEF:0",
                                    "dnsentry",
                                    "dnsentry",
                                    env!("CARGO_PKG_VERSION"),
                                    "9000001",
                                    AlertKind::IocAddress.rule().name,
                                    "8"
                                ],
                                "{m}"
                            );
                        }
                        Body::Leef => {
                            let attrs = m.rsplit("|x09|").next().unwrap();
                            assert_eq!(attrs.split('\t').count(), 24, "{m:?}");
                        }
                        Body::Json => {
                            let json = &m[m.find("{\"ts\"").unwrap()..];
                            let v: serde_json::Value = serde_json::from_str(json).unwrap();
                            assert_eq!(v["qname"], q);
                            assert!(v["message"].as_str().unwrap().contains("185.20.187.8"));
                        }
                        Body::Ecs => {
                            let json = &m[m.find("{\"@timestamp\"").unwrap()..];
                            let v: serde_json::Value = serde_json::from_str(json).unwrap();
                            assert_eq!(v["dns"]["question"]["name"], q);
                            assert_eq!(v["dnsentry"]["qname"], q);
                            assert_eq!(v["observer"]["name"], "sensor1");
                        }
                        Body::Eve => {
                            let json = &m[m.find("{\"timestamp\"").unwrap()..];
                            let v: serde_json::Value = serde_json::from_str(json).unwrap();
                            assert_eq!(v["event_type"], "alert");
                            assert_eq!(v["alert"]["metadata"]["qname"][0], q);
                            assert_eq!(v["dns"]["queries"][0]["rrname"], q);
                            assert_eq!(v["host"], "sensor1");
                        }
                    }
                    if header == Header::Rfc5424 {
                        // Exactly one SD element, closed where we closed it.
                        let sd_end = m.find("\"] ").unwrap();
                        let sd = &m[m.find('[').unwrap()..=sd_end + 1];
                        let unescaped_close = sd
                            .char_indices()
                            .filter(|(i, c)| *c == ']' && !sd[..*i].ends_with('\\'))
                            .count();
                        assert_eq!(unescaped_close, 1, "{sd}");
                    }
                }
            }
        }
    }

    /// devTime matches devTimeFormat field by field: English month, day
    /// padded to two digits, milliseconds, the zone.
    #[test]
    fn leef_time_is_what_its_java_pattern_reads() {
        assert_eq!(LEEF_TIME_FORMAT, "MMM dd yyyy HH:mm:ss.SSS z");
        assert_eq!(
            leef_time(Timestamp(1_547_110_802_762_345)),
            "Jan 10 2019 09:00:02.762 UTC"
        );
        assert_eq!(
            leef_time(Timestamp(1_546_650_000_005_999)),
            "Jan 05 2019 01:00:00.005 UTC"
        );
    }

    fn sensor_events() -> Vec<SensorEvent> {
        let ts = "2026-11-27T17:20:19.284176Z".to_string();
        vec![
            SensorEvent::SensorHealth {
                ts: ts.clone(),
                severity: "info",
                uptime_seconds: 60,
                interfaces: Vec::new(),
                dns_responses: 50,
                alerts: Default::default(),
                malformed: Default::default(),
                ioc_ignored: Default::default(),
                allowed: Vec::new(),
                severity_off: Default::default(),
                outputs: Vec::new(),
                audit: None,
                is_final: false,
            },
            SensorEvent::CaptureLoss {
                ts: ts.clone(),
                severity: "high",
                interface: "eth|1=x".into(),
                interval_seconds: 60,
                received: 100,
                dropped: 4,
                drop_rate: 0.04,
                threshold: 0.01,
            },
            SensorEvent::CaptureStalled {
                ts,
                severity: "high",
                interface: "eth1".into(),
                reason: "no DNS response for 300 s".into(),
            },
        ]
    }

    /// Sensor events are written in the destination's body format, with
    /// their own rules, never as JSON on a CEF or LEEF destination.
    #[test]
    fn sensor_events_take_the_destinations_body_format() {
        let sources = SourceNames::new("sensor-7", vec!["eth1".into()], true);
        for e in sensor_events() {
            let rule = crate::output::json::sensor_rule(&e);
            let cef = sensor_message(&e, Header::Rfc5424, Body::Cef, &origin(), &sources);
            let body = &cef[cef.find("CEF:0|").unwrap()..];
            let fields: Vec<&str> = body.splitn(8, '|').collect();
            assert_eq!(fields[4], rule.id.to_string(), "{cef}");
            assert_eq!(fields[5], rule.name, "{cef}");
            assert_eq!(fields[6], rule.severity.to_string(), "{cef}");
            assert!(fields[7].contains(&format!("cs1Label=kind cs1={}", e.kind())));
            assert!(fields[7].contains(" externalId="), "{cef}");
            assert!(fields[7].contains("rt=1795800019284 "), "{cef}");
            assert!(!cef.contains('{'), "{cef}");
            let leef = sensor_message(&e, Header::Rfc5424, Body::Leef, &origin(), &sources);
            let body = &leef[leef.find("LEEF:2.0|").unwrap()..];
            let fields: Vec<&str> = body.splitn(7, '|').collect();
            assert_eq!(fields[4], e.kind(), "{leef}");
            assert!(
                fields[6].starts_with(
                    "devTime=Nov 27 2026 17:20:19.284 UTC\tdevTimeFormat=MMM dd yyyy HH:mm:ss.SSS z\t"
                ),
                "{leef}"
            );
            assert!(fields[6].contains(&format!("\truleId={}\t", rule.id)));
            let ecs = sensor_message(&e, Header::Rfc5424, Body::Ecs, &origin(), &sources);
            let json = &ecs[ecs.find("{\"@timestamp\"").unwrap()..];
            let v: serde_json::Value = serde_json::from_str(json).unwrap();
            assert_eq!(v["rule"]["id"], rule.id.to_string());
            assert_eq!(v["dnsentry"]["kind"], e.kind());
        }
        let loss = &sensor_events()[1];
        let cef = sensor_message(loss, Header::Rfc5424, Body::Cef, &origin(), &sources);
        assert!(cef.contains(" deviceInboundInterface=eth|1\\=x "), "{cef}");
        assert!(cef.contains(" cfp1Label=dropRate cfp1=0.04"), "{cef}");
    }

    #[test]
    fn the_enterprise_number_is_the_configured_one() {
        let mut o = origin();
        o.enterprise_number = 61234;
        let m = alert_message(
            &alert("a.test", "x"),
            1,
            0,
            Header::Rfc5424,
            Body::Cef,
            &o,
            &sources(),
        );
        assert!(m.contains(" [dnsentry@61234 kind=\"ioc_address\""), "{m}");
        let e = &sensor_events()[0];
        let m = sensor_message(e, Header::Rfc5424, Body::Json, &o, &sources());
        assert!(
            m.contains(" [dnsentry@61234 kind=\"sensor_health\"] "),
            "{m}"
        );
    }

    #[test]
    fn facilities() {
        assert_eq!(parse_facility("local0"), Some(16));
        assert_eq!(parse_facility("LOCAL7"), Some(23));
        assert_eq!(parse_facility("4"), Some(4));
        assert_eq!(parse_facility("24"), None);
        assert_eq!(parse_facility("banana"), None);
    }

    #[test]
    fn an_audited_answer_names_its_server_and_question_in_cef_and_leef() {
        use crate::model::audit::{AuditQuery, AuditRole};
        let query = AuditQuery {
            server: "10.1.0.53:53".parse().unwrap(),
            // A name from a referral: attacker-chosen, escaped as decoded
            // and again on the way out.
            server_name: Some("ns1.evil\\010=x.test".into()),
            role: AuditRole::Parent,
            zone: "example.org".into(),
            qname: "example.org".into(),
            qtype: 2,
            transport: Transport::Udp,
        };
        let audit = SourceNames::audit("sensor1", vec![query]);
        let a = alert("example.org", "x");
        let cef = alert_message(&a, 1, 0, Header::Rfc5424, Body::Cef, &origin(), &audit);
        assert!(cef.contains("shost=ns1.evil\\\\010\\=x.test"), "{cef}");
        assert!(
            cef.contains("sourceServiceName=DNS parent (audit)"),
            "{cef}"
        );
        let leef = alert_message(&a, 1, 0, Header::Rfc5424, Body::Leef, &origin(), &audit);
        assert!(leef.contains("\tauditServer=10.1.0.53:53\t"), "{leef}");
        assert!(leef.contains("\tauditRole=parent\t"), "{leef}");
        assert!(leef.contains("\tauditQuestion=example.org NS\t"), "{leef}");
        // Not an audit: none of it.
        let plain = alert_message(&a, 1, 0, Header::Rfc5424, Body::Leef, &origin(), &sources());
        assert!(!plain.contains("audit"), "{plain}");
    }
}
