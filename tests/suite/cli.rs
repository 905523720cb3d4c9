//! The real `dnsentry` binary: exit status, error messages naming file and
//! line, outputs, and what survives a bad input.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::common::{bin, project_file, read_json_lines};

fn analyze(args: &[&str]) -> Output {
    bin().arg("analyze").args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout_lines(o: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn demo() -> String {
    project_file("pcaps/demo-hijack.pcap").display().to_string()
}

fn zones() -> String {
    project_file("pcaps/demo-hijack.zones.toml")
        .display()
        .to_string()
}

#[test]
fn readme_demo_command_prints_alerts_on_stdout() {
    let o = analyze(&[&demo(), "--expect", &zones()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let alerts = stdout_lines(&o);
    assert_eq!(alerts.len(), 16);
    assert!(stderr(&o).contains("alerts: 16"), "{}", stderr(&o));
    assert!(alerts.iter().all(|a| a["kind"].as_str().is_some()));
}

#[test]
fn missing_and_non_capture_files_stop_before_the_run() {
    let o = analyze(&["/nonexistent/capture.pcap"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("/nonexistent/capture.pcap: cannot open"),
        "{}",
        stderr(&o)
    );
    assert!(o.stdout.is_empty());

    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "this is not a capture\n").unwrap();
    let o = analyze(&[&demo(), text.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(&format!("{}: not a pcap or pcapng capture", text.display())),
        "{}",
        stderr(&o)
    );
    assert!(o.stdout.is_empty(), "nothing may run when an input is bad");
}

#[test]
fn bad_feed_and_expect_files_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("feed.csv");
    std::fs::write(&feed, "indicator,type\n192.0.2.1,ipv4\n192.0.2.300,ipv4\n").unwrap();
    let o = analyze(&[&demo(), "--ioc", feed.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(&format!(
            "{}:3: `192.0.2.300` is not an IP address",
            feed.display()
        )),
        "{}",
        stderr(&o)
    );

    let zones = dir.path().join("zones.toml");
    std::fs::write(
        &zones,
        "[[zone]]\nname = \"example.org\"\nmx = [\"mail.example.org\"\n",
    )
    .unwrap();
    let o = analyze(&[&demo(), "--expect", zones.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(&format!("{}:3:", zones.display())),
        "{}",
        stderr(&o)
    );

    let o = analyze(&[&demo(), "--ioc", "/nonexistent/feed.txt"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("/nonexistent/feed.txt:0: cannot read feed"),
        "{}",
        stderr(&o)
    );
}

/// Cuts the demo capture in the middle of its last packet record.
fn truncated_demo(dir: &Path) -> std::path::PathBuf {
    let bytes = std::fs::read(project_file("pcaps/demo-hijack.pcap")).unwrap();
    let p = dir.join("cut.pcap");
    std::fs::write(&p, &bytes[..bytes.len() - 30]).unwrap();
    p
}

#[test]
fn truncated_capture_keeps_every_alert_before_the_cut_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let cut = truncated_demo(dir.path());
    let alerts = dir.path().join("alerts.json");
    let stats = dir.path().join("stats.json");
    let o = analyze(&[
        cut.to_str().unwrap(),
        &demo(),
        "--expect",
        &zones(),
        "--alerts",
        alerts.to_str().unwrap(),
        "--stats-json",
        stats.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("{}: read error after packet 35", cut.display())),
        "{err}"
    );
    // Every alert of the cut file (all before its last packet). The second
    // file repeats them within the hour: read, and suppressed.
    assert_eq!(read_json_lines(&alerts).len(), 16);
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(s["files"][0]["packets"], 35);
    assert!(
        s["files"][0]["error"]
            .as_str()
            .unwrap()
            .contains("read error")
    );
    assert_eq!(s["files"][1]["error"], Value::Null);
    assert_eq!(
        s["files"][1]["packets"], 36,
        "a bad file does not stop the ones after it"
    );
    assert_eq!(s["suppressed"]["unexpected_ns"], 2);
    let total: u64 = s["suppressed"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(total, 16);
}

#[test]
fn stats_json_counts_every_stage() {
    let dir = tempfile::tempdir().unwrap();
    let stats = dir.path().join("stats.json");
    let log = dir.path().join("dns.json");
    let o = analyze(&[
        &demo(),
        "--expect",
        &zones(),
        "--alerts",
        "/dev/null",
        "--dns-log",
        log.to_str().unwrap(),
        "--stats-json",
        stats.to_str().unwrap(),
        "--threads",
        "3",
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stderr.is_empty(), "-q: {}", stderr(&o));
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(s["packets_read"], 36);
    assert_eq!(s["dns_responses"], 18);
    assert_eq!(s["skipped_not_dns"]["dns_query"], 18);
    assert_eq!(s["alerts_total"], 16);
    assert_eq!(s["alerts"]["unexpected_ns"], 2);
    assert_eq!(s["threads"], 3);
    assert_eq!(s["files"][0]["format"], "pcap");
    assert_eq!(s["files"][0]["link_types"], serde_json::json!(["ETHERNET"]));
    assert_eq!(read_json_lines(&log).len(), 18);
}

#[test]
fn two_outputs_cannot_share_stdout() {
    let o = analyze(&[&demo(), "--dns-log", "-"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    let o = analyze(&[
        &demo(),
        "--alerts",
        "/dev/null",
        "--dns-log",
        "-",
        "--weird-log",
        "-",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("only one of --alerts, --dns-log and --weird-log can go to stdout"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn no_default_ioc_leaves_the_builtin_feed_out() {
    let o = analyze(&[&demo(), "--no-default-ioc", "-q"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty());
}

#[test]
fn check_validates_config_feeds_and_zones() {
    let o = bin()
        .args(["check", "--config"])
        .arg(project_file("dnsentry.example.toml"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("config ok (interfaces: eth1)"), "{out}");
    assert!(
        out.contains("builtin:aa19-024a.csv: 36 indicators (19 ipv4, 17 domain)"),
        "{out}"
    );
    // Its expect file is commented out: no path in it depends on where
    // it is installed.
    assert!(!out.contains("zone(s)"), "{out}");

    // The example's SIEM tables, uncommented: valid settings, and the
    // CA file the first one names is read (and is missing here).
    let dir = tempfile::tempdir().unwrap();
    let example = std::fs::read_to_string(project_file("dnsentry.example.toml")).unwrap();
    let start = example.find("# [[outputs.syslog]]").unwrap();
    let end = example.find("[capture]").unwrap();
    let uncommented: String = example[start..end]
        .lines()
        .map(|l| {
            l.strip_prefix("# ")
                .unwrap_or(l.trim_start_matches('#'))
                .to_string()
                + "\n"
        })
        .collect();
    let cfg = dir.path().join("siem.toml");
    std::fs::write(
        &cfg,
        example[..start].to_string() + &uncommented + &example[end..],
    )
    .unwrap();
    let o = bin()
        .args(["check", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(
        out.contains("syslog udp://10.0.0.5:514: RFC 5424, JSON body, facility 16, max 1400 bytes"),
        "{out}"
    );
    assert!(
        err.contains("syslog output tls://siem.example.org:6514: /etc/dnsentry/siem-ca.pem:"),
        "{err}"
    );

    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "[capture]\ninterfaces = [\"eth1\"]\nsnaplenn = 10\n").unwrap();
    let feed = dir.path().join("feed.txt");
    std::fs::write(&feed, "good.example\nbad example\n").unwrap();
    let o = bin()
        .args(["check", "--config"])
        .arg(&cfg)
        .arg("--ioc")
        .arg(&feed)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains(&format!("{}:3:", cfg.display())), "{err}");
    assert!(err.contains("snaplenn"), "{err}");
    assert!(
        err.contains(&format!("{}:2:", feed.display())),
        "every error is reported: {err}"
    );
}

#[test]
fn config_file_settings_apply_and_flags_override_them() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        project_file("pcaps/demo-hijack.zones.toml"),
        dir.path().join("zones.toml"),
    )
    .unwrap();
    let cfg = dir.path().join("dnsentry.toml");
    std::fs::write(
        &cfg,
        "[rules]\nexpect = [\"zones.toml\"]\nno_default_ioc = true\n[outputs]\nalerts = \"from-config.json\"\n",
    )
    .unwrap();
    let o = analyze(&[&demo(), "--config", cfg.to_str().unwrap(), "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let alerts = read_json_lines(&dir.path().join("from-config.json"));
    assert_eq!(
        alerts.len(),
        8,
        "only the zone alerts: the config leaves the feed out"
    );
    let flag = dir.path().join("from-flag.json");
    let o = analyze(&[
        &demo(),
        "--config",
        cfg.to_str().unwrap(),
        "--alerts",
        flag.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(read_json_lines(&flag).len(), 8);
}

#[test]
fn baseline_learn_writes_an_expect_file_and_diff_shows_the_changes() {
    let dir = tempfile::tempdir().unwrap();
    let learned = dir.path().join("learned.toml");
    // Unscreened, so that it holds everything the wire held.
    let o = bin()
        .args([
            "baseline",
            "learn",
            "--zone",
            "example.org",
            "--aggregate",
            "--no-default-ioc",
            "-o",
        ])
        .arg(&learned)
        .arg(demo())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(&learned).unwrap();
    // Glue and additional-section addresses are checked, so learned:
    // mail.example.org's address in the MX answer counts.
    assert!(
        text.contains("\"192.0.2.0/24\",  # seen 4 times, 2019-01-10T09:00:00Z .. 2019-01-10T09:00:04Z, on mail.example.org and 1 other name"),
        "{text}"
    );
    assert!(text.contains("resolvers = ["), "{text}");
    assert!(
        text.contains("ttl_min = 150  # half the lowest TTL seen (300, on "),
        "{text}"
    );
    // The learned file is a valid expect file...
    let o = bin()
        .args(["check", "--no-default-ioc", "--expect"])
        .arg(&learned)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // ...and the same traffic shows no change against it.
    let o = bin()
        .args(["baseline", "diff"])
        .arg(&learned)
        .arg(demo())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout), "no differences\n");

    // Against the hand-written zones the hijacks stand out.
    let o = bin()
        .args(["baseline", "diff"])
        .arg(zones())
        .arg(demo())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("  ns:\n    + ns1.rootdnservers.com"), "{out}");
    assert!(out.contains("+ 185.20.187.8"), "{out}");
    assert!(
        !out.contains("192.0.2.10"),
        "allowed values are not listed: {out}"
    );
}

/// Learning never allows what a feed lists: the built-in feed's addresses
/// and name servers in the demo are comments marked as indicator hits,
/// stderr names each, and the same traffic against the learned file shows
/// exactly them.
#[test]
fn baseline_learn_never_learns_an_indicator() {
    let dir = tempfile::tempdir().unwrap();
    let learned = dir.path().join("learned.toml");
    let o = bin()
        .args(["baseline", "learn", "--zone", "example.org", "-o"])
        .arg(&learned)
        .arg(demo())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let hits = [
        ("a", "185.20.187.8"),
        ("a", "199.247.3.191"),
        ("ns", "ns1.rootdnservers.com"),
        ("ns", "ns2.rootdnservers.com"),
        ("cname", "webmail.cloudnamedns.com"),
    ];
    let text = std::fs::read_to_string(&learned).unwrap();
    let err = stderr(&o);
    for (key, value) in hits {
        let said = format!("example.org {key} {value} is indicator ");
        assert!(
            text.contains(&format!("# INDICATOR HIT, not learned: {said}")),
            "{text}"
        );
        assert!(
            !text.contains(&format!("\"{value}\"")),
            "{value} learned: {text}"
        );
        assert!(
            err.contains(&format!(
                "dnsentry: warning: indicator hit, not learned (listed as a comment): {said}"
            )),
            "{err}"
        );
    }
    let o = bin()
        .args(["baseline", "diff"])
        .arg(&learned)
        .arg(demo())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    let added: Vec<&str> = out
        .lines()
        .filter_map(|l| l.trim().strip_prefix("+ "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let mut want: Vec<&str> = hits.iter().map(|(_, v)| *v).collect();
    want.sort_unstable();
    let mut added_sorted = added.clone();
    added_sorted.sort_unstable();
    assert_eq!(added_sorted, want, "{out}");
    // An allowlisted value is learned like any other.
    let allow = dir.path().join("allow.txt");
    std::fs::write(&allow, "185.20.187.8\n").unwrap();
    let o = bin()
        .args(["baseline", "learn", "--zone", "example.org", "--allow"])
        .arg(&allow)
        .arg(demo())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("  \"185.20.187.8\",  # seen 1 time"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// A capture of `exchanges` identical resolver exchanges (one built with
/// synth, its frames repeated a second apart).
fn repeated_capture(dir: &Path, exchanges: usize) -> std::path::PathBuf {
    use dnsentry::model::Timestamp;
    use dnsentry::synth::{Exchange, Scenario, a, rr};
    use hickory_proto::rr::RecordType;
    let mut one = Scenario::new(1_600_000_000);
    one.exchange(
        &Exchange::new("10.0.0.2", "10.0.0.53", "www.example.com", RecordType::A).answer(rr(
            "www.example.com",
            60,
            a("192.0.2.10"),
        )),
    );
    let frames: Vec<(Timestamp, Vec<u8>)> = (0..exchanges)
        .flat_map(|i| {
            one.frames()
                .iter()
                .map(move |(ts, data)| (Timestamp(ts.0 + i as i64 * 1_000_000), data.clone()))
        })
        .collect();
    let p = dir.join("repeated.pcap");
    let file = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
    dnsentry::synth::write_pcap(file, pcap_file::DataLink::ETHERNET, &frames).unwrap();
    p
}

/// Whether `pid` has a handler installed for `signal` (the SigCgt mask of
/// /proc/PID/status): until then the signal would kill it outright.
fn catches(pid: u32, signal: u32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (signal - 1)) != 0)
}

/// SIGTERM in the middle of an offline run: what was read is analysed and
/// written, but the run did not see its whole input, and its status and
/// summary must say so rather than report success.
#[test]
fn sigterm_during_analyze_exits_1_and_says_the_input_was_not_read_to_its_end() {
    const SIGTERM: u32 = 15;
    let dir = tempfile::tempdir().unwrap();
    let capture = repeated_capture(dir.path(), 20_000);
    let stats = dir.path().join("stats.json");
    let dns_log = dir.path().join("dns.json");
    // The same file many times over: far more than can be read between
    // the first logged response and the signal.
    let copies = vec![capture.to_str().unwrap(); 200];
    let child = bin()
        .arg("analyze")
        .args(&copies)
        .args(["--no-progress", "--alerts", "/dev/null", "--dns-log"])
        .arg(&dns_log)
        .arg("--stats-json")
        .arg(&stats)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let reading = || std::fs::metadata(&dns_log).is_ok_and(|m| m.len() > 0);
    while !(catches(child.id(), SIGTERM) && reading()) {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "not reading with a SIGTERM handler after 60 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("{}: interrupted after packet", capture.display())),
        "{err}"
    );
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    let files = s["files"].as_array().unwrap();
    assert_eq!(files.len(), 200, "every input has its report");
    let read: u64 = files.iter().map(|f| f["packets"].as_u64().unwrap()).sum();
    assert!(read > 0 && read < 200 * 40_000, "stopped early: {read}");
    assert_eq!(s["packets_read"], read);
    let error = |f: &Value| f["error"].as_str().unwrap_or_default().to_string();
    let interrupted = files
        .iter()
        .position(|f| error(f).contains(": interrupted after packet"))
        .expect("a file says it was interrupted");
    assert!(files[..interrupted].iter().all(|f| f["error"].is_null()));
    for f in &files[interrupted + 1..] {
        assert_eq!(f["packets"], 0);
        assert!(error(f).starts_with("not read"), "{f}");
    }
    // What was read was analysed and written: every response logged.
    assert_eq!(s["dns_responses"].as_u64().unwrap() * 2, read);
    assert_eq!(
        read_json_lines(&dns_log).len() as u64,
        s["dns_responses"].as_u64().unwrap()
    );
}

/// Characters that must never reach a terminal, a log line or a SIEM raw:
/// C0 and C1 controls (ESC starts every terminal escape sequence), DEL,
/// and the Unicode line and paragraph separators. Line ends of line-based
/// outputs are the caller's to allow.
fn raw_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|c| (c.is_control() && *c != '\n') || matches!(c, '\u{2028}' | '\u{2029}'))
        .collect()
}

/// Hostile bytes a feed author or a DNS server can choose: the terminal
/// escapes to clear the screen and retitle the window, DEL, the C1 NEL and
/// CSI, and the line separator.
const HOSTILE: &str = "x\u{1b}[2J\u{1b}]0;pwned\u{7}\u{7f}\u{85}\u{9b}\u{2028}y";

/// Feed metadata and record data under an attacker's control go to every
/// output escaped the same way: nothing that a terminal, a JSON-lines
/// reader or a SIEM acts on arrives raw.
#[test]
fn hostile_feed_text_and_record_data_reach_no_output_raw() {
    use dnsentry::synth::{Exchange, Scenario, a, rr};
    use hickory_proto::rr::RData;
    use hickory_proto::rr::RecordType;
    use hickory_proto::rr::rdata::{CAA, HINFO};

    let dir = tempfile::tempdir().unwrap();
    // A file name is text from whoever named the file.
    let feed = dir.path().join("feed\u{2028}x.csv");
    std::fs::write(
        &feed,
        format!("indicator,type,source,reference,note{HOSTILE}\n203.0.113.66,ipv4,{HOSTILE},{HOSTILE},{HOSTILE}\n"),
    )
    .unwrap();
    let hostile_bytes: Vec<u8> = [&b"\"\x7f"[..], "\u{9b}\u{2028}".as_bytes(), b"\xff"].concat();
    let mut caa = CAA::new_issue(false, None, vec![]);
    caa.value = hostile_bytes.clone();
    let hinfo = HINFO::from_bytes(hostile_bytes.clone().into(), b"os 1".to_vec().into());
    let mut s = Scenario::new(1_600_000_000);
    s.exchange(
        &Exchange::new("10.0.0.2", "10.0.0.53", "evil.example.com", RecordType::A)
            .answer(rr("evil.example.com", 60, a("203.0.113.66")))
            .answer(rr("evil.example.com", 60, RData::CAA(caa)))
            .answer(rr("evil.example.com", 60, RData::HINFO(hinfo))),
    );
    let pcap = dir.path().join("hostile.pcap");
    s.write_pcap_file(&pcap).unwrap();

    let out = |name: &str| dir.path().join(name);
    let o = analyze(&[
        pcap.to_str().unwrap(),
        "--ioc",
        feed.to_str().unwrap(),
        "--dns-log",
        out("dns.json").to_str().unwrap(),
        "--weird-log",
        out("weird.json").to_str().unwrap(),
        "--stats-json",
        out("stats.json").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = |bytes: &[u8]| String::from_utf8(bytes.to_vec()).expect("outputs are UTF-8");
    let stdout = text(&o.stdout);
    for (what, content) in [
        ("stdout", stdout.clone()),
        ("stderr", text(&o.stderr)),
        ("dns log", text(&std::fs::read(out("dns.json")).unwrap())),
        (
            "weird log",
            text(&std::fs::read(out("weird.json")).unwrap()),
        ),
        ("stats", text(&std::fs::read(out("stats.json")).unwrap())),
    ] {
        assert_eq!(
            raw_controls(&content),
            Vec::<char>::new(),
            "{what}: {content:?}"
        );
    }
    // Free text is escaped as \u{..}, the same in every field.
    let escaped = "x\\u{1b}[2J\\u{1b}]0;pwned\\u{7}\\u{7f}\\u{85}\\u{9b}\\u{2028}y";
    let alerts = stdout_lines(&o);
    assert_eq!(alerts.len(), 1, "{stdout}");
    let ioc = &alerts[0]["ioc"];
    assert_eq!(ioc["source"], escaped);
    assert_eq!(ioc["reference"], escaped);
    assert_eq!(
        ioc["meta"],
        serde_json::json!([[format!("note{escaped}"), escaped]])
    );
    assert!(
        ioc["feed"]
            .as_str()
            .unwrap()
            .ends_with("feed\\u{2028}x.csv"),
        "{ioc}"
    );
    // Record data is DNS presentation format: quoted, every byte outside
    // printable ASCII as \DDD (the invalid UTF-8 0xFF too, not U+FFFD).
    let log = read_json_lines(&out("dns.json"));
    let data: Vec<&str> = log[0]["answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["data"].as_str().unwrap())
        .collect();
    let wire = "\\\"\\127\\194\\155\\226\\128\\168\\255";
    assert_eq!(
        data,
        [
            "203.0.113.66".to_string(),
            format!("0 issue \"{wire}\""),
            format!("\"{wire}\" \"os 1\""),
        ]
    );

    // A feed line that does not parse is echoed in the error, escaped, by
    // `check` and by `analyze` alike.
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, format!("192.0.2.1\nevil{HOSTILE}.example\n")).unwrap();
    let checked = bin()
        .args(["check", "--ioc", bad.to_str().unwrap()])
        .output()
        .unwrap();
    let analyzed = analyze(&[&demo(), "--ioc", bad.to_str().unwrap()]);
    for o in [checked, analyzed] {
        let (out, err) = (text(&o.stdout), text(&o.stderr));
        assert_ne!(o.status.code(), Some(0), "{err}");
        assert_eq!(raw_controls(&out), Vec::<char>::new(), "{out:?}");
        assert_eq!(raw_controls(&err), Vec::<char>::new(), "{err:?}");
        assert!(err.contains(&format!("{}:2: ", bad.display())), "{err}");
        assert!(err.contains(&format!("`evil{escaped}.example`")), "{err}");
    }
}

/// A value the feed parser had to normalise is valid, but its author
/// should know: `check` and `analyze` name the file and line.
#[test]
fn normalised_feed_values_are_warned_about_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("padded.txt");
    std::fs::write(&feed, "# list\n185.020.187.008\nevil.example\n").unwrap();
    let warning = format!(
        "{}:2: warning: `185.020.187.008` has zero-padded octets: read as 185.20.187.8",
        feed.display()
    );
    let o = bin()
        .args(["check", "--ioc", feed.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains(&warning), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.contains("2 indicators (1 ipv4, 1 domain)"), "{out}");

    let o = analyze(&[&demo(), "--ioc", feed.to_str().unwrap(), "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains(&warning), "{}", stderr(&o));
}

/// Durations are bounded when they are parsed: a huge one used to reach
/// `Instant + Duration` and panic a thread (the syslog delivery thread at
/// exit, leaving its alerts pending and the run reporting success).
#[test]
fn durations_beyond_the_bound_are_refused_naming_the_flag() {
    let sink = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let url = format!("udp://{}", sink.local_addr().unwrap());
    for (flag, value) in [
        ("--syslog-flush-timeout", "18446744073709551615"),
        ("--syslog-flush-timeout", "9223372036854775807"),
        ("--suppress", "400days"),
    ] {
        let o = analyze(&[&demo(), "-q", "--syslog", &url, flag, value]);
        assert_eq!(o.status.code(), Some(2), "{flag} {value}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!(
                "{flag} {value:?}: longer than 365 days, the longest accepted"
            )),
            "{}",
            stderr(&o)
        );
        assert!(o.stdout.is_empty(), "nothing ran");
    }
    for (flag, value) in [
        ("--stats-interval", "18446744073709551615"),
        ("--stall-timeout", "9223372036854775807"),
    ] {
        let o = bin()
            .args(["live", "-i", "lo", flag, value])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{flag} {value}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("{flag} {value:?}: longer than 365 days")),
            "{}",
            stderr(&o)
        );
    }
    // The longest accepted still runs.
    let o = analyze(&[
        &demo(),
        "-q",
        "--syslog",
        &url,
        "--syslog-flush-timeout",
        "31536000",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// A file too short to hold its capture header holds no packet: it is not
/// a capture, as an empty file is not, and nothing runs (status 2).
#[test]
fn a_capture_cut_inside_its_header_is_not_a_capture_like_an_empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let whole = std::fs::read(project_file("pcaps/demo-hijack.pcap")).unwrap();
    let empty = dir.path().join("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, &whole[..10]).unwrap();
    let mut ng = vec![0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a];
    ng.truncate(12);
    let cut_ng = dir.path().join("cut.pcapng");
    std::fs::write(&cut_ng, &ng).unwrap();
    for (file, detail) in [
        (&empty, "only 0 bytes long"),
        (&cut, "cut inside its 24-byte header"),
        (&cut_ng, "cut inside its 28-byte header"),
    ] {
        let o = analyze(&[file.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!(
                "{}: not a pcap or pcapng capture ({detail}",
                file.display()
            )),
            "{}",
            stderr(&o)
        );
    }
}

/// An expect file that is not UTF-8 is reported at the line of the bad
/// byte, as a feed is.
#[test]
fn an_expect_file_with_bad_utf8_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let zones = dir.path().join("zones.toml");
    std::fs::write(
        &zones,
        b"[[zone]]\nname = \"example.org\"\n# caf\xe9\na = [\"192.0.2.0/24\"]\n",
    )
    .unwrap();
    let o = bin()
        .args([
            "check",
            "--no-default-ioc",
            "--expect",
            zones.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("{}:3: not UTF-8 text", zones.display())),
        "{}",
        stderr(&o)
    );
}

/// `-V` and `--version` say which build this is: what a SOC needs to
/// tell which sensor build raised an alert.
#[test]
fn version_names_commit_date_compiler_libpcap_and_tls() {
    let build = dnsentry::buildinfo::BuildInfo::current();
    let git_head = std::process::Command::new("git")
        .args(["-C", env!("CARGO_MANIFEST_DIR")])
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    for flag in ["-V", "--version"] {
        let o = bin().arg(flag).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], format!("dnsentry {}", env!("CARGO_PKG_VERSION")));
        let field = |name: &str| {
            lines
                .iter()
                .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                .unwrap_or_else(|| panic!("no {name} in {text}"))
                .to_string()
        };
        let commit = field("commit");
        match &git_head {
            Some(head) => assert_eq!(&commit, head),
            None => assert_eq!(commit, "unknown"),
        }
        let date = field("built");
        assert!(
            date.len() == 10 && date.as_bytes()[4] == b'-' && date.as_bytes()[7] == b'-',
            "{date}"
        );
        assert!(field("rustc").starts_with("rustc 1."), "{text}");
        assert_eq!(field("libpcap"), build.libpcap);
        assert!(field("libpcap").starts_with("libpcap version "), "{text}");
        assert!(
            field("tls").starts_with("rustls 0.23.") && field("tls").ends_with("(ring)"),
            "{text}"
        );
    }
}

/// Options, each with the heading of `--help` it is listed under.
type Headings = Vec<(String, String)>;

/// Each option of `--help` with the heading it is listed under.
fn help_headings(subcommand: &[&str]) -> Headings {
    let o = bin().args(subcommand).arg("--help").output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let mut heading = String::new();
    let mut out = Vec::new();
    for line in text.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            heading = line.trim_end_matches(':').to_string();
            continue;
        }
        let Some(flag) = line
            .split_whitespace()
            .find(|w| w.starts_with("--"))
            .filter(|_| line.trim_start().starts_with('-'))
        else {
            continue;
        };
        out.push((
            flag.trim_end_matches([',', '.']).to_string(),
            heading.clone(),
        ));
    }
    out
}

/// The flags of how an audit asks (`live` takes them for `--audit-every`).
const AUDIT: &[&str] = &[
    "--root-hints",
    "--parent-server",
    "--name",
    "--resolver",
    "--resolv-conf",
    "--server-timeout",
    "--retries",
    "--rate",
    "--max-duration",
    "--audit-every",
    "--consistency-grace",
];

/// `--help` groups the options by task, in every subcommand: no heading
/// carries over to the options after a group, and every option is listed.
#[test]
fn help_groups_every_option_under_its_task() {
    const INPUTS: &[&str] = &["--dns-port"];
    const RULES: &[&str] = &[
        "--ioc",
        "--allow",
        "--no-default-ioc",
        "--ioc-max-age",
        "--expect",
    ];
    const OUTPUTS: &[&str] = &[
        "--alerts",
        "--dns-log",
        "--weird-log",
        "--alerts-format",
        "--dns-log-format",
        "--sensor-name",
        "--output-mode",
        "--stats-json",
    ];
    const SIEM: &[&str] = &[
        "--syslog",
        "--syslog-format",
        "--syslog-body",
        "--syslog-framing",
        "--syslog-facility",
        "--syslog-ca",
        "--syslog-cert",
        "--syslog-key",
        "--syslog-server-name",
        "--syslog-udp-max",
        "--syslog-enterprise-number",
        "--spool-dir",
        "--spool-max-mb",
        "--syslog-flush-timeout",
    ];
    const RUN: &[&str] = &[
        "--verbose",
        "--config",
        "--threads",
        "--suppress",
        "--quiet",
    ];
    let with = |groups: &[(&str, &[&str])]| -> Headings {
        let mut v: Headings = groups
            .iter()
            .flat_map(|(h, flags)| flags.iter().map(|f| (f.to_string(), h.to_string())))
            .collect();
        v.push(("--help".into(), "Options".into()));
        v.sort();
        v
    };
    let cases: Vec<(&[&str], Headings)> = vec![
        (
            &["analyze"],
            with(&[
                ("Inputs", INPUTS),
                ("Rules", RULES),
                ("Outputs", OUTPUTS),
                ("SIEM (syslog)", SIEM),
                ("Run", RUN),
                ("Run", &["--no-progress"]),
            ]),
        ),
        (
            &["live"],
            with(&[
                ("Inputs", INPUTS),
                ("Rules", RULES),
                ("Outputs", OUTPUTS),
                ("SIEM (syslog)", SIEM),
                ("Run", RUN),
                ("Run", &["--user"]),
                (
                    "Live capture",
                    &[
                        "--list-interfaces",
                        "--interface",
                        "--snaplen",
                        "--buffer-mb",
                        "--immediate",
                        "--bpf",
                    ],
                ),
                (
                    "Health",
                    &[
                        "--stats-interval",
                        "--loss-threshold",
                        "--stall-timeout",
                        "--metrics",
                    ],
                ),
                // `--audit-every` and how the periodic audit asks.
                ("Audit", AUDIT),
            ]),
        ),
        (
            &["check"],
            with(&[
                ("Inputs", &["--config", "--seen"]),
                ("Rules", RULES),
                ("Run", &["--verbose"]),
            ]),
        ),
        (
            &["baseline", "learn"],
            with(&[
                ("Inputs", &["--interface", "--duration", "--dns-port"]),
                ("Rules", &["--zone", "--ioc", "--allow", "--no-default-ioc"]),
                ("Outputs", &["--output", "--aggregate"]),
                ("Run", &["--verbose"]),
            ]),
        ),
        (
            &["baseline", "diff"],
            with(&[
                ("Inputs", &["--interface", "--duration", "--dns-port"]),
                ("Rules", &["--ioc", "--allow", "--no-default-ioc"]),
                ("Outputs", &["--write-merged"]),
                ("Run", &["--verbose"]),
            ]),
        ),
    ];
    for (subcommand, expected) in cases {
        let mut seen = help_headings(subcommand);
        seen.sort();
        assert_eq!(seen, expected, "dnsentry {}", subcommand.join(" "));
    }
    // The interface of a baseline is read, not learnt from.
    let o = bin().args(["baseline", "diff", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(!help.contains("Learn from"), "{help}");
}

/// Each mistake's error names its fix.
#[test]
fn output_errors_name_their_fix() {
    // Alerts go to stdout unless told otherwise: the error says so.
    let o = analyze(&[&demo(), "--dns-log", "-"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(
            "--dns-log - would share it with the alerts (--alerts, whose default is stdout)"
        ),
        "{}",
        stderr(&o)
    );
    let o = analyze(&[
        &demo(),
        "--alerts",
        "/dev/null",
        "--weird-log",
        "-",
        "--dns-log",
        "-",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--weird-log - would share it with the DNS log (--dns-log -)"),
        "{}",
        stderr(&o)
    );

    // With the alerts in a file, the DNS log has stdout.
    let dir = tempfile::tempdir().unwrap();
    let alerts = dir.path().join("out.json");
    let o = analyze(&[
        &demo(),
        "--alerts",
        alerts.to_str().unwrap(),
        "--dns-log",
        "-",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let log = stdout_lines(&o);
    assert_eq!(log.len(), 18);
    assert!(log.iter().all(|l| l["rcode_name"].is_string()));
    assert_eq!(read_json_lines(&alerts).len(), 8);

    // The cause once.
    let o = analyze(&[&demo(), "--alerts", "/no/such/dir/a.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o).trim_end(),
        "dnsentry: error: /no/such/dir/a.json: cannot create output: No such file or directory (os error 2)"
    );

    let o = analyze(&[&demo(), "--syslog", "127.0.0.1:514"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(
            "the URL needs a scheme: udp://, tcp:// or tls:// (did you mean udp://127.0.0.1:514?)"
        ),
        "{}",
        stderr(&o)
    );
}

/// `check` reports every bad line of every file in one go, each as
/// FILE:LINE: problem, and counts what is past 100 in a file.
#[test]
fn check_reports_every_error_of_every_file() {
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("feed.txt");
    std::fs::write(&feed, "192.0.2.1\nbad one\n300.1.2.3/99\nevil.example\n").unwrap();
    let allow = dir.path().join("allow.csv");
    let mut rows = String::from("indicator,type\n");
    for i in 0..150 {
        rows.push_str(&format!("x{i},ipv4\n"));
    }
    std::fs::write(&allow, rows).unwrap();
    let zones = dir.path().join("zones.toml");
    std::fs::write(
        &zones,
        "[[zone]]\nname = \"example.org\"\na = [\"192.0.2.0/24\", \"bogus\"]\nmx = [\"ex$ample.org\"]\n",
    )
    .unwrap();
    let o = bin()
        .args(["check", "--ioc"])
        .arg(&feed)
        .arg("--allow")
        .arg(&allow)
        .arg("--expect")
        .arg(&zones)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    let at = |path: &Path, line: u64| format!("{}:{line}: ", path.display());
    for (path, line) in [(&feed, 2), (&feed, 3), (&zones, 3), (&zones, 4)] {
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.starts_with(&at(path, line)))
                .count(),
            1,
            "{}:{line} in\n{err}",
            path.display()
        );
    }
    // Rows 2..=101 shown, the other 50 counted.
    for line in 2..=101 {
        assert!(
            lines.iter().any(|l| l.starts_with(&at(&allow, line))),
            "{err}"
        );
    }
    assert!(
        !lines.iter().any(|l| l.starts_with(&at(&allow, 102))),
        "{err}"
    );
    assert!(
        lines.contains(
            &format!(
                "{}50 more error(s) not shown (only the first 100 of a file are)",
                at(&allow, 0)
            )
            .as_str()
        ),
        "{err}"
    );
    assert_eq!(lines.len(), 2 + 100 + 1 + 2, "{err}");

    // Every bad setting of a config file too, each at its line.
    let config = dir.path().join("dnsentry.toml");
    std::fs::write(
        &config,
        "[outputs]\nfile_mode = \"0777\"\nalerts_format = \"splunk\"\n[run]\nthreads = 0\nsuppress = \"soon\"\n",
    )
    .unwrap();
    let o = bin()
        .arg("check")
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    for line in [2, 3, 5, 6] {
        assert_eq!(
            err.lines()
                .filter(|l| l.starts_with(&at(&config, line)))
                .count(),
            1,
            "{}:{line} in\n{err}",
            config.display()
        );
    }
    // A run names the first only.
    let o = analyze(&[&demo(), "--config", config.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o)
            .lines()
            .filter(|l| l.contains("dnsentry.toml"))
            .count(),
        1
    );

    // A run stops at the first.
    let o = analyze(&[&demo(), "--ioc", feed.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o)
            .lines()
            .filter(|l| l.contains("feed.txt"))
            .count(),
        1,
        "{}",
        stderr(&o)
    );
}

/// What `audit` refuses before it asks anything: no zones, a bad flag, a
/// bad root hints file (which `check` reports too, at its line).
#[test]
fn audit_refuses_to_start_without_zones_or_with_bad_settings() {
    let dir = tempfile::tempdir().unwrap();
    let o = bin().args(["audit", "--no-default-ioc"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("audit needs the zones to audit"),
        "{}",
        stderr(&o)
    );

    let zones = dir.path().join("zones.toml");
    std::fs::write(&zones, "[[zone]]\nname = \"example.test\"\n").unwrap();
    let o = bin()
        .args(["audit", "--parent-server", "ns1.example.test", "--expect"])
        .arg(&zones)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--parent-server \"ns1.example.test\": expected an address"),
        "{}",
        stderr(&o)
    );

    // Periodic audits are live's; and live's period must be a duration.
    let o = bin()
        .args(["audit", "--audit-every", "15m", "--expect"])
        .arg(&zones)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--audit-every and --consistency-grace are for live"),
        "{}",
        stderr(&o)
    );
    let o = bin()
        .args(["live", "-i", "lo", "--audit-every", "0s", "--expect"])
        .arg(&zones)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--audit-every \"0s\": must be more than 0"),
        "{}",
        stderr(&o)
    );

    let hints = dir.path().join("root.hints");
    std::fs::write(&hints, ". NS a.root.test.\na.root.test. A 10.0.0.300\n").unwrap();
    let o = bin()
        .args(["audit", "--root-hints"])
        .arg(&hints)
        .arg("--expect")
        .arg(&zones)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let want = format!("{}:2: \"10.0.0.300\" is not an address", hints.display());
    assert!(stderr(&o).contains(&want), "{}", stderr(&o));

    let config = dir.path().join("c.toml");
    std::fs::write(&config, "[audit]\nroot_hints = \"root.hints\"\n").unwrap();
    let o = bin()
        .args(["check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(&want), "{}", stderr(&o));
    std::fs::write(&hints, ". NS a.root.test.\na.root.test. A 10.0.0.1\n").unwrap();
    let o = bin()
        .args(["check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("root hints ok (1 root server addresses)"));
}
