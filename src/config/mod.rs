//! From what the user gave to what a run needs: flags ([`args`]) and the
//! config file ([`mod@file`]) in, one [`Config`] out, validated once.
//!
//! Flags override the file. Every check lives here, so `dnsentry check`
//! (which runs this same build) accepts exactly what a run accepts, and a
//! bad value names its flag, or its file and line.

pub mod args;
pub mod file;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use args::{AuditFlags, CommonArgs, LiveFlags, RuleArgs, SyslogArgs};
use file::{FileConfig, LoadedFile};
use toml::Spanned;

use crate::capture::live::LiveOptions;
use crate::decode::transport::DEFAULT_DNS_PORTS;
use crate::error::FileError;
use crate::fsutil::{DEFAULT_OUTPUT_MODE, parse_output_mode};
use crate::health::HealthOptions;
use crate::output::syslog::{DeliveryOptions, SyslogError, SyslogSettings, SyslogSpec};
use crate::output::{Format, OutputError, OutputTargets, Target};
use crate::rules::RuleSources;

/// One (kind, owner, value) alerts once per this much packet time.
pub const DEFAULT_SUPPRESS: Duration = Duration::from_secs(3600);
/// The longest duration any setting accepts (timeouts, intervals, the
/// suppression window, `--duration`): beyond any sensible value, and short
/// enough that adding it to a clock or a packet time cannot overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);
/// Worker threads a config file may ask for (the flag has the same range).
pub const THREADS: std::ops::RangeInclusive<u64> = 1..=1024;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value in the config file, or a rule file, at its line.
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{flag} {value:?}: {problem}")]
    Flag {
        flag: &'static str,
        value: String,
        problem: String,
    },
    #[error(transparent)]
    Syslog(#[from] SyslogError),
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// Everything `analyze` and `live` run with, validated.
#[derive(Clone, Debug)]
pub struct Config {
    /// The config file, when one was given.
    pub file: Option<PathBuf>,
    pub rules: RuleSources,
    pub outputs: OutputTargets,
    pub dns_ports: Vec<u16>,
    pub threads: usize,
    /// Zero alerts every time.
    pub suppress: Duration,
    pub stats_json: Option<PathBuf>,
    pub quiet: bool,
    pub live: LiveConfig,
    pub audit: AuditConfig,
}

/// What only `audit` uses (built and checked for every command, as
/// [`LiveConfig`] is).
#[derive(Clone, Debug)]
pub struct AuditConfig {
    /// Root hints file; IANA's, compiled in, when `None`.
    pub root_hints: Option<PathBuf>,
    pub parent_servers: Vec<SocketAddr>,
    pub names: Vec<String>,
    /// Resolvers given (flag or file); `None`: those of `resolv_conf`,
    /// read when the audit starts.
    pub resolvers: Option<Vec<SocketAddr>>,
    pub resolv_conf: PathBuf,
    /// `live` audits at start and then every this long.
    pub interval: Option<Duration>,
    /// `live`: servers that disagree are raised after this long.
    pub consistency_grace: Duration,
    pub timeout: Duration,
    pub retries: u32,
    pub rate: f64,
    pub max_duration: Duration,
}

/// Tries after the first, at most.
pub const MAX_RETRIES: u32 = 10;
/// Queries per second to one server, at most.
pub const MAX_RATE: f64 = 1000.0;

/// What only `live` uses (built and checked for every command all the
/// same, so that a config file `check` accepts is one `live` accepts).
#[derive(Clone, Debug)]
pub struct LiveConfig {
    pub interfaces: Vec<String>,
    pub capture: LiveOptions,
    pub health: HealthOptions,
    pub metrics: Option<SocketAddr>,
    pub user: Option<String>,
}

impl Config {
    /// Reads `--config` if given, merges the flags over it and validates
    /// every setting; the first error stops the run.
    pub fn build(
        flags: &CommonArgs,
        live: &LiveFlags,
        audit: &AuditFlags,
    ) -> Result<Config, ConfigError> {
        Config::build_all(flags, live, audit).map_err(|errors| errors.first)
    }

    /// As [`Config::build`], but every setting is checked and every error
    /// returned (for `dnsentry check`), not only the first. A config file
    /// that is not valid TOML stops at its syntax error.
    pub fn build_all(
        flags: &CommonArgs,
        live: &LiveFlags,
        audit: &AuditFlags,
    ) -> Result<Config, ConfigErrors> {
        let loaded = flags
            .config
            .as_deref()
            .map(LoadedFile::load)
            .transpose()
            .map_err(|e| ConfigErrors::one(e.into()))?;
        let default_file = FileConfig::default();
        let file = loaded.as_ref().map_or(&default_file, |l| &l.config);
        let at = |span: std::ops::Range<usize>, message: String| -> ConfigError {
            match &loaded {
                Some(l) => l.error_at(span, message).into(),
                None => FileError::new("-", 0, message).into(),
            }
        };
        let mut errors: Vec<ConfigError> = Vec::new();
        macro_rules! keep {
            ($checked:expr) => {
                match $checked {
                    Ok(value) => Some(value),
                    Err(e) => {
                        errors.push(ConfigError::from(e));
                        None
                    }
                }
            };
        }

        let dns_ports = first_nonempty(&flags.dns_ports, &file.capture.dns_ports)
            .unwrap_or_else(|| DEFAULT_DNS_PORTS.to_vec());
        let threads = keep!(match (flags.threads, &file.run.threads) {
            (Some(n), _) => Ok(usize::from(n)),
            (None, Some(n)) if !THREADS.contains(n.get_ref()) => Err(at(
                n.span(),
                format!(
                    "run.threads {} is not in {}..={}",
                    n.get_ref(),
                    THREADS.start(),
                    THREADS.end()
                ),
            )),
            (None, Some(n)) => Ok(usize::try_from(*n.get_ref()).unwrap_or(1)),
            (None, None) => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
        });
        let suppress = keep!(match (&flags.suppress, &file.run.suppress) {
            (Some(s), _) => parse_duration(s).map_err(|problem| ConfigError::Flag {
                flag: "--suppress",
                value: s.clone(),
                problem,
            }),
            (None, Some(s)) => parse_duration(s.get_ref())
                .map_err(|p| at(s.span(), format!("run.suppress {:?}: {p}", s.get_ref()))),
            (None, None) => Ok(DEFAULT_SUPPRESS),
        });
        let syslog = keep!(syslog_specs(&flags.syslog, loaded.as_ref()));
        let delivery = keep!(delivery_options(&flags.syslog, file, &at));
        let file_mode = keep!(match (&flags.output_mode, &file.outputs.file_mode) {
            (Some(m), _) => parse_output_mode(m).map_err(|problem| ConfigError::Flag {
                flag: "--output-mode",
                value: m.clone(),
                problem,
            }),
            (None, Some(m)) => parse_output_mode(m.get_ref()).map_err(|p| {
                at(
                    m.span(),
                    format!("outputs.file_mode {:?}: {p}", m.get_ref()),
                )
            }),
            (None, None) => Ok(DEFAULT_OUTPUT_MODE),
        });
        let alerts_format = keep!(format(
            ("--alerts-format", flags.alerts_format.as_deref()),
            ("outputs.alerts_format", file.outputs.alerts_format.as_ref()),
            &at,
        ));
        let dns_log_format = keep!(format(
            ("--dns-log-format", flags.dns_log_format.as_deref()),
            (
                "outputs.dns_log_format",
                file.outputs.dns_log_format.as_ref(),
            ),
            &at,
        ));
        let sensor_name = keep!(sensor_name(
            flags
                .sensor_name
                .as_deref()
                .or(file.outputs.sensor_name.as_deref()),
        ));
        let live = keep!(live_config(live, file, &dns_ports, &at));
        let audit = keep!(audit_config(audit, file, &at));

        let (
            Some(threads),
            Some(suppress),
            Some(syslog),
            Some(delivery),
            Some(file_mode),
            Some(alerts_format),
            Some(dns_log_format),
            Some(sensor_name),
            Some(live),
            Some(audit),
        ) = (
            threads,
            suppress,
            syslog,
            delivery,
            file_mode,
            alerts_format,
            dns_log_format,
            sensor_name,
            live,
            audit,
        )
        else {
            return Err(ConfigErrors::of(errors));
        };
        let outputs = OutputTargets {
            alerts: Target::parse(
                flags
                    .alerts
                    .as_deref()
                    .or(file.outputs.alerts.as_deref())
                    .unwrap_or("-"),
            ),
            dns_log: flags
                .dns_log
                .as_deref()
                .or(file.outputs.dns_log.as_deref())
                .map(Target::parse),
            weird_log: flags
                .weird_log
                .as_deref()
                .or(file.outputs.weird_log.as_deref())
                .map(Target::parse),
            syslog,
            delivery,
            file_mode,
            alerts_format,
            dns_log_format,
            sensor_name,
        };
        keep!(outputs.check_stdout());
        keep!(crate::output::syslog::check_distinct(&outputs.syslog));
        if !errors.is_empty() {
            return Err(ConfigErrors::of(errors));
        }

        Ok(Config {
            file: flags.config.clone(),
            rules: rule_sources(&flags.rules, file),
            outputs,
            live,
            audit,
            dns_ports,
            threads,
            suppress,
            stats_json: flags
                .stats_json
                .clone()
                .or_else(|| file.outputs.stats_json.clone()),
            quiet: flags.quiet,
        })
    }
}

/// Every error a configuration has, the first apart (a run reports only
/// that one).
#[derive(Debug)]
pub struct ConfigErrors {
    pub first: ConfigError,
    pub more: Vec<ConfigError>,
}

impl ConfigErrors {
    fn one(first: ConfigError) -> ConfigErrors {
        ConfigErrors {
            first,
            more: Vec::new(),
        }
    }

    /// `errors` is never empty where this is called; an empty list still
    /// reads as an error rather than a valid configuration.
    fn of(errors: Vec<ConfigError>) -> ConfigErrors {
        let mut all = errors.into_iter();
        let first = all.next().unwrap_or_else(|| ConfigError::Flag {
            flag: "--config",
            value: String::new(),
            problem: "invalid".into(),
        });
        ConfigErrors {
            first,
            more: all.collect(),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &ConfigError> {
        std::iter::once(&self.first).chain(&self.more)
    }
}

/// An output format from its flag, or else from the config file (`key`
/// names it there); native when neither says.
fn format(
    flag: (&'static str, Option<&str>),
    file: (&str, Option<&Spanned<String>>),
    at: &impl Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<Format, ConfigError> {
    match (flag, file) {
        ((name, Some(v)), _) => Format::parse(v).map_err(|problem| ConfigError::Flag {
            flag: name,
            value: v.to_string(),
            problem,
        }),
        ((_, None), (key, Some(v))) => {
            Format::parse(v.get_ref()).map_err(|p| at(v.span(), format!("{key} {p}")))
        }
        ((_, None), (_, None)) => Ok(Format::Native),
    }
}

/// The name given, else the host's. A name that would read as nothing is
/// refused: records from several sensors must be told apart.
fn sensor_name(given: Option<&str>) -> Result<String, ConfigError> {
    match given {
        Some(n) if n.trim().is_empty() => Err(ConfigError::Flag {
            flag: "--sensor-name",
            value: n.to_string(),
            problem: "empty; leave it out to use the host name".into(),
        }),
        Some(n) => Ok(n.to_string()),
        None => Ok(crate::model::host_name()),
    }
}

/// The rules named by flags, or else by the config file.
pub fn rule_sources(args: &RuleArgs, file: &FileConfig) -> RuleSources {
    RuleSources {
        builtin_feed: !(args.no_default_ioc || file.rules.no_default_ioc.unwrap_or(false)),
        ioc_files: first_nonempty(&args.ioc, &file.rules.ioc).unwrap_or_default(),
        allow_files: first_nonempty(&args.allow, &file.rules.allow).unwrap_or_default(),
        expect_files: first_nonempty(&args.expect, &file.rules.expect).unwrap_or_default(),
        ioc_max_age_days: args
            .ioc_max_age
            .or(file.rules.ioc_max_age)
            .unwrap_or(crate::rules::DEFAULT_IOC_MAX_AGE_DAYS),
    }
}

/// A list given as flags replaces the file's list.
fn first_nonempty<T: Clone>(flag: &[T], file: &[T]) -> Option<Vec<T>> {
    [flag, file]
        .into_iter()
        .find(|l| !l.is_empty())
        .map(<[T]>::to_vec)
}

/// "1h", "90s", "0"; at most [`MAX_DURATION`].
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    if s.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("{e}; expected e.g. 1h, 10m, 30s or 0"))
        .and_then(bounded)
}

fn bounded(d: Duration) -> Result<Duration, String> {
    if d > MAX_DURATION {
        return Err("longer than 365 days, the longest accepted".into());
    }
    Ok(d)
}

/// A setting in whole seconds, from its flag or else from the config file
/// (`key` names it there), at most [`MAX_DURATION`].
fn seconds(
    flag: (&'static str, Option<u64>),
    file: (&str, Option<&Spanned<u64>>),
    at: &impl Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<Option<Duration>, ConfigError> {
    match (flag, file) {
        ((name, Some(n)), _) => bounded(Duration::from_secs(n))
            .map(Some)
            .map_err(|problem| ConfigError::Flag {
                flag: name,
                value: n.to_string(),
                problem,
            }),
        ((_, None), (key, Some(n))) => bounded(Duration::from_secs(*n.get_ref()))
            .map(Some)
            .map_err(|p| at(n.span(), format!("{key} {}: {p}", n.get_ref()))),
        ((_, None), (_, None)) => Ok(None),
    }
}

/// The syslog destinations: from `--syslog` when given, else from the
/// config file's tables; the `--syslog-*` flags fill in what a destination
/// leaves unset.
fn syslog_specs(
    a: &SyslogArgs,
    loaded: Option<&LoadedFile>,
) -> Result<Vec<SyslogSpec>, ConfigError> {
    let defaults = SyslogSettings {
        url: None,
        format: a.format.clone(),
        body: a.body.clone(),
        framing: a.framing.clone(),
        facility: a.facility.clone(),
        ca: a.ca.clone(),
        cert: a.cert.clone(),
        key: a.key.clone(),
        server_name: a.server_name.clone(),
        udp_max: a.udp_max,
        enterprise_number: a.enterprise_number,
    };
    if !a.urls.is_empty() {
        return Ok(a
            .urls
            .iter()
            .map(|u| {
                SyslogSpec::new(
                    &SyslogSettings {
                        url: Some(u.clone()),
                        ..SyslogSettings::default()
                    }
                    .or(&defaults),
                )
            })
            .collect::<Result<_, _>>()?);
    }
    let Some(loaded) = loaded else {
        return Ok(Vec::new());
    };
    loaded
        .config
        .outputs
        .syslog
        .iter()
        .map(|t| {
            let Some(url) = &t.get_ref().url else {
                return Err(loaded
                    .error_at(t.span(), "an [[outputs.syslog]] table has no url".into())
                    .into());
            };
            SyslogSpec::new(&t.get_ref().or(&defaults)).map_err(|e| {
                // Most problems are in the URL (its query holds settings
                // too): point at it rather than at the table's header.
                let at = loaded
                    .find_after(t.span().start, url)
                    .unwrap_or(t.span().start);
                loaded.error_at(at..at, e.to_string()).into()
            })
        })
        .collect()
}

fn delivery_options(
    a: &SyslogArgs,
    file: &FileConfig,
    at: &impl Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<DeliveryOptions, ConfigError> {
    let o = &file.outputs;
    let d = DeliveryOptions::default();
    let flush_timeout = seconds(
        ("--syslog-flush-timeout", a.flush_timeout),
        (
            "outputs.syslog_flush_timeout",
            o.syslog_flush_timeout.as_ref(),
        ),
        at,
    )?;
    Ok(DeliveryOptions {
        spool_dir: a.spool_dir.clone().or_else(|| o.spool_dir.clone()),
        spool_max_bytes: a
            .spool_max_mb
            .or(o.spool_max_mb)
            .map_or(d.spool_max_bytes, |mb| mb.saturating_mul(1 << 20)),
        flush_timeout: flush_timeout.unwrap_or(d.flush_timeout),
        ..d
    })
}

fn audit_config(
    flags: &AuditFlags,
    file: &FileConfig,
    at: &impl Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<AuditConfig, ConfigError> {
    let fa = &file.audit;
    let parent_servers = if flags.parent_servers.is_empty() {
        fa.parent_servers
            .iter()
            .map(|s| {
                parse_server(s.get_ref()).map_err(|p| {
                    at(
                        s.span(),
                        format!("audit.parent_servers {:?}: {p}", s.get_ref()),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?
    } else {
        flags
            .parent_servers
            .iter()
            .map(|s| {
                parse_server(s).map_err(|problem| ConfigError::Flag {
                    flag: "--parent-server",
                    value: s.clone(),
                    problem,
                })
            })
            .collect::<Result<Vec<_>, _>>()?
    };
    let resolvers = if !flags.resolvers.is_empty() {
        Some(
            flags
                .resolvers
                .iter()
                .map(|s| {
                    parse_server(s).map_err(|problem| ConfigError::Flag {
                        flag: "--resolver",
                        value: s.clone(),
                        problem,
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        )
    } else if let Some(list) = &fa.resolvers {
        Some(
            list.iter()
                .map(|s| {
                    parse_server(s.get_ref()).map_err(|p| {
                        at(s.span(), format!("audit.resolvers {:?}: {p}", s.get_ref()))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        )
    } else {
        None
    };
    let duration = |flag: &'static str,
                    v: Option<&String>,
                    key: &str,
                    fv: Option<&Spanned<String>>,
                    default: Duration|
     -> Result<Duration, ConfigError> {
        let positive = |s: &str| {
            parse_duration(s).and_then(|d| {
                if d.is_zero() {
                    Err("must be more than 0".to_string())
                } else {
                    Ok(d)
                }
            })
        };
        match (v, fv) {
            (Some(s), _) => positive(s).map_err(|problem| ConfigError::Flag {
                flag,
                value: s.clone(),
                problem,
            }),
            (None, Some(s)) => positive(s.get_ref())
                .map_err(|p| at(s.span(), format!("audit.{key} {:?}: {p}", s.get_ref()))),
            (None, None) => Ok(default),
        }
    };
    let defaults = crate::audit::client::ClientOptions::default();
    let timeout = duration(
        "--server-timeout",
        flags.server_timeout.as_ref(),
        "server_timeout",
        fa.server_timeout.as_ref(),
        defaults.timeout,
    )?;
    let max_duration = duration(
        "--max-duration",
        flags.max_duration.as_ref(),
        "max_duration",
        fa.max_duration.as_ref(),
        Duration::from_secs(300),
    )?;
    let interval = match (&flags.audit_every, &fa.interval) {
        (None, None) => None,
        (v, fv) => Some(duration(
            "--audit-every",
            v.as_ref(),
            "interval",
            fv.as_ref(),
            Duration::ZERO,
        )?),
    };
    // Zero is allowed here: raise at once.
    let consistency_grace = match (&flags.consistency_grace, &fa.consistency_grace) {
        (Some(v), _) => parse_duration(v).map_err(|problem| ConfigError::Flag {
            flag: "--consistency-grace",
            value: v.clone(),
            problem,
        })?,
        (None, Some(v)) => parse_duration(v.get_ref()).map_err(|p| {
            at(
                v.span(),
                format!("audit.consistency_grace {:?}: {p}", v.get_ref()),
            )
        })?,
        (None, None) => Duration::from_secs(3600),
    };
    let retries = match (flags.retries, &fa.retries) {
        (Some(r), _) => r,
        (None, Some(r)) if *r.get_ref() > MAX_RETRIES => {
            return Err(at(
                r.span(),
                format!("audit.retries {} is more than {MAX_RETRIES}", r.get_ref()),
            ));
        }
        (None, Some(r)) => *r.get_ref(),
        (None, None) => defaults.retries,
    };
    let rate_ok = |r: f64| r.is_finite() && r > 0.0 && r <= MAX_RATE;
    let problem = format!("expected queries per second, more than 0 and at most {MAX_RATE}");
    let rate = match (flags.rate, &fa.rate) {
        (Some(r), _) if !rate_ok(r) => {
            return Err(ConfigError::Flag {
                flag: "--rate",
                value: r.to_string(),
                problem,
            });
        }
        (Some(r), _) => r,
        (None, Some(r)) if !rate_ok(*r.get_ref()) => {
            return Err(at(
                r.span(),
                format!("audit.rate {}: {problem}", r.get_ref()),
            ));
        }
        (None, Some(r)) => *r.get_ref(),
        (None, None) => defaults.rate,
    };
    Ok(AuditConfig {
        root_hints: flags.root_hints.clone().or_else(|| fa.root_hints.clone()),
        parent_servers,
        names: if flags.names.is_empty() {
            fa.names.clone()
        } else {
            flags.names.clone()
        },
        resolvers,
        interval,
        consistency_grace,
        resolv_conf: flags
            .resolv_conf
            .clone()
            .or_else(|| fa.resolv_conf.clone())
            .unwrap_or_else(|| PathBuf::from(crate::audit::resolvconf::SYSTEM)),
        timeout,
        retries,
        rate,
        max_duration,
    })
}

/// `ADDR`, `ADDR:PORT` or `[ADDR]:PORT`; port 53 when not given.
fn parse_server(s: &str) -> Result<SocketAddr, String> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    s.parse::<std::net::IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| "expected an address, ADDR:PORT or [IPv6]:PORT".to_string())
}

fn live_config(
    flags: &LiveFlags,
    file: &FileConfig,
    dns_ports: &[u16],
    at: &impl Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<LiveConfig, ConfigError> {
    let defaults = LiveOptions::default();
    let fc = &file.capture;
    let capture = LiveOptions {
        snaplen: flags.snaplen.or(fc.snaplen).unwrap_or(defaults.snaplen),
        buffer_mb: flags
            .buffer_mb
            .or(fc.buffer_mb)
            .unwrap_or(defaults.buffer_mb),
        immediate: flags.immediate || fc.immediate.unwrap_or(defaults.immediate),
        promisc: true,
        bpf: flags.bpf.clone().or_else(|| fc.bpf.clone()),
        dns_ports: dns_ports.to_vec(),
    };
    let hd = HealthOptions::default();
    let fh = &file.health;
    let loss_threshold = match (flags.loss_threshold, &fh.loss_threshold) {
        (Some(t), _) => {
            if !(0.0..=1.0).contains(&t) {
                return Err(ConfigError::Flag {
                    flag: "--loss-threshold",
                    value: t.to_string(),
                    problem: "not between 0 and 1".into(),
                });
            }
            t
        }
        (None, Some(t)) => {
            if !(0.0..=1.0).contains(t.get_ref()) {
                return Err(at(
                    t.span(),
                    format!(
                        "health.loss_threshold {} is not between 0 and 1",
                        t.get_ref()
                    ),
                ));
            }
            *t.get_ref()
        }
        (None, None) => hd.loss_threshold,
    };
    let interval = seconds(
        ("--stats-interval", flags.stats_interval),
        ("health.stats_interval", fh.stats_interval.as_ref()),
        at,
    )?;
    let stall_after = seconds(
        ("--stall-timeout", flags.stall_timeout),
        ("health.stall_timeout", fh.stall_timeout.as_ref()),
        at,
    )?;
    let health = HealthOptions {
        interval: interval.unwrap_or(hd.interval).max(Duration::from_secs(1)),
        loss_threshold,
        stall_after: stall_after.unwrap_or(hd.stall_after),
    };
    let metrics = match (flags.metrics, &fh.metrics) {
        (Some(a), _) => Some(a),
        (None, Some(m)) => Some(m.get_ref().parse().map_err(|_| {
            at(
                m.span(),
                format!("health.metrics {:?} is not an address:port", m.get_ref()),
            )
        })?),
        (None, None) => None,
    };
    Ok(LiveConfig {
        interfaces: first_nonempty(&flags.interfaces, &fc.interfaces).unwrap_or_default(),
        capture,
        health,
        metrics,
        user: flags.user.clone().or_else(|| file.run.user.clone()),
    })
}
