//! Scoped, expiring allow entries (`--allow FILE.toml`): a record of who
//! accepted which alerts, why, and until when.
//!
//! ```toml
//! [[allow]]
//! kind   = "unexpected_address"     # any alert kind; absent: every kind
//! zone   = "example.org"            # the alert's owner is this name or under it
//! owner  = "*.cdn.example.org"      # the alert's owner name ("*." = any name under it)
//! value  = "203.0.113.0/24"         # the alert's value: address, CIDR or name pattern
//! sensor = "dmz-1"                  # only on the sensor of this --sensor-name
//! until  = "2026-12-31"             # through the end of that day (UTC)
//! reason = "CDN migration, change 4711, approved by J. Doe"
//! ```
//!
//! An entry names at least one of kind, zone, owner or value (an entry
//! that allows everything is refused), and always a reason. `until` is
//! judged against the packet's time, so an offline run on old traffic
//! applies the entries valid then.

use std::ops::Range;
use std::path::Path;

use ipnet::IpNet;
use serde::Deserialize;
use toml::Spanned;

use crate::error::{FileError, FileErrors, line_at, utf8_text};
use crate::expect::is_at_or_under;
use crate::model::addr::{canonical_ip, canonical_net};
use crate::model::names::fold_into;
use crate::model::{Alert, AlertKind};

/// Whether an allow file is read as TOML entries rather than as an
/// indicator feed: by its extension, so a feed never changes meaning with
/// its content.
pub fn is_allow_toml(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    allow: Vec<Spanned<RawEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    kind: Option<Spanned<String>>,
    zone: Option<Spanned<String>>,
    owner: Option<Spanned<String>>,
    value: Option<Spanned<String>>,
    sensor: Option<String>,
    until: Option<Spanned<toml::Value>>,
    reason: Option<String>,
}

/// A name, or every name under one (`*.suffix`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamePattern {
    /// Lower case, no trailing dot.
    name: String,
    under: bool,
}

impl NamePattern {
    fn parse(text: &str) -> Result<NamePattern, String> {
        let (under, bare) = match text.trim().strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, text.trim()),
        };
        let mut name = String::new();
        fold_into(bare, &mut name);
        if name.is_empty() || name.contains('*') {
            return Err(format!("`{text}` is not a name or `*.` followed by a name"));
        }
        Ok(NamePattern { name, under })
    }

    fn matches(&self, folded: &str) -> bool {
        if self.under {
            folded.len() > self.name.len() && is_at_or_under(folded, &self.name)
        } else {
            folded == self.name
        }
    }
}

/// What an entry's `value` matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValuePattern {
    Net(IpNet),
    Name(NamePattern),
}

/// One `[[allow]]` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowEntry {
    /// `FILE:LINE`: how counts and reports name the entry.
    pub label: String,
    pub reason: String,
    pub kind: Option<AlertKind>,
    /// Lower case, no trailing dot.
    pub zone: Option<String>,
    pub owner: Option<NamePattern>,
    pub value: Option<ValuePattern>,
    pub sensor: Option<String>,
    /// Microseconds since the epoch; the entry applies to packets up to
    /// and including it.
    pub until: Option<i64>,
    /// `until` as written, for reports.
    pub until_text: Option<String>,
}

impl AllowEntry {
    /// The entry's scope covers the alert (its `until` aside).
    /// `folded_owner` is the alert's owner in lower case.
    pub fn covers(&self, alert: &Alert, folded_owner: &str, sensor: &str) -> bool {
        if self.kind.is_some_and(|k| k != alert.kind) {
            return false;
        }
        if let Some(z) = &self.zone
            && !is_at_or_under(folded_owner, z)
        {
            return false;
        }
        if let Some(o) = &self.owner
            && !o.matches(folded_owner)
        {
            return false;
        }
        if let Some(s) = &self.sensor
            && s != sensor
        {
            return false;
        }
        match &self.value {
            None => true,
            Some(ValuePattern::Net(net)) => alert
                .value
                .parse()
                .is_ok_and(|a| net.contains(&canonical_ip(a))),
            Some(ValuePattern::Name(p)) => {
                let mut v = String::with_capacity(alert.value.len());
                fold_into(&alert.value, &mut v);
                p.matches(&v)
            }
        }
    }

