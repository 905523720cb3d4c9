//! dnsentry's EVE `dns` events beside Suricata's own, on the same
//! captures: every shared public capture and the scenario captures of the
//! other tests (demo, policy, race, tunnel and VLAN). Suricata runs from
//! the system (`scripts/install-suricata`: Debian's Suricata 7); without
//! it, or without the public captures, the test is reported as ignored.
//!
//! For every DNS response both log, the fields a SIEM joins and searches
//! on must agree: `timestamp`, `src_ip`, `dest_ip`, `src_port`,
//! `dest_port`, `proto`, `community_id`, the question's `rrname` and
//! `rrtype`, `rcode` and the answers. Suricata 7 writes version 2 of the
//! `dns` object (version 3, which dnsentry writes, is Suricata 8's), so
//! the two are compared through a mapping (see [`suricata_view`] and
//! [`our_view`]):
//!
//! * Suricata 7 logs a response as `dns.type: "answer"` with the flow's
//!   direction, client to server: its `src_*` are dnsentry's `dest_*`;
//! * its question is `dns.rrname`/`dns.rrtype`, dnsentry's is
//!   `dns.queries[0]`; it writes the root as `""`, dnsentry as `"."`;
//! * it writes IPv6 addresses uncompressed (`2001:0db8:0000:...`): addresses
//!   compare as addresses;
//! * it writes one answer per TXT character-string, unquoted, and record
//!   data only for A, AAAA, CNAME, NS, PTR, MX, TXT, NULL, SOA, SRV and
//!   SSHFP (SSHFP as an object, NULL as its raw bytes); for other types
//!   only owner, type and TTL compare;
//! * bytes outside ASCII in TXT and NULL data it writes as `\xNN`.
//!
//! Suricata runs once per capture, not once on the directory: with
//! `-r DIR` it keeps flows from one file to the next, so a query in one
//! capture and a response of the same 5-tuple in another become one flow
//! (two of the csanders captures do this). A run takes about 0.2 s here,
//! the whole comparison well under a minute.
//!
//! Differences that are Suricata's, not dnsentry's, are listed in
//! [`KNOWN_DIFFERENCES`] per capture and field with the reason; the test
//! fails on any other difference, on a listed one that no longer occurs,
//! and on a response Suricata logs that dnsentry does not.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use dnsentry::output::Format;
use serde_json::{Value, json};

use crate::common::{RunSpec, project_file, public_capture_names, public_captures_dir, run};

/// Ports the shared captures carry DNS on (as tests/suite/truth.rs).
const DNS_PORTS: &[u16] = &[53, 5353, 8053];

/// The Suricata configuration of every run: no rules, only `dns` events,
/// version 2 with detailed answers, Community ID on, the file's name.
const SURICATA_YAML: &str = r#"%YAML 1.1
---
vars:
  address-groups:
    HOME_NET: "any"
    EXTERNAL_NET: "any"
  port-groups:
    DNS_PORTS: "53"
default-log-dir: .
stats:
  enabled: no
outputs:
  - eve-log:
      enabled: yes
      filetype: regular
      filename: eve.json
      pcap-file: true
      community-id: true
      types:
        - dns:
            version: 2
            formats: [detailed]
logging:
  default-log-level: notice
  outputs:
    - console:
        enabled: yes
app-layer:
  protocols:
    dns:
      tcp:
        enabled: yes
        detection-ports:
          dp: "[53,5353,8053]"
      udp:
        enabled: yes
        detection-ports:
          dp: "[53,5353,8053]"
"#;

const TCP_ACK: &str = "Suricata's stream engine hands TCP data to the DNS parser once the \
     client acknowledges it, so it logs a TCP response at the acknowledging packet: its \
     timestamp is that packet's, dnsentry's the segment that completed the response";

