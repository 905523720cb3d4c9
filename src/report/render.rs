//! The report as one HTML page: styles, the chart and one small script
//! inline, nothing fetched from anywhere, so it opens the same on an
//! air-gapped analyst machine, prints, and can be mailed. A Content
//! Security Policy says so to the browser too: no request, and no script
//! but ours (by its hash), so even a name that slipped through escaping
//! could not run. Every string from the files goes through maud's
//! escaping (names are attacker-chosen); the only raw markup is this
//! module's own and the chart's (plotters escapes its text).
//!
//! Without JavaScript everything is there; with it, the alert table
//! sorts by any column and filters on any text.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::aggregate::{ALERT_ROWS, Capped, Span, Summary};
use super::chart::{self, Row, kind_css};
use super::dnslog::{NameHistory, Outcome, PhaseAnswers};
use super::sensor::{HealthSummary, WORST_LOSSES};
use super::timeline::kind_index;

/// Zones, deviations, indicators and hijacked names shown; the rest are
/// counted ("and N more").
pub const TOP: usize = 50;

const STYLE: &str = "
body{font-family:system-ui,sans-serif;margin:1em auto;padding:0 1em;color:#222;max-width:90em}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ccc}h3{font-size:1.05em}
nav a{margin-right:1em}
table{border-collapse:collapse;margin:.5em 0;font-size:.85em;display:block;overflow-x:auto;max-width:100%}
th,td{border:1px solid #ddd;padding:.2em .3em;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.n{text-align:right;white-space:nowrap}
.high{color:#b00020;font-weight:bold}.medium{color:#9a5b00}
.more{color:#666;font-style:italic}
.warn{color:#b00020}
code{font-family:ui-monospace,monospace;overflow-wrap:break-word}
a,td.addr code{overflow-wrap:anywhere}td.addr{min-width:8em}
dl.head{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}
dl.head dt{font-weight:bold}dl.head dd{margin:0}
svg{max-width:100%;height:auto}
.swatch{display:inline-block;width:.8em;height:.8em;margin:0 .2em 0 .8em;vertical-align:baseline}
.controls{margin:.5em 0}.controls input{font:inherit;padding:.2em .4em;min-width:24em}
th.sortable{cursor:pointer;user-select:none}
th[aria-sort=ascending]::after{content:' \\25B2'}th[aria-sort=descending]::after{content:' \\25BC'}
tr.before td:first-child{border-left:4px solid #1565c0}
tr.during td:first-child{border-left:4px solid #b00020}
tr.after td:first-child{border-left:4px solid #2e7d32}
@media print{
body{margin:0;max-width:none;font-size:9pt}
nav,.controls{display:none}
h2,h3{break-after:avoid}
tr{break-inside:avoid}
table{display:table;font-size:7.5pt}td,code{overflow-wrap:anywhere}
thead{display:table-header-group}
a{color:inherit}
th[aria-sort]::after{content:none}
}
";

/// Sorting and filtering of the alert table: the controls are made here,
/// so a page read without JavaScript shows none that do nothing.
const SCRIPT: &str = r#"(function(){
var t=document.getElementById('alert-table');if(!t||!t.tHead||!t.tBodies[0])return;
var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows),ths=t.tHead.rows[0].cells;
var bar=document.createElement('div');bar.className='controls';
var f=document.createElement('input');f.type='search';f.id='alert-filter';
f.placeholder='Filter the alerts below (any text)';f.setAttribute('aria-label','Filter alerts');
var n=document.createElement('span');n.id='alert-shown';
bar.appendChild(f);bar.appendChild(n);t.parentNode.insertBefore(bar,t);
function count(){var k=0;rows.forEach(function(r){if(!r.hidden)k++;});n.textContent=' '+k+' of '+rows.length+' rows shown';}
f.addEventListener('input',function(){var q=f.value.toLowerCase();
rows.forEach(function(r){r.hidden=q!==''&&r.textContent.toLowerCase().indexOf(q)<0;});count();});
function key(r,i){var c=r.cells[i];var v=c&&c.getAttribute('data-sort');return v!==null&&v!==undefined?v:(c?c.textContent:'');}
Array.prototype.forEach.call(ths,function(th,i){
th.tabIndex=0;th.className+=' sortable';th.setAttribute('aria-sort','none');
function sort(){var dir=th.getAttribute('aria-sort')==='ascending'?-1:1;
Array.prototype.forEach.call(ths,function(h){h.setAttribute('aria-sort','none');});
th.setAttribute('aria-sort',dir>0?'ascending':'descending');
rows.sort(function(a,b){var x=key(a,i),y=key(b,i);return(x<y?-1:x>y?1:0)*dir;});
rows.forEach(function(r){body.appendChild(r);});}
th.addEventListener('click',sort);
th.addEventListener('keydown',function(e){if(e.key==='Enter'||e.key===' '){e.preventDefault();sort();}});});
count();})();"#;

/// The page's policy: nothing from anywhere, inline styles, and only the
/// script above.
fn content_security_policy() -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, SCRIPT.as_bytes());
    format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{}'; \
         base-uri 'none'; form-action 'none'",
        data_encoding::BASE64.encode(digest.as_ref())
    )
}

/// What the page is made of besides the alerts' summary.
pub struct Extras<'a> {
    pub health: &'a HealthSummary,
    /// `None` without `--dns-log`.
    pub dns: Option<&'a [NameHistory]>,
    /// The zones of `--expect`, sorted; `None` without it.
    pub monitored: Option<&'a [String]>,
}

/// The whole page.
pub fn page(summary: &Summary, extras: &Extras<'_>) -> String {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content=(content_security_policy());
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "dnsentry report" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "DNS hijacking investigation" }
                nav {
                    a href="#timeline" { "Timeline" }
                    a href="#zones" { "Per zone" }
                    a href="#indicators" { "Per indicator" }
                    a href="#hijacked" { "Hijacked names" }
                    a href="#sensor-health" { "Sensor health" }
                    a href="#alerts" { "Alerts" }
                }
                (headline(summary, extras.health))
                h2 id="timeline" { "Timeline" }
                (timeline(summary))
                h2 id="zones" { "Per zone" }
                (zones(summary))
                @if let Some(monitored) = extras.monitored { (quiet_zones(summary, monitored)) }
                h2 id="indicators" { "Per indicator" }
                (indicators(summary))
                h2 id="hijacked" { "Hijacked names: before, during, after" }
                (hijacked(summary, extras.dns))
                h2 id="sensor-health" { "Sensor health" }
                (health(extras.health))
                h2 id="alerts" { "Alerts" }
                (alert_table(summary))
                script { (PreEscaped(SCRIPT)) }
            }
        }
    };
    markup.into_string()
}

