//! Alert files as `dnsentry report` reads them: native, EVE or ECS lines,
//! told apart per line by content, so files of several formats (a sensor
//! switched formats mid-month) make one report. Files are streamed a line
//! at a time: a month of alerts is never in memory at once.

use std::borrow::Cow;
use std::io::{BufRead, Read as _};
use std::path::Path;

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::sensor::{IfaceCounters, OutputCounters, SensorSample};
use crate::error::FileError;
use crate::model::text::{escape_path, escape_text};

/// The fields of an alert the report shows, whatever format carried it.
/// Every string is as the sensor wrote it, with what [`escape_text`]
/// never lets through escaped (a forged file may hold anything); names
/// are attacker-chosen, so the renderer HTML-escapes them too (the
/// template crate does, by default).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReportAlert {
    /// Packet time as written (RFC 3339).
    pub ts: String,
    /// Packet time, microseconds since the epoch, for ordering and the
    /// timeline.
    pub micros: i64,
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
    /// Responses suppression held back since the previous alert of this
    /// id (the alert's `count`): the alert stands for one more than this.
    pub repeats: u64,
}

impl ReportAlert {
    /// The responses this alert line stands for.
    pub fn responses(&self) -> u64 {
        self.repeats.saturating_add(1)
    }
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

/// What one line of an alert file held.
#[derive(Debug, PartialEq)]
pub enum Line {
    Alert(Box<ReportAlert>),
    /// The sensor speaking about itself: health, capture loss, a stall.
    Sensor(Box<SensorSample>),
    /// A DNS-log record.
    Other,
}

/// Longest line read: far over any alert the sensor writes (answers are
/// capped), so a file that is something else fails at its first line
/// instead of filling memory.
pub const MAX_LINE: usize = 1 << 20;

/// Calls `f` with every non-blank line of the file at `path` (`what` it
/// is, for errors), streaming; an error of `f` becomes `FILE:LINE:
/// problem`.
pub fn each_line(
    path: &Path,
    what: &str,
    mut f: impl FnMut(&str) -> Result<(), String>,
) -> Result<(), FileError> {
    let shown = escape_path(path);
    let file = std::fs::File::open(path).map_err(|e| FileError::unreadable(path, what, &e))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    let mut buf = Vec::new();
    let mut number = 0u64;
    loop {
        buf.clear();
        let read = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| FileError::new(shown.clone(), number + 1, e.to_string()))?;
        if read == 0 {
            return Ok(());
        }
        number += 1;
        if buf.len() > MAX_LINE {
            return Err(FileError::new(
                shown,
                number,
                format!("a line longer than {MAX_LINE} bytes"),
            ));
        }
        let line = std::str::from_utf8(&buf)
            .map_err(|e| FileError::new(shown.clone(), number, format!("not UTF-8: {e}")))?;
        let line = line.trim();
        if !line.is_empty() {
            f(line).map_err(|message| FileError::new(shown.clone(), number, message))?;
        }
    }
}

