//! Where a zone is delegated: iterative resolution from the root hints,
//! referral by referral, without trusting any resolver. It stops at the
//! servers of the zone's parent (those that hold its delegation), and
//! finds name server addresses the referrals did not glue.

use std::net::{IpAddr, SocketAddr};

use super::client::{Client, QueryError, Question};
use super::hints::Server;
use crate::model::names::{fold_into, is_at_or_under};

use crate::model::{DnsResponse, Rdata};

const TYPE_A: u16 = 1;
const TYPE_NS: u16 = 2;
const TYPE_AAAA: u16 = 28;
const RCODE_NOERROR: u8 = 0;
const RCODE_NXDOMAIN: u8 = 3;
/// Referrals followed in one lookup: deeper than any real name.
const MAX_REFERRALS: usize = 24;
/// Lookups of name server addresses nested in a lookup: a chain of
/// unglued name servers deeper than this is a loop or an attack.
const MAX_DEPTH: u32 = 3;

/// The servers of a zone's parent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parent {
    /// The parent zone, folded (`.` for the root).
    pub zone: String,
    pub servers: Vec<Server>,
}

/// Why the delegation could not be followed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("no server of {zone} answered {question}: {last}")]
    NoAnswer {
        zone: String,
        question: String,
        /// The last server's failure.
        last: String,
        /// The last server tried.
        server: Option<SocketAddr>,
    },
    #[error("{name} does not exist (NXDOMAIN from a server of {zone})")]
    NxDomain { name: String, zone: String },
    #[error("{name} is not delegated: the servers of {zone} answer for it themselves")]
    NotDelegated { name: String, zone: String },
    #[error(
        "a server of {zone} referred {name} to {cut}, which is not below {zone} and above {name}"
    )]
    BadReferral {
        name: String,
        zone: String,
        cut: String,
    },
    #[error("no address found for any name server of {zone}")]
    NoAddress { zone: String },
    #[error("more than {MAX_REFERRALS} referrals for {name}")]
    TooDeep { name: String },
}

impl ResolveError {
    /// The server the failure was last met at, when one was.
    pub fn server(&self) -> Option<SocketAddr> {
        match self {
            ResolveError::NoAnswer { server, .. } => *server,
            _ => None,
        }
    }
}

/// What a lookup ended with.
enum Walk {
    /// The referral to `stop_at` was reached: the servers that gave it.
    Delegated(Parent),
    /// An answer (possibly empty) from the servers of the name's zone.
    Answer(Box<DnsResponse>),
}

/// Follows referrals from the root servers down.
pub struct Resolver<'a> {
    pub client: &'a Client,
    pub roots: &'a [Server],
    /// Port every server is asked on (53).
    pub port: u16,
}

