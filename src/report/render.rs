//! The report as one HTML page: styles and the SVG timeline inline, no
//! script and no request to any other host, so it opens the same on an
//! air-gapped analyst machine, prints, and can be mailed. Every string
//! from the alerts goes through maud's escaping (names are
//! attacker-chosen); the only raw markup is this module's own.

use std::collections::BTreeMap;

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::aggregate::{Capped, Span, Summary};
use super::read::ReportAlert;

/// Rows of the alert table, zones, deviations and indicators shown; the
/// rest are counted ("and N more").
pub const TOP: usize = 50;
/// Rows of the alert table.
pub const ALERT_ROWS: usize = 500;
/// Rows of the timeline.
const TIMELINE_ROWS: usize = 16;
/// Columns the timeline bins packet time into.
const TIMELINE_BINS: usize = 240;

const STYLE: &str = "
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:80em}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.n{text-align:right}
.high{color:#b00020;font-weight:bold}.medium{color:#9a5b00}
.more{color:#666;font-style:italic}
code{font-family:ui-monospace,monospace;word-break:break-all}
dl.head{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}
dl.head dt{font-weight:bold}
@media print{body{margin:0}h2{break-after:avoid}}
";

/// Colours of the kinds, the same in the timeline and its legend.
fn colour(kind: &str) -> &'static str {
    match kind {
        "ioc_address" => "#b00020",
        "ioc_domain" => "#e64a19",
        "unexpected_address" => "#1565c0",
        "unexpected_ns" => "#6a1b9a",
        "unexpected_ns_address" => "#8e24aa",
        "unexpected_mx" => "#00838f",
        "unexpected_cname" => "#2e7d32",
        "low_ttl" => "#9e9d24",
        "unexpected_resolver" => "#4e342e",
        "dnssec_missing" => "#37474f",
        "conflicting_response" => "#ad1457",
        "dnssec_invalid" => "#4e342e",
        "inconsistent_servers" => "#00695c",
        _ => "#757575",
    }
}

/// The whole page. `alerts` in any order.
pub fn page(summary: &Summary, alerts: &[ReportAlert]) -> String {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "dnsentry report" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "DNS hijacking investigation" }
                (headline(summary))
                h2 id="timeline" { "Timeline" }
                (timeline(summary, alerts))
                h2 id="zones" { "Per zone" }
                (zones(summary))
                h2 id="indicators" { "Per indicator" }
                (indicators(summary))
                h2 id="alerts" { "Alerts" }
                (alert_table(alerts))
            }
        }
    };
    markup.into_string()
}

fn more(n: usize, what: &str) -> Markup {
    html! {
        @if n > 0 { p.more { "and " (n) " more " (what) } }
    }
}

fn capped(set: &Capped) -> Markup {
    html! {
        @for (i, s) in set.shown.iter().enumerate() {
            @if i > 0 { ", " }
            code { (s) }
        }
        @if !set.more.is_empty() { span.more { " and " (set.more.len()) " more" } }
    }
}

fn span_cells(span: &Span) -> Markup {
    html! { td { (span.first) } td { (span.last) } }
}

fn headline(s: &Summary) -> Markup {
    let period = s
        .span
        .as_ref()
        .map(|span| format!("{} to {}", span.first, span.last))
        .unwrap_or_else(|| "no alerts".into());
    html! {
        dl.head {
            dt { "Alerts" } dd #total-alerts { (s.alerts) }
            dt { "Period (packet time)" } dd #period { (period) }
            dt { "By severity" } dd #by-severity {
                @for (severity, n) in &s.by_severity {
                    span class=(severity) { (severity) ": " (n) } " "
                }
            }
            dt { "By kind" } dd #by-kind {
                @for (kind, n) in &s.by_kind { code { (kind) } ": " (n) br; }
            }
            dt { "Zones" } dd #zone-list {
                @for z in s.zones.iter().take(TOP) { code { (z.zone) } " " }
                @if s.zones.len() > TOP { span.more { "and " (s.zones.len() - TOP) " more" } }
            }
            dt { "Indicators" } dd #indicator-list {
                @for i in s.indicators.iter().take(TOP) { code { (i.indicator) } " " }
                @if s.indicators.len() > TOP { span.more { "and " (s.indicators.len() - TOP) " more" } }
            }
            dt { "Sensors" } dd { @for x in &s.sensors { code { (x) } " " } }
            dt { "Captures" } dd {
                @for x in s.captures.iter().take(TOP) { code { (x) } " " }
                @if s.captures.len() > TOP { span.more { "and " (s.captures.len() - TOP) " more" } }
            }
            @if s.sensor_events > 0 {
                dt { "Sensor events" } dd { (s.sensor_events) " (health, capture loss; not counted as alerts)" }
            }
        }
    }
}

