//! The `dnsentry` binary: flags (and `--config`) in, exit status out. All
//! work is in the library.

mod cli;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use tracing_subscriber::EnvFilter;

use cli::{
    AnalyzeArgs, BaselineCommand, CheckArgs, Cli, Command, CommonArgs, DiffArgs, LearnArgs,
    LiveArgs, RuleArgs, SyslogArgs,
};
use dnsentry::capture::live::{LiveOptions, list_interfaces};
use dnsentry::config::{
    BUILTIN_FEED, BUILTIN_FEED_NAME, FileConfig, RuleSources, load_config_file, load_rules,
};
use dnsentry::expect::load_expect_file;
use dnsentry::health::HealthOptions;
use dnsentry::ioc::{IndicatorType, load_feed_file, parse_feed};
use dnsentry::matcher::{SharedRules, shared};
use dnsentry::output::syslog::{DeliveryOptions, SyslogSettings, SyslogSpec};
use dnsentry::output::{OutputTargets, Target, metrics};
use dnsentry::pipeline::{Inputs, PipelineError, RunConfig, RunOutcome, run};

/// Every input analysed.
const EXIT_OK: u8 = 0;
/// The run finished, but an input or output failed part-way (or, for
/// `check`, a file is invalid).
const EXIT_PARTIAL: u8 = 1;
/// Nothing ran.
const EXIT_NOT_RUN: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let result = match cli.command {
        Command::Analyze(args) => run_analyze(args),
        Command::Live(args) => run_live(args),
        Command::Check(args) => run_check(args),
        Command::Baseline(BaselineCommand::Learn(args)) => run_learn(args),
        Command::Baseline(BaselineCommand::Diff(args)) => run_diff(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("dnsentry: error: {e:#}");
            ExitCode::from(EXIT_NOT_RUN)
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// Settings shared by `analyze` and `live`, after flags override the file.
struct Settings {
    rules: RuleSources,
    outputs: OutputTargets,
    dns_ports: Vec<u16>,
    threads: usize,
    stats_json: Option<PathBuf>,
    quiet: bool,
    suppress: Duration,
}

fn load_file_config(path: Option<&PathBuf>) -> anyhow::Result<FileConfig> {
    Ok(match path {
        Some(p) => load_config_file(p)?,
        None => FileConfig::default(),
    })
}

/// The rules named by flags, or else by the config file.
fn rule_sources(args: &RuleArgs, file: &FileConfig) -> RuleSources {
    let pick = |flag: &Vec<PathBuf>, file: &Vec<PathBuf>| {
        if flag.is_empty() {
            file.clone()
        } else {
            flag.clone()
        }
    };
    RuleSources {
        builtin_feed: !(args.no_default_ioc || file.rules.no_default_ioc.unwrap_or(false)),
        ioc_files: pick(&args.ioc, &file.rules.ioc),
        allow_files: pick(&args.allow, &file.rules.allow),
        expect_files: pick(&args.expect, &file.rules.expect),
    }
}

/// "1h", "90s", "0": the suppression window.
fn parse_window(s: &str) -> anyhow::Result<Duration> {
    if s.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(s.trim())
        .with_context(|| format!("suppression window {s:?}: expected e.g. 1h, 10m, 30s or 0"))
}

fn settings(c: &CommonArgs, file: &FileConfig) -> anyhow::Result<Settings> {
    let o = &file.outputs;
    let dns_ports = if !c.dns_ports.is_empty() {
        c.dns_ports.clone()
    } else if !file.capture.dns_ports.is_empty() {
        file.capture.dns_ports.clone()
    } else {
        vec![53]
    };
    let threads = match c.threads.or(file.run.threads) {
        Some(n) => usize::from(n),
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let suppress = match c.suppress.as_deref().or(file.run.suppress.as_deref()) {
        Some(s) => parse_window(s)?,
        None => Duration::from_secs(3600),
    };
    Ok(Settings {
        rules: rule_sources(&c.rules, file),
        outputs: OutputTargets {
            alerts: Target::parse(c.alerts.as_deref().or(o.alerts.as_deref()).unwrap_or("-")),
            dns_log: c
                .dns_log
                .as_deref()
                .or(o.dns_log.as_deref())
                .map(Target::parse),
            weird_log: c
                .weird_log
                .as_deref()
                .or(o.weird_log.as_deref())
                .map(Target::parse),
            syslog: syslog_specs(&c.syslog, file)?,
            delivery: delivery_options(&c.syslog, file),
        },
        dns_ports,
        threads,
        stats_json: c.stats_json.clone().or_else(|| o.stats_json.clone()),
        quiet: c.quiet,
        suppress,
    })
}

/// The syslog destinations: from `--syslog` when given, else from the
/// config file's tables; the `--syslog-*` flags fill in what a destination
/// leaves unset.
fn syslog_specs(a: &SyslogArgs, file: &FileConfig) -> anyhow::Result<Vec<SyslogSpec>> {
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
    };
    let tables: Vec<SyslogSettings> = if a.urls.is_empty() {
        file.outputs.syslog.clone()
    } else {
        a.urls
            .iter()
            .map(|u| SyslogSettings {
                url: Some(u.clone()),
                ..SyslogSettings::default()
            })
            .collect()
    };
    Ok(tables
        .iter()
        .map(|t| SyslogSpec::new(&t.or(&defaults)))
        .collect::<Result<_, _>>()?)
}

fn delivery_options(a: &SyslogArgs, file: &FileConfig) -> DeliveryOptions {
    let o = &file.outputs;
    let d = DeliveryOptions::default();
    DeliveryOptions {
        spool_dir: a.spool_dir.clone().or_else(|| o.spool_dir.clone()),
        spool_max_bytes: a
            .spool_max_mb
            .or(o.spool_max_mb)
            .map_or(d.spool_max_bytes, |mb| mb.saturating_mul(1 << 20)),
        flush_timeout: a
            .flush_timeout
            .or(o.syslog_flush_timeout)
            .map_or(d.flush_timeout, Duration::from_secs),
        ..d
    }
}

/// SIGINT and SIGTERM set `stop`: capture ends, the pipeline drains, every
/// output is flushed. A second SIGINT while stopping exits at once.
fn stop_on_signals() -> anyhow::Result<Arc<AtomicBool>> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    use signal_hook::flag;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [SIGINT, SIGTERM] {
        flag::register_conditional_shutdown(sig, 1, Arc::clone(&stop))?;
        flag::register(sig, Arc::clone(&stop))?;
    }
    Ok(stop)
}

fn run_analyze(args: AnalyzeArgs) -> anyhow::Result<u8> {
    let file = load_file_config(args.common.config.as_ref())?;
    let s = settings(&args.common, &file)?;
    let rules = load_rules(&s.rules)?;
    let cfg = RunConfig {
        inputs: Inputs::Files(args.captures.clone()),
        rules: shared(rules),
        dns_ports: s.dns_ports.clone(),
        threads: s.threads,
        outputs: s.outputs.clone(),
        progress: !args.no_progress && !s.quiet,
        metrics: None,
        stop: stop_on_signals()?,
        after_open: None,
        suppress: s.suppress,
    };
    finish(run(cfg), &s)
}

fn run_live(args: LiveArgs) -> anyhow::Result<u8> {
    if args.list_interfaces {
        for (name, desc) in list_interfaces()? {
            println!("{name}\t{desc}");
        }
        return Ok(EXIT_OK);
    }
    let file = load_file_config(args.common.config.as_ref())?;
    let mut s = settings(&args.common, &file)?;
    // Capture never waits for a SIEM: a full queue drops, counted.
    s.outputs.delivery.backpressure = false;
    let interfaces = if args.interfaces.is_empty() {
        file.capture.interfaces.clone()
    } else {
        args.interfaces.clone()
    };
    anyhow::ensure!(
        !interfaces.is_empty(),
        "no interface: give -i IFACE (see --list-interfaces) or capture.interfaces in the config"
    );
    let defaults = LiveOptions::default();
    let fc = &file.capture;
    let options = LiveOptions {
        snaplen: args.snaplen.or(fc.snaplen).unwrap_or(defaults.snaplen),
        buffer_mb: args
            .buffer_mb
            .or(fc.buffer_mb)
            .unwrap_or(defaults.buffer_mb),
        immediate: args.immediate || fc.immediate.unwrap_or(defaults.immediate),
        promisc: true,
        bpf: args.bpf.clone().or_else(|| fc.bpf.clone()),
        dns_ports: s.dns_ports.clone(),
    };
    let hd = HealthOptions::default();
    let fh = &file.health;
    let loss_threshold = args
        .loss_threshold
        .or(fh.loss_threshold)
        .unwrap_or(hd.loss_threshold);
    anyhow::ensure!(
        (0.0..=1.0).contains(&loss_threshold),
        "--loss-threshold {loss_threshold} is not between 0 and 1"
    );
    let health = HealthOptions {
        interval: args
            .stats_interval
            .or(fh.stats_interval)
            .map_or(hd.interval, Duration::from_secs)
            .max(Duration::from_secs(1)),
        loss_threshold,
        stall_after: args
            .stall_timeout
            .or(fh.stall_timeout)
            .map_or(hd.stall_after, Duration::from_secs),
    };
    let metrics_addr = match args.metrics {
        Some(a) => Some(a),
        None => fh.metrics.as_deref().map(str::parse).transpose()?,
    };
    // Bound now: a bad address fails before the run, and a privileged port
    // is bound before privileges are dropped.
    let metrics = metrics_addr
        .map(|a| metrics::bind(a).with_context(|| format!("--metrics {a}: cannot listen")))
        .transpose()?;
    let user = args.user.clone().or_else(|| file.run.user.clone());
    let after_open = user.map(|u| {
        let spool: Vec<PathBuf> = s.outputs.delivery.spool_dir.iter().cloned().collect();
        Box::new(move || dnsentry::privilege::drop_to(&u, &spool)) as dnsentry::pipeline::AfterOpen
    });

    let rules = shared(load_rules(&s.rules)?);
    let hup = reload_on_sighup(s.rules.clone(), Arc::clone(&rules))?;
    let watcher = reload_on_change(s.rules.clone(), Arc::clone(&rules))?;
    let cfg = RunConfig {
        inputs: Inputs::Live {
            interfaces,
            options,
            health,
        },
        rules,
        dns_ports: s.dns_ports.clone(),
        threads: s.threads,
        outputs: s.outputs.clone(),
        progress: false,
        metrics,
        stop: stop_on_signals()?,
        after_open,
        suppress: s.suppress,
    };
    let result = finish(run(cfg), &s);
    hup.close();
    drop(watcher);
    result
}

/// Rebuilds the rules from their files and swaps them in whole; a file
/// that fails keeps the old rules and logs one error with file and line.
fn reload(sources: &RuleSources, rules: &SharedRules, why: &str) {
    match load_rules(sources) {
        Ok(new) => {
            tracing::warn!(
                why,
                indicators = new.ioc.len(),
                allowed = new.allow.len(),
                zones = new.expected.len(),
                "Reloaded rules"
            );
            rules.store(Arc::new(new));
        }
        Err(e) => tracing::error!(why, "Reload failed, keeping the previous rules: {e}"),
    }
}

/// SIGHUP reloads every feed, allowlist and expect file.
fn reload_on_sighup(
    sources: RuleSources,
    rules: SharedRules,
) -> anyhow::Result<signal_hook::iterator::Handle> {
    let mut signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGHUP])?;
    let handle = signals.handle();
    std::thread::Builder::new()
        .name("reload".into())
        .spawn(move || {
            for _ in signals.forever() {
                reload(&sources, &rules, "SIGHUP");
            }
        })?;
    Ok(handle)
}

