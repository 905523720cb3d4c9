//! Learn, then enforce, measured: a week of an organisation's benign
//! traffic (three zones, CDN edge names, name servers seen as glue and in
//! answers, a signed zone with RRSIGs and a DS in its referrals) is
//! learned with `baseline learn`; the learned file is then enforced with
//! `analyze --expect` on later traffic of the same network carrying a
//! record hijack, a delegation hijack, and nothing at all. Every planted
//! alert must be raised, and nothing else. The figures (expected / raised
//! / false) are printed: `cargo test --test integration learn --
//! --nocapture`.

use std::path::{Path, PathBuf};

use dnsentry::synth::{Exchange, Scenario, a, aaaa, cname, ds, mx, ns, rr, rrsig};
use hickory_proto::rr::RecordType;
use serde_json::Value;

use crate::common::bin;

/// The organisation's resolver, the only server its clients ask.
const RESOLVER: &str = "10.1.0.53";
/// The parents' servers the resolver is referred by (benchmark range,
/// RFC 2544: nobody's real server).
const ORG_TLD: &str = "198.18.0.1";
const COM_NET_TLD: &str = "198.18.0.2";
const TEST_TLD: &str = "198.18.0.3";
/// example.org's own name servers: ns2 is hosted in another network.
const NS1: &str = "192.0.2.53";
const NS2: &str = "198.51.100.53";
/// example.net's DNS host.
const DNSHOST1: &str = "203.0.113.53";
const DNSHOST2: &str = "203.0.113.54";

/// 2024-03-04T00:00:00Z, the first day learned.
const LEARN_START: i64 = 1_709_510_400;
const DAY: i64 = 86_400;
/// Lookups of a day: one round an hour for 16 hours.
const ROUNDS: u32 = 16;

fn client(round: u32) -> String {
    format!("10.1.2.{}", 10 + round % 40)
}

/// A client's TTL, counted down by the resolver's cache: 40..300.
fn cached_ttl(round: u32) -> u32 {
    300 - (round * 37) % 261
}

