//! What each subcommand does once its flags are parsed: build the
//! [`Config`], run, report, and say how it went. `main` maps the result to
//! an exit status.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::capture::CaptureError;
use crate::capture::live::{LiveOptions, list_interfaces};
use crate::config::args::{
    AnalyzeArgs, AuditArgs, AuditFlags, BaselineInput, CheckArgs, CommonArgs, DiffArgs, LearnArgs,
    LiveArgs, LiveFlags, ReportArgs,
};
use crate::config::{Config, ConfigError, parse_duration, rule_sources};
use crate::decode::transport::DEFAULT_DNS_PORTS;
use crate::error::FileError;
use crate::fsutil;
use crate::model::DnsResponse;
use crate::model::text::{escape_path, escape_text};
use crate::output::{OutputError, Target};
use crate::pipeline::{AfterOpen, Inputs, PipelineError, RunConfig, RunOutcome, run};
use crate::report::{ReportError, ReportInputs, write_report};
use crate::rules::{ReloadError, Reloader, load_all, load_rules, shared, unreadable_by};
use crate::stats::RuleStats;

/// How a command ended, when it ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Every input analysed, every file valid, nothing differs.
    Ok,
    /// The run finished, but an input or output failed part-way, a SIEM
    /// lost messages, `check` found an invalid file, or `baseline diff`
    /// found a difference.
    Partial,
}

impl Status {
    pub fn code(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Partial => 1,
        }
    }
}

