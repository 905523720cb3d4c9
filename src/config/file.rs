//! `--config FILE`: everything the command line holds, in TOML, as typed.
//! Unknown keys are errors; values that need checking keep their place in
//! the file ([`Spanned`]) so that [`super::Config::build`] can name the
//! line. Relative paths in the file are relative to the file's directory.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::error::FileError;
use crate::output::syslog::SyslogSettings;

#[derive(Clone, Debug, Default, Deserialize)]
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
    #[serde(default)]
    pub audit: AuditSection,
}

/// How `dnsentry audit` asks.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSection {
    /// Root hints file; IANA's, compiled in, when absent.
    pub root_hints: Option<PathBuf>,
    /// The parent's servers, instead of finding them from the root.
    #[serde(default)]
    pub parent_servers: Vec<Spanned<String>>,
    /// More names to ask about.
    #[serde(default)]
    pub names: Vec<String>,
    /// Resolvers to ask the same questions; those of `resolv_conf` when
    /// absent, none when empty.
    pub resolvers: Option<Vec<Spanned<String>>>,
    /// Where the default resolvers are read from.
    pub resolv_conf: Option<PathBuf>,
    /// Wait per try, e.g. "2s".
    pub server_timeout: Option<Spanned<String>>,
    /// Tries after the first.
    pub retries: Option<Spanned<u32>>,
    /// Most queries per second to one server.
    pub rate: Option<Spanned<f64>>,
    /// Nothing is asked after this long, e.g. "5m".
    pub max_duration: Option<Spanned<String>>,
    /// `live` audits every this long, e.g. "15m".
    pub interval: Option<Spanned<String>>,
    /// `live`: how long servers may disagree before it is raised.
    pub consistency_grace: Option<Spanned<String>>,
}

/// Which indicators and expected records to load.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesSection {
    /// Extra IOC feeds (any feed format).
    #[serde(default)]
    pub ioc: Vec<PathBuf>,
    /// Leave out the built-in AA19-024A feed.
    pub no_default_ioc: Option<bool>,
    /// Days since an indicator was last seen or reported past which its
    /// alerts drop one severity level; 0 never lowers.
    pub ioc_max_age: Option<u32>,
    /// Allowlists (any feed format): indicators known to be benign.
    #[serde(default)]
    pub allow: Vec<PathBuf>,
    /// Expected-record files.
    #[serde(default)]
    pub expect: Vec<PathBuf>,
}

/// Where records go; "-" is stdout.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputsSection {
    pub alerts: Option<String>,
    pub dns_log: Option<String>,
    pub weird_log: Option<String>,
    /// `native` (default) or `eve`.
    pub alerts_format: Option<Spanned<String>>,
    /// `native` (default) or `eve`.
    pub dns_log_format: Option<Spanned<String>>,
    /// The sensor's name in every record; the host name when absent.
    pub sensor_name: Option<String>,
    /// Mode (octal string, e.g. "0640") of the output files created.
    pub file_mode: Option<Spanned<String>>,
    pub stats_json: Option<PathBuf>,
    /// SIEM destinations, one `[[outputs.syslog]]` table each.
    #[serde(default)]
    pub syslog: Vec<Spanned<SyslogSettings>>,
    /// Where undelivered syslog messages wait.
    pub spool_dir: Option<PathBuf>,
    /// Bound of each destination's spool, MiB.
    pub spool_max_mb: Option<u64>,
    /// Seconds of delivery at exit before the rest is spooled.
    pub syslog_flush_timeout: Option<Spanned<u64>>,
}

/// What to capture and how.
#[derive(Clone, Debug, Default, Deserialize)]
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
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthSection {
    /// Seconds between `sensor_health` events.
    pub stats_interval: Option<Spanned<u64>>,
    /// Drop rate (0..1) above which `capture_loss` is raised.
    pub loss_threshold: Option<Spanned<f64>>,
    /// Seconds without DNS after which `capture_stalled` is raised.
    pub stall_timeout: Option<Spanned<u64>>,
    /// Address for the Prometheus endpoint, e.g. "127.0.0.1:9153".
    pub metrics: Option<Spanned<String>>,
}

/// How the process runs.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSection {
    /// Decode-and-match workers.
    pub threads: Option<Spanned<u64>>,
    /// Suppression window, e.g. "1h", "10m"; "0" alerts every time.
    pub suppress: Option<Spanned<String>>,
    /// User to become once the capture handles are open.
    pub user: Option<String>,
}

/// A config file as read, with what is needed to point at its lines.
#[derive(Clone, Debug)]
pub struct LoadedFile {
    pub path: String,
    text: String,
    pub config: FileConfig,
}

impl LoadedFile {
    /// Reads and parses `path`; syntax errors, unknown keys and values of
    /// the wrong type name their line.
    pub fn load(path: &Path) -> Result<LoadedFile, FileError> {
        let name = path.display().to_string();
        let bytes = crate::fsutil::read_regular(path, crate::fsutil::CONFIG_MAX_BYTES)
            .map_err(|e| FileError::unreadable(path, "config", &e))?;
        let text = crate::error::utf8_text(&name, bytes, "a config file")?;
        let mut config: FileConfig = toml::from_str(&text).map_err(|e| {
            let at = e.span().map_or(usize::MAX, |s| s.start);
            let line = if at == usize::MAX {
                0
            } else {
                crate::error::line_at(&text, at)
            };
            FileError::new(name.clone(), line, e.message().trim())
        })?;
        rebase(&mut config, path.parent().unwrap_or(Path::new(".")));
        Ok(LoadedFile {
            path: name,
            text,
            config,
        })
    }

    /// Where `needle` first occurs at or after byte `from`.
    pub fn find_after(&self, from: usize, needle: &str) -> Option<usize> {
        self.text.get(from..)?.find(needle).map(|i| from + i)
    }

    /// A problem with the value at `span`.
    pub fn error_at(&self, span: std::ops::Range<usize>, message: String) -> FileError {
        FileError::at_offset(&self.path, &self.text, span.start, message)
    }
}

/// Paths in the file are relative to the file.
fn rebase(cfg: &mut FileConfig, base: &Path) {
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
            && Path::new(s.as_str()).is_relative()
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
    if let Some(p) = cfg.audit.root_hints.as_mut() {
        rebase(p);
    }
    if let Some(p) = cfg.audit.resolv_conf.as_mut() {
        rebase(p);
    }
    for t in &mut cfg.outputs.syslog {
        let t = t.get_mut();
        for p in [&mut t.ca, &mut t.cert, &mut t.key].into_iter().flatten() {
            rebase(p);
        }
    }
}
