//! Alert files as `dnsentry report` reads them: native, EVE or ECS lines,
//! told apart per line by content, so files of several formats (a sensor
//! switched formats mid-month) make one report.

use std::io::BufRead;
use std::path::Path;

use serde_json::Value;

use crate::error::FileError;
use crate::model::text::escape_path;

/// The fields of an alert the report shows, whatever format carried it.
/// Every string is as the sensor wrote it: names attacker-chosen, so the
/// renderer escapes them (the template crate does, by default).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReportAlert {
    /// Packet time as written (RFC 3339).
    pub ts: String,
    /// Packet time, seconds since the epoch, for the timeline.
    pub epoch: f64,
    pub kind: String,
    pub severity: String,
    pub qname: String,
    pub owner: String,
    pub value: String,
    pub zone: Option<String>,
    pub expected: Vec<String>,
    /// The host that received the response.
    pub client: String,
    /// The server that answered.
    pub server: String,
    pub sensor: String,
    pub capture: Option<String>,
    pub message: String,
    pub indicator: Option<Indicator>,
}

/// Where an IOC alert's indicator came from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Indicator {
    pub indicator: String,
    pub feed: String,
    pub source: String,
    /// The reports' addresses, as the feed gives them.
    pub urls: Vec<String>,
}

/// What one line held.
#[derive(Debug, PartialEq)]
pub enum Line {
    Alert(Box<ReportAlert>),
    /// A sensor event (health, capture loss) or a DNS-log record.
    Other,
}

/// Kinds that are the sensor speaking about itself, not detections.
const SENSOR_KINDS: &[&str] = &["sensor_health", "capture_loss", "capture_stalled"];

