//! Learn mode: what records the organisation's zones actually had on the
//! wire, written as an expect file to review (`dnsentry baseline learn`),
//! and what changed against an existing one (`dnsentry baseline diff`).
//!
//! Learning is a starting point, not a verdict: a hijack that was on the
//! wire while learning is learned too. Each entry therefore says how often,
//! between which times and on which names it was seen, and one that stands
//! out (seen once among values seen hundreds of times, or only for a short
//! while) is marked for review, so a reviewer can spot the address that
//! appeared for ten minutes on one morning. What a loaded feed already
//! names as attacker infrastructure is never learned: it is written as a
//! comment marked as an indicator hit, so the file cannot allow the very
//! value it should alert on.
//!
//! The learner records what the matcher checks, section for section
//! (`matcher::expected`), so that a learned file enforced on the traffic
//! it was learned from raises nothing but its indicator hits.

// Captures are hostile: every access is checked.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod diff;
mod write;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::capture::offline::read_file;
use crate::capture::{CaptureError, Flow};
use crate::decode::transport::PortSet;
use crate::decode::{Demux, DemuxLimits};
use crate::expect::is_at_or_under;
use crate::ioc::{Indicator, IocSet};
use crate::model::names::fold_into;
use crate::model::{DnsResponse, PayloadBatch, Rdata, Section, SourceNames, Timestamp};
use crate::pipeline::batch::{ProcessOptions, Processor};
use crate::rules::{Rules, shared};

pub use diff::{Change, ExpectSource, diff, merged_expect_file, render_diff};
pub use write::{LearnOptions, Learned, to_expect_toml};

const TYPE_A: u16 = 1;
const TYPE_NS: u16 = 2;
const TYPE_CNAME: u16 = 5;
const TYPE_MX: u16 = 15;
const TYPE_AAAA: u16 = 28;
const TYPE_DS: u16 = 43;
const TYPE_RRSIG: u16 = 46;
const RCODE_NOERROR: u8 = 0;

/// Record types whose TTL `ttl_min` watches (as `matcher::expected` does).
fn is_watched_type(rtype: u16) -> bool {
    matches!(rtype, TYPE_A | TYPE_AAAA | TYPE_NS | TYPE_MX | TYPE_CNAME)
}

/// How often, and when, one value was seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    pub count: u64,
    pub first: Timestamp,
    pub last: Timestamp,
}

impl Seen {
    fn new(ts: Timestamp) -> Seen {
        Seen {
            count: 1,
            first: ts,
            last: ts,
        }
    }

    fn add(&mut self, ts: Timestamp) {
        self.count += 1;
        self.first = self.first.min(ts);
        self.last = self.last.max(ts);
    }

    fn merge(&mut self, other: &Seen) {
        self.count += other.count;
        self.first = self.first.min(other.first);
        self.last = self.last.max(other.last);
    }

    /// Microseconds between the first and the last time.
    fn window(&self) -> i64 {
        self.last.0.saturating_sub(self.first.0)
    }

    /// `seen 3 times, 2019-01-10T09:00:00Z .. 2019-01-10T09:14:00Z`
    pub fn describe(&self) -> String {
        let times = if self.count == 1 { "time" } else { "times" };
        format!(
            "seen {} {times}, {} .. {}",
            self.count,
            short_time(self.first),
            short_time(self.last)
        )
    }
}

fn short_time(ts: Timestamp) -> String {
    jiff::Timestamp::from_microsecond(ts.0)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| ts.to_string())
}

/// One value of one key: when it was seen, on which names, and the lowest
/// TTL it came with where `ttl_min` watches TTLs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    pub seen: Seen,
    /// The names it was seen on (folded): the records' owners; for
    /// `ns_addresses` the name server's name; for `resolvers` the name
    /// asked about.
    pub owners: BTreeMap<String, Seen>,
    /// The lowest watched TTL, and on which owner.
    pub min_ttl: Option<(u32, String)>,
}

impl Observed {
    fn new(owner: &str, ts: Timestamp, ttl: Option<u32>) -> Observed {
        Observed {
            seen: Seen::new(ts),
            owners: BTreeMap::from([(owner.to_string(), Seen::new(ts))]),
            min_ttl: ttl.map(|t| (t, owner.to_string())),
        }
    }

    fn add(&mut self, owner: &str, ts: Timestamp, ttl: Option<u32>, budget: &mut Budget) {
        self.seen.add(ts);
        match self.owners.get_mut(owner) {
            Some(s) => s.add(ts),
            None if budget.take() => {
                self.owners.insert(owner.to_string(), Seen::new(ts));
            }
            None => {}
        }
        if let Some(t) = ttl {
            lower_ttl(&mut self.min_ttl, t, owner);
        }
    }

    fn merge(&mut self, other: &Observed) {
        self.seen.merge(&other.seen);
        for (owner, s) in &other.owners {
            self.owners
                .entry(owner.clone())
                .and_modify(|mine| mine.merge(s))
                .or_insert(*s);
        }
        if let Some((t, owner)) = &other.min_ttl {
            lower_ttl(&mut self.min_ttl, *t, owner);
        }
    }

    /// Only what was seen on `owner`.
    fn on(&self, owner: &str) -> Option<Observed> {
        let seen = *self.owners.get(owner)?;
        Some(Observed {
            seen,
            owners: BTreeMap::from([(owner.to_string(), seen)]),
            min_ttl: self.min_ttl.clone().filter(|(_, o)| o == owner),
        })
    }

    /// `on www.example.org`, `on a.example.org and 2 other names`.
    pub fn owners_text(&self, preposition: &str) -> String {
        let mut names = self.owners.keys();
        match (names.next(), self.owners.len()) {
            (None, _) => String::new(),
            (Some(one), 1) => format!("{preposition} {one}"),
            (Some(one), 2) => format!("{preposition} {one} and 1 other name"),
            (Some(one), n) => format!("{preposition} {one} and {} other names", n - 1),
        }
    }
}

