//! The expect file a learner's observations imply (`baseline learn`), and
//! the rules that shape it (README, "Learn mode"): per-name overrides for
//! names served elsewhere, CNAME patterns for provider edge names, the
//! name servers' addresses, `dnssec`, `ttl_min` with a margin, and the
//! values marked for review.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::IpAddr;

use ipnet::IpNet;

use super::{IndicatorHit, Learner, Observed, Screen, Seen, ZoneSeen, indicator_hits, short_time};
use crate::expect::is_at_or_under;
use crate::model::Timestamp;
use crate::model::names::suffix_starts;
use crate::model::text::escape_text;

/// Options of `baseline learn`.
#[derive(Clone, Copy, Debug, Default)]
pub struct LearnOptions {
    /// Group addresses into networks of these prefix lengths (IPv4, IPv6).
    pub aggregate: Option<(u8, u8)>,
}

/// A learned expect file, and what in it is marked for review.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Learned {
    pub toml: String,
    /// `ZONE KEY VALUE: why`, one per value marked `REVIEW` (escaped).
    pub review: Vec<String>,
}

/// Per-name overrides: a name's addresses are told apart from the rest of
/// its zone by these networks.
const SPACE_V4: u8 = 24;
const SPACE_V6: u8 = 48;
/// Rare: seen at most 1/RARE_RATIO as often as the busiest value of the
/// same list, itself seen at least RARE_BUSIEST times.
const RARE_RATIO: u64 = 100;
const RARE_BUSIEST: u64 = 100;
/// Brief: seen within at most 1/BRIEF_SHARE of a learning period of at
/// least BRIEF_MIN_PERIOD_US, while a value of the same list spans at
/// least half of it.
const BRIEF_SHARE: i64 = 20;
const BRIEF_MIN_PERIOD_US: i64 = 3_600_000_000;
/// `ttl_min` is the lowest legitimate TTL seen divided by this: a TTL
/// counts down in caches, so the lowest seen is not the lowest served.
const TTL_MARGIN_DIVISOR: u32 = 2;

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

/// One item of a list as written.
struct Entry {
    value: String,
    seen: Seen,
    /// How often, when and where it was seen.
    comment: String,
}

impl Entry {
    fn of(value: String, o: &Observed, preposition: &str) -> Entry {
        Entry {
            value,
            seen: o.seen,
            comment: format!("{}, {}", o.seen.describe(), o.owners_text(preposition)),
        }
    }
}

fn duration_text(us: i64) -> String {
    let secs = u64::try_from(us / 1_000_000).unwrap_or(0);
    humantime::format_duration(std::time::Duration::from_secs(secs)).to_string()
}

/// Why `e` stands out among the other items of its list, if it does.
fn outlier(e: &Entry, others: &[&Entry], period: Option<(Timestamp, Timestamp)>) -> Option<String> {
    let mut why = Vec::new();
    if let Some(busiest) = others.iter().max_by_key(|o| o.seen.count)
        && busiest.seen.count >= RARE_BUSIEST
        && e.seen.count.saturating_mul(RARE_RATIO) <= busiest.seen.count
    {
        let times = if e.seen.count == 1 { "time" } else { "times" };
        why.push(format!(
            "rare: seen {} {times} while {} was seen {} times",
            e.seen.count, busiest.value, busiest.seen.count
        ));
    }
    if let Some((first, last)) = period {
        let span = last.0.saturating_sub(first.0);
        let steady = others
            .iter()
            .filter(|o| o.seen.window().saturating_mul(2) >= span)
            .max_by_key(|o| o.seen.window());
        if span >= BRIEF_MIN_PERIOD_US
            && e.seen.window().saturating_mul(BRIEF_SHARE) <= span
            && let Some(steady) = steady
        {
            why.push(format!(
                "brief: seen within {} of the {} learned, while {} was seen over {}",
                duration_text(e.seen.window()),
                duration_text(span),
                steady.value,
                duration_text(steady.seen.window())
            ));
        }
    }
    (!why.is_empty()).then(|| why.join("; "))
}

