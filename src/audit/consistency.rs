//! `inconsistent_servers`: servers of one zone that answer one question
//! differently. Authoritative servers should all serve the same zone: a
//! different SOA serial is a secondary that stopped transferring (or one
//! the attacker edited), different records for a name are a change made
//! at one server only. A resolver should pass on what the authoritative
//! servers say: an answer none of them gave is a poisoned cache or an
//! on-path rewrite.
//!
//! One audit compares what the servers say now: it cannot tell how long
//! they have disagreed, so a zone change caught halfway through its
//! transfers is reported too (README, "Audit").
//!
//! Only the zone's own records are compared (a resolver follows a CNAME
//! out of the zone, an authoritative server does not), without TTLs (a
//! resolver counts them down) and without DNSSEC records (compared by
//! [`super::dnssec`]); answers that are no answer about the zone (an
//! error code, no AA from an authoritative server) are left out: they are
//! `audit_failed` events already.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::Finding;
use super::delegation::folded;
use super::run::Asked;
use crate::expect::ExpectedZones;
use crate::model::audit::AuditRole;
use crate::model::names::{rcode_name, type_name};
use crate::model::{AlertKind, DnsResponse, Rdata};

const TYPE_RRSIG: u16 = 46;
const TYPE_NSEC: u16 = 47;
const TYPE_DNSKEY: u16 = 48;
const TYPE_NSEC3: u16 = 50;
const RCODE_NOERROR: u8 = 0;
const RCODE_NXDOMAIN: u8 = 3;

/// Every question servers of one zone answered differently: one finding
/// on the first authoritative answer that differs from the first
/// server's, and one on each resolver answer no authoritative server gave.
pub fn check(zones: &ExpectedZones, answers: &[Asked]) -> Vec<Finding> {
    // (zone, name, type) → answers in audit order.
    let mut questions: BTreeMap<(String, String, u16), Vec<(usize, View)>> = BTreeMap::new();
    for (i, a) in answers.iter().enumerate() {
        let q = &a.query;
        if q.role == AuditRole::Parent || !usable(&a.answer.response, q.role) {
            continue;
        }
        let view = view(zones, &q.zone, &a.answer.response);
        questions
            .entry((q.zone.clone(), folded(&q.qname), q.qtype))
            .or_default()
            .push((i, view));
    }
    // The newest copy of each zone: the highest SOA serial any of its
    // authoritative servers holds, and who holds it.
    let mut serials: BTreeMap<(String, SocketAddr), u32> = BTreeMap::new();
    for a in answers {
        let q = &a.query;
        if q.role != AuditRole::Authoritative || !usable(&a.answer.response, q.role) {
            continue;
        }
        for r in &a.answer.response.answers {
            if let Rdata::Soa { serial, .. } = r.data {
                serials.insert((q.zone.clone(), q.server), serial);
            }
        }
    }
    let mut out = Vec::new();
    for ((zone, qname, qtype), asked) in questions {
        let role = |i: usize| answers.get(i).map(|a| a.query.role);
        let addr = |i: usize| answers.get(i).map(|a| a.query.server);
        // What the authoritative servers say: each view, its servers, its
        // first answer.
        let mut groups: Vec<Group<'_>> = Vec::new();
        for (i, v) in asked
            .iter()
            .filter(|(i, _)| role(*i) == Some(AuditRole::Authoritative))
        {
            let Some(server) = addr(*i) else { continue };
            match groups.iter_mut().find(|g| g.view == v) {
                Some(g) => g.servers.push(server),
                None => groups.push(Group {
                    view: v,
                    servers: vec![server],
                    first: *i,
                }),
            }
        }
        // The reference: the group of the servers with the newest zone,
        // then the one most servers are in, then the first asked; the
        // others are what differs.
        let newest = |g: &Group<'_>| {
            g.servers
                .iter()
                .filter_map(|s| serials.get(&(zone.clone(), *s)).copied())
                .max()
        };
        let Some(reference) = (0..groups.len()).max_by_key(|&k| {
            groups
                .get(k)
                .map(|g| (newest(g), g.servers.len(), std::cmp::Reverse(k)))
        }) else {
            continue;
        };
        let said: Vec<String> = groups
            .iter()
            .map(|g| format!("{}: {}", servers(&g.servers), values(g.view)))
            .collect();
        let finding = |answer: usize, value: String| Finding {
            kind: AlertKind::InconsistentServers,
            answer,
            owner: qname.clone(),
            rrtype: qtype,
            ttl: None,
            zone: zone.clone(),
            value,
            expected: said.clone(),
        };
        for (k, g) in groups.iter().enumerate() {
            if k == reference {
                continue;
            }
            let value = format!("{}; {}", says(g), others(&groups, k));
            out.push(finding(g.first, value));
        }
        for (i, v) in asked
            .iter()
            .filter(|(i, _)| role(*i) == Some(AuditRole::Resolver))
        {
            if groups.iter().any(|g| g.view == v) {
                continue;
            }
            let Some(server) = addr(*i) else { continue };
            let value = format!(
                "resolver {} says {}; {}",
                show(server),
                values(v),
                others(&groups, usize::MAX)
            );
            out.push(finding(*i, value));
        }
    }
    out
}

