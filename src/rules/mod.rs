//! The rule set: IOC feeds (the built-in AA19-024A feed and the user's),
//! allowlists and expect files, loaded and validated as a whole before a
//! thread starts, shared by every worker, and swapped whole on reload.
//!
//! A bad line fails the load with its file and line, and nothing is
//! half-loaded: a run does not start, a reload keeps the previous rules.
//! `check` reads on and reports every bad line of every file.

// Rule files may be malformed or hostile: every access is checked.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod access;
pub mod allow;
pub mod allow_usage;
mod reload;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;

pub use access::unreadable_by;
pub use allow::{AllowEntry, AllowList};
pub use reload::{ReloadError, ReloadWatch, Reloader};

use crate::error::FileError;
use crate::expect::{ExpectedZones, load_expect_file_all};
use crate::ioc::{FeedLoad, IndicatorType, IocSet, load_feed_file, parse_feed};
use crate::model::text::{escape_path, escape_text};
use crate::stats::FeedCount;

/// Name the built-in feed carries in alerts.
pub const BUILTIN_FEED_NAME: &str = "builtin:aa19-024a.csv";

/// The AA19-024A indicators (ioc-feeds/aa19-024a.csv, provenance in
/// ioc-feeds/SOURCES.md), compiled in so the sensor needs no setup.
pub const BUILTIN_FEED: &str = include_str!("../../ioc-feeds/aa19-024a.csv");

/// Days since an indicator was last seen or reported after which its
/// alerts drop one severity level (`--ioc-max-age`).
pub const DEFAULT_IOC_MAX_AGE_DAYS: u32 = 365;

/// Everything the matchers check against.
#[derive(Debug)]
pub struct Rules {
    pub ioc: IocSet,
    /// Indicators known to be benign: an answer they cover raises no IOC
    /// alert, whatever feed lists it (CISA withdrew three of this
    /// campaign's addresses; a correction must not need a feed edit).
    pub allow: IocSet,
    /// Scoped allow entries (TOML allow files), for alerts of every kind.
    pub allow_entries: AllowList,
    pub expected: ExpectedZones,
    /// Indicators each feed and allowlist file contributed, in load order.
    pub feeds: Vec<FeedCount>,
    /// An IOC alert on an indicator older than this (at the packet's
    /// time) is one severity level lower; 0 never lowers.
    pub ioc_max_age_days: u32,
}

impl Default for Rules {
    fn default() -> Rules {
        Rules {
            ioc: IocSet::default(),
            allow: IocSet::default(),
            allow_entries: AllowList::default(),
            expected: ExpectedZones::default(),
            feeds: Vec::new(),
            ioc_max_age_days: DEFAULT_IOC_MAX_AGE_DAYS,
        }
    }
}

/// The rules every worker reads; a reload swaps in a whole new set
/// atomically, so matching never pauses and never sees half a reload.
pub type SharedRules = Arc<ArcSwap<Rules>>;

pub fn shared(rules: Rules) -> SharedRules {
    Arc::new(ArcSwap::from_pointee(rules))
}

/// Which rule files to load, and the indicator age rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSources {
    pub builtin_feed: bool,
    pub ioc_files: Vec<PathBuf>,
    pub allow_files: Vec<PathBuf>,
    pub expect_files: Vec<PathBuf>,
    pub ioc_max_age_days: u32,
}

impl Default for RuleSources {
    fn default() -> RuleSources {
        RuleSources {
            builtin_feed: false,
            ioc_files: Vec::new(),
            allow_files: Vec::new(),
            expect_files: Vec::new(),
            ioc_max_age_days: DEFAULT_IOC_MAX_AGE_DAYS,
        }
    }
}

impl RuleSources {
    /// Every file the rules come from (what a reload watches).
    pub fn files(&self) -> impl Iterator<Item = &PathBuf> {
        self.ioc_files
            .iter()
            .chain(&self.allow_files)
            .chain(&self.expect_files)
    }
}

/// What one rule file held, for `dnsentry check`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileSummary {
    Feed {
        name: String,
        allowlist: bool,
        indicators: usize,
        /// Indicators by type, in a fixed order.
        by_type: Vec<(IndicatorType, usize)>,
        /// Rows of types the sensor does not match (URLs, hashes, ...).
        skipped: u64,
        /// Indicators that never alert: revoked, deleted, not for IDS or
        /// unpublished.
        retracted: usize,
    },
    Expect {
        name: String,
        /// One line per zone, sorted by zone name.
        zones: Vec<String>,
    },
    Allow {
        name: String,
        entries: usize,
        /// Entries whose `until` has passed (by the clock when checked),
        /// one line each.
        expired: Vec<String>,
    },
}