/// Writes the expect file as it is built, and what it marks for review.
struct Writer<'a> {
    out: String,
    review: Vec<String>,
    period: Option<(Timestamp, Timestamp)>,
    hits: &'a [IndicatorHit],
}

impl Writer<'_> {
    fn line(&mut self, text: &str) {
        self.out.push_str(text);
        self.out.push('\n');
    }

    /// A comment line: what it quotes came from the wire, escaped as every
    /// output is (no control character ends the comment early).
    fn comment(&mut self, text: &str) {
        let _ = writeln!(self.out, "# {}", escape_text(text));
    }

    /// `key = [...]`, each item commented, outliers marked `REVIEW`; then
    /// the indicator hits of `zone`'s `key`. A list left empty by its
    /// hits is written empty, so that the key is still checked.
    fn list(&mut self, zone: &str, key: &str, entries: &[Entry]) {
        let hits: Vec<&IndicatorHit> = self
            .hits
            .iter()
            .filter(|h| h.zone == zone && h.key == key)
            .collect();
        if entries.is_empty() && !hits.is_empty() {
            let _ = writeln!(
                self.out,
                "{key} = []  # every value seen was an indicator hit: any value alerts"
            );
        } else if !entries.is_empty() {
            let _ = writeln!(self.out, "{key} = [");
            for (i, e) in entries.iter().enumerate() {
                let others: Vec<&Entry> = entries
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, o)| o)
                    .collect();
                let comment = match outlier(e, &others, self.period) {
                    Some(why) => {
                        self.review.push(
                            escape_text(&format!("{zone} {key} {}: {why}", e.value)).into_owned(),
                        );
                        format!("{}; REVIEW {why}", e.comment)
                    }
                    None => e.comment.clone(),
                };
                let _ = writeln!(
                    self.out,
                    "  {},  # {}",
                    quote(&e.value),
                    escape_text(&comment)
                );
            }
            self.line("]");
        }
        for h in hits {
            let _ = writeln!(
                self.out,
                "# INDICATOR HIT, not learned: {}; {}",
                h.describe(),
                h.seen.seen.describe()
            );
        }
    }
}

/// The expect file the observations imply, each entry commented with how
/// often, when and on which names it was seen; a value `screen` finds in
/// a feed is left out (before addresses are grouped) and written after its
/// key as a comment marked `INDICATOR HIT`.
pub fn to_expect_toml(l: &Learner, opts: LearnOptions, inputs: usize, screen: &Screen) -> Learned {
    let hits = indicator_hits(l, screen);
    let mut w = Writer {
        out: String::new(),
        review: Vec::new(),
        period: l.period(),
        hits: &hits,
    };
    let span = match l.period() {
        Some((f, t)) => format!("{} to {}", short_time(f), short_time(t)),
        None => "no responses".to_string(),
    };
    w.line(&format!(
        "# Learned by `dnsentry baseline learn` from {inputs} capture(s), {span}."
    ));
    w.line("# Review before use: every value below was seen on the wire, hijacks included;");
    w.line("# values marked REVIEW stand out (README, \"Learn mode\").");
    let zone_names: Vec<&str> = l.zones.iter().map(|z| z.name.as_str()).collect();
    let mut zones: Vec<&ZoneSeen> = l.zones.iter().collect();
    zones.sort_by(|a, b| a.name.cmp(&b.name));
    for z in zones {
        write_zone(&mut w, l, z, opts, &zone_names);
    }
    Learned {
        toml: w.out,
        review: w.review,
    }
}