/// The resolver's own lookups at the start of a day: referrals from the
/// parents (example.org's with glue and DS), answers from the zones' name
/// servers (example.org's signed), and the name servers' own addresses.
fn upstream(s: &mut Scenario) {
    s.exchange(
        &Exchange::new(RESOLVER, ORG_TLD, "www.example.org", RecordType::A)
            .authority(rr("example.org", 86400, ns("ns1.example.org")))
            .authority(rr("example.org", 86400, ns("ns2.example.org")))
            .authority(rr("example.org", 86400, ds()))
            .additional(rr("ns1.example.org", 86400, a(NS1)))
            .additional(rr("ns2.example.org", 86400, a(NS2)))
            .dnssec_ok(),
    );
    s.exchange(
        &Exchange::new(RESOLVER, NS1, "www.example.org", RecordType::A)
            .answer(rr("www.example.org", 300, a("192.0.2.10")))
            .answer(rr(
                "www.example.org",
                300,
                rrsig(RecordType::A, 3, "example.org"),
            ))
            .dnssec_ok(),
    );
    s.exchange(
        &Exchange::new(RESOLVER, NS2, "mail.example.org", RecordType::A)
            .answer(rr("mail.example.org", 300, a("192.0.2.25")))
            .answer(rr(
                "mail.example.org",
                300,
                rrsig(RecordType::A, 3, "example.org"),
            ))
            .dnssec_ok(),
    );
    s.exchange(
        &Exchange::new(RESOLVER, NS1, "example.org", RecordType::NS)
            .answer(rr("example.org", 86400, ns("ns1.example.org")))
            .answer(rr("example.org", 86400, ns("ns2.example.org")))
            .answer(rr(
                "example.org",
                86400,
                rrsig(RecordType::NS, 2, "example.org"),
            ))
            .additional(rr("ns1.example.org", 86400, a(NS1)))
            .additional(rr("ns2.example.org", 86400, a(NS2)))
            .dnssec_ok(),
    );
    s.exchange(
        &Exchange::new(RESOLVER, NS1, "ns2.example.org", RecordType::A)
            .answer(rr("ns2.example.org", 86400, a(NS2)))
            .answer(rr(
                "ns2.example.org",
                86400,
                rrsig(RecordType::A, 3, "example.org"),
            ))
            .dnssec_ok(),
    );
    s.exchange(
        &Exchange::new(RESOLVER, NS2, "shop.example.org", RecordType::A)
            .answer(rr("shop.example.org", 300, a("203.0.113.80")))
            .answer(rr(
                "shop.example.org",
                300,
                rrsig(RecordType::A, 3, "example.org"),
            ))
            .dnssec_ok(),
    );
    // example.net: hosted by a DNS provider, unsigned, no glue (its name
    // servers are out of the zone): their addresses are seen as answers.
    s.exchange(
        &Exchange::new(RESOLVER, COM_NET_TLD, "www.example.net", RecordType::A)
            .authority(rr("example.net", 172800, ns("ns1.dnshost.test")))
            .authority(rr("example.net", 172800, ns("ns2.dnshost.test")))
            .dnssec_ok(),
    );
    for (host, addr) in [
        ("ns1.dnshost.test", DNSHOST1),
        ("ns2.dnshost.test", DNSHOST2),
    ] {
        s.exchange(
            &Exchange::new(RESOLVER, TEST_TLD, host, RecordType::A).answer(rr(host, 3600, a(addr))),
        );
    }
    s.exchange(
        &Exchange::new(RESOLVER, DNSHOST1, "www.example.net", RecordType::A)
            .answer(rr("www.example.net", 600, a("198.51.100.10")))
            .authority(rr("example.net", 3600, ns("ns1.dnshost.test")))
            .authority(rr("example.net", 3600, ns("ns2.dnshost.test"))),
    );
    // example.com: served by example.org's name servers.
    s.exchange(
        &Exchange::new(RESOLVER, COM_NET_TLD, "www.example.com", RecordType::A)
            .authority(rr("example.com", 172800, ns("ns1.example.org")))
            .authority(rr("example.com", 172800, ns("ns2.example.org"))),
    );
    s.exchange(
        &Exchange::new(RESOLVER, NS2, "www.example.com", RecordType::A)
            .answer(rr(
                "www.example.com",
                300,
                cname("example-com.sites.pagehost.test"),
            ))
            .answer(rr(
                "example-com.sites.pagehost.test",
                60,
                a("203.0.113.150"),
            )),
    );
}

/// One round of the clients' lookups through the resolver.
fn round(s: &mut Scenario, r: u32, edges: &[&str]) {
    let c = client(r);
    let ttl = cached_ttl(r);
    let ask = |name: &str, t| Exchange::new(&c, RESOLVER, name, t);
    s.exchange(&ask("www.example.org", RecordType::A).answer(rr(
        "www.example.org",
        ttl,
        a("192.0.2.10"),
    )));
    if r.is_multiple_of(4) {
        s.exchange(&ask("www.example.org", RecordType::AAAA).answer(rr(
            "www.example.org",
            ttl,
            aaaa("2001:db8:10::80"),
        )));
        s.exchange(
            &ask("example.org", RecordType::MX)
                .answer(rr("example.org", 3600, mx(10, "mail.example.org")))
                .additional(rr("mail.example.org", 300, a("192.0.2.25"))),
        );
        s.exchange(&ask("example.net", RecordType::MX).answer(rr(
            "example.net",
            3600,
            mx(10, "mx1.mailhost.test"),
        )));
    }
    if r.is_multiple_of(2) {
        s.exchange(&ask("mail.example.org", RecordType::A).answer(rr(
            "mail.example.org",
            ttl,
            a("192.0.2.25"),
        )));
        s.exchange(&ask("www.example.net", RecordType::A).answer(rr(
            "www.example.net",
            600,
            a("198.51.100.10"),
        )));
    }
    let edge = edges[r as usize % edges.len()];
    s.exchange(
        &ask("static.example.org", RecordType::A)
            .answer(rr("static.example.org", 300, cname(edge)))
            .answer(rr(edge, 20, a("203.0.113.200"))),
    );
    if r.is_multiple_of(3) {
        s.exchange(&ask("shop.example.org", RecordType::A).answer(rr(
            "shop.example.org",
            ttl,
            a("203.0.113.80"),
        )));
        s.exchange(
            &ask("www.example.com", RecordType::A)
                .answer(rr(
                    "www.example.com",
                    300,
                    cname("example-com.sites.pagehost.test"),
                ))
                .answer(rr(
                    "example-com.sites.pagehost.test",
                    60,
                    a("203.0.113.150"),
                )),
        );
    }
    if r.is_multiple_of(8) {
        s.exchange(&ask("vpn.example.org", RecordType::A).answer(rr(
            "vpn.example.org",
            300,
            a("192.0.2.30"),
        )));
    }
    // Other people's names are never the zones' business.
    s.exchange(
        &ask("www.wikipedia.org", RecordType::A)
            .answer(rr("www.wikipedia.org", 600, cname("dyna.wikimedia.org")))
            .answer(rr("dyna.wikimedia.org", 600, a("198.51.100.224"))),
    );
}

