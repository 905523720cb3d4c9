//! `report --dns-log`: what each hijacked name resolved to before, during
//! and after its hijack window (from the first to the last alert for it),
//! from dnsentry's DNS log (native, EVE or ECS, told apart per line).
//!
//! The log is streamed once and only records of followed names are kept,
//! as a few distinct answer sets per phase: before the window the latest
//! ones (what the name resolved to when it was taken), during it the first
//! ones, after it the earliest ones (when and to what it was put back).
//! Responses of answer sets not kept are counted.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value;

use super::aggregate::{Capped, HijackedName, Span};
use super::read::{each_line, micros, rfc3339};
use crate::error::FileError;
use crate::expect::ExpectedZones;
use crate::model::text::escape_text;

/// Hijacked names followed in the DNS log: the most alerted.
pub const NAMES: usize = 50;
/// Distinct answer sets kept per name and phase.
pub const SETS: usize = 6;
/// Answers kept per set; a longer set shows how many more it had.
const ANSWERS: usize = 16;

/// Where a response falls against its name's hijack window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Before,
    During,
    After,
}

/// Responses that gave the same answers.
#[derive(Clone, Debug, PartialEq)]
pub struct AnswerSet {
    pub qtype: String,
    pub rcode: String,
    /// `TYPE data`, with the owner first when it is not the name asked.
    pub answers: Vec<String>,
    pub responses: u64,
    pub first: String,
    pub first_micros: i64,
    pub last: String,
    pub last_micros: i64,
    pub clients: Capped,
    pub servers: Capped,
    /// With `--expect`: whether every answer the zones' expected records
    /// judge is allowed by them (`None`: none is judged).
    pub expected: Option<bool>,
}

impl AnswerSet {
    fn same_answers(&self, other: &AnswerSet) -> bool {
        self.qtype == other.qtype && self.rcode == other.rcode && self.answers == other.answers
    }
}

/// One phase's answer sets.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PhaseAnswers {
    /// By first response.
    pub sets: Vec<AnswerSet>,
    /// Responses whose answer set was not kept.
    pub others: u64,
}

impl PhaseAnswers {
    fn add(&mut self, phase: Phase, r: &Record<'_>, zones: Option<&ExpectedZones>) {
        if let Some(set) = self.sets.iter_mut().find(|s| r.is(s)) {
            set.responses += 1;
            if r.micros < set.first_micros {
                set.first_micros = r.micros;
                set.first = r.ts.clone();
            }
            if r.micros > set.last_micros {
                set.last_micros = r.micros;
                set.last = r.ts.clone();
            }
            set.clients.insert(&r.client);
            set.servers.insert(&r.server);
            return;
        }
        if self.sets.len() >= SETS {
            // Before the window the latest answers matter, after it the
            // earliest; during it, the first kept stay.
            let victim = match phase {
                Phase::Before => self
                    .sets
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, s)| s.last_micros)
                    .filter(|(_, s)| s.last_micros < r.micros),
                Phase::After => self
                    .sets
                    .iter()
                    .enumerate()
                    .max_by_key(|(_, s)| s.first_micros)
                    .filter(|(_, s)| s.first_micros > r.micros),
                Phase::During => None,
            }
            .map(|(i, _)| i);
            match victim {
                Some(i) => {
                    let gone = self.sets.swap_remove(i);
                    self.others += gone.responses;
                }
                None => {
                    self.others += 1;
                    return;
                }
            }
        }
        let mut set = AnswerSet {
            qtype: r.qtype.clone(),
            rcode: r.rcode.clone(),
            answers: r.answers.clone(),
            responses: 1,
            first: r.ts.clone(),
            first_micros: r.micros,
            last: r.ts.clone(),
            last_micros: r.micros,
            clients: Capped::default(),
            servers: Capped::default(),
            expected: zones.and_then(|z| judge(z, &r.parts)),
        };
        set.clients.insert(&r.client);
        set.servers.insert(&r.server);
        self.sets.push(set);
    }

    fn sort(&mut self) {
        self.sets.sort_by_key(|s| (s.first_micros, s.last_micros));
    }
}

/// A hijacked name's answers around its window.
#[derive(Clone, Debug, PartialEq)]
pub struct NameHistory {
    pub name: String,
    pub alerts: u64,
    /// From the first to the last alert for the name.
    pub window: Span,
    pub kinds: Vec<String>,
    pub before: PhaseAnswers,
    pub during: PhaseAnswers,
    pub after: PhaseAnswers,
}

