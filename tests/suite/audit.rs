//! `dnsentry audit` against real name servers: each test builds a root,
//! the `test.` TLD and the organisation's `example.test` served by NSD in
//! network namespaces it makes (tests/common/dnstree.rs), changes what an
//! attacker with stolen credentials would change, and asserts the exact
//! alerts. Like the live tests they need root (namespaces) and fail saying
//! so rather than pass on nothing.

use serde_json::Value;

use crate::common::dnstree::{
    AUDITOR, AUDITOR_V6, BIG, EVIL, Hierarchy, LAME, NS1, NS2, NS2_V6, POISONED, RESOLVER, ROOT,
    SILENT, TLD, expect_file, good_delegation, org_zone, root_zone, sign, tld_zone,
};

fn row(
    kind: &str,
    owner: &str,
    value: &str,
    role: &str,
    server: &str,
) -> (String, String, String, String, String) {
    (
        kind.into(),
        owner.into(),
        value.into(),
        role.into(),
        server.into(),
    )
}

/// The zone as the organisation serves it.
fn good_org() -> String {
    org_zone(
        &["ns1.example.test", "ns2.example.test"],
        "mail.example.test",
        "198.18.53.80",
    )
}

#[test]
fn an_untouched_hierarchy_raises_nothing_and_every_question_is_answered() {
    let h = Hierarchy::standard("au0", &good_delegation(), &good_org());
    let run = h.audit(&expect_file(&[]), &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.lines.is_empty(), "{:#?}", run.lines);
    let a = &run.stats["audit"];
    // Two to find the TLD's servers (root, then TLD: the referral), NS
    // and DS at the TLD, then 20 at each of the zone's three server
    // addresses (ns1, and ns2 over IPv4 and IPv6): SOA, NS, MX, A and
    // AAAA of the apex, A, AAAA and CNAME of ns1, ns2, mail, www and big.
    assert_eq!(a["questions_asked"], 64, "{}", run.stderr);
    assert_eq!(a["answered"], 64);
    assert_eq!(a["failed"], 0);
    assert_eq!(a["not_asked"], 0);
    assert_eq!(a["servers"], 4);
    assert_eq!(run.stats["dns_responses"], 62);
    assert!(
        run.stderr
            .contains("64 questions asked, 64 answered, 0 failed")
    );
    // ns2 was asked over IPv6 too, and big's truncated answer again over
    // TCP, at each server.
    let from_v6 = run.dns_log.iter().filter(|l| l["src_ip"] == NS2_V6).count();
    assert_eq!(from_v6, 20);
    let big_tcp: Vec<&serde_json::Value> = run
        .dns_log
        .iter()
        .filter(|l| l["qname"] == BIG && l["qtype"] == "A")
        .collect();
    assert_eq!(big_tcp.len(), 3);
    assert!(
        big_tcp.iter().all(|l| l["transport"] == "tcp"),
        "{big_tcp:#?}"
    );
    assert!(
        big_tcp
            .iter()
            .all(|l| l["answers"].as_array().unwrap().len() == 100)
    );
    // Every packet the audit sent or received stayed in the test's
    // networks (checked for every run), and there were packets.
    assert!(run.packets.len() >= 2 * 64, "{}", run.packets.len());
}

#[test]
fn the_config_files_audit_table_names_the_parent_servers() {
    let h = Hierarchy::standard("au4", &good_delegation(), &good_org());
    let config = h.dir.path().join("dnsentry.toml");
    std::fs::write(
        &config,
        format!("[audit]\nparent_servers = [\"{TLD}\"]\nrate = 100\n"),
    )
    .unwrap();
    let run = h.audit(&expect_file(&[]), &["--config", config.to_str().unwrap()]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.lines.is_empty(), "{:#?}", run.lines);
    // The two questions that found the TLD's servers are not asked.
    assert_eq!(run.stats["audit"]["questions_asked"], 62);
    let first = &run.dns_log[0];
    assert_eq!(first["src_ip"], TLD);
    assert_eq!(first["qtype"], "NS");
}