fn write_zone(
    w: &mut Writer<'_>,
    l: &Learner,
    z: &ZoneSeen,
    opts: LearnOptions,
    zone_names: &[&str],
) {
    w.line("");
    w.line("[[zone]]");
    w.line(&format!("name = {}", quote(&z.name)));
    if z.is_empty() {
        w.comment("nothing seen for this zone");
        return;
    }
    let hits = w.hits;
    let is_hit = |key: &str, value: &str| {
        hits.iter()
            .any(|h| h.zone == z.name && h.key == key && h.value == value)
    };
    let hit_addrs = |key: &str| -> Vec<IpAddr> {
        hits.iter()
            .filter(|h| h.zone == z.name && h.key == key)
            .filter_map(|h| h.value.parse().ok())
            .collect()
    };
    let clean_addrs = |key: &str, m: &BTreeMap<IpAddr, Observed>| -> BTreeMap<IpAddr, Observed> {
        m.iter()
            .filter(|(a, _)| !is_hit(key, &a.to_string()))
            .map(|(a, o)| (*a, o.clone()))
            .collect()
    };
    let clean_names = |key: &str, m: &BTreeMap<String, Observed>| -> BTreeMap<String, Observed> {
        m.iter()
            .filter(|(n, _)| !is_hit(key, n))
            .map(|(n, o)| (n.clone(), o.clone()))
            .collect()
    };
    let a = clean_addrs("a", &z.a);
    let aaaa = clean_addrs("aaaa", &z.aaaa);
    let ns = clean_names("ns", &z.ns);
    let mx = clean_names("mx", &z.mx);
    let cname = clean_names("cname", &z.cname);

    let (a_zone, a_names) = split_by_name(&z.name, &a);
    let (aaaa_zone, aaaa_names) = split_by_name(&z.name, &aaaa);
    let a_hits = hit_addrs("a");
    let aaaa_hits = hit_addrs("aaaa");
    w.list(
        &z.name,
        "a",
        &address_entries(&a_zone, &a_hits, opts.aggregate, "on"),
    );
    w.list(
        &z.name,
        "aaaa",
        &address_entries(&aaaa_zone, &aaaa_hits, opts.aggregate, "on"),
    );
    let names = |m: &BTreeMap<String, Observed>| -> Vec<Entry> {
        m.iter()
            .map(|(n, o)| Entry::of(n.clone(), o, "on"))
            .collect()
    };
    w.list(&z.name, "ns", &names(&ns));
    w.list(&z.name, "mx", &names(&mx));
    let cname_hits: Vec<&str> = hits
        .iter()
        .filter(|h| h.zone == z.name && h.key == "cname")
        .map(|h| h.value.as_str())
        .collect();
    w.list(
        &z.name,
        "cname",
        &cname_entries(zone_names, &cname, &cname_hits),
    );
    write_ns_addresses(w, z, &clean_addrs("ns_addresses", &l.ns_addresses(z)));
    let resolvers = clean_addrs("resolvers", &z.resolvers);
    w.list(
        &z.name,
        "resolvers",
        &address_entries(&resolvers, &[], None, "for"),
    );
    write_ttl_min(w, z, [&a, &aaaa], [&ns, &mx, &cname]);
    write_dnssec(w, z);

    let mut overrides: BTreeMap<&str, [Option<&BTreeMap<IpAddr, Observed>>; 2]> = BTreeMap::new();
    for (name, m) in &a_names {
        overrides.entry(name).or_default()[0] = Some(m);
    }
    for (name, m) in &aaaa_names {
        overrides.entry(name).or_default()[1] = Some(m);
    }
    for (name, [a, aaaa]) in overrides {
        w.line("");
        w.line("[[zone.override]]");
        w.line(&format!("name = {}", quote(name)));
        w.comment(&format!(
            "served elsewhere: its addresses share no /{SPACE_V4} (IPv6 /{SPACE_V6}) with another name of {}",
            z.name
        ));
        for (key, m, key_hits) in [("a", a, &a_hits), ("aaaa", aaaa, &aaaa_hits)] {
            if let Some(m) = m {
                // Hits are written once, under the zone's key.
                let entries = address_entries(m, key_hits, opts.aggregate, "on");
                write_plain_list(w, name, key, &entries);
            }
        }
    }
}