/// A line of any format, as far as the report reads it: every field any
/// of native, EVE and ECS puts where the report looks, none required, and
/// strings borrowed from the line when they hold no escape. Fields the
/// report does not read are skipped unbuilt, which keeps a million lines
/// to seconds. ECS nests the native alert or sensor event under
/// `dnsentry`, so that is a `Doc` too.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Doc<'a> {
    #[serde(borrow)]
    ts: Text<'a>,
    #[serde(borrow)]
    timestamp: Text<'a>,
    #[serde(borrow, rename = "@timestamp")]
    at_timestamp: Text<'a>,
    #[serde(borrow)]
    kind: Text<'a>,
    #[serde(borrow)]
    severity: Text<'a>,
    #[serde(borrow)]
    qname: Text<'a>,
    #[serde(borrow)]
    owner: Text<'a>,
    #[serde(borrow)]
    value: Text<'a>,
    #[serde(borrow)]
    zone: Text<'a>,
    #[serde(borrow, deserialize_with = "one_or_many")]
    expected: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    src_ip: Text<'a>,
    #[serde(borrow)]
    dst_ip: Text<'a>,
    #[serde(borrow)]
    dest_ip: Text<'a>,
    #[serde(borrow)]
    sensor: Text<'a>,
    #[serde(borrow)]
    host: Text<'a>,
    #[serde(borrow)]
    pcap_filename: Text<'a>,
    #[serde(borrow)]
    in_iface: Text<'a>,
    #[serde(borrow)]
    message: Text<'a>,
    /// Native: the capture (`file`); ECS: the client (`ip`).
    #[serde(borrow)]
    source: Option<Place<'a>>,
    #[serde(borrow)]
    destination: Option<Place<'a>>,
    #[serde(borrow)]
    observer: Option<Observer<'a>>,
    #[serde(borrow)]
    ioc: Option<IocDoc<'a>>,
    #[serde(borrow)]
    event_type: Text<'a>,
    ecs: Option<IgnoredAny>,
    #[serde(borrow)]
    event: Option<EventDoc<'a>>,
    #[serde(borrow)]
    threat: Option<Threat<'a>>,
    #[serde(borrow)]
    alert: Option<EveAlert<'a>>,
    stats: Option<EveStats>,
    #[serde(borrow)]
    dnsentry: Option<Box<Doc<'a>>>,
    uptime_seconds: Option<u64>,
    #[serde(borrow)]
    interfaces: Vec<IfaceDoc<'a>>,
    #[serde(borrow)]
    outputs: Vec<OutputDoc<'a>>,
    #[serde(borrow)]
    interface: Text<'a>,
    received: Option<u64>,
    dropped: Option<u64>,
    /// Native and ECS (`dnsentry.count`): responses held back by
    /// suppression since the previous alert of the same id.
    count: Option<u64>,
    drop_rate: Option<f64>,
    #[serde(borrow)]
    reason: Text<'a>,
}

type Text<'a> = Option<Cow<'a, str>>;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Place<'a> {
    #[serde(borrow)]
    file: Text<'a>,
    #[serde(borrow)]
    ip: Text<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Observer<'a> {
    #[serde(borrow)]
    name: Text<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct IocDoc<'a> {
    #[serde(borrow)]
    indicator: Text<'a>,
    #[serde(borrow)]
    feed: Text<'a>,
    #[serde(borrow)]
    source: Text<'a>,
    #[serde(borrow)]
    url: Text<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EventDoc<'a> {
    #[serde(borrow)]
    kind: Text<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Threat<'a> {
    #[serde(borrow)]
    indicator: Option<ThreatIndicator<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ThreatIndicator<'a> {
    #[serde(borrow)]
    name: Text<'a>,
    #[serde(borrow)]
    provider: Text<'a>,
    #[serde(borrow)]
    description: Text<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EveAlert<'a> {
    #[serde(borrow)]
    metadata: EveMetadata<'a>,
}

/// EVE's metadata: every value a list of strings.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EveMetadata<'a> {
    #[serde(borrow)]
    dnsentry_kind: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    suppressed_count: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    dnsentry_severity: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    qname: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    owner: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    value: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    zone: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    expected: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    indicator: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    feed: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    ioc_source: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    ioc_url: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    message: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    received: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    dropped: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    drop_rate: Vec<Cow<'a, str>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EveStats {
    uptime: Option<u64>,
    capture: EveCapture,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EveCapture {
    kernel_packets: u64,
    kernel_drops: u64,
    kernel_ifdrops: u64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct IfaceDoc<'a> {
    #[serde(borrow)]
    name: Text<'a>,
    received: u64,
    kernel_dropped: u64,
    interface_dropped: u64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct OutputDoc<'a> {
    #[serde(borrow)]
    name: Text<'a>,
    #[serde(borrow)]
    kind: Text<'a>,
    queued: u64,
    sent: u64,
    evicted: u64,
    dropped: u64,
}

/// A string or a list of strings (or null) as a list.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Cow<'de, str>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany<'a> {
        One(#[serde(borrow)] Cow<'a, str>),
        Many(#[serde(borrow)] Vec<Cow<'a, str>>),
        Nothing(()),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
        OneOrMany::Nothing(()) => Vec::new(),
    })
}

/// One line of any format.
pub fn parse_line(line: &str) -> Result<Line, String> {
    let doc: Doc<'_> = serde_json::from_str(line).map_err(|e| format!("not an alert: {e}"))?;
    if doc.event_type.is_some() {
        eve(doc)
    } else if doc.ecs.is_some() || doc.at_timestamp.is_some() {
        ecs(doc)
    } else if doc.kind.is_some() && doc.ts.is_some() {
        native(doc)
    } else {
        Err("neither a native, an EVE nor an ECS alert".into())
    }
}