/// An answer as compared (see [`view`]).
type View = Vec<String>;

/// Authoritative servers that gave one answer.
struct Group<'a> {
    view: &'a Vec<String>,
    servers: Vec<SocketAddr>,
    /// The first of their answers.
    first: usize,
}

fn servers(s: &[SocketAddr]) -> String {
    s.iter().map(|a| show(*a)).collect::<Vec<_>>().join(", ")
}

/// `192.0.2.1, 192.0.2.2 say www A 192.0.2.80`.
fn says(g: &Group<'_>) -> String {
    let verb = if g.servers.len() > 1 { "say" } else { "says" };
    format!("{} {verb} {}", servers(&g.servers), values(g.view))
}

/// What the groups other than `except` say, for a message.
fn others(groups: &[Group<'_>], except: usize) -> String {
    groups
        .iter()
        .enumerate()
        .filter(|(k, _)| *k != except)
        .map(|(_, g)| says(g))
        .collect::<Vec<_>>()
        .join("; ")
}

fn values(v: &[String]) -> String {
    if v.is_empty() {
        "no records".into()
    } else {
        v.join(", ")
    }
}

/// `192.0.2.53` for port 53, else the address and port.
fn show(addr: SocketAddr) -> String {
    if addr.port() == 53 {
        addr.ip().to_string()
    } else {
        addr.to_string()
    }
}

fn usable(r: &DnsResponse, role: AuditRole) -> bool {
    matches!(r.rcode, RCODE_NOERROR | RCODE_NXDOMAIN)
        && (role != AuditRole::Authoritative || r.flags.aa)
}

/// An answer as compared: its error code, and the zone's records of its
/// answer section as `owner TYPE data`, sorted.
fn view(zones: &ExpectedZones, zone: &str, r: &DnsResponse) -> Vec<String> {
    let mut out: Vec<String> = r
        .answers
        .iter()
        .filter(|rec| !matches!(rec.rtype, TYPE_RRSIG | TYPE_NSEC | TYPE_NSEC3 | TYPE_DNSKEY))
        .filter(|rec| {
            let owner = folded(&rec.name);
            zones.zone_for(&owner).map(|z| folded(&z.name)).as_deref() == Some(zone)
        })
        .map(|rec| {
            let data = match &rec.data {
                // The serial is what tells an old copy of the zone.
                Rdata::Soa { mname, serial, .. } => format!("{mname} serial {serial}"),
                d => d.to_string(),
            };
            format!("{} {} {data}", folded(&rec.name), type_name(rec.rtype))
        })
        .collect();
    out.sort();
    out.dedup();
    if r.rcode != RCODE_NOERROR {
        out.insert(0, rcode_name(r.rcode).to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::client::{Question, check_answer, encode_query};
    use crate::expect::parse_expect;
    use crate::model::Transport;
    use crate::model::audit::AuditQuery;
    use hickory_proto::op::{Message, MessageType};
    use hickory_proto::rr::{Name, RData, Record};

    fn asked(
        server: &str,
        role: AuditRole,
        name: &str,
        addrs: &[&str],
        cname: Option<&str>,
    ) -> Asked {
        let q = Question {
            name: name.into(),
            qtype: 1,
            recurse: role == AuditRole::Resolver,
        };
        let mut m = Message::from_vec(&encode_query(&q, 7).unwrap()).unwrap();
        m.metadata.message_type = MessageType::Response;
        m.metadata.authoritative = role == AuditRole::Authoritative;
        let mut owner = Name::from_ascii(format!("{name}.")).unwrap();
        if let Some(target) = cname {
            let t = Name::from_ascii(format!("{target}.")).unwrap();
            m.add_answer(Record::from_rdata(
                owner.clone(),
                300,
                RData::CNAME(hickory_proto::rr::rdata::CNAME(t.clone())),
            ));
            owner = t;
        }
        for a in addrs {
            m.add_answer(Record::from_rdata(
                owner.clone(),
                300,
                RData::A(a.parse().unwrap()),
            ));
        }
        let server: SocketAddr = format!("{server}:53").parse().unwrap();
        let local: SocketAddr = "192.0.2.200:40000".parse().unwrap();
        let answer =
            check_answer(&m.to_vec().unwrap(), server, local, Transport::Udp, &q, 7).unwrap();
        Asked {
            query: AuditQuery {
                server,
                server_name: None,
                role,
                zone: "example.org".into(),
                qname: name.into(),
                qtype: 1,
                transport: Transport::Udp,
            },
            answer,
        }
    }

    #[test]
    fn servers_that_agree_raise_nothing_and_one_that_differs_is_named() {
        let zones = parse_expect("z.toml", "[[zone]]\nname = \"example.org\"\n").unwrap();
        let auth = AuditRole::Authoritative;
        let same = [
            asked(
                "192.0.2.1",
                auth,
                "www.example.org",
                &["192.0.2.80", "192.0.2.81"],
                None,
            ),
            // Order within the RRset does not matter.
            asked(
                "192.0.2.2",
                auth,
                "www.example.org",
                &["192.0.2.81", "192.0.2.80"],
                None,
            ),
            // A resolver follows the alias out of the zone: only the
            // zone's records are compared.
            asked(
                "192.0.2.53",
                AuditRole::Resolver,
                "shop.example.org",
                &["198.51.100.7"],
                Some("shop.saas.test"),
            ),
            asked(
                "192.0.2.1",
                auth,
                "shop.example.org",
                &[],
                Some("shop.saas.test"),
            ),
        ];
        assert!(check(&zones, &same).is_empty());
        let differ = [
            asked("192.0.2.1", auth, "www.example.org", &["192.0.2.80"], None),
            asked("192.0.2.2", auth, "www.example.org", &["192.0.2.80"], None),
            asked(
                "192.0.2.3",
                auth,
                "www.example.org",
                &["203.0.113.66"],
                None,
            ),
            asked(
                "192.0.2.53",
                AuditRole::Resolver,
                "www.example.org",
                &["192.0.2.80"],
                None,
            ),
            asked(
                "192.0.2.54",
                AuditRole::Resolver,
                "www.example.org",
                &["203.0.113.9"],
                None,
            ),
        ];
        let found = check(&zones, &differ);
        let got: Vec<(usize, &str)> = found.iter().map(|f| (f.answer, f.value.as_str())).collect();
        assert_eq!(
            got,
            [
                (
                    2,
                    "192.0.2.3 says www.example.org A 203.0.113.66; \
                     192.0.2.1, 192.0.2.2 say www.example.org A 192.0.2.80"
                ),
                (
                    4,
                    "resolver 192.0.2.54 says www.example.org A 203.0.113.9; \
                     192.0.2.1, 192.0.2.2 say www.example.org A 192.0.2.80; \
                     192.0.2.3 says www.example.org A 203.0.113.66"
                ),
            ]
        );
        assert!(
            found
                .iter()
                .all(|f| f.kind == AlertKind::InconsistentServers)
        );
    }
}
