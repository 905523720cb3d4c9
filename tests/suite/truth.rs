//! Every public capture (tests/public-captures/SOURCES.md; found in
//! DNSENTRY_PUBLIC_CAPTURES or ../shared/pcaps), decoded by dnsentry, against
//! tshark's decoding of the same file (`NAME.tshark.tsv` beside the capture,
//! else in tests/public-captures/tshark/; format in the header of each file).
//! Without the captures those tests are reported as ignored (build.rs).
//!
//! Per response: qname, qtype, rcode, and for A, AAAA, CNAME, NS, MX and
//! PTR answers the owner, type, TTL and data exactly; for other answer
//! types, how many there are. Responses dnsentry logs that tshark does not
//! (and the reverse) are disagreements too, except mDNS and LLMNR, which
//! tshark leaves out of the truth by design.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

use crate::common::{RunSpec, project_file, public_capture_names, public_captures_dir, run};

/// Ports the shared captures carry DNS on: tshark decodes DNS on TCP 5353
/// and UDP 8053 there too.
const TRUTH_PORTS: &[u16] = &[53, 5353, 8053];

/// Captures that dnsentry does not yet decode the way tshark does, each
/// with the reason. A capture listed here must still disagree: once it
/// agrees the test fails until it is taken off the list.
const KNOWN_GAPS: &[(&str, &str)] = &[];

#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    name: String,
    rtype: i64,
    ttl: String,
    data: String,
}

#[derive(Debug, Clone)]
struct Response {
    frame: u64,
    txid: u64,
    rcode: String,
    qname: String,
    qtype: String,
    answers: Vec<Answer>,
}

/// Types whose data is compared exactly; other types by count only.
const EXACT_TYPES: &[i64] = &[1, 2, 5, 12, 15, 28];

/// Names compare after folding: tshark and RFC 1035 escape odd bytes
/// differently, so every run of escapes, spaces, control or non-ASCII
/// characters becomes one `?`.
fn fold_name(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    let mut in_weird = false;
    while let Some(c) = chars.next() {
        let weird = if c == '\\' {
            // \DDD or \X
            let mut digits = 0;
            while digits < 3 && chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
                digits += 1;
            }
            // An escaped printable character (`\.` for a dot inside a label)
            // is that character: tshark prints it bare.
            if digits == 0 {
                match chars.next() {
                    Some(c) if c.is_ascii_graphic() => {
                        out.push(c);
                        in_weird = false;
                        continue;
                    }
                    _ => {}
                }
            }
            true
        } else {
            !c.is_ascii() || c.is_ascii_control() || c == ' ' || c == '\u{fffd}'
        };
        if weird {
            if !in_weird {
                out.push('?');
            }
            in_weird = true;
        } else {
            out.push(c);
            in_weird = false;
        }
    }
    out
}

fn fold_data(rtype: i64, data: &str) -> String {
    match rtype {
        2 | 5 | 12 => fold_name(data),
        15 => match data.split_once(' ') {
            Some((pref, exch)) => format!("{pref} {}", fold_name(exch)),
            None => data.to_string(),
        },
        _ => data.to_string(),
    }
}

/// tshark writes a placeholder such as `<Name too long>` where it could not
/// decode a name; such lines hold no truth.
fn has_placeholder(s: &str) -> bool {
    let mut rest = s;
    while let Some(i) = rest.find('<') {
        let after = &rest[i + 1..];
        if let Some(j) = after.find('>') {
            let inner = &after[..j];
            if inner.len() > 2 && inner.chars().all(|c| c.is_ascii_alphabetic() || c == ' ') {
                return true;
            }
        }
        rest = after;
    }
    false
}