/// How a type's first answers after the window compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// They are the last answers before the window.
    PutBack,
    /// They are answers seen during the window.
    StillHijacked,
    /// Neither, but the zones' expected records (`--expect`) allow them.
    Expected,
    /// Neither (or there is nothing before the window to compare with).
    Changed,
}

/// One record type of a hijacked name, told in order.
#[derive(Debug, PartialEq)]
pub struct TypeStory<'a> {
    pub qtype: &'a str,
    /// The latest answers before the window.
    pub before: Option<&'a AnswerSet>,
    pub during: Vec<&'a AnswerSet>,
    /// The earliest answers after it, and how they compare.
    pub after: Option<(&'a AnswerSet, Outcome)>,
}

impl NameHistory {
    /// The types answered during the window (every type answered, when
    /// the log holds nothing from the window), in the order first seen.
    pub fn stories<'a>(&'a self) -> Vec<TypeStory<'a>> {
        let phases: Vec<&PhaseAnswers> = if self.during.sets.is_empty() {
            vec![&self.before, &self.after]
        } else {
            vec![&self.during]
        };
        let mut types: Vec<&str> = Vec::new();
        for set in phases.iter().flat_map(|p| &p.sets) {
            if !types.contains(&set.qtype.as_str()) {
                types.push(&set.qtype);
            }
        }
        types
            .into_iter()
            .map(|qtype| {
                let of = |p: &'a PhaseAnswers| -> Vec<&'a AnswerSet> {
                    p.sets.iter().filter(|s| s.qtype == qtype).collect()
                };
                let before = of(&self.before).into_iter().max_by_key(|s| s.last_micros);
                let during = of(&self.during);
                let after = of(&self.after)
                    .into_iter()
                    .min_by_key(|s| s.first_micros)
                    .map(|a| {
                        let outcome = if before.is_some_and(|b| b.same_answers(a)) {
                            Outcome::PutBack
                        } else if during.iter().any(|d| d.same_answers(a)) {
                            Outcome::StillHijacked
                        } else if a.expected == Some(true) {
                            Outcome::Expected
                        } else {
                            Outcome::Changed
                        };
                        (a, outcome)
                    });
                TypeStory {
                    qtype,
                    before,
                    during,
                    after,
                }
            })
            .collect()
    }

    pub fn responses(&self) -> u64 {
        [&self.before, &self.during, &self.after]
            .iter()
            .map(|p| p.sets.iter().map(|s| s.responses).sum::<u64>() + p.others)
            .sum()
    }
}

/// A record of a followed name, whatever format carried it.
#[derive(Debug)]
struct Record<'a> {
    ts: String,
    micros: i64,
    qtype: String,
    rcode: String,
    answers: Vec<String>,
    /// Each answer's owner (lower case), type and data, for `--expect`.
    parts: Vec<(String, String, String)>,
    client: Cow<'a, str>,
    server: Cow<'a, str>,
}

impl Record<'_> {
    fn is(&self, set: &AnswerSet) -> bool {
        set.qtype == self.qtype && set.rcode == self.rcode && set.answers == self.answers
    }
}

/// The fields of a DNS-log line of any format that tell it apart and
/// name its question, read without building the whole document; the
/// rest of the line is parsed only for followed names.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow, default)]
    ts: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    qname: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    event_type: Option<Cow<'a, str>>,
    #[serde(default)]
    dns: Option<DnsObject<'a>>,
    /// ECS.
    #[serde(borrow, default)]
    event: Option<EcsEvent<'a>>,
}

#[derive(Deserialize)]
struct EcsEvent<'a> {
    #[serde(borrow, default)]
    dataset: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct DnsObject<'a> {
    /// EVE v3.
    #[serde(borrow, default)]
    queries: Vec<EveQuery<'a>>,
    /// ECS.
    #[serde(borrow, default)]
    question: Option<EcsQuestion<'a>>,
}

#[derive(Deserialize)]
struct EveQuery<'a> {
    #[serde(borrow)]
    rrname: Cow<'a, str>,
}

#[derive(Deserialize)]
struct EcsQuestion<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Format {
    Native,
    Eve,
    Ecs,
}