fn lower_ttl(min: &mut Option<(u32, String)>, ttl: u32, owner: &str) {
    if min.as_ref().is_none_or(|(t, _)| ttl < *t) {
        *min = Some((ttl, owner.to_string()));
    }
}

fn note<K: Ord>(
    map: &mut BTreeMap<K, Observed>,
    key: K,
    owner: &str,
    ts: Timestamp,
    ttl: Option<u32>,
    budget: &mut Budget,
) {
    match map.get_mut(&key) {
        Some(o) => o.add(owner, ts, ttl, budget),
        None if budget.take() => {
            map.insert(key, Observed::new(owner, ts, ttl));
        }
        None => {}
    }
}

/// The DNSSEC evidence seen for a zone, judged as `dnssec = true` would
/// judge it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DnssecSeen {
    /// Responses whose answers for the zone carried an RRSIG.
    pub signed_answers: u64,
    /// Referrals to the zone that carried its DS.
    pub ds_referrals: u64,
    /// Responses `dnssec = true` would alert on: an answer to a query that
    /// asked for DNSSEC without its RRSIG, or such a referral without DS.
    pub unsigned: u64,
    /// The first of them: the owner, and when.
    pub first_unsigned: Option<(String, Timestamp)>,
}

impl DnssecSeen {
    pub fn signed(&self) -> bool {
        self.signed_answers > 0 || self.ds_referrals > 0
    }
}

/// What was seen of one zone.
#[derive(Debug, Default)]
pub struct ZoneSeen {
    pub name: String,
    /// Addresses of names in the zone, from every section (glue too).
    pub a: BTreeMap<IpAddr, Observed>,
    pub aaaa: BTreeMap<IpAddr, Observed>,
    /// Name servers of names in the zone, from answers and referrals.
    pub ns: BTreeMap<String, Observed>,
    pub mx: BTreeMap<String, Observed>,
    pub cname: BTreeMap<String, Observed>,
    /// Addresses of the name servers `ns` names that lie outside every
    /// learned zone, wherever seen (glue, answers), from the time the
    /// name server was first named as one. ([`Learner::ns_addresses`]
    /// adds those inside a learned zone, whose addresses are kept anyway.)
    pub other_ns_addresses: BTreeMap<IpAddr, Observed>,
    /// The servers that answered about the zone.
    pub resolvers: BTreeMap<IpAddr, Observed>,
    /// The lowest watched TTL of a record no key learns (an MX or CNAME in
    /// a referral), and on which owner.
    pub other_min_ttl: Option<(u32, String)>,
    pub dnssec: DnssecSeen,
    pub responses: u64,
}

impl ZoneSeen {
    fn is_empty(&self) -> bool {
        self.responses == 0
            && self.a.is_empty()
            && self.aaaa.is_empty()
            && self.ns.is_empty()
            && self.other_ns_addresses.is_empty()
    }
}

/// Values and names a learner records at most, over every zone and key:
/// whoever sends the traffic chooses them, and each costs ~100 bytes. A
/// real organisation's zones are far below it; past it, new ones are
/// counted and not recorded ([`Learner::refused`]).
pub const MAX_LEARNED_ENTRIES: usize = 1_000_000;

/// What is left of [`MAX_LEARNED_ENTRIES`], and what it refused.
#[derive(Debug)]
pub(crate) struct Budget {
    left: usize,
    refused: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            left: MAX_LEARNED_ENTRIES,
            refused: 0,
        }
    }
}

impl Budget {
    /// Whether one more entry may be recorded; counts a refusal if not.
    fn take(&mut self) -> bool {
        if self.left == 0 {
            self.refused += 1;
            return false;
        }
        self.left -= 1;
        true
    }
}

/// Collects observations for a set of zones.
#[derive(Debug, Default)]
pub struct Learner {
    /// Most specific first, so the first zone a name falls in is its own.
    zones: Vec<ZoneSeen>,
    /// Name servers named for a learned zone (folded), and the indexes of
    /// the zones naming them.
    ns_hosts: HashMap<String, BTreeSet<usize>>,
    folded: String,
    target: String,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
    budget: Budget,
}

impl Learner {
    /// New values and names not recorded because [`MAX_LEARNED_ENTRIES`]
    /// were.
    pub fn refused(&self) -> u64 {
        self.budget.refused
    }

