//! From what the user gave (files, flags) to validated [`Rules`]. Every
//! feed and expect file is parsed here, before any thread starts: a bad
//! line stops the run with its file and line, and nothing is half-loaded.

use std::path::PathBuf;

use crate::expect::{ExpectError, ExpectedZones, load_expect_file};
use crate::ioc::{IocError, IocSet, load_feed_file, parse_feed};
use crate::matcher::Rules;

/// Name the built-in feed carries in alerts.
pub const BUILTIN_FEED_NAME: &str = "builtin:aa19-024a.csv";

/// The AA19-024A indicators (ioc-feeds/aa19-024a.csv, provenance in
/// ioc-feeds/SOURCES.md), compiled in so the sensor needs no setup.
pub const BUILTIN_FEED: &str = include_str!("../ioc-feeds/aa19-024a.csv");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Ioc(#[from] IocError),
    #[error(transparent)]
    Expect(#[from] ExpectError),
}

/// Which rule files to load.
#[derive(Clone, Debug, Default)]
pub struct RuleSources {
    pub builtin_feed: bool,
    pub ioc_files: Vec<PathBuf>,
    pub expect_files: Vec<PathBuf>,
}

/// Loads and validates every feed and expect file.
pub fn load_rules(src: &RuleSources) -> Result<Rules, ConfigError> {
    let mut indicators = Vec::new();
    if src.builtin_feed {
        let feed = parse_feed(BUILTIN_FEED_NAME, BUILTIN_FEED)?;
        indicators.extend(feed.indicators);
    }
    for path in &src.ioc_files {
        let feed = load_feed_file(path)?;
        if feed.skipped > 0 {
            tracing::warn!(
                feed = %path.display(),
                skipped = feed.skipped,
                "Feed rows of types not seen in DNS answers (URLs, hashes, ...) were skipped"
            );
        }
        tracing::info!(feed = %path.display(), indicators = feed.indicators.len(), format = ?feed.format, "Loaded feed");
        indicators.extend(feed.indicators);
    }
    let mut expected = ExpectedZones::default();
    for path in &src.expect_files {
        let zones = load_expect_file(path)?;
        expected.merge(zones, &path.display().to_string())?;
    }
    Ok(Rules {
        ioc: IocSet::new(indicators),
        expected,
    })
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
        // Withdrawn by CISA on 2019-02-13: must not be in the feed.
        assert!(
            rules
                .ioc
                .match_addr("107.161.23.204".parse().unwrap())
                .is_none()
        );
    }
}
