//! Expected records of the organisation's own zones (`--expect FILE`).
//!
//! ```toml
//! [[zone]]
//! name  = "example.org"           # this name and every name under it
//! a     = ["192.0.2.0/24"]        # allowed IPv4 answers: addresses or CIDRs
//! aaaa  = ["2001:db8:10::/48"]
//! ns    = ["ns1.example.org", "ns2.example.org"]
//! mx    = ["mail.example.org"]
//! cname = ["*.cdn.example.net"]   # "*." = any name under it
//! ```
//!
//! A key that is absent is not checked. A record is checked against the
//! most specific zone its *owner name* falls in.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use ipnet::IpNet;
use serde::Deserialize;
use toml::Spanned;

use crate::decode::name::suffix_starts;

/// An expect file that could not be loaded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{path}:{line}: {message}")]
pub struct ExpectError {
    pub path: String,
    pub line: u64,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    zone: Vec<RawZone>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawZone {
    name: Spanned<String>,
    a: Option<Vec<Spanned<String>>>,
    aaaa: Option<Vec<Spanned<String>>>,
    ns: Option<Vec<Spanned<String>>>,
    mx: Option<Vec<Spanned<String>>>,
    cname: Option<Vec<Spanned<String>>>,
}

/// Allowed addresses of one record type.
#[derive(Debug)]
pub struct AddressPolicy {
    nets: Vec<IpNet>,
    /// The list as written, for the alert's `expected` field.
    pub listed: Arc<[String]>,
}

impl AddressPolicy {
    pub fn allows(&self, addr: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(&addr))
    }
}

/// Allowed target names of one record type.
#[derive(Debug)]
pub struct NamePolicy {
    exact: HashSet<String>,
    /// `*.cdn.example.net` → `cdn.example.net`: any name strictly under it.
    under: Vec<String>,
    pub listed: Arc<[String]>,
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

/// The policy of one zone.
#[derive(Debug)]
pub struct ZonePolicy {
    pub name: Arc<str>,
    pub a: Option<AddressPolicy>,
    pub aaaa: Option<AddressPolicy>,
    pub ns: Option<NamePolicy>,
    pub mx: Option<NamePolicy>,
    pub cname: Option<NamePolicy>,
}

/// All monitored zones.
#[derive(Debug, Default)]
pub struct ExpectedZones {
    zones: HashMap<String, ZonePolicy>,
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

    /// The most specific zone that `folded` (lower case, no trailing dot)
    /// is in or under.
    pub fn zone_for(&self, folded: &str) -> Option<&ZonePolicy> {
        if self.zones.is_empty() {
            return None;
        }
        suffix_starts(folded)
            .filter_map(|i| folded.get(i..))
            .find_map(|suffix| self.zones.get(suffix))
    }

    /// Merges another file's zones; a zone defined twice is an error.
    pub fn merge(&mut self, other: ExpectedZones, other_path: &str) -> Result<(), ExpectError> {
        for (name, zone) in other.zones {
            if self.zones.contains_key(&name) {
                return Err(ExpectError {
                    path: other_path.to_string(),
                    line: 0,
                    message: format!("zone `{name}` is already defined in another expect file"),
                });
            }
            self.zones.insert(name, zone);
        }
        Ok(())
    }
}

pub fn load_expect_file(path: &Path) -> Result<ExpectedZones, ExpectError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ExpectError {
        path: name.clone(),
        line: 0,
        message: format!("cannot read expect file: {e}"),
    })?;
    parse_expect(&name, &text)
}

pub fn parse_expect(path: &str, text: &str) -> Result<ExpectedZones, ExpectError> {
    let line_of = |span: Option<Range<usize>>| -> u64 {
        span.map_or(0, |s| {
            1 + text
                .get(..s.start)
                .unwrap_or_default()
                .bytes()
                .filter(|b| *b == b'\n')
                .count() as u64
        })
    };
    let err = |span: Option<Range<usize>>, message: String| ExpectError {
        path: path.to_string(),
        line: line_of(span),
        message,
    };
    let raw: RawFile =
        toml::from_str(text).map_err(|e| err(e.span(), e.message().trim().to_string()))?;
    if raw.zone.is_empty() {
        return Err(err(None, "no [[zone]] tables: nothing to check".into()));
    }

    let mut zones = HashMap::new();
    for z in raw.zone {
        let zone_name = normalise_name(z.name.get_ref())
            .map_err(|m| err(Some(z.name.span()), format!("zone name: {m}")))?;
        if zones.contains_key(&zone_name) {
            return Err(err(
                Some(z.name.span()),
                format!("zone `{zone_name}` defined twice"),
            ));
        }
        let a = addresses(z.a, false, &err)?;
        let aaaa = addresses(z.aaaa, true, &err)?;
        let ns = names(z.ns, "ns", &err)?;
        let mx = names(z.mx, "mx", &err)?;
        let cname = names(z.cname, "cname", &err)?;
        zones.insert(
            zone_name.clone(),
            ZonePolicy {
                name: zone_name.into(),
                a,
                aaaa,
                ns,
                mx,
                cname,
            },
        );
    }
    Ok(ExpectedZones { zones })
}

fn addresses(
    list: Option<Vec<Spanned<String>>>,
    v6: bool,
    err: &impl Fn(Option<Range<usize>>, String) -> ExpectError,
) -> Result<Option<AddressPolicy>, ExpectError> {
    let Some(list) = list else { return Ok(None) };
    let key = if v6 { "aaaa" } else { "a" };
    let mut nets = Vec::with_capacity(list.len());
    let mut listed = Vec::with_capacity(list.len());
    for item in list {
        let s = item.get_ref().trim();
        let net = s
            .parse::<IpNet>()
            .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
            .map_err(|_| {
                err(
                    Some(item.span()),
                    format!("`{s}` in `{key}` is not an address or CIDR network"),
                )
            })?;
        if matches!(net, IpNet::V6(_)) != v6 {
            let want = if v6 { "IPv6" } else { "IPv4" };
            return Err(err(
                Some(item.span()),
                format!("`{s}` in `{key}` is not {want}"),
            ));
        }
        nets.push(net.trunc());
        listed.push(s.to_string());
    }
    Ok(Some(AddressPolicy {
        nets,
        listed: listed.into(),
    }))
}

fn names(
    list: Option<Vec<Spanned<String>>>,
    key: &str,
    err: &impl Fn(Option<Range<usize>>, String) -> ExpectError,
) -> Result<Option<NamePolicy>, ExpectError> {
    let Some(list) = list else { return Ok(None) };
    let mut exact = HashSet::new();
    let mut under = Vec::new();
    let mut listed = Vec::with_capacity(list.len());
    for item in list {
        let s = item.get_ref().trim();
        let (wildcard, bare) = match s.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let n = normalise_name(bare)
            .map_err(|m| err(Some(item.span()), format!("`{s}` in `{key}`: {m}")))?;
        if wildcard {
            under.push(n);
        } else {
            exact.insert(n);
        }
        listed.push(s.to_string());
    }
    Ok(Some(NamePolicy {
        exact,
        under,
        listed: listed.into(),
    }))
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
        let p = z.zone_for("example.org").unwrap();
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
        assert!(z.zone_for("x.shop.example.org").unwrap().mx.is_none());
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
