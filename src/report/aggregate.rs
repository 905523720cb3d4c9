//! What the report shows, counted one alert at a time as the files are
//! read: bounded by the number of distinct zones, names and indicators
//! (and those by [`MAX_ROWS`]), never by the number of alerts, so a
//! million alerts make tables of the same size as a thousand. The alert
//! table keeps the [`ALERT_ROWS`] most severe alerts, earliest first, and
//! counts the rest.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use super::read::ReportAlert;
use super::timeline::{Histogram, kind_index};

/// Distinct clients or servers named per row; the rest are counted.
pub const ADDRESSES_PER_ROW: usize = 8;
/// Distinct others counted per row past the named ones; past this the
/// page says "more than".
const COUNTED_PER_ROW: usize = 1024;
/// Zones, deviations, indicators, hijacked names, sensors and captures
/// tracked; alerts for any past these are counted in the totals but get
/// no row (a forged or pathological file cannot grow the report without
/// bound).
pub const MAX_ROWS: usize = 20_000;
/// Alerts the table keeps.
pub const ALERT_ROWS: usize = 2_000;

/// First and last packet time of something.
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    pub first: String,
    pub first_micros: i64,
    pub last: String,
    pub last_micros: i64,
}

impl Span {
    pub fn new(alert: &ReportAlert) -> Span {
        Span {
            first: alert.ts.clone(),
            first_micros: alert.micros,
            last: alert.ts.clone(),
            last_micros: alert.micros,
        }
    }

    pub fn widen(&mut self, alert: &ReportAlert) {
        if alert.micros < self.first_micros {
            self.first_micros = alert.micros;
            self.first = alert.ts.clone();
        }
        if alert.micros > self.last_micros {
            self.last_micros = alert.micros;
            self.last = alert.ts.clone();
        }
    }
}

/// A set that names the first few and counts the others (up to a bound).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Capped {
    pub shown: BTreeSet<String>,
    /// Hashes of the others, sorted.
    more: Vec<u64>,
}

impl Capped {
    pub fn insert(&mut self, s: &str) {
        if s.is_empty() || self.shown.contains(s) {
            return;
        }
        if self.shown.len() < ADDRESSES_PER_ROW {
            self.shown.insert(s.to_string());
            return;
        }
        let h = fnv(s);
        if let Err(at) = self.more.binary_search(&h)
            && self.more.len() < COUNTED_PER_ROW
        {
            self.more.insert(at, h);
        }
    }

    /// Distinct values seen, up to the bound.
    pub fn total(&self) -> usize {
        self.shown.len() + self.more.len()
    }

    pub fn more(&self) -> usize {
        self.more.len()
    }

    /// Whether there were more than [`Capped::total`] (it stopped counting).
    pub fn saturated(&self) -> bool {
        self.more.len() >= COUNTED_PER_ROW
    }
}

/// Hash of a string kept only to count it: 64-bit FNV-1a.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// One deviating (name, kind, value) of a zone.
#[derive(Clone, Debug, PartialEq)]
pub struct Deviation {
    pub owner: String,
    pub kind: String,
    pub value: String,
    pub expected: Vec<String>,
    pub alerts: u64,
    /// Responses behind the alerts (each alert's `count` + 1).
    pub responses: u64,
    pub span: Span,
    pub clients: Capped,
    pub servers: Capped,
}

/// A zone's deviations and when they were seen.
#[derive(Clone, Debug, PartialEq)]
pub struct ZoneSummary {
    pub zone: String,
    pub alerts: u64,
    pub responses: u64,
    pub span: Span,
    /// Most alerts first.
    pub deviations: Vec<Deviation>,
    pub timeline: Histogram,
}

/// One indicator's hits.
#[derive(Clone, Debug, PartialEq)]
pub struct IndicatorSummary {
    pub indicator: String,
    pub feed: String,
    pub source: String,
    pub urls: Vec<String>,
    pub hits: u64,
    pub responses: u64,
    pub span: Span,
    pub names: Capped,
    pub clients: Capped,
    pub timeline: Histogram,
}

/// A name that had a deviation or an indicator hit: its hijack window,
/// from the first to the last alert for it.
#[derive(Clone, Debug, PartialEq)]
pub struct HijackedName {
    /// Lower case, as the DNS log is matched.
    pub name: String,
    pub alerts: u64,
    pub span: Span,
    pub kinds: BTreeSet<String>,
}