/// (capture, field, reason): differences that are Suricata 7's. Each must
/// still occur on at least one response of that capture.
const KNOWN_DIFFERENCES: &[(&str, &str, &str)] = &[
    ("csanders_dns_tcp.pcapng", "timestamp", TCP_ACK),
    ("ndpi_dns_fragmented.pcap", "timestamp", TCP_ACK),
    ("dnscap_dnso1tcp.pcap", "timestamp", TCP_ACK),
    (
        "suricata_dns-tcp-multirequest-buffer.pcap",
        "timestamp",
        TCP_ACK,
    ),
    ("suricata_dns-tcp-ts-gap.pcap", "timestamp", TCP_ACK),
    (
        "suricata_task-7018-ids-dns-keywords.pcap",
        "timestamp",
        TCP_ACK,
    ),
    ("tcpdump_dns_tcp.pcap", "timestamp", TCP_ACK),
    ("zeek_dns-edns-cookie.pcap", "timestamp", TCP_ACK),
    ("zeek_tkey.pcap", "timestamp", TCP_ACK),
    (
        "ndpi_malformed_dns.pcap",
        "community_id",
        "both ends are 127.0.0.1: Suricata 7 orders equal addresses by the ports' \
         network-order bytes read as host integers (53 after 50435 on x86), not by port \
         number as the Community ID specification does (fixed in later Suricata)",
    ),
    (
        "ndpi_malformed_dns.pcap",
        "answers",
        "the second of its two questions is a name past 255 octets (RFC 1035 section \
         2.3.4): dnsentry stops decoding there and the answers after it are lost; Suricata 7 \
         reads names of any length and logs the answers, one a CNAME whose target runs past \
         255 octets too",
    ),
];

/// One response, in the terms both tools can be compared in.
#[derive(Debug, Clone)]
struct View {
    /// Where it is: packet number (Suricata has none for reassembled
    /// packets), timestamp, transaction id, transport, the ports.
    pcap_cnt: Option<u64>,
    txid: u64,
    tcp: bool,
    ports: (u64, u64),
    /// The compared fields, by the issue's names.
    fields: BTreeMap<&'static str, Value>,
}

/// An address in one notation, for both tools' spellings.
fn address(v: &Value) -> Value {
    v.as_str()
        .and_then(|s| s.parse::<IpAddr>().ok())
        .map_or(Value::Null, |a| json!(a.to_string()))
}

fn sorted_ports(a: &Value, b: &Value) -> (u64, u64) {
    let (a, b) = (a.as_u64().unwrap(), b.as_u64().unwrap());
    (a.min(b), a.max(b))
}