    pub fn new<'a>(zones: impl IntoIterator<Item = &'a str>) -> Learner {
        let mut zones: Vec<ZoneSeen> = zones
            .into_iter()
            .map(|z| ZoneSeen {
                name: z.trim_end_matches('.').to_ascii_lowercase(),
                ..ZoneSeen::default()
            })
            .collect();
        zones.sort_by_key(|z| std::cmp::Reverse(z.name.len()));
        zones.dedup_by(|a, b| a.name == b.name);
        Learner {
            zones,
            ..Learner::default()
        }
    }

    pub fn zones(&self) -> &[ZoneSeen] {
        &self.zones
    }

    /// The learning period: first and last response time.
    pub fn period(&self) -> Option<(Timestamp, Timestamp)> {
        self.first.zip(self.last)
    }

    /// The addresses of `z`'s name servers, wherever seen: those outside
    /// the learned zones as they were noted, those inside one from its
    /// addresses (any order: every address of a learned zone is kept).
    pub fn ns_addresses(&self, z: &ZoneSeen) -> BTreeMap<IpAddr, Observed> {
        let mut out = z.other_ns_addresses.clone();
        for host in z.ns.keys() {
            let Some(home) = self.zone_index(host).and_then(|i| self.zones.get(i)) else {
                continue;
            };
            for (addr, o) in home.a.iter().chain(home.aaaa.iter()) {
                let Some(part) = o.on(host) else { continue };
                match out.get_mut(addr) {
                    Some(m) => m.merge(&part),
                    None => {
                        out.insert(*addr, part);
                    }
                }
            }
        }
        out
    }

    fn zone_index(&self, folded: &str) -> Option<usize> {
        self.zones
            .iter()
            .position(|z| is_at_or_under(folded, &z.name))
    }

    /// Takes in one response: who answered, the records of the learned
    /// zones in every section the matcher checks, the addresses of their
    /// name servers, and the DNSSEC evidence.
    pub fn observe(&mut self, resp: &DnsResponse) {
        let ts = resp.meta.ts;
        self.first = Some(self.first.map_or(ts, |f| f.min(ts)));
        self.last = Some(self.last.map_or(ts, |l| l.max(ts)));
        // The zone a response is about, as `resolvers` is checked: its
        // question's, else its first answer's.
        let about = resp
            .question
            .as_ref()
            .map(|q| &*q.name)
            .or_else(|| resp.answers.first().map(|r| &*r.name));
        if let Some(name) = about {
            fold_into(name, &mut self.folded);
            if let Some(i) = self.zone_index(&self.folded)
                && let Some(z) = self.zones.get_mut(i)
            {
                z.responses += 1;
                note(
                    &mut z.resolvers,
                    resp.meta.src_ip,
                    &self.folded,
                    ts,
                    None,
                    &mut self.budget,
                );
            }
        }
        // The name servers this response names, first: glue in the same
        // response is theirs.
        for (section, r) in resp.records() {
            if section == Section::Additional || r.rtype != TYPE_NS {
                continue;
            }
            let Rdata::Name(t) = &r.data else { continue };
            fold_into(&r.name, &mut self.folded);
            if let Some(i) = self.zone_index(&self.folded) {
                fold_into(t, &mut self.target);
                match self.ns_hosts.get_mut(&self.target) {
                    Some(zones) => {
                        zones.insert(i);
                    }
                    None if self.budget.take() => {
                        self.ns_hosts
                            .insert(self.target.clone(), BTreeSet::from([i]));
                    }
                    None => {}
                }
            }
        }
        for (section, r) in resp.records() {
            fold_into(&r.name, &mut self.folded);
            let watched_ttl =
                (section != Section::Additional && is_watched_type(r.rtype)).then_some(r.ttl);
            let addr = match (&r.data, r.rtype) {
                (Rdata::A(a), TYPE_A) => Some(IpAddr::V4(*a)),
                (Rdata::Aaaa(a), TYPE_AAAA) => Some(IpAddr::V6(*a)),
                _ => None,
            };
            let zone = self.zone_index(&self.folded);
            if let (Some(addr), None, Some(zones)) = (addr, zone, self.ns_hosts.get(&self.folded)) {
                for i in zones {
                    if let Some(z) = self.zones.get_mut(*i) {
                        note(
                            &mut z.other_ns_addresses,
                            addr,
                            &self.folded,
                            ts,
                            None,
                            &mut self.budget,
                        );
                    }
                }
            }
            let Some(i) = zone else {
                continue;
            };
            let Some(z) = self.zones.get_mut(i) else {
                continue;
            };
            let owner = self.folded.as_str();
            match (&r.data, r.rtype, section, addr) {
                (_, TYPE_A, _, Some(a)) => {
                    note(&mut z.a, a, owner, ts, watched_ttl, &mut self.budget)
                }
                (_, TYPE_AAAA, _, Some(a)) => {
                    note(&mut z.aaaa, a, owner, ts, watched_ttl, &mut self.budget)
                }
                (Rdata::Name(t), TYPE_NS, Section::Answer | Section::Authority, _) => {
                    fold_into(t, &mut self.target);
                    note(
                        &mut z.ns,
                        self.target.clone(),
                        owner,
                        ts,
                        watched_ttl,
                        &mut self.budget,
                    );
                }
                (Rdata::Mx { exchange, .. }, TYPE_MX, Section::Answer, _) => {
                    fold_into(exchange, &mut self.target);
                    note(
                        &mut z.mx,
                        self.target.clone(),
                        owner,
                        ts,
                        watched_ttl,
                        &mut self.budget,
                    );
                }
                (Rdata::Name(t), TYPE_CNAME, Section::Answer, _) => {
                    fold_into(t, &mut self.target);
                    note(
                        &mut z.cname,
                        self.target.clone(),
                        owner,
                        ts,
                        watched_ttl,
                        &mut self.budget,
                    );
                }
                _ => {
                    if let Some(ttl) = watched_ttl {
                        lower_ttl(&mut z.other_min_ttl, ttl, owner);
                    }
                }
            }
        }
        self.observe_dnssec(resp);
    }

    /// Signatures and DS records of the learned zones, and what
    /// `dnssec = true` would alert on, judged as `matcher::expected` does.
    fn observe_dnssec(&mut self, resp: &DnsResponse) {
        let asked = resp.edns.as_ref().is_some_and(|e| e.dnssec_ok) && resp.rcode == RCODE_NOERROR;
        let mut signed: BTreeSet<usize> = BTreeSet::new();
        let mut ds: BTreeSet<usize> = BTreeSet::new();
        let mut unsigned: BTreeMap<usize, String> = BTreeMap::new();
        for record in &resp.answers {
            fold_into(&record.name, &mut self.folded);
            let Some(i) = self.zone_index(&self.folded) else {
                continue;
            };
            let has_sig = record.rtype == TYPE_RRSIG
                || resp
                    .answers
                    .iter()
                    .any(|r| r.rtype == TYPE_RRSIG && r.name.eq_ignore_ascii_case(&record.name));
            if has_sig {
                signed.insert(i);
            } else if asked {
                unsigned.entry(i).or_insert_with(|| self.folded.clone());
            }
        }
        for record in &resp.authority {
            if record.rtype != TYPE_NS && record.rtype != TYPE_DS {
                continue;
            }
            fold_into(&record.name, &mut self.folded);
            let Some(i) = self.zone_index(&self.folded) else {
                continue;
            };
            // Only a delegation of the zone itself is expected to carry its DS.
            if self.zones.get(i).is_none_or(|z| z.name != self.folded) {
                continue;
            }
            if record.rtype == TYPE_DS {
                ds.insert(i);
            } else if resp.answers.is_empty()
                && asked
                && !resp
                    .authority
                    .iter()
                    .any(|r| r.rtype == TYPE_DS && r.name.eq_ignore_ascii_case(&record.name))
            {
                unsigned.entry(i).or_insert_with(|| self.folded.clone());
            }
        }
        let ts = resp.meta.ts;
        for (i, z) in self.zones.iter_mut().enumerate() {
            if signed.contains(&i) {
                z.dnssec.signed_answers += 1;
            }
            if ds.contains(&i) {
                z.dnssec.ds_referrals += 1;
            }
            if let Some(owner) = unsigned.remove(&i) {
                z.dnssec.unsigned += 1;
                z.dnssec.first_unsigned.get_or_insert((owner, ts));
            }
        }
    }
}