    /// Past its `until` at `ts` (microseconds since the epoch).
    pub fn expired_at(&self, ts: i64) -> bool {
        self.until.is_some_and(|u| ts > u)
    }
}

/// Every allow entry in use, indexed by the kind each names, so an alert
/// is compared only with the entries of its kind and the kind-less ones.
#[derive(Debug, Default)]
pub struct AllowList {
    entries: Vec<AllowEntry>,
    by_kind: [Vec<usize>; AlertKind::ALL.len()],
    any_kind: Vec<usize>,
}

impl AllowList {
    pub fn new(entries: Vec<AllowEntry>) -> AllowList {
        let mut list = AllowList {
            entries,
            ..AllowList::default()
        };
        for (i, e) in list.entries.iter().enumerate() {
            match e.kind.and_then(kind_index) {
                Some(k) => {
                    if let Some(v) = list.by_kind.get_mut(k) {
                        v.push(i);
                    }
                }
                None => list.any_kind.push(i),
            }
        }
        list
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entries(&self) -> &[AllowEntry] {
        &self.entries
    }

    /// The entries that may cover an alert of `kind`, in file order.
    pub fn candidates(&self, kind: AlertKind) -> impl Iterator<Item = &AllowEntry> {
        let mut idx: Vec<usize> = kind_index(kind)
            .and_then(|k| self.by_kind.get(k))
            .into_iter()
            .flatten()
            .chain(&self.any_kind)
            .copied()
            .collect();
        idx.sort_unstable();
        idx.into_iter().filter_map(|i| self.entries.get(i))
    }
}

fn kind_index(kind: AlertKind) -> Option<usize> {
    AlertKind::ALL.iter().position(|k| *k == kind)
}

/// Reads an allow file, every problem in it found.
pub fn load_allow_file_all(path: &Path) -> Result<Vec<AllowEntry>, FileErrors> {
    let name = path.display().to_string();
    let one = |e: FileError| {
        let mut errors = FileErrors::default();
        errors.push(e);
        errors
    };
    let bytes = crate::fsutil::read_regular(path, crate::fsutil::EXPECT_MAX_BYTES)
        .map_err(|e| one(FileError::unreadable(path, "allow file", &e)))?;
    let text = utf8_text(&name, bytes, "an allow file").map_err(one)?;
    parse_allow_all(&name, &text)
}

/// Parses an allow file; a bad entry is reported with its line and the
/// rest are checked on.
pub fn parse_allow_all(path: &str, text: &str) -> Result<Vec<AllowEntry>, FileErrors> {
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
    if raw.allow.is_empty() {
        errors.push(err(None, "no [[allow]] tables: nothing to allow".into()));
        return Err(errors);
    }
    let mut entries = Vec::with_capacity(raw.allow.len());
    for spanned in raw.allow {
        let span = spanned.span();
        let e = spanned.into_inner();
        let errors_before = errors.len();
        let kind = e.kind.as_ref().and_then(|k| {
            let parsed = AlertKind::parse(k.get_ref().trim());
            if parsed.is_none() {
                errors.push(err(
                    Some(k.span()),
                    format!("`{}` in `kind` is not an alert kind", k.get_ref()),
                ));
            }
            parsed
        });
        let zone = e
            .zone
            .as_ref()
            .and_then(|z| match NamePattern::parse(z.get_ref()) {
                Ok(p) if !p.under => Some(p.name),
                Ok(_) => {
                    errors.push(err(
                        Some(z.span()),
                        "`zone` is a zone name, every name under it included: drop the `*.`".into(),
                    ));
                    None
                }
                Err(m) => {
                    errors.push(err(Some(z.span()), format!("zone: {m}")));
                    None
                }
            });
        let owner = e
            .owner
            .as_ref()
            .and_then(|o| match NamePattern::parse(o.get_ref()) {
                Ok(p) => Some(p),
                Err(m) => {
                    errors.push(err(Some(o.span()), format!("owner: {m}")));
                    None
                }
            });
        let value = e.value.as_ref().and_then(|v| {
            let s = v.get_ref().trim();
            if let Ok(net) = s
                .parse::<IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
            {
                return Some(ValuePattern::Net(canonical_net(net.trunc())));
            }
            match NamePattern::parse(s) {
                Ok(p) => Some(ValuePattern::Name(p)),
                Err(m) => {
                    errors.push(err(
                        Some(v.span()),
                        format!("value: not an address or CIDR network, and {m}"),
                    ));
                    None
                }
            }
        });
        let (until, until_text) = match &e.until {
            None => (None, None),
            Some(u) => {
                let text = match u.get_ref() {
                    toml::Value::String(s) => s.trim().to_string(),
                    toml::Value::Datetime(d) => d.to_string(),
                    other => {
                        errors.push(err(
                            Some(u.span()),
                            format!("`until` must be a date or time, not {}", other.type_str()),
                        ));
                        String::new()
                    }
                };
                match parse_until(&text) {
                    Some(t) => (Some(t), Some(text)),
                    None => {
                        if !text.is_empty() {
                            errors.push(err(
                                Some(u.span()),
                                format!(
                                    "`until`: `{text}` is not a date or time (expected e.g. 2026-12-31 or 2026-12-31T18:00:00Z)"
                                ),
                            ));
                        }
                        (None, None)
                    }
                }
            }
        };
        let reason = e.reason.map(|r| r.trim().to_string()).unwrap_or_default();
        if reason.is_empty() {
            errors.push(err(
                Some(span.clone()),
                "an allow entry needs a `reason`: who accepted it and why".into(),
            ));
        }
        if e.kind.is_none() && e.zone.is_none() && e.owner.is_none() && e.value.is_none() {
            errors.push(err(
                Some(span.clone()),
                "an allow entry names at least one of kind, zone, owner or value: this one would allow every alert".into(),
            ));
        }
        if errors.len() != errors_before {
            continue;
        }
        entries.push(AllowEntry {
            label: format!("{path}:{}", line_at(text, span.start)),
            reason,
            kind,
            zone,
            owner,
            value,
            sensor: e.sensor,
            until,
            until_text,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(entries)
}

/// `until` in microseconds since the epoch: a date means through the end
/// of that day (UTC), a date and time without offset is UTC.
fn parse_until(text: &str) -> Option<i64> {
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Some(t.as_microsecond());
    }
    if let Ok(d) = text.parse::<jiff::civil::Date>() {
        let next = d.tomorrow().ok()?;
        let t = jiff::tz::TimeZone::UTC
            .to_timestamp(next.to_datetime(jiff::civil::Time::midnight()))
            .ok()?;
        return Some(t.as_microsecond() - 1);
    }
    let civil = text.parse::<jiff::civil::DateTime>().ok()?;
    jiff::tz::TimeZone::UTC
        .to_timestamp(civil)
        .ok()
        .map(|t| t.as_microsecond())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AlertDetail;

    fn zone_detail() -> AlertDetail {
        AlertDetail::Zone {
            zone: "example.org".into(),
            expected: Vec::new().into(),
        }
    }

    #[test]
    fn parses_entries_and_names_each_by_file_and_line() {
        let text = r#"
[[allow]]
kind = "unexpected_address"
zone = "Example.ORG."
value = "203.0.113.0/24"
until = "2026-12-31"
reason = "CDN move"

[[allow]]
owner = "*.cdn.example.org"
value = "*.edge.example.net"
sensor = "dmz-1"
until = 2026-06-01T12:00:00Z
reason = "edge names"
"#;
        let e = parse_allow_all("a.toml", text).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].label, "a.toml:2");
        assert_eq!(e[1].label, "a.toml:9");
        assert_eq!(e[0].kind, Some(AlertKind::UnexpectedAddress));
        assert_eq!(e[0].zone.as_deref(), Some("example.org"));
        // Through the end of the day.
        let end = "2026-12-31T23:59:59.999999Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_microsecond();
        assert_eq!(e[0].until, Some(end));
        assert!(!e[0].expired_at(end));
        assert!(e[0].expired_at(end + 1));
        assert_eq!(e[1].until_text.as_deref(), Some("2026-06-01T12:00:00Z"));
    }

    #[test]
    fn every_bad_entry_is_reported_at_its_line() {
        let text = r#"[[allow]]
kind = "no_such_kind"
reason = "x"

[[allow]]
until = "2026-12-31"
reason = "allows everything"

[[allow]]
value = "192.0.2.1"

[[allow]]
value = "192.0.2.1"
until = "soon"
reason = "x"
"#;
        let errors = parse_allow_all("a.toml", text).unwrap_err().into_vec();
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 5, 9, 14], "{errors:?}");
        assert!(errors[1].message.contains("would allow every alert"));
        assert!(errors[2].message.contains("reason"));
        let unknown = parse_allow_all("a.toml", "[[allow]]\nreason = \"x\"\nkinds = \"x\"\n")
            .unwrap_err()
            .into_vec();
        assert_eq!(unknown[0].line, 3, "{unknown:?}");
    }

    #[test]
    fn an_entry_covers_only_its_scope() {
        let text = r#"
[[allow]]
kind = "unexpected_address"
zone = "example.org"
value = "203.0.113.0/24"
reason = "r"

[[allow]]
owner = "*.cdn.example.org"
value = "*.edge.example.net"
sensor = "dmz-1"
reason = "r"
"#;
        let list = AllowList::new(parse_allow_all("a.toml", text).unwrap());
        let addr = Alert::sample(
            AlertKind::UnexpectedAddress,
            "WWW.example.org",
            "203.0.113.9",
            zone_detail(),
        );
        let covering = |a: &Alert, sensor: &str| -> Vec<String> {
            let mut owner = String::new();
            fold_into(&a.owner, &mut owner);
            list.candidates(a.kind)
                .filter(|e| e.covers(a, &owner, sensor))
                .map(|e| e.label.clone())
                .collect()
        };
        assert_eq!(covering(&addr, "s"), vec!["a.toml:2"]);
        let outside = Alert::sample(
            AlertKind::UnexpectedAddress,
            "www.example.org",
            "198.51.100.1",
            zone_detail(),
        );
        assert!(covering(&outside, "s").is_empty());
        let other_zone = Alert::sample(
            AlertKind::UnexpectedAddress,
            "www.example.com",
            "203.0.113.9",
            zone_detail(),
        );
        assert!(covering(&other_zone, "s").is_empty());
        let other_kind = Alert::sample(
            AlertKind::LowTtl,
            "www.example.org",
            "203.0.113.9",
            zone_detail(),
        );
        assert!(covering(&other_kind, "s").is_empty());
        let cname = Alert::sample(
            AlertKind::UnexpectedCname,
            "img.cdn.example.org",
            "a1.Edge.example.net",
            zone_detail(),
        );
        assert_eq!(covering(&cname, "dmz-1"), vec!["a.toml:8"]);
        assert!(covering(&cname, "dmz-2").is_empty(), "another sensor");
        let apex = Alert::sample(
            AlertKind::UnexpectedCname,
            "cdn.example.org",
            "a1.edge.example.net",
            zone_detail(),
        );
        assert!(covering(&apex, "dmz-1").is_empty(), "`*.` is under only");
    }

    #[test]
    fn toml_is_told_apart_by_extension() {
        assert!(is_allow_toml(Path::new("/etc/dnsentry/allow.TOML")));
        assert!(!is_allow_toml(Path::new("allow.csv")));
        assert!(!is_allow_toml(Path::new("allow")));
    }
}