/// `n` with thousands separated.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn percent(share: f64) -> String {
    format!("{:.2}%", share * 100.0)
}

fn more(n: usize, what: &str) -> Markup {
    html! {
        @if n > 0 { p.more { "and " (thousands(n as u64)) " more " (what) } }
    }
}

fn capped(set: &Capped) -> Markup {
    html! {
        @for (i, s) in set.shown.iter().enumerate() {
            @if i > 0 { ", " }
            code { (s) }
        }
        @if set.more() > 0 {
            span.more {
                " and " @if set.saturated() { "over " } (thousands(set.more() as u64)) " more"
            }
        }
    }
}

/// An RFC 3339 time that may wrap between its date and its time.
fn time(ts: &str) -> Markup {
    match ts.split_once('T') {
        Some((date, clock)) => html! { (date) "T" wbr; (clock) },
        None => html! { (ts) },
    }
}

fn span_cells(span: &Span) -> Markup {
    html! { td.t { (time(&span.first)) } td.t { (time(&span.last)) } }
}

fn headline(s: &Summary, h: &HealthSummary) -> Markup {
    let period = s
        .span
        .as_ref()
        .map(|span| format!("{} to {}", span.first, span.last))
        .unwrap_or_else(|| "no alerts".into());
    html! {
        dl.head {
            dt { "Alerts" } dd #total-alerts { (thousands(s.alerts)) }
            dt { "Responses behind them" } dd #total-responses {
                (thousands(s.responses))
                @if s.responses > s.alerts {
                    " (suppression wrote one alert per name, kind and value per window; each alert's count says how many repeats it stood for)"
                }
            }
            dt { "Period (packet time)" } dd #period { (period) }
            dt { "By severity" } dd #by-severity {
                @for (severity, n) in &s.by_severity {
                    span class=(severity) { (severity) ": " (thousands(*n)) } " "
                }
            }
            dt { "By kind" } dd #by-kind {
                @for (kind, n) in &s.by_kind {
                    span.swatch style={"background:" (kind_css(kind_index(kind)))} {}
                    code { (kind) } ": " (thousands(*n)) br;
                }
            }
            dt { "Zones" } dd #zone-list {
                @for z in s.zones.iter().take(TOP) { code { (z.zone) } " " }
                @if s.zones.len() > TOP { span.more { "and " (s.zones.len() - TOP) " more" } }
            }
            dt { "Indicators" } dd #indicator-list {
                @for i in s.indicators.iter().take(TOP) { code { (i.indicator) } " " }
                @if s.indicators.len() > TOP { span.more { "and " (s.indicators.len() - TOP) " more" } }
            }
            dt { "Hijacked names" } dd #hijacked-count { (thousands(s.hijacked.len() as u64)) }
            dt { "Sensors" } dd { @for x in &s.sensors { code { (x) } " " } }
            dt { "Captures" } dd #captures {
                @for x in s.captures.iter().take(TOP) { code { (x) } " " }
                @if s.captures.len() > TOP { span.more { "and " (s.captures.len() - TOP) " more" } }
            }
            dt { "Sensor health" } dd #health-summary { (health_sentence(h)) }
        }
    }
}