/// Messages per batch when learning.
const LEARN_BATCH: usize = 1024;

/// Learning takes responses through the one batch path a run uses, with
/// no rules: it records what the wire held, it does not judge it.
fn learning_processor(inputs: usize) -> Processor {
    // Learn mode writes no records: the names only have to exist.
    let sources = SourceNames::new(
        "-",
        (0..inputs).map(|i| format!("input-{i}")).collect(),
        false,
    );
    Processor::new(shared(Rules::default()), sources, ProcessOptions::default())
}

/// Reads captures (one thread: learning is not on the hot path) and hands
/// every decoded response to `f`. Returns the packets read.
pub fn read_responses(
    paths: &[PathBuf],
    ports: &[u16],
    mut f: impl FnMut(&DnsResponse),
) -> Result<u64, CaptureError> {
    let mut demux = Demux::with_limits(PortSet::new(ports), DemuxLimits::default(), false);
    let mut processor = learning_processor(paths.len());
    let mut batch = PayloadBatch::default();
    for (i, path) in paths.iter().enumerate() {
        let index = u32::try_from(i).unwrap_or(u32::MAX);
        let (_, result) = read_file(path, index, |frame| {
            demux.frame(frame.link, frame.source, frame.ts, frame.data, &mut batch);
            if batch.len() >= LEARN_BATCH {
                processor.process(std::mem::take(&mut batch), &mut f);
            }
            Flow::Continue
        });
        result?;
    }
    processor.process(batch, &mut f);
    Ok(demux.counters.packets)
}

/// Captures on `iface` until `duration` has passed or `stop` is set, and
/// hands every decoded response to `f`. Returns the packets read.
pub fn capture_responses(
    iface: &str,
    options: &crate::capture::live::LiveOptions,
    duration: std::time::Duration,
    stop: &std::sync::atomic::AtomicBool,
    mut f: impl FnMut(&DnsResponse),
) -> Result<u64, CaptureError> {
    let mut cap = crate::capture::live::LiveCapture::open(iface, options)?;
    let mut demux = Demux::with_limits(
        PortSet::new(&options.dns_ports),
        DemuxLimits::default(),
        false,
    );
    let mut processor = learning_processor(1);
    let mut batch = PayloadBatch::default();
    let deadline = std::time::Instant::now() + duration;
    let idle = std::sync::atomic::AtomicBool::new(false);
    while std::time::Instant::now() < deadline && !stop.load(std::sync::atomic::Ordering::Relaxed) {
        cap.poll(0, &idle, |frame| {
            demux.frame(frame.link, frame.source, frame.ts, frame.data, &mut batch);
            Flow::Continue
        })?;
        processor.process(std::mem::take(&mut batch), &mut f);
    }
    Ok(demux.counters.packets)
}

/// The feeds learned values are screened against: a value a feed lists is
/// an indicator hit and never learned, unless an allowlist covers it or its
/// publisher withdrew it (revoked, deleted). An expired or aged indicator
/// still counts: learning is not the place to give an attacker the
/// benefit of the doubt.
#[derive(Debug, Default)]
pub struct Screen {
    pub ioc: IocSet,
    pub allow: IocSet,
}

impl Screen {
    fn listed(&self, ind: Option<&Arc<Indicator>>) -> Option<Arc<Indicator>> {
        ind.filter(|i| !i.lifecycle.retracted.is_some_and(|r| r.is_withdrawal()))
            .cloned()
    }

    fn addr(&self, a: IpAddr) -> Option<Arc<Indicator>> {
        if self.allow.match_addr(a).is_some() {
            return None;
        }
        self.listed(self.ioc.match_addr(a))
    }

    /// `name` is folded (as the learner keeps names).
    fn name(&self, name: &str) -> Option<Arc<Indicator>> {
        if self.allow.match_name(name).is_some() {
            return None;
        }
        self.listed(self.ioc.match_name(name))
    }
}

/// A value seen for a zone that a loaded feed lists: not learned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndicatorHit {
    pub zone: String,
    /// The expect-file key it would have gone under (`a`, `ns`, ...).
    pub key: &'static str,
    pub value: String,
    pub indicator: Arc<Indicator>,
    pub seen: Observed,
}

impl IndicatorHit {
    /// What it matched, for the comment and stderr: feed text is escaped
    /// where it is loaded, the value comes from the wire and is escaped
    /// here.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{} {} {} is indicator {} of {}",
            self.zone,
            self.key,
            self.value,
            self.indicator.text(),
            self.indicator.feed
        );
        if let Some(source) = &self.indicator.source {
            let _ = write!(s, " ({source})");
        }
        crate::model::text::escape_text(&s).into_owned()
    }
}