/// A list whose indicator hits were written elsewhere.
fn write_plain_list(w: &mut Writer<'_>, scope: &str, key: &str, entries: &[Entry]) {
    let hits = std::mem::take(&mut w.hits);
    w.list(scope, key, entries);
    w.hits = hits;
}

/// `ns_addresses`: the addresses of the zone's name servers, except
/// those of a name server that is itself an indicator hit.
fn write_ns_addresses(w: &mut Writer<'_>, z: &ZoneSeen, clean: &BTreeMap<IpAddr, Observed>) {
    let hit_hosts: BTreeSet<&str> = w
        .hits
        .iter()
        .filter(|h| h.zone == z.name && h.key == "ns")
        .map(|h| h.value.as_str())
        .collect();
    let mut entries = Vec::new();
    let mut left_out = Vec::new();
    for (addr, o) in clean {
        let mut kept: Option<Observed> = None;
        for owner in o.owners.keys() {
            if hit_hosts.contains(owner.as_str()) {
                continue;
            }
            if let Some(part) = o.on(owner) {
                match &mut kept {
                    Some(k) => k.merge(&part),
                    None => kept = Some(part),
                }
            }
        }
        match kept {
            Some(k) => entries.push(Entry::of(addr.to_string(), &k, "of")),
            None => left_out.push((addr, o)),
        }
    }
    w.list(&z.name, "ns_addresses", &entries);
    for (addr, o) in left_out {
        let hosts: Vec<&str> = o.owners.keys().map(String::as_str).collect();
        w.comment(&format!(
            "not learned: {addr}, address of indicator-hit name server {}; {}",
            hosts.join(", "),
            o.seen.describe()
        ));
    }
}

/// `ttl_min`: the lowest TTL of a watched record whose value was learned,
/// divided by [`TTL_MARGIN_DIVISOR`].
fn write_ttl_min(
    w: &mut Writer<'_>,
    z: &ZoneSeen,
    addrs: [&BTreeMap<IpAddr, Observed>; 2],
    names: [&BTreeMap<String, Observed>; 3],
) {
    let mut lowest: Option<(u32, String)> = z.other_min_ttl.clone();
    let candidates = addrs
        .iter()
        .flat_map(|m| m.values())
        .chain(names.iter().flat_map(|m| m.values()))
        .filter_map(|o| o.min_ttl.as_ref());
    for (ttl, owner) in candidates {
        if lowest.as_ref().is_none_or(|(t, _)| ttl < t) {
            lowest = Some((*ttl, owner.clone()));
        }
    }
    if let Some((ttl, owner)) = lowest {
        let _ = writeln!(
            w.out,
            "ttl_min = {}  # half the lowest TTL seen ({ttl}, on {})",
            ttl / TTL_MARGIN_DIVISOR,
            escape_text(&owner)
        );
    }
}

/// `dnssec = true` when the zone was seen signed and nothing seen would
/// alert under it; signed but with unsigned answers, a commented line
/// marked for review.
fn write_dnssec(w: &mut Writer<'_>, z: &ZoneSeen) {
    let d = &z.dnssec;
    if !d.signed() {
        return;
    }
    let evidence = format!(
        "RRSIGs in {} responses, DS in {} referrals",
        d.signed_answers, d.ds_referrals
    );
    match &d.first_unsigned {
        None => w.line(&format!("dnssec = true  # {evidence}")),
        Some((owner, ts)) => {
            let why = format!(
                "not set: {evidence}, yet {} responses to DNSSEC queries came unsigned (the first on {owner} at {}), which it would alert on",
                d.unsigned,
                short_time(*ts)
            );
            w.review
                .push(escape_text(&format!("{} dnssec: {why}", z.name)).into_owned());
            w.comment(&format!("dnssec = true  # REVIEW {why}"));
        }
    }
}

/// The network of `addr` that tells the zone's own space from elsewhere.
fn space_of(addr: IpAddr) -> IpNet {
    let len = if addr.is_ipv4() { SPACE_V4 } else { SPACE_V6 };
    IpNet::new(addr, len)
        .map(|n| n.trunc())
        .unwrap_or_else(|_| IpNet::from(addr))
}