#[test]
fn an_a_and_an_mx_record_moved_at_the_servers_raise_their_alerts() {
    let hijacked = org_zone(
        &["ns1.example.test", "ns2.example.test"],
        "mx.evil.test",
        "203.0.113.66",
    );
    let h = Hierarchy::standard("au1", &good_delegation(), &hijacked);
    let run = h.audit(&expect_file(&[]), &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    // Every server serves the change: the repeats from ns2 (over IPv4
    // and IPv6) are suppressed, as a captured repeat is.
    assert_eq!(
        run.detections(),
        [
            row(
                "unexpected_address",
                "www.example.test",
                "203.0.113.66",
                "authoritative",
                NS1
            ),
            row(
                "unexpected_mx",
                "example.test",
                "mx.evil.test",
                "authoritative",
                NS1
            ),
        ]
    );
    assert_eq!(run.stats["suppressed"]["unexpected_address"], 2);
    assert_eq!(run.stats["suppressed"]["unexpected_mx"], 2);
    let mx = run
        .lines
        .iter()
        .find(|l| l["kind"] == "unexpected_mx")
        .unwrap();
    assert_eq!(mx["source"]["audit"]["qname"], "example.test");
    assert_eq!(mx["source"]["audit"]["qtype"], "MX");
    assert_eq!(mx["source"]["audit"]["transport"], "udp");
    assert_eq!(mx["source"]["audit"]["server_name"], "ns1.example.test");
    assert_eq!(mx["src_ip"], NS1);
    assert_eq!(mx["dst_ip"], crate::common::dnstree::AUDITOR);
    assert_eq!(mx["expected"], serde_json::json!(["mail.example.test"]));

    // The same answers in EVE: the question is the alert's metadata.
    let eve = h.audit(&expect_file(&[]), &["--alerts-format", "eve"]);
    let md = &eve
        .lines
        .iter()
        .find(|l| l["alert"]["metadata"]["value"][0] == "mx.evil.test")
        .expect("an EVE alert for the MX")["alert"]["metadata"];
    assert_eq!(md["audit_role"][0], "authoritative");
    assert_eq!(md["audit_question"][0], "example.test MX");
    assert!(eve.lines.iter().all(|l| l.get("pcap_filename").is_none()));
}

#[test]
fn a_delegation_moved_at_the_tld_raises_unexpected_ns_and_its_glue() {
    // The registry account is taken: the TLD now delegates example.test to
    // the attacker's server, with new glue and no DS, and that server
    // serves a copy of the zone with www moved.
    let mut h = Hierarchy::standard("au2", &moved_delegation(""), &good_org());
    h.serve("evil", &[EVIL], "example.test.", &attackers_copy());
    let run = h.audit(&expect_file(&[]), &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    // The attacker's copy of the zone differs from the organisation's
    // servers (the newer zone, or the same serial and more servers): NS
    // and www.
    let ours = format!("{NS1}, {NS2}, {NS2_V6} say");
    assert_eq!(
        run.detections(),
        [
            row(
                "inconsistent_servers",
                "example.test",
                &format!(
                    "{EVIL} says example.test NS ns1.evil.test; \
                     {ours} example.test NS ns1.example.test, example.test NS ns2.example.test"
                ),
                "authoritative",
                EVIL
            ),
            row(
                "inconsistent_servers",
                "www.example.test",
                &format!(
                    "{EVIL} says www.example.test A 203.0.113.66; {ours} www.example.test A 198.18.53.80"
                ),
                "authoritative",
                EVIL
            ),
            row(
                "unexpected_address",
                "www.example.test",
                "203.0.113.66",
                "authoritative",
                EVIL
            ),
            row(
                "unexpected_ns",
                "example.test",
                "ns1.evil.test",
                "parent",
                TLD
            ),
            row(
                "unexpected_ns_address",
                "ns1.evil.test",
                EVIL,
                "parent",
                TLD
            ),
        ]
    );
    // The organisation's own servers were asked too (their names and
    // listed addresses), and found as expected.
    assert_eq!(run.stats["audit"]["servers"], 5, "{}", run.stderr);
    assert!(run.failures().is_empty(), "{:#?}", run.failures());
}

#[test]
fn a_server_that_does_not_answer_or_refuses_is_an_audit_failed_event() {
    let mut h = Hierarchy::standard("au3", &good_delegation(), &good_org());
    // Listed as the zone's, but it serves another zone only.
    let other = "$TTL 3600\nother.test. IN SOA ns.other.test. h.other.test. 1 1800 900 604800 300\n\
                 other.test. IN NS ns.other.test.\n";
    h.serve("lame", &[LAME], "other.test.", other);
    // And one the sensor has no route to at all.
    crate::common::live::ip(&["-n", &h.net.ns_b, "-6", "route", "del", "default"]).unwrap();
    let unroutable = "2001:db8:ff::53";
    let run = h.audit(&expect_file(&[SILENT, LAME, unroutable]), &[]);
    assert_eq!(
        run.code,
        Some(1),
        "exit 1: a question went unanswered\n{}",
        run.stderr
    );
    assert!(run.detections().is_empty(), "{:?}", run.detections());
    for f in run.failures() {
        assert_eq!(f["role"], "authoritative");
        assert_eq!(f["zone"], "example.test");
        assert_eq!(f["rule"]["id"], 9000104);
        assert_eq!(f["severity"], "high");
    }
    let of = |addr: &str| -> Vec<(String, String)> {
        let server = format!("{addr}:53");
        run.failures()
            .iter()
            .filter(|f| f["server"] == server.as_str())
            .map(|f| {
                (
                    f["question"].as_str().unwrap().to_string(),
                    f["reason"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    // Two questions asked and refused (ICMP port unreachable), then one
    // event for the 18 not asked.
    let silent = of(SILENT);
    let questions: Vec<&str> = silent.iter().map(|(q, _)| q.as_str()).collect();
    assert_eq!(
        questions,
        ["example.test SOA", "example.test NS", "example.test MX"]
    );
    assert!(silent[0].1.contains("refused"), "{silent:?}");
    assert!(
        silent[2].1.contains("nor the 17 question(s) after it"),
        "{silent:?}"
    );
    // NSD answers REFUSED for a zone it does not serve.
    let lame = of(LAME);
    assert_eq!(lame.len(), 3, "{lame:?}");
    assert_eq!(lame[0].1, "answered REFUSED");
    // No route: nothing was sent, one event says so for all 20.
    let unrouted = of(&format!("[{unroutable}]"));
    assert_eq!(unrouted.len(), 1, "{unrouted:?}");
    assert!(
        unrouted[0]
            .1
            .starts_with("no route to the server from the sensor")
            && unrouted[0]
                .1
                .ends_with("the 19 question(s) after it not asked"),
        "{unrouted:?}"
    );
    assert_eq!(run.failures().len(), 7);
    let a = &run.stats["audit"];
    assert_eq!(a["failed"], 5);
    assert_eq!(a["not_asked"], 55);
    // The servers that answer were audited all the same.
    assert_eq!(a["answered"], 64);
    assert_eq!(a["questions_asked"], 69);
}

#[test]
fn a_resolver_that_answers_otherwise_than_the_zone_is_named_in_the_alert() {
    let mut h = Hierarchy::standard("au5", &good_delegation(), &good_org());
    h.resolve("unbound", RESOLVER, &[]);
    // A cache told another address for www: poisoned, or a resolver on
    // the path that rewrites.
    h.resolve(
        "poisoned",
        POISONED,
        &["www.example.test. 3600 IN A 203.0.113.66"],
    );
    // The system's resolver, from resolv.conf (the default): it resolves
    // from the test's root and answers as the zone's servers do.
    std::fs::write(
        h.dir.path().join("resolv.conf"),
        format!("# the test's\nsearch example.test\nnameserver {RESOLVER}\n"),
    )
    .unwrap();
    let run = h.audit(&expect_file(&[]), &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.lines.is_empty(), "{:#?}", run.lines);
    // The 64 of the untouched hierarchy, and the zone's 20 through the
    // resolver.
    assert_eq!(run.stats["audit"]["questions_asked"], 84, "{}", run.stderr);
    assert_eq!(run.stats["audit"]["answered"], 84);
    assert_eq!(run.stats["audit"]["servers"], 5);
    let through: Vec<&serde_json::Value> = run
        .dns_log
        .iter()
        .filter(|l| l["src_ip"] == RESOLVER)
        .collect();
    assert_eq!(through.len(), 20);
    // Asked with recursion desired, answered with it available.
    assert!(
        through.iter().all(|l| l["flags"]["rd"] == true),
        "{:#?}",
        through[0]
    );
    assert!(through.iter().all(|l| l["flags"]["ra"] == true));
    // Resolved from the test's root, not answered by Unbound itself.
    let www = through
        .iter()
        .find(|l| l["qname"] == "www.example.test" && l["qtype"] == "A")
        .unwrap();
    assert_eq!(www["rcode_name"], "NOERROR", "{www:#}");
    assert_eq!(www["answers"][0]["data"], "198.18.53.80", "{www:#}");

    // --resolver replaces resolv.conf's, as the config file's
    // `resolvers` does.
    let config = h.dir.path().join("dnsentry.toml");
    std::fs::write(&config, format!("[audit]\nresolvers = [\"{RESOLVER}\"]\n")).unwrap();
    let run = h.audit(
        &expect_file(&[]),
        &["--config", config.to_str().unwrap(), "--resolver", POISONED],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    // Against the expect file, and against what the zone's servers say.
    assert_eq!(
        run.detections(),
        [
            row(
                "inconsistent_servers",
                "www.example.test",
                &format!(
                    "resolver {POISONED} says www.example.test A 203.0.113.66; \
                     {NS1}, {NS2}, {NS2_V6} say www.example.test A 198.18.53.80"
                ),
                "resolver",
                POISONED
            ),
            row(
                "unexpected_address",
                "www.example.test",
                "203.0.113.66",
                "resolver",
                POISONED
            )
        ]
    );
    let alert = run
        .lines
        .iter()
        .find(|l| l["kind"] == "unexpected_address")
        .unwrap();
    assert_eq!(alert["src_ip"], POISONED);
    assert_eq!(alert["source"]["audit"]["qtype"], "A");
    assert!(
        alert["source"]["audit"]
            .get("server_name")
            .is_none_or(|n| n.is_null())
    );
    assert_eq!(run.stats["audit"]["servers"], 5);
    let run = h.audit(&expect_file(&[]), &["--config", config.to_str().unwrap()]);
    assert!(run.lines.is_empty(), "{:#?}", run.lines);
    assert!(run.dns_log.iter().any(|l| l["src_ip"] == RESOLVER));

    // A resolv.conf line that names no address stops the audit before it
    // asks anything, naming the file and line.
    std::fs::write(
        h.dir.path().join("resolv.conf"),
        format!("nameserver {RESOLVER}\nnameserver 198.18.53.300\n"),
    )
    .unwrap();
    let run = h.audit(&expect_file(&[]), &[]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("resolv.conf:2: nameserver \"198.18.53.300\""),
        "{}",
        run.stderr
    );
    let auditor: [std::net::IpAddr; 2] = [AUDITOR.parse().unwrap(), AUDITOR_V6.parse().unwrap()];
    assert!(
        !run.packets.iter().any(|(s, _)| auditor.contains(s)),
        "{:?}",
        run.packets
    );
}

/// The organisation's zone signed (then `edit`ed), and its delegation
/// (made from the zone's DS record) in the signed TLD, as a real TLD is.
fn signed_hierarchy(
    tag: &str,
    edit: impl Fn(&str) -> String,
    delegation: impl Fn(&str) -> String,
) -> Hierarchy {
    let mut h = Hierarchy::new(tag);
    let keys = h.dir.path().to_path_buf();
    let (signed, ds) = sign(&keys, "example.test", &good_org());
    let (tld, _) = sign(&keys, "test", &tld_zone(&delegation(&ds)));
    h.serve("root", &[ROOT], ".", &root_zone());
    h.serve("tld", &[TLD], "test.", &tld);
    h.serve("org", &[NS1, NS2, NS2_V6], "example.test.", &edit(&signed));
    h
}

/// The delegation as the organisation made it: with its DS.
fn with_ds(ds: &str) -> String {
    format!("{}{ds}", good_delegation())
}

fn signed_expect() -> String {
    expect_file(&[]) + "dnssec = true\n"
}

#[test]
fn a_signed_zone_whose_signatures_validate_raises_nothing() {
    let h = signed_hierarchy("au6", |z| z.to_string(), with_ds);
    let run = h.audit(&signed_expect(), &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.lines.is_empty(), "{:#?}", run.lines);
    // The 64 of the unsigned zone and its DNSKEY at each of 3 addresses.
    assert_eq!(run.stats["audit"]["questions_asked"], 67, "{}", run.stderr);
    let signed = run
        .dns_log
        .iter()
        .filter(|l| {
            l["answers"]
                .as_array()
                .is_some_and(|a| a.iter().any(|r| r["type"] == "RRSIG"))
        })
        .count();
    // At each of 3 addresses SOA, NS, MX, DNSKEY, and the A of the apex,
    // ns1, ns2, mail, www and big, ns2's AAAA (the rest is no data, proved
    // in the authority section), and the parent's DS.
    assert_eq!(signed, 3 * 11 + 1, "answers that carried signatures");
}

/// The signed zone with www's A moved within the allowed network, its
/// old RRSIG kept.
fn changed_after_signing(z: &str) -> String {
    let www = |l: &str| l.starts_with("www.example.test.") && l.contains("\tA\t");
    assert_eq!(z.lines().filter(|l| www(l)).count(), 1, "{z}");
    z.lines()
        .map(|l| {
            if www(l) {
                l.replace("198.18.53.80", "198.18.53.60")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[test]
fn a_record_changed_after_signing_is_dnssec_invalid() {
    // Someone with the DNS provider's password moves www within the
    // allowed network, without the signing key: the old RRSIG stays.
    let h = signed_hierarchy("au7", changed_after_signing, with_ds);
    let run = h.audit(&signed_expect(), &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        run.detections()
            .into_iter()
            .map(|(k, o, _, r, s)| (k, o, r, s))
            .collect::<Vec<_>>(),
        [(
            "dnssec_invalid".to_string(),
            "www.example.test".to_string(),
            "authoritative".to_string(),
            NS1.to_string()
        )]
    );
    let alert = &run.lines[0];
    assert_eq!(alert["rule"]["id"], 9000012);
    assert_eq!(alert["rrtype"], "A");
    assert!(
        alert["value"].as_str().unwrap().contains("does not verify"),
        "{alert:#}"
    );
    assert!(
        alert["expected"][0]
            .as_str()
            .unwrap()
            .starts_with("DS key ")
    );
    assert_eq!(run.stats["suppressed"]["dnssec_invalid"], 2);
}

#[test]
fn a_ds_gone_from_the_parent_is_dnssec_missing() {
    // The registry account is taken, and the DS deleted (the first step
    // of moving a signed zone away unnoticed by validating resolvers).
    let h = signed_hierarchy("au8", |z| z.to_string(), |_| good_delegation());
    let run = h.audit(&signed_expect(), &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        run.detections(),
        [row(
            "dnssec_missing",
            "example.test",
            "delegation without DS",
            "parent",
            TLD
        )]
    );
}

/// The TLD's delegation of example.test as the attacker leaves it: their
/// server, with its glue, and no DS.
fn moved_delegation(_ds: &str) -> String {
    format!(
        "example.test. IN NS ns1.evil.test.\n\
         ns1.evil.test. IN A {EVIL}\n"
    )
}

/// The attacker's copy of the zone: unsigned (they have no key), www
/// moved.
fn attackers_copy() -> String {
    org_zone(&["ns1.evil.test"], "mail.example.test", "203.0.113.66")
}

#[test]
fn a_signed_zone_moved_at_the_tld_without_its_ds_raises_every_change() {
    // The attacker change whole, on a signed zone: the registry
    // account is taken, the TLD names the attacker's server with new glue
    // and no DS, and that server serves an unsigned copy with www moved.
    let mut h = signed_hierarchy("au12", |z| z.to_string(), moved_delegation);
    h.serve("evil", &[EVIL], "example.test.", &attackers_copy());
    let run = h.audit(&signed_expect(), &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let ours = format!("{NS1}, {NS2}, {NS2_V6} say");
    let unsigned = |owner: &str, rrtype: &str| {
        row(
            "dnssec_missing",
            owner,
            &format!("unsigned {rrtype}"),
            "authoritative",
            EVIL,
        )
    };
    assert_eq!(
        run.detections(),
        [
            unsigned("big.example.test", "A"),
            // At the parent: the delegation lost its DS.
            row(
                "dnssec_missing",
                "example.test",
                "delegation without DS",
                "parent",
                TLD
            ),
            // Every RRset the attacker's server answers is unsigned in a
            // zone expected signed (their copy has no key to sign with).
            unsigned("example.test", "A"),
            unsigned("example.test", "MX"),
            unsigned("example.test", "NS"),
            unsigned("example.test", "SOA"),
            unsigned("mail.example.test", "A"),
            unsigned("ns1.example.test", "A"),
            unsigned("ns2.example.test", "A"),
            unsigned("ns2.example.test", "AAAA"),
            unsigned("www.example.test", "A"),
            // It disagrees with the organisation's servers (which still
            // serve the signed zone) on NS and www.
            row(
                "inconsistent_servers",
                "example.test",
                &format!(
                    "{EVIL} says example.test NS ns1.evil.test; \
                     {ours} example.test NS ns1.example.test, example.test NS ns2.example.test"
                ),
                "authoritative",
                EVIL
            ),
            row(
                "inconsistent_servers",
                "www.example.test",
                &format!(
                    "{EVIL} says www.example.test A 203.0.113.66; {ours} www.example.test A 198.18.53.80"
                ),
                "authoritative",
                EVIL
            ),
            row(
                "unexpected_address",
                "www.example.test",
                "203.0.113.66",
                "authoritative",
                EVIL
            ),
            // At the parent: the new name server and its glue.
            row(
                "unexpected_ns",
                "example.test",
                "ns1.evil.test",
                "parent",
                TLD
            ),
            row(
                "unexpected_ns_address",
                "ns1.evil.test",
                EVIL,
                "parent",
                TLD
            ),
        ]
    );
    // The attacker's answers name their server in the authority section
    // each time: repeats of the parent's finding.
    assert_eq!(run.stats["suppressed"]["unexpected_ns"], 10);
    // No signature the organisation's servers give is found wrong: the
    // zone they serve is still the signed one (with no DS, nothing above
    // vouches for its keys, and the DS's absence is the alert).
    assert!(
        !run.lines.iter().any(|l| l["kind"] == "dnssec_invalid"),
        "{:#?}",
        run.lines
    );
    // The organisation's servers and the attacker's, all answered.
    assert_eq!(run.stats["audit"]["servers"], 5, "{}", run.stderr);
    assert!(run.failures().is_empty(), "{:#?}", run.failures());
}

/// The alerts, `audit_failed` events and DNS-log records of audits in
/// `format`, each labelled, for the EVE and ECS checks: www changed after
/// signing at the zone's servers (`dnssec_invalid`) with a listed server
/// where nothing listens (`audit_failed`), and the signed zone moved at
/// the TLD (`inconsistent_servers`, `dnssec_missing`, the parent's
/// alerts). `tag` names the test's namespaces (each caller its own).
pub(crate) fn documents(format: dnsentry::output::Format, tag: &str) -> Vec<(String, Value)> {
    use dnsentry::output::Format;
    let name = match format {
        Format::Native => "native",
        Format::Eve => "eve",
        Format::Ecs => "ecs",
    };
    let flags = ["--alerts-format", name, "--dns-log-format", name];
    let mut out = Vec::new();
    let mut add = |label: &str, run: crate::common::dnstree::Audit| {
        assert!(!run.lines.is_empty(), "{label}: {}", run.stderr);
        for (what, lines) in [("alert", run.lines), ("dns", run.dns_log)] {
            out.extend(
                lines
                    .into_iter()
                    .enumerate()
                    .map(|(i, l)| (format!("audit-{label}:{what}:{}", i + 1), l)),
            );
        }
    };
    let h = signed_hierarchy(&format!("{tag}1"), changed_after_signing, with_ds);
    let expect = expect_file(&[SILENT]) + "dnssec = true\n";
    let run = h.audit(&expect, &flags);
    assert_eq!(run.code, Some(1), "SILENT answers nothing: {}", run.stderr);
    add("invalid", run);
    drop(h);
    let mut h = signed_hierarchy(&format!("{tag}2"), |z| z.to_string(), moved_delegation);
    h.serve("evil", &[EVIL], "example.test.", &attackers_copy());
    let run = h.audit(&signed_expect(), &flags);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    add("moved", run);
    out
}

#[test]
fn a_server_serving_an_older_zone_is_inconsistent_servers() {
    // ns2 stopped taking the zone's transfers: it serves yesterday's
    // serial, with www still at its old (allowed) address.
    let mut h = Hierarchy::new("au9");
    h.serve("root", &[ROOT], ".", &root_zone());
    h.serve("tld", &[TLD], "test.", &tld_zone(&good_delegation()));
    h.serve("ns1", &[NS1], "example.test.", &good_org());
    let old = good_org().replace(" 2026113001 ", " 2026112901 ").replace(
        "www.example.test. IN A 198.18.53.80",
        "www.example.test. IN A 198.18.53.50",
    );
    assert_ne!(old, good_org());
    h.serve("ns2", &[NS2, NS2_V6], "example.test.", &old);
    let run = h.audit(&expect_file(&[]), &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let found: Vec<(String, String, String, String)> = run
        .detections()
        .into_iter()
        .map(|(k, o, _, r, s)| (k, o, r, s))
        .collect();
    let row4 = |owner: &str| {
        (
            "inconsistent_servers".to_string(),
            owner.to_string(),
            "authoritative".to_string(),
            NS2.to_string(),
        )
    };
    assert_eq!(found, [row4("example.test"), row4("www.example.test")]);
    let value = |owner: &str| {
        run.lines
            .iter()
            .find(|l| l["owner"] == owner)
            .map(|l| (l["qtype"].clone(), l["value"].as_str().unwrap().to_string()))
            .unwrap()
    };
    let (qtype, soa) = value("example.test");
    assert_eq!(qtype, "SOA");
    assert_eq!(
        soa,
        format!(
            "{NS2}, {NS2_V6} say example.test SOA ns1.example.test serial 2026112901; \
             {NS1} says example.test SOA ns1.example.test serial 2026113001"
        )
    );
    let (_, www) = value("www.example.test");
    assert_eq!(
        www,
        format!(
            "{NS2}, {NS2_V6} say www.example.test A 198.18.53.50; \
             {NS1} says www.example.test A 198.18.53.80"
        )
    );
    let soa_alert = run
        .lines
        .iter()
        .find(|l| l["owner"] == "example.test")
        .unwrap();
    assert_eq!(soa_alert["rule"]["id"], 9000013);
    assert_eq!(soa_alert["severity"], "medium");
}

#[test]
fn live_audits_every_interval_into_its_own_alerts_while_it_captures() {
    let hijacked = org_zone(
        &["ns1.example.test", "ns2.example.test"],
        "mx.evil.test",
        "198.18.53.80",
    );
    let h = Hierarchy::standard("au10", &good_delegation(), &hijacked);
    let dir = h.dir.path();
    let path = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let expect = path("zones.toml", &expect_file(&[]));
    let hints = path("root.hints", &crate::common::dnstree::root_hints());
    let resolv = path("resolv.conf", "");
    let stats = dir.join("stats.json");
    // The capture watches another port: what it sees of the audit's own
    // traffic would otherwise raise the same alerts first (and the
    // audit's would be suppressed as their repeats).
    let sensor = crate::common::live::Sensor::start(
        &h.net,
        dir,
        &[
            "--stats-json",
            stats.to_str().unwrap(),
            "--metrics",
            "127.0.0.1:9153",
            "--expect",
            &expect,
            "--root-hints",
            &hints,
            "--resolv-conf",
            &resolv,
            "--audit-every",
            "2s",
            "--server-timeout",
            "500ms",
            "--rate",
            "50",
            "--dns-port",
            "5353",
        ],
    );
    let audited = |l: &serde_json::Value| l["source"]["audit"]["role"] == "authoritative";
    let lines = sensor.wait_for(std::time::Duration::from_secs(30), |lines| {
        lines
            .iter()
            .any(|l| l["kind"] == "unexpected_mx" && audited(l))
    });
    let mx = lines.iter().find(|l| l["kind"] == "unexpected_mx").unwrap();
    assert_eq!(mx["value"], "mx.evil.test");
    assert_eq!(mx["source"]["audit"]["server"], NS1);
    assert_eq!(mx["source"]["audit"]["qtype"], "MX");
    assert!(lines.iter().any(|l| l["kind"] == "sensor_health"));
    // Two to find the TLD's servers, NS and DS at the TLD, then 14 at
    // each of the zone's three server addresses: SOA, NS, MX, A and AAAA
    // of the apex, A, AAAA and CNAME of ns1, ns2 and mail.
    const PER_AUDIT: u64 = 2 + 2 + 3 * 14;
    // The next audit runs 2 s after the first began: the health events
    // count both audits' questions, and its finding is suppressed as a
    // repeat.
    let lines = sensor.wait_for(std::time::Duration::from_secs(30), |lines| {
        lines
            .iter()
            .any(|l| l["kind"] == "sensor_health" && l["audit"]["zones"].as_u64() >= Some(2))
    });
    let health = lines
        .iter()
        .find(|l| l["kind"] == "sensor_health" && l["audit"]["zones"].as_u64() >= Some(2))
        .unwrap();
    let zones = health["audit"]["zones"].as_u64().unwrap();
    assert_eq!(
        health["audit"],
        serde_json::json!({
            "zones": zones,
            "servers": 4,
            "questions_asked": zones * PER_AUDIT,
            "answered": zones * PER_AUDIT,
            "failed": 0,
            "not_asked": 0,
        }),
        "{health:#}"
    );
    // The answers are the audit's, not the capture's: it saw no DNS on
    // its port.
    assert_eq!(health["dns_responses"], 0, "{health:#}");
    // Every health event counts from the start: none before the first
    // zone is done, and then whole audits.
    let health_zones: Vec<u64> = lines
        .iter()
        .filter(|l| l["kind"] == "sensor_health")
        .map(|l| l["audit"]["zones"].as_u64().unwrap())
        .collect();
    assert!(
        health_zones.windows(2).all(|w| w[0] <= w[1]),
        "{health_zones:?}"
    );
    let samples =
        crate::common::parse_metrics(&crate::suite::live::scrape(&h.net, 9153, None).1, false);
    let question = |outcome: &str| {
        crate::suite::live::sample(
            &samples,
            "dnsentry_audit_questions_total",
            &[("outcome", outcome)],
        )
    };
    let scraped = question("asked");
    assert!(scraped >= (zones * PER_AUDIT) as f64, "{scraped}");
    assert_eq!(question("answered"), scraped);
    assert_eq!(question("failed"), 0.0);
    assert_eq!(question("not_asked"), 0.0);
    let (code, stderr) = sensor.stop(std::time::Duration::from_secs(30));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("Audit done"), "{stderr}");
    // The run's summary: every question of the audits it finished (the
    // last one may have been stopped between zones: one zone here).
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    let a = &summary["audit"];
    let zones = a["zones"].as_u64().unwrap();
    assert!(zones >= 2, "{summary:#}");
    assert_eq!(a["questions_asked"].as_u64(), Some(zones * PER_AUDIT));
    assert_eq!(a["answered"], a["questions_asked"]);
    assert_eq!(
        (a["failed"].as_u64(), a["not_asked"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(a["servers"], 4);
    assert_eq!(summary["dns_responses"], 0);
    assert!(
        stderr.contains(&format!(
            "audits: {zones} zone audit(s) at 4 server(s): {} questions asked",
            zones * PER_AUDIT
        )),
        "{stderr}"
    );
    let mx_alerts = crate::common::read_written_json_lines(&dir.join("alerts.json"))
        .into_iter()
        .filter(|l| l["kind"] == "unexpected_mx")
        .count();
    assert_eq!(mx_alerts, 1);
}

#[test]
fn live_raises_servers_that_disagree_once_they_outlast_the_grace() {
    let mut h = Hierarchy::new("au11");
    h.serve("root", &[ROOT], ".", &root_zone());
    h.serve("tld", &[TLD], "test.", &tld_zone(&good_delegation()));
    h.serve("ns1", &[NS1], "example.test.", &good_org());
    let old = good_org().replace(" 2026113001 ", " 2026112901 ");
    h.serve("ns2", &[NS2, NS2_V6], "example.test.", &old);
    let dir = h.dir.path();
    let path = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let expect = path("zones.toml", &expect_file(&[]));
    let hints = path("root.hints", &crate::common::dnstree::root_hints());
    let resolv = path("resolv.conf", "");
    let sensor = crate::common::live::Sensor::start(
        &h.net,
        dir,
        &[
            "--expect",
            &expect,
            "--root-hints",
            &hints,
            "--resolv-conf",
            &resolv,
            "--audit-every",
            "1s",
            "--consistency-grace",
            "4s",
            "--server-timeout",
            "500ms",
            "--rate",
            "100",
            "--dns-port",
            "5353",
        ],
    );
    let inconsistent = |lines: &[serde_json::Value]| {
        lines
            .iter()
            .filter(|l| l["kind"] == "inconsistent_servers")
            .count()
    };
    // The first audit's answers are written (health counts its zone),
    // and the servers' disagreement is not raised: it is younger than the
    // grace.
    let lines = sensor.wait_for(std::time::Duration::from_secs(30), |lines| {
        lines
            .iter()
            .any(|l| l["kind"] == "sensor_health" && l["audit"]["zones"].as_u64() >= Some(1))
    });
    assert_eq!(inconsistent(&lines), 0, "{lines:#?}");
    // It is once the audits have seen it for 4 s.
    let lines = sensor.wait_for(std::time::Duration::from_secs(30), |lines| {
        inconsistent(lines) >= 1
    });
    let soa = lines
        .iter()
        .find(|l| l["kind"] == "inconsistent_servers")
        .unwrap();
    assert_eq!(soa["qtype"], "SOA");
    assert_eq!(soa["source"]["audit"]["server"], NS2);
    let (code, stderr) = sensor.stop(std::time::Duration::from_secs(30));
    assert_eq!(code, Some(0), "{stderr}");
}
