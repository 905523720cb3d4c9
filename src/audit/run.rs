//! One audit: for each monitored zone, the delegation at every server of
//! its parent, then every question of its plan at every authoritative
//! server (those the expect file lists and those the parent names now).
//! Servers are asked in parallel, each one question at a time at its rate.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use super::client::{Answer, Client, ClientOptions, QueryError, Question};
use super::delegation::{Resolver, glue_of, ns_targets};
use super::hints::Server;
use super::plan::{ZonePlan, plans};
use crate::expect::ExpectedZones;
use crate::model::audit::{AuditQuery, AuditRole};
use crate::model::names::{rcode_name, type_name};

const RCODE_NOERROR: u8 = 0;
const RCODE_NXDOMAIN: u8 = 3;

/// After this many questions in a row without a usable answer, a server's
/// remaining questions are not asked (each is reported failed): a dead
/// server would otherwise cost every question's timeouts.
const GIVE_UP_AFTER: usize = 2;
/// Servers asked at once.
const PARALLEL: usize = 16;

/// What an audit is given.
#[derive(Clone, Debug)]
pub struct AuditOptions {
    /// Where iterative resolution starts.
    pub roots: Vec<Server>,
    /// The parent's servers, when given instead of found.
    pub parent_servers: Vec<SocketAddr>,
    /// More names to ask about (each joins the zone it falls in).
    pub names: Vec<String>,
    /// The organisation's resolvers: asked the authoritative servers'
    /// questions with recursion desired.
    pub resolvers: Vec<SocketAddr>,
    pub client: ClientOptions,
    /// The port name servers are asked on, when not given (53).
    pub port: u16,
    /// The audit stops asking past this instant.
    pub deadline: Instant,
}

/// A question that got an answer.
#[derive(Clone, Debug)]
pub struct Asked {
    pub query: AuditQuery,
    pub answer: Answer,
}

/// A question that got none, or a server that could not be found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub server: Option<SocketAddr>,
    pub server_name: Option<String>,
    pub role: AuditRole,
    pub zone: String,
    /// `NAME TYPE`.
    pub question: String,
    pub reason: String,
}

/// Everything an audit found, in a fixed order (zone, role, server,
/// question).
#[derive(Debug, Default)]
pub struct AuditResult {
    pub answers: Vec<Asked>,
    pub failures: Vec<Failure>,
    pub zones: u64,
    /// Distinct servers asked about the zones (parents, authoritative and
    /// resolvers).
    pub servers: u64,
    /// Questions sent, delegation lookups included: each was answered or
    /// failed.
    pub asked: u64,
    pub answered: u64,
    pub failed: u64,
    /// Questions not sent: the server answered none before, had no
    /// address, or the audit's time was up.
    pub not_asked: u64,
}

/// Audits every zone of `zones`.
pub fn audit(zones: &ExpectedZones, opts: &AuditOptions) -> AuditResult {
    let mut all = AuditResult::default();
    let mut servers: Vec<SocketAddr> = Vec::new();
    audit_each(zones, opts, |zone, seen| {
        all.zones += zone.zones;
        all.asked += zone.asked;
        all.answered += zone.answered;
        all.failed += zone.failed;
        all.not_asked += zone.not_asked;
        all.answers.extend(zone.answers);
        all.failures.extend(zone.failures);
        for s in seen {
            if !servers.contains(s) {
                servers.push(*s);
            }
        }
        true
    });
    all.servers = servers.len() as u64;
    all
}

/// Audits the zones of `zones` one after the other, handing each zone's
/// result (and the servers it asked) to `each` as soon as it is done;
/// stops when `each` says `false`.
pub fn audit_each(
    zones: &ExpectedZones,
    opts: &AuditOptions,
    mut each: impl FnMut(AuditResult, &[SocketAddr]) -> bool,
) {
    let client = Client::new(opts.client.clone(), opts.deadline);
    let resolver = Resolver {
        client: &client,
        roots: &opts.roots,
        port: opts.port,
    };
    use std::sync::atomic::Ordering::Relaxed;
    let t = &client.tally;
    for plan in plans(zones, &opts.names) {
        let before = [
            t.asked.load(Relaxed),
            t.answered.load(Relaxed),
            t.failed.load(Relaxed),
            t.not_asked.load(Relaxed),
            t.unusable.load(Relaxed),
        ];
        let mut out = AuditResult {
            zones: 1,
            ..AuditResult::default()
        };
        let mut seen: Vec<SocketAddr> = Vec::new();
        audit_zone(&plan, opts, &client, &resolver, &mut out, &mut seen);
        let delta = |i: usize, now: u64| now - before.get(i).copied().unwrap_or(0);
        out.servers = seen.len() as u64;
        out.asked = delta(0, t.asked.load(Relaxed));
        // An error code or a lame answer is no answer about the zone.
        let unusable = delta(4, t.unusable.load(Relaxed));
        out.answered = delta(1, t.answered.load(Relaxed)).saturating_sub(unusable);
        out.failed = delta(2, t.failed.load(Relaxed)) + unusable;
        // Name servers without an address: their questions were never
        // asked.
        let unaddressed = out.failures.iter().filter(|f| f.server.is_none()).count() as u64;
        out.not_asked = delta(3, t.not_asked.load(Relaxed)) + unaddressed;
        if !each(out, &seen) {
            return;
        }
    }
}