/// One row per zone (then per indicator outside any zone), alerts binned
/// over packet time and coloured by kind, over a band from the row's
/// first to its last sighting: the hijack window.
fn timeline(s: &Summary, alerts: &[ReportAlert]) -> Markup {
    let Some(span) = &s.span else {
        return html! { p { "No alerts." } };
    };
    let mut rows: Vec<(String, &Span)> = s
        .zones
        .iter()
        .map(|z| (format!("zone {}", z.zone), &z.span))
        .collect();
    rows.extend(
        s.indicators
            .iter()
            .map(|i| (format!("indicator {}", i.indicator), &i.span)),
    );
    let hidden = rows.len().saturating_sub(TIMELINE_ROWS);
    rows.truncate(TIMELINE_ROWS);
    let index: BTreeMap<&str, usize> = rows
        .iter()
        .enumerate()
        .map(|(i, (label, _))| (label.as_str(), i))
        .collect();
    let start = span.first_epoch;
    let width = (span.last_epoch - span.first_epoch).max(1e-6);
    let bin_of = |t: f64| (((t - start) / width) * (TIMELINE_BINS - 1) as f64).round() as usize;
    // (row, bin) → kind → alerts
    let mut cells: BTreeMap<(usize, usize), BTreeMap<&str, u64>> = BTreeMap::new();
    for alert in alerts {
        let label = match (&alert.zone, &alert.indicator) {
            (Some(zone), _) => format!("zone {zone}"),
            (None, Some(ioc)) => format!("indicator {}", ioc.indicator),
            (None, None) => continue,
        };
        if let Some(&row) = index.get(label.as_str()) {
            *cells
                .entry((row, bin_of(alert.epoch).min(TIMELINE_BINS - 1)))
                .or_default()
                .entry(alert.kind.as_str())
                .or_default() += 1;
        }
    }
    let (label_w, plot_w, row_h) = (260.0, 720.0, 22.0);
    let x = |t: f64| label_w + (t - start) / width * plot_w;
    let bin_w = plot_w / TIMELINE_BINS as f64;
    let height = row_h * rows.len() as f64 + 30.0;
    let total_w = label_w + plot_w + 10.0;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(total_w) height=(height)
            viewBox={"0 0 " (total_w) " " (height)} role="img" aria-label="Alerts over packet time" {
            @for (i, (label, row_span)) in rows.iter().enumerate() {
                @let y = row_h * i as f64;
                text x="4" y=(y + 15.0) font-size="12" { (label) }
                rect x=(x(row_span.first_epoch)) y=(y + 3.0)
                    width=((x(row_span.last_epoch) - x(row_span.first_epoch)).max(2.0))
                    height=(row_h - 6.0) fill="#fde0e0" {
                    title { "first " (row_span.first) ", last " (row_span.last) }
                }
            }
            @for ((row, bin), kinds) in &cells {
                @let dominant = kinds.iter().max_by_key(|(_, n)| **n).map(|(k, _)| *k).unwrap_or("");
                @let n: u64 = kinds.values().sum();
                rect x=(label_w + *bin as f64 * bin_w) y=(row_h * *row as f64 + 5.0)
                    width=(bin_w.max(3.0)) height=(row_h - 10.0) fill=(colour(dominant)) {
                    title { (n) " alerts, mostly " (dominant) }
                }
            }
            text x=(label_w) y=(height - 8.0) font-size="11" { (span.first) }
            text x=(label_w + plot_w) y=(height - 8.0) font-size="11" text-anchor="end" { (span.last) }
        }
        p {
            @for kind in s.by_kind.keys() {
                span style={"color:" (colour(kind))} { "■ " } code { (kind) } " "
            }
            " (band: first to last sighting)"
        }
        (more(hidden, "rows"))
    }
}

