//! Learn mode: what records the organisation's zones actually had on the
//! wire, written as an expect file to review (`dnsentry baseline learn`),
//! and what changed against an existing one (`dnsentry baseline diff`).
//!
//! Learning is a starting point, not a verdict: a hijack that was on the
//! wire while learning is learned too. Each entry therefore says how often
//! and between which times it was seen, so a reviewer can spot the address
//! that appeared for ten minutes on one morning. What a loaded feed already
//! names as attacker infrastructure is never learned: it is written as a
//! comment marked as an indicator hit, so the file cannot allow the very
//! value it should alert on.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use ipnet::IpNet;

use crate::capture::offline::read_file;
use crate::capture::{CaptureError, Flow};
use crate::decode::transport::PortSet;
use crate::decode::{Demux, DemuxLimits};
use crate::expect::{ExpectedZones, is_at_or_under};
use crate::ioc::{Indicator, IocSet};
use crate::model::names::fold_into;
use crate::model::{DnsResponse, PayloadBatch, Rdata, Section, SourceNames, Timestamp};
use crate::pipeline::batch::{ProcessOptions, Processor};
use crate::rules::{Rules, shared};

const TYPE_A: u16 = 1;
const TYPE_NS: u16 = 2;
const TYPE_CNAME: u16 = 5;
const TYPE_MX: u16 = 15;
const TYPE_AAAA: u16 = 28;

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

/// What was seen of one zone.
#[derive(Debug, Default)]
pub struct ZoneSeen {
    pub name: String,
    pub a: BTreeMap<IpAddr, Seen>,
    pub aaaa: BTreeMap<IpAddr, Seen>,
    pub ns: BTreeMap<String, Seen>,
    pub mx: BTreeMap<String, Seen>,
    pub cname: BTreeMap<String, Seen>,
    pub resolvers: BTreeMap<IpAddr, Seen>,
    /// The lowest TTL of a monitored record, and where.
    pub min_ttl: Option<(u32, String)>,
    pub responses: u64,
}

fn note<K: Ord>(map: &mut BTreeMap<K, Seen>, key: K, ts: Timestamp) {
    map.entry(key)
        .and_modify(|s| s.add(ts))
        .or_insert_with(|| Seen::new(ts));
}

/// Collects observations for a set of zones.
#[derive(Debug, Default)]
pub struct Learner {
    /// Most specific first, so the first zone a name falls in is its own.
    zones: Vec<ZoneSeen>,
    folded: String,
    target: String,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
}

impl Learner {
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

    fn zone_index(&self, folded: &str) -> Option<usize> {
        self.zones
            .iter()
            .position(|z| is_at_or_under(folded, &z.name))
    }

