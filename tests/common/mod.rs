//! Helpers shared by the integration tests.

#![allow(dead_code)]

pub mod browser;
pub mod dnstree;
pub mod ecs;
pub mod live;
pub mod rsyslog;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use dnsentry::output::{Format, OutputTargets, Target};
use dnsentry::pipeline::{Inputs, RunConfig, RunOutcome, run as run_pipeline};
use dnsentry::rules::{RuleSources, load_rules, shared};
use serde_json::Value;

/// The directory holding the public captures (tests/public-captures/SOURCES.md):
/// `DNSENTRY_PUBLIC_CAPTURES` when set, which must then exist, since whoever
/// sets it expects it used; else `../shared/pcaps` beside the project, as
/// for developers and CI. build.rs makes the same choice at build time and
/// marks the tests that call this ignored when there is none, so here it
/// must exist.
pub fn public_captures_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DNSENTRY_PUBLIC_CAPTURES").filter(|v| !v.is_empty()) {
        let dir = PathBuf::from(dir);
        assert!(
            dir.is_dir(),
            "DNSENTRY_PUBLIC_CAPTURES={} is not a directory; scripts/fetch-public-captures DIR fills one",
            dir.display()
        );
        return dir;
    }
    let dir = project_file("../shared/pcaps");
    assert!(
        dir.is_dir(),
        "{} is missing and DNSENTRY_PUBLIC_CAPTURES is not set, yet the build found \
         captures: set DNSENTRY_PUBLIC_CAPTURES (scripts/fetch-public-captures)",
        dir.display()
    );
    dir
}

/// The captures the public-capture tests expect, by file name, from
/// tests/public-captures/MANIFEST.tsv.
pub fn public_capture_names() -> Vec<String> {
    let path = project_file("tests/public-captures/MANIFEST.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split('\t').next().unwrap_or_default().to_string())
        .collect()
}

/// One TCP response of `n` distinct addresses for `www.example.org`, and
/// an expect file for `example.org` that none of them is in: `n` alerts
/// before the per-response bound. Returns the capture, the expect file and
/// the response's packet number.
pub fn hostile_answers_capture(dir: &Path, n: u32) -> (PathBuf, PathBuf, u64) {
    use dnsentry::synth::{Exchange, Scenario, Via, a, rr};
    let zones = dir.join("zones.toml");
    std::fs::write(
        &zones,
        "[[zone]]\nname = \"example.org\"\na = [\"192.0.2.0/24\"]\n",
    )
    .unwrap();
    let mut s = Scenario::new(1_600_000_000);
    let mut ex = Exchange::new(
        "10.0.0.5",
        "10.0.0.53",
        "www.example.org",
        hickory_proto::rr::RecordType::A,
    )
    .via(Via::Tcp);
    for i in 0..n {
        let addr = format!("203.0.{}.{}", i / 250, i % 250 + 1);
        ex = ex.answer(rr("www.example.org", 300, a(&addr)));
    }
    let packet = s.exchange(&ex);
    let pcap = dir.join("hostile-answers.pcap");
    s.write_pcap_file(&pcap).unwrap();
    (pcap, zones, packet)
}

pub fn project_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Result of one library-level run.
pub struct Run {
    pub outcome: RunOutcome,
    pub alerts: Vec<Value>,
    pub dns_log: Vec<Value>,
    pub weirds: Vec<Value>,
}

pub struct RunSpec<'a> {
    pub inputs: Vec<PathBuf>,
    pub builtin_feed: bool,
    pub ioc_files: Vec<PathBuf>,
    pub allow_files: Vec<PathBuf>,
    pub expect_files: Vec<PathBuf>,
    pub dns_ports: &'a [u16],
    pub threads: usize,
    pub dns_log: bool,
    pub weird_log: bool,
    pub suppress: std::time::Duration,
    /// The alerts' and the DNS log's format.
    pub format: Format,
}

impl Default for RunSpec<'_> {
    fn default() -> Self {
        RunSpec {
            inputs: Vec::new(),
            builtin_feed: true,
            ioc_files: Vec::new(),
            allow_files: Vec::new(),
            expect_files: Vec::new(),
            dns_ports: &[53],
            threads: 2,
            dns_log: false,
            weird_log: false,
            suppress: std::time::Duration::from_secs(3600),
            format: Format::Native,
        }
    }
}