/// Everything the report shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    pub alerts: u64,
    /// Responses behind the alerts: with suppression on, an alert line
    /// stands for itself and the repeats held back before it.
    pub responses: u64,
    pub span: Option<Span>,
    pub by_severity: BTreeMap<String, u64>,
    pub by_kind: BTreeMap<String, u64>,
    pub sensors: BTreeSet<String>,
    pub captures: BTreeSet<String>,
    /// Most alerts first.
    pub zones: Vec<ZoneSummary>,
    /// Most hits first.
    pub indicators: Vec<IndicatorSummary>,
    /// Most alerts first.
    pub hijacked: Vec<HijackedName>,
    /// The alert table's rows, by packet time.
    pub table: Vec<ReportAlert>,
    /// Alerts counted whose zone, deviation, indicator or name got no row
    /// ([`MAX_ROWS`]).
    pub untracked: u64,
}

impl Summary {
    /// Alerts not in the table.
    pub fn alerts_not_in_table(&self) -> u64 {
        self.alerts.saturating_sub(self.table.len() as u64)
    }
}

/// The alert table's order of preference: most severe, then earliest,
/// then first read.
fn severity_rank(severity: &str) -> u8 {
    match severity {
        "high" => 0,
        "medium" => 1,
        "low" => 2,
        _ => 3,
    }
}

/// An alert the table may keep; the heap's top is the one it would give
/// up first.
#[derive(Debug)]
struct Ranked {
    key: (u8, i64, u64),
    alert: ReportAlert,
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

type DeviationKey = (String, String, String, String);

/// Counts alerts as they are read.
#[derive(Debug, Default)]
pub struct Aggregator {
    summary: Summary,
    zones: BTreeMap<String, ZoneSummary>,
    /// (zone, lower-case owner, kind, value) → its row.
    deviations: BTreeMap<DeviationKey, Deviation>,
    indicators: BTreeMap<String, IndicatorSummary>,
    hijacked: BTreeMap<String, HijackedName>,
    table: BinaryHeap<Ranked>,
    read: u64,
}

/// Whether a map of `len` rows takes a new one.
fn room(len: usize) -> bool {
    len < MAX_ROWS
}

impl Aggregator {
    pub fn add(&mut self, alert: ReportAlert) {
        let s = &mut self.summary;
        s.alerts += 1;
        s.responses = s.responses.saturating_add(alert.responses());
        match &mut s.span {
            Some(span) => span.widen(&alert),
            None => s.span = Some(Span::new(&alert)),
        }
        count(&mut s.by_severity, &alert.severity);
        count(&mut s.by_kind, &alert.kind);
        if !alert.sensor.is_empty() && !s.sensors.contains(&alert.sensor) && room(s.sensors.len()) {
            s.sensors.insert(alert.sensor.clone());
        }
        if let Some(capture) = &alert.capture
            && !s.captures.contains(capture)
            && room(s.captures.len())
        {
            s.captures.insert(capture.clone());
        }
        let kind = kind_index(&alert.kind);
        let mut tracked = true;
        if let Some(zone) = &alert.zone {
            tracked &= self.add_to_zone(zone, kind, &alert);
        }
        if let Some(ioc) = &alert.indicator {
            let room_left = room(self.indicators.len());
            let entry = match self.indicators.get_mut(&ioc.indicator) {
                Some(e) => Some(e),
                None if room_left => Some(
                    self.indicators
                        .entry(ioc.indicator.clone())
                        .or_insert_with(|| IndicatorSummary {
                            indicator: ioc.indicator.clone(),
                            feed: ioc.feed.clone(),
                            source: ioc.source.clone(),
                            urls: ioc.urls.clone(),
                            hits: 0,
                            responses: 0,
                            span: Span::new(&alert),
                            names: Capped::default(),
                            clients: Capped::default(),
                            timeline: Histogram::default(),
                        }),
                ),
                None => None,
            };
            match entry {
                Some(e) => {
                    e.hits += 1;
                    e.responses = e.responses.saturating_add(alert.responses());
                    e.span.widen(&alert);
                    e.names.insert(&alert.qname.to_lowercase());
                    e.clients.insert(&alert.client);
                    e.timeline.add(alert.micros, kind);
                }
                None => tracked = false,
            }
        }
        if alert.kind.starts_with("unexpected_") || alert.kind.starts_with("ioc_") {
            tracked &= self.add_to_name(&alert);
        }
        if !tracked {
            self.summary.untracked += 1;
        }
        self.keep_in_table(alert);
    }

