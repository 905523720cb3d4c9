//! Command-line flags, as typed: the raw input of [`super::Config::build`],
//! which merges them with `--config` and validates everything once.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

// `--help` groups options by task under these headings. Each argument
// names its own: a heading set on a flattened struct would carry over to
// the arguments after it.
/// Captures, interfaces to read, DNS ports.
pub const INPUTS: &str = "Inputs";
/// Feeds, allowlists, expect files, zones.
pub const RULES: &str = "Rules";
/// Alerts, DNS and weird logs, summaries, learned files.
pub const OUTPUTS: &str = "Outputs";
/// Alerts to SIEMs over syslog, and their spool.
pub const SIEM: &str = "SIEM (syslog)";
/// How `live` captures.
pub const LIVE_CAPTURE: &str = "Live capture";
/// Health events and metrics of `live`.
pub const HEALTH: &str = "Health";
/// How the process runs: config file, threads, suppression, logging.
pub const RUN: &str = "Run";

#[derive(Debug, Parser)]
#[command(
    name = "dnsentry",
    version,
    about = "Passive DNS sensor that catches DNS infrastructure hijacking (CISA AA19-024A)",
    after_help = "Exit status: 0 = every input analysed; 1 = run finished but an input or output failed part-way \
                  (everything before the failure was analysed and written), or a SIEM output lost messages \
                  (evicted from a full spool, or dropped), or an audit question went unanswered; 2 = nothing ran (bad flags, feed, \
                  expect file, config, capture or interface)."
)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug). RUST_LOG overrides.
    #[arg(help_heading = RUN, short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyse capture files (pcap or pcapng) and print one JSON line per alert.
    Analyze(AnalyzeArgs),
    /// Watch network interfaces (a span or mirror port) until stopped.
    Live(LiveArgs),
    /// Validate feeds, expect files and a config file, and show what they hold.
    Check(CheckArgs),
    /// Learn the expected records of your zones from captures, or diff them against captures.
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// Ask the parent, every authoritative server of your zones (expect files) the questions a hijack changes the answers to, and alert as for captured answers.
    Audit(AuditArgs),
    /// Write one self-contained HTML page of what alert files (native, eve or ecs) show: headline, timeline, per zone, per indicator, hijacked names (with --dns-log their answers before, during and after), sensor health, the alerts.
    Report(ReportArgs),
}

/// How `audit` asks.
pub const AUDIT: &str = "Audit";

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    #[command(flatten)]
    pub audit: AuditFlags,
}

/// How `audit` asks (the config file's `[audit]` table holds the same).
#[derive(Debug, Args, Default)]
pub struct AuditFlags {
    /// Root hints (IANA's named.root layout) iterative resolution starts from. Default: IANA's, compiled in.
    #[arg(help_heading = AUDIT, long, value_name = "FILE")]
    pub root_hints: Option<PathBuf>,

    /// A server of the zones' parent to ask for the delegation (ADDR or ADDR:PORT, IPv6 as `[ADDR]:PORT`) instead of finding them from the root. Repeatable.
    #[arg(help_heading = AUDIT, long = "parent-server", value_name = "ADDR")]
    pub parent_servers: Vec<String>,

    /// One more name to ask about (A, AAAA, CNAME) at its zone's servers. Repeatable.
    #[arg(help_heading = AUDIT, long = "name", value_name = "NAME")]
    pub names: Vec<String>,

    /// A resolver of the organisation's to ask the same questions (recursion desired), ADDR or ADDR:PORT. Repeatable. Default: the nameservers of --resolv-conf.
    #[arg(help_heading = AUDIT, long = "resolver", value_name = "ADDR")]
    pub resolvers: Vec<String>,

    /// Where the default resolvers are read from (its nameserver lines). Default /etc/resolv.conf.
    #[arg(help_heading = AUDIT, long, value_name = "FILE")]
    pub resolv_conf: Option<PathBuf>,

    /// How long to wait for each answer before asking again ("2s", "500ms"). Default 2s.
    #[arg(help_heading = AUDIT, long, value_name = "DURATION")]
    pub server_timeout: Option<String>,

    /// Tries after the first when a server does not answer. Default 2.
    #[arg(help_heading = AUDIT, long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=10))]
    pub retries: Option<u32>,