fn health_sentence(h: &HealthSummary) -> Markup {
    html! {
        @if h.events == 0 {
            "no sensor events in these files: nothing here says what the sensor could not see"
        } @else {
            @let dropped = h.packets_dropped();
            span class=[(dropped > 0).then_some("warn")] {
                (count_noun(dropped, "packet", "packets")) " dropped unseen (" (percent(h.loss())) " of the packets on the wire)"
            }
            ", " (count_noun(h.loss_intervals(), "interval", "intervals")) " over the loss threshold, "
            (count_noun(h.stalls(), "stall", "stalls")) ", "
            span class=[(h.messages_lost() > 0).then_some("warn")] {
                (count_noun(h.messages_lost(), "message", "messages")) " lost by outputs"
            }
            " (" (count_noun(h.events, "sensor event", "sensor events")) ")"
        }
    }
}

/// One row per zone, then per indicator, most alerts first.
fn timeline(s: &Summary) -> Markup {
    let Some(period) = &s.span else {
        return html! { p { "No alerts." } };
    };
    let mut rows: Vec<Row<'_>> = s
        .zones
        .iter()
        .map(|z| Row {
            label: format!("zone {}", z.zone),
            span: &z.span,
            timeline: &z.timeline,
        })
        .collect();
    rows.extend(s.indicators.iter().map(|i| Row {
        label: format!("indicator {}", i.indicator),
        span: &i.span,
        timeline: &i.timeline,
    }));
    let hidden = rows.len().saturating_sub(chart::ROWS);
    rows.truncate(chart::ROWS);
    let svg = chart::timeline_svg(&rows, period);
    html! {
        @if rows.is_empty() {
            p { "No alert names a zone or an indicator." }
        } @else {
            @match svg {
                Ok(svg) => figure #timeline-chart { (PreEscaped(svg)) },
                Err(e) => p.warn { (e) },
            }
        }
        p #timeline-legend {
            @for kind in s.by_kind.keys() {
                span.swatch style={"background:" (kind_css(kind_index(kind)))} {}
                code { (kind) }
            }
            br;
            "Each row's pale band runs from its first to its last alert: the hijack window."
        }
        (more(hidden, "rows (zones and indicators with fewer alerts)"))
    }
}