fn parse_truth(path: &Path) -> Vec<Option<Response>> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|line| {
            if has_placeholder(line) {
                return None;
            }
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 8, "{}: bad line {line:?}", path.display());
            let answers = if f[7].is_empty() {
                Vec::new()
            } else {
                f[7].split(';')
                    .map(|rr| {
                        let p: Vec<&str> = rr.splitn(4, '/').collect();
                        assert_eq!(p.len(), 4, "{}: bad answer {rr:?}", path.display());
                        let rtype = p[1].parse().unwrap_or(-1);
                        Answer {
                            name: fold_name(p[0]),
                            rtype,
                            ttl: p[2].to_string(),
                            data: fold_data(rtype, p[3]),
                        }
                    })
                    .collect()
            };
            Some(Response {
                frame: f[0].parse().unwrap(),
                txid: f[3].parse().unwrap(),
                rcode: f[4].to_string(),
                qname: fold_name(f[5]),
                qtype: f[6].to_string(),
                answers,
            })
        })
        .collect()
}

fn type_codes() -> &'static HashMap<String, u16> {
    static CODES: OnceLock<HashMap<String, u16>> = OnceLock::new();
    CODES.get_or_init(|| {
        (0..=u16::MAX)
            .map(|c| (dnsentry::model::names::type_name(c).into_owned(), c))
            .collect()
    })
}

fn type_code(name: &str) -> i64 {
    *type_codes()
        .get(name)
        .unwrap_or_else(|| panic!("type name {name:?} has no code")) as i64
}

/// Our DNS log line in the truth's terms.
fn from_log(v: &Value) -> Response {
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    let answers = v["answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let rtype = type_code(a["type"].as_str().unwrap());
            Answer {
                name: fold_name(a["name"].as_str().unwrap()),
                rtype,
                ttl: a["ttl"].to_string(),
                data: fold_data(rtype, a["data"].as_str().unwrap()),
            }
        })
        .collect();
    Response {
        frame: v["source"]["packet"].as_u64().unwrap(),
        txid: v["txid"].as_u64().unwrap(),
        rcode: v["rcode"].to_string(),
        qname: fold_name(&s("qname")),
        qtype: v["qtype"]
            .as_str()
            .map(|t| type_code(t).to_string())
            .unwrap_or_default(),
        answers,
    }
}

fn compare(truth: &Response, ours: &Response) -> Vec<String> {
    let mut d = Vec::new();
    let mut check = |what: &str, t: &dyn std::fmt::Debug, o: &dyn std::fmt::Debug| {
        let (t, o) = (format!("{t:?}"), format!("{o:?}"));
        if t != o {
            d.push(format!("{what}: tshark {t} dnsentry {o}"));
        }
    };
    check("rcode", &truth.rcode, &ours.rcode);
    check("qname", &truth.qname, &ours.qname);
    check("qtype", &truth.qtype, &ours.qtype);
    let exact = |a: &[Answer]| -> Vec<Answer> {
        a.iter()
            .filter(|x| EXACT_TYPES.contains(&x.rtype))
            .cloned()
            .collect()
    };
    let others = |a: &[Answer]| a.iter().filter(|x| !EXACT_TYPES.contains(&x.rtype)).count();
    check("answers", &exact(&truth.answers), &exact(&ours.answers));
    check(
        "other answers",
        &others(&truth.answers),
        &others(&ours.answers),
    );
    d
}

/// Disagreements of one capture, as readable lines.
fn disagreements(pcap: &Path, tsv: &Path) -> Vec<String> {
    let run = run(RunSpec {
        inputs: vec![pcap.to_path_buf()],
        dns_ports: TRUTH_PORTS,
        dns_log: true,
        ..RunSpec::default()
    });
    let mut ours: BTreeMap<(u64, u64), Vec<Response>> = BTreeMap::new();
    for v in &run.dns_log {
        // tshark leaves mDNS/LLMNR and UPDATE responses out of the truth.
        let udp = v["transport"] == "udp";
        let port = |k: &str| v[k].as_u64().unwrap_or(0);
        let mdns = udp
            && [5353, 5355]
                .iter()
                .any(|p| port("src_port") == *p || port("dst_port") == *p);
        if mdns || v["opcode"] == 5 {
            continue;
        }
        let r = from_log(v);
        ours.entry((r.frame, r.txid)).or_default().push(r);
    }
    let mut out = Vec::new();
    for t in parse_truth(tsv) {
        let Some(t) = t else { continue };
        let key = (t.frame, t.txid);
        match ours
            .get_mut(&key)
            .and_then(|v| (!v.is_empty()).then(|| v.remove(0)))
        {
            Some(o) => {
                for d in compare(&t, &o) {
                    out.push(format!("frame {} id {}: {d}", t.frame, t.txid));
                }
            }
            None => out.push(format!(
                "frame {} id {}: missing in dnsentry's log",
                t.frame, t.txid
            )),
        }
    }
    // Placeholder lines hold no truth, but their messages exist: drop ours
    // for those frames before counting extras.
    let placeholder_frames: Vec<u64> = std::fs::read_to_string(tsv)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && has_placeholder(l))
        .filter_map(|l| l.split('\t').next()?.parse().ok())
        .collect();
    for ((frame, txid), rest) in ours {
        if placeholder_frames.contains(&frame) {
            continue;
        }
        for _ in rest {
            out.push(format!(
                "frame {frame} id {txid}: logged by dnsentry, not a response to tshark"
            ));
        }
    }
    out
}

