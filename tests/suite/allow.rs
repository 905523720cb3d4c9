//! Tuning through the real binary on the demo capture: scoped, expiring
//! allow entries and the zone owner's severity per kind.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::common::{bin, project_file};

/// Entry 1 silences example.org's unexpected addresses; entry 2 would
/// silence its unexpected CNAMEs but ended before the capture (2019-01-10);
/// entry 3 covers nothing the demo holds.
const ALLOW: &str = r#"[[allow]]
kind = "unexpected_address"
zone = "example.org"
until = "2030-01-01"
reason = "address move, change 4711"

[[allow]]
kind = "unexpected_cname"
zone = "example.org"
until = "2019-01-01"
reason = "CDN trial, ended"

[[allow]]
value = "203.0.113.99"
reason = "never seen"
"#;

/// The demo's expect file with the owner's severities: delegation changes
/// low, MX changes off.
fn zones_with_severity(dir: &Path) -> std::path::PathBuf {
    let demo = std::fs::read_to_string(project_file("pcaps/demo-hijack.zones.toml")).unwrap();
    let path = dir.join("zones.toml");
    std::fs::write(
        &path,
        format!("{demo}severity = {{ unexpected_ns = \"low\", unexpected_mx = \"off\" }}\n"),
    )
    .unwrap();
    path
}

struct Analysis {
    alerts: Vec<Value>,
    stats: Value,
    stderr: String,
}

fn analyze(dir: &Path, extra: &[&std::ffi::OsStr]) -> Analysis {
    let stats = dir.join("stats.json");
    let o: Output = bin()
        .arg("analyze")
        .arg(project_file("pcaps/demo-hijack.pcap"))
        .arg("--stats-json")
        .arg(&stats)
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    Analysis {
        alerts: String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
        stats: serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap(),
        stderr,
    }
}

fn count(alerts: &[Value], kind: &str) -> usize {
    alerts.iter().filter(|a| a["kind"] == kind).count()
}

#[test]
fn allow_entries_silence_their_scope_and_expire_at_the_packets_time() {
    let dir = tempfile::tempdir().unwrap();
    let allow = dir.path().join("allow.toml");
    std::fs::write(&allow, ALLOW).unwrap();
    let demo_zones = project_file("pcaps/demo-hijack.zones.toml");
    let plain = analyze(dir.path(), &["--expect".as_ref(), demo_zones.as_os_str()]);
    assert_eq!(plain.alerts.len(), 16);
    assert_eq!(count(&plain.alerts, "unexpected_address"), 3);
    assert_eq!(count(&plain.alerts, "unexpected_cname"), 2);

    let tuned = analyze(
        dir.path(),
        &[
            "--expect".as_ref(),
            demo_zones.as_os_str(),
            "--allow".as_ref(),
            allow.as_os_str(),
        ],
    );
    // Exactly the zone's unexpected addresses go; the IOC alerts on the
    // same addresses stay (the entry names its kind).
    assert_eq!(tuned.alerts.len(), 13);
    assert_eq!(count(&tuned.alerts, "unexpected_address"), 0);
    assert_eq!(
        count(&tuned.alerts, "ioc_address"),
        count(&plain.alerts, "ioc_address")
    );
    // The expired entry does not apply.
    assert_eq!(count(&tuned.alerts, "unexpected_cname"), 2);
    let label = |line: u32| format!("{}:{line}", allow.display());
    assert_eq!(
        tuned.stats["allowed"],
        serde_json::json!([
            {"entry": label(1), "reason": "address move, change 4711", "allowed": 3, "expired": false},
            {"entry": label(7), "reason": "CDN trial, ended", "allowed": 0, "expired": true},
            {"entry": label(13), "reason": "never seen", "allowed": 0, "expired": false},
        ])
    );
    assert_eq!(tuned.stats["alerts_total"], 13);
    // Two alerts met the expired entry; it is reported once.
    assert_eq!(
        tuned.stderr.matches("Allow entry past its `until`").count(),
        1,
        "{}",
        tuned.stderr
    );

    // check lists the expired entry.
    let o = bin()
        .arg("check")
        .arg("--allow")
        .arg(&allow)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "expired: {} (until 2019-01-01): CDN trial, ended",
            label(7)
        )),
        "{stdout}"
    );
    assert!(stdout.contains("3 allow entries, 1 expired"), "{stdout}");

    // check --seen: against the run's stats, the entries that held back
    // nothing stand out, the file named through another path (a link).
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(dir.path(), &link).unwrap();
    let o = bin()
        .arg("check")
        .arg("--allow")
        .arg(link.join("allow.toml"))
        .arg("--seen")
        .arg(dir.path().join("stats.json"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}");
    let shown = |line: u32| format!("{}:{line}", link.join("allow.toml").display());
    for (line, verdict) in [
        (1, "(address move, change 4711): held back 3 alert(s)"),
        (
            7,
            "(CDN trial, ended): matched nothing in 1 run(s): still needed?",
        ),
        (
            13,
            "(never seen): matched nothing in 1 run(s): still needed?",
        ),
    ] {
        assert!(
            stdout.contains(&format!("  {} {verdict}\n", shown(line))),
            "{stdout}"
        );
    }
    // A file that is not a stats file is an error naming it.
    let o = bin()
        .arg("check")
        .arg("--allow")
        .arg(&allow)
        .arg("--seen")
        .arg(&allow)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:1: not a dnsentry stats file", allow.display())),
        "{stderr}"
    );
}