pub fn read_json_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// The lines of a file a running sensor is writing: its buffered writer
/// may have flushed half a line, so the last one counts only once its
/// newline is there. Every complete line must be JSON.
pub fn read_written_json_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let complete = match text.rfind('\n') {
        Some(end) => &text[..end],
        None => "",
    };
    complete
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// Runs the whole pipeline through the library, outputs to temp files.
pub fn run(spec: RunSpec<'_>) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let alerts_path = dir.path().join("alerts.json");
    let log_path = dir.path().join("dns.json");
    let weird_path = dir.path().join("weird.json");
    let rules = load_rules(&RuleSources {
        builtin_feed: spec.builtin_feed,
        ioc_files: spec.ioc_files,
        allow_files: spec.allow_files,
        expect_files: spec.expect_files,
        ..RuleSources::default()
    })
    .unwrap();
    let outcome = run_pipeline(RunConfig {
        inputs: Inputs::Files(spec.inputs),
        rules: shared(rules),
        dns_ports: spec.dns_ports.to_vec(),
        threads: spec.threads,
        outputs: OutputTargets {
            alerts: Target::File(alerts_path.clone()),
            dns_log: spec.dns_log.then(|| Target::File(log_path.clone())),
            weird_log: spec.weird_log.then(|| Target::File(weird_path.clone())),
            syslog: Vec::new(),
            delivery: Default::default(),
            file_mode: dnsentry::fsutil::DEFAULT_OUTPUT_MODE,
            alerts_format: spec.format,
            dns_log_format: spec.format,
            sensor_name: "test-sensor".into(),
        },
        progress: false,
        metrics: None,
        rule_stats: Arc::default(),
        stop: Arc::new(AtomicBool::new(false)),
        after_open: None,
        suppress: spec.suppress,
        reopen: None,
        injected: None,
    })
    .unwrap();
    Run {
        outcome,
        alerts: read_json_lines(&alerts_path),
        dns_log: read_json_lines(&log_path),
        weirds: read_json_lines(&weird_path),
    }
}

/// The project's `dnsentry` binary, built by cargo for this test run.
pub fn bin() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_dnsentry"))
}

/// Suricata's EVE JSON schema (`etc/schema.json` of OISF/suricata, GPL-2.0,
/// so kept beside the public captures, never in this repository):
/// `schemas/suricata-eve.schema.json` next to [`public_captures_dir`]'s
/// directory. build.rs marks the tests that call this ignored when there
/// is none, so here it must exist.
pub fn eve_schema_path() -> PathBuf {
    let captures = match std::env::var_os("DNSENTRY_PUBLIC_CAPTURES").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => project_file("../shared/pcaps"),
    };
    let schema = captures
        .parent()
        .unwrap_or(Path::new("."))
        .join("schemas/suricata-eve.schema.json");
    assert!(
        schema.is_file(),
        "{} is missing, yet the build found it: scripts/fetch-public-captures fetches it",
        schema.display()
    );
    schema
}