impl FileSummary {
    /// Lines for `dnsentry check`.
    pub fn render(&self) -> String {
        match self {
            FileSummary::Feed {
                name,
                allowlist,
                indicators,
                by_type,
                skipped,
                retracted,
            } => {
                let types: Vec<String> = by_type
                    .iter()
                    .map(|(t, n)| format!("{n} {}", t.as_str()))
                    .collect();
                let mut line = format!(
                    "{}{}: {indicators} indicators ({})",
                    escape_text(name),
                    if *allowlist { " (allowlist)" } else { "" },
                    types.join(", ")
                );
                if *skipped > 0 {
                    line.push_str(&format!(", {skipped} rows of other types skipped"));
                }
                if *retracted > 0 {
                    line.push_str(&format!(
                        ", {retracted} retracted (revoked, deleted, not for IDS or unpublished: they never alert)"
                    ));
                }
                line
            }
            FileSummary::Allow {
                name,
                entries,
                expired,
            } => {
                let mut s = format!("{}: {entries} allow entries", escape_text(name));
                if !expired.is_empty() {
                    s.push_str(&format!(
                        ", {} expired (they apply only to packets up to their `until`)",
                        expired.len()
                    ));
                }
                for e in expired {
                    s.push_str("\n  expired: ");
                    s.push_str(e);
                }
                s
            }
            FileSummary::Expect { name, zones } => {
                let mut s = format!("{}: {} zone(s)", escape_text(name), zones.len());
                for z in zones {
                    s.push_str("\n  ");
                    s.push_str(z);
                }
                s
            }
        }
    }
}

/// Every rule file read, with what each held and every error met.
#[derive(Debug, Default)]
pub struct RulesReport {
    pub files: Vec<FileSummary>,
    pub errors: Vec<FileError>,
    /// Values loaded only once normalised (see [`FeedLoad::warnings`]).
    pub warnings: Vec<FileError>,
}

/// Loads and validates every feed, allowlist and expect file; the first
/// problem fails the load. Warnings go to the log.
pub fn load_rules(src: &RuleSources) -> Result<Rules, FileError> {
    let (rules, mut report) = load_all(src);
    if let Some(e) = report.errors.drain(..).next() {
        return Err(e);
    }
    for w in &report.warnings {
        tracing::warn!("{}", w.as_warning());
    }
    Ok(rules)
}

/// Reads every file even after a bad one, and every line of a bad one
/// (up to [`crate::error::MAX_ERRORS_PER_FILE`] errors each), so `check`
/// can report them all; the rules are only usable when `errors` is empty.
pub fn load_all(src: &RuleSources) -> (Rules, RulesReport) {
    let mut report = RulesReport::default();
    let mut feeds = Vec::new();
    let mut indicators = Vec::new();
    if src.builtin_feed {
        match parse_feed(BUILTIN_FEED_NAME, BUILTIN_FEED) {
            Ok(feed) => {
                feeds.push(FeedCount {
                    name: BUILTIN_FEED_NAME.into(),
                    allowlist: false,
                    indicators: feed.indicators.len(),
                });
                report
                    .files
                    .push(summarise(BUILTIN_FEED_NAME.into(), false, &feed));
                report.warnings.extend(feed.warnings);
                indicators.extend(feed.indicators);
            }
            Err(e) => report.errors.push(e),
        }
    }
    for path in &src.ioc_files {
        if let Some(feed) = read_feed(path, &mut report) {
            if feed.skipped > 0 {
                tracing::warn!(
                    feed = %escape_path(path),
                    skipped = feed.skipped,
                    "Feed rows of types not seen in DNS answers (URLs, hashes, ...) were skipped"
                );
            }
            tracing::info!(feed = %escape_path(path), indicators = feed.indicators.len(), format = ?feed.format, "Loaded feed");
            feeds.push(FeedCount {
                name: escape_path(path),
                allowlist: false,
                indicators: feed.indicators.len(),
            });
            report
                .files
                .push(summarise(path.display().to_string(), false, &feed));
            report.warnings.extend(feed.warnings);
            indicators.extend(feed.indicators);
        }
    }
    let mut allowed = Vec::new();
    let mut allow_entries = Vec::new();
    let now = jiff::Timestamp::now().as_microsecond();
    for path in &src.allow_files {
        if allow::is_allow_toml(path) {
            match allow::load_allow_file_all(path) {
                Ok(entries) => {
                    report.files.push(FileSummary::Allow {
                        name: path.display().to_string(),
                        entries: entries.len(),
                        expired: entries
                            .iter()
                            .filter(|e| e.expired_at(now))
                            .map(|e| {
                                format!(
                                    "{} (until {}): {}",
                                    escape_text(&e.label),
                                    escape_text(e.until_text.as_deref().unwrap_or("")),
                                    escape_text(&e.reason)
                                )
                            })
                            .collect(),
                    });
                    allow_entries.extend(entries);
                }
                Err(errors) => report.errors.extend(errors.into_vec()),
            }
            continue;
        }
        if let Some(feed) = read_feed(path, &mut report) {
            feeds.push(FeedCount {
                name: escape_path(path),
                allowlist: true,
                indicators: feed.indicators.len(),
            });
            report
                .files
                .push(summarise(path.display().to_string(), true, &feed));
            report.warnings.extend(feed.warnings);
            allowed.extend(feed.indicators);
        }
    }
    let mut expected = ExpectedZones::default();
    for path in &src.expect_files {
        let name = path.display().to_string();
        match load_expect_file_all(path) {
            Ok(zones) => {
                let mut lines: Vec<(String, String)> = zones
                    .zones()
                    .map(|z| (z.name.to_string(), z.describe()))
                    .collect();
                lines.sort();
                report.files.push(FileSummary::Expect {
                    name: name.clone(),
                    zones: lines.into_iter().map(|(_, d)| d).collect(),
                });
                if let Err(e) = expected.merge(zones, &name) {
                    report.errors.push(e);
                }
            }
            Err(errors) => report.errors.extend(errors.into_vec()),
        }
    }
    let rules = Rules {
        ioc: IocSet::new(indicators),
        allow: IocSet::new(allowed),
        allow_entries: AllowList::new(allow_entries),
        expected,
        feeds,
        ioc_max_age_days: src.ioc_max_age_days,
    };
    (rules, report)
}

