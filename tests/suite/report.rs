//! `dnsentry report` through the real binary, on alerts the real binary
//! wrote: the demo's in every format, and hostile names from a scenario
//! capture. The page must say what the alerts say, escape what an attacker
//! chose, and need nothing from any other host.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use hickory_proto::rr::RecordType;
use serde_json::Value;

use crate::common::{bin, project_file, read_json_lines};

/// `dnsentry analyze` into an alerts file of `format`.
fn analyze(dir: &Path, captures: &[&Path], extra: &[&str], format: &str) -> PathBuf {
    let alerts = dir.join(format!("alerts.{format}.json"));
    let out = bin()
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
    let page = dir.join(name);
    let out = bin()
        .arg("report")
        .args(inputs)
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

/// The text of the element with `id`, tags dropped.
fn element_text(page: &str, id: &str) -> String {
    let start = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let open_end = start + page[start..].find('>').unwrap() + 1;
    let close = open_end + page[open_end..].find("</dd>").unwrap();
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
    assert_eq!(lower.matches("<script").count(), 1, "one script");
    assert_eq!(lower.matches("<script>").count(), 1, "an inline script");
    for needle in [
        "<link",
        "<img",
        "<iframe",
        "<object",
        "<embed",
        " src=",
        "url(",
        "@import",
        "xlink:href",
    ] {
        assert!(!lower.contains(needle), "the page holds {needle:?}");
    }
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
    let page = report(dir.path(), &[&alerts_file], "hostile.html");

    assert_eq!(element_text(&page, "total-alerts"), "8");
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
    // No raw line break inside any text the alerts put there.
    assert!(!page.contains("line\nbreak"));
    assert_self_contained(&page, &BTreeSet::new());
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
