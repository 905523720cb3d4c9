//! What the report shows, counted once over every alert: bounded by the
//! number of distinct zones, names and indicators, not of alerts, so a
//! million alerts make tables of the same size as a thousand.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use super::read::ReportAlert;

/// Distinct clients or servers kept per row; the rest are counted.
pub const ADDRESSES_PER_ROW: usize = 8;

/// First and last packet time of something.
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    pub first: String,
    pub first_epoch: f64,
    pub last: String,
    pub last_epoch: f64,
}

impl Span {
    fn new(alert: &ReportAlert) -> Span {
        Span {
            first: alert.ts.clone(),
            first_epoch: alert.epoch,
            last: alert.ts.clone(),
            last_epoch: alert.epoch,
        }
    }

    fn widen(&mut self, alert: &ReportAlert) {
        if alert.epoch < self.first_epoch {
            self.first_epoch = alert.epoch;
            self.first = alert.ts.clone();
        }
        if alert.epoch > self.last_epoch {
            self.last_epoch = alert.epoch;
            self.last = alert.ts.clone();
        }
    }
}

/// A set that keeps the first few and counts the others.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Capped {
    pub shown: BTreeSet<String>,
    pub more: BTreeSet<u64>,
}

impl Capped {
    fn insert(&mut self, s: &str) {
        if s.is_empty() || self.shown.contains(s) {
            return;
        }
        if self.shown.len() < ADDRESSES_PER_ROW {
            self.shown.insert(s.to_string());
        } else {
            self.more.insert(fnv(s));
        }
    }

    pub fn total(&self) -> usize {
        self.shown.len() + self.more.len()
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
    pub span: Span,
    pub clients: Capped,
    pub servers: Capped,
}

/// A zone's deviations and when they were seen.
#[derive(Clone, Debug, PartialEq)]
pub struct ZoneSummary {
    pub zone: String,
    pub alerts: u64,
    pub span: Span,
    pub deviations: Vec<Deviation>,
}

/// One indicator's hits.
#[derive(Clone, Debug, PartialEq)]
pub struct IndicatorSummary {
    pub indicator: String,
    pub feed: String,
    pub source: String,
    pub urls: Vec<String>,
    pub hits: u64,
    pub span: Span,
    pub names: Capped,
    pub clients: Capped,
}

/// Everything the report shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    pub alerts: u64,
    pub sensor_events: u64,
    pub span: Option<Span>,
    pub by_severity: BTreeMap<String, u64>,
    pub by_kind: BTreeMap<String, u64>,
    pub sensors: BTreeSet<String>,
    pub captures: BTreeSet<String>,
    /// Most alerts first.
    pub zones: Vec<ZoneSummary>,
    /// Most hits first.
    pub indicators: Vec<IndicatorSummary>,
}

/// Counts `alerts` (any order).
pub fn summarize(alerts: &[ReportAlert], sensor_events: u64) -> Summary {
    let mut summary = Summary {
        alerts: alerts.len() as u64,
        sensor_events,
        ..Summary::default()
    };
    let mut zones: BTreeMap<String, ZoneSummary> = BTreeMap::new();
    // (zone, lower-case owner, kind, value) → its row.
    let mut deviations: BTreeMap<(String, String, String, String), Deviation> = BTreeMap::new();
    let mut indicators: BTreeMap<String, IndicatorSummary> = BTreeMap::new();
    for alert in alerts {
        match &mut summary.span {
            Some(span) => span.widen(alert),
            None => summary.span = Some(Span::new(alert)),
        }
        *summary
            .by_severity
            .entry(alert.severity.clone())
            .or_default() += 1;
        *summary.by_kind.entry(alert.kind.clone()).or_default() += 1;
        if !alert.sensor.is_empty() {
            summary.sensors.insert(alert.sensor.clone());
        }
        if let Some(capture) = &alert.capture {
            summary.captures.insert(capture.clone());
        }
        if let Some(zone) = &alert.zone {
            let zone_row = zones.entry(zone.clone()).or_insert_with(|| ZoneSummary {
                zone: zone.clone(),
                alerts: 0,
                span: Span::new(alert),
                deviations: Vec::new(),
            });
            zone_row.alerts += 1;
            zone_row.span.widen(alert);
            let key = (
                zone.clone(),
                alert.owner.to_lowercase(),
                alert.kind.clone(),
                alert.value.clone(),
            );
            let deviation = deviations.entry(key).or_insert_with(|| Deviation {
                owner: alert.owner.to_lowercase(),
                kind: alert.kind.clone(),
                value: alert.value.clone(),
                expected: alert.expected.clone(),
                alerts: 0,
                span: Span::new(alert),
                clients: Capped::default(),
                servers: Capped::default(),
            });
            deviation.alerts += 1;
            deviation.span.widen(alert);
            deviation.clients.insert(&alert.client);
            deviation.servers.insert(&alert.server);
        }
        if let Some(ioc) = &alert.indicator {
            let entry =
                indicators
                    .entry(ioc.indicator.clone())
                    .or_insert_with(|| IndicatorSummary {
                        indicator: ioc.indicator.clone(),
                        feed: ioc.feed.clone(),
                        source: ioc.source.clone(),
                        urls: ioc.urls.clone(),
                        hits: 0,
                        span: Span::new(alert),
                        names: Capped::default(),
                        clients: Capped::default(),
                    });
            entry.hits += 1;
            entry.span.widen(alert);
            entry.names.insert(&alert.qname.to_lowercase());
            entry.clients.insert(&alert.client);
        }
    }
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
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(ts: f64, zone: Option<&str>, client: &str) -> ReportAlert {
        ReportAlert {
            ts: format!("t{ts}"),
            epoch: ts,
            kind: "unexpected_address".into(),
            severity: "medium".into(),
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
            .map(|i| alert(f64::from(i), Some("example.org"), &format!("10.0.0.{i}")))
            .collect();
        alerts.push(alert(-5.0, None, "10.9.9.9"));
        let s = summarize(&alerts, 0);
        assert_eq!(s.alerts, 21);
        assert_eq!(s.zones.len(), 1);
        let zone = &s.zones[0];
        assert_eq!(zone.alerts, 20);
        assert_eq!(zone.deviations.len(), 1);
        let d = &zone.deviations[0];
        assert_eq!(d.owner, "mail.example.org");
        assert_eq!((d.span.first.as_str(), d.span.last.as_str()), ("t0", "t19"));
        assert_eq!(d.clients.shown.len(), ADDRESSES_PER_ROW);
        assert_eq!(d.clients.total(), 20);
        assert_eq!(s.span.unwrap().first, "t-5");
    }
}