fn zones(s: &Summary) -> Markup {
    html! {
        @if s.zones.is_empty() { p { "No alert names a monitored zone." } }
        @for zone in s.zones.iter().take(TOP) {
            h3 { "Zone " code { (zone.zone) } ": " (count_noun(zone.alerts, "alert", "alerts")) ", " (zone.span.first) " to " (zone.span.last) }
            table.zone {
                thead { tr { th { "name" } th { "kind" } th { "expected" } th { "seen" } th { "first seen" } th { "last seen" } th { "alerts" } th { "responses" } th { "clients" } th { "served by" } } }
                tbody {
                    @for d in zone.deviations.iter().take(TOP) {
                        tr {
                            td { code { (d.owner) } }
                            td { (d.kind) }
                            td { @for (i, e) in d.expected.iter().enumerate() { @if i > 0 { ", " } code { (e) } } }
                            td { code { (d.value) } }
                            (span_cells(&d.span))
                            td.n { (thousands(d.alerts)) }
                            td.n { (thousands(d.responses)) }
                            td.addr { (capped(&d.clients)) }
                            td.addr { (capped(&d.servers)) }
                        }
                    }
                }
            }
            (more(zone.deviations.len().saturating_sub(TOP), "deviations"))
        }
        (more(s.zones.len().saturating_sub(TOP), "zones"))
    }
}

/// The monitored zones (`--expect`) no alert names.
fn quiet_zones(s: &Summary, monitored: &[String]) -> Markup {
    let alerted: std::collections::HashSet<&str> =
        s.zones.iter().map(|z| z.zone.as_str()).collect();
    let quiet: Vec<&String> = monitored
        .iter()
        .filter(|z| !alerted.contains(z.as_str()))
        .collect();
    html! {
        p #quiet-zones {
            (count_noun(monitored.len() as u64, "zone", "zones")) " monitored (" code { "--expect" } "); "
            @if quiet.is_empty() {
                "every one has alerts."
            } @else {
                (count_noun(quiet.len() as u64, "has", "have")) " no alert: "
                @for (i, z) in quiet.iter().take(TOP).enumerate() { @if i > 0 { ", " } code { (z) } }
                @if quiet.len() > TOP { span.more { " and " (thousands((quiet.len() - TOP) as u64)) " more" } }
                "."
            }
        }
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
                thead { tr { th { "indicator" } th { "hits" } th { "responses" } th { "first seen" } th { "last seen" } th { "names" } th { "clients" } th { "feed" } th { "report" } } }
                tbody {
                    @for i in s.indicators.iter().take(TOP) {
                        tr {
                            td { code { (i.indicator) } }
                            td.n { (thousands(i.hits)) }
                            td.n { (thousands(i.responses)) }
                            (span_cells(&i.span))
                            td { (capped(&i.names)) }
                            td.addr { (capped(&i.clients)) }
                            td { code { (i.feed) } }
                            td { (i.source) @for u in &i.urls { br; (reference(u)) } }
                        }
                    }
                }
            }
            (more(s.indicators.len().saturating_sub(TOP), "indicators"))
        }
    }
}