/// The tshark truth kept in the repository, for capture directories that
/// have none (scripts/fetch-public-captures fetches only the captures).
fn repo_truth(stem: &str) -> PathBuf {
    project_file(&format!("tests/public-captures/tshark/{stem}.tshark.tsv"))
}

/// (name without extension, capture, tshark truth) for every capture in the
/// public-capture directory, which must hold every capture of the manifest.
fn public_captures() -> Vec<(String, PathBuf, PathBuf)> {
    let dir = public_captures_dir();
    let expected = public_capture_names();
    let missing: Vec<&String> = expected.iter().filter(|n| !dir.join(n).is_file()).collect();
    assert!(
        missing.is_empty(),
        "{} lacks {} of the {} captures in tests/public-captures/MANIFEST.tsv \
         (scripts/fetch-public-captures {0} gets them): {missing:?}",
        dir.display(),
        missing.len(),
        expected.len()
    );
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| {
            let p = e.ok()?.path();
            let ext = p.extension()?.to_str()?;
            if ext != "pcap" && ext != "pcapng" {
                return None;
            }
            let stem = p.file_stem()?.to_str()?.to_string();
            let beside = dir.join(format!("{stem}.tshark.tsv"));
            let tsv = if beside.is_file() {
                beside
            } else {
                repo_truth(&stem)
            };
            assert!(tsv.is_file(), "{}: no tshark truth for it", p.display());
            Some((stem, p, tsv))
        })
        .collect();
    v.sort();
    v
}

#[test]
#[cfg_attr(
    not(public_captures),
    ignore = "public captures not found: run scripts/fetch-public-captures and set DNSENTRY_PUBLIC_CAPTURES (or place ../shared/pcaps beside the repo)"
)]
fn dns_log_agrees_with_tshark_on_every_shared_capture() {
    let captures = public_captures();
    assert!(
        captures.len() >= 100,
        "expected the ~105 public captures, found {}",
        captures.len()
    );
    let mut failures = Vec::new();
    let mut still_gaps = Vec::new();
    let (mut responses, mut disagreeing) = (0, 0);
    for (stem, pcap, tsv) in &captures {
        let d = disagreements(pcap, tsv);
        responses += parse_truth(tsv).into_iter().flatten().count();
        disagreeing += d.len();
        let gap = KNOWN_GAPS.iter().find(|(n, _)| n == stem);
        match (gap, d.is_empty()) {
            (None, true) => {}
            (None, false) => failures.push(format!("{stem}:\n    {}", d.join("\n    "))),
            (Some((_, why)), false) => {
                still_gaps.push(format!("{stem} ({why}): {} disagreement(s)", d.len()))
            }
            (Some(_), true) => failures.push(format!("{stem}: agrees now; take it off KNOWN_GAPS")),
        }
    }
    eprintln!(
        "{} captures, DNS ports {TRUTH_PORTS:?}: {responses} responses in tshark's truth, \
         {disagreeing} disagreement(s)",
        captures.len()
    );
    if !still_gaps.is_empty() {
        eprintln!("known gaps:\n  {}", still_gaps.join("\n  "));
    }
    assert!(
        failures.is_empty(),
        "disagreements with tshark:\n{}",
        failures.join("\n")
    );
}