    /// Takes in one response: the records of the learned zones in its
    /// answers, its referrals' NS records, and who answered.
    pub fn observe(&mut self, resp: &DnsResponse) {
        let ts = resp.meta.ts;
        self.first = Some(self.first.map_or(ts, |f| f.min(ts)));
        self.last = Some(self.last.map_or(ts, |l| l.max(ts)));
        fold_into(resp.qname(), &mut self.folded);
        if let Some(i) = self.zone_index(&self.folded)
            && let Some(z) = self.zones.get_mut(i)
        {
            z.responses += 1;
            note(&mut z.resolvers, resp.meta.src_ip, ts);
        }
        for (section, r) in resp.records() {
            let referral_ns = section == Section::Authority && r.rtype == TYPE_NS;
            if section != Section::Answer && !referral_ns {
                continue;
            }
            fold_into(&r.name, &mut self.folded);
            let Some(i) = self.zone_index(&self.folded) else {
                continue;
            };
            let Some(z) = self.zones.get_mut(i) else {
                continue;
            };
            let mut monitored = true;
            match (&r.data, r.rtype) {
                (Rdata::A(a), TYPE_A) => note(&mut z.a, IpAddr::V4(*a), ts),
                (Rdata::Aaaa(a), TYPE_AAAA) => note(&mut z.aaaa, IpAddr::V6(*a), ts),
                (Rdata::Name(t), TYPE_NS) => {
                    fold_into(t, &mut self.target);
                    note(&mut z.ns, self.target.clone(), ts);
                }
                (Rdata::Mx { exchange, .. }, TYPE_MX) => {
                    fold_into(exchange, &mut self.target);
                    note(&mut z.mx, self.target.clone(), ts);
                }
                (Rdata::Name(t), TYPE_CNAME) => {
                    fold_into(t, &mut self.target);
                    note(&mut z.cname, self.target.clone(), ts);
                }
                _ => monitored = false,
            }
            if monitored && z.min_ttl.as_ref().is_none_or(|(t, _)| r.ttl < *t) {
                z.min_ttl = Some((r.ttl, self.folded.clone()));
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

/// Networks covering `addrs` with at most this prefix length per family,
/// each with the merged observations of the addresses it covers.
fn aggregate(addrs: &BTreeMap<IpAddr, Seen>, v4: u8, v6: u8) -> Vec<(IpNet, Seen)> {
    let mut nets: BTreeMap<IpNet, Seen> = BTreeMap::new();
    for (addr, seen) in addrs {
        let len = if addr.is_ipv4() { v4 } else { v6 };
        let net = IpNet::new(*addr, len)
            .map(|n| n.trunc())
            .unwrap_or_else(|_| IpNet::from(*addr));
        nets.entry(net)
            .and_modify(|s| s.merge(seen))
            .or_insert(*seen);
    }
    nets.into_iter().collect()
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
    pub seen: Seen,
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
            |key: &'static str, value: String, ind: Option<Arc<Indicator>>, seen: &Seen| {
                if let Some(indicator) = ind {
                    hits.push(IndicatorHit {
                        zone: z.name.clone(),
                        key,
                        value,
                        indicator,
                        seen: *seen,
                    });
                }
            };
        for (key, map) in [("a", &z.a), ("aaaa", &z.aaaa), ("resolvers", &z.resolvers)] {
            for (a, seen) in map {
                push(key, a.to_string(), screen.addr(*a), seen);
            }
        }
        for (key, map) in [("ns", &z.ns), ("mx", &z.mx), ("cname", &z.cname)] {
            for (n, seen) in map {
                push(key, n.clone(), screen.name(n), seen);
            }
        }
    }
    hits
}

/// Options of `baseline learn`.
#[derive(Clone, Copy, Debug, Default)]
pub struct LearnOptions {
    /// Group addresses into networks of these prefix lengths (IPv4, IPv6).
    pub aggregate: Option<(u8, u8)>,
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

/// The expect file the observations imply, each entry commented with how
/// often and when it was seen; a value `screen` finds in a feed is left
/// out (before addresses are grouped) and written after its key as a
/// comment marked `INDICATOR HIT`.
pub fn to_expect_toml(l: &Learner, opts: LearnOptions, inputs: usize, screen: &Screen) -> String {
    let hits = indicator_hits(l, screen);
    let mut out = String::new();
    let span = match (l.first, l.last) {
        (Some(f), Some(t)) => format!("{} to {}", short_time(f), short_time(t)),
        _ => "no responses".to_string(),
    };
    let _ = writeln!(
        out,
        "# Learned by `dnsentry baseline learn` from {inputs} capture(s), {span}."
    );
    let _ = writeln!(
        out,
        "# Review before use: every value below was seen on the wire, hijacks included."
    );
    let mut zones: Vec<&ZoneSeen> = l.zones.iter().collect();
    zones.sort_by(|a, b| a.name.cmp(&b.name));
    for z in zones {
        let _ = writeln!(out, "\n[[zone]]\nname = {}", quote(&z.name));
        if z.responses == 0 && z.a.is_empty() && z.ns.is_empty() {
            let _ = writeln!(out, "# nothing seen for this zone");
            continue;
        }
        let zone_hits: Vec<&IndicatorHit> = hits.iter().filter(|h| h.zone == z.name).collect();
        let is_hit =
            |key: &str, value: &str| zone_hits.iter().any(|h| h.key == key && h.value == value);
        let mut list = |key: &str, entries: Vec<(String, Seen)>| {
            if !entries.is_empty() {
                let _ = writeln!(out, "{key} = [");
                for (v, s) in entries {
                    let _ = writeln!(out, "  {},  # {}", quote(&v), s.describe());
                }
                let _ = writeln!(out, "]");
            }
            for h in zone_hits.iter().filter(|h| h.key == key) {
                let _ = writeln!(
                    out,
                    "# INDICATOR HIT, not learned: {}; {}",
                    h.describe(),
                    h.seen.describe()
                );
            }
        };
        let addrs = |key: &str, m: &BTreeMap<IpAddr, Seen>| -> Vec<(String, Seen)> {
            let clean: BTreeMap<IpAddr, Seen> = m
                .iter()
                .filter(|(a, _)| !is_hit(key, &a.to_string()))
                .map(|(a, s)| (*a, *s))
                .collect();
            match opts.aggregate {
                // A network that would hold an indicator hit is listed
                // as its addresses instead: grouping must not allow it.
                Some((v4, v6)) => aggregate(&clean, v4, v6)
                    .into_iter()
                    .flat_map(|(net, seen)| {
                        let holds_hit = zone_hits.iter().any(|h| {
                            h.key == key
                                && h.value.parse::<IpAddr>().is_ok_and(|a| net.contains(&a))
                        });
                        if holds_hit {
                            clean
                                .iter()
                                .filter(|(a, _)| net.contains(*a))
                                .map(|(a, s)| (a.to_string(), *s))
                                .collect()
                        } else {
                            vec![(net.to_string(), seen)]
                        }
                    })
                    .collect(),
                None => clean.iter().map(|(a, s)| (a.to_string(), *s)).collect(),
            }
        };
        let names = |key: &str, m: &BTreeMap<String, Seen>| -> Vec<(String, Seen)> {
            m.iter()
                .filter(|(n, _)| !is_hit(key, n))
                .map(|(n, s)| (n.clone(), *s))
                .collect()
        };
        list("a", addrs("a", &z.a));
        list("aaaa", addrs("aaaa", &z.aaaa));
        list("ns", names("ns", &z.ns));
        list("mx", names("mx", &z.mx));
        list("cname", names("cname", &z.cname));
        list(
            "resolvers",
            z.resolvers
                .iter()
                .filter(|(a, _)| !is_hit("resolvers", &a.to_string()))
                .map(|(a, s)| (a.to_string(), *s))
                .collect(),
        );
        if let Some((ttl, owner)) = &z.min_ttl {
            let _ = writeln!(out, "ttl_min = {ttl}  # lowest TTL seen, on {owner}");
        }
    }
    out
}

/// One line of `baseline diff`: `+` seen but not allowed, `-` allowed but
/// never seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub zone: String,
    pub key: &'static str,
    pub added: bool,
    pub value: String,
    pub note: String,
}

/// What the traffic shows against the expect file, zone by zone and key by
/// key.
pub fn diff(expected: &ExpectedZones, l: &Learner) -> Vec<Change> {
    let mut changes = Vec::new();
    for z in &l.zones {
        let Some(zone) = expected.zone_for(&z.name) else {
            continue;
        };
        let p = &zone.policy;
        let mut push = |key: &'static str, added: bool, value: String, note: String| {
            changes.push(Change {
                zone: z.name.clone(),
                key,
                added,
                value,
                note,
            });
        };
        let addr_diff =
            |key: &'static str,
             policy: Option<&crate::expect::AddressPolicy>,
             seen: &BTreeMap<IpAddr, Seen>,
             push: &mut dyn FnMut(&'static str, bool, String, String)| {
                let Some(p) = policy else { return };
                for (a, s) in seen {
                    if !p.allows(*a) {
                        push(key, true, a.to_string(), s.describe());
                    }
                }
                for listed in p.listed.iter() {
                    let Ok(net) = listed
                        .parse::<IpNet>()
                        .or_else(|_| listed.parse::<IpAddr>().map(IpNet::from))
                    else {
                        continue;
                    };
                    if !seen.keys().any(|a| net.contains(a)) {
                        push(key, false, listed.clone(), "never seen".into());
                    }
                }
            };
        addr_diff("a", p.a.as_ref(), &z.a, &mut push);
        addr_diff("aaaa", p.aaaa.as_ref(), &z.aaaa, &mut push);
        addr_diff(
            "resolvers",
            zone.resolvers.as_ref(),
            &z.resolvers,
            &mut push,
        );
        let name_diff =
            |key: &'static str,
             policy: Option<&crate::expect::NamePolicy>,
             seen: &BTreeMap<String, Seen>,
             push: &mut dyn FnMut(&'static str, bool, String, String)| {
                let Some(p) = policy else { return };
                for (n, s) in seen {
                    if !p.allows(n) {
                        push(key, true, n.clone(), s.describe());
                    }
                }
                for listed in p.listed.iter() {
                    let folded = listed.trim_end_matches('.').to_ascii_lowercase();
                    let hit = match folded.strip_prefix("*.") {
                        Some(base) => seen.keys().any(|n| n != base && is_at_or_under(n, base)),
                        None => seen.contains_key(&folded),
                    };
                    if !hit {
                        push(key, false, listed.clone(), "never seen".into());
                    }
                }
            };
        name_diff("ns", p.ns.as_ref(), &z.ns, &mut push);
        name_diff("mx", p.mx.as_ref(), &z.mx, &mut push);
        name_diff("cname", p.cname.as_ref(), &z.cname, &mut push);
        if let (Some(min), Some((ttl, owner))) = (p.ttl_min, &z.min_ttl)
            && *ttl < min
        {
            push(
                "ttl_min",
                true,
                ttl.to_string(),
                format!("lowest TTL seen, on {owner}; ttl_min is {min}"),
            );
        }
    }
    changes
}

/// The diff as a reviewer reads it.
pub fn render_diff(changes: &[Change]) -> String {
    let mut out = String::new();
    let mut current: Option<(&str, &str)> = None;
    for c in changes {
        if current.map(|(z, _)| z) != Some(c.zone.as_str()) {
            let _ = writeln!(out, "zone {}", c.zone);
            current = Some((&c.zone, ""));
        }
        if current.map(|(_, k)| k) != Some(c.key) {
            let _ = writeln!(out, "  {}:", c.key);
            current = Some((&c.zone, c.key));
        }
        let sign = if c.added { '+' } else { '-' };
        let _ = writeln!(out, "    {sign} {:<40} {}", c.value, c.note);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expect::parse_expect;

    fn learn_demo() -> Learner {
        let mut l = Learner::new(["example.org"]);
        let s = crate::synth::demo::demo_scenario();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.pcap");
        s.write_pcap_file(&p).unwrap();
        read_responses(&[p], &[53], |r| l.observe(r)).unwrap();
        l
    }

    #[test]
    fn learns_what_the_wire_showed_with_when_and_how_often() {
        let l = learn_demo();
        let z = &l.zones()[0];
        assert!(z.a.contains_key(&"192.0.2.10".parse::<IpAddr>().unwrap()));
        assert!(
            z.a.contains_key(&"185.20.187.8".parse::<IpAddr>().unwrap()),
            "the hijack is learned too"
        );
        assert_eq!(z.ns.len(), 4);
        assert_eq!(z.a[&"192.0.2.10".parse::<IpAddr>().unwrap()].count, 2);
        let toml = to_expect_toml(&l, LearnOptions::default(), 1, &Screen::default());
        assert!(
            toml.contains(
                "  \"192.0.2.10\",  # seen 2 times, 2019-01-10T09:00:00Z .. 2019-01-10T09:00:01Z"
            ),
            "{toml}"
        );
        // What it writes is a valid expect file.
        let zones = parse_expect("learned.toml", &toml).unwrap();
        assert_eq!(zones.len(), 1);
        let agg = to_expect_toml(
            &l,
            LearnOptions {
                aggregate: Some((24, 48)),
            },
            1,
            &Screen::default(),
        );
        assert!(agg.contains("\"192.0.2.0/24\""), "{agg}");
        parse_expect("agg.toml", &agg).unwrap();
    }

    #[test]
    fn diff_shows_what_changed() {
        let l = learn_demo();
        let expected = parse_expect(
            "z.toml",
            "[[zone]]\nname = \"example.org\"\na = [\"192.0.2.0/24\", \"198.51.100.0/24\"]\nns = [\"ns1.example.org\", \"ns2.example.org\"]\n",
        )
        .unwrap();
        let changes = diff(&expected, &l);
        let lines: Vec<(String, bool, &str)> = changes
            .iter()
            .map(|c| (c.value.clone(), c.added, c.key))
            .collect();
        assert!(lines.contains(&("185.20.187.8".into(), true, "a")));
        assert!(lines.contains(&("198.51.100.0/24".into(), false, "a")));
        assert!(lines.contains(&("ns1.rootdnservers.com".into(), true, "ns")));
        assert!(!lines.iter().any(|l| l.0 == "192.0.2.0/24"));
        let text = render_diff(&changes);
        assert!(
            text.starts_with("zone example.org\n  a:\n    + 185.20.187.8"),
            "{text}"
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
            let toml = to_expect_toml(&l, opts, 1, &screen);
            let zones = parse_expect("learned.toml", &toml).unwrap();
            let z = zones.zone_for("example.org").unwrap();
            let a = z.policy.a.as_ref().unwrap();
            assert!(a.allows("192.0.2.10".parse().unwrap()), "{toml}");
            assert!(!a.allows("185.20.187.8".parse().unwrap()), "{toml}");
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
        let mut l = Learner::new(["example.org"]);
        let mut scenario = crate::synth::Scenario::new(1_547_110_800);
        for addr in ["185.20.187.9", "185.20.187.8", "192.0.2.1", "192.0.2.2"] {
            scenario.exchange(
                &crate::synth::Exchange::new(
                    "10.0.0.2",
                    "10.0.0.53",
                    "www.example.org",
                    hickory_proto::rr::RecordType::A,
                )
                .answer(crate::synth::rr(
                    "www.example.org",
                    60,
                    crate::synth::a(addr),
                )),
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("n.pcap");
        scenario.write_pcap_file(&p).unwrap();
        read_responses(&[p], &[53], |r| l.observe(r)).unwrap();
        let opts = LearnOptions {
            aggregate: Some((24, 48)),
        };
        let toml = to_expect_toml(&l, opts, 1, &screen);
        let zones = parse_expect("n.toml", &toml).unwrap();
        let a = zones
            .zone_for("example.org")
            .unwrap()
            .policy
            .a
            .clone()
            .unwrap();
        assert!(a.allows("185.20.187.9".parse().unwrap()), "{toml}");
        assert!(!a.allows("185.20.187.8".parse().unwrap()), "{toml}");
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
}
