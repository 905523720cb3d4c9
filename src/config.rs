//! From what the user gave (files, flags) to validated [`Rules`]. Every
//! feed and expect file is parsed here, before any thread starts: a bad
//! line stops the run with its file and line, and nothing is half-loaded.

use std::path::PathBuf;

use crate::expect::{ExpectError, ExpectedZones, load_expect_file};
use crate::ioc::{IocError, IocSet, load_feed_file, parse_feed};
use crate::matcher::Rules;
use crate::output::syslog::{SyslogSettings, SyslogSpec};

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
    pub allow_files: Vec<PathBuf>,
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
    let mut allowed = Vec::new();
    for path in &src.allow_files {
        allowed.extend(load_feed_file(path)?.indicators);
    }
    let mut expected = ExpectedZones::default();
    for path in &src.expect_files {
        let zones = load_expect_file(path)?;
        expected.merge(zones, &path.display().to_string())?;
    }
    Ok(Rules {
        ioc: IocSet::new(indicators),
        allow: IocSet::new(allowed),
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

/// `--config FILE`: everything the command line holds, in TOML. Flags
/// given on the command line override it; relative paths in it are
/// relative to the file's own directory.
#[derive(Clone, Debug, Default, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub rules: RulesSection,
    #[serde(default)]
    pub outputs: OutputsSection,
    #[serde(default)]
    pub capture: CaptureSection,
    #[serde(default)]
    pub health: HealthSection,
    #[serde(default)]
    pub run: RunSection,
}

/// Which indicators and expected records to load.
#[derive(Clone, Debug, Default, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RulesSection {
    /// Extra IOC feeds (CSV or text).
    #[serde(default)]
    pub ioc: Vec<PathBuf>,
    /// Leave out the built-in AA19-024A feed.
    pub no_default_ioc: Option<bool>,
    /// Allowlists (any feed format): indicators known to be benign.
    #[serde(default)]
    pub allow: Vec<PathBuf>,
    /// Expected-record files.
    #[serde(default)]
    pub expect: Vec<PathBuf>,
}

/// Where records go; "-" is stdout.
#[derive(Clone, Debug, Default, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OutputsSection {
    pub alerts: Option<String>,
    pub dns_log: Option<String>,
    pub weird_log: Option<String>,
    pub stats_json: Option<PathBuf>,
    /// SIEM destinations, one `[[outputs.syslog]]` table each.
    #[serde(default)]
    pub syslog: Vec<SyslogSettings>,
    /// Where undelivered syslog messages wait.
    pub spool_dir: Option<PathBuf>,
    /// Bound of each destination's spool, MiB.
    pub spool_max_mb: Option<u64>,
    /// Seconds of delivery at exit before the rest is spooled.
    pub syslog_flush_timeout: Option<u64>,
}

/// What to capture and how.
#[derive(Clone, Debug, Default, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CaptureSection {
    /// Interfaces for `dnsentry live`.
    #[serde(default)]
    pub interfaces: Vec<String>,
    #[serde(default)]
    pub dns_ports: Vec<u16>,
    pub snaplen: Option<i32>,
    pub buffer_mb: Option<i32>,
    pub immediate: Option<bool>,
    pub bpf: Option<String>,
}

/// Health reporting of `dnsentry live`.
#[derive(Clone, Debug, Default, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HealthSection {
    /// Seconds between `sensor_health` events.
    pub stats_interval: Option<u64>,
    /// Drop rate (0..1) above which `capture_loss` is raised.
    pub loss_threshold: Option<f64>,
    /// Seconds without DNS after which `capture_stalled` is raised.
    pub stall_timeout: Option<u64>,
    /// Address for the Prometheus endpoint, e.g. "127.0.0.1:9153".
    pub metrics: Option<String>,
}

/// How the process runs.
#[derive(Clone, Debug, Default, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RunSection {
    pub threads: Option<u16>,
    /// Suppression window, e.g. "1h", "10m"; "0" alerts every time.
    pub suppress: Option<String>,
    /// User to become once the capture handles are open.
    pub user: Option<String>,
}

/// Reads and validates a config file; errors name file and line.
pub fn load_config_file(path: &std::path::Path) -> Result<FileConfig, crate::expect::ExpectError> {
    let name = path.display().to_string();
    let err = |line: u64, message: String| crate::expect::ExpectError {
        path: name.clone(),
        line,
        message,
    };
    let text =
        std::fs::read_to_string(path).map_err(|e| err(0, format!("cannot read config: {e}")))?;
    let mut cfg: FileConfig = toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map_or(0, |s| crate::expect::line_at(&text, s.start));
        err(line, e.message().trim().to_string())
    })?;
    if let Some(t) = cfg.health.loss_threshold
        && !(0.0..=1.0).contains(&t)
    {
        return Err(err(
            0,
            format!("health.loss_threshold {t} is not between 0 and 1"),
        ));
    }
    if let Some(m) = &cfg.health.metrics
        && m.parse::<std::net::SocketAddr>().is_err()
    {
        return Err(err(
            0,
            format!("health.metrics {m:?} is not an address:port"),
        ));
    }
    for t in &cfg.outputs.syslog {
        let url = t.url.clone().unwrap_or_default();
        let line = text
            .find(&url)
            .map_or(0, |at| crate::expect::line_at(&text, at));
        if t.url.is_none() {
            return Err(err(0, "an [[outputs.syslog]] table has no url".into()));
        }
        if let Err(e) = SyslogSpec::new(t) {
            return Err(err(line, e.to_string()));
        }
    }
    // Paths in the file are relative to the file.
    let base = path.parent().unwrap_or(std::path::Path::new("."));
    let rebase = |p: &mut PathBuf| {
        if p.is_relative() {
            *p = base.join(&*p);
        }
    };
    cfg.rules.ioc.iter_mut().for_each(rebase);
    cfg.rules.allow.iter_mut().for_each(rebase);
    cfg.rules.expect.iter_mut().for_each(rebase);
    let rebase_out = |o: &mut Option<String>| {
        if let Some(s) = o
            && s != "-"
            && std::path::Path::new(s.as_str()).is_relative()
        {
            *s = base.join(s.as_str()).display().to_string();
        }
    };
    rebase_out(&mut cfg.outputs.alerts);
    rebase_out(&mut cfg.outputs.dns_log);
    rebase_out(&mut cfg.outputs.weird_log);
    if let Some(p) = cfg.outputs.stats_json.as_mut() {
        rebase(p);
    }
    if let Some(p) = cfg.outputs.spool_dir.as_mut() {
        rebase(p);
    }
    for t in &mut cfg.outputs.syslog {
        for p in [&mut t.ca, &mut t.cert, &mut t.key].into_iter().flatten() {
            rebase(p);
        }
    }
    Ok(cfg)
}