    /// Most queries per second sent to one server. Default 5.
    #[arg(help_heading = AUDIT, long, value_name = "QPS")]
    pub rate: Option<f64>,

    /// The audit asks nothing after this long ("5m"); what is left is reported not asked. Default 5m.
    #[arg(help_heading = AUDIT, long, value_name = "DURATION")]
    pub max_duration: Option<String>,

    /// live only: audit the expect file's zones at start and then every DURATION ("15m"), into the run's outputs. Default: no audit.
    #[arg(help_heading = AUDIT, long, value_name = "DURATION")]
    pub audit_every: Option<String>,

    /// live only: servers of a zone that disagree (inconsistent_servers) are raised once they have disagreed, the same way, in every audit for this long ("1h"; "0s" at once). Default 1h.
    #[arg(help_heading = AUDIT, long, value_name = "DURATION")]
    pub consistency_grace: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Alert files, in any of dnsentry's formats (native, eve, ecs; told apart by content). Sensor events in them (sensor_health, capture_loss, capture_stalled) make the page's sensor health.
    #[arg(value_name = "ALERTS", required = true)]
    pub alerts: Vec<PathBuf>,

    /// dnsentry's DNS log (any format, from analyze or live --dns-log): show what each hijacked name resolved to before, during and after its alerts. Repeatable (one file each, so the alert files may follow it).
    #[arg(help_heading = INPUTS, long = "dns-log", value_name = "FILE")]
    pub dns_logs: Vec<PathBuf>,

    /// Expected records of your zones (TOML, as analyze takes): the page names monitored zones without alerts, and judges the DNS log's answers against them. Repeatable.
    #[arg(help_heading = INPUTS, long = "expect", value_name = "FILE")]
    pub expect: Vec<PathBuf>,

    /// Where the HTML page goes (replaced if it exists).
    #[arg(help_heading = OUTPUTS, short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Write the expect file the captured traffic implies, each entry commented with how often and when it was seen.
    Learn(LearnArgs),
    /// Show what the captured traffic holds that an expect file does not allow (+), and what it allows but was never seen (-), with the names and times. Exit 1 when anything differs.
    Diff(DiffArgs),
}

/// Where a baseline command reads responses: capture files, or an
/// interface for a while.
#[derive(Debug, Args)]
pub struct BaselineInput {
    /// Capture files, read in the order given.
    #[arg(value_name = "CAPTURE", required_unless_present = "interface")]
    pub captures: Vec<PathBuf>,

    /// Read live traffic on this interface instead of capture files.
    #[arg(help_heading = INPUTS, short = 'i', long, value_name = "IFACE", conflicts_with = "captures")]
    pub interface: Option<String>,

    /// With -i: how long to watch ("1h", "30m"; SIGINT ends it earlier).
    #[arg(
        help_heading = INPUTS,
        long,
        value_name = "DURATION",
        default_value = "1h",
        requires = "interface"
    )]
    pub duration: String,
}

#[derive(Debug, Args)]
pub struct LearnArgs {
    /// A zone to learn (this name and every name under it). Repeatable.
    #[arg(help_heading = RULES, long = "zone", value_name = "NAME", required = true)]
    pub zones: Vec<String>,

    #[command(flatten)]
    pub input: BaselineInput,

    /// Where to write the expect file ("-" = stdout).
    #[arg(help_heading = OUTPUTS, short, long, value_name = "FILE", default_value = "-")]
    pub output: String,

    /// Group addresses into networks (/24 for IPv4, /48 for IPv6) instead of listing each.
    #[arg(help_heading = OUTPUTS, long)]
    pub aggregate: bool,

    /// An IOC feed to screen learned values against (any feed format); the built-in AA19-024A feed is always loaded unless --no-default-ioc. A value a feed lists is never learned. Repeatable.
    #[arg(help_heading = RULES, long = "ioc", value_name = "FILE")]
    pub ioc: Vec<PathBuf>,

    /// An allowlist (any feed format): values it covers are learned even when a feed lists them. Repeatable.
    #[arg(help_heading = RULES, long = "allow", value_name = "FILE")]
    pub allow: Vec<PathBuf>,

    /// Do not screen against the built-in AA19-024A feed.
    #[arg(help_heading = RULES, long)]
    pub no_default_ioc: bool,