fn audit_zone(
    plan: &ZonePlan,
    opts: &AuditOptions,
    client: &Client,
    resolver: &Resolver<'_>,
    out: &mut AuditResult,
    seen: &mut Vec<SocketAddr>,
) {
    let zone = &plan.zone;
    let parents: Vec<Target> = if opts.parent_servers.is_empty() {
        match resolver.parent_of(zone) {
            Ok(p) => p
                .servers
                .into_iter()
                .map(|s| Target {
                    addr: SocketAddr::new(s.addr, opts.port),
                    name: s.name,
                })
                .collect(),
            Err(e) => {
                out.failures.push(Failure {
                    server: e.server(),
                    server_name: None,
                    role: AuditRole::Parent,
                    zone: zone.clone(),
                    question: format!("{zone} NS"),
                    reason: format!("cannot find the parent's servers: {e}"),
                });
                Vec::new()
            }
        }
    } else {
        opts.parent_servers
            .iter()
            .map(|a| Target {
                addr: *a,
                name: None,
            })
            .collect()
    };
    let parent_answers = ask_all(client, &parents, &plan.parent, AuditRole::Parent, zone, out);
    note_servers(seen, &parents);

    // The zone's servers: those the parent names now (at their glue, else
    // looked up), those the expect file names, and its listed addresses.
    let mut auth: Vec<Target> = Vec::new();
    let add = |auth: &mut Vec<Target>, name: Option<String>, addr: IpAddr| {
        let addr = SocketAddr::new(addr, opts.port);
        if !auth.iter().any(|t| t.addr == addr) {
            auth.push(Target { addr, name });
        }
    };
    let mut named: Vec<String> = Vec::new();
    for a in &parent_answers {
        let resp = &a.answer.response;
        for ns in ns_targets(&resp.authority, zone)
            .into_iter()
            .chain(ns_targets(&resp.answers, zone))
        {
            for g in glue_of(resp, &ns) {
                add(&mut auth, Some(ns.clone()), g);
            }
            if !named.contains(&ns) {
                named.push(ns);
            }
        }
    }
    for ns in named.iter().chain(plan.expected_ns.iter()) {
        if auth.iter().any(|t| t.name.as_deref() == Some(ns.as_str())) {
            continue;
        }
        let addrs = resolver.addresses(ns, 0);
        if addrs.is_empty() {
            out.failures.push(Failure {
                server: None,
                server_name: Some(ns.clone()),
                role: AuditRole::Authoritative,
                zone: zone.clone(),
                question: format!("{ns} A/AAAA"),
                reason: "no address found for the name server".into(),
            });
        }
        for addr in addrs {
            add(&mut auth, Some(ns.clone()), addr);
        }
    }
    for addr in &plan.expected_ns_addresses {
        add(&mut auth, None, *addr);
    }
    ask_all(
        client,
        &auth,
        &plan.authoritative,
        AuditRole::Authoritative,
        zone,
        out,
    );
    note_servers(seen, &auth);

    // What clients are told: an answer that differs from the zone's is a
    // poisoned cache or someone on the path.
    let resolvers: Vec<Target> = opts
        .resolvers
        .iter()
        .map(|a| Target {
            addr: *a,
            name: None,
        })
        .collect();
    let recursive: Vec<Question> = plan
        .authoritative
        .iter()
        .map(|q| Question {
            recurse: true,
            ..q.clone()
        })
        .collect();
    ask_all(
        client,
        &resolvers,
        &recursive,
        AuditRole::Resolver,
        zone,
        out,
    );
    note_servers(seen, &resolvers);
}

/// A server to ask.
#[derive(Clone, Debug)]
struct Target {
    addr: SocketAddr,
    name: Option<String>,
}

fn note_servers(seen: &mut Vec<SocketAddr>, targets: &[Target]) {
    for t in targets {
        if !seen.contains(&t.addr) {
            seen.push(t.addr);
        }
    }
}