#[test]
fn a_bad_allow_entry_stops_the_run_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let allow = dir.path().join("allow.toml");
    std::fs::write(
        &allow,
        "[[allow]]\nkind = \"unexpected_adress\"\nreason = \"typo\"\n",
    )
    .unwrap();
    let o = bin()
        .arg("analyze")
        .arg(project_file("pcaps/demo-hijack.pcap"))
        .arg("--allow")
        .arg(&allow)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_ne!(o.status.code(), Some(0));
    assert!(
        stderr.contains(&format!(
            "{}:2: `unexpected_adress` in `kind` is not an alert kind",
            allow.display()
        )),
        "{stderr}"
    );
}

#[test]
fn zone_severity_changes_native_and_eve_and_off_counts_instead() {
    let dir = tempfile::tempdir().unwrap();
    let zones = zones_with_severity(dir.path());
    let native = analyze(dir.path(), &["--expect".as_ref(), zones.as_os_str()]);
    // The MX change is off: 16 less one, counted.
    assert_eq!(native.alerts.len(), 15);
    assert_eq!(count(&native.alerts, "unexpected_mx"), 0);
    assert_eq!(
        native.stats["severity_off"],
        serde_json::json!({"unexpected_mx": 1})
    );
    assert_eq!(native.stats["alerts_total"], 15);
    let ns: Vec<(&str, u64)> = native
        .alerts
        .iter()
        .filter(|a| a["kind"] == "unexpected_ns")
        .map(|a| {
            (
                a["severity"].as_str().unwrap(),
                a["rule"]["severity"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(ns, [("low", 3), ("low", 3)]);
    // Other kinds keep theirs.
    assert!(
        native
            .alerts
            .iter()
            .filter(|a| a["kind"] == "ioc_domain")
            .all(|a| a["severity"] == "high")
    );

    let eve = analyze(
        dir.path(),
        &[
            "--expect".as_ref(),
            zones.as_os_str(),
            "--alerts-format".as_ref(),
            "eve".as_ref(),
        ],
    );
    let eve_ns: Vec<u64> = eve
        .alerts
        .iter()
        .filter(|a| a["alert"]["signature_id"] == 9_000_004)
        .map(|a| a["alert"]["severity"].as_u64().unwrap())
        .collect();
    // Suricata's 3 is its lowest; the unchanged kinds stay at 1.
    assert_eq!(eve_ns, [3, 3]);
    assert!(
        eve.alerts
            .iter()
            .filter(|a| a["alert"]["signature_id"] == 9_000_002)
            .all(|a| a["alert"]["severity"] == 1)
    );
    assert_eq!(eve.alerts.len(), 15);
}