fn hijacked(s: &Summary, dns: Option<&[NameHistory]>) -> Markup {
    html! {
        @if s.hijacked.is_empty() {
            p { "No name had a deviation or an indicator hit." }
        } @else {
            p {
                "A name is hijacked here when an alert says its answer deviated from the zone's expected records or hit an indicator; "
                "its window runs from the first to the last such alert."
                @if dns.is_none() {
                    " With " code { "--dns-log" } " the DNS log shows what each name resolved to before, during and after it."
                }
            }
            table #hijacked-names {
                thead { tr { th { "name" } th { "first alert" } th { "last alert" } th { "alerts" } th { "kinds" } } }
                tbody {
                    @for h in s.hijacked.iter().take(TOP) {
                        tr {
                            td { code { (h.name) } }
                            (span_cells(&h.span))
                            td.n { (thousands(h.alerts)) }
                            td { @for (i, k) in h.kinds.iter().enumerate() { @if i > 0 { ", " } (k) } }
                        }
                    }
                }
            }
            (more(s.hijacked.len().saturating_sub(TOP), "names"))
            @if let Some(histories) = dns {
                @for h in histories { (history(h)) }
            }
        }
    }
}

/// `n` and the noun, plural unless one.
fn count_noun(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// Per record type: what it answered before, during and after the window.
fn stories(h: &NameHistory) -> Markup {
    html! {
        p {
            "Hijack window: " (h.window.first) " to " (h.window.last) " ("
            (count_noun(h.alerts, "alert", "alerts")) ": " (h.kinds.join(", ")) ")."
        }
        ul.stories {
            @for story in h.stories() {
                li {
                    strong { (story.qtype) } ": "
                    @match story.before {
                        Some(b) => { "before, " (answers(&b.answers, &b.rcode)) " (last at " (b.last) "); " }
                        None => { "no answer before the window in the log; " }
                    }
                    @if story.during.is_empty() {
                        "none during it; "
                    } @else {
                        "during, "
                        @for (i, d) in story.during.iter().enumerate() {
                            @if i > 0 { " and " }
                            (answers(&d.answers, &d.rcode))
                        }
                        "; "
                    }
                    @match story.after {
                        Some((a, outcome)) => {
                            "after, " (answers(&a.answers, &a.rcode)) " from " (a.first) ": "
                            @match outcome {
                                Outcome::PutBack => { strong { "put back" } " (the last answers before the window)." }
                                Outcome::StillHijacked => { strong.warn { "still the hijack's answers" } " (later alerts may have been suppressed)." }
                                Outcome::Expected => { strong { "put back" } " (the zone's expected records)." }
                                Outcome::Changed => @if story.before.is_some() {
                                    "changed, to neither the answers before nor those during the window."
                                } @else {
                                    "no longer the hijack's answers."
                                },
                            }
                        }
                        None => { "no answer after the window in the log." }
                    }
                }
            }
        }
    }
}

fn answers(list: &[String], rcode: &str) -> Markup {
    html! {
        @if list.is_empty() {
            "no answer (" (rcode) ")"
        } @else {
            @for (i, a) in list.iter().enumerate() { @if i > 0 { ", " } code { (a) } }
            @if rcode != "NOERROR" && !rcode.is_empty() { " (" (rcode) ")" }
        }
    }
}

fn phase_rows(name: &str, phase: &PhaseAnswers) -> Markup {
    html! {
        @for set in &phase.sets {
            tr class=(name) {
                td { (name) }
                td { (set.qtype) }
                td { (answers(&set.answers, &set.rcode)) }
                td {
                    @match set.expected {
                        Some(true) => "yes",
                        Some(false) => span.warn { "no" },
                        None => "",
                    }
                }
                td.n { (thousands(set.responses)) }
                td.t { (time(&set.first)) }
                td.t { (time(&set.last)) }
                td.addr { (capped(&set.clients)) }
                td.addr { (capped(&set.servers)) }
            }
        }
        @if phase.others > 0 {
            tr class=(name) {
                td { (name) }
                td colspan="8" .more { (thousands(phase.others)) " more responses with other answers" }
            }
        }
    }
}

fn history(h: &NameHistory) -> Markup {
    html! {
        h3 { "Name " code { (h.name) } }
        (stories(h))
        @if h.responses() == 0 {
            p.more { "The DNS log holds no response for this name." }
        } @else {
            table.history {
                thead { tr { th { "phase" } th { "type" } th { "answers" } th { "expected" } th { "responses" } th { "first seen" } th { "last seen" } th { "clients" } th { "served by" } } }
                tbody {
                    (phase_rows("before", &h.before))
                    (phase_rows("during", &h.during))
                    (phase_rows("after", &h.after))
                }
            }
        }
    }
}

fn health(h: &HealthSummary) -> Markup {
    html! {
        @if h.events == 0 {
            p {
                "The alert files hold no sensor events, so this page cannot say what the sensor could not see. "
                code { "dnsentry live" } " writes " code { "sensor_health" } " every " code { "--stats-interval" }
                ", and " code { "capture_loss" } " and " code { "capture_stalled" } " when it goes blind; give its alert files to see them here."
            }
        } @else {
            p #health-sentence { (health_sentence(h)) "." }
            @if !h.interfaces.is_empty() {
                h3 { "Capture" }
                table #health-interfaces {
                    thead { tr { th { "sensor" } th { "interface" } th { "packets received" } th { "dropped by the kernel" } th { "dropped by the interface" } th { "not seen" } th { "reports" } th { "first" } th { "last" } } }
                    tbody {
                        @for i in &h.interfaces {
                            tr {
                                td { code { (i.sensor) } }
                                td { code { (i.interface) } }
                                td.n { (thousands(i.received)) }
                                td.n { (thousands(i.kernel_dropped)) }
                                td.n { (thousands(i.interface_dropped)) }
                                td.n class=[(i.dropped() > 0).then_some("warn")] { (percent(i.loss())) }
                                td.n { (thousands(i.seen.reports)) }
                                td.t { (time(&i.seen.first)) }
                                td.t { (time(&i.seen.last)) }
                            }
                        }
                    }
                }
            }
            @if !h.losses.is_empty() {
                h3 { "Intervals over the loss threshold" }
                table #health-losses {
                    thead { tr { th { "sensor" } th { "interface" } th { "intervals" } th { "dropped in them" } th { "of packets" } th { "worst" } th { "worst at" } th { "first" } th { "last" } } }
                    tbody {
                        @for l in h.losses.iter().take(WORST_LOSSES) {
                            tr {
                                td { code { (l.sensor) } }
                                td { code { (l.interface) } }
                                td.n { (thousands(l.intervals)) }
                                td.n { (thousands(l.dropped)) }
                                td.n { (thousands(l.received.saturating_add(l.dropped))) }
                                td.n.warn { (percent(l.worst_rate.max(0.0))) }
                                td.t { (time(&l.worst_at)) }
                                td.t { (time(&l.seen.first)) }
                                td.t { (time(&l.seen.last)) }
                            }
                        }
                    }
                }
                (more(h.losses.len().saturating_sub(WORST_LOSSES), "interfaces"))
            }
            @if !h.stalls.is_empty() {
                h3 { "Stalls (an interface down, or no DNS for too long)" }
                table #health-stalls {
                    thead { tr { th { "sensor" } th { "interface" } th { "times" } th { "first" } th { "last" } th { "last reason" } } }
                    tbody {
                        @for s in &h.stalls {
                            tr {
                                td { code { (s.sensor) } }
                                td { code { (s.interface) } }
                                td.n { (thousands(s.seen.reports)) }
                                td.t { (time(&s.seen.first)) }
                                td.t { (time(&s.seen.last)) }
                                td { (s.last_reason) }
                            }
                        }
                    }
                }
            }
            @if !h.outputs.is_empty() {
                h3 { "Outputs" }
                table #health-outputs {
                    thead { tr { th { "sensor" } th { "output" } th { "kind" } th { "queued" } th { "sent" } th { "evicted" } th { "dropped" } th { "lost" } } }
                    tbody {
                        @for o in &h.outputs {
                            tr {
                                td { code { (o.sensor) } }
                                td { code { (o.name) } }
                                td { (o.kind) }
                                td.n { (thousands(o.queued)) }
                                td.n { (thousands(o.sent)) }
                                td.n { (thousands(o.evicted)) }
                                td.n { (thousands(o.dropped)) }
                                td.n class=[(o.lost() > 0).then_some("warn")] { (thousands(o.lost())) }
                            }
                        }
                    }
                }
            }
            @if h.untracked > 0 {
                p.more { (thousands(h.untracked)) " events about further sensors, interfaces or outputs are counted but not listed." }
            }
        }
    }
}

