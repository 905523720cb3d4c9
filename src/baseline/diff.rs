//! `baseline diff`: what the traffic holds that an expect file does not
//! allow, and what the file allows but the traffic never showed, judged
//! name by name as the matcher judges (an override's list for the names
//! under it); and the merged file, the new values added as comments
//! pending review.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt::Write as _;
use std::net::IpAddr;

use ipnet::IpNet;

use super::{Learner, Observed, Screen, Seen, ZoneSeen, short_time};
use crate::error::line_at;
use crate::expect::{
    AddressPolicy, ExpectedZones, ListPlace, NamePolicy, Policy, ZonePolicy, is_at_or_under,
};
use crate::model::text::escape_text;

/// The expect file as read: its name for `FILE:LINE` and its text, whose
/// comments say when a value was learned.
#[derive(Clone, Copy, Debug)]
pub struct ExpectSource<'a> {
    pub path: &'a str,
    pub text: &'a str,
}

/// One line of `baseline diff`: `+` seen but not allowed, `-` allowed but
/// never seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub zone: String,
    /// The zone or override whose list it is about.
    pub scope: String,
    pub key: &'static str,
    pub added: bool,
    pub value: String,
    /// Added: on which names and when it was seen.
    pub seen: Option<Observed>,
    /// Removed: where it is listed and when it was learned, as far as the
    /// file says; other changes: what they are.
    pub note: String,
    /// The list an added value would join.
    pub place: Option<ListPlace>,
    /// Added: the indicator of a loaded feed it is (escaped).
    pub indicator: Option<String>,
}

impl Change {
    /// What the reviewer reads after the value.
    pub fn detail(&self) -> String {
        let mut text = self.where_and_when();
        if let Some(ind) = &self.indicator {
            let _ = write!(text, "; INDICATOR HIT: {ind}");
        }
        text
    }

    fn where_and_when(&self) -> String {
        match &self.seen {
            Some(o) => format!("{}; {}", o.owners_text("on"), first_last(&o.seen)),
            None => self.note.clone(),
        }
    }
}

/// `seen 3 times, first 2019-01-10T09:00:00Z, last 2019-01-10T09:14:00Z`
fn first_last(s: &Seen) -> String {
    let times = if s.count == 1 { "time" } else { "times" };
    format!(
        "seen {} {times}, first {}, last {}",
        s.count,
        short_time(s.first),
        short_time(s.last)
    )
}

fn address_net(listed: &str) -> Option<IpNet> {
    let s = listed.trim();
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .ok()
}

fn name_covers(listed: &str, name: &str) -> bool {
    let folded = listed.trim().trim_end_matches('.').to_ascii_lowercase();
    match folded.strip_prefix("*.") {
        Some(base) => name != base && is_at_or_under(name, base),
        None => name == folded,
    }
}

/// Where a listed item is, and what its line's comment says of when it
/// was seen (a learned file's `# seen ...`).
fn listed_note(source: Option<ExpectSource<'_>>, place: &ListPlace, index: usize) -> String {
    let Some(src) = source else {
        return "never seen".into();
    };
    let Some(item) = place.items.get(index) else {
        return "never seen".into();
    };
    let line = line_at(src.text, item.start);
    let mut note = format!("listed at {}:{line}, never seen", src.path);
    let line_text = src
        .text
        .get(item.end..)
        .and_then(|rest| rest.lines().next())
        .unwrap_or_default();
    if let Some(at) = line_text.find("# seen ") {
        let learned = line_text.get(at + 2..).unwrap_or_default();
        let learned = learned.split("; REVIEW").next().unwrap_or_default().trim();
        let _ = write!(note, "; in the file: {learned}");
    }
    escape_text(&note).into_owned()
}

/// Collects the changes of one zone.
struct ZoneDiff<'a> {
    zone: &'a ZonePolicy,
    screen: &'a Screen,
    source: Option<ExpectSource<'a>>,
    changes: Vec<Change>,
}

