//! `dnsentry report` through the real binary, on alerts the real binary
//! wrote: the demo's in every format, hostile names from a scenario
//! capture, a campaign of thousands of alerts, sensor events in every
//! format. The page must say what the alerts say, escape what an attacker
//! chose, and need nothing from any other host; headless Chromium
//! (tests/common/browser.rs) checks that as a reader's browser would, and
//! keeps a screenshot of each page under target/report-screenshots/.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use hickory_proto::rr::RecordType;
use serde_json::Value;

use crate::common::browser::browse;
use crate::common::{bin, project_file, read_json_lines};

/// `dnsentry analyze` into an alerts file of `format`.
fn analyze(dir: &Path, captures: &[&Path], extra: &[&str], format: &str) -> PathBuf {
    let alerts = dir.join(format!("alerts.{format}.json"));
    // From the project's root, so that captures given relative to it are
    // named so in the alerts (and the page).
    let out = bin()
        .current_dir(project_file(""))
        .arg("analyze")
        .args(captures)
        .args(extra)
        .args([
            "--no-progress",
            "--sensor-name",
            "dc1-sensor",
            "--alerts-format",
            format,
        ])
        .arg("--alerts")
        .arg(&alerts)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "analyze failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    alerts
}

/// `dnsentry report` of `inputs`; the page.
fn report(dir: &Path, inputs: &[&Path], name: &str) -> String {
    report_with(dir, inputs, &[], name)
}

/// `dnsentry report` of `inputs` with `extra` arguments; the page.
fn report_with(dir: &Path, inputs: &[&Path], extra: &[&OsStr], name: &str) -> String {
    let page = dir.join(name);
    let out = bin()
        .arg("report")
        .args(inputs)
        .args(extra)
        .arg("-o")
        .arg(&page)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "report failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(&page).unwrap()
}