/// A change on disk to any rule file reloads too. The directories are
/// watched, not the files, so that a feed replaced by rename (how feed
/// updaters write atomically) is seen; events are gathered for half a
/// second so that one update reloads once.
fn reload_on_change(
    sources: RuleSources,
    rules: SharedRules,
) -> anyhow::Result<notify::RecommendedWatcher> {
    use notify::{RecursiveMode, Watcher};
    let files: Vec<PathBuf> = sources
        .ioc_files
        .iter()
        .chain(&sources.allow_files)
        .chain(&sources.expect_files)
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
        .collect();
    let (tx, rx) = crossbeam_channel::unbounded();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let _ = tx.send(event);
    })?;
    let mut dirs: Vec<PathBuf> = files
        .iter()
        .filter_map(|f| f.parent().map(std::path::Path::to_path_buf))
        .collect();
    dirs.sort();
    dirs.dedup();
    for d in &dirs {
        watcher
            .watch(d, RecursiveMode::NonRecursive)
            .with_context(|| format!("{}: cannot watch for changes", d.display()))?;
    }
    std::thread::Builder::new()
        .name("watch".into())
        .spawn(move || {
            let touches = |e: &notify::Event| {
                !e.kind.is_access() && e.paths.iter().any(|p| files.contains(p))
            };
            while let Ok(event) = rx.recv() {
                let Ok(event) = event else { continue };
                if !touches(&event) {
                    continue;
                }
                // Let the writer finish, and fold its burst of events.
                std::thread::sleep(Duration::from_millis(500));
                while rx.try_recv().is_ok() {}
                reload(&sources, &rules, "file changed");
            }
        })?;
    Ok(watcher)
}