impl ZoneDiff<'_> {
    fn push_added(
        &mut self,
        scope: &str,
        key: &'static str,
        value: String,
        seen: Observed,
        place: &ListPlace,
    ) {
        let indicator = match key {
            "a" | "aaaa" | "ns_addresses" | "resolvers" => value
                .parse::<IpAddr>()
                .ok()
                .and_then(|a| self.screen.addr(a)),
            _ => self.screen.name(&value),
        }
        .map(|ind| escape_text(&format!("{} of {}", ind.text(), ind.feed)).into_owned());
        self.changes.push(Change {
            zone: self.zone.name.to_string(),
            scope: scope.to_string(),
            key,
            added: true,
            value,
            seen: Some(seen),
            note: String::new(),
            place: Some(place.clone()),
            indicator,
        });
    }

    fn push_other(&mut self, key: &'static str, value: String, note: String) {
        self.changes.push(Change {
            zone: self.zone.name.to_string(),
            scope: self.zone.name.to_string(),
            key,
            added: true,
            value,
            seen: None,
            note,
            place: None,
            indicator: None,
        });
    }

    fn push_removed(
        &mut self,
        scope: &str,
        key: &'static str,
        listed: &[String],
        place: &ListPlace,
        covered: &BTreeSet<usize>,
    ) {
        for (i, value) in listed.iter().enumerate() {
            if !covered.contains(&i) {
                let note = listed_note(self.source, place, i);
                self.changes.push(Change {
                    zone: self.zone.name.to_string(),
                    scope: scope.to_string(),
                    key,
                    added: false,
                    value: value.clone(),
                    seen: None,
                    note,
                    place: None,
                    indicator: None,
                });
            }
        }
    }

    /// Addresses seen on names, against each name's list (`policy`).
    fn addresses(
        &mut self,
        key: &'static str,
        seen: &BTreeMap<IpAddr, Observed>,
        policy: impl Fn(&ZonePolicy, &str) -> Option<*const AddressPolicy>,
        lists: Vec<(&str, &AddressPolicy)>,
    ) {
        // Per list (by address): the values it lacks, and the items seen.
        let mut added: BTreeMap<(usize, IpAddr), Observed> = BTreeMap::new();
        let mut covered: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
        for (addr, o) in seen {
            for owner in o.owners.keys() {
                let Some(list) = policy(self.zone, owner) else {
                    continue;
                };
                let Some((i, (_, p))) = lists
                    .iter()
                    .enumerate()
                    .find(|(_, (_, p))| std::ptr::eq(*p, list))
                else {
                    continue;
                };
                let Some(part) = o.on(owner) else { continue };
                if p.allows(*addr) {
                    for (j, listed) in p.listed.iter().enumerate() {
                        if address_net(listed).is_some_and(|n| n.contains(addr)) {
                            covered.entry(i).or_default().insert(j);
                        }
                    }
                } else {
                    match added.get_mut(&(i, *addr)) {
                        Some(m) => m.merge(&part),
                        None => {
                            added.insert((i, *addr), part);
                        }
                    }
                }
            }
        }
        for ((i, addr), o) in added {
            if let Some((scope, p)) = lists.get(i) {
                self.push_added(scope, key, addr.to_string(), o, &p.place);
            }
        }
        for (i, (scope, p)) in lists.iter().enumerate() {
            let none = BTreeSet::new();
            self.push_removed(
                scope,
                key,
                &p.listed,
                &p.place,
                covered.get(&i).unwrap_or(&none),
            );
        }
    }

    /// Names (NS, MX, CNAME targets) seen on names, against each name's list.
    fn names(
        &mut self,
        key: &'static str,
        seen: &BTreeMap<String, Observed>,
        policy: impl Fn(&ZonePolicy, &str) -> Option<*const NamePolicy>,
        lists: Vec<(&str, &NamePolicy)>,
    ) {
        let mut added: BTreeMap<(usize, String), Observed> = BTreeMap::new();
        let mut covered: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
        for (name, o) in seen {
            for owner in o.owners.keys() {
                let Some(list) = policy(self.zone, owner) else {
                    continue;
                };
                let Some((i, (_, p))) = lists
                    .iter()
                    .enumerate()
                    .find(|(_, (_, p))| std::ptr::eq(*p, list))
                else {
                    continue;
                };
                let Some(part) = o.on(owner) else { continue };
                if p.allows(name) {
                    for (j, listed) in p.listed.iter().enumerate() {
                        if name_covers(listed, name) {
                            covered.entry(i).or_default().insert(j);
                        }
                    }
                } else {
                    match added.get_mut(&(i, name.clone())) {
                        Some(m) => m.merge(&part),
                        None => {
                            added.insert((i, name.clone()), part);
                        }
                    }
                }
            }
        }
        for ((i, name), o) in added {
            if let Some((scope, p)) = lists.get(i) {
                self.push_added(scope, key, name, o, &p.place);
            }
        }
        for (i, (scope, p)) in lists.iter().enumerate() {
            let none = BTreeSet::new();
            self.push_removed(
                scope,
                key,
                &p.listed,
                &p.place,
                covered.get(&i).unwrap_or(&none),
            );
        }
    }
}