/// Text as it must appear in the page's markup.
fn html_escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The text of the element with `id`, tags dropped (up to the first
/// closing tag of its kind: for elements holding none of their own kind).
fn element_text(page: &str, id: &str) -> String {
    let at = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let open = page[..at].rfind('<').unwrap();
    let tag: String = page[open + 1..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    let open_end = at + page[at..].find('>').unwrap() + 1;
    let close = open_end + page[open_end..].find(&format!("</{tag}>")).unwrap();
    let mut text = String::new();
    let mut in_tag = false;
    for c in page[open_end..close].chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

/// `n` as the page writes counts.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Text as a browser serialises it in the DOM (quotes stay).
fn dom_escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\u{a0}', "&nbsp;")
}

/// Reference addresses the alerts carry: the only places a page may link to.
fn reference_urls(alerts: &[Value]) -> BTreeSet<String> {
    alerts
        .iter()
        .filter_map(|a| a["ioc"]["url"].as_str())
        .flat_map(|u| u.split(" | ").map(str::to_string))
        .collect()
}

/// The page loads nothing: no script but its own inline one, no style
/// sheet, image, frame, font or CSS import, and its only links are to its
/// own sections and the alerts' report addresses.
fn assert_self_contained(page: &str, allowed_links: &BTreeSet<String>) {
    let lower = page.to_ascii_lowercase();
    // Text is escaped, so every `<` opens a tag of the page's own.
    let tags: Vec<&str> = lower
        .split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap_or_default())
        .collect();
    assert_eq!(tags.iter().filter(|t| t.starts_with("script")).count(), 1);
    assert!(tags.contains(&"script"), "the one script is inline");
    for tag in &tags {
        for element in ["link", "img", "iframe", "object", "embed", "image", "use"] {
            assert!(
                tag.split_whitespace().next() != Some(element),
                "the page holds a <{element}>"
            );
        }
        for attribute in [" src=", "xlink:href", "url(", "@import"] {
            assert!(
                !tag.contains(attribute),
                "a tag holds {attribute:?}: <{tag}>"
            );
        }
    }
    let style = &lower[lower.find("<style>").unwrap()..lower.find("</style>").unwrap()];
    assert!(!style.contains("url(") && !style.contains("@import"));
    for (at, _) in page.match_indices("href=\"") {
        let rest = &page[at + 6..];
        let target = &rest[..rest.find('"').unwrap()];
        let target = target.replace("&amp;", "&");
        if target.starts_with('#') {
            continue;
        }
        assert!(
            target.starts_with("https://") && allowed_links.contains(&target),
            "a link to {target:?}, not one of the alerts' references"
        );
    }
}

fn count(alerts: &[Value], field: &str, value: &str) -> usize {
    alerts.iter().filter(|a| a[field] == value).count()
}

#[test]
fn the_demos_report_shows_its_counts_zones_and_indicators_whatever_the_alert_format() {
    let dir = tempfile::tempdir().unwrap();
    let demo = project_file("pcaps/demo-hijack.pcap");
    let expect = project_file("pcaps/demo-hijack.zones.toml");
    let expect = ["--expect", expect.to_str().unwrap()];
    let native = analyze(dir.path(), &[&demo], &expect, "native");
    let alerts = read_json_lines(&native);
    assert_eq!(alerts.len(), 16, "README's demo count");

    let page = report(dir.path(), &[&native], "native.html");
    for format in ["eve", "ecs"] {
        let file = analyze(dir.path(), &[&demo], &expect, format);
        let other = report(dir.path(), &[&file], &format!("{format}.html"));
        assert_eq!(other, page, "the {format} alerts make another page");
    }

    assert_eq!(element_text(&page, "total-alerts"), "16");
    let severities = element_text(&page, "by-severity");
    for severity in ["high", "medium"] {
        let n = count(&alerts, "severity", severity);
        assert!(n > 0);
        assert!(
            severities.contains(&format!("{severity}: {n}")),
            "{severities}"
        );
    }
    let kinds = element_text(&page, "by-kind");
    for kind in alerts.iter().map(|a| a["kind"].as_str().unwrap()) {
        let n = count(&alerts, "kind", kind);
        assert!(kinds.contains(&format!("{kind}: {n}")), "{kind} in {kinds}");
    }
    let first = alerts
        .iter()
        .map(|a| a["ts"].as_str().unwrap())
        .min()
        .unwrap();
    let last = alerts
        .iter()
        .map(|a| a["ts"].as_str().unwrap())
        .max()
        .unwrap();
    assert_eq!(element_text(&page, "period"), format!("{first} to {last}"));
    assert_eq!(element_text(&page, "zone-list").trim(), "example.org");

    let indicators: BTreeSet<&str> = alerts
        .iter()
        .filter_map(|a| a["ioc"]["indicator"].as_str())
        .collect();
    assert!(indicators.contains("185.20.187.8") && indicators.contains("ns1.rootdnservers.com"));
    let shown: BTreeSet<String> = element_text(&page, "indicator-list")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert_eq!(
        shown,
        indicators
            .iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>()
    );
    // Every alert's sentence is in the table, and every deviating value
    // with the zone's expected list beside it.
    for alert in &alerts {
        assert!(page.contains(&html_escaped(alert["message"].as_str().unwrap())));
    }
    assert!(page.contains("mx.relay-hijack.test") && page.contains("mail.example.org"));
    assert!(page.contains("<svg"), "no timeline");
    assert!(page.contains("dc1-sensor"));
    let urls = reference_urls(&alerts);
    assert!(!urls.is_empty());
    assert_self_contained(&page, &urls);
}

/// Names that would be markup, attributes or line breaks if written raw.
const HOSTILE_NAMES: &[&str] = &[
    "<script>alert(1)</script>.example.org",
    // Would retitle the page if it ever ran.
    "<script>document.title='pwned-1'</script>.example.org",
    "q\"uote'd.example.org",
    "line\\010break\\013.example.org",
    "<img\\032src=x\\032onerror=alert(2)>.example.org",
];

#[test]
fn hostile_names_and_feed_text_in_a_report_are_escaped_and_link_nowhere() {
    use dnsentry::synth::{Exchange, Scenario, a, rr};
    let dir = tempfile::tempdir().unwrap();
    let mut s = Scenario::new(1_547_200_000);
    for name in HOSTILE_NAMES {
        s.exchange(
            &Exchange::new("10.9.0.5", "10.9.0.53", name, RecordType::A).answer(rr(
                name,
                300,
                a("203.0.113.66"),
            )),
        );
    }
    let capture = dir.path().join("hostile.pcap");
    s.write_pcap_file(&capture).unwrap();
    // A feed whose report text is markup and whose "address" is a script.
    let feed = dir.path().join("feed.csv");
    std::fs::write(
        &feed,
        "indicator,type,source,url\n\
         203.0.113.66,ipv4,\"<script>alert(3)</script> \"\"report\"\"\",javascript:alert(4)\n",
    )
    .unwrap();
    let expect = project_file("pcaps/demo-hijack.zones.toml");
    let alerts_file = analyze(
        dir.path(),
        &[&capture],
        &[
            "--expect",
            expect.to_str().unwrap(),
            "--ioc",
            feed.to_str().unwrap(),
        ],
        "native",
    );
    let alerts = read_json_lines(&alerts_file);
    // One IOC and one out-of-range address per name.
    assert_eq!(alerts.len(), 2 * HOSTILE_NAMES.len(), "{alerts:#?}");
    // And an alert file the sensor never wrote: markup with spaces,
    // quotes, an event handler and a raw line break where a name goes
    // (the sensor itself writes names in presentation format, where a
    // space is \032).
    let forged_owner = "<img src=x onerror=\"document.title='pwned-2'\">\nbreak.example.org";
    let forged = dir.path().join("forged.json");
    std::fs::write(
        &forged,
        serde_json::json!({
            "ts": "2019-01-11T09:46:41Z",
            "kind": "unexpected_address",
            "severity": "high",
            "qname": forged_owner,
            "owner": forged_owner,
            "value": "203.0.113.66",
            "zone": "example.org",
            "message": format!("{forged_owner} <b onmouseover=\"document.title='pwned-3'\">moved</b>"),
        })
        .to_string(),
    )
    .unwrap();
    let page = report(dir.path(), &[&alerts_file, &forged], "hostile.html");

    let total = alerts.len() + 1;
    assert_eq!(element_text(&page, "total-alerts"), total.to_string());
    for alert in &alerts {
        let owner = alert["owner"].as_str().unwrap();
        assert!(page.contains(&html_escaped(owner)), "{owner} not escaped");
        assert!(page.contains(&html_escaped(alert["message"].as_str().unwrap())));
    }
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;.example.org"));
    assert!(page.contains("&lt;script&gt;alert(3)&lt;/script&gt; &quot;report&quot;"));
    // Not a link: a reference that is not a web address is shown as text.
    assert!(page.contains("javascript:alert(4)"));
    assert!(!page.contains("\"javascript:"));
    // No raw line break inside any text the alerts put there: the forged
    // one is escaped as every output escapes text.
    assert!(!page.contains("line\nbreak"));
    assert!(!page.contains("\nbreak.example.org"));
    assert!(page.contains("&quot;&gt;\\u{a}break.example.org"));
    assert_self_contained(&page, &BTreeSet::new());

    // As a browser sees it: the names are text, no script of theirs ran,
    // nothing was fetched.
    let seen = browse(&dir.path().join("hostile.html"), "hostile", 2000);
    let dom = &seen.dom;
    assert!(
        dom.contains("<title>dnsentry report</title>"),
        "a hostile script retitled the page"
    );
    assert!(!dom.contains("pwned-1</title>") && !dom.contains("pwned-2</title>"));
    assert_eq!(
        dom.matches("<script").count(),
        1,
        "only the page's own script"
    );
    assert!(
        !dom.contains("<img") && !dom.contains("<b "),
        "hostile markup became elements"
    );
    assert!(dom.contains(&dom_escaped(
        "<script>document.title='pwned-1'</script>.example.org"
    )));
    assert!(dom.contains(&dom_escaped(
        "<img src=x onerror=\"document.title='pwned-2'\">\\u{a}break.example.org"
    )));
    assert_eq!(element_text(dom, "total-alerts"), total.to_string());
    // The page's own script did run (the policy lets it, by its hash).
    assert_eq!(
        element_text(dom, "alert-shown").trim(),
        format!("{total} of {total} rows shown")
    );
    assert!(seen.requests.is_empty(), "requests: {:?}", seen.requests);
}

#[test]
fn a_report_names_the_file_and_line_it_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("alerts.json");
    std::fs::write(
        &bad,
        "{\"ts\":\"2019-01-10T09:00:00Z\",\"kind\":\"low_ttl\",\"severity\":\"medium\"}\nnot json\n",
    )
    .unwrap();
    let out = bin()
        .arg("report")
        .arg(&bad)
        .arg("-o")
        .arg(dir.path().join("r.html"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("alerts.json:2"), "{stderr}");
    assert!(!dir.path().join("r.html").exists());
}

/// The demo's alerts (native) and DNS log (in `dns_format`), and the
/// page of both, in a directory of their own under `dir`.
fn demo_report(dir: &Path, dns_format: &str) -> (Vec<Value>, PathBuf) {
    let dir = &dir.join(dns_format);
    std::fs::create_dir_all(dir).unwrap();
    let dns = dir.join(format!("dns.{dns_format}.json"));
    let alerts = analyze(
        dir,
        &[Path::new("pcaps/demo-hijack.pcap")],
        &[
            "--expect",
            "pcaps/demo-hijack.zones.toml",
            "--dns-log",
            dns.to_str().unwrap(),
            "--dns-log-format",
            dns_format,
        ],
        "native",
    );
    let name = format!("demo.{dns_format}.html");
    let expect = project_file("pcaps/demo-hijack.zones.toml");
    report_with(
        dir,
        &[&alerts],
        &[
            "--dns-log".as_ref(),
            dns.as_os_str(),
            "--expect".as_ref(),
            expect.as_os_str(),
        ],
        &name,
    );
    (read_json_lines(&alerts), dir.join(name))
}

/// The part of the page about one hijacked name.
fn history<'p>(page: &'p str, name: &str) -> &'p str {
    let start = page
        .find(&format!("<h3>Name <code>{name}</code></h3>"))
        .unwrap_or_else(|| panic!("no history of {name}"));
    let rest = &page[start..];
    let end = rest[4..].find("<h").map_or(rest.len(), |e| e + 4);
    &rest[..end]
}