/// The question of a DNS-log line and its format; `None` for lines that
/// are not DNS records (alerts, sensor events, other EVE events), which a
/// combined file may hold.
fn head(line: &str) -> Result<Option<(String, Format)>, String> {
    let h: Head<'_> = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    if let Some(event_type) = &h.event_type {
        if event_type != "dns" {
            return Ok(None);
        }
        let name = h.dns.as_ref().and_then(|d| d.queries.first());
        return Ok(name.map(|q| (q.rrname.to_lowercase(), Format::Eve)));
    }
    if let Some(event) = &h.event {
        // An ECS alert carries its response's question too.
        if event.dataset.as_deref() != Some("dnsentry.dns") {
            return Ok(None);
        }
        let name = h.dns.as_ref().and_then(|d| d.question.as_ref());
        return Ok(name.map(|q| (q.name.to_lowercase(), Format::Ecs)));
    }
    if h.kind.is_some() {
        return Ok(None);
    }
    match (&h.ts, &h.qname) {
        (Some(_), Some(q)) => Ok(Some((q.to_lowercase(), Format::Native))),
        _ => Err("not a DNS-log record (native, eve or ecs)".into()),
    }
}

fn s(v: &Value, pointer: &str) -> String {
    match v.pointer(pointer) {
        Some(Value::String(s)) => escape_text(s).into_owned(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// `TYPE data`, with the owner first when it is not `qname`.
fn answer(qname: &str, owner: &str, rtype: &str, data: &str) -> String {
    if owner.eq_ignore_ascii_case(qname) {
        format!("{rtype} {data}")
    } else {
        format!("{owner} {rtype} {data}")
    }
}

fn record<'a>(v: &'a Value, qname: &str, format: Format) -> Result<Record<'a>, String> {
    let (ts, qtype, rcode, client, server, list, keys) = match format {
        Format::Native => (
            s(v, "/ts"),
            s(v, "/qtype"),
            s(v, "/rcode_name"),
            "/dst_ip",
            "/src_ip",
            "/answers",
            ["/name", "/type", "/data"],
        ),
        Format::Eve => (
            rfc3339(&s(v, "/timestamp")),
            s(v, "/dns/queries/0/rrtype"),
            s(v, "/dns/rcode"),
            "/dest_ip",
            "/src_ip",
            "/dns/answers",
            ["/rrname", "/rrtype", "/rdata"],
        ),
        Format::Ecs => (
            s(v, "/@timestamp"),
            s(v, "/dns/question/type"),
            s(v, "/dns/response_code"),
            "/source/ip",
            "/destination/ip",
            "/dns/answers",
            ["/name", "/type", "/data"],
        ),
    };
    let parts: Vec<(String, String, String)> = match v.pointer(list) {
        Some(Value::Array(items)) => items
            .iter()
            .take(ANSWERS + 1)
            .map(|a| (s(a, keys[0]).to_lowercase(), s(a, keys[1]), s(a, keys[2])))
            .collect(),
        _ => Vec::new(),
    };
    let mut answers: Vec<String> = match v.pointer(list) {
        Some(Value::Array(items)) => items
            .iter()
            .map(|a| answer(qname, &s(a, keys[0]), &s(a, keys[1]), &s(a, keys[2])))
            .collect(),
        _ => Vec::new(),
    };
    // Resolvers rotate record order: a set is the same set in any order,
    // the chain's CNAMEs first.
    answers.sort_by(|a, b| (!a.contains(" CNAME "), a).cmp(&(!b.contains(" CNAME "), b)));
    answers.dedup();
    if answers.len() > ANSWERS {
        let more = answers.len() - ANSWERS;
        answers.truncate(ANSWERS);
        answers.push(format!("and {more} more"));
    }
    let text = |pointer: &str| -> Cow<'a, str> {
        match v.pointer(pointer) {
            Some(Value::String(s)) => escape_text(s),
            _ => Cow::Borrowed(""),
        }
    };
    Ok(Record {
        micros: micros(&ts)?,
        ts,
        qtype,
        rcode,
        answers,
        parts,
        client: text(client),
        server: text(server),
    })
}

