//! Expected records of the organisation's own zones (`--expect FILE`).
//!
//! ```toml
//! resolvers = ["10.1.0.53"]           # optional: who may answer for every zone
//!
//! [[zone]]
//! name  = "example.org"           # this name and every name under it
//! a     = ["192.0.2.0/24"]        # allowed IPv4 answers: addresses or CIDRs
//! aaaa  = ["2001:db8:10::/48"]
//! ns    = ["ns1.example.org", "ns2.example.org"]
//! mx    = ["mail.example.org"]
//! cname = ["*.cdn.example.net"]   # "*." = any name under it
//! ns_addresses = ["192.0.2.53"]   # addresses of the zone's name servers (glue)
//! ttl_min = 300                   # a monitored record with a lower TTL alerts
//! resolvers = ["10.1.0.53"]       # servers allowed to answer for this zone
//! dnssec = true                   # signed zone: answers must carry RRSIGs
//! severity = { unexpected_address = "low", low_ttl = "off" }
//!                                 # per kind: high, medium, low, or off
//!                                 # (not alerted, counted)
//!
//! [[zone.override]]               # a name under the zone served elsewhere
//! name  = "shop.example.org"      # this name and every name under it
//! cname = ["*.shops.saas.example"]
//! ```
//!
//! A key that is absent is not checked; an override's keys replace the
//! zone's for names under it, the others are inherited. A record is checked
//! against the most specific zone its *owner name* falls in.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use ipnet::IpNet;
use serde::Deserialize;
use toml::Spanned;

use crate::error::{FileError, FileErrors, utf8_text};
use crate::model::addr::{canonical_ip, canonical_net};
pub use crate::model::names::is_at_or_under;
use crate::model::names::{SuffixLengths, suffix_starts};
use crate::model::{AlertKind, Severity};

/// A list of strings with where it and each item are in the file.
type List = Spanned<Vec<Spanned<String>>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    resolvers: Option<List>,
    #[serde(default)]
    zone: Vec<RawZone>,
}

/// The record keys shared by zones and their overrides. (Written out in
/// both rather than `#[serde(flatten)]`ed: flattening loses the spans that
/// error lines come from, and defeats `deny_unknown_fields`.)
struct RawPolicy {
    a: Option<List>,
    aaaa: Option<List>,
    ns: Option<List>,
    mx: Option<List>,
    cname: Option<List>,
    ns_addresses: Option<List>,
    ttl_min: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawZone {
    name: Spanned<String>,
    a: Option<List>,
    aaaa: Option<List>,
    ns: Option<List>,
    mx: Option<List>,
    cname: Option<List>,
    ns_addresses: Option<List>,
    ttl_min: Option<u32>,
    resolvers: Option<List>,
    #[serde(default)]
    dnssec: bool,
    #[serde(default)]
    severity: std::collections::BTreeMap<String, Spanned<String>>,
    #[serde(default, rename = "override")]
    overrides: Vec<RawOverride>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOverride {
    name: Spanned<String>,
    a: Option<List>,
    aaaa: Option<List>,
    ns: Option<List>,
    mx: Option<List>,
    cname: Option<List>,
    ns_addresses: Option<List>,
    ttl_min: Option<u32>,
}

/// Where a list is in its file: `baseline diff` quotes an item's line and
/// adds values pending review before the closing bracket.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListPlace {
    /// Byte range of the array, brackets included.
    pub array: Range<usize>,
    /// Byte range of each item kept (in `listed` order), quotes included.
    pub items: Arc<[Range<usize>]>,
}

/// Allowed addresses of one record type.
#[derive(Clone, Debug)]
pub struct AddressPolicy {
    nets: Vec<IpNet>,
    /// The list as written, for the alert's `expected` field.
    pub listed: Arc<[String]>,
    pub place: ListPlace,
}

impl AddressPolicy {
    /// An IPv4 address written as IPv6 (mapped, NAT64) is the IPv4 address
    /// it stands for, as the listed networks are (see `addresses`).
    pub fn allows(&self, addr: IpAddr) -> bool {
        let canonical = canonical_ip(addr);
        self.nets
            .iter()
            .any(|n| n.contains(&canonical) || n.contains(&addr))
    }
}

/// Allowed target names of one record type.
#[derive(Debug)]
pub struct NamePolicy {
    exact: HashSet<String>,
    /// `*.cdn.example.net` → `cdn.example.net`: any name strictly under it.
    under: Vec<String>,
    pub listed: Arc<[String]>,
    pub place: ListPlace,
}

impl NamePolicy {
    /// `folded`: lower case, no trailing dot.
    pub fn allows(&self, folded: &str) -> bool {
        if self.exact.contains(folded) {
            return true;
        }
        suffix_starts(folded)
            .skip(1)
            .filter_map(|i| folded.get(i..))
            .any(|suffix| self.under.iter().any(|u| u == suffix))
    }
}

/// What records of a zone (or of an override inside it) may hold.
#[derive(Debug, Default)]
pub struct Policy {
    pub a: Option<AddressPolicy>,
    pub aaaa: Option<AddressPolicy>,
    pub ns: Option<NamePolicy>,
    pub mx: Option<NamePolicy>,
    pub cname: Option<NamePolicy>,
    pub ns_addresses: Option<AddressPolicy>,
    pub ttl_min: Option<u32>,
}

/// The policy of one zone.
#[derive(Debug)]
pub struct ZonePolicy {
    pub name: Arc<str>,
    pub policy: Policy,
    /// Servers allowed to answer for the zone (its own list, else the
    /// file's top-level one).
    pub resolvers: Option<AddressPolicy>,
    /// The zone is signed: responses that asked for DNSSEC must carry it.
    pub dnssec: bool,
    /// Names under the zone with keys of their own, most specific first.
    pub overrides: Vec<Override>,
    /// The zone owner's severity per alert kind, for alerts on names in
    /// the zone.
    pub severity: HashMap<AlertKind, SeverityChoice>,
}

/// What a zone's owner wants of one kind of alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeverityChoice {
    Alert(Severity),
    /// Not alerted, only counted.
    Off,
}