fn severity_order(severity: &str) -> u8 {
    match severity {
        "high" => 0,
        "medium" => 1,
        "low" => 2,
        _ => 3,
    }
}

fn alert_table(s: &Summary) -> Markup {
    html! {
        @if s.table.is_empty() {
            p { "No alerts." }
        } @else {
            table #alert-table {
                thead { tr { th { "time" } th { "severity" } th { "kind" } th { "name" } th { "value" } th { "client" } th { "server" } th { "what was seen" } } }
                tbody {
                    @for a in &s.table {
                        tr {
                            td.t data-sort=(format!("{:020}", a.micros.max(0))) { (time(&a.ts)) }
                            td class=(a.severity) data-sort=(severity_order(&a.severity)) { (a.severity) }
                            td { (a.kind) }
                            td { code { (a.owner) } }
                            td { code { (a.value) } }
                            td { (a.client) }
                            td { (a.server) }
                            td { (a.message) }
                        }
                    }
                }
            }
            @let rest = s.alerts_not_in_table();
            @if rest > 0 {
                p.more #alerts-not-shown {
                    "and " (thousands(rest)) " more alerts: the table keeps the "
                    (thousands(ALERT_ROWS as u64)) " most severe, earliest first; every count above includes them all"
                    @if s.untracked > 0 { " (" (thousands(s.untracked)) " of them past the rows a report keeps per zone, name and indicator)" }
                    "."
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::aggregate::summarize;
    use super::super::read::ReportAlert;
    use super::*;

    fn extras(h: &HealthSummary) -> Extras<'_> {
        Extras {
            health: h,
            dns: None,
            monitored: None,
        }
    }

    #[test]
    fn long_lists_show_their_top_rows_and_count_the_rest() {
        let alerts = (0..ALERT_ROWS + 7).map(|i| ReportAlert {
            ts: format!("t{i}"),
            micros: i as i64,
            kind: "unexpected_address".into(),
            severity: "medium".into(),
            owner: format!("n{i}.z{}.example", i % (TOP + 3)),
            zone: Some(format!("z{}.example", i % (TOP + 3))),
            ..ReportAlert::default()
        });
        let page = page(&summarize(alerts), &extras(&HealthSummary::default()));
        assert!(page.contains("and 3 more zones"), "zones not capped");
        assert!(page.contains("and 7 more alerts"), "alert table not capped");
        let (_, table) = page.split_once("id=\"alert-table\"").unwrap();
        assert_eq!(table.matches("<tr><td class=\"t\"").count(), ALERT_ROWS);
    }

    #[test]
    fn the_policy_allows_exactly_the_pages_script() {
        let page = page(&summarize([]), &extras(&HealthSummary::default()));
        assert_eq!(page.matches("<script").count(), 1);
        assert!(page.contains(SCRIPT));
        let digest = ring::digest::digest(&ring::digest::SHA256, SCRIPT.as_bytes());
        let hash = data_encoding::BASE64.encode(digest.as_ref());
        assert!(page.contains(&format!("script-src 'sha256-{hash}'")));
        assert!(page.contains("default-src 'none'"));
    }

    #[test]
    fn numbers_are_grouped_in_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