/// Addresses of one family, split into the zone's list and per-name
/// overrides. A name none of whose addresses shares a network
/// ([`SPACE_V4`], [`SPACE_V6`]) with another name of the zone is served
/// elsewhere and gets its own list, provided some names do share one (the
/// zone's own space, to differ from). The apex, and a name with other
/// addressed names under it, stay in the zone's list: an override covers
/// every name under it.
type ByName = BTreeMap<String, BTreeMap<IpAddr, Observed>>;

fn split_by_name(
    zone: &str,
    addrs: &BTreeMap<IpAddr, Observed>,
) -> (BTreeMap<IpAddr, Observed>, ByName) {
    let mut nets_of: BTreeMap<&str, BTreeSet<IpNet>> = BTreeMap::new();
    for (addr, o) in addrs {
        for owner in o.owners.keys() {
            nets_of.entry(owner).or_default().insert(space_of(*addr));
        }
    }
    let mut holders: BTreeMap<IpNet, usize> = BTreeMap::new();
    for nets in nets_of.values() {
        for n in nets {
            *holders.entry(*n).or_default() += 1;
        }
    }
    if !holders.values().any(|c| *c >= 2) {
        return (addrs.clone(), BTreeMap::new());
    }
    let isolated: BTreeSet<&str> = nets_of
        .iter()
        .filter(|(owner, nets)| {
            **owner != zone
                && nets.iter().all(|n| holders.get(n) == Some(&1))
                && !nets_of
                    .keys()
                    .any(|other| other != *owner && is_at_or_under(other, owner))
        })
        .map(|(owner, _)| *owner)
        .collect();
    let mut rest = BTreeMap::new();
    let mut by_name: ByName = BTreeMap::new();
    for (addr, o) in addrs {
        // An isolated name's networks are its alone: it is the address's
        // only owner.
        match o.owners.keys().next() {
            Some(owner) if o.owners.len() == 1 && isolated.contains(owner.as_str()) => {
                by_name
                    .entry(owner.clone())
                    .or_default()
                    .insert(*addr, o.clone());
            }
            _ => {
                rest.insert(*addr, o.clone());
            }
        }
    }
    (rest, by_name)
}

/// Networks covering `addrs` with at most this prefix length per family,
/// each with the merged observations of the addresses it covers.
fn aggregate(addrs: &BTreeMap<IpAddr, Observed>, v4: u8, v6: u8) -> Vec<(IpNet, Observed)> {
    let mut nets: BTreeMap<IpNet, Observed> = BTreeMap::new();
    for (addr, o) in addrs {
        let len = if addr.is_ipv4() { v4 } else { v6 };
        let net = IpNet::new(*addr, len)
            .map(|n| n.trunc())
            .unwrap_or_else(|_| IpNet::from(*addr));
        match nets.get_mut(&net) {
            Some(m) => m.merge(o),
            None => {
                nets.insert(net, o.clone());
            }
        }
    }
    nets.into_iter().collect()
}

/// The items of an address list: each address, or with `aggregate` each
/// network; a network that would hold an indicator hit is written as its
/// addresses instead: grouping must not allow it.
fn address_entries(
    clean: &BTreeMap<IpAddr, Observed>,
    hits: &[IpAddr],
    aggregate_to: Option<(u8, u8)>,
    preposition: &str,
) -> Vec<Entry> {
    let Some((v4, v6)) = aggregate_to else {
        return clean
            .iter()
            .map(|(a, o)| Entry::of(a.to_string(), o, preposition))
            .collect();
    };
    aggregate(clean, v4, v6)
        .into_iter()
        .flat_map(|(net, merged)| {
            if hits.iter().any(|h| net.contains(h)) {
                clean
                    .iter()
                    .filter(|(a, _)| net.contains(*a))
                    .map(|(a, o)| Entry::of(a.to_string(), o, preposition))
                    .collect()
            } else {
                vec![Entry::of(net.to_string(), &merged, preposition)]
            }
        })
        .collect()
}