    /// False when the zone or the deviation got no row.
    fn add_to_zone(&mut self, zone: &str, kind: usize, alert: &ReportAlert) -> bool {
        if !self.zones.contains_key(zone) {
            if !room(self.zones.len()) {
                return false;
            }
            self.zones.insert(
                zone.to_string(),
                ZoneSummary {
                    zone: zone.to_string(),
                    alerts: 0,
                    responses: 0,
                    span: Span::new(alert),
                    deviations: Vec::new(),
                    timeline: Histogram::default(),
                },
            );
        }
        if let Some(z) = self.zones.get_mut(zone) {
            z.alerts += 1;
            z.responses = z.responses.saturating_add(alert.responses());
            z.span.widen(alert);
            z.timeline.add(alert.micros, kind);
        }
        let key = (
            zone.to_string(),
            alert.owner.to_lowercase(),
            alert.kind.clone(),
            alert.value.clone(),
        );
        if !self.deviations.contains_key(&key) && !room(self.deviations.len()) {
            return false;
        }
        let d = self.deviations.entry(key).or_insert_with(|| Deviation {
            owner: alert.owner.to_lowercase(),
            kind: alert.kind.clone(),
            value: alert.value.clone(),
            expected: alert.expected.clone(),
            alerts: 0,
            responses: 0,
            span: Span::new(alert),
            clients: Capped::default(),
            servers: Capped::default(),
        });
        d.alerts += 1;
        d.responses = d.responses.saturating_add(alert.responses());
        d.span.widen(alert);
        d.clients.insert(&alert.client);
        d.servers.insert(&alert.server);
        true
    }

    fn add_to_name(&mut self, alert: &ReportAlert) -> bool {
        let name = alert.qname.to_lowercase();
        if name.is_empty() {
            return true;
        }
        if !self.hijacked.contains_key(&name) && !room(self.hijacked.len()) {
            return false;
        }
        let h = self
            .hijacked
            .entry(name.clone())
            .or_insert_with(|| HijackedName {
                name,
                alerts: 0,
                span: Span::new(alert),
                kinds: BTreeSet::new(),
            });
        h.alerts += 1;
        h.span.widen(alert);
        if !h.kinds.contains(&alert.kind) {
            h.kinds.insert(alert.kind.clone());
        }
        true
    }

    fn keep_in_table(&mut self, alert: ReportAlert) {
        self.read += 1;
        let key = (severity_rank(&alert.severity), alert.micros, self.read);
        if self.table.len() < ALERT_ROWS {
            self.table.push(Ranked { key, alert });
        } else if self.table.peek().is_some_and(|worst| key < worst.key) {
            self.table.pop();
            self.table.push(Ranked { key, alert });
        }
    }

    pub fn finish(self) -> Summary {
        let Aggregator {
            mut summary,
            mut zones,
            deviations,
            indicators,
            hijacked,
            table,
            ..
        } = self;
        for ((zone, ..), deviation) in deviations {
            if let Some(z) = zones.get_mut(&zone) {
                z.deviations.push(deviation);
            }
        }
        summary.zones = zones.into_values().collect();
        for zone in &mut summary.zones {
            zone.deviations.sort_by_key(|d| Reverse(d.alerts));
        }
        summary.zones.sort_by_key(|z| Reverse(z.alerts));
        summary.indicators = indicators.into_values().collect();
        summary.indicators.sort_by_key(|i| Reverse(i.hits));
        summary.hijacked = hijacked.into_values().collect();
        summary.hijacked.sort_by_key(|h| Reverse(h.alerts));
        let mut rows: Vec<Ranked> = table.into_vec();
        rows.sort_by_key(|r| (r.alert.micros, r.key.2));
        summary.table = rows.into_iter().map(|r| r.alert).collect();
        summary
    }
}

fn count(map: &mut BTreeMap<String, u64>, key: &str) {
    let room_left = room(map.len());
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None if room_left => {
            map.insert(key.to_string(), 1);
        }
        None => {}
    }
}