    /// Ports carrying DNS (repeatable; default 53).
    #[arg(help_heading = INPUTS, long = "dns-port", value_name = "PORT")]
    pub dns_ports: Vec<u16>,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The expect file to compare against.
    #[arg(value_name = "ZONES")]
    pub expect: PathBuf,

    #[command(flatten)]
    pub input: BaselineInput,

    /// Also write the expect file with every value seen but not allowed added to its list as a comment marked PENDING REVIEW (nothing is allowed until the "# " is removed); a value a feed lists is named as an indicator hit instead.
    #[arg(help_heading = OUTPUTS, long, value_name = "FILE")]
    pub write_merged: Option<PathBuf>,

    /// An IOC feed (any feed format) whose values are marked as indicator hits; the built-in AA19-024A feed is always loaded unless --no-default-ioc. Repeatable.
    #[arg(help_heading = RULES, long = "ioc", value_name = "FILE")]
    pub ioc: Vec<PathBuf>,

    /// An allowlist (any feed format): values it covers are not indicator hits. Repeatable.
    #[arg(help_heading = RULES, long = "allow", value_name = "FILE")]
    pub allow: Vec<PathBuf>,

    /// Do not mark values of the built-in AA19-024A feed.
    #[arg(help_heading = RULES, long)]
    pub no_default_ioc: bool,

    /// Ports carrying DNS (repeatable; default 53).
    #[arg(help_heading = INPUTS, long = "dns-port", value_name = "PORT")]
    pub dns_ports: Vec<u16>,
}

/// Which rules to load.
#[derive(Clone, Debug, Args, Default)]
pub struct RuleArgs {
    /// Add an IOC feed: CSV with `indicator` and `type` columns, or plain text (one indicator per line). Repeatable.
    #[arg(help_heading = RULES, long = "ioc", value_name = "FILE")]
    pub ioc: Vec<PathBuf>,

    /// An allowlist (any feed format): indicators known to be benign raise no alert, whatever feed lists them; a .toml file holds scoped, expiring allow entries for alerts of every kind. Repeatable.
    #[arg(help_heading = RULES, long = "allow", value_name = "FILE")]
    pub allow: Vec<PathBuf>,

    /// Leave out the built-in AA19-024A feed.
    #[arg(help_heading = RULES, long)]
    pub no_default_ioc: bool,

    /// Days after an indicator was last seen or reported (at the packet's time) past which its alerts drop one severity level; 0 never lowers. Default 365.
    #[arg(help_heading = RULES, long = "ioc-max-age", value_name = "DAYS")]
    pub ioc_max_age: Option<u32>,

    /// Expected records of your own zones (TOML). Repeatable.
    #[arg(help_heading = RULES, long = "expect", value_name = "FILE")]
    pub expect: Vec<PathBuf>,
}

/// Where records go, and how the run is shaped.
#[derive(Debug, Args, Default)]
pub struct CommonArgs {
    /// Ports carrying DNS (repeatable; default 53). mDNS (5353) and LLMNR (5355) only when listed.
    #[arg(help_heading = INPUTS, long = "dns-port", value_name = "PORT")]
    pub dns_ports: Vec<u16>,

    #[command(flatten)]
    pub rules: RuleArgs,

    /// Where alerts go, one JSON object per line ("-" = stdout, the default).
    #[arg(help_heading = OUTPUTS, long, value_name = "PATH")]
    pub alerts: Option<String>,

    /// Also write every decoded DNS response as a JSON line ("-" = stdout).
    #[arg(help_heading = OUTPUTS, long, value_name = "PATH")]
    pub dns_log: Option<String>,

    /// Write anomalies (malformed packet, reassembly bound hit) as JSON lines, as Zeek's weird.log, sampled as it is: per name the first 1,000 in ten minutes, then one in 1,000; all are counted ("-" = stdout).
    #[arg(help_heading = OUTPUTS, long, value_name = "PATH")]
    pub weird_log: Option<String>,

    /// Format of the alerts: native (dnsentry's JSON lines, the default), eve (Suricata's EVE JSON) or ecs (Elastic Common Schema).
    #[arg(help_heading = OUTPUTS, long, value_name = "FORMAT")]
    pub alerts_format: Option<String>,