#[derive(Debug)]
pub struct Override {
    pub name: Arc<str>,
    pub policy: Policy,
}

/// The policy that applies to one owner name: the zone's keys, replaced
/// key by key by the most specific override the name falls under.
#[derive(Clone, Copy, Debug)]
pub struct Effective<'a> {
    pub zone: &'a ZonePolicy,
    /// The zone's or the override's name: what the alert reports.
    pub scope: &'a Arc<str>,
    pub a: Option<&'a AddressPolicy>,
    pub aaaa: Option<&'a AddressPolicy>,
    pub ns: Option<&'a NamePolicy>,
    pub mx: Option<&'a NamePolicy>,
    pub cname: Option<&'a NamePolicy>,
    pub ns_addresses: Option<&'a AddressPolicy>,
    pub ttl_min: Option<u32>,
}

impl Policy {
    /// The keys set, with the size of each list: `a (1), ns (2), ...`.
    fn keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        let mut list = |k: &str, n: Option<usize>| {
            if let Some(n) = n {
                keys.push(format!("{k} ({n})"));
            }
        };
        list("a", self.a.as_ref().map(|p| p.listed.len()));
        list("aaaa", self.aaaa.as_ref().map(|p| p.listed.len()));
        list("ns", self.ns.as_ref().map(|p| p.listed.len()));
        list("mx", self.mx.as_ref().map(|p| p.listed.len()));
        list("cname", self.cname.as_ref().map(|p| p.listed.len()));
        list(
            "ns_addresses",
            self.ns_addresses.as_ref().map(|p| p.listed.len()),
        );
        if let Some(t) = self.ttl_min {
            keys.push(format!("ttl_min {t}"));
        }
        keys
    }
}

impl ZonePolicy {
    /// One line for `dnsentry check`: the zone and every key it sets.
    pub fn describe(&self) -> String {
        let mut keys = self.policy.keys();
        if let Some(r) = &self.resolvers {
            keys.push(format!("resolvers ({})", r.listed.len()));
        }
        if self.dnssec {
            keys.push("dnssec".into());
        }
        let mut severity: Vec<String> = self
            .severity
            .iter()
            .map(|(k, c)| {
                let level = match c {
                    SeverityChoice::Alert(s) => s.as_str(),
                    SeverityChoice::Off => "off",
                };
                format!("{} {level}", k.as_str())
            })
            .collect();
        if !severity.is_empty() {
            severity.sort();
            keys.push(format!("severity ({})", severity.join(", ")));
        }
        let mut line = format!("{}: {}", self.name, keys.join(", "));
        for o in &self.overrides {
            line.push_str(&format!(
                "; override {}: {}",
                o.name,
                o.policy.keys().join(", ")
            ));
        }
        line
    }