/// The registrable-ish part of a name: its last two labels, or three when
/// the last is two letters (a country code, under which second-level
/// public suffixes such as `co.uk` sit).
fn site(name: &str) -> &str {
    let starts: Vec<usize> = suffix_starts(name).collect();
    let last = starts.last().and_then(|i| name.get(*i..)).unwrap_or(name);
    let keep = if last.len() == 2 { 3 } else { 2 };
    starts
        .len()
        .checked_sub(keep)
        .and_then(|i| starts.get(i))
        .and_then(|i| name.get(*i..))
        .unwrap_or(name)
}

/// The longest suffix every name of `group` is at or under, when at least
/// two of them lie strictly under it.
fn provider_suffix(group: &[&str]) -> Option<String> {
    let first = group.first()?;
    let common = suffix_starts(first)
        .filter_map(|i| first.get(i..))
        .find(|s| group.iter().all(|t| is_at_or_under(t, s)))?;
    (group.iter().filter(|t| **t != common).count() >= 2).then(|| common.to_string())
}

/// The CNAME targets: targets outside the learned zones that share a
/// site ([`site`]) become one pattern `*.SUFFIX` for their longest common
/// suffix when at least two distinct targets lie under it, unless an
/// indicator hit does too; the rest are listed as they are.
fn cname_entries(
    zone_names: &[&str],
    clean: &BTreeMap<String, Observed>,
    hit_targets: &[&str],
) -> Vec<Entry> {
    let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut exact: Vec<&str> = Vec::new();
    for t in clean.keys() {
        if zone_names.iter().any(|z| is_at_or_under(t, z)) {
            exact.push(t);
        } else {
            groups.entry(site(t)).or_default().push(t);
        }
    }
    let mut out = Vec::new();
    for group in groups.into_values() {
        let pattern = provider_suffix(&group)
            .filter(|p| !hit_targets.iter().any(|h| h != p && is_at_or_under(h, p)));
        let Some(pattern) = pattern else {
            exact.extend(group);
            continue;
        };
        let under: Vec<&str> = group.iter().copied().filter(|t| *t != pattern).collect();
        let mut merged: Option<Observed> = None;
        for t in &under {
            if let Some(o) = clean.get(*t) {
                match &mut merged {
                    Some(m) => m.merge(o),
                    None => merged = Some(o.clone()),
                }
            }
        }
        if let Some(m) = merged {
            let shown: Vec<&str> = under.iter().copied().take(3).collect();
            let more = match under.len().saturating_sub(shown.len()) {
                0 => String::new(),
                n => format!(" and {n} more"),
            };
            let mut e = Entry::of(format!("*.{pattern}"), &m, "on");
            e.comment = format!(
                "{}; pattern for {} names: {}{more}",
                e.comment,
                under.len(),
                shown.join(", ")
            );
            out.push(e);
        }
        if group.contains(&pattern.as_str()) {
            exact.push(group.iter().copied().find(|t| *t == pattern).unwrap_or(""));
        }
    }
    for t in exact {
        if let Some(o) = clean.get(t) {
            out.push(Entry::of(t.to_string(), o, "on"));
        }
    }
    out.sort_by(|a, b| a.value.cmp(&b.value));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_and_provider_suffixes() {
        assert_eq!(site("e7.edge.cdnprovider.test"), "cdnprovider.test");
        assert_eq!(site("a.b.example.co.uk"), "example.co.uk");
        assert_eq!(site("example.net"), "example.net");
        assert_eq!(site("net"), "net");
        assert_eq!(
            provider_suffix(&["e7.edge.cdnprovider.test", "e9.edge.cdnprovider.test"]),
            Some("edge.cdnprovider.test".into())
        );
        assert_eq!(
            provider_suffix(&["x.a.akamaiedge.net", "y.b.akamaiedge.net"]),
            Some("akamaiedge.net".into())
        );
        // One name under the other is not two edge names.
        assert_eq!(
            provider_suffix(&["cdn.example.net", "a.cdn.example.net"]),
            None
        );
        assert_eq!(provider_suffix(&["a.cdn.example.net"]), None);
    }

    fn obs(owner: &str, secs: i64, count: u64) -> Observed {
        let mut o = Observed::new(owner, Timestamp(secs * 1_000_000), Some(300));
        for _ in 1..count {
            o.add(
                owner,
                Timestamp(secs * 1_000_000),
                Some(300),
                &mut crate::baseline::Budget::default(),
            );
        }
        o
    }

    #[test]
    fn a_name_served_elsewhere_gets_its_own_addresses() {
        let addrs: BTreeMap<IpAddr, Observed> = [
            ("192.0.2.10", "www.example.org"),
            ("192.0.2.25", "mail.example.org"),
            ("203.0.113.80", "shop.example.org"),
            ("198.51.100.7", "example.org"),
        ]
        .into_iter()
        .map(|(a, n)| (a.parse().unwrap(), obs(n, 0, 1)))
        .collect();
        let (rest, by_name) = split_by_name("example.org", &addrs);
        assert_eq!(by_name.keys().collect::<Vec<_>>(), ["shop.example.org"]);
        assert!(rest.contains_key(&"192.0.2.10".parse::<IpAddr>().unwrap()));
        assert!(
            rest.contains_key(&"198.51.100.7".parse::<IpAddr>().unwrap()),
            "the apex stays in the zone's list"
        );
        // No two names share a network: nothing to differ from.
        let lone: BTreeMap<IpAddr, Observed> = [
            ("192.0.2.10", "www.example.org"),
            ("203.0.113.80", "shop.example.org"),
        ]
        .into_iter()
        .map(|(a, n)| (a.parse().unwrap(), obs(n, 0, 1)))
        .collect();
        assert!(split_by_name("example.org", &lone).1.is_empty());
        // A name with addressed names under it stays too.
        let mut nested = addrs.clone();
        nested.insert(
            "100.64.0.1".parse().unwrap(),
            obs("eu.shop.example.org", 0, 1),
        );
        let (_, by_name) = split_by_name("example.org", &nested);
        assert_eq!(by_name.keys().collect::<Vec<_>>(), ["eu.shop.example.org"]);
    }

    #[test]
    fn outliers_rare_and_brief() {
        let day = 86_400;
        let mut busy = obs("www.example.org", 0, 200);
        busy.add(
            "www.example.org",
            Timestamp(7 * day * 1_000_000),
            None,
            &mut crate::baseline::Budget::default(),
        );
        let entries = [
            Entry::of("192.0.2.10".into(), &busy, "on"),
            Entry::of(
                "192.0.2.11".into(),
                &obs("www.example.org", 3 * day, 1),
                "on",
            ),
            Entry::of(
                "192.0.2.12".into(),
                &obs("www.example.org", 3 * day, 5),
                "on",
            ),
        ];
        let period = Some((Timestamp(0), Timestamp(7 * day * 1_000_000)));
        let refs: Vec<&Entry> = entries.iter().collect();
        let others = |i: usize| -> Vec<&Entry> {
            refs.iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, e)| *e)
                .collect()
        };
        let rare = outlier(&entries[1], &others(1), period).unwrap();
        assert!(
            rare.starts_with("rare: seen 1 time while 192.0.2.10 was seen 201 times; brief: seen within 0s of the 7days learned, while 192.0.2.10 was seen over 7days"),
            "{rare}"
        );
        let brief = outlier(&entries[2], &others(2), period).unwrap();
        assert!(brief.starts_with("brief:"), "{brief}");
        assert_eq!(outlier(&entries[0], &others(0), period), None);
        // A short learning period marks nothing as brief.
        let short = Some((Timestamp(0), Timestamp(600_000_000)));
        assert_eq!(outlier(&entries[2], &others(2), short), None);
    }
}