/// Asks every target every question, targets in parallel; appends the
/// answers and failures to `out` in target order, and returns this
/// call's answers.
fn ask_all(
    client: &Client,
    targets: &[Target],
    questions: &[Question],
    role: AuditRole,
    zone: &str,
    out: &mut AuditResult,
) -> Vec<Asked> {
    let mut mine = Vec::new();
    for chunk in targets.chunks(PARALLEL) {
        let results: Vec<(Vec<Asked>, Vec<Failure>)> = std::thread::scope(|s| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|t| s.spawn(move || ask_one(client, t, questions, role, zone)))
                .collect();
            handles
                .into_iter()
                .zip(chunk)
                .map(|(h, t)| {
                    h.join().unwrap_or_else(|_| {
                        let failure = Failure {
                            server: Some(t.addr),
                            server_name: t.name.clone(),
                            role,
                            zone: zone.to_string(),
                            question: "-".into(),
                            reason: "the audit thread failed".into(),
                        };
                        (Vec::new(), vec![failure])
                    })
                })
                .collect()
        });
        for (answers, failures) in results {
            mine.extend(answers.iter().cloned());
            out.answers.extend(answers);
            out.failures.extend(failures);
        }
    }
    mine
}

fn ask_one(
    client: &Client,
    t: &Target,
    questions: &[Question],
    role: AuditRole,
    zone: &str,
) -> (Vec<Asked>, Vec<Failure>) {
    let mut answers = Vec::new();
    let mut failures = Vec::new();
    let mut silent = 0;
    for (i, q) in questions.iter().enumerate() {
        let question = format!("{} {}", q.name, type_name(q.qtype));
        let failure = |reason: String| Failure {
            server: Some(t.addr),
            server_name: t.name.clone(),
            role,
            zone: zone.to_string(),
            question: question.clone(),
            reason,
        };
        if silent >= GIVE_UP_AFTER {
            // One event for the rest: each would say the same.
            let rest = questions.len() - i;
            client
                .tally
                .not_asked
                .fetch_add(rest as u64, std::sync::atomic::Ordering::Relaxed);
            failures.push(failure(format!(
                "not asked, nor the {} question(s) after it: the server answered none of the {GIVE_UP_AFTER} before",
                rest - 1
            )));
            break;
        }
        match client.ask(t.addr, q) {
            Ok(answer) => {
                // The server answered, but not for the zone: it no longer
                // serves it (lame), or refuses the sensor. That counts as
                // no answer; its records, if any, are still matched.
                match unusable(&answer, role) {
                    Some(problem) => {
                        silent += 1;
                        client
                            .tally
                            .unusable
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        failures.push(failure(problem));
                    }
                    None => silent = 0,
                }
                let query = AuditQuery {
                    server: t.addr,
                    server_name: t.name.clone(),
                    role,
                    zone: zone.to_string(),
                    qname: q.name.clone(),
                    qtype: q.qtype,
                    transport: answer.response.meta.transport,
                };
                answers.push(Asked { query, answer });
            }
            Err(e @ QueryError::NoRoute(_)) => {
                // The sensor cannot reach this address at all (an IPv6
                // server from a host without IPv6): one event, not one per
                // question.
                let rest = questions.len() - i - 1;
                client
                    .tally
                    .not_asked
                    .fetch_add(rest as u64, std::sync::atomic::Ordering::Relaxed);
                failures.push(failure(format!(
                    "{e}; the {rest} question(s) after it not asked"
                )));
                break;
            }
            Err(e) => {
                silent += 1;
                failures.push(failure(e.to_string()));
            }
        }
    }
    (answers, failures)
}

/// Why an answer does not count as the server's word on the zone: an
/// error code, or (from a server asked as authoritative) no AA flag.
fn unusable(answer: &Answer, role: AuditRole) -> Option<String> {
    let r = &answer.response;
    if !matches!(r.rcode, RCODE_NOERROR | RCODE_NXDOMAIN) {
        return Some(format!("answered {}", rcode_name(r.rcode)));
    }
    (role == AuditRole::Authoritative && !r.flags.aa).then(|| {
        "answered without authority (AA not set): the server does not serve the zone".into()
    })
}

impl Failure {
    /// The failure as the sensor event every output writes.
    pub fn event(&self, ts: &str) -> crate::stats::SensorEvent {
        crate::stats::SensorEvent::AuditFailed {
            ts: ts.to_string(),
            severity: crate::model::Severity::High.as_str(),
            server: self
                .server
                .map_or_else(|| "-".to_string(), |a| a.to_string()),
            server_name: self.server_name.clone(),
            role: self.role.as_str(),
            zone: self.zone.clone(),
            question: self.question.clone(),
            reason: self.reason.clone(),
        }
    }
}