    /// The policy for `folded`, a name in this zone.
    pub fn effective(&self, folded: &str) -> Effective<'_> {
        let base = &self.policy;
        let mut e = Effective {
            zone: self,
            scope: &self.name,
            a: base.a.as_ref(),
            aaaa: base.aaaa.as_ref(),
            ns: base.ns.as_ref(),
            mx: base.mx.as_ref(),
            cname: base.cname.as_ref(),
            ns_addresses: base.ns_addresses.as_ref(),
            ttl_min: base.ttl_min,
        };
        let Some(o) = self
            .overrides
            .iter()
            .find(|o| is_at_or_under(folded, &o.name))
        else {
            return e;
        };
        let p = &o.policy;
        e.scope = &o.name;
        e.a = p.a.as_ref().or(e.a);
        e.aaaa = p.aaaa.as_ref().or(e.aaaa);
        e.ns = p.ns.as_ref().or(e.ns);
        e.mx = p.mx.as_ref().or(e.mx);
        e.cname = p.cname.as_ref().or(e.cname);
        e.ns_addresses = p.ns_addresses.as_ref().or(e.ns_addresses);
        e.ttl_min = p.ttl_min.or(e.ttl_min);
        e
    }
}

/// All monitored zones.
#[derive(Debug, Default)]
pub struct ExpectedZones {
    zones: HashMap<String, ZonePolicy, foldhash::fast::RandomState>,
    zone_lengths: SuffixLengths,
    /// Some zone has `dnssec = true` / a `resolvers` list: the checks that
    /// need them are skipped entirely otherwise.
    any_dnssec: bool,
    any_resolvers: bool,
    /// Some zone sets a `severity`.
    any_severity: bool,
}

impl ExpectedZones {
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }

    pub fn len(&self) -> usize {
        self.zones.len()
    }

    pub fn zones(&self) -> impl Iterator<Item = &ZonePolicy> {
        self.zones.values()
    }

    pub fn any_dnssec(&self) -> bool {
        self.any_dnssec
    }

    pub fn any_resolvers(&self) -> bool {
        self.any_resolvers
    }

    pub fn any_severity(&self) -> bool {
        self.any_severity
    }

    /// The most specific zone that `folded` (lower case, no trailing dot)
    /// is in or under.
    pub fn zone_for(&self, folded: &str) -> Option<&ZonePolicy> {
        if self.zones.is_empty() {
            return None;
        }
        self.zone_lengths
            .find_suffix(folded, |suffix| self.zones.get(suffix))
    }

    /// Merges another file's zones; a zone defined twice is an error.
    pub fn merge(&mut self, other: ExpectedZones, other_path: &str) -> Result<(), FileError> {
        for (name, zone) in other.zones {
            if self.zones.contains_key(&name) {
                return Err(FileError {
                    path: other_path.to_string(),
                    line: 0,
                    message: format!("zone `{name}` is already defined in another expect file"),
                });
            }
            self.any_dnssec |= zone.dnssec;
            self.any_resolvers |= zone.resolvers.is_some();
            self.any_severity |= !zone.severity.is_empty();
            self.zone_lengths.insert(name.len());
            self.zones.insert(name, zone);
        }
        Ok(())
    }
}

pub fn load_expect_file(path: &Path) -> Result<ExpectedZones, FileError> {
    load_expect_file_all(path).map_err(first_error)
}

/// Reads and parses an expect file, finding every problem in it (a TOML
/// syntax error stops the file where it is).
pub fn load_expect_file_all(path: &Path) -> Result<ExpectedZones, FileErrors> {
    let one = |e: FileError| {
        let mut errors = FileErrors::default();
        errors.push(e);
        errors
    };
    let text = read_expect_text(path).map_err(one)?;
    parse_expect_all(&path.display().to_string(), &text)
}

/// An expect file's text, for those that quote it or rewrite it
/// (`baseline diff`), with its zones.
pub fn load_expect_file_text(path: &Path) -> Result<(String, ExpectedZones), FileError> {
    let text = read_expect_text(path)?;
    let zones = parse_expect(&path.display().to_string(), &text)?;
    Ok((text, zones))
}