/// Counts `alerts` (any order): what reading them one at a time gives.
pub fn summarize(alerts: impl IntoIterator<Item = ReportAlert>) -> Summary {
    let mut a = Aggregator::default();
    for alert in alerts {
        a.add(alert);
    }
    a.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(t: i64, zone: Option<&str>, client: &str) -> ReportAlert {
        ReportAlert {
            ts: format!("t{t}"),
            micros: t,
            kind: "unexpected_address".into(),
            severity: "medium".into(),
            qname: "Mail.Example.org".into(),
            owner: "Mail.Example.org".into(),
            value: "198.51.100.1".into(),
            zone: zone.map(str::to_string),
            client: client.into(),
            ..ReportAlert::default()
        }
    }

    #[test]
    fn a_name_deviating_many_times_is_one_row_with_its_span_and_clients() {
        let mut alerts: Vec<ReportAlert> = (0..20)
            .map(|i| alert(i, Some("example.org"), &format!("10.0.0.{i}")))
            .collect();
        alerts.push(alert(-5, None, "10.9.9.9"));
        let s = summarize(alerts);
        assert_eq!(s.alerts, 21);
        assert_eq!(s.zones.len(), 1);
        let zone = &s.zones[0];
        assert_eq!(zone.alerts, 20);
        assert_eq!(zone.timeline.total(), 20);
        assert_eq!(zone.deviations.len(), 1);
        let d = &zone.deviations[0];
        assert_eq!(d.owner, "mail.example.org");
        assert_eq!((d.span.first.as_str(), d.span.last.as_str()), ("t0", "t19"));
        assert_eq!(d.clients.shown.len(), ADDRESSES_PER_ROW);
        assert_eq!(d.clients.total(), 20);
        assert_eq!(s.span.unwrap().first, "t-5");
        // The hijack window of the name spans every alert for it, in or
        // out of a zone.
        assert_eq!(s.hijacked.len(), 1);
        let h = &s.hijacked[0];
        assert_eq!((h.name.as_str(), h.alerts), ("mail.example.org", 21));
        assert_eq!(
            (h.span.first.as_str(), h.span.last.as_str()),
            ("t-5", "t19")
        );
    }

    #[test]
    fn the_table_keeps_the_most_severe_then_earliest_alerts_in_time_order() {
        let mut alerts: Vec<ReportAlert> = (0..ALERT_ROWS as i64 + 500)
            .map(|i| alert(1000 + i, None, "c"))
            .collect();
        // Late but high: kept ahead of earlier medium ones.
        let mut late = alert(1_000_000, None, "c");
        late.severity = "high".into();
        alerts.push(late);
        let s = summarize(alerts);
        assert_eq!(s.table.len(), ALERT_ROWS);
        assert_eq!(s.alerts_not_in_table(), 501);
        assert_eq!(s.table.last().unwrap().severity, "high");
        assert_eq!(s.table[0].micros, 1000);
        assert_eq!(s.table[ALERT_ROWS - 2].micros, 1000 + ALERT_ROWS as i64 - 2);
        assert!(s.table.windows(2).all(|w| w[0].micros <= w[1].micros));
    }

    #[test]
    fn rows_past_the_bound_are_counted_not_kept() {
        let alerts = (0..MAX_ROWS as i64 + 3).map(|i| {
            let mut a = alert(i, Some("example.org"), "c");
            a.value = format!("v{i}");
            a
        });
        let s = summarize(alerts);
        assert_eq!(s.zones[0].deviations.len(), MAX_ROWS);
        assert_eq!(s.zones[0].alerts, MAX_ROWS as u64 + 3);
        assert_eq!(s.untracked, 3);
    }

    #[test]
    fn distinct_clients_past_the_bound_saturate() {
        let mut c = Capped::default();
        for i in 0..5000 {
            c.insert(&format!("10.0.{}.{}", i / 256, i % 256));
            c.insert("10.0.0.0");
        }
        assert!(c.saturated());
        assert_eq!(c.total(), ADDRESSES_PER_ROW + COUNTED_PER_ROW);
    }
}