/// A string as the report keeps it: escaped as every output escapes text.
fn own(s: &Text<'_>) -> String {
    s.as_deref()
        .map(|s| escape_text(s).into_owned())
        .unwrap_or_default()
}

fn optional(s: &Text<'_>) -> Option<String> {
    Some(own(s)).filter(|s| !s.is_empty())
}

fn all(list: &[Cow<'_, str>]) -> Vec<String> {
    list.iter().map(|s| escape_text(s).into_owned()).collect()
}

/// EVE's one-value lists.
fn first(list: &[Cow<'_, str>]) -> String {
    list.first()
        .map(|s| escape_text(s).into_owned())
        .unwrap_or_default()
}

/// Feeds join several reports' addresses with ` | `.
fn urls(joined: Option<String>) -> Vec<String> {
    joined
        .map(|s| s.split(" | ").map(str::to_string).collect())
        .unwrap_or_default()
}

/// EVE writes Suricata's `+0000` where the other formats write `Z`: shown
/// alike, whichever file an alert came from.
pub(super) fn rfc3339(ts: &str) -> String {
    match ts.strip_suffix("+0000") {
        Some(head) => format!("{head}Z"),
        None => ts.to_string(),
    }
}

/// `ts` (RFC 3339) as microseconds since the epoch.
pub(super) fn micros(ts: &str) -> Result<i64, String> {
    let t: jiff::Timestamp = ts.parse().map_err(|e| format!("timestamp {ts:?}: {e}"))?;
    Ok(t.as_microsecond())
}

/// Kinds that are the sensor speaking about itself, not detections.
const SENSOR_KINDS: &[&str] = &["sensor_health", "capture_loss", "capture_stalled"];

fn is_sensor_kind(kind: &Text<'_>) -> bool {
    kind.as_deref().is_some_and(|k| SENSOR_KINDS.contains(&k))
}

fn finish(mut alert: ReportAlert) -> Result<Line, String> {
    if alert.kind.is_empty() {
        return Err("an alert without its dnsentry kind".into());
    }
    alert.ts = rfc3339(&alert.ts);
    alert.micros = micros(&alert.ts)?;
    Ok(Line::Alert(Box::new(alert)))
}

fn native(d: Doc<'_>) -> Result<Line, String> {
    if is_sensor_kind(&d.kind) {
        let sensor = own(&d.sensor);
        return native_sensor(d, sensor);
    }
    let indicator = d.ioc.as_ref().and_then(|ioc| {
        optional(&ioc.indicator).map(|indicator| Indicator {
            indicator,
            feed: own(&ioc.feed),
            source: own(&ioc.source),
            urls: urls(optional(&ioc.url)),
        })
    });
    finish(ReportAlert {
        ts: own(&d.ts),
        kind: own(&d.kind),
        severity: own(&d.severity),
        qname: own(&d.qname),
        owner: own(&d.owner),
        value: own(&d.value),
        zone: optional(&d.zone),
        expected: all(&d.expected),
        client: own(&d.dst_ip),
        server: own(&d.src_ip),
        sensor: own(&d.sensor),
        capture: d.source.as_ref().and_then(|s| optional(&s.file)),
        message: own(&d.message),
        indicator,
        repeats: d.count.unwrap_or(0),
        ..ReportAlert::default()
    })
}

/// A native sensor event (ECS carries the same object whole, under
/// `dnsentry`, with the sensor's name in `observer`).
fn native_sensor(d: Doc<'_>, sensor: String) -> Result<Line, String> {
    let ts = rfc3339(&own(&d.ts));
    let at = micros(&ts)?;
    let sample = match d.kind.as_deref() {
        Some("sensor_health") => SensorSample::Health {
            ts,
            micros: at,
            sensor,
            uptime: d.uptime_seconds,
            interfaces: d
                .interfaces
                .iter()
                .map(|i| IfaceCounters {
                    name: own(&i.name),
                    received: i.received,
                    kernel_dropped: i.kernel_dropped,
                    interface_dropped: i.interface_dropped,
                })
                .collect(),
            outputs: d
                .outputs
                .iter()
                .map(|o| OutputCounters {
                    name: own(&o.name),
                    kind: own(&o.kind),
                    queued: o.queued,
                    sent: o.sent,
                    evicted: o.evicted,
                    dropped: o.dropped,
                })
                .collect(),
        },
        Some("capture_loss") => SensorSample::Loss {
            ts,
            micros: at,
            sensor,
            interface: own(&d.interface),
            received: d.received.unwrap_or_default(),
            dropped: d.dropped.unwrap_or_default(),
            drop_rate: d.drop_rate.unwrap_or_default(),
        },
        _ => SensorSample::Stalled {
            ts,
            micros: at,
            sensor,
            interface: own(&d.interface),
            reason: own(&d.reason),
        },
    };
    Ok(Line::Sensor(Box::new(sample)))
}

fn eve(d: Doc<'_>) -> Result<Line, String> {
    match d.event_type.as_deref() {
        Some("alert") => {}
        // Suricata's own stats layout: the capture counters summed over
        // the interfaces, no outputs.
        Some("stats") => {
            let ts = rfc3339(&own(&d.timestamp));
            let stats = d.stats.unwrap_or_default();
            return Ok(Line::Sensor(Box::new(SensorSample::Health {
                micros: micros(&ts)?,
                ts,
                sensor: own(&d.host),
                uptime: stats.uptime,
                interfaces: vec![IfaceCounters {
                    name: String::new(),
                    received: stats.capture.kernel_packets,
                    kernel_dropped: stats.capture.kernel_drops,
                    interface_dropped: stats.capture.kernel_ifdrops,
                }],
                outputs: Vec::new(),
            })));
        }
        _ => return Ok(Line::Other),
    }
    let meta = d.alert.unwrap_or_default().metadata;
    let kind = first(&meta.dnsentry_kind);
    if SENSOR_KINDS.contains(&kind.as_str()) {
        let ts = rfc3339(&own(&d.timestamp));
        let at = micros(&ts)?;
        let (sensor, interface) = (own(&d.host), own(&d.in_iface));
        let number = |list: &[Cow<'_, str>]| first(list).parse().unwrap_or_default();
        let sample = if kind == "capture_loss" {
            SensorSample::Loss {
                ts,
                micros: at,
                sensor,
                interface,
                received: number(&meta.received),
                dropped: number(&meta.dropped),
                drop_rate: first(&meta.drop_rate).parse().unwrap_or_default(),
            }
        } else {
            SensorSample::Stalled {
                ts,
                micros: at,
                sensor,
                interface,
                reason: first(&meta.message),
            }
        };
        return Ok(Line::Sensor(Box::new(sample)));
    }
    let indicator = Some(first(&meta.indicator))
        .filter(|s| !s.is_empty())
        .map(|indicator| Indicator {
            indicator,
            feed: first(&meta.feed),
            source: first(&meta.ioc_source),
            urls: urls(Some(first(&meta.ioc_url)).filter(|s| !s.is_empty())),
        });
    finish(ReportAlert {
        ts: own(&d.timestamp),
        kind,
        severity: first(&meta.dnsentry_severity),
        qname: first(&meta.qname),
        owner: first(&meta.owner),
        value: first(&meta.value),
        zone: Some(first(&meta.zone)).filter(|s| !s.is_empty()),
        expected: all(&meta.expected),
        client: own(&d.dest_ip),
        server: own(&d.src_ip),
        sensor: own(&d.host),
        capture: optional(&d.pcap_filename),
        message: first(&meta.message),
        indicator,
        repeats: first(&meta.suppressed_count).parse().unwrap_or(0),
        ..ReportAlert::default()
    })
}

fn ecs(d: Doc<'_>) -> Result<Line, String> {
    let sensor = d
        .observer
        .as_ref()
        .map(|o| own(&o.name))
        .unwrap_or_default();
    let inner = d.dnsentry.map(|b| *b).unwrap_or_default();
    if is_sensor_kind(&inner.kind) {
        return native_sensor(inner, sensor);
    }
    if d.event.as_ref().and_then(|e| e.kind.as_deref()) != Some("alert") {
        return Ok(Line::Other);
    }
    let threat = d.threat.and_then(|t| t.indicator);
    let indicator = threat.as_ref().and_then(|t| {
        optional(&t.name).map(|indicator| Indicator {
            indicator,
            feed: own(&t.provider),
            source: own(&t.description),
            urls: urls(inner.ioc.as_ref().and_then(|i| optional(&i.url))),
        })
    });
    finish(ReportAlert {
        ts: own(&d.at_timestamp),
        kind: own(&inner.kind),
        severity: own(&inner.severity),
        qname: own(&inner.qname),
        owner: own(&inner.owner),
        value: own(&inner.value),
        zone: optional(&inner.zone),
        expected: all(&inner.expected),
        client: d.source.as_ref().map(|s| own(&s.ip)).unwrap_or_default(),
        server: d
            .destination
            .as_ref()
            .map(|s| own(&s.ip))
            .unwrap_or_default(),
        sensor,
        capture: inner.source.as_ref().and_then(|s| optional(&s.file)),
        message: own(&d.message),
        indicator,
        repeats: inner.count.unwrap_or(0),
        ..ReportAlert::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(line: &str) -> ReportAlert {
        match parse_line(line).unwrap() {
            Line::Alert(a) => *a,
            other => panic!("not an alert: {other:?}"),
        }
    }

    #[test]
    fn the_same_alert_reads_alike_in_every_format() {
        let native = r#"{"ts":"2019-01-10T09:00:02.262345Z","kind":"ioc_address","severity":"high","qname":"mail.example.org","owner":"mail.example.org","value":"185.20.187.8","src_ip":"10.1.0.53","dst_ip":"10.1.2.20","source":{"file":"demo.pcap","packet":20},"ioc":{"indicator":"185.20.187.8","feed":"f.csv","source":"Talos","url":"https://a.test/ | https://b.test/"},"message":"m","sensor":"s1"}"#;
        let eve = r#"{"timestamp":"2019-01-10T09:00:02.262345+0000","event_type":"alert","src_ip":"10.1.0.53","dest_ip":"10.1.2.20","host":"s1","pcap_filename":"demo.pcap","alert":{"metadata":{"dnsentry_kind":["ioc_address"],"dnsentry_severity":["high"],"qname":["mail.example.org"],"owner":["mail.example.org"],"value":["185.20.187.8"],"indicator":["185.20.187.8"],"feed":["f.csv"],"ioc_source":["Talos"],"ioc_url":["https://a.test/ | https://b.test/"],"message":["m"]}}}"#;
        let ecs = r#"{"@timestamp":"2019-01-10T09:00:02.262345Z","message":"m","ecs":{"version":"8.17.0"},"event":{"kind":"alert"},"threat":{"indicator":{"name":"185.20.187.8","provider":"f.csv","description":"Talos"}},"source":{"ip":"10.1.2.20"},"destination":{"ip":"10.1.0.53"},"observer":{"name":"s1"},"dnsentry":{"kind":"ioc_address","severity":"high","qname":"mail.example.org","owner":"mail.example.org","value":"185.20.187.8","ioc":{"url":"https://a.test/ | https://b.test/"},"source":{"file":"demo.pcap"}}}"#;
        let n = read(native);
        assert_eq!(n.client, "10.1.2.20");
        assert_eq!(n.ts, "2019-01-10T09:00:02.262345Z");
        assert_eq!(n.micros, 1_547_110_802_262_345);
        assert_eq!(n.indicator.as_ref().unwrap().urls.len(), 2);
        assert_eq!(read(eve), n);
        assert_eq!(read(ecs), n);
    }

    #[test]
    fn text_a_forged_file_holds_is_escaped_as_every_output_escapes_it() {
        let line = "{\"ts\":\"2019-01-10T09:00:02Z\",\"kind\":\"low_ttl\",\"qname\":\"a\\u001b[2Jb\\u202e.example\"}";
        assert_eq!(read(line).qname, "a\\u{1b}[2Jb\\u{202e}.example");
    }

    #[test]
    fn dns_records_are_neither_alerts_nor_sensor_events() {
        let dns = r#"{"timestamp":"2019-01-10T09:00:02.262345+0000","event_type":"dns"}"#;
        assert_eq!(parse_line(dns), Ok(Line::Other));
        assert!(parse_line("{\"x\":1}").is_err());
        assert!(parse_line("not json").is_err());
    }

    #[test]
    fn a_line_past_the_limit_is_refused_with_its_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        let long = "x".repeat(MAX_LINE + 10);
        std::fs::write(&path, format!("{{}}\n{long}\n")).unwrap();
        let mut seen = 0;
        let e = each_line(&path, "alert file", |_| {
            seen += 1;
            Ok(())
        })
        .unwrap_err();
        assert_eq!((seen, e.line), (1, 2), "{e}");
    }
}