fn finish(result: Result<RunOutcome, PipelineError>, s: &Settings) -> anyhow::Result<u8> {
    let outcome = match result {
        Ok(o) => o,
        Err(PipelineError::Output(e @ dnsentry::output::OutputError::Write { .. })) => {
            eprintln!("dnsentry: error: {e}");
            return Ok(EXIT_PARTIAL);
        }
        Err(e) => return Err(e.into()),
    };
    if !s.quiet {
        eprint!("{}", outcome.summary.render());
    }
    if let Some(path) = &s.stats_json {
        let json = serde_json::to_string_pretty(&outcome.summary)?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("{}: cannot write stats", path.display()))?;
    }
    let mut code = EXIT_OK;
    for e in &outcome.input_errors {
        eprintln!("dnsentry: error: {e}");
        code = EXIT_PARTIAL;
    }
    for o in outcome.summary.outputs.iter().filter(|o| o.lost() > 0) {
        eprintln!(
            "dnsentry: error: {}: {} message(s) lost ({} evicted from a full backlog, {} dropped)",
            o.name,
            o.lost(),
            o.evicted,
            o.dropped
        );
        code = EXIT_PARTIAL;
    }
    Ok(code)
}

/// `dnsentry check`: every file is read, every error reported, what the
/// valid ones hold printed. Exit 0 when all are valid, 1 otherwise.
fn run_check(args: CheckArgs) -> anyhow::Result<u8> {
    let mut errors: Vec<String> = Vec::new();
    let file = match &args.config {
        Some(p) => match load_config_file(p) {
            Ok(c) => {
                println!(
                    "{}: config ok (interfaces: {})",
                    p.display(),
                    if c.capture.interfaces.is_empty() {
                        "none".to_string()
                    } else {
                        c.capture.interfaces.join(", ")
                    }
                );
                c
            }
            Err(e) => {
                errors.push(e.to_string());
                FileConfig::default()
            }
        },
        None => FileConfig::default(),
    };
    let sources = rule_sources(&args.rules, &file);
    let describe = |name: &str, inds: &[dnsentry::ioc::Indicator], skipped: u64| {
        let mut by_type: BTreeMap<&str, usize> = BTreeMap::new();
        for i in inds {
            *by_type.entry(i.kind.as_str()).or_default() += 1;
        }
        let types: Vec<String> = [
            IndicatorType::Ipv4,
            IndicatorType::Ipv6,
            IndicatorType::Cidr,
            IndicatorType::Domain,
        ]
        .iter()
        .filter_map(|t| {
            by_type
                .get(t.as_str())
                .map(|n| format!("{n} {}", t.as_str()))
        })
        .collect();
        let mut line = format!("{name}: {} indicators ({})", inds.len(), types.join(", "));
        if skipped > 0 {
            line.push_str(&format!(", {skipped} rows of other types skipped"));
        }
        println!("{line}");
    };
    if sources.builtin_feed {
        match parse_feed(BUILTIN_FEED_NAME, BUILTIN_FEED) {
            Ok(f) => describe(BUILTIN_FEED_NAME, &f.indicators, f.skipped),
            Err(e) => errors.push(e.to_string()),
        }
    }
    for p in &sources.ioc_files {
        match load_feed_file(p) {
            Ok(f) => describe(&p.display().to_string(), &f.indicators, f.skipped),
            Err(e) => errors.push(e.to_string()),
        }
    }
    for p in &sources.allow_files {
        match load_feed_file(p) {
            Ok(f) => describe(
                &format!("{} (allowlist)", p.display()),
                &f.indicators,
                f.skipped,
            ),
            Err(e) => errors.push(e.to_string()),
        }
    }
    for p in &sources.expect_files {
        match load_expect_file(p) {
            Ok(z) => {
                println!("{}: {} zone(s)", p.display(), z.len());
                let mut zones: Vec<_> = z.zones().collect();
                zones.sort_by(|a, b| a.name.cmp(&b.name));
                for zone in zones {
                    println!("  {}", zone.describe());
                }
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    if let Some(cfg_path) = &args.config {
        for t in &file.outputs.syslog {
            match SyslogSpec::new(t).and_then(|spec| spec.check_files().map(|()| spec)) {
                Ok(spec) => println!("{}: syslog {}", cfg_path.display(), spec.describe()),
                Err(e) => errors.push(format!("{}: {e}", cfg_path.display())),
            }
        }
    }
    for e in &errors {
        eprintln!("{e}");
    }
    Ok(if errors.is_empty() {
        EXIT_OK
    } else {
        EXIT_PARTIAL
    })
}

fn ports_or_default(ports: &[u16]) -> Vec<u16> {
    if ports.is_empty() {
        vec![53]
    } else {
        ports.to_vec()
    }
}

/// Every response of the baseline input (files, or an interface for a
/// while) through `f`.
fn baseline_responses(
    input: &cli::BaselineInput,
    ports: &[u16],
    f: impl FnMut(&dnsentry::DnsResponse),
) -> anyhow::Result<usize> {
    use dnsentry::baseline::{capture_responses, read_responses};
    match &input.interface {
        Some(iface) => {
            let duration = parse_window(&input.duration)?;
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
                dnsentry::capture::offline::probe(p)?;
            }
            read_responses(&input.captures, ports, f)?;
            Ok(input.captures.len())
        }
    }
}

fn run_learn(args: LearnArgs) -> anyhow::Result<u8> {
    use dnsentry::baseline::{LearnOptions, Learner, to_expect_toml};
    let mut learner = Learner::new(args.zones.iter().map(String::as_str));
    let inputs = baseline_responses(&args.input, &ports_or_default(&args.dns_ports), |r| {
        learner.observe(r)
    })?;
    let opts = LearnOptions {
        aggregate: args.aggregate.then_some((24, 48)),
    };
    let toml = to_expect_toml(&learner, opts, inputs);
    if args.output == "-" {
        print!("{toml}");
    } else {
        std::fs::write(&args.output, toml)
            .with_context(|| format!("{}: cannot write", args.output))?;
    }
    Ok(EXIT_OK)
}

fn run_diff(args: DiffArgs) -> anyhow::Result<u8> {
    use dnsentry::baseline::{Learner, diff, render_diff};
    let expected = load_expect_file(&args.expect)?;
    let names: Vec<String> = expected.zones().map(|z| z.name.to_string()).collect();
    let mut learner = Learner::new(names.iter().map(String::as_str));
    baseline_responses(&args.input, &ports_or_default(&args.dns_ports), |r| {
        learner.observe(r)
    })?;
    let changes = diff(&expected, &learner);
    print!("{}", render_diff(&changes));
    Ok(if changes.is_empty() {
        EXIT_OK
    } else {
        EXIT_PARTIAL
    })
}