fn zones(s: &Summary) -> Markup {
    html! {
        @if s.zones.is_empty() { p { "No alert names a monitored zone." } }
        @for zone in s.zones.iter().take(TOP) {
            h3 { "Zone " code { (zone.zone) } ": " (zone.alerts) " alerts, " (zone.span.first) " to " (zone.span.last) }
            table.zone {
                tr { th { "name" } th { "kind" } th { "expected" } th { "seen" } th { "first seen" } th { "last seen" } th { "alerts" } th { "clients" } th { "served by" } }
                @for d in zone.deviations.iter().take(TOP) {
                    tr {
                        td { code { (d.owner) } }
                        td { (d.kind) }
                        td { @for (i, e) in d.expected.iter().enumerate() { @if i > 0 { ", " } code { (e) } } }
                        td { code { (d.value) } }
                        (span_cells(&d.span))
                        td.n { (d.alerts) }
                        td { (d.clients.total()) ": " (capped(&d.clients)) }
                        td { (capped(&d.servers)) }
                    }
                }
            }
            (more(zone.deviations.len().saturating_sub(TOP), "deviations"))
        }
        (more(s.zones.len().saturating_sub(TOP), "zones"))
    }
}

/// A reference is a link only when it is a web address; anything else
/// (a `github:` provenance, free text) is shown as text.
fn reference(url: &str) -> Markup {
    let web = url.starts_with("https://") || url.starts_with("http://");
    html! {
        @if web { a href=(url) rel="noreferrer" { (url) } } @else { code { (url) } }
    }
}

fn indicators(s: &Summary) -> Markup {
    html! {
        @if s.indicators.is_empty() { p { "No indicator was seen." } }
        @else {
            table.indicators {
                tr { th { "indicator" } th { "hits" } th { "first seen" } th { "last seen" } th { "names" } th { "clients" } th { "feed" } th { "report" } }
                @for i in s.indicators.iter().take(TOP) {
                    tr {
                        td { code { (i.indicator) } }
                        td.n { (i.hits) }
                        (span_cells(&i.span))
                        td { (capped(&i.names)) }
                        td { (i.clients.total()) ": " (capped(&i.clients)) }
                        td { code { (i.feed) } }
                        td { (i.source) @for u in &i.urls { br; (reference(u)) } }
                    }
                }
            }
            (more(s.indicators.len().saturating_sub(TOP), "indicators"))
        }
    }
}

fn alert_table(alerts: &[ReportAlert]) -> Markup {
    let mut order: Vec<&ReportAlert> = alerts.iter().collect();
    order.sort_by(|a, b| a.epoch.total_cmp(&b.epoch));
    html! {
        table #alert-table {
            tr { th { "time" } th { "severity" } th { "kind" } th { "name" } th { "value" } th { "client" } th { "server" } th { "what was seen" } }
            @for a in order.iter().take(ALERT_ROWS) {
                tr {
                    td { (a.ts) }
                    td class=(a.severity) { (a.severity) }
                    td { (a.kind) }
                    td { code { (a.owner) } }
                    td { code { (a.value) } }
                    td { (a.client) }
                    td { (a.server) }
                    td { (a.message) }
                }
            }
        }
        (more(alerts.len().saturating_sub(ALERT_ROWS), "alerts (the first by packet time are shown)"))
    }
}

#[cfg(test)]
mod tests {
    use super::super::aggregate::summarize;
    use super::*;

    #[test]
    fn long_lists_show_their_top_rows_and_count_the_rest() {
        let alerts: Vec<ReportAlert> = (0..ALERT_ROWS + 7)
            .map(|i| ReportAlert {
                ts: format!("t{i}"),
                epoch: i as f64,
                kind: "unexpected_address".into(),
                severity: "medium".into(),
                owner: format!("n{i}.z{}.example", i % (TOP + 3)),
                zone: Some(format!("z{}.example", i % (TOP + 3))),
                ..ReportAlert::default()
            })
            .collect();
        let page = page(&summarize(&alerts, 0), &alerts);
        assert!(page.contains("and 3 more zones"), "zones not capped");
        assert!(page.contains("and 7 more alerts"), "alert table not capped");
        let (_, table) = page.split_once("id=\"alert-table\"").unwrap();
        assert_eq!(table.matches("<tr><td>").count(), ALERT_ROWS);
    }
}