/// Every list of `key` in a zone: the zone's own, then its overrides'.
fn lists<T>(zone: &ZonePolicy, key: impl Fn(&Policy) -> Option<&T>) -> Vec<(&str, &T)> {
    let mut lists: Vec<(&str, &T)> = key(&zone.policy)
        .map(|p| (&*zone.name, p))
        .into_iter()
        .collect();
    for o in &zone.overrides {
        if let Some(p) = key(&o.policy) {
            lists.push((&o.name, p));
        }
    }
    lists
}

/// What the traffic shows against the expect file, zone by zone and key
/// by key; `source` (the file's path and text) lets a value never seen
/// say where it is listed and when it was learned.
/// A value `screen` finds in a feed is marked as an indicator hit.
pub fn diff(
    expected: &ExpectedZones,
    source: Option<ExpectSource<'_>>,
    l: &Learner,
    screen: &Screen,
) -> Vec<Change> {
    let mut zones: Vec<&ZoneSeen> = l.zones.iter().collect();
    zones.sort_by(|a, b| a.name.cmp(&b.name));
    let mut changes = Vec::new();
    for z in zones {
        let Some(zone) = expected.zone_for(&z.name) else {
            continue;
        };
        let mut d = ZoneDiff {
            zone,
            screen,
            source,
            changes: Vec::new(),
        };
        d.addresses(
            "a",
            &z.a,
            |zone, owner| zone.effective(owner).a.map(|p| p as *const _),
            lists(zone, |p| p.a.as_ref()),
        );
        d.addresses(
            "aaaa",
            &z.aaaa,
            |zone, owner| zone.effective(owner).aaaa.map(|p| p as *const _),
            lists(zone, |p| p.aaaa.as_ref()),
        );
        d.names(
            "ns",
            &z.ns,
            |zone, owner| zone.effective(owner).ns.map(|p| p as *const _),
            lists(zone, |p| p.ns.as_ref()),
        );
        d.names(
            "mx",
            &z.mx,
            |zone, owner| zone.effective(owner).mx.map(|p| p as *const _),
            lists(zone, |p| p.mx.as_ref()),
        );
        d.names(
            "cname",
            &z.cname,
            |zone, owner| zone.effective(owner).cname.map(|p| p as *const _),
            lists(zone, |p| p.cname.as_ref()),
        );
        // The name servers' addresses and the answering servers belong to
        // the zone as a whole.
        d.addresses(
            "ns_addresses",
            &l.ns_addresses(z),
            |zone, _| zone.policy.ns_addresses.as_ref().map(|p| p as *const _),
            zone.policy
                .ns_addresses
                .as_ref()
                .map(|p| (&*zone.name, p))
                .into_iter()
                .collect(),
        );
        d.addresses(
            "resolvers",
            &z.resolvers,
            |zone, _| zone.resolvers.as_ref().map(|p| p as *const _),
            zone.resolvers
                .as_ref()
                .map(|p| (&*zone.name, p))
                .into_iter()
                .collect(),
        );
        ttl_change(&mut d, z);
        dnssec_change(&mut d, z);
        changes.extend(d.changes);
    }
    changes
}