#[test]
#[cfg_attr(
    not(public_captures),
    ignore = "public captures not found: run scripts/fetch-public-captures and set DNSENTRY_PUBLIC_CAPTURES (or place ../shared/pcaps beside the repo)"
)]
fn shared_captures_raise_no_alert_with_the_builtin_feed() {
    let inputs: Vec<PathBuf> = public_captures().into_iter().map(|(_, p, _)| p).collect();
    let run = run(RunSpec {
        inputs,
        dns_ports: TRUTH_PORTS,
        ..RunSpec::default()
    });
    assert!(run.outcome.summary.dns_responses > 600);
    assert!(
        run.alerts.is_empty(),
        "unexpected alerts: {:#?}",
        run.alerts
    );
}

/// The copies in tests/public-captures/tshark/ are what a clone without
/// ../shared compares against: they must be the truth CI compares against.
#[test]
#[cfg_attr(
    not(public_captures),
    ignore = "public captures not found: run scripts/fetch-public-captures and set DNSENTRY_PUBLIC_CAPTURES (or place ../shared/pcaps beside the repo)"
)]
fn truth_copies_match_the_capture_directory() {
    let dir = public_captures_dir();
    let stale: Vec<String> = public_capture_names()
        .iter()
        .filter_map(|name| {
            let stem = Path::new(name).file_stem()?.to_str()?;
            let beside = dir.join(format!("{stem}.tshark.tsv"));
            let ours = std::fs::read(repo_truth(stem)).ok();
            let theirs = std::fs::read(&beside).ok()?;
            (ours.as_ref() != Some(&theirs)).then(|| stem.to_string())
        })
        .collect();
    assert!(
        stale.is_empty(),
        "tests/public-captures/tshark/ differs from {} for {stale:?}: \
         run tests/public-captures/update",
        dir.display()
    );
}

/// Needs no captures: the manifest is what scripts/fetch-public-captures
/// trusts, and every capture in it needs its truth in the repository.
#[test]
fn manifest_rows_are_complete_and_have_truth() {
    let text = std::fs::read_to_string(project_file("tests/public-captures/MANIFEST.tsv")).unwrap();
    let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    let mut stems = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 5, "bad row {line:?}");
        let (name, repo, commit, path, sha256) = (f[0], f[1], f[2], f[3], f[4]);
        assert!(
            name.ends_with(".pcap") || name.ends_with(".pcapng"),
            "{line:?}"
        );
        assert!(!name.contains('/') && !name.starts_with('.'), "{line:?}");
        assert_eq!(
            repo.split('/').filter(|p| !p.is_empty()).count(),
            2,
            "{line:?}"
        );
        assert!(
            hex(commit, 40) && hex(sha256, 64) && !path.is_empty(),
            "{line:?}"
        );
        let stem = Path::new(name).file_stem().unwrap().to_str().unwrap();
        assert!(repo_truth(stem).is_file(), "{name}: no tshark truth");
        stems.push(stem.to_string());
    }
    let mut sorted = stems.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        stems.len(),
        "duplicate captures in the manifest"
    );
    assert!(stems.len() >= 100, "only {} captures", stems.len());
    let truths = std::fs::read_dir(project_file("tests/public-captures/tshark"))
        .unwrap()
        .count();
    assert_eq!(
        truths,
        stems.len(),
        "tshark/ holds truth for captures not in the manifest"
    );
}

#[test]
fn name_folding() {
    assert_eq!(fold_name("a\\000\\001b.c"), "a?b.c");
    assert_eq!(fold_name("x\u{fffd}y"), fold_name("x\\255y"));
    assert_eq!(
        fold_name("caf\u{e9}.example"),
        fold_name("caf\\195\\169.example")
    );
    assert_eq!(fold_name("a\\.b"), "a.b");
    assert!(has_placeholder("<Name too long>"));
    assert!(!has_placeholder("a/1/2/1.2.3.4"));
}