/// Validates every event against Suricata's EVE schema with Python's
/// `jsonschema` (python3-jsonschema), the validator SOURCES.md names, in
/// one run. Each event comes with a label saying where it is from (no tab
/// in it); returns one message per error: `LABEL: PATH: error`.
pub fn eve_schema_errors(events: &[(String, Value)]) -> Vec<String> {
    const CHECK: &str = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
validator = jsonschema.validators.validator_for(schema)(schema)
for line in sys.stdin:
    label, event = line.rstrip("\n").split("\t", 1)
    for e in validator.iter_errors(json.loads(event)):
        print(f"{label}: {'/'.join(map(str, e.absolute_path))}: {e.message[:300]}")
"#;
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .args(["-c", CHECK])
        .env("PYTHONIOENCODING", "utf-8")
        .arg(eve_schema_path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 (scripts/install-deps --test installs it with python3-jsonschema)");
    let mut stdin = child.stdin.take().unwrap();
    let text: String = events
        .iter()
        .map(|(label, event)| format!("{label}\t{event}\n"))
        .collect();
    let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "the schema check did not run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Fails listing every event of `events` that Suricata's EVE schema
/// refuses.
pub fn assert_eve_valid(events: &[(String, Value)]) {
    let errors = eve_schema_errors(events);
    assert!(
        errors.is_empty(),
        "{} invalid:\n{}",
        errors.len(),
        errors.join("\n")
    );
}

/// One sample of a Prometheus exposition, as a real parser read it.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSample {
    /// The family's type as the parser understood it (`counter`, `gauge`,
    /// `info`, ...).
    pub family_type: String,
    pub name: String,
    pub labels: std::collections::BTreeMap<String, String>,
    pub value: f64,
}

/// Parses an exposition with Python's `prometheus_client`
/// (python3-prometheus-client, installed by `scripts/install-deps --test`),
/// the reference client's own parsers: the OpenMetrics one (strict: a
/// malformed line, a missing `# EOF` or a sample that does not belong to
/// its family fails it) or the Prometheus text 0.0.4 one. Panics with the
/// parser's error.
pub fn parse_metrics(text: &str, openmetrics: bool) -> Vec<MetricSample> {
    const PARSE: &str = r#"
import json, sys
if sys.argv[1] == "openmetrics":
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
else:
    from prometheus_client.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out.append({"type": family.type, "name": s.name, "labels": s.labels, "value": s.value})
json.dump(out, sys.stdout)
"#;
    use std::io::Write;
    // The apt package installs for Debian's interpreter, which a pyenv or
    // virtualenv first on PATH would hide.
    let python = if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    };
    let mut child = std::process::Command::new(python)
        .args([
            "-c",
            PARSE,
            if openmetrics { "openmetrics" } else { "text" },
        ])
        .env("PYTHONIOENCODING", "utf-8")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 (scripts/install-deps --test installs it with python3-prometheus-client)");
    let mut stdin = child.stdin.take().unwrap();
    let body = text.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(body.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "the exposition does not parse: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let samples: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    samples
        .into_iter()
        .map(|s| MetricSample {
            family_type: s["type"].as_str().unwrap().to_string(),
            name: s["name"].as_str().unwrap().to_string(),
            labels: s["labels"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect(),
            value: s["value"].as_f64().unwrap(),
        })
        .collect()
}

/// A sensor's three kinds of event (health, loss, stall), as they are
/// written live, with the sources they name: what the format tests render.
pub fn sample_sensor_events() -> (
    dnsentry::model::SourceNames,
    [dnsentry::stats::SensorEvent; 3],
) {
    use dnsentry::model::SourceNames;
    use dnsentry::stats::{IfaceReport, SensorEvent};
    let sources = SourceNames::new("sensor-7", vec!["eth1".into()], true);
    let iface = IfaceReport {
        name: "eth1".into(),
        link: "ETHERNET".into(),
        up: true,
        error: None,
        received: 100,
        kernel_dropped: 3,
        interface_dropped: 1,
        packets: 100,
        dns_messages: 50,
        queue_waits: 0,
        interval_drop_rate: 0.04,
        seconds_since_dns: Some(1),
    };
    let ts = "2026-11-27T17:20:19.284176Z".to_string();
    let events = [
        SensorEvent::SensorHealth {
            ts: ts.clone(),
            severity: "info",
            uptime_seconds: 60,
            interfaces: vec![iface],
            dns_responses: 50,
            alerts: Default::default(),
            malformed: Default::default(),
            ioc_ignored: Default::default(),
            allowed: Vec::new(),
            severity_off: Default::default(),
            outputs: Vec::new(),
            audit: Some(dnsentry::stats::AuditCounts {
                zones: 2,
                servers: 4,
                questions_asked: 128,
                answered: 126,
                failed: 1,
                not_asked: 1,
            }),
            is_final: false,
        },
        SensorEvent::CaptureLoss {
            ts: ts.clone(),
            severity: "high",
            interface: "eth1".into(),
            interval_seconds: 60,
            received: 100,
            dropped: 4,
            drop_rate: 0.04,
            threshold: 0.01,
        },
        SensorEvent::CaptureStalled {
            ts,
            severity: "high",
            interface: "eth1".into(),
            reason: "no DNS response for 300 s".into(),
        },
    ];
    (sources, events)
}