/// Whether the zones' expected records allow every answer of `parts`
/// they have a say on; `None` when they have none (other types, names
/// outside the zones).
fn judge(zones: &ExpectedZones, parts: &[(String, String, String)]) -> Option<bool> {
    let mut verdict = None;
    for (owner, rtype, data) in parts {
        let owner = owner.trim_end_matches('.');
        let Some(zone) = zones.zone_for(owner) else {
            continue;
        };
        let policy = zone.effective(owner);
        let name = || {
            data.split_whitespace()
                .last()
                .unwrap_or_default()
                .trim_end_matches('.')
                .to_lowercase()
        };
        let allowed = match rtype.as_str() {
            "A" => policy.a.zip(data.parse().ok()).map(|(p, ip)| p.allows(ip)),
            "AAAA" => policy
                .aaaa
                .zip(data.parse().ok())
                .map(|(p, ip)| p.allows(ip)),
            "NS" => policy.ns.map(|p| p.allows(&name())),
            "MX" => policy.mx.map(|p| p.allows(&name())),
            "CNAME" => policy.cname.map(|p| p.allows(&name())),
            _ => None,
        };
        match allowed {
            Some(false) => return Some(false),
            Some(true) => verdict = Some(true),
            None => {}
        }
    }
    verdict
}

/// The answers of the most alerted hijacked names (`hijacked` most alerts
/// first) in the DNS logs at `paths`, streamed once; each answer set
/// judged against `zones` when given.
pub fn read_dns_logs(
    paths: &[PathBuf],
    hijacked: &[HijackedName],
    zones: Option<&ExpectedZones>,
) -> Result<Vec<NameHistory>, FileError> {
    let mut histories: Vec<NameHistory> = hijacked
        .iter()
        .take(NAMES)
        .map(|h| NameHistory {
            name: h.name.clone(),
            alerts: h.alerts,
            window: h.span.clone(),
            kinds: h.kinds.iter().cloned().collect(),
            before: PhaseAnswers::default(),
            during: PhaseAnswers::default(),
            after: PhaseAnswers::default(),
        })
        .collect();
    let index: HashMap<String, usize> = histories
        .iter()
        .enumerate()
        .map(|(i, h)| (h.name.clone(), i))
        .collect();
    for path in paths {
        each_line(path, "DNS log", |line| {
            let Some((qname, format)) = head(line)? else {
                return Ok(());
            };
            let Some(history) = index.get(&qname).and_then(|&i| histories.get_mut(i)) else {
                return Ok(());
            };
            let v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
            let r = record(&v, &qname, format)?;
            let (phase, answers) = if r.micros < history.window.first_micros {
                (Phase::Before, &mut history.before)
            } else if r.micros > history.window.last_micros {
                (Phase::After, &mut history.after)
            } else {
                (Phase::During, &mut history.during)
            };
            answers.add(phase, &r, zones);
            Ok(())
        })?;
    }
    for h in &mut histories {
        h.before.sort();
        h.during.sort();
        h.after.sort();
    }
    Ok(histories)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn native(t: u32, qname: &str, data: &str) -> String {
        format!(
            r#"{{"ts":"2019-01-10T09:00:{t:02}Z","src_ip":"10.1.0.53","dst_ip":"10.1.2.{t}","qname":"{qname}","qtype":"A","rcode_name":"NOERROR","answers":[{{"name":"{qname}","type":"A","ttl":300,"data":"{data}"}}],"source":{{"file":"x.pcap","packet":1}}}}"#
        )
    }

    fn window(first: u32, last: u32) -> HijackedName {
        let ts = |t: u32| format!("2019-01-10T09:00:{t:02}Z");
        HijackedName {
            name: "mail.example.org".into(),
            alerts: 2,
            span: Span {
                first: ts(first),
                first_micros: micros(&ts(first)).unwrap(),
                last: ts(last),
                last_micros: micros(&ts(last)).unwrap(),
            },
            kinds: ["unexpected_address".to_string()].into(),
        }
    }

    #[test]
    fn answers_fall_before_during_and_after_the_window() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("dns.json");
        let mut lines = vec![
            native(1, "mail.example.org", "192.0.2.25"),
            native(2, "www.example.org", "192.0.2.10"),
            native(3, "MAIL.example.org", "192.0.2.25"),
            native(10, "mail.example.org", "185.20.187.8"),
            native(12, "mail.example.org", "185.20.187.8"),
            native(30, "mail.example.org", "192.0.2.25"),
            native(31, "mail.example.org", "192.0.2.25"),
        ];
        // An alert in the same file is not a record; an EVE one for the
        // name, after the window, is.
        lines.push(r#"{"ts":"2019-01-10T09:00:10Z","kind":"unexpected_address","qname":"mail.example.org"}"#.into());
        lines.push(r#"{"timestamp":"2019-01-10T09:00:40.000000+0000","event_type":"dns","src_ip":"10.1.0.53","dest_ip":"10.1.2.9","dns":{"rcode":"NOERROR","queries":[{"rrname":"mail.example.org","rrtype":"A"}],"answers":[{"rrname":"mail.example.org","rrtype":"A","ttl":300,"rdata":"192.0.2.25"}]}}"#.into());
        std::fs::write(&log, lines.join("\n")).unwrap();
        let h = read_dns_logs(&[log], &[window(10, 20)], None).unwrap();
        let h = &h[0];
        assert_eq!(h.before.sets.len(), 1);
        assert_eq!(h.before.sets[0].responses, 2);
        assert_eq!(h.before.sets[0].answers, ["A 192.0.2.25"]);
        assert_eq!(h.during.sets[0].answers, ["A 185.20.187.8"]);
        assert_eq!(h.during.sets[0].responses, 2);
        assert_eq!(h.after.sets[0].responses, 3);
        assert_eq!(h.after.sets[0].first, "2019-01-10T09:00:30Z");
        assert_eq!(h.after.sets[0].clients.total(), 3);
        assert_eq!(h.responses(), 7);
        let stories = h.stories();
        assert_eq!(stories.len(), 1);
        assert_eq!(stories[0].qtype, "A");
        assert_eq!(stories[0].before, h.before.sets.first());
        assert_eq!(stories[0].during.len(), 1);
        assert_eq!(stories[0].after, Some((&h.after.sets[0], Outcome::PutBack)));
    }

    #[test]
    fn before_keeps_the_latest_sets_and_after_the_earliest() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("dns.json");
        let lines: Vec<String> = (0..40)
            .filter(|t| !(10..=20).contains(t))
            .map(|t| native(t, "mail.example.org", &format!("192.0.2.{t}")))
            .collect();
        std::fs::write(&log, lines.join("\n")).unwrap();
        let h = &read_dns_logs(&[log], &[window(10, 20)], None).unwrap()[0];
        assert_eq!(h.before.sets.len(), SETS);
        assert_eq!(
            h.before.sets[0].answers,
            [format!("A 192.0.2.{}", 10 - SETS)]
        );
        assert_eq!(h.before.sets[SETS - 1].answers, ["A 192.0.2.9"]);
        assert_eq!(h.before.others, 10 - SETS as u64);
        assert_eq!(h.after.sets[0].answers, ["A 192.0.2.21"]);
        assert_eq!(h.after.others, 19 - SETS as u64);
        let stories = h.stories();
        assert_eq!(stories[0].after.unwrap().1, Outcome::Changed);
        assert!(stories[0].during.is_empty());
    }

    #[test]
    fn answers_after_the_window_are_judged_against_the_expected_records() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("dns.json");
        let lines = [
            native(12, "mail.example.org", "185.20.187.8"),
            native(30, "mail.example.org", "192.0.2.25"),
        ];
        std::fs::write(&log, lines.join("\n")).unwrap();
        let zones = crate::expect::parse_expect(
            "zones.toml",
            "[[zone]]\nname = \"example.org\"\na = [\"192.0.2.0/24\"]\n",
        )
        .unwrap();
        let h = &read_dns_logs(&[log], &[window(10, 20)], Some(&zones)).unwrap()[0];
        assert_eq!(h.during.sets[0].expected, Some(false));
        assert_eq!(h.after.sets[0].expected, Some(true));
        assert_eq!(h.stories()[0].after.unwrap().1, Outcome::Expected);
        let other = [(
            "www.other.test".to_string(),
            "A".to_string(),
            "192.0.2.1".to_string(),
        )];
        assert_eq!(judge(&zones, &other), None);
        let mx = [(
            "example.org".to_string(),
            "MX".to_string(),
            "10 mx.example.org".to_string(),
        )];
        assert_eq!(judge(&zones, &mx), None, "the zone sets no mx");
    }

    #[test]
    fn a_line_that_is_no_record_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("dns.json");
        std::fs::write(
            &log,
            format!("{}\n{{\"x\":1}}\n", native(1, "a.test", "192.0.2.1")),
        )
        .unwrap();
        let e = read_dns_logs(&[log], &[window(10, 20)], None).unwrap_err();
        assert_eq!(e.line, 2, "{e}");
    }
}