/// The lowest TTL seen under a name's `ttl_min`.
fn ttl_change(d: &mut ZoneDiff<'_>, z: &ZoneSeen) {
    let lows =
        z.a.values()
            .chain(z.aaaa.values())
            .chain(z.ns.values())
            .chain(z.mx.values())
            .chain(z.cname.values())
            .filter_map(|o| o.min_ttl.as_ref())
            .chain(z.other_min_ttl.as_ref());
    let mut worst: Option<(u32, &str, u32)> = None;
    for (ttl, owner) in lows {
        if let Some(min) = d.zone.effective(owner).ttl_min
            && *ttl < min
            && worst.is_none_or(|(t, _, _)| *ttl < t)
        {
            worst = Some((*ttl, owner, min));
        }
    }
    if let Some((ttl, owner, min)) = worst {
        d.push_other(
            "ttl_min",
            ttl.to_string(),
            escape_text(&format!("lowest TTL seen, on {owner}; ttl_min is {min}")).into_owned(),
        );
    }
}

/// A signed zone answering unsigned, or signatures on a zone the file
/// does not call signed.
fn dnssec_change(d: &mut ZoneDiff<'_>, z: &ZoneSeen) {
    let s = &z.dnssec;
    if d.zone.dnssec {
        if let Some((owner, ts)) = &s.first_unsigned {
            d.push_other(
                "dnssec",
                "unsigned".into(),
                escape_text(&format!(
                    "{} responses to DNSSEC queries came unsigned, the first on {owner} at {}",
                    s.unsigned,
                    short_time(*ts)
                ))
                .into_owned(),
            );
        }
    } else if s.signed() && s.unsigned == 0 {
        d.push_other(
            "dnssec",
            "signed".into(),
            format!(
                "RRSIGs in {} responses, DS in {} referrals; the file does not set dnssec = true",
                s.signed_answers, s.ds_referrals
            ),
        );
    }
}