impl Resolver<'_> {
    /// The servers of `zone`'s parent, found from the root down.
    pub fn parent_of(&self, zone: &str) -> Result<Parent, ResolveError> {
        let zone = folded(zone);
        match self.walk(&zone, TYPE_NS, Some(&zone), 0)? {
            Walk::Delegated(p) => Ok(p),
            Walk::Answer(resp) => {
                let servers_zone = resp
                    .authority
                    .first()
                    .map_or_else(|| ".".to_string(), |r| folded(&r.name));
                Err(ResolveError::NotDelegated {
                    name: zone,
                    zone: servers_zone,
                })
            }
        }
    }

    /// The IPv4 and IPv6 addresses of `name`, found from the root down;
    /// empty when there are none or they cannot be found.
    pub fn addresses(&self, name: &str, depth: u32) -> Vec<IpAddr> {
        if depth > MAX_DEPTH {
            return Vec::new();
        }
        let name = folded(name);
        let mut out = Vec::new();
        for qtype in [TYPE_A, TYPE_AAAA] {
            if let Ok(Walk::Answer(resp)) = self.walk(&name, qtype, None, depth) {
                out.extend(resp.answers.iter().filter_map(|r| r.data.ip_addr()));
            }
        }
        out.sort();
        out.dedup();
        out
    }

    fn walk(
        &self,
        name: &str,
        qtype: u16,
        stop_at: Option<&str>,
        depth: u32,
    ) -> Result<Walk, ResolveError> {
        let mut zone = ".".to_string();
        let mut servers = self.roots.to_vec();
        let q = Question {
            name: name.to_string(),
            qtype,
            recurse: false,
        };
        for _ in 0..MAX_REFERRALS {
            let resp = self.ask_any(&servers, &q, &zone)?;
            if resp.rcode == RCODE_NXDOMAIN {
                return Err(ResolveError::NxDomain {
                    name: name.to_string(),
                    zone,
                });
            }
            let Some(cut) = referral_cut(&resp) else {
                // The servers of `zone` answer for the name: where they
                // answer NS for the zone sought, they hold it themselves
                // and are where its delegation is seen.
                if stop_at == Some(name) && has_ns_answer(&resp, name) {
                    return Ok(Walk::Delegated(Parent { zone, servers }));
                }
                return Ok(Walk::Answer(Box::new(resp)));
            };
            let below_zone = cut != zone && at_or_under(&cut, &zone);
            if !below_zone || !at_or_under(name, &cut) {
                return Err(ResolveError::BadReferral {
                    name: name.to_string(),
                    zone,
                    cut,
                });
            }
            if stop_at == Some(cut.as_str()) {
                return Ok(Walk::Delegated(Parent { zone, servers }));
            }
            let next = self.referred_servers(&resp, &cut, depth);
            if next.is_empty() {
                return Err(ResolveError::NoAddress { zone: cut });
            }
            zone = cut;
            servers = next;
        }
        Err(ResolveError::TooDeep {
            name: name.to_string(),
        })
    }

    /// The servers a referral to `cut` names, at their glue addresses or,
    /// unglued, at addresses looked up from the root.
    fn referred_servers(&self, resp: &DnsResponse, cut: &str, depth: u32) -> Vec<Server> {
        let mut out = Vec::new();
        for ns in ns_targets(&resp.authority, cut) {
            let glue = glue_of(resp, &ns);
            let addrs = if glue.is_empty() {
                self.addresses(&ns, depth + 1)
            } else {
                glue
            };
            out.extend(addrs.into_iter().map(|addr| Server {
                name: Some(ns.clone()),
                addr,
            }));
        }
        out
    }

    /// The first usable answer from `servers`, tried in order: a server
    /// that fails, refuses or fails to resolve is passed over.
    fn ask_any(
        &self,
        servers: &[Server],
        q: &Question,
        zone: &str,
    ) -> Result<DnsResponse, ResolveError> {
        let mut last = String::from("no server to ask");
        let mut last_server = None;
        for s in servers {
            let addr = SocketAddr::new(s.addr, self.port);
            last_server = Some(addr);
            match self.client.ask(addr, q) {
                Ok(a) if matches!(a.response.rcode, RCODE_NOERROR | RCODE_NXDOMAIN) => {
                    return Ok(a.response);
                }
                Ok(a) => {
                    last = format!(
                        "{addr} answered {}",
                        crate::model::names::rcode_name(a.response.rcode)
                    );
                }
                Err(QueryError::Deadline) => {
                    last = QueryError::Deadline.to_string();
                    break;
                }
                Err(e) => last = format!("{addr}: {e}"),
            }
        }
        Err(ResolveError::NoAnswer {
            zone: zone.to_string(),
            question: format!("{} {}", q.name, crate::model::names::type_name(q.qtype)),
            last,
            server: last_server,
        })
    }
}

/// `name` folded: lower case, no trailing dot, `.` for the root.
pub fn folded(name: &str) -> String {
    let mut out = String::new();
    fold_into(name, &mut out);
    if out.is_empty() {
        out.push('.');
    }
    out
}

/// `name` is `zone` or under it (both folded), the root above all.
pub fn at_or_under(name: &str, zone: &str) -> bool {
    zone == "." || is_at_or_under(name, zone)
}

/// The zone a response refers to: the owner of its authority NS records,
/// when it has no answer.
fn referral_cut(resp: &DnsResponse) -> Option<String> {
    if !resp.answers.is_empty() {
        return None;
    }
    resp.authority
        .iter()
        .find(|r| r.rtype == TYPE_NS)
        .map(|r| folded(&r.name))
}

fn has_ns_answer(resp: &DnsResponse, name: &str) -> bool {
    resp.answers
        .iter()
        .any(|r| r.rtype == TYPE_NS && folded(&r.name) == name)
}

/// The name servers `records` name for `zone` (NS records owned by it),
/// folded, in order, once each.
pub fn ns_targets(records: &[crate::model::DnsRecord], zone: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in records {
        if r.rtype == TYPE_NS
            && folded(&r.name) == zone
            && let Rdata::Name(target) = &r.data
        {
            let t = folded(target);
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    out
}

/// The addresses the additional section gives `ns` (folded).
pub fn glue_of(resp: &DnsResponse, ns: &str) -> Vec<IpAddr> {
    resp.additional
        .iter()
        .filter(|r| folded(&r.name) == ns)
        .filter_map(|r| r.data.ip_addr())
        .collect()
}