    /// Format of the DNS log: native (the default), eve (Suricata's EVE `dns` events) or ecs (Elastic Common Schema).
    #[arg(help_heading = OUTPUTS, long, value_name = "FORMAT")]
    pub dns_log_format: Option<String>,

    /// The sensor's name in every record of every format (default: the host name).
    #[arg(help_heading = OUTPUTS, long, value_name = "NAME")]
    pub sensor_name: Option<String>,

    /// Mode (octal) of the alerts, DNS-log and weird-log files created, less the umask; never writable by everyone. Default 0640.
    #[arg(help_heading = OUTPUTS, long = "output-mode", value_name = "OCTAL")]
    pub output_mode: Option<String>,

    /// Write the end-of-run summary as JSON to FILE.
    #[arg(help_heading = OUTPUTS, long, value_name = "FILE")]
    pub stats_json: Option<PathBuf>,

    #[command(flatten)]
    pub syslog: SyslogArgs,

    /// Settings from a TOML file (see dnsentry.example.toml); flags override it.
    #[arg(help_heading = RUN, long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Decode-and-match worker threads (default: number of cores).
    #[arg(help_heading = RUN, long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,

    /// Alert once per (kind, owner, value) per this much packet time, then again with the count suppressed ("1h", "10m", "0" = every time). Default 1h.
    #[arg(help_heading = RUN, long, value_name = "DURATION")]
    pub suppress: Option<String>,

    /// Do not print the summary on stderr.
    #[arg(help_heading = RUN, short, long)]
    pub quiet: bool,
}

/// Alerts to SIEMs over syslog. The `--syslog-*` settings apply to every
/// destination; a destination's own settings (URL query, config table) win.
#[derive(Debug, Args, Default)]
pub struct SyslogArgs {
    /// Send alerts and sensor events to a SIEM: udp://HOST:514, tcp://HOST:601 or tls://HOST:6514; per-destination settings as a query (tls://siem:6514?body=cef). Repeatable.
    #[arg(help_heading = SIEM, long = "syslog", value_name = "URL")]
    pub urls: Vec<String>,

    /// Header: 5424 (RFC 5424, default) or 3164 (BSD).
    #[arg(help_heading = SIEM, long = "syslog-format", value_name = "FORMAT")]
    pub format: Option<String>,

    /// Message body: json (the alert line, default), eve (Suricata's EVE JSON), ecs (Elastic Common Schema), cef (ArcSight) or leef (QRadar).
    #[arg(help_heading = SIEM, long = "syslog-body", value_name = "BODY")]
    pub body: Option<String>,

    /// TCP/TLS framing: octet-counting (default) or non-transparent (newline).
    #[arg(help_heading = SIEM, long = "syslog-framing", value_name = "FRAMING")]
    pub framing: Option<String>,

    /// Facility: local0 (default) .. local7, daemon, auth, ... or 0..23.
    #[arg(help_heading = SIEM, long = "syslog-facility", value_name = "FACILITY")]
    pub facility: Option<String>,

    /// CA certificates (PEM) the TLS server's certificate must chain to (default: the system's).
    #[arg(help_heading = SIEM, long = "syslog-ca", value_name = "FILE")]
    pub ca: Option<PathBuf>,

    /// Client certificate (PEM) for TLS servers that require one.
    #[arg(help_heading = SIEM, long = "syslog-cert", value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,

    /// The client certificate's private key (PEM).
    #[arg(help_heading = SIEM, long = "syslog-key", value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,

    /// Name the TLS server's certificate must carry (default: the URL's host).
    #[arg(help_heading = SIEM, long = "syslog-server-name", value_name = "NAME")]
    pub server_name: Option<String>,

    /// Largest UDP message in bytes; longer ones are cut (RFC 5426). Default: what the path MTU allows.
    #[arg(help_heading = SIEM, long = "syslog-udp-max", value_name = "BYTES")]
    pub udp_max: Option<usize>,

    /// Private enterprise number in the structured data's SD-ID (dnsentry@N). Default 32473, RFC 5612's number for documentation: give your organisation's.
    #[arg(help_heading = SIEM, long = "syslog-enterprise-number", value_name = "NUMBER")]
    pub enterprise_number: Option<u32>,