/// The diff as a reviewer reads it; "no differences" when there are none.
pub fn render_diff(changes: &[Change]) -> String {
    if changes.is_empty() {
        return "no differences\n".into();
    }
    let mut out = String::new();
    let mut zone: Option<&str> = None;
    let mut list: Option<(&str, &str)> = None;
    for c in changes {
        if zone != Some(c.zone.as_str()) {
            let _ = writeln!(out, "zone {}", c.zone);
            zone = Some(&c.zone);
            list = None;
        }
        if list != Some((c.scope.as_str(), c.key)) {
            if c.scope == c.zone {
                let _ = writeln!(out, "  {}:", c.key);
            } else {
                let _ = writeln!(out, "  {} (override {}):", c.key, c.scope);
            }
            list = Some((&c.scope, c.key));
        }
        let sign = if c.added { '+' } else { '-' };
        let _ = writeln!(
            out,
            "    {sign} {:<40} {}",
            escape_text(&c.value),
            escape_text(&c.detail())
        );
    }
    out
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

/// The expect file `text` with every value `changes` adds written into
/// its list, before the closing bracket, as a comment marked `PENDING
/// REVIEW` (remove the `# ` to allow it): a merge allows nothing by
/// itself. Nothing listed is removed; the values never seen and the
/// changes that are not list items are named in a header.
pub fn merged_expect_file(text: &str, changes: &[Change], what: &str) -> String {
    let mut inserts: Vec<(usize, String)> = Vec::new();
    let mut done: HashSet<(usize, &str)> = HashSet::new();
    let mut by_list: BTreeMap<usize, (&ListPlace, Vec<&Change>)> = BTreeMap::new();
    let mut pending = 0usize;
    let mut hits = 0usize;
    for c in changes.iter().filter(|c| c.added) {
        let Some(place) = &c.place else { continue };
        if done.insert((place.array.start, c.value.as_str())) {
            by_list
                .entry(place.array.start)
                .or_insert((place, Vec::new()))
                .1
                .push(c);
        }
    }
    let bytes = text.as_bytes();
    let mut unplaced: Vec<&Change> = Vec::new();
    for (place, items) in by_list.into_values() {
        let Some(close) = place
            .array
            .end
            .checked_sub(1)
            .filter(|c| bytes.get(*c) == Some(&b']'))
        else {
            unplaced.extend(items);
            continue;
        };
        // A comma after the last item, or the value uncommented would not
        // parse.
        if let Some(last) = place.items.last()
            && !comma_follows(text.get(last.end..close).unwrap_or_default())
        {
            inserts.push((last.end, ",".into()));
        }
        let mut lines = String::new();
        for c in items {
            if let Some(ind) = &c.indicator {
                // Named, but not in the form that one deleted "# " allows.
                let _ = writeln!(
                    lines,
                    "  # INDICATOR HIT, not merged: {} is {ind}; {}",
                    quote(&c.value),
                    escape_text(&c.where_and_when())
                );
                hits += 1;
            } else {
                let _ = writeln!(
                    lines,
                    "  # {},  # PENDING REVIEW: {}",
                    quote(&c.value),
                    escape_text(&c.detail())
                );
                pending += 1;
            }
        }
        let line_start = text
            .get(..close)
            .and_then(|t| t.rfind('\n'))
            .map_or(0, |i| i + 1);
        if text
            .get(line_start..close)
            .is_some_and(|t| t.trim().is_empty())
        {
            inserts.push((line_start, lines));
        } else {
            inserts.push((close, format!("\n{lines}")));
        }
    }
    // From the end, so that offsets hold; at one offset the later insert
    // first, so that it ends up after the earlier (the comma before the
    // pending lines).
    let mut inserts: Vec<(usize, usize, String)> = inserts
        .into_iter()
        .enumerate()
        .map(|(i, (at, s))| (at, i, s))
        .collect();
    inserts.sort_by_key(|i| std::cmp::Reverse((i.0, i.1)));
    let mut body = text.to_string();
    for (at, _, s) in inserts {
        if body.is_char_boundary(at) {
            body.insert_str(at, &s);
        }
    }
    let mut header = String::new();
    let _ = writeln!(
        header,
        "# Merged by `dnsentry baseline diff` with {}: {pending} value(s) seen that this file did not allow",
        escape_text(what)
    );
    let _ = writeln!(
        header,
        "# are in their lists as comments marked PENDING REVIEW: remove the \"# \" before one to allow it."
    );
    if hits > 0 {
        let _ = writeln!(
            header,
            "# {hits} value(s) a loaded feed lists are named as INDICATOR HIT, not merged."
        );
    }
    let other: Vec<&Change> = changes
        .iter()
        .filter(|c| !c.added || c.place.is_none())
        .chain(unplaced)
        .collect();
    if !other.is_empty() {
        let _ = writeln!(header, "# Not merged (nothing listed is removed):");
        for c in other {
            let sign = if c.added { '+' } else { '-' };
            let _ = writeln!(
                header,
                "#   {} {} {sign} {}: {}",
                escape_text(&c.scope),
                c.key,
                escape_text(&c.value),
                escape_text(&c.detail())
            );
        }
    }
    header.push_str(&body);
    header
}

/// Whether `between` (the text from a list's last item to its closing
/// bracket) holds a comma outside comments.
fn comma_follows(between: &str) -> bool {
    between
        .lines()
        .any(|line| line.split('#').next().unwrap_or_default().contains(','))
}