fn read_expect_text(path: &Path) -> Result<String, FileError> {
    let bytes = crate::fsutil::read_regular(path, crate::fsutil::EXPECT_MAX_BYTES)
        .map_err(|e| FileError::unreadable(path, "expect file", &e))?;
    utf8_text(&path.display().to_string(), bytes, "an expect file")
}

fn first_error(errors: FileErrors) -> FileError {
    errors
        .first()
        .cloned()
        .unwrap_or_else(|| FileError::new("-", 0, "invalid expect file"))
}

/// Parses an expect file; the first problem is the error.
pub fn parse_expect(path: &str, text: &str) -> Result<ExpectedZones, FileError> {
    parse_expect_all(path, text).map_err(first_error)
}

/// Parses an expect file, every problem in it found: a bad zone, override
/// or value is reported and skipped, and the rest is checked on.
pub fn parse_expect_all(path: &str, text: &str) -> Result<ExpectedZones, FileErrors> {
    let err =
        |span: Option<Range<usize>>, message: String| FileError::at_span(path, text, span, message);
    let mut errors = FileErrors::default();
    let raw: RawFile = match FileError::parse_toml(path, text) {
        Ok(raw) => raw,
        Err(e) => {
            errors.push(e);
            return Err(errors);
        }
    };
    if raw.zone.is_empty() {
        errors.push(err(None, "no [[zone]] tables: nothing to check".into()));
        return Err(errors);
    }

    let global_resolvers = addresses(raw.resolvers, None, "resolvers", &err, &mut errors);
    let mut zones = HashMap::default();
    for z in raw.zone {
        let zone_name = match normalise_name(z.name.get_ref()) {
            Ok(n) => n,
            Err(m) => {
                errors.push(err(Some(z.name.span()), format!("zone name: {m}")));
                continue;
            }
        };
        if zones.contains_key(&zone_name) {
            errors.push(err(
                Some(z.name.span()),
                format!("zone `{zone_name}` defined twice"),
            ));
            continue;
        }
        let zone_policy = policy(
            RawPolicy {
                a: z.a,
                aaaa: z.aaaa,
                ns: z.ns,
                mx: z.mx,
                cname: z.cname,
                ns_addresses: z.ns_addresses,
                ttl_min: z.ttl_min,
            },
            &err,
            &mut errors,
        );
        let mut overrides = Vec::with_capacity(z.overrides.len());
        for o in z.overrides {
            let name = match normalise_name(o.name.get_ref()) {
                Ok(n) => n,
                Err(m) => {
                    errors.push(err(Some(o.name.span()), format!("override name: {m}")));
                    continue;
                }
            };
            if !is_at_or_under(&name, &zone_name) || name == zone_name {
                errors.push(err(
                    Some(o.name.span()),
                    format!("override `{name}` is not a name under zone `{zone_name}`"),
                ));
                continue;
            }
            let raw = RawPolicy {
                a: o.a,
                aaaa: o.aaaa,
                ns: o.ns,
                mx: o.mx,
                cname: o.cname,
                ns_addresses: o.ns_addresses,
                ttl_min: o.ttl_min,
            };
            overrides.push(Override {
                name: name.into(),
                policy: policy(raw, &err, &mut errors),
            });
        }
        // Most specific first, so the first match is the one that applies.
        overrides.sort_by_key(|o| std::cmp::Reverse(o.name.len()));
        let mut severity = HashMap::new();
        // In file order, so errors come in line order.
        let mut choices: Vec<_> = z.severity.iter().collect();
        choices.sort_by_key(|(_, level)| level.span().start);
        for (kind, level) in choices {
            let Some(k) = AlertKind::parse(kind) else {
                errors.push(err(
                    Some(level.span()),
                    format!("`{kind}` in `severity` is not an alert kind"),
                ));
                continue;
            };
            let choice = match level.get_ref().as_str() {
                "off" => SeverityChoice::Off,
                other => match Severity::parse(other) {
                    Some(s) => SeverityChoice::Alert(s),
                    None => {
                        errors.push(err(
                            Some(level.span()),
                            format!(
                                "`{other}` for `{kind}` in `severity`: expected high, medium, low or off"
                            ),
                        ));
                        continue;
                    }
                },
            };
            severity.insert(k, choice);
        }
        let resolvers = match addresses(z.resolvers, None, "resolvers", &err, &mut errors) {
            Some(own) => Some(own),
            None => global_resolvers.clone(),
        };
        zones.insert(
            zone_name.clone(),
            ZonePolicy {
                name: zone_name.into(),
                policy: zone_policy,
                resolvers,
                dnssec: z.dnssec,
                overrides,
                severity,
            },
        );
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let any_dnssec = zones.values().any(|z: &ZonePolicy| z.dnssec);
    let any_resolvers = zones.values().any(|z: &ZonePolicy| z.resolvers.is_some());
    let any_severity = zones.values().any(|z: &ZonePolicy| !z.severity.is_empty());
    let mut zone_lengths = SuffixLengths::default();
    for name in zones.keys() {
        zone_lengths.insert(name.len());
    }
    Ok(ExpectedZones {
        zones,
        zone_lengths,
        any_dnssec,
        any_resolvers,
        any_severity,
    })
}

fn policy(
    raw: RawPolicy,
    err: &impl Fn(Option<Range<usize>>, String) -> FileError,
    errors: &mut FileErrors,
) -> Policy {
    Policy {
        a: addresses(raw.a, Some(false), "a", err, errors),
        aaaa: addresses(raw.aaaa, Some(true), "aaaa", err, errors),
        ns: names(raw.ns, "ns", err, errors),
        mx: names(raw.mx, "mx", err, errors),
        cname: names(raw.cname, "cname", err, errors),
        ns_addresses: addresses(raw.ns_addresses, None, "ns_addresses", err, errors),
        ttl_min: raw.ttl_min,
    }
}

/// A list of addresses and networks; `v6` restricts the family when set.
/// IPv4 written as IPv6 (`::ffff:192.0.2.0/120`, `64:ff9b::/96`) is kept
/// as the IPv4 network it covers: it is IPv4 for `a`, and an IPv6 spelling
/// is what `aaaa` lists. A bad entry goes into `errors` and is left out.
fn addresses(
    list: Option<List>,
    v6: Option<bool>,
    key: &str,
    err: &impl Fn(Option<Range<usize>>, String) -> FileError,
    errors: &mut FileErrors,
) -> Option<AddressPolicy> {
    let list = list?;
    let array = list.span();
    let list = list.into_inner();
    let mut nets = Vec::with_capacity(list.len());
    let mut listed = Vec::with_capacity(list.len());
    let mut items = Vec::with_capacity(list.len());
    for item in list {
        let s = item.get_ref().trim();
        let Ok(net) = s
            .parse::<IpNet>()
            .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        else {
            errors.push(err(
                Some(item.span()),
                format!("`{s}` in `{key}` is not an address or CIDR network"),
            ));
            continue;
        };
        let canonical = canonical_net(net.trunc());
        let family = if v6 == Some(true) { net } else { canonical };
        if let Some(v6) = v6
            && matches!(family, IpNet::V6(_)) != v6
        {
            let want = if v6 { "IPv6" } else { "IPv4" };
            errors.push(err(
                Some(item.span()),
                format!("`{s}` in `{key}` is not {want}"),
            ));
            continue;
        }
        nets.push(canonical);
        listed.push(s.to_string());
        items.push(item.span());
    }
    Some(AddressPolicy {
        nets,
        listed: listed.into(),
        place: ListPlace {
            array,
            items: items.into(),
        },
    })
}

fn names(
    list: Option<List>,
    key: &str,
    err: &impl Fn(Option<Range<usize>>, String) -> FileError,
    errors: &mut FileErrors,
) -> Option<NamePolicy> {
    let list = list?;
    let array = list.span();
    let list = list.into_inner();
    let mut exact = HashSet::new();
    let mut under = Vec::new();
    let mut listed = Vec::with_capacity(list.len());
    let mut items = Vec::with_capacity(list.len());
    for item in list {
        let s = item.get_ref().trim();
        let (wildcard, bare) = match s.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let n = match normalise_name(bare) {
            Ok(n) => n,
            Err(m) => {
                errors.push(err(Some(item.span()), format!("`{s}` in `{key}`: {m}")));
                continue;
            }
        };
        if wildcard {
            under.push(n);
        } else {
            exact.insert(n);
        }
        listed.push(s.to_string());
        items.push(item.span());
    }
    Some(NamePolicy {
        exact,
        under,
        listed: listed.into(),
        place: ListPlace {
            array,
            items: items.into(),
        },
    })
}

fn normalise_name(s: &str) -> Result<String, String> {
    let n = s.trim().trim_end_matches('.').to_ascii_lowercase();
    if n.is_empty() {
        return Err("empty name".into());
    }
    if n.len() > 253 || n.split('.').any(|l| l.is_empty() || l.len() > 63) {
        return Err("not a valid domain name".into());
    }
    if let Some(c) = n
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_' || *c == '.'))
    {
        return Err(format!("not a valid domain name (character `{c}`)"));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_severity_per_kind_and_its_errors_at_their_lines() {
        let z = parse_expect(
            "z.toml",
            "[[zone]]\nname = \"example.org\"\nseverity = { unexpected_address = \"low\", low_ttl = \"off\" }\n",
        )
        .unwrap();
        assert!(z.any_severity());
        let zone = z.zone_for("www.example.org").unwrap();
        assert_eq!(
            zone.severity.get(&AlertKind::UnexpectedAddress),
            Some(&SeverityChoice::Alert(Severity::Low))
        );
        assert_eq!(
            zone.severity.get(&AlertKind::LowTtl),
            Some(&SeverityChoice::Off)
        );
        assert!(
            zone.describe()
                .ends_with("severity (low_ttl off, unexpected_address low)")
        );
        let errors = parse_expect_all(
            "z.toml",
            "[[zone]]\nname = \"example.org\"\n\n[zone.severity]\nunexpected_adress = \"low\"\nlow_ttl = \"quiet\"\n",
        )
        .unwrap_err()
        .into_vec();
        let found: Vec<(u64, bool)> = errors
            .iter()
            .map(|e| {
                (
                    e.line,
                    e.message.contains("expected high, medium, low or off"),
                )
            })
            .collect();
        assert_eq!(found, [(5, false), (6, true)], "{errors:?}");
        assert!(
            !parse_expect("z.toml", "[[zone]]\nname = \"a.org\"\n")
                .unwrap()
                .any_severity()
        );
    }

    const SAMPLE: &str = r#"
[[zone]]
name  = "Example.org."
a     = ["192.0.2.0/24", "198.51.100.7"]
aaaa  = ["2001:db8:10::/48"]
ns    = ["ns1.example.org", "ns2.example.org"]
mx    = ["mail.example.org"]
cname = ["*.cdn.example.net"]

[[zone]]
name = "shop.example.org"
a    = ["203.0.113.0/28"]
"#;

    #[test]
    fn most_specific_zone_wins() {
        let z = parse_expect("z.toml", SAMPLE).unwrap();
        assert_eq!(z.len(), 2);
        assert_eq!(&*z.zone_for("www.example.org").unwrap().name, "example.org");
        assert_eq!(&*z.zone_for("example.org").unwrap().name, "example.org");
        assert_eq!(
            &*z.zone_for("a.shop.example.org").unwrap().name,
            "shop.example.org"
        );
        assert!(z.zone_for("example.com").is_none());
        assert!(z.zone_for("notexample.org").is_none());
    }

    #[test]
    fn policies() {
        let z = parse_expect("z.toml", SAMPLE).unwrap();
        let p = &z.zone_for("example.org").unwrap().policy;
        let a = p.a.as_ref().unwrap();
        assert!(a.allows("192.0.2.77".parse().unwrap()));
        assert!(a.allows("198.51.100.7".parse().unwrap()));
        assert!(!a.allows("198.51.100.8".parse().unwrap()));
        assert_eq!(
            &*a.listed,
            &["192.0.2.0/24".to_string(), "198.51.100.7".to_string()]
        );
        let cname = p.cname.as_ref().unwrap();
        assert!(cname.allows("edge.cdn.example.net"));
        assert!(cname.allows("a.b.cdn.example.net"));
        assert!(!cname.allows("cdn.example.net"));
        assert!(!cname.allows("evilcdn.example.net"));
        assert!(p.ns.as_ref().unwrap().allows("ns2.example.org"));
        assert!(!p.ns.as_ref().unwrap().allows("ns1.attacker.example"));
        assert!(
            z.zone_for("x.shop.example.org")
                .unwrap()
                .policy
                .mx
                .is_none()
        );
    }

    const FULL: &str = r#"
resolvers = ["10.1.0.53"]

[[zone]]
name = "example.org"
a = ["192.0.2.0/24"]
ns = ["ns1.example.org"]
ns_addresses = ["192.0.2.53", "2001:db8::53"]
ttl_min = 300
dnssec = true

[[zone.override]]
name = "shop.example.org"
a = ["203.0.113.0/24"]
ttl_min = 60

[[zone.override]]
name = "eu.shop.example.org"
cname = ["*.saas.example"]

[[zone]]
name = "example.net"
resolvers = ["10.2.0.53"]
"#;

    #[test]
    fn overrides_inherit_and_replace_key_by_key() {
        let z = parse_expect("z.toml", FULL).unwrap();
        let zone = z.zone_for("www.eu.shop.example.org").unwrap();
        let e = zone.effective("www.eu.shop.example.org");
        assert_eq!(&**e.scope, "eu.shop.example.org");
        assert!(e.cname.unwrap().allows("x.saas.example"));
        // eu.shop has no `a`: the zone's applies, not shop's sibling override.
        assert!(e.a.unwrap().allows("192.0.2.1".parse().unwrap()));
        assert_eq!(e.ttl_min, Some(300));
        let e = zone.effective("pay.shop.example.org");
        assert_eq!(&**e.scope, "shop.example.org");
        assert!(e.a.unwrap().allows("203.0.113.9".parse().unwrap()));
        assert_eq!(e.ttl_min, Some(60));
        assert_eq!(e.ns.unwrap().listed.len(), 1, "inherited");
        let e = zone.effective("shopping.example.org");
        assert_eq!(&**e.scope, "example.org", "a label boundary, not a prefix");
        assert!(zone.dnssec);
        assert!(
            zone.resolvers
                .as_ref()
                .unwrap()
                .allows("10.1.0.53".parse().unwrap())
        );
        let net = z.zone_for("example.net").unwrap();
        assert!(
            net.resolvers
                .as_ref()
                .unwrap()
                .allows("10.2.0.53".parse().unwrap())
        );
        assert!(
            !net.resolvers
                .as_ref()
                .unwrap()
                .allows("10.1.0.53".parse().unwrap())
        );
        assert!(
            zone.describe()
                .contains("override shop.example.org: a (1), ttl_min 60")
        );
    }

    #[test]
    fn override_outside_its_zone_is_an_error() {
        let e = parse_expect(
            "z.toml",
            "[[zone]]\nname = \"a.org\"\n[[zone.override]]\nname = \"b.org\"\n",
        )
        .unwrap_err();
        assert_eq!(e.line, 4);
        assert!(e.message.contains("not a name under zone"));
        let e = parse_expect(
            "z.toml",
            "[[zone]]\nname = \"a.org\"\n[[zone.override]]\nname = \"x.a.org\"\ndnssec = true\n",
        )
        .unwrap_err();
        assert_eq!(
            e.line, 5,
            "zone-only keys are not allowed in an override: {e}"
        );
    }

    #[test]
    fn every_problem_of_a_file_is_found_in_one_reading() {
        let text = "[[zone]]\nname = \"example.org\"\na = [\"192.0.2.0/24\", \"bogus\"]\n\
                    mx = [\"ex$ample.org\"]\n\n[[zone]]\nname = \"example.org\"\n\n\
                    [[zone]]\nname = \"b.example\"\naaaa = [\"192.0.2.1\"]\n";
        let errors = parse_expect_all("z.toml", text).unwrap_err().into_vec();
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 7, 11], "{errors:?}");
        assert_eq!(parse_expect("z.toml", text).unwrap_err().line, 3);
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = parse_expect(
            "z.toml",
            "[[zone]]\nname = \"example.org\"\na = [\"192.0.2.0/24\",\n  \"2001:db8::1\"]\n",
        )
        .unwrap_err();
        assert_eq!(e.line, 4);
        assert_eq!(e.to_string(), "z.toml:4: `2001:db8::1` in `a` is not IPv4");
        let e = parse_expect("z.toml", "[[zone]]\nname = \"example.org\"\nmxx = []\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("mxx"), "{e}");
        let e = parse_expect(
            "z.toml",
            "[[zone]]\nname = \"a.org\"\n[[zone]]\nname = \"A.org.\"\n",
        )
        .unwrap_err();
        assert_eq!(e.line, 4);
        let e = parse_expect(
            "z.toml",
            "[[zone]]\nname = \"a.org\"\nns = [\"bad name!\"]\n",
        )
        .unwrap_err();
        assert_eq!(e.line, 3);
        let e = parse_expect("z.toml", "a = 1\n").unwrap_err();
        assert_eq!(e.line, 1);
    }
}