    /// Keep what a SIEM cannot take yet in this directory (one subdirectory per destination); delivered in order when it returns, and by the next run after an exit.
    #[arg(help_heading = SIEM, long = "spool-dir", value_name = "DIR")]
    pub spool_dir: Option<PathBuf>,

    /// Bound of each destination's spool in MiB; when full, the oldest messages are evicted (counted). Default 1024.
    #[arg(help_heading = SIEM, long = "spool-max-mb", value_name = "MIB")]
    pub spool_max_mb: Option<u64>,

    /// Seconds delivery may go on at exit before what is left is spooled (or, without --spool-dir, counted as dropped). Default 10.
    #[arg(help_heading = SIEM, long = "syslog-flush-timeout", value_name = "SECONDS")]
    pub flush_timeout: Option<u64>,
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Capture files, read in the order given.
    #[arg(required = true, value_name = "CAPTURE")]
    pub captures: Vec<PathBuf>,

    #[command(flatten)]
    pub common: CommonArgs,

    /// Never draw the progress bar (it is drawn only when stderr is a terminal anyway).
    #[arg(help_heading = RUN, long)]
    pub no_progress: bool,
}

#[derive(Debug, Args)]
pub struct LiveArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// List the interfaces libpcap can capture on, and exit.
    #[arg(help_heading = LIVE_CAPTURE, long)]
    pub list_interfaces: bool,

    #[command(flatten)]
    pub capture: LiveFlags,

    #[command(flatten)]
    pub audit: AuditFlags,
}

/// Capture and health settings of `live` (the config file's `[capture]`
/// and `[health]` tables hold the same).
#[derive(Debug, Args, Default)]
pub struct LiveFlags {
    /// Interface to capture on (repeatable: one capture thread each).
    #[arg(help_heading = LIVE_CAPTURE, short = 'i', long = "interface", value_name = "IFACE")]
    pub interfaces: Vec<String>,

    /// Bytes kept of each packet (default 65535: whole TCP segments and large answers).
    #[arg(help_heading = LIVE_CAPTURE, long, value_name = "BYTES")]
    pub snaplen: Option<i32>,

    /// Kernel capture buffer per interface, in MiB (default 64).
    #[arg(help_heading = LIVE_CAPTURE, long, value_name = "MIB")]
    pub buffer_mb: Option<i32>,

    /// libpcap immediate mode (TPACKET_V2): lower latency, but drops at high rates with a large snaplen.
    #[arg(help_heading = LIVE_CAPTURE, long)]
    pub immediate: bool,

    /// BPF filter instead of the default (DNS ports, VLAN-tagged DNS, IP fragments, tunnels).
    #[arg(help_heading = LIVE_CAPTURE, long, value_name = "FILTER")]
    pub bpf: Option<String>,

    /// Seconds between sensor_health events (default 60).
    #[arg(help_heading = HEALTH, long, value_name = "SECONDS")]
    pub stats_interval: Option<u64>,

    /// Drop rate (0..1) in an interval above which capture_loss is raised (default 0.01).
    #[arg(help_heading = HEALTH, long, value_name = "RATE")]
    pub loss_threshold: Option<f64>,

    /// Seconds without a DNS response after which capture_stalled is raised (default 300).
    #[arg(help_heading = HEALTH, long, value_name = "SECONDS")]
    pub stall_timeout: Option<u64>,

    /// Serve the counters in Prometheus text format on ADDR:PORT (e.g. 127.0.0.1:9153).
    #[arg(help_heading = HEALTH, long, value_name = "ADDR:PORT")]
    pub metrics: Option<std::net::SocketAddr>,

    /// Become this user (and its group) once the capture handles are open.
    #[arg(help_heading = RUN, long, value_name = "NAME")]
    pub user: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A config file to validate (its feeds and expect files are checked too).
    #[arg(help_heading = INPUTS, long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub rules: RuleArgs,

    /// Stats files of earlier runs (analyze or live `--stats-json`): each
    /// allow entry is listed with the alerts it held back in them, so
    /// entries that match nothing the sensors saw stand out.
    #[arg(help_heading = INPUTS, long, value_name = "STATS_JSON")]
    pub seen: Vec<PathBuf>,
}