#[test]
fn the_demos_report_in_a_browser_shows_its_counts_zones_indicators_and_hijacks_and_fetches_nothing()
{
    let dir = tempfile::tempdir().unwrap();
    let (alerts, page) = demo_report(dir.path(), "native");
    assert_eq!(alerts.len(), 16, "README's demo count");
    // README's screenshot (docs/report-demo.png): the headline, the
    // timeline and the zone's deviations.
    let seen = browse(&page, "demo", 1600);
    let dom = &seen.dom;

    assert_eq!(element_text(dom, "total-alerts"), "16");
    let severities = element_text(dom, "by-severity");
    for severity in ["high", "medium"] {
        let n = count(&alerts, "severity", severity);
        assert!(
            severities.contains(&format!("{severity}: {n}")),
            "{severities}"
        );
    }
    let kinds = element_text(dom, "by-kind");
    for kind in alerts.iter().map(|a| a["kind"].as_str().unwrap()) {
        let n = count(&alerts, "kind", kind);
        assert!(kinds.contains(&format!("{kind}: {n}")), "{kind} in {kinds}");
    }
    assert_eq!(element_text(dom, "zone-list").trim(), "example.org");
    let indicators: BTreeSet<String> = alerts
        .iter()
        .filter_map(|a| a["ioc"]["indicator"].as_str())
        .map(str::to_string)
        .collect();
    let shown: BTreeSet<String> = element_text(dom, "indicator-list")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert_eq!(shown, indicators);
    assert_eq!(element_text(dom, "hijacked-count"), "6");
    // The timeline: a row per zone and indicator, drawn.
    let chart = element_text(dom, "timeline-chart");
    assert!(chart.contains("zone example.org"), "{chart}");
    for indicator in &indicators {
        assert!(chart.contains(&format!("indicator {indicator}")), "{chart}");
    }
    // The script ran: the alert table has its filter.
    assert!(dom.contains("id=\"alert-filter\""));
    assert_eq!(
        element_text(dom, "alert-shown").trim(),
        "16 of 16 rows shown"
    );
    // The DNS log: the delegation before and during its hijack; the mail
    // host after its window answered the organisation's address again.
    let apex = history(dom, "example.org");
    assert!(
        apex.contains("before, <code>NS ns1.example.org</code>, <code>NS ns2.example.org</code>"),
        "{apex}"
    );
    assert!(
        apex.contains("during, <code>NS ns1.rootdnservers.com</code>"),
        "{apex}"
    );
    // With --expect, the mail host's answer after its window is judged
    // against the zone's expected records: put back.
    let mail = history(dom, "mail.example.org");
    assert!(
        mail.contains("after, <code>A 192.0.2.25</code> from 2019-01-10T09:00:04.262345Z: <strong>put back</strong> (the zone's expected records)"),
        "{mail}"
    );
    assert_eq!(
        element_text(dom, "quiet-zones"),
        "1 zone monitored (--expect); every one has alerts."
    );
    assert!(element_text(dom, "health-summary").starts_with("no sensor events"));
    assert_eq!(element_text(dom, "captures"), "pcaps/demo-hijack.pcap ");
    assert!(seen.requests.is_empty(), "requests: {:?}", seen.requests);

    // Sorting and filtering, driven as a reader would: the same page
    // without its policy, so that a second script may click.
    let page_text = std::fs::read_to_string(&page).unwrap();
    let policy_start = page_text
        .find("<meta http-equiv=\"Content-Security-Policy\"")
        .unwrap();
    let policy_end = policy_start + page_text[policy_start..].find('>').unwrap() + 1;
    let harness = page_text[..policy_start].to_string()
        + &page_text[policy_end..].replace("</body>", HARNESS);
    let harness_page = dir.path().join("harness.html");
    std::fs::write(&harness_page, harness).unwrap();
    let driven = browse(&harness_page, "demo-sorted-filtered", 800);
    let last = alerts
        .iter()
        .map(|a| a["ts"].as_str().unwrap())
        .max()
        .unwrap();
    assert_eq!(
        element_text(&driven.dom, "harness"),
        format!("high|medium|{last}|1| 1 of 16 rows shown")
    );
}