/// A feed file whose every line parsed; else `None`, with every bad line
/// (or what is wrong with the file as a whole) in the report.
fn read_feed(path: &std::path::Path, report: &mut RulesReport) -> Option<FeedLoad> {
    match load_feed_file(path) {
        Ok(feed) if feed.errors.is_empty() => Some(feed),
        Ok(feed) => {
            report.errors.extend(feed.errors.into_vec());
            None
        }
        Err(e) => {
            report.errors.push(e);
            None
        }
    }
}

fn summarise(name: String, allowlist: bool, feed: &FeedLoad) -> FileSummary {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for i in &feed.indicators {
        *counts.entry(i.kind.as_str()).or_default() += 1;
    }
    let by_type = [
        IndicatorType::Ipv4,
        IndicatorType::Ipv6,
        IndicatorType::Cidr,
        IndicatorType::Domain,
    ]
    .into_iter()
    .filter_map(|t| counts.get(t.as_str()).map(|n| (t, *n)))
    .collect();
    FileSummary::Feed {
        name,
        allowlist,
        indicators: feed.indicators.len(),
        by_type,
        skipped: feed.skipped,
        retracted: feed
            .indicators
            .iter()
            .filter(|i| i.lifecycle.retracted.is_some())
            .count(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_feed_loads_whole() {
        let rules = load_rules(&RuleSources {
            builtin_feed: true,
            ..Default::default()
        })
        .unwrap();
        // 19 IPv4 addresses and 17 domains (ioc-feeds/SOURCES.md).
        assert_eq!(rules.ioc.len(), 36);
        assert!(
            rules
                .ioc
                .match_addr("185.20.187.8".parse().unwrap())
                .is_some()
        );
        assert!(rules.ioc.match_name("ns1.rootdnservers.com").is_some());
        // Every indicator carries its report's address and date.
        assert!(rules.ioc.indicators().iter().all(|i| {
            i.url.as_deref().is_some_and(|u| u.starts_with("https://"))
                && i.lifecycle.seen.is_some()
        }));
        let both = rules
            .ioc
            .match_addr("185.20.187.8".parse().unwrap())
            .unwrap();
        assert_eq!(
            both.lifecycle.seen.map(|t| t / 86_400_000_000),
            Some(17_921),
            "the later of its two reports, 2019-01-25"
        );
        // Withdrawn by CISA on 2019-02-13: must not be in the feed.
        assert!(
            rules
                .ioc
                .match_addr("107.161.23.204".parse().unwrap())
                .is_none()
        );
    }

    #[test]
    fn every_bad_file_is_reported_and_the_first_stops_a_load() {
        let dir = tempfile::tempdir().unwrap();
        let bad_feed = dir.path().join("bad.txt");
        std::fs::write(&bad_feed, "192.0.2.1\n300.1.2.3/99\n").unwrap();
        let bad_expect = dir.path().join("bad.toml");
        std::fs::write(&bad_expect, "[[zone]]\nname = \"example.org\"\nbogus = 1\n").unwrap();
        let src = RuleSources {
            builtin_feed: true,
            ioc_files: vec![bad_feed.clone()],
            expect_files: vec![bad_expect.clone()],
            ..Default::default()
        };
        let (_, report) = load_all(&src);
        assert_eq!(report.errors.len(), 2, "{:?}", report.errors);
        assert_eq!(report.errors[0].line, 2);
        assert_eq!(report.errors[1].line, 3);
        assert_eq!(load_rules(&src).unwrap_err(), report.errors[0]);
        // The built-in feed still loaded and says so.
        assert!(
            report.files[0]
                .render()
                .starts_with("builtin:aa19-024a.csv: 36 indicators")
        );
    }

    #[test]
    fn check_counts_retracted_indicators() {
        let feed = parse_feed(
            "m.json",
            r#"{"Event":{"info":"e","Attribute":[
                {"type":"ip-dst","value":"192.0.2.1","to_ids":true},
                {"type":"ip-dst","value":"192.0.2.2","to_ids":false}]}}"#,
        )
        .unwrap();
        assert_eq!(
            summarise("m.json".into(), false, &feed).render(),
            "m.json: 2 indicators (2 ipv4), 1 retracted (revoked, deleted, not for IDS or unpublished: they never alert)"
        );
    }
}