/// Every alert of the file at `path`, in file order; `sensor_events`
/// counts the lines that were not detections.
pub fn read_alerts(
    path: &Path,
    alerts: &mut Vec<ReportAlert>,
    sensor_events: &mut u64,
) -> Result<(), FileError> {
    let shown = escape_path(path);
    let file =
        std::fs::File::open(path).map_err(|e| FileError::unreadable(path, "alert file", &e))?;
    for (index, line) in std::io::BufReader::new(file).lines().enumerate() {
        let number = index as u64 + 1;
        let line = line.map_err(|e| FileError::new(shown.clone(), number, e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        match parse_line(&line) {
            Ok(Line::Alert(alert)) => alerts.push(*alert),
            Ok(Line::Other) => *sensor_events += 1,
            Err(message) => return Err(FileError::new(shown, number, message)),
        }
    }
    Ok(())
}

/// One line of any format.
pub fn parse_line(line: &str) -> Result<Line, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    if value.get("event_type").is_some() {
        eve(&value)
    } else if value.get("ecs").is_some() || value.get("@timestamp").is_some() {
        ecs(&value)
    } else if value.get("kind").is_some() && value.get("ts").is_some() {
        native(&value)
    } else {
        Err("neither a native, an EVE nor an ECS alert".into())
    }
}

fn text(v: &Value, pointer: &str) -> String {
    match v.pointer(pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items.first().map(plain).unwrap_or_default(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn optional(v: &Value, pointer: &str) -> Option<String> {
    Some(text(v, pointer)).filter(|s| !s.is_empty())
}

fn list(v: &Value, pointer: &str) -> Vec<String> {
    match v.pointer(pointer) {
        Some(Value::Array(items)) => items.iter().map(plain).collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Feeds join several reports' addresses with ` | `.
fn urls(joined: Option<String>) -> Vec<String> {
    joined
        .map(|s| s.split(" | ").map(str::to_string).collect())
        .unwrap_or_default()
}

/// EVE writes Suricata's `+0000` where the other formats write `Z`: shown
/// alike, whichever file an alert came from.
fn rfc3339(ts: &str) -> String {
    match ts.strip_suffix("+0000") {
        Some(head) => format!("{head}Z"),
        None => ts.to_string(),
    }
}

fn epoch(ts: &str) -> Result<f64, String> {
    let t: jiff::Timestamp = ts.parse().map_err(|e| format!("timestamp {ts:?}: {e}"))?;
    Ok(t.as_microsecond() as f64 / 1e6)
}

fn finish(mut alert: ReportAlert) -> Result<Line, String> {
    if SENSOR_KINDS.contains(&alert.kind.as_str()) {
        return Ok(Line::Other);
    }
    if alert.kind.is_empty() {
        return Err("an alert without its dnsentry kind".into());
    }
    alert.ts = rfc3339(&alert.ts);
    alert.epoch = epoch(&alert.ts)?;
    Ok(Line::Alert(Box::new(alert)))
}

fn native(v: &Value) -> Result<Line, String> {
    let indicator = optional(v, "/ioc/indicator").map(|indicator| Indicator {
        indicator,
        feed: text(v, "/ioc/feed"),
        source: text(v, "/ioc/source"),
        urls: urls(optional(v, "/ioc/url")),
    });
    finish(ReportAlert {
        ts: text(v, "/ts"),
        kind: text(v, "/kind"),
        severity: text(v, "/severity"),
        qname: text(v, "/qname"),
        owner: text(v, "/owner"),
        value: text(v, "/value"),
        zone: optional(v, "/zone"),
        expected: list(v, "/expected"),
        client: text(v, "/dst_ip"),
        server: text(v, "/src_ip"),
        sensor: text(v, "/sensor"),
        capture: optional(v, "/source/file"),
        message: text(v, "/message"),
        indicator,
        ..ReportAlert::default()
    })
}

fn eve(v: &Value) -> Result<Line, String> {
    if text(v, "/event_type") != "alert" {
        return Ok(Line::Other);
    }
    let meta = |key: &str| text(v, &format!("/alert/metadata/{key}"));
    let indicator = Some(meta("indicator"))
        .filter(|s| !s.is_empty())
        .map(|indicator| Indicator {
            indicator,
            feed: meta("feed"),
            source: meta("ioc_source"),
            urls: urls(Some(meta("ioc_url")).filter(|s| !s.is_empty())),
        });
    finish(ReportAlert {
        ts: text(v, "/timestamp"),
        kind: meta("dnsentry_kind"),
        severity: meta("dnsentry_severity"),
        qname: meta("qname"),
        owner: meta("owner"),
        value: meta("value"),
        zone: Some(meta("zone")).filter(|s| !s.is_empty()),
        expected: list(v, "/alert/metadata/expected"),
        client: text(v, "/dest_ip"),
        server: text(v, "/src_ip"),
        sensor: text(v, "/host"),
        capture: optional(v, "/pcap_filename"),
        message: meta("message"),
        indicator,
        ..ReportAlert::default()
    })
}

fn ecs(v: &Value) -> Result<Line, String> {
    if text(v, "/event/kind") != "alert" {
        return Ok(Line::Other);
    }
    let indicator = optional(v, "/threat/indicator/name").map(|indicator| Indicator {
        indicator,
        feed: text(v, "/threat/indicator/provider"),
        source: text(v, "/threat/indicator/description"),
        urls: urls(optional(v, "/dnsentry/ioc/url")),
    });
    finish(ReportAlert {
        ts: text(v, "/@timestamp"),
        kind: text(v, "/dnsentry/kind"),
        severity: text(v, "/dnsentry/severity"),
        qname: text(v, "/dnsentry/qname"),
        owner: text(v, "/dnsentry/owner"),
        value: text(v, "/dnsentry/value"),
        zone: optional(v, "/dnsentry/zone"),
        expected: list(v, "/dnsentry/expected"),
        client: text(v, "/source/ip"),
        server: text(v, "/destination/ip"),
        sensor: text(v, "/observer/name"),
        capture: optional(v, "/dnsentry/source/file"),
        message: text(v, "/message"),
        indicator,
        ..ReportAlert::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_alert_reads_alike_in_every_format() {
        let native = r#"{"ts":"2019-01-10T09:00:02.262345Z","kind":"ioc_address","severity":"high","qname":"mail.example.org","owner":"mail.example.org","value":"185.20.187.8","src_ip":"10.1.0.53","dst_ip":"10.1.2.20","source":{"file":"demo.pcap","packet":20},"ioc":{"indicator":"185.20.187.8","feed":"f.csv","source":"Talos","url":"https://a.test/ | https://b.test/"},"message":"m","sensor":"s1"}"#;
        let eve = r#"{"timestamp":"2019-01-10T09:00:02.262345+0000","event_type":"alert","src_ip":"10.1.0.53","dest_ip":"10.1.2.20","host":"s1","pcap_filename":"demo.pcap","alert":{"metadata":{"dnsentry_kind":["ioc_address"],"dnsentry_severity":["high"],"qname":["mail.example.org"],"owner":["mail.example.org"],"value":["185.20.187.8"],"indicator":["185.20.187.8"],"feed":["f.csv"],"ioc_source":["Talos"],"ioc_url":["https://a.test/ | https://b.test/"],"message":["m"]}}}"#;
        let ecs = r#"{"@timestamp":"2019-01-10T09:00:02.262345Z","message":"m","ecs":{"version":"8.17.0"},"event":{"kind":"alert"},"threat":{"indicator":{"name":"185.20.187.8","provider":"f.csv","description":"Talos"}},"source":{"ip":"10.1.2.20"},"destination":{"ip":"10.1.0.53"},"observer":{"name":"s1"},"dnsentry":{"kind":"ioc_address","severity":"high","qname":"mail.example.org","owner":"mail.example.org","value":"185.20.187.8","ioc":{"url":"https://a.test/ | https://b.test/"},"source":{"file":"demo.pcap"}}}"#;
        let read = |line: &str| match parse_line(line).unwrap() {
            Line::Alert(a) => *a,
            Line::Other => panic!("not an alert: {line}"),
        };
        let n = read(native);
        assert_eq!(n.client, "10.1.2.20");
        assert_eq!(n.ts, "2019-01-10T09:00:02.262345Z");
        assert_eq!(n.indicator.as_ref().unwrap().urls.len(), 2);
        assert_eq!(read(eve), n);
        assert_eq!(read(ecs), n);
    }

    #[test]
    fn sensor_events_and_dns_records_are_not_alerts() {
        let health = r#"{"ts":"2019-01-10T09:00:02Z","kind":"sensor_health"}"#;
        let dns = r#"{"timestamp":"2019-01-10T09:00:02.262345+0000","event_type":"dns"}"#;
        assert_eq!(parse_line(health), Ok(Line::Other));
        assert_eq!(parse_line(dns), Ok(Line::Other));
        assert!(parse_line("{\"x\":1}").is_err());
        assert!(parse_line("not json").is_err());
    }
}