/// Clicks the alert table's severity header twice, its time header
/// twice, types a name in the filter, and writes what the table showed.
const HARNESS: &str = r#"<script>
var t = document.getElementById('alert-table'), h = t.tHead.rows[0].cells;
var cell = function (c) { return t.tBodies[0].rows[0].cells[c].textContent; };
h[1].click(); var ascending = cell(1);
h[1].click(); var descending = cell(1);
h[0].click(); h[0].click(); var latest = cell(0);
var f = document.getElementById('alert-filter');
f.value = 'VPN.example.org'; f.dispatchEvent(new Event('input'));
var shown = Array.prototype.filter.call(t.tBodies[0].rows, function (r) { return !r.hidden; }).length;
var out = document.createElement('pre'); out.id = 'harness';
out.textContent = [ascending, descending, latest, shown, document.getElementById('alert-shown').textContent].join('|');
document.body.appendChild(out);
</script></body>"#;

#[test]
fn a_dns_log_in_any_format_tells_the_same_story() {
    let dir = tempfile::tempdir().unwrap();
    let (_, native) = demo_report(dir.path(), "native");
    let native = std::fs::read_to_string(native).unwrap();
    for format in ["eve", "ecs"] {
        let (_, page) = demo_report(dir.path(), format);
        let page = std::fs::read_to_string(page).unwrap();
        // EVE writes an MX's exchange without its preference, so the
        // apex's MX reads differently; addresses and delegations alike.
        for name in ["mail.example.org", "webmail.example.org", "vpn.example.org"] {
            assert_eq!(
                history(&page, name),
                history(&native, name),
                "{format}: {name}"
            );
        }
    }
}