/// Bytes as Suricata 7 writes them in a JSON string: ASCII as itself,
/// anything else as `\xNN`.
fn suricata_bytes(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        if b.is_ascii() {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// The character-strings of a TXT record in presentation format
/// (`"a" "b\"c\255"`), as bytes.
fn character_strings(text: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut bytes = text.bytes().peekable();
    while let Some(b) = bytes.next() {
        if b != b'"' {
            continue;
        }
        let mut s = Vec::new();
        while let Some(b) = bytes.next() {
            match b {
                b'"' => break,
                b'\\' => {
                    let mut digits = String::new();
                    while digits.len() < 3 && bytes.peek().is_some_and(u8::is_ascii_digit) {
                        digits.push(char::from(bytes.next().unwrap()));
                    }
                    match digits.parse::<u8>() {
                        Ok(d) if digits.len() == 3 => s.push(d),
                        _ => s.extend(digits.bytes().chain(bytes.next())),
                    }
                }
                b => s.push(b),
            }
        }
        out.push(s);
    }
    out
}

/// RFC 3597 data (`\# 3 0a0b0c`) as bytes.
fn rfc3597(text: &str) -> Option<Vec<u8>> {
    let hex = text
        .strip_prefix("\\# ")?
        .split_once(' ')
        .map_or("", |x| x.1);
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Types whose data Suricata 7 writes.
const SURICATA_DATA_TYPES: &[&str] = &[
    "A", "AAAA", "CNAME", "NS", "PTR", "MX", "TXT", "NULL", "SOA", "SRV", "SSHFP",
];

/// The root as Suricata 7 writes it.
fn name(v: &Value) -> Value {
    match v.as_str() {
        Some(".") => json!(""),
        _ => v.clone(),
    }
}

fn answer(rrname: &Value, rrtype: &str, ttl: &Value, data: Value) -> Value {
    json!({"rrname": name(rrname), "rrtype": rrtype, "ttl": ttl, "data": data})
}

/// dnsentry's answers as Suricata 7 would write them.
fn our_answers(answers: &Value) -> Value {
    let mut out = Vec::new();
    for a in answers.as_array().into_iter().flatten() {
        let rrtype = a["rrtype"].as_str().unwrap_or_default();
        let rdata = a["rdata"].as_str().unwrap_or_default();
        let data = |d: Value| answer(&a["rrname"], rrtype, &a["ttl"], d);
        match rrtype {
            "TXT" => out.extend(
                character_strings(rdata)
                    .iter()
                    .map(|s| data(json!(suricata_bytes(s)))),
            ),
            "AAAA" => out.push(data(address(&a["rdata"]))),
            "NULL" => out.push(data(
                rfc3597(rdata).map_or(Value::Null, |b| json!(suricata_bytes(&b))),
            )),
            "SOA" => out.push(data(a["soa"].clone())),
            "SRV" => out.push(data(a["srv"].clone())),
            t if SURICATA_DATA_TYPES.contains(&t) => out.push(data(name(&a["rdata"]))),
            _ => out.push(data(Value::Null)),
        }
    }
    Value::Array(out)
}

/// Suricata 7's answers in the same terms.
fn suricata_answers(answers: &Value) -> Value {
    let mut out = Vec::new();
    for a in answers.as_array().into_iter().flatten() {
        let rrtype = a["rrtype"].as_str().unwrap_or_default();
        let d = if let Some(soa) = a.get("soa") {
            soa.clone()
        } else if let Some(srv) = a.get("srv") {
            srv.clone()
        } else if let Some(fp) = a.get("sshfp") {
            json!(format!(
                "{} {} {}",
                fp["algo"],
                fp["type"],
                fp["fingerprint"]
                    .as_str()
                    .unwrap_or_default()
                    .replace(':', "")
            ))
        } else if rrtype == "AAAA" {
            address(&a["rdata"])
        } else {
            name(&a["rdata"])
        };
        out.push(answer(&a["rrname"], rrtype, &a["ttl"], d));
    }
    Value::Array(out)
}

/// A Suricata 7 `answer` event, fields by the issue's names.
fn suricata_view(e: &Value) -> View {
    let dns = &e["dns"];
    let fields = BTreeMap::from([
        ("timestamp", e["timestamp"].clone()),
        ("src_ip", address(&e["src_ip"])),
        ("dest_ip", address(&e["dest_ip"])),
        ("src_port", e["src_port"].clone()),
        ("dest_port", e["dest_port"].clone()),
        ("proto", e["proto"].clone()),
        ("community_id", e["community_id"].clone()),
        ("rrname", name(&dns["rrname"])),
        ("rrtype", dns["rrtype"].clone()),
        ("rcode", dns["rcode"].clone()),
        ("answers", suricata_answers(&dns["answers"])),
    ]);
    View {
        pcap_cnt: e["pcap_cnt"].as_u64(),
        txid: dns["id"].as_u64().unwrap(),
        tcp: e["proto"] == "TCP",
        ports: sorted_ports(&e["src_port"], &e["dest_port"]),
        fields,
    }
}

/// dnsentry's `dns` event mapped onto Suricata 7's: the flow's client is
/// the source.
fn our_view(e: &Value) -> View {
    let dns = &e["dns"];
    let question = &dns["queries"][0];
    let fields = BTreeMap::from([
        ("timestamp", e["timestamp"].clone()),
        ("src_ip", address(&e["dest_ip"])),
        ("dest_ip", address(&e["src_ip"])),
        ("src_port", e["dest_port"].clone()),
        ("dest_port", e["src_port"].clone()),
        ("proto", e["proto"].clone()),
        ("community_id", e["community_id"].clone()),
        ("rrname", name(&question["rrname"])),
        ("rrtype", question["rrtype"].clone()),
        ("rcode", dns["rcode"].clone()),
        ("answers", our_answers(&dns["answers"])),
    ]);
    View {
        pcap_cnt: e["pcap_cnt"].as_u64(),
        txid: dns["id"].as_u64().unwrap(),
        tcp: e["proto"] == "TCP",
        ports: sorted_ports(&e["src_port"], &e["dest_port"]),
        fields,
    }
}

/// Suricata's responses in `pcap`, in its order; its log goes to `out`.
/// None when Suricata cannot read the capture's link type.
fn suricata_responses(pcap: &Path, work: &Path, out: &Path) -> Option<Vec<View>> {
    use std::io::BufRead;
    std::fs::create_dir_all(out).unwrap();
    let config = work.join("suricata.yaml");
    if !config.exists() {
        std::fs::write(&config, SURICATA_YAML).unwrap();
    }
    let mut child = Command::new("suricata")
        .arg("-c")
        .arg(&config)
        .arg("-r")
        .arg(pcap)
        .arg("-l")
        .arg(out)
        .args(["-k", "none", "--runmode", "single"])
        // Suricata writes timestamps in local time: UTC, as dnsentry.
        .env("TZ", "UTC")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("suricata on PATH (scripts/install-suricata)");
    let mut messages = Vec::new();
    for line in std::io::BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        // A link type it does not read: Suricata says so at once, then
        // waits out a 61 s thread start budget before exiting.
        if line.contains("not (yet) supported in module PcapFile") {
            child.kill().unwrap();
            child.wait().unwrap();
            return None;
        }
        messages.push(line);
    }
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "suricata on {}: {status}\n{}",
        pcap.display(),
        messages.join("\n")
    );
    Some(
        crate::common::read_json_lines(&out.join("eve.json"))
            .iter()
            .filter(|e| e["event_type"] == "dns" && e["dns"]["type"] == "answer")
            .map(suricata_view)
            .collect(),
    )
}

fn our_responses(pcap: &Path) -> Vec<View> {
    let r = run(RunSpec {
        inputs: vec![pcap.to_path_buf()],
        dns_ports: DNS_PORTS,
        dns_log: true,
        format: Format::Eve,
        ..RunSpec::default()
    });
    r.dns_log.iter().map(our_view).collect()
}

/// Which of `ours` (not yet taken) is the response Suricata logged as
/// `s`: same transaction, transport and ports, and the same packet; for
/// a packet Suricata reassembled itself (no number), the same time; on
/// TCP the last response at or before the acknowledging packet.
fn partner(s: &View, ours: &[View], taken: &[bool]) -> Option<usize> {
    let same = |i: &usize| {
        let o = &ours[*i];
        !taken[*i] && o.txid == s.txid && o.tcp == s.tcp && o.ports == s.ports
    };
    let candidates: Vec<usize> = (0..ours.len()).filter(same).collect();
    let exact = candidates.iter().copied().find(|&i| match s.pcap_cnt {
        Some(n) => ours[i].pcap_cnt == Some(n),
        None => ours[i].fields["timestamp"] == s.fields["timestamp"],
    });
    exact.or_else(|| {
        let n = s.pcap_cnt.filter(|_| s.tcp)?;
        candidates
            .into_iter()
            .filter(|&i| ours[i].pcap_cnt.is_some_and(|o| o <= n))
            .max_by_key(|&i| ours[i].pcap_cnt)
    })
}

#[derive(Default)]
struct Tally {
    compared: usize,
    equal: usize,
    /// capture -> responses compared in it.
    compared_in: BTreeMap<String, usize>,
    /// Of those compared, on TCP.
    tcp: usize,
    only_suricata: usize,
    only_dnsentry: usize,
    /// field -> responses differing in it.
    differing: BTreeMap<&'static str, usize>,
    /// (capture, field) -> example lines.
    differences: BTreeMap<(String, &'static str), Vec<String>>,
    missing: Vec<String>,
    /// Captures whose link type Suricata does not read.
    unreadable: Vec<String>,
}

fn compare(label: &str, pcap: &Path, work: &Path, out: &Path, tally: &mut Tally) {
    let ours = our_responses(pcap);
    let Some(suricata) = suricata_responses(pcap, work, out) else {
        tally.unreadable.push(label.to_string());
        tally.only_dnsentry += ours.len();
        return;
    };
    let mut taken = vec![false; ours.len()];
    for s in &suricata {
        let Some(i) = partner(s, &ours, &taken) else {
            tally.only_suricata += 1;
            tally.missing.push(format!(
                "{label}: packet {:?} id {}: logged by Suricata, not by dnsentry",
                s.pcap_cnt, s.txid
            ));
            continue;
        };
        taken[i] = true;
        tally.compared += 1;
        *tally.compared_in.entry(label.to_string()).or_default() += 1;
        tally.tcp += usize::from(s.tcp);
        let o = &ours[i];
        let mut equal = true;
        for (field, theirs) in &s.fields {
            let mine = &o.fields[field];
            if mine != theirs {
                equal = false;
                *tally.differing.entry(field).or_default() += 1;
                tally
                    .differences
                    .entry((label.to_string(), field))
                    .or_default()
                    .push(format!(
                        "packet {:?} id {}: Suricata {theirs} dnsentry {mine}",
                        o.pcap_cnt, o.txid
                    ));
            }
        }
        tally.equal += usize::from(equal);
    }
    tally.only_dnsentry += taken.iter().filter(|t| !**t).count();
}

/// The scenario captures of the other tests, written into `dir`.
fn scenario_captures(dir: &Path) -> Vec<(String, PathBuf)> {
    let policy = crate::suite::scenarios::policy_capture(dir);
    let (race, _, _) = crate::suite::scenarios::race_capture(dir);
    let mixed = crate::suite::live::mixed_capture(dir);
    vec![
        (
            "scenario:demo-hijack.pcap".into(),
            project_file("pcaps/demo-hijack.pcap"),
        ),
        ("scenario:policy".into(), policy.pcap),
        ("scenario:race".into(), race),
        ("scenario:tunnel-vlan".into(), mixed),
    ]
}

#[test]
#[cfg_attr(
    not(all(public_captures, suricata)),
    ignore = "Suricata or the public captures not found: run scripts/install-suricata, then scripts/fetch-public-captures and set DNSENTRY_PUBLIC_CAPTURES (or place ../shared beside the repo)"
)]
fn dns_events_agree_with_suricata_on_every_response_both_log() {
    let work = tempfile::tempdir().unwrap();
    let mut captures = scenario_captures(work.path());
    let dir = public_captures_dir();
    let names = public_capture_names();
    assert!(names.len() >= 100, "only {} public captures", names.len());
    captures.extend(names.iter().map(|n| (n.clone(), dir.join(n))));

    let started = std::time::Instant::now();
    let mut tally = Tally::default();
    for (n, (label, pcap)) in captures.iter().enumerate() {
        let out = work.path().join(format!("suricata-{n}"));
        compare(label, pcap, work.path(), &out, &mut tally);
    }
    eprintln!(
        "Suricata side by side, {} captures in {:.0?}: {} responses compared ({} on TCP), {} equal on \
         every field; differing per field: {:?}; logged by Suricata only: {}, by dnsentry \
         only: {}; link types Suricata does not read: {:?}",
        captures.len(),
        started.elapsed(),
        tally.compared,
        tally.tcp,
        tally.equal,
        tally.differing,
        tally.only_suricata,
        tally.only_dnsentry,
        tally.unreadable,
    );

    let mut failures = tally.missing.clone();
    let listed: BTreeSet<(&str, &str)> =
        KNOWN_DIFFERENCES.iter().map(|(c, f, _)| (*c, *f)).collect();
    for ((capture, field), lines) in &tally.differences {
        if !listed.contains(&(capture.as_str(), *field)) {
            failures.push(format!(
                "{capture}: {field} differs on {} response(s):\n    {}",
                lines.len(),
                lines.join("\n    ")
            ));
        }
    }
    for (capture, field, why) in KNOWN_DIFFERENCES {
        match tally.differences.get(&(capture.to_string(), *field)) {
            Some(lines) => eprintln!(
                "known: {capture} {field} ({} response(s)): {why}",
                lines.len()
            ),
            None => failures.push(format!(
                "{capture}: {field} agrees now; take it off KNOWN_DIFFERENCES"
            )),
        }
    }
    // The race capture holds responses only, and Suricata 7 logs no
    // response whose query it has not seen: it cannot count here.
    for label in [
        "scenario:demo-hijack.pcap",
        "scenario:policy",
        "scenario:tunnel-vlan",
    ] {
        assert!(
            tally.compared_in.contains_key(label),
            "{label}: no response compared"
        );
    }
    // Far fewer would mean captures went unread on one side.
    assert!(
        tally.compared >= 500,
        "only {} responses compared",
        tally.compared
    );
    assert!(
        failures.is_empty(),
        "{} disagreement(s) with Suricata:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn txt_strings_and_opaque_bytes_read_as_suricata_writes_them() {
    assert_eq!(
        character_strings(r#""a b" "c\"d\\" "\255\012x""#),
        vec![b"a b".to_vec(), b"c\"d\\".to_vec(), vec![255, 12, b'x']]
    );
    assert_eq!(rfc3597("\\# 3 0a0bff"), Some(vec![10, 11, 255]));
    assert_eq!(rfc3597("\\# 0"), Some(Vec::new()));
    assert_eq!(suricata_bytes(&[b'V', 3, 0xc5]), "V\u{3}\\xc5");
}