/// Nothing ran (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Rules(#[from] FileError),
    #[error(transparent)]
    Reload(#[from] ReloadError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Capture(#[from] CaptureError),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error("{0}")]
    Usage(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

fn io_error(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> CommandError {
    let what = what.into();
    move |source| CommandError::Io { what, source }
}

/// SIGINT and SIGTERM set the flag: capture ends, the pipeline drains,
/// every output is flushed. A second SIGINT while stopping exits at once.
fn stop_on_signals() -> Result<Arc<AtomicBool>, CommandError> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    use signal_hook::flag;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [SIGINT, SIGTERM] {
        flag::register_conditional_shutdown(sig, 1, Arc::clone(&stop))
            .and_then(|_| flag::register(sig, Arc::clone(&stop)))
            .map_err(io_error("cannot handle signals"))?;
    }
    Ok(stop)
}

/// `dnsentry analyze`.
pub fn analyze(args: &AnalyzeArgs) -> Result<Status, CommandError> {
    let config = Config::build(&args.common, &LiveFlags::default(), &AuditFlags::default())?;
    let rules = shared(load_rules(&config.rules)?);
    let stats = WholeFile::open_stats(&config, &args.captures)?;
    let run_config = RunConfig {
        inputs: Inputs::Files(args.captures.clone()),
        rules,
        dns_ports: config.dns_ports.clone(),
        threads: config.threads,
        outputs: config.outputs.clone(),
        progress: !args.no_progress && !config.quiet,
        metrics: None,
        rule_stats: Arc::default(),
        stop: stop_on_signals()?,
        after_open: None,
        suppress: config.suppress,
        reopen: None,
        injected: None,
    };
    finish(run(run_config), &config, stats)
}

/// `dnsentry live`.
pub fn live(args: &LiveArgs) -> Result<Status, CommandError> {
    if args.list_interfaces {
        for (name, desc) in list_interfaces()? {
            println!("{name}\t{desc}");
        }
        return Ok(Status::Ok);
    }
    let mut config = Config::build(&args.common, &args.capture, &args.audit)?;
    // Capture never waits for a SIEM: a full queue drops, counted.
    config.outputs.delivery.backpressure = false;
    // The spool is handed to --user; on the next start it is that user's.
    config.outputs.delivery.spool_handover = config
        .live
        .user
        .as_deref()
        .and_then(crate::privilege::uid_of);
    let live = &config.live;
    if live.interfaces.is_empty() {
        return Err(CommandError::Usage(
            "no interface: give -i IFACE (see --list-interfaces) or capture.interfaces in the config"
                .into(),
        ));
    }
    if let Some(user) = &live.user {
        let blocked = unreadable_by(&config.rules, user).map_err(CommandError::Usage)?;
        if !blocked.is_empty() {
            // One line: errors reach the terminal escaped, a line break
            // included.
            let each: Vec<String> = blocked.iter().map(ToString::to_string).collect();
            return Err(CommandError::Usage(each.join("; ")));
        }
    }
    // Opened as the user who starts the sensor: it is written after
    // privileges are dropped.
    let stats = WholeFile::open_stats(&config, &[])?;
    // Bound now: a bad address fails before the run, and a privileged port
    // is bound before privileges are dropped.
    let metrics = live
        .metrics
        .map(|a| {
            crate::output::metrics::bind(a)
                .map_err(io_error(format!("--metrics {a}: cannot listen")))
        })
        .transpose()?;
    let after_open = live.user.clone().map(|u| {
        let spool: Vec<PathBuf> = config.outputs.delivery.spool_dir.iter().cloned().collect();
        Box::new(move || crate::privilege::drop_to(&u, &spool)) as AfterOpen
    });
    let loaded = load_rules(&config.rules)?;
    let rule_stats = Arc::new(RuleStats::default());
    rule_stats.loaded(loaded.feeds.clone());
    let rules = shared(loaded);
    // Coalesced: the output thread reopens once for any number of SIGHUPs
    // that arrive while it is busy.
    let (reopen_tx, reopen_rx) = crossbeam_channel::bounded(1);
    let reload = Reloader::new(
        config.rules.clone(),
        Arc::clone(&rules),
        Arc::clone(&rule_stats),
    )
    .watch(move || {
        let _ = reopen_tx.try_send(());
    })?;
    let stop = stop_on_signals()?;
    // The periodic audit: its thread only sends to the output thread, and
    // ends when that one is gone or the run stops.
    let injected = match config.audit.interval {
        Some(interval) => {
            if rules.load().expected.is_empty() {
                return Err(CommandError::Usage(
                    "--audit-every needs the zones to audit: give --expect FILE".into(),
                ));
            }
            let (tx, rx) = crossbeam_channel::bounded(4);
            let periodic = crate::audit::periodic::Periodic {
                interval,
                grace: config.audit.consistency_grace,
                options: audit_options(&config.audit)?,
                rules: Arc::clone(&rules),
                targets: config.outputs.clone(),
                tx,
                stop: Arc::clone(&stop),
            };
            std::thread::Builder::new()
                .name("audit".into())
                .spawn(move || crate::audit::periodic::run(periodic))
                .map_err(io_error("cannot start the audit thread"))?;
            Some(rx)
        }
        None => None,
    };
    let run_config = RunConfig {
        inputs: Inputs::Live {
            interfaces: live.interfaces.clone(),
            options: live.capture.clone(),
            health: live.health,
        },
        rules,
        dns_ports: config.dns_ports.clone(),
        threads: config.threads,
        outputs: config.outputs.clone(),
        progress: false,
        metrics,
        rule_stats,
        stop,
        after_open,
        suppress: config.suppress,
        reopen: Some(reopen_rx),
        injected,
    };
    let status = finish(run(run_config), &config, stats);
    drop(reload);
    status
}

/// `dnsentry audit`: asks the zones' parent and authoritative servers and
/// writes what the answers raise. `Partial` when a question got no answer.
pub fn audit(args: &AuditArgs) -> Result<Status, CommandError> {
    use crate::audit::{audit, report};
    let started = std::time::Instant::now();
    let config = Config::build(&args.common, &LiveFlags::default(), &args.audit)?;
    let loaded = load_rules(&config.rules)?;
    if loaded.expected.is_empty() {
        return Err(CommandError::Usage(
            "audit needs the zones to audit: give --expect FILE (or expect files in the config)"
                .into(),
        ));
    }
    if args.audit.audit_every.is_some() || args.audit.consistency_grace.is_some() {
        return Err(CommandError::Usage(
            "--audit-every and --consistency-grace are for live: audit asks once, and raises servers that disagree at once".into(),
        ));
    }
    let options = audit_options(&config.audit)?(started);
    // Outputs open before anything is asked: an unwritable one fails now.
    let stats = WholeFile::open_stats(&config, &[])?;
    let outputs = crate::output::OutputSet::open(&config.outputs)
        .map_err(|e| CommandError::Pipeline(PipelineError::Output(e)))?;
    let rules = shared(loaded);
    let result = audit(&rules.load().expected, &options);
    let failed = result.failed + result.not_asked > 0;
    let (summary, written) = report::write(
        result,
        &rules,
        &config.outputs,
        outputs,
        i64::try_from(config.suppress.as_micros()).unwrap_or(i64::MAX),
        started.elapsed().as_secs_f64(),
    );
    let outcome = written.map(|()| RunOutcome {
        summary,
        input_errors: Vec::new(),
    });
    let status = finish(outcome.map_err(PipelineError::Output), &config, stats)?;
    Ok(if failed { Status::Partial } else { status })
}

/// What builds the options of one audit starting at an instant: the root
/// hints and resolvers are read once, now, so a bad file fails the command
/// before anything runs.
fn audit_options(
    a: &crate::config::AuditConfig,
) -> Result<Box<dyn Fn(std::time::Instant) -> crate::audit::AuditOptions + Send>, CommandError> {
    use crate::audit::client::ClientOptions;
    use crate::audit::hints;
    let roots = match &a.root_hints {
        Some(path) => hints::load(path)?,
        None => hints::parse(hints::BUILTIN_NAME, hints::BUILTIN)?,
    };
    let resolvers = match &a.resolvers {
        Some(r) => r.clone(),
        None => crate::audit::resolvconf::load(&a.resolv_conf)?,
    };
    let a = a.clone();
    Ok(Box::new(move |started| crate::audit::AuditOptions {
        roots: roots.clone(),
        parent_servers: a.parent_servers.clone(),
        names: a.names.clone(),
        resolvers: resolvers.clone(),
        client: ClientOptions {
            timeout: a.timeout,
            retries: a.retries,
            rate: a.rate,
        },
        port: 53,
        deadline: started + a.max_duration,
    }))
}

/// A file a command writes whole when it ends (`--stats-json`, a
/// learned or merged expect file), opened before the command's work with
/// the output files' checks and written with [`fsutil::replace_contents`].
struct WholeFile {
    /// What the errors call it: "PATH: cannot write stats".
    what: String,
    file: std::fs::File,
}

impl WholeFile {
    fn open(path: &Path, mode: u32, what: &str) -> Result<Self, CommandError> {
        let what = format!("{}: cannot write {what}", path.display());
        match fsutil::open_output(path, mode) {
            Ok(file) => Ok(WholeFile { what, file }),
            Err(e) => Err(CommandError::Io {
                what,
                source: std::io::Error::other(e),
            }),
        }
    }

    /// `--stats-json`, which must not be an output or an input: it is
    /// replaced whole at the end, and would take the alerts or the
    /// capture with it.
    fn open_stats(config: &Config, inputs: &[PathBuf]) -> Result<Option<Self>, CommandError> {
        let Some(path) = config.stats_json.as_deref() else {
            return Ok(None);
        };
        let stats = WholeFile::open(path, config.outputs.file_mode, "stats")?;
        let outputs = [
            (Some(&config.outputs.alerts), "--alerts"),
            (config.outputs.dns_log.as_ref(), "--dns-log"),
            (config.outputs.weird_log.as_ref(), "--weird-log"),
        ];
        for (target, flag) in outputs {
            if let Some(Target::File(other)) = target {
                stats.refuse_if_same(other, &format!("the {flag} file"))?;
            }
        }
        stats.refuse_if_inputs(inputs)?;
        Ok(Some(stats))
    }

    /// An error when `other` is this very file (by device and inode, so
    /// another spelling of the path or a link to it is caught too).
    fn refuse_if_same(&self, other: &Path, what: &str) -> Result<(), CommandError> {
        use std::os::unix::fs::MetadataExt;
        let (Ok(mine), Ok(theirs)) = (self.file.metadata(), std::fs::metadata(other)) else {
            return Ok(());
        };
        if mine.dev() == theirs.dev() && mine.ino() == theirs.ino() {
            return Err(CommandError::Usage(format!(
                "{}: is also {what} ({}); it is replaced whole at the end and would destroy it",
                self.what,
                other.display()
            )));
        }
        Ok(())
    }

    fn refuse_if_inputs(&self, inputs: &[PathBuf]) -> Result<(), CommandError> {
        inputs
            .iter()
            .try_for_each(|input| self.refuse_if_same(input, "an input"))
    }

    fn write(mut self, bytes: &[u8]) -> Result<(), CommandError> {
        fsutil::replace_contents(&mut self.file, bytes).map_err(io_error(self.what))
    }
}

/// The summary, `--stats-json`, and the exit status of a run.
fn finish(
    result: Result<RunOutcome, PipelineError>,
    config: &Config,
    stats: Option<WholeFile>,
) -> Result<Status, CommandError> {
    let outcome = match result {
        Ok(o) => o,
        Err(PipelineError::Output(e @ OutputError::Write { .. })) => {
            eprintln!("dnsentry: error: {}", escape_text(&e.to_string()));
            return Ok(Status::Partial);
        }
        Err(e) => return Err(e.into()),
    };
    if !config.quiet {
        eprint!("{}", outcome.summary.render());
    }
    if let Some(file) = stats {
        let json = crate::output::json::to_string_pretty(&outcome.summary).map_err(|e| {
            CommandError::Io {
                what: file.what.clone(),
                source: e.into(),
            }
        })?;
        file.write((json + "\n").as_bytes())?;
    }
    let mut status = Status::Ok;
    for e in &outcome.input_errors {
        eprintln!("dnsentry: error: {}", escape_text(&e.to_string()));
        status = Status::Partial;
    }
    for o in outcome.summary.outputs.iter().filter(|o| o.lost() > 0) {
        eprintln!(
            "dnsentry: error: {}: {} message(s) lost ({} evicted from a full backlog, {} dropped)",
            escape_text(&o.name),
            o.lost(),
            o.evicted,
            o.dropped
        );
        status = Status::Partial;
    }
    Ok(status)
}

/// `dnsentry check`: the same build as a run, then every rule file read
/// and every error reported, what the valid ones hold printed. `Partial`
/// when anything is invalid.
pub fn check(args: &CheckArgs) -> Result<Status, CommandError> {
    let mut errors: Vec<String> = Vec::new();
    let flags = CommonArgs {
        config: args.config.clone(),
        rules: args.rules.clone(),
        ..CommonArgs::default()
    };
    let config = match Config::build_all(&flags, &LiveFlags::default(), &AuditFlags::default()) {
        Ok(c) => Some(c),
        Err(all) => {
            errors.extend(all.iter().map(ToString::to_string));
            None
        }
    };
    if let (Some(path), Some(c)) = (&args.config, &config) {
        println!(
            "{}: config ok (interfaces: {})",
            escape_path(path),
            if c.live.interfaces.is_empty() {
                "none".to_string()
            } else {
                escape_text(&c.live.interfaces.join(", ")).into_owned()
            }
        );
    }
    // A config that did not build still has its rule files checked, as
    // far as the flags name them.
    let sources = config.as_ref().map_or_else(
        || rule_sources(&args.rules, &crate::config::file::FileConfig::default()),
        |c| c.rules.clone(),
    );
    let (rules, report) = load_all(&sources);
    for f in &report.files {
        println!("{}", f.render());
    }
    if !args.seen.is_empty() {
        print_allow_usage(&rules, &args.seen, &mut errors);
    }
    for w in &report.warnings {
        eprintln!("{}", w.as_warning());
    }
    errors.extend(report.errors.iter().map(ToString::to_string));
    if let Some(user) = config.as_ref().and_then(|c| c.live.user.as_ref()) {
        match unreadable_by(&sources, user) {
            Ok(blocked) => errors.extend(blocked.iter().map(ToString::to_string)),
            Err(e) => errors.push(e),
        }
    }
    if let Some(hints) = config.as_ref().and_then(|c| c.audit.root_hints.as_ref()) {
        match crate::audit::hints::load(hints) {
            Ok(servers) => println!(
                "{}: root hints ok ({} root server addresses)",
                escape_path(hints),
                servers.len()
            ),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if let (Some(path), Some(c)) = (&args.config, &config) {
        for spec in &c.outputs.syslog {
            match spec.check_files() {
                Ok(()) => println!(
                    "{}: syslog {}",
                    escape_path(path),
                    escape_text(&spec.describe())
                ),
                Err(e) => errors.push(format!("{}: {e}", path.display())),
            }
        }
    }
    // Errors quote what the files hold: escaped, as every output is.
    for e in &errors {
        eprintln!("{}", escape_text(e));
    }
    Ok(if errors.is_empty() {
        Status::Ok
    } else {
        Status::Partial
    })
}

/// Each allow entry against the counts of earlier runs (`check --seen`).
fn print_allow_usage(rules: &crate::rules::Rules, stats: &[PathBuf], errors: &mut Vec<String>) {
    use crate::rules::allow_usage::{Usage, read_run_counts, usage};
    let mut runs = Vec::new();
    for path in stats {
        match read_run_counts(path) {
            Ok(r) => runs.push(r),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if runs.is_empty() {
        return;
    }
    let names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
    println!(
        "allow entries against {} run(s) ({}):",
        runs.len(),
        escape_text(&names.join(", "))
    );
    let entries = rules.allow_entries.entries();
    if entries.is_empty() {
        println!("  no allow entries in use");
    }
    for e in entries {
        let verdict = match usage(e, &runs) {
            Usage::Allowed(n) => format!("held back {n} alert(s)"),
            Usage::Nothing { runs } => {
                format!("matched nothing in {runs} run(s): still needed?")
            }
            Usage::NotInUse => "in no run's counts (added since, or not loaded there)".into(),
        };
        println!(
            "  {} ({}): {verdict}",
            escape_text(&e.label),
            escape_text(&e.reason)
        );
    }
}

fn ports_or_default(ports: &[u16]) -> Vec<u16> {
    if ports.is_empty() {
        DEFAULT_DNS_PORTS.to_vec()
    } else {
        ports.to_vec()
    }
}

/// Every response of the baseline input (files, or an interface for a
/// while) through `f`; returns how many inputs there were.
fn baseline_responses(
    input: &BaselineInput,
    ports: &[u16],
    f: impl FnMut(&DnsResponse),
) -> Result<usize, CommandError> {
    use crate::baseline::{capture_responses, read_responses};
    match &input.interface {
        Some(iface) => {
            let duration =
                parse_duration(&input.duration).map_err(|problem| ConfigError::Flag {
                    flag: "--duration",
                    value: input.duration.clone(),
                    problem,
                })?;
            let options = LiveOptions {
                dns_ports: ports.to_vec(),
                ..LiveOptions::default()
            };
            let stop = stop_on_signals()?;
            capture_responses(iface, &options, duration, &stop, f)?;
            Ok(1)
        }
        None => {
            for p in &input.captures {
                crate::capture::offline::probe(p)?;
            }
            read_responses(&input.captures, ports, f)?;
            Ok(input.captures.len())
        }
    }
}

/// The feeds a baseline command screens values against.
fn baseline_screen(
    ioc: &[PathBuf],
    allow: &[PathBuf],
    no_default_ioc: bool,
) -> Result<crate::baseline::Screen, CommandError> {
    let rules = load_rules(&crate::rules::RuleSources {
        builtin_feed: !no_default_ioc,
        ioc_files: ioc.to_vec(),
        allow_files: allow.to_vec(),
        ..Default::default()
    })?;
    Ok(crate::baseline::Screen {
        ioc: rules.ioc,
        allow: rules.allow,
    })
}

/// `dnsentry baseline learn`.
pub fn learn(args: &LearnArgs) -> Result<Status, CommandError> {
    use crate::baseline::{LearnOptions, Learner, indicator_hits, to_expect_toml};
    // The feeds are read first: a bad one stops before any capture is.
    let screen = baseline_screen(&args.ioc, &args.allow, args.no_default_ioc)?;
    // The output too: a learning run on an interface may last days.
    let output = match args.output.as_str() {
        "-" => None,
        path => {
            let file = WholeFile::open(
                Path::new(path),
                fsutil::DEFAULT_OUTPUT_MODE,
                "the learned expect file",
            )?;
            file.refuse_if_inputs(&args.input.captures)?;
            Some(file)
        }
    };
    let mut learner = Learner::new(args.zones.iter().map(String::as_str));
    let inputs = baseline_responses(&args.input, &ports_or_default(&args.dns_ports), |r| {
        learner.observe(r)
    })?;
    let opts = LearnOptions {
        aggregate: args.aggregate.then_some((24, 48)),
    };
    for hit in indicator_hits(&learner, &screen) {
        eprintln!(
            "dnsentry: warning: indicator hit, not learned (listed as a comment): {}",
            hit.describe()
        );
    }
    warn_refused(&learner);
    let learned = to_expect_toml(&learner, opts, inputs, &screen);
    if !learned.review.is_empty() {
        eprintln!(
            "dnsentry: {} learned value(s) marked REVIEW in the file:",
            learned.review.len()
        );
        for line in learned.review.iter().take(REVIEW_LINES_SHOWN) {
            eprintln!("dnsentry:   {line}");
        }
        if learned.review.len() > REVIEW_LINES_SHOWN {
            eprintln!(
                "dnsentry:   and {} more",
                learned.review.len() - REVIEW_LINES_SHOWN
            );
        }
    }
    match output {
        None => print!("{}", learned.toml),
        Some(file) => file.write(learned.toml.as_bytes())?,
    }
    Ok(Status::Ok)
}

/// Says on stderr that the learner's bound bit: what it learned is
/// incomplete, and the traffic was likely not an ordinary network's.
fn warn_refused(learner: &crate::baseline::Learner) {
    if learner.refused() > 0 {
        eprintln!(
            "dnsentry: warning: {} value(s) and name(s) not recorded: the learner keeps at most {} (a flood of distinct values?); what follows is incomplete",
            learner.refused(),
            crate::baseline::MAX_LEARNED_ENTRIES
        );
    }
}

/// Values marked for review that `baseline learn` names on stderr; the
/// file marks them all.
const REVIEW_LINES_SHOWN: usize = 20;

/// `dnsentry baseline diff`.
pub fn diff(args: &DiffArgs) -> Result<Status, CommandError> {
    use crate::baseline::{ExpectSource, Learner, diff, merged_expect_file, render_diff};
    let (text, expected) = crate::expect::load_expect_file_text(&args.expect)?;
    let screen = baseline_screen(&args.ioc, &args.allow, args.no_default_ioc)?;
    let merged_output = args
        .write_merged
        .as_deref()
        .map(|path| WholeFile::open(path, fsutil::DEFAULT_OUTPUT_MODE, "the merged expect file"))
        .transpose()?;
    if let Some(file) = &merged_output {
        // The expect file itself may be rewritten: its text is read.
        file.refuse_if_inputs(&args.input.captures)?;
    }
    let names: Vec<String> = expected.zones().map(|z| z.name.to_string()).collect();
    let mut learner = Learner::new(names.iter().map(String::as_str));
    baseline_responses(&args.input, &ports_or_default(&args.dns_ports), |r| {
        learner.observe(r)
    })?;
    warn_refused(&learner);
    let path = args.expect.display().to_string();
    let source = ExpectSource {
        path: &path,
        text: &text,
    };
    let changes = diff(&expected, Some(source), &learner, &screen);
    print!("{}", render_diff(&changes));
    if let Some(file) = merged_output {
        let what = match &args.input.interface {
            Some(iface) => format!("traffic on {iface}"),
            None => args
                .input
                .captures
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        };
        file.write(merged_expect_file(&text, &changes, &what).as_bytes())?;
    }
    Ok(if changes.is_empty() {
        Status::Ok
    } else {
        Status::Partial
    })
}

/// `report`: alert files in, one HTML page out.
pub fn report(args: &ReportArgs) -> Result<Status, CommandError> {
    let inputs = ReportInputs {
        alerts: args.alerts.clone(),
        dns_logs: args.dns_logs.clone(),
        expect: args.expect.clone(),
    };
    let written = write_report(&inputs, &args.output)?;
    eprintln!(
        "dnsentry: report {}: {} alerts, {} hijacked names, {} sensor events, {} bytes",
        escape_path(&args.output),
        written.alerts,
        written.hijacked_names,
        written.sensor_events,
        written.bytes
    );
    Ok(Status::Ok)
}