#[test]
fn the_network_check_sees_a_page_that_fetches() {
    // The same check as on the reports, on a page that does make a
    // request (to a loopback port nothing answers): it must see it.
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe.html");
    std::fs::write(
        &probe,
        "<!DOCTYPE html><html><body><p>probe</p><img src=\"http://127.0.0.1:9/probe.png\"></body></html>",
    )
    .unwrap();
    let seen = browse(&probe, "network-probe", 600);
    assert!(
        !seen.requests.is_empty(),
        "the probe's request was not seen"
    );
    assert!(
        seen.requests
            .iter()
            .all(|u| u == "http://127.0.0.1:9/probe.png"),
        "{:?}",
        seen.requests
    );
}

#[test]
fn a_large_campaigns_report_keeps_its_tables_bounded_and_reads_in_a_browser() {
    use dnsentry::synth::campaign::{campaign, zone};
    let dir = tempfile::tempdir().unwrap();
    // 60 zones (more than the page lists), thousands of alerts (more
    // than the table keeps).
    let c = campaign(3000, 60);
    let capture = dir.path().join("campaign.pcap");
    c.scenario.write_pcap_file(&capture).unwrap();
    let expect = dir.path().join("campaign.zones.toml");
    std::fs::write(&expect, &c.expect_toml).unwrap();
    let feed = dir.path().join("campaign-feed.csv");
    std::fs::write(&feed, &c.feed_csv).unwrap();
    let dns = dir.path().join("dns.json");
    let alerts_file = analyze(
        dir.path(),
        &[&capture],
        &[
            "--expect",
            expect.to_str().unwrap(),
            "--ioc",
            feed.to_str().unwrap(),
            "--no-default-ioc",
            "--suppress",
            "0",
            "--dns-log",
            dns.to_str().unwrap(),
        ],
        "native",
    );
    let alerts = read_json_lines(&alerts_file);
    assert!(alerts.len() > 3000, "{} alerts", alerts.len());
    // One more monitored zone, which nothing hijacked.
    let monitored = dir.path().join("monitored.zones.toml");
    std::fs::write(
        &monitored,
        c.expect_toml.clone() + "\n[[zone]]\nname = \"quiet.example\"\na = [\"192.0.2.0/24\"]\n",
    )
    .unwrap();
    let page = report_with(
        dir.path(),
        &[&alerts_file],
        &[
            "--dns-log".as_ref(),
            dns.as_os_str(),
            "--expect".as_ref(),
            monitored.as_os_str(),
        ],
        "campaign.html",
    );
    assert!(page.len() < 5 << 20, "{} bytes", page.len());
    let seen = browse(&dir.path().join("campaign.html"), "large-run", 2000);
    let dom = &seen.dom;

    assert_eq!(element_text(dom, "total-alerts"), thousands(alerts.len()));
    let zones = element_text(dom, "zone-list");
    assert_eq!(zones.matches(".example").count(), 50, "{zones}");
    assert!(zones.ends_with("and 10 more"), "{zones}");
    // The table: its 2,000 rows, the script's count of them, the rest
    // counted.
    let table = &dom[dom.find("id=\"alert-table\"").unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    assert_eq!(table.matches("<tr>").count(), 1 + 2000);
    assert_eq!(
        element_text(dom, "alert-shown").trim(),
        "2000 of 2000 rows shown"
    );
    assert!(
        element_text(dom, "alerts-not-shown").starts_with(&format!(
            "and {} more alerts",
            thousands(alerts.len() - 2000)
        )),
        "{}",
        element_text(dom, "alerts-not-shown")
    );
    // The timeline: 16 rows, each labelled.
    let chart = element_text(dom, "timeline-chart");
    assert_eq!(
        chart.matches("zone z").count() + chart.matches("indicator ").count(),
        16,
        "{chart}"
    );
    // The most alerted names were put back after their windows.
    let first = dom.find("<h3>Name <code>").expect("a name's history");
    assert!(dom[first..].contains("put back"));
    assert!(
        dom.contains(&zone(59)),
        "the last zone is still named somewhere"
    );
    assert_eq!(
        element_text(dom, "quiet-zones"),
        "61 zones monitored (--expect); 1 has no alert: quiet.example."
    );
    assert!(seen.requests.is_empty(), "requests: {:?}", seen.requests);
}

#[test]
fn sensor_events_in_any_format_show_what_the_sensor_could_not_see() {
    use dnsentry::stats::{OutputKind, OutputReport, SensorEvent};
    let dir = tempfile::tempdir().unwrap();
    let (sources, mut events) = crate::common::sample_sensor_events();
    // An output that lost messages.
    if let SensorEvent::SensorHealth { outputs, .. } = &mut events[0] {
        outputs.push(OutputReport {
            name: "siem.example:6514".into(),
            kind: OutputKind::Syslog,
            queued: 20,
            sent: 15,
            spooled: 0,
            evicted: 3,
            dropped: 2,
            pending: 0,
            truncated: 0,
            recovered: 0,
            connect_failures: 1,
            connected: Some(false),
        });
    }
    let demo = project_file("pcaps/demo-hijack.pcap");
    let expect = project_file("pcaps/demo-hijack.zones.toml");
    let mut pages = Vec::new();
    for format in ["native", "eve", "ecs"] {
        let alerts = analyze(
            dir.path(),
            &[&demo],
            &["--expect", expect.to_str().unwrap()],
            format,
        );
        let mut lines = Vec::new();
        for e in &events {
            match format {
                "native" => dnsentry::output::json::write_sensor_event(&mut lines, e, &sources),
                "eve" => dnsentry::output::eve::write_sensor_event(&mut lines, e, &sources),
                _ => dnsentry::output::ecs::write_sensor_event(&mut lines, e, &sources),
            }
            .unwrap();
        }
        let sensor = dir.path().join(format!("sensor.{format}.json"));
        std::fs::write(&sensor, lines).unwrap();
        let page = report(dir.path(), &[&alerts, &sensor], &format!("{format}.html"));
        // The demo's alerts are still its alerts.
        assert_eq!(element_text(&page, "total-alerts"), "16", "{format}");
        pages.push((format, page));
    }
    for (format, page) in &pages {
        let summary = element_text(page, "health-summary");
        // 100 packets received, 3 dropped by the kernel and 1 by the
        // interface: 4 of 104 on the wire.
        assert!(
            summary.starts_with("4 packets dropped unseen (3.85% of the packets on the wire), 1 interval over the loss threshold, 1 stall, "),
            "{format}: {summary}"
        );
        let capture = element_text(page, "health-interfaces");
        let interface = if *format == "eve" {
            "all interfaces"
        } else {
            "eth1"
        };
        assert!(
            capture.contains(&format!("sensor-7{interface}100313.85%1")),
            "{format}: {capture}"
        );
        let losses = element_text(page, "health-losses");
        assert!(losses.contains("eth114104"), "{format}: {losses}");
        let stalls = element_text(page, "health-stalls");
        assert!(
            stalls.contains("no DNS response for 300 s"),
            "{format}: {stalls}"
        );
    }
    // Only native and ECS carry the outputs' counters (EVE's stats event
    // is Suricata's layout, capture counters only).
    for (format, page) in &pages {
        if *format == "eve" {
            assert!(!page.contains("id=\"health-outputs\""));
            assert!(element_text(page, "health-summary").contains("0 messages lost by outputs"));
        } else {
            let outputs = element_text(page, "health-outputs");
            assert!(
                outputs.contains("siem.example:6514syslog201532"),
                "{format}: {outputs}"
            );
            assert!(element_text(page, "health-summary").contains("5 messages lost by outputs"));
        }
    }
}

#[test]
fn responses_held_back_by_suppression_are_counted_in_every_format() {
    use dnsentry::synth::{Exchange, Scenario, a, rr};
    let dir = tempfile::tempdir().unwrap();
    // One hijacked answer 5 times within the hour, then 2 more after it:
    // with the default 1h suppression, two alert lines, the second
    // standing for itself and the 4 repeats held back before it.
    let mut s = Scenario::new(1_547_200_000);
    let hijack = Exchange::new("10.1.2.20", "10.1.0.53", "mail.example.org", RecordType::A)
        .answer(rr("mail.example.org", 300, a("203.0.113.66")));
    for _ in 0..5 {
        s.exchange(&hijack);
    }
    s.pause(3_700);
    for _ in 0..2 {
        s.exchange(&hijack);
    }
    let capture = dir.path().join("repeats.pcap");
    s.write_pcap_file(&capture).unwrap();
    let expect = project_file("pcaps/demo-hijack.zones.toml");
    for format in ["native", "eve", "ecs"] {
        let alerts = analyze(
            dir.path(),
            &[&capture],
            &["--expect", expect.to_str().unwrap(), "--no-default-ioc"],
            format,
        );
        assert_eq!(read_json_lines(&alerts).len(), 2, "{format}");
        let page = report(dir.path(), &[&alerts], &format!("repeats-{format}.html"));
        assert_eq!(element_text(&page, "total-alerts"), "2", "{format}");
        assert!(
            element_text(&page, "total-responses").starts_with("6 ("),
            "{format}: {}",
            element_text(&page, "total-responses")
        );
        // The deviation's row: 2 alerts, 6 responses.
        assert!(
            page.contains(r#"<td class="n">2</td><td class="n">6</td>"#),
            "{format}"
        );
    }
}

#[test]
fn the_dns_log_flag_takes_one_file_so_alert_files_may_follow_it() {
    let dir = tempfile::tempdir().unwrap();
    let dns = dir.path().join("dns.json");
    let alerts = analyze(
        dir.path(),
        &[Path::new("pcaps/demo-hijack.pcap")],
        &[
            "--expect",
            "pcaps/demo-hijack.zones.toml",
            "--dns-log",
            dns.to_str().unwrap(),
        ],
        "native",
    );
    let page = dir.path().join("flags-first.html");
    let out = bin()
        .arg("report")
        .arg("--dns-log")
        .arg(&dns)
        .arg(&alerts)
        .arg("-o")
        .arg(&page)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "report failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(&page).unwrap();
    assert_eq!(element_text(&page, "total-alerts"), "16");
    assert!(history(&page, "mail.example.org").contains("185.20.187.8"));
}