/// One day of the organisation's benign traffic, `s` at its midnight.
fn day(s: &mut Scenario, edges: &[&str]) {
    upstream(s);
    for r in 0..ROUNDS {
        round(s, r, edges);
        s.pause(3600);
    }
    s.pause(DAY - i64::from(ROUNDS) * 3600 - 60);
}

/// The week learned from. Once, at the end of its second day,
/// www.example.org answered from a failover address: benign, learned,
/// marked for review.
fn learning_week() -> Scenario {
    let mut s = Scenario::new(LEARN_START);
    let edges = ["e7.edge.cdnprovider.test", "e9.edge.cdnprovider.test"];
    for d in 0..7 {
        if d == 2 {
            s.exchange(
                &Exchange::new(&client(3), RESOLVER, "www.example.org", RecordType::A).answer(rr(
                    "www.example.org",
                    60,
                    a("192.0.2.11"),
                )),
            );
        }
        day(&mut s, &edges);
    }
    s
}

/// A later day of the same network: a CDN edge name not seen while
/// learning, and a cached TTL lower than any learned (25, above half the
/// lowest learned, 40).
fn later_day(s: &mut Scenario) {
    day(
        s,
        &[
            "e9.edge.cdnprovider.test",
            "e12.edge.cdnprovider.test",
            "e7.edge.cdnprovider.test",
        ],
    );
    s.exchange(
        &Exchange::new(&client(5), RESOLVER, "www.example.org", RecordType::A).answer(rr(
            "www.example.org",
            25,
            a("192.0.2.10"),
        )),
    );
}

/// (kind, section, owner, value, packet) of an alert.
type Key = (String, String, String, String, u64);

fn key(kind: &str, section: &str, owner: &str, value: &str, packet: u64) -> Key {
    (
        kind.into(),
        section.into(),
        owner.into(),
        value.into(),
        packet,
    )
}