/// Every value of every learned zone that a feed of `screen` lists, zone
/// by zone and key by key.
pub fn indicator_hits(l: &Learner, screen: &Screen) -> Vec<IndicatorHit> {
    let mut hits = Vec::new();
    let mut zones: Vec<&ZoneSeen> = l.zones.iter().collect();
    zones.sort_by(|a, b| a.name.cmp(&b.name));
    for z in zones {
        let mut push =
            |key: &'static str, value: String, ind: Option<Arc<Indicator>>, seen: &Observed| {
                if let Some(indicator) = ind {
                    hits.push(IndicatorHit {
                        zone: z.name.clone(),
                        key,
                        value,
                        indicator,
                        seen: seen.clone(),
                    });
                }
            };
        for (key, map) in [("a", &z.a), ("aaaa", &z.aaaa)] {
            for (a, seen) in map {
                push(key, a.to_string(), screen.addr(*a), seen);
            }
        }
        for (key, map) in [("ns", &z.ns), ("mx", &z.mx), ("cname", &z.cname)] {
            for (n, seen) in map {
                push(key, n.clone(), screen.name(n), seen);
            }
        }
        let ns_addresses = l.ns_addresses(z);
        for (key, map) in [("ns_addresses", &ns_addresses), ("resolvers", &z.resolvers)] {
            for (a, seen) in map {
                push(key, a.to_string(), screen.addr(*a), seen);
            }
        }
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expect::parse_expect;
    use crate::synth::{Exchange, Scenario, a, cname, ds, ns, rr, rrsig};
    use hickory_proto::rr::RecordType;

    fn learn_from(scenario: &Scenario, zones: &[&str]) -> Learner {
        let mut l = Learner::new(zones.iter().copied());
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.pcap");
        scenario.write_pcap_file(&p).unwrap();
        read_responses(&[p], &[53], |r| l.observe(r)).unwrap();
        l
    }

    fn learn_demo() -> Learner {
        learn_from(&crate::synth::demo::demo_scenario(), &["example.org"])
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_flood_of_distinct_values_stops_at_the_bound_and_is_counted() {
        let mut s = Scenario::new(1_700_000_000);
        for i in 0..10u32 {
            s.exchange(
                &Exchange::new("10.0.0.2", "10.0.0.53", "www.example.org", RecordType::A)
                    .answer(rr("www.example.org", 60, a(&format!("203.0.113.{i}")))),
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("flood.pcap");
        s.write_pcap_file(&p).unwrap();
        let mut l = Learner::new(["example.org"]);
        // Room for the resolver and three addresses.
        l.budget.left = 4;
        read_responses(&[p], &[53], |r| l.observe(r)).unwrap();
        let z = &l.zones()[0];
        assert_eq!(z.resolvers.len(), 1);
        assert_eq!(z.a.len(), 3);
        assert_eq!(l.refused(), 7);
        assert_eq!(z.responses, 10, "responses are still counted");
    }

    #[test]
    fn learns_what_the_wire_showed_with_when_how_often_and_where() {
        let l = learn_demo();
        let z = &l.zones()[0];
        assert!(z.a.contains_key(&ip("192.0.2.10")));
        assert!(
            z.a.contains_key(&ip("185.20.187.8")),
            "the hijack is learned too"
        );
        assert!(
            z.a.contains_key(&ip("192.0.2.25")),
            "additional-section addresses are checked, so learned"
        );
        assert_eq!(z.ns.len(), 4);
        let www = &z.a[&ip("192.0.2.10")];
        assert_eq!(www.seen.count, 2);
        assert_eq!(
            www.owners.keys().collect::<Vec<_>>(),
            ["www.example.org"],
            "0x20 case folds to one owner"
        );
        let learned = to_expect_toml(&l, LearnOptions::default(), 1, &Screen::default());
        let toml = &learned.toml;
        assert!(
            toml.contains(
                "  \"192.0.2.10\",  # seen 2 times, 2019-01-10T09:00:00Z .. 2019-01-10T09:00:01Z, on www.example.org\n"
            ),
            "{toml}"
        );
        assert!(
            toml.contains("ttl_min = 150  # half the lowest TTL seen (300, on "),
            "the CDN's own records are not the zone's: {toml}"
        );
        // What it writes is a valid expect file.
        let zones = parse_expect("learned.toml", toml).unwrap();
        assert_eq!(zones.len(), 1);
        let agg = to_expect_toml(
            &l,
            LearnOptions {
                aggregate: Some((24, 48)),
            },
            1,
            &Screen::default(),
        );
        assert!(agg.toml.contains("\"192.0.2.0/24\""), "{}", agg.toml);
        parse_expect("agg.toml", &agg.toml).unwrap();
    }

    /// The learned file, enforced on the traffic it was learned from,
    /// raises nothing: the learner records what the matcher checks.
    #[test]
    fn a_learned_file_allows_the_traffic_it_was_learned_from() {
        let s = organisation();
        let l = learn_from(&s, &["example.org", "example.net"]);
        let learned = to_expect_toml(&l, LearnOptions::default(), 1, &Screen::default());
        let zones = parse_expect("learned.toml", &learned.toml).unwrap();
        assert!(
            diff(&zones, None, &l, &Screen::default()).is_empty(),
            "{}\n{}",
            learned.toml,
            render_diff(&diff(&zones, None, &l, &Screen::default()))
        );
        let rules = Rules {
            expected: zones,
            ..Rules::default()
        };
        let mut alerts = Vec::new();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("o.pcap");
        s.write_pcap_file(&p).unwrap();
        let mut matcher = crate::matcher::Matcher::new(shared(rules));
        read_responses(&[p], &[53], |r| {
            matcher.check(r, &mut alerts);
        })
        .unwrap();
        assert!(alerts.is_empty(), "{alerts:#?}\n{}", learned.toml);
    }

    /// A small signed organisation: names in the zone's space, one served
    /// elsewhere, CDN edge names, a referral with glue and DS, signed
    /// answers.
    fn organisation() -> Scenario {
        let mut s = Scenario::new(1_700_000_000);
        let q = |name: &str, t| Exchange::new("10.1.2.3", "10.1.0.53", name, t);
        for _ in 0..3 {
            s.exchange(&q("www.example.org", RecordType::A).answer(rr(
                "www.example.org",
                300,
                a("192.0.2.10"),
            )));
            s.exchange(&q("mail.example.org", RecordType::A).answer(rr(
                "mail.example.org",
                300,
                a("192.0.2.25"),
            )));
            s.exchange(&q("shop.example.org", RecordType::A).answer(rr(
                "shop.example.org",
                300,
                a("203.0.113.80"),
            )));
            for edge in ["e7.edge.cdnprovider.test", "e9.edge.cdnprovider.test"] {
                s.exchange(
                    &q("static.example.org", RecordType::A)
                        .answer(rr("static.example.org", 300, cname(edge)))
                        .answer(rr(edge, 20, a("198.51.100.200"))),
                );
            }
            s.exchange(
                &Exchange::new("10.1.0.53", "192.0.2.200", "www.example.org", RecordType::A)
                    .authority(rr("example.org", 86400, ns("ns1.example.org")))
                    .authority(rr("example.org", 86400, ns("ns2.dnshost.test")))
                    .authority(rr("example.org", 86400, ds()))
                    .additional(rr("ns1.example.org", 86400, a("192.0.2.53")))
                    .dnssec_ok(),
            );
            s.exchange(
                &Exchange::new("10.1.0.53", "192.0.2.53", "www.example.org", RecordType::A)
                    .answer(rr("www.example.org", 300, a("192.0.2.10")))
                    .answer(rr(
                        "www.example.org",
                        300,
                        rrsig(RecordType::A, 3, "example.org"),
                    ))
                    .dnssec_ok(),
            );
            s.exchange(&q("ns2.dnshost.test", RecordType::A).answer(rr(
                "ns2.dnshost.test",
                3600,
                a("203.0.113.53"),
            )));
            s.exchange(&q("www.example.net", RecordType::A).answer(rr(
                "www.example.net",
                600,
                a("198.51.100.10"),
            )));
        }
        s
    }

    #[test]
    fn learns_overrides_patterns_name_servers_dnssec_and_resolvers() {
        let l = learn_from(&organisation(), &["example.org", "example.net"]);
        let learned = to_expect_toml(&l, LearnOptions::default(), 1, &Screen::default());
        let toml = &learned.toml;
        let zones = parse_expect("learned.toml", toml).unwrap();
        let org = zones.zone_for("example.org").unwrap();
        // shop's addresses share no /24 with www, mail and ns1.
        let shop = org.effective("shop.example.org");
        assert_eq!(&**shop.scope, "shop.example.org", "{toml}");
        assert!(shop.a.unwrap().allows(ip("203.0.113.80")));
        assert!(!shop.a.unwrap().allows(ip("192.0.2.10")));
        let www = org.effective("www.example.org");
        assert!(www.a.unwrap().allows(ip("192.0.2.10")));
        assert!(www.a.unwrap().allows(ip("192.0.2.53")), "glue is learned");
        assert!(!www.a.unwrap().allows(ip("203.0.113.80")), "{toml}");
        // Two edge names of one provider: a pattern.
        let cname = org.policy.cname.as_ref().unwrap();
        assert_eq!(&*cname.listed, ["*.edge.cdnprovider.test"], "{toml}");
        assert!(cname.allows("e12.edge.cdnprovider.test"));
        assert!(
            toml.contains(
                "pattern for 2 names: e7.edge.cdnprovider.test, e9.edge.cdnprovider.test"
            ),
            "{toml}"
        );
        // Name servers: glue for ns1, an answer for ns2.
        let nsa = org.policy.ns_addresses.as_ref().unwrap();
        assert!(nsa.allows(ip("192.0.2.53")), "{toml}");
        assert!(nsa.allows(ip("203.0.113.53")), "{toml}");
        assert!(!nsa.allows(ip("192.0.2.10")), "{toml}");
        assert!(org.dnssec, "{toml}");
        assert!(
            toml.contains("dnssec = true  # RRSIGs in 3 responses, DS in 3 referrals"),
            "{toml}"
        );
        let resolvers = org.resolvers.as_ref().unwrap();
        for server in ["10.1.0.53", "192.0.2.200", "192.0.2.53"] {
            assert!(resolvers.allows(ip(server)), "{server}: {toml}");
        }
        assert_eq!(org.policy.ttl_min, Some(150), "{toml}");
        let net = zones.zone_for("example.net").unwrap();
        assert!(!net.dnssec);
        assert_eq!(net.policy.ttl_min, Some(300));
    }

    #[test]
    fn signed_but_also_unsigned_is_not_set_and_marked_for_review() {
        let mut s = organisation();
        s.exchange(
            &Exchange::new("10.1.0.53", "192.0.2.53", "mail.example.org", RecordType::A)
                .answer(rr("mail.example.org", 300, a("192.0.2.25")))
                .dnssec_ok(),
        );
        let l = learn_from(&s, &["example.org"]);
        let learned = to_expect_toml(&l, LearnOptions::default(), 1, &Screen::default());
        assert!(
            learned.toml.contains("# dnssec = true  # REVIEW not set: RRSIGs in 3 responses, DS in 3 referrals, yet 1 responses to DNSSEC queries came unsigned (the first on mail.example.org at "),
            "{}",
            learned.toml
        );
        assert!(!parse_expect("l.toml", &learned.toml).unwrap().any_dnssec());
        assert_eq!(learned.review.len(), 1, "{:?}", learned.review);
    }

    #[test]
    fn diff_names_owner_first_and_last_and_says_when_nothing_differs() {
        let l = learn_demo();
        let text = "[[zone]]\nname = \"example.org\"\na = [\"192.0.2.0/24\", \"198.51.100.0/24\"]  # seen 3 times, 2019-01-01T00:00:00Z .. 2019-01-02T00:00:00Z, on www.example.org\nns = [\"ns1.example.org\", \"ns2.example.org\"]\n";
        let expected = parse_expect("z.toml", text).unwrap();
        let changes = diff(
            &expected,
            Some(ExpectSource {
                path: "z.toml",
                text,
            }),
            &l,
            &Screen::default(),
        );
        let lines: Vec<(String, bool, &str)> = changes
            .iter()
            .map(|c| (c.value.clone(), c.added, c.key))
            .collect();
        assert!(lines.contains(&("185.20.187.8".into(), true, "a")));
        assert!(lines.contains(&("198.51.100.0/24".into(), false, "a")));
        assert!(lines.contains(&("ns1.rootdnservers.com".into(), true, "ns")));
        assert!(!lines.iter().any(|l| l.0 == "192.0.2.0/24"));
        let text_out = render_diff(&changes);
        assert!(
            text_out.starts_with("zone example.org\n  a:\n    + 185.20.187.8                             on mail.example.org; seen 1 time, first 2019-01-10T09:00:02Z, last 2019-01-10T09:00:02Z\n"),
            "{text_out}"
        );
        assert!(
            text_out.contains("- 198.51.100.0/24                          listed at z.toml:3, never seen; in the file: seen 3 times, 2019-01-01T00:00:00Z .. 2019-01-02T00:00:00Z, on www.example.org\n"),
            "{text_out}"
        );
        // Against what it learned, the same traffic: no differences.
        let learned = to_expect_toml(&l, LearnOptions::default(), 1, &Screen::default());
        let zones = parse_expect("l.toml", &learned.toml).unwrap();
        let none = diff(&zones, None, &l, &Screen::default());
        assert!(none.is_empty(), "{}", render_diff(&none));
        assert_eq!(render_diff(&none), "no differences\n");
    }

    #[test]
    fn a_value_never_seen_quotes_when_the_file_learned_it() {
        let l = learn_demo();
        let text = "[[zone]]\nname = \"example.org\"\na = [\n  \"192.0.2.0/24\",\n  \"198.51.100.7\",  # seen 3 times, 2018-12-01T00:00:00Z .. 2018-12-02T00:00:00Z, on old.example.org; REVIEW rare\n]\n";
        let expected = parse_expect("z.toml", text).unwrap();
        let changes = diff(
            &expected,
            Some(ExpectSource {
                path: "z.toml",
                text,
            }),
            &l,
            &Screen::default(),
        );
        let gone = changes.iter().find(|c| !c.added).unwrap();
        assert_eq!(
            gone.note,
            "listed at z.toml:5, never seen; in the file: seen 3 times, 2018-12-01T00:00:00Z .. 2018-12-02T00:00:00Z, on old.example.org"
        );
    }

    #[test]
    fn the_merged_file_holds_new_values_as_comments_pending_review() {
        let l = learn_demo();
        for text in [
            "[[zone]]\nname = \"example.org\"\na = [\"192.0.2.0/24\"]\nns = [\n  \"ns1.example.org\",\n  \"ns2.example.org\"  # no comma\n]\n",
            "[[zone]]\nname = \"example.org\"\na = [\n  \"192.0.2.0/24\",  # comma, then a comment\n]\nns = []\n",
        ] {
            let expected = parse_expect("z.toml", text).unwrap();
            let changes = diff(
                &expected,
                Some(ExpectSource {
                    path: "z.toml",
                    text,
                }),
                &l,
                &Screen::default(),
            );
            let merged = merged_expect_file(text, &changes, "demo.pcap");
            // Valid, and allows what the original allowed, nothing more.
            let zones = parse_expect("m.toml", &merged).unwrap();
            let z = zones.zone_for("example.org").unwrap();
            assert!(
                !z.policy.a.as_ref().unwrap().allows(ip("185.20.187.8")),
                "{merged}"
            );
            assert!(merged.contains("  # \"185.20.187.8\",  # PENDING REVIEW: on mail.example.org; seen 1 time, first 2019-01-10T09:00:02Z"), "{merged}");
            assert!(
                merged
                    .contains("  # \"ns1.rootdnservers.com\",  # PENDING REVIEW: on example.org;"),
                "{merged}"
            );
            assert!(
                merged.starts_with("# Merged by `dnsentry baseline diff` with demo.pcap: "),
                "{merged}"
            );
            // Uncommenting every pending value gives a file that allows them.
            let accepted = merged.replace("  # \"", "  \"");
            let zones =
                parse_expect("a.toml", &accepted).unwrap_or_else(|e| panic!("{e}\n{accepted}"));
            let z = zones.zone_for("example.org").unwrap();
            assert!(
                z.policy.a.as_ref().unwrap().allows(ip("185.20.187.8")),
                "{accepted}"
            );
            assert!(
                z.policy
                    .ns
                    .as_ref()
                    .unwrap()
                    .allows("ns1.rootdnservers.com"),
                "{accepted}"
            );
        }
        // What a feed lists is named, never written as a value to allow.
        let text = "[[zone]]\nname = \"example.org\"\na = [\"192.0.2.0/24\"]\nmx = []\n";
        let expected = parse_expect("z.toml", text).unwrap();
        let changes = diff(&expected, None, &l, &builtin_screen());
        let merged = merged_expect_file(text, &changes, "demo.pcap");
        assert!(
            merged.contains("  # INDICATOR HIT, not merged: \"185.20.187.8\" is 185.20.187.8 of builtin:aa19-024a.csv; on mail.example.org; seen 1 time, first 2019-01-10T09:00:02Z, last 2019-01-10T09:00:02Z\n"),
            "{merged}"
        );
        assert!(
            merged.contains("  # \"mx.relay-hijack.test\",  # PENDING REVIEW: "),
            "{merged}"
        );
        assert!(
            merged.contains(
                "# 2 value(s) a loaded feed lists are named as INDICATOR HIT, not merged.\n"
            ),
            "{merged}"
        );
        let accepted = merged.replace("  # \"", "  \"");
        let zones = parse_expect("a.toml", &accepted).unwrap_or_else(|e| panic!("{e}\n{accepted}"));
        let z = zones.zone_for("example.org").unwrap();
        assert!(
            !z.policy.a.as_ref().unwrap().allows(ip("185.20.187.8")),
            "{accepted}"
        );
        assert!(
            z.policy.mx.as_ref().unwrap().allows("mx.relay-hijack.test"),
            "{accepted}"
        );
    }

    fn builtin_screen() -> Screen {
        let rules = crate::rules::load_rules(&crate::rules::RuleSources {
            builtin_feed: true,
            ..Default::default()
        })
        .unwrap();
        Screen {
            ioc: rules.ioc,
            allow: rules.allow,
        }
    }

    #[test]
    fn values_a_feed_lists_are_never_learned_and_are_marked_as_hits() {
        let l = learn_demo();
        let screen = builtin_screen();
        let hits = indicator_hits(&l, &screen);
        let found: Vec<(&str, &str)> = hits.iter().map(|h| (h.key, h.value.as_str())).collect();
        assert!(found.contains(&("a", "185.20.187.8")), "{found:?}");
        assert!(
            found.contains(&("ns", "ns1.rootdnservers.com")),
            "{found:?}"
        );
        assert!(!found.iter().any(|(_, v)| *v == "192.0.2.10"), "{found:?}");
        for opts in [
            LearnOptions::default(),
            LearnOptions {
                aggregate: Some((24, 48)),
            },
        ] {
            let toml = to_expect_toml(&l, opts, 1, &screen).toml;
            let zones = parse_expect("learned.toml", &toml).unwrap();
            let z = zones.zone_for("example.org").unwrap();
            let a = z.effective("mail.example.org").a.unwrap();
            assert!(a.allows(ip("192.0.2.10")), "{toml}");
            assert!(!a.allows(ip("185.20.187.8")), "{toml}");
            let ns = z.policy.ns.as_ref().unwrap();
            assert!(!ns.allows("ns1.rootdnservers.com"), "{toml}");
            assert!(
                toml.contains(
                    "# INDICATOR HIT, not learned: example.org a 185.20.187.8 is indicator 185.20.187.8 of builtin:aa19-024a.csv"
                ),
                "{toml}"
            );
        }
        // A clean neighbour of a hit is listed alone, not as the /24
        // that would allow the hit.
        let mut scenario = Scenario::new(1_547_110_800);
        for addr in ["185.20.187.9", "185.20.187.8", "192.0.2.1", "192.0.2.2"] {
            scenario.exchange(
                &Exchange::new("10.0.0.2", "10.0.0.53", "www.example.org", RecordType::A)
                    .answer(rr("www.example.org", 60, a(addr))),
            );
        }
        let l = learn_from(&scenario, &["example.org"]);
        let opts = LearnOptions {
            aggregate: Some((24, 48)),
        };
        let toml = to_expect_toml(&l, opts, 1, &screen).toml;
        let zones = parse_expect("n.toml", &toml).unwrap();
        let a = zones
            .zone_for("example.org")
            .unwrap()
            .policy
            .a
            .clone()
            .unwrap();
        assert!(a.allows(ip("185.20.187.9")), "{toml}");
        assert!(!a.allows(ip("185.20.187.8")), "{toml}");
        assert!(toml.contains("\"192.0.2.0/24\""), "{toml}");
        // An allowlist covers a value: it is learned like any other.
        let mut screen = screen;
        screen.allow = IocSet::new(
            crate::ioc::parse_feed("allow.txt", "185.20.187.8\n")
                .unwrap()
                .indicators,
        );
        let found: Vec<String> = indicator_hits(&l, &screen)
            .into_iter()
            .map(|h| h.value)
            .collect();
        assert!(!found.contains(&"185.20.187.8".to_string()), "{found:?}");
    }

    #[test]
    fn a_hijacked_name_server_lends_its_glue_nothing() {
        let mut s = Scenario::new(1_547_110_800);
        s.exchange(
            &Exchange::new("10.1.0.53", "192.0.2.200", "www.example.org", RecordType::A)
                .authority(rr("example.org", 86400, ns("ns1.rootdnservers.com")))
                .additional(rr("ns1.rootdnservers.com", 86400, a("203.0.113.66"))),
        );
        s.exchange(
            &Exchange::new("10.1.0.53", "192.0.2.200", "www.example.org", RecordType::A)
                .authority(rr("example.org", 86400, ns("ns1.example.org")))
                .additional(rr("ns1.example.org", 86400, a("192.0.2.53"))),
        );
        let l = learn_from(&s, &["example.org"]);
        let toml = to_expect_toml(&l, LearnOptions::default(), 1, &builtin_screen()).toml;
        let zones = parse_expect("l.toml", &toml).unwrap();
        let nsa = zones
            .zone_for("example.org")
            .unwrap()
            .policy
            .ns_addresses
            .clone()
            .unwrap();
        assert!(nsa.allows(ip("192.0.2.53")), "{toml}");
        assert!(!nsa.allows(ip("203.0.113.66")), "{toml}");
        assert!(
            toml.contains("# not learned: 203.0.113.66, address of indicator-hit name server ns1.rootdnservers.com; seen 1 time"),
            "{toml}"
        );
    }
}