fn keys(alerts: &[Value]) -> Vec<Key> {
    let mut keys: Vec<Key> = alerts
        .iter()
        .map(|a| {
            key(
                a["kind"].as_str().unwrap_or_default(),
                a["section"].as_str().unwrap_or_default(),
                a["owner"].as_str().unwrap_or_default(),
                a["value"].as_str().unwrap_or_default(),
                a["source"]["packet"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    keys.sort();
    keys
}

/// The record hijack: the DNS provider account used to move mail's
/// address (the provider re-signs it) and the MX, and example.net's www
/// moved.
fn record_hijack() -> (Scenario, Vec<Key>) {
    let mut s = Scenario::new(LEARN_START + 31 * DAY);
    later_day(&mut s);
    let mut want = Vec::new();
    let p = s.exchange(
        &Exchange::new(RESOLVER, NS1, "mail.example.org", RecordType::A)
            .answer(rr("mail.example.org", 300, a("203.0.113.99")))
            .answer(rr(
                "mail.example.org",
                300,
                rrsig(RecordType::A, 3, "example.org"),
            ))
            .dnssec_ok(),
    );
    want.push(key(
        "unexpected_address",
        "answer",
        "mail.example.org",
        "203.0.113.99",
        p,
    ));
    let p = s.exchange(
        &Exchange::new(&client(7), RESOLVER, "mail.example.org", RecordType::A).answer(rr(
            "mail.example.org",
            300,
            a("203.0.113.99"),
        )),
    );
    want.push(key(
        "unexpected_address",
        "answer",
        "mail.example.org",
        "203.0.113.99",
        p,
    ));
    let p = s.exchange(
        &Exchange::new(&client(8), RESOLVER, "example.org", RecordType::MX).answer(rr(
            "example.org",
            3600,
            mx(10, "mx.relay-attacker.test"),
        )),
    );
    want.push(key(
        "unexpected_mx",
        "answer",
        "example.org",
        "mx.relay-attacker.test",
        p,
    ));
    let p = s.exchange(
        &Exchange::new(&client(9), RESOLVER, "www.example.net", RecordType::A).answer(rr(
            "www.example.net",
            600,
            a("203.0.113.98"),
        )),
    );
    want.push(key(
        "unexpected_address",
        "answer",
        "www.example.net",
        "203.0.113.98",
        p,
    ));
    (s, want)
}

/// The delegation hijack (Sea Turtle): the registrar account used to move
/// example.org to the attacker's name servers, with their glue and without
/// the DS; the resolver then asks the attacker's server, which answers
/// unsigned; also ns1's glue alone moved, and example.net's delegation.
fn delegation_hijack() -> (Scenario, Vec<Key>) {
    let mut s = Scenario::new(LEARN_START + 32 * DAY);
    later_day(&mut s);
    let mut want = Vec::new();
    let (evil1, evil2) = ("ns1.attacker-dns.test", "ns2.attacker-dns.test");
    let p = s.exchange(
        &Exchange::new(RESOLVER, ORG_TLD, "www.example.org", RecordType::A)
            .authority(rr("example.org", 86400, ns(evil1)))
            .authority(rr("example.org", 86400, ns(evil2)))
            .additional(rr(evil1, 86400, a("203.0.113.66")))
            .additional(rr(evil2, 86400, a("203.0.113.67")))
            .dnssec_ok(),
    );
    want.extend([
        key("unexpected_ns", "authority", "example.org", evil1, p),
        key("unexpected_ns", "authority", "example.org", evil2, p),
        key(
            "unexpected_ns_address",
            "additional",
            evil1,
            "203.0.113.66",
            p,
        ),
        key(
            "unexpected_ns_address",
            "additional",
            evil2,
            "203.0.113.67",
            p,
        ),
        key(
            "dnssec_missing",
            "authority",
            "example.org",
            "delegation without DS",
            p,
        ),
    ]);
    let p = s.exchange(
        &Exchange::new(RESOLVER, "203.0.113.66", "www.example.org", RecordType::A)
            .answer(rr("www.example.org", 300, a("203.0.113.70")))
            .authority(rr("example.org", 86400, ns(evil1)))
            .authority(rr("example.org", 86400, ns(evil2)))
            .dnssec_ok(),
    );
    want.extend([
        key(
            "unexpected_resolver",
            "question",
            "www.example.org",
            "203.0.113.66",
            p,
        ),
        key(
            "unexpected_address",
            "answer",
            "www.example.org",
            "203.0.113.70",
            p,
        ),
        key(
            "dnssec_missing",
            "answer",
            "www.example.org",
            "unsigned A",
            p,
        ),
        key("unexpected_ns", "authority", "example.org", evil1, p),
        key("unexpected_ns", "authority", "example.org", evil2, p),
    ]);
    let p = s.exchange(
        &Exchange::new(&client(11), RESOLVER, "www.example.org", RecordType::A).answer(rr(
            "www.example.org",
            300,
            a("203.0.113.70"),
        )),
    );
    want.push(key(
        "unexpected_address",
        "answer",
        "www.example.org",
        "203.0.113.70",
        p,
    ));
    // The same name servers, ns1's glue alone moved.
    let p = s.exchange(
        &Exchange::new(RESOLVER, ORG_TLD, "mail.example.org", RecordType::A)
            .authority(rr("example.org", 86400, ns("ns1.example.org")))
            .authority(rr("example.org", 86400, ns("ns2.example.org")))
            .authority(rr("example.org", 86400, ds()))
            .additional(rr("ns1.example.org", 86400, a("203.0.113.66")))
            .additional(rr("ns2.example.org", 86400, a(NS2)))
            .dnssec_ok(),
    );
    want.extend([
        key(
            "unexpected_address",
            "additional",
            "ns1.example.org",
            "203.0.113.66",
            p,
        ),
        key(
            "unexpected_ns_address",
            "additional",
            "ns1.example.org",
            "203.0.113.66",
            p,
        ),
    ]);
    // example.net, whose name servers' addresses were only ever answers.
    let p = s.exchange(
        &Exchange::new(RESOLVER, COM_NET_TLD, "www.example.net", RecordType::A)
            .authority(rr("example.net", 172800, ns(evil1)))
            .additional(rr(evil1, 172800, a("203.0.113.66"))),
    );
    want.extend([
        key("unexpected_ns", "authority", "example.net", evil1, p),
        key(
            "unexpected_ns_address",
            "additional",
            evil1,
            "203.0.113.66",
            p,
        ),
    ]);
    want.sort();
    (s, want)
}

fn write(dir: &Path, name: &str, s: &Scenario) -> PathBuf {
    let p = dir.join(name);
    s.write_pcap_file(&p).unwrap();
    p
}

/// `baseline learn` of the three zones; returns the file and stderr.
fn learn(dir: &Path, capture: &Path) -> (PathBuf, String, String) {
    let learned = dir.join("learned.toml");
    let o = bin()
        .args([
            "baseline",
            "learn",
            "--zone",
            "example.org",
            "--zone",
            "example.net",
            "--zone",
            "example.com",
            "-o",
        ])
        .arg(&learned)
        .arg(capture)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let text = std::fs::read_to_string(&learned).unwrap();
    (learned, text, stderr)
}

/// `analyze --expect` with every alert written (no suppression), the
/// built-in feed loaded as in any run.
fn enforce(expect: &Path, capture: &Path) -> Vec<Value> {
    let o = bin()
        .args(["analyze", "-q", "--suppress", "0", "--expect"])
        .arg(expect)
        .arg(capture)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Expected, raised, false (raised but not planted), missed.
fn figures(want: &[Key], got: &[Key]) -> (usize, usize, usize, usize) {
    let false_alerts = got.iter().filter(|k| !want.contains(k)).count();
    let missed = want.iter().filter(|k| !got.contains(k)).count();
    (want.len(), got.len(), false_alerts, missed)
}

#[test]
fn learned_then_enforced_every_hijack_alerts_and_later_benign_traffic_raises_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let week = write(dir.path(), "week.pcap", &learning_week());
    let (learned, text, stderr) = learn(dir.path(), &week);

    // What was learned, checked where it matters.
    let check = |needle: &str| assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    check("[[zone.override]]\nname = \"ns2.example.org\"");
    check("[[zone.override]]\nname = \"shop.example.org\"");
    check("  \"*.edge.cdnprovider.test\",  # seen ");
    check("pattern for 2 names: e7.edge.cdnprovider.test, e9.edge.cdnprovider.test");
    check("ns_addresses = [\n  \"192.0.2.53\",  # seen ");
    check(
        "  \"203.0.113.53\",  # seen 7 times, 2024-03-04T00:00:01Z .. 2024-03-09T23:56:35Z, of ns1.dnshost.test\n",
    );
    check("dnssec = true  # RRSIGs in 35 responses, DS in 7 referrals");
    check("ttl_min = 20  # half the lowest TTL seen (41, on www.example.org)");
    check(
        "  \"192.0.2.11\",  # seen 1 time, 2024-03-05T23:58:51Z .. 2024-03-05T23:58:51Z, on www.example.org; REVIEW rare: seen 1 time while 192.0.2.10 was seen 119 times; brief: seen within 0s of the 6days 14h 56m 58s learned",
    );
    assert!(
        stderr.contains("dnsentry: 1 learned value(s) marked REVIEW in the file:\ndnsentry:   example.org a 192.0.2.11: rare: "),
        "{stderr}"
    );
    assert!(!stderr.contains("INDICATOR"), "{stderr}");
    assert!(
        !text.contains("dnssec = true") || text.matches("dnssec = true").count() == 1,
        "{text}"
    );

    // The week itself, enforced: nothing (the learned failover included).
    let same = enforce(&learned, &week);
    assert!(same.is_empty(), "{same:#?}");

    let mut report = Vec::new();
    let mut later = Scenario::new(LEARN_START + 30 * DAY);
    later_day(&mut later);
    let (record, record_want) = record_hijack();
    let (delegation, delegation_want) = delegation_hijack();
    let mut record_want = record_want;
    record_want.sort();
    for (name, scenario, want) in [
        ("later benign day", later, Vec::new()),
        ("record hijack", record, record_want),
        ("delegation hijack", delegation, delegation_want),
    ] {
        let capture = write(
            dir.path(),
            &format!("{}.pcap", name.replace(' ', "-")),
            &scenario,
        );
        let got = keys(&enforce(&learned, &capture));
        let (expected, raised, false_alerts, missed) = figures(&want, &got);
        println!(
            "learn-then-enforce: {name}: alerts expected {expected}, raised {raised}, false {false_alerts}, missed {missed}"
        );
        report.push((name, expected, raised, false_alerts, missed));
        assert_eq!(got, want, "{name}");
    }
    let total = report.iter().fold((0, 0, 0, 0), |t, r| {
        (t.0 + r.1, t.1 + r.2, t.2 + r.3, t.3 + r.4)
    });
    println!(
        "learn-then-enforce: total: alerts expected {}, raised {}, false {}, missed {}",
        total.0, total.1, total.2, total.3
    );
}

/// `baseline diff` of the learned file against the record hijack: each
/// new value with its owner, first and last seen; the merged file keeps
/// them as comments pending review, so enforcing it still alerts.
#[test]
fn diff_against_a_hijack_names_each_new_value_and_the_merge_allows_nothing_unreviewed() {
    let dir = tempfile::tempdir().unwrap();
    let week = write(dir.path(), "week.pcap", &learning_week());
    let (learned, _, _) = learn(dir.path(), &week);
    let (record, want) = record_hijack();
    let capture = write(dir.path(), "record.pcap", &record);
    let merged = dir.path().join("merged.toml");
    let o = bin()
        .args(["baseline", "diff"])
        .arg(&learned)
        .arg(&capture)
        .arg("--write-merged")
        .arg(&merged)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8_lossy(&o.stdout);
    for line in [
        "zone example.net\n  a:\n    + 203.0.113.98                             on www.example.net; seen 1 time, first 2024-04-04T23:59:2",
        "zone example.org\n  a:\n    + 203.0.113.99                             on mail.example.org; seen 2 times, first 2024-04-04T23:59:2",
        "  mx:\n    + mx.relay-attacker.test                   on example.org; seen 1 time, first ",
        // The failover seen once while learning is not in this day.
        "    - 192.0.2.11                               listed at ",
    ] {
        assert!(out.contains(line), "{line:?} not in:\n{out}");
    }
    assert!(
        out.contains("never seen; in the file: seen 1 time, 2024-03-05T23:58:51Z .. 2024-03-05T23:58:51Z, on www.example.org"),
        "{out}"
    );
    let text = std::fs::read_to_string(&merged).unwrap();
    assert!(
        text.contains("  # \"203.0.113.99\",  # PENDING REVIEW: on mail.example.org; seen 2 times, first 2024-04-04T23:59:2"),
        "{text}"
    );
    let o = bin()
        .args(["check", "--expect"])
        .arg(&merged)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut want = want;
    want.sort();
    assert_eq!(keys(&enforce(&merged, &capture)), want);

    // The learned file against the week it came from: no differences.
    let o = bin()
        .args(["baseline", "diff"])
        .arg(&learned)
        .arg(&week)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "no differences\n");
}

/// Learning from a week that already holds the attacker (a built-in
/// AA19-024A address on mail, a delegation to a built-in indicator's name
/// server with its glue): each is flagged in the file and on stderr, none
/// is learned, and enforcing the learned file on the same hijack alerts.
#[test]
fn learning_over_an_indicator_flags_it_and_learns_it_not() {
    let dir = tempfile::tempdir().unwrap();
    let plant =
        |s: &mut Scenario| -> Vec<u64> {
            vec![
                s.exchange(
                    &Exchange::new(&client(4), RESOLVER, "mail.example.org", RecordType::A)
                        .answer(rr("mail.example.org", 300, a("185.20.187.8"))),
                ),
                s.exchange(
                    &Exchange::new(RESOLVER, ORG_TLD, "www.example.org", RecordType::A)
                        .authority(rr("example.org", 86400, ns("ns1.rootdnservers.com")))
                        .authority(rr("example.org", 86400, ds()))
                        .additional(rr("ns1.rootdnservers.com", 86400, a("203.0.113.66")))
                        .dnssec_ok(),
                ),
            ]
        };
    let mut week = learning_week();
    plant(&mut week);
    let week = write(dir.path(), "week.pcap", &week);
    let (learned, text, stderr) = learn(dir.path(), &week);
    for (key, value) in [("a", "185.20.187.8"), ("ns", "ns1.rootdnservers.com")] {
        let said = format!("example.org {key} {value} is indicator ");
        assert!(
            text.contains(&format!("# INDICATOR HIT, not learned: {said}")),
            "{text}"
        );
        assert!(
            stderr.contains(&format!(
                "dnsentry: warning: indicator hit, not learned (listed as a comment): {said}"
            )),
            "{stderr}"
        );
        assert!(
            !text.contains(&format!("\"{value}\"")),
            "{value} learned:\n{text}"
        );
    }
    assert!(
        text.contains("# not learned: 203.0.113.66, address of indicator-hit name server ns1.rootdnservers.com; seen 1 time"),
        "{text}"
    );
    assert!(!text.contains("\"203.0.113.66\""), "{text}");

    let mut again = Scenario::new(LEARN_START + 30 * DAY);
    later_day(&mut again);
    let packets = plant(&mut again);
    let capture = write(dir.path(), "again.pcap", &again);
    let got = keys(&enforce(&learned, &capture));
    let mut want = vec![
        key(
            "ioc_address",
            "answer",
            "mail.example.org",
            "185.20.187.8",
            packets[0],
        ),
        key(
            "unexpected_address",
            "answer",
            "mail.example.org",
            "185.20.187.8",
            packets[0],
        ),
        key(
            "ioc_domain",
            "authority",
            "example.org",
            "ns1.rootdnservers.com",
            packets[1],
        ),
        key(
            "unexpected_ns",
            "authority",
            "example.org",
            "ns1.rootdnservers.com",
            packets[1],
        ),
        key(
            "unexpected_ns_address",
            "additional",
            "ns1.rootdnservers.com",
            "203.0.113.66",
            packets[1],
        ),
    ];
    want.sort();
    let (expected, raised, false_alerts, missed) = figures(&want, &got);
    println!(
        "learn-then-enforce: learned over an indicator: alerts expected {expected}, raised {raised}, false {false_alerts}, missed {missed}"
    );
    assert_eq!(got, want);
}
