//! One build for every command: whatever `check` rejects, a run rejects
//! with the same FILE:LINE, and whatever `check` accepts, a run accepts.

use std::path::{Path, PathBuf};

use crate::common::{bin, project_file};

/// A bad setup: files to write (name, contents), the `--config` file
/// among them if any, extra flags, and the `FILE:LINE: ...` start both
/// commands must print (FILE relative to the scenario's directory).
struct Bad {
    what: &'static str,
    files: &'static [(&'static str, &'static str)],
    flags: &'static [&'static str],
    expect: (&'static str, u64, &'static str),
}

const BAD: &[Bad] = &[
    Bad {
        what: "unknown key in the config",
        files: &[(
            "c.toml",
            "[capture]\ninterfaces = [\"eth1\"]\nsnaplenn = 10\n",
        )],
        flags: &["--config", "c.toml"],
        expect: ("c.toml", 3, "unknown field `snaplenn`"),
    },
    Bad {
        what: "suppression window in the config",
        files: &[("c.toml", "[run]\nthreads = 2\nsuppress = \"forever\"\n")],
        flags: &["--config", "c.toml"],
        expect: ("c.toml", 3, "run.suppress \"forever\""),
    },
    Bad {
        what: "syslog flush timeout beyond the bound in the config",
        files: &[(
            "c.toml",
            "[outputs]\nsyslog_flush_timeout = 9223372036854775807\n",
        )],
        flags: &["--config", "c.toml"],
        expect: (
            "c.toml",
            2,
            "outputs.syslog_flush_timeout 9223372036854775807: longer than 365 days, the longest accepted",
        ),
    },
    Bad {
        what: "stats interval beyond the bound in the config",
        files: &[("c.toml", "[health]\n\nstats_interval = 31536001\n")],
        flags: &["--config", "c.toml"],
        expect: (
            "c.toml",
            3,
            "health.stats_interval 31536001: longer than 365 days",
        ),
    },
    Bad {
        what: "stall timeout beyond the bound in the config",
        files: &[("c.toml", "[health]\nstall_timeout = 9223372036854775807\n")],
        flags: &["--config", "c.toml"],
        expect: (
            "c.toml",
            2,
            "health.stall_timeout 9223372036854775807: longer than 365 days",
        ),
    },
    Bad {
        what: "suppression window beyond the bound in the config",
        files: &[("c.toml", "[run]\nsuppress = \"400days\"\n")],
        flags: &["--config", "c.toml"],
        expect: (
            "c.toml",
            2,
            "run.suppress \"400days\": longer than 365 days",
        ),
    },
    Bad {
        what: "audit rate out of range in the config",
        files: &[("c.toml", "[audit]\nrate = 0\n")],
        flags: &["--config", "c.toml"],
        expect: (
            "c.toml",
            2,
            "audit.rate 0: expected queries per second, more than 0 and at most 1000",
        ),
    },
    Bad {
        what: "audit parent server that is no address in the config",
        files: &[(
            "c.toml",
            "[audit]\n\nparent_servers = [\"192.0.2.1\", \"ns1.example\"]\n",
        )],
        flags: &["--config", "c.toml"],
        expect: (
            "c.toml",
            3,
            "audit.parent_servers \"ns1.example\": expected an address, ADDR:PORT or [IPv6]:PORT",
        ),
    },
    Bad {
        what: "audit resolver that is no address in the config",
        files: &[("c.toml", "[audit]\nresolvers = [\"resolver.example\"]\n")],
        flags: &["--config", "c.toml"],
        expect: (
            "c.toml",
            2,
            "audit.resolvers \"resolver.example\": expected an address, ADDR:PORT or [IPv6]:PORT",
        ),
    },
    Bad {
        what: "audit timeout of zero in the config",
        files: &[("c.toml", "[audit]\nserver_timeout = \"0s\"\n")],
        flags: &["--config", "c.toml"],
        expect: (
            "c.toml",
            2,
            "audit.server_timeout \"0s\": must be more than 0",
        ),
    },
    Bad {
        what: "threads out of range in the config",
        files: &[("c.toml", "\n[run]\nthreads = 0\n")],
        flags: &["--config", "c.toml"],
        expect: ("c.toml", 3, "run.threads 0 is not in 1..=1024"),
    },
    Bad {
        what: "loss threshold in the config",
        files: &[("c.toml", "[health]\nloss_threshold = 2.5\n")],
        flags: &["--config", "c.toml"],
        expect: (
            "c.toml",
            2,
            "health.loss_threshold 2.5 is not between 0 and 1",
        ),
    },
    Bad {
        what: "metrics address in the config",
        files: &[("c.toml", "[health]\n\nmetrics = \"localhost\"\n")],
        flags: &["--config", "c.toml"],
        expect: (
            "c.toml",
            3,
            "health.metrics \"localhost\" is not an address:port",
        ),
    },
    Bad {
        what: "syslog scheme in the config",
        files: &[(
            "c.toml",
            "[outputs]\nalerts = \"a.json\"\n\n[[outputs.syslog]]\nurl = \"ftp://siem:514\"\n",
        )],
        flags: &["--config", "c.toml"],
        expect: (
            "c.toml",
            5,
            "syslog output \"ftp://siem:514\": scheme \"ftp\"",
        ),
    },
    Bad {
        what: "syslog table without url",
        files: &[("c.toml", "[[outputs.syslog]]\nbody = \"cef\"\n")],
        flags: &["--config", "c.toml"],
        expect: ("c.toml", 1, "an [[outputs.syslog]] table has no url"),
    },
    Bad {
        what: "bad feed line named by the config",
        files: &[
            ("c.toml", "[rules]\nioc = [\"feed.txt\"]\n"),
            ("feed.txt", "192.0.2.1\n# fine\nbad example\n"),
        ],
        flags: &["--config", "c.toml"],
        expect: ("feed.txt", 3, "expected one indicator per line"),
    },
    Bad {
        what: "bad feed line given as a flag",
        files: &[("feed.txt", "evil.example\nevil example\n")],
        flags: &["--ioc", "feed.txt"],
        expect: ("feed.txt", 2, "expected one indicator per line"),
    },
    Bad {
        what: "bad expect file named by the config",
        files: &[
            ("c.toml", "[rules]\nexpect = [\"zones.toml\"]\n"),
            (
                "zones.toml",
                "[[zone]]\nname = \"example.org\"\na = [\"not-an-address\"]\n",
            ),
        ],
        flags: &["--config", "c.toml"],
        expect: ("zones.toml", 3, ""),
    },
    Bad {
        what: "unknown key in an expect file",
        files: &[("zones.toml", "[[zone]]\nname = \"example.org\"\nmxx = []\n")],
        flags: &["--expect", "zones.toml"],
        expect: ("zones.toml", 3, "unknown field `mxx`"),
    },
];

fn write_files(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

fn flags(dir: &Path, flags: &[&str]) -> Vec<PathBuf> {
    flags
        .iter()
        .map(|f| {
            if f.starts_with("--") {
                PathBuf::from(f)
            } else {
                dir.join(f)
            }
        })
        .collect()
}

#[test]
fn check_and_analyze_reject_the_same_files_at_the_same_line() {
    let demo = project_file("pcaps/demo-hijack.pcap");
    for case in BAD {
        let dir = tempfile::tempdir().unwrap();
        write_files(dir.path(), case.files);
        let args = flags(dir.path(), case.flags);
        let (file, line, message) = case.expect;
        let want = format!("{}:{line}: {message}", dir.path().join(file).display());

        let check = bin().arg("check").args(&args).output().unwrap();
        let check_err = String::from_utf8_lossy(&check.stderr);
        assert_eq!(
            check.status.code(),
            Some(1),
            "{}: check: {check_err}",
            case.what
        );
        assert!(
            check_err.contains(&want),
            "{}: check says\n{check_err}\nwant {want}",
            case.what
        );

        let run = bin()
            .arg("analyze")
            .arg(&demo)
            .args(&args)
            .args(["--alerts"])
            .arg(dir.path().join("alerts.json"))
            .output()
            .unwrap();
        let run_err = String::from_utf8_lossy(&run.stderr);
        assert_eq!(
            run.status.code(),
            Some(2),
            "{}: analyze: {run_err}",
            case.what
        );
        assert!(
            run_err.contains(&format!("dnsentry: error: {want}")),
            "{}: analyze says\n{run_err}\nwant {want}",
            case.what
        );
    }
}

#[test]
fn a_config_check_accepts_is_one_a_run_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("ok.toml");
    std::fs::write(
        &cfg,
        format!(
            "[rules]\nexpect = [{:?}]\n\n[outputs]\nalerts = \"alerts.json\"\n\n[run]\nthreads = 2\nsuppress = \"10m\"\n\n[health]\nloss_threshold = 0.05\nmetrics = \"127.0.0.1:0\"\n",
            project_file("pcaps/demo-hijack.zones.toml").display().to_string()
        ),
    )
    .unwrap();
    let check = bin()
        .args(["check", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let run = bin()
        .arg("analyze")
        .arg(project_file("pcaps/demo-hijack.pcap"))
        .args(["-q", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let alerts = std::fs::read_to_string(dir.path().join("alerts.json")).unwrap();
    assert_eq!(
        alerts.lines().count(),
        16,
        "the demo's alerts, in the config's file"
    );
}

/// Reloads run after `--user` dropped privileges. A feed only root can
/// read would load at start and then fail every reload, leaving the sensor
/// on stale rules: `check` says so, and `live` refuses to start.
#[test]
fn rule_files_the_user_cannot_read_are_refused_before_the_run() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let feed = dir.path().join("root-only.txt");
    std::fs::write(&feed, "192.0.2.1\n").unwrap();
    std::fs::set_permissions(&feed, std::fs::Permissions::from_mode(0o600)).unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        "[rules]\nioc = [\"root-only.txt\"]\n\n[run]\nuser = \"nobody\"\n",
    )
    .unwrap();
    let want = format!(
        "{}:0: user nobody cannot read this rule file",
        feed.display()
    );

    let check = bin()
        .args(["check", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&check.stderr);
    assert_eq!(check.status.code(), Some(1), "{err}");
    assert!(err.contains(&want), "{err}");

    // `live` must refuse before it opens anything; a sensor that starts
    // instead is stopped after a while and the test fails.
    let mut live = bin()
        .args(["live", "-i", "lo", "--config"])
        .arg(&cfg)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(s) = live.try_wait().unwrap() {
            break Some(s);
        }
        if std::time::Instant::now() > deadline {
            let _ = live.kill();
            let _ = live.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(live.stderr.as_mut().unwrap(), &mut err).unwrap();
    let status =
        status.unwrap_or_else(|| panic!("live started with a rule file nobody can read: {err}"));
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains(&want), "{err}");

    // Readable by the user: accepted.
    std::fs::set_permissions(&feed, std::fs::Permissions::from_mode(0o644)).unwrap();
    let check = bin()
        .args(["check", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

/// The keys serde accepts in one table of the config file, as its own
/// "unknown field" error lists them (the structs of src/config/file.rs
/// deny unknown fields).
fn accepted_keys(table: &str) -> Vec<String> {
    let probe = format!("{table}\nno_such_key_at_all = 1\n");
    let e = toml::from_str::<dnsentry::config::file::FileConfig>(&probe)
        .unwrap_err()
        .to_string();
    let expected = e
        .split("expected")
        .nth(1)
        .unwrap_or_else(|| panic!("no field list in: {e}"));
    let keys: Vec<String> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    assert!(!keys.is_empty(), "{e}");
    keys
}

/// Every key of every table of the config file is in dnsentry.example.toml,
/// set or commented, in its own table: a field added to src/config/file.rs
/// and not documented there fails here.
#[test]
fn the_example_config_documents_every_key() {
    let example = std::fs::read_to_string(project_file("dnsentry.example.toml")).unwrap();
    // Keys by table, from `[table]` / `# [[table]]` headers and
    // `key =` / `# key =` lines.
    let mut documented: Vec<(String, String)> = Vec::new();
    let mut table = String::new();
    for line in example.lines() {
        let bare = line.trim_start_matches('#').trim();
        if bare.starts_with('[') && bare.ends_with(']') {
            table = bare.trim_matches(['[', ']']).to_string();
            // A table documents its key in the table above it
            // (`[[outputs.syslog]]` is `syslog` of `[outputs]`).
            if let Some((parent, key)) = table.rsplit_once('.') {
                documented.push((parent.to_string(), key.to_string()));
            }
            continue;
        }
        if let Some((key, _)) = bare.split_once('=') {
            let key = key.trim();
            if !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                documented.push((table.clone(), key.to_string()));
            }
        }
    }
    let sections = accepted_keys("");
    assert_eq!(
        sections,
        ["rules", "outputs", "capture", "health", "run", "audit"]
    );
    let mut tables: Vec<(String, String)> = sections
        .iter()
        .map(|s| (s.clone(), format!("[{s}]")))
        .collect();
    tables.push((
        "outputs.syslog".into(),
        "[[outputs.syslog]]\nurl = \"udp://x\"".into(),
    ));
    for (name, header) in tables {
        for key in accepted_keys(&header) {
            assert!(
                documented.contains(&(name.clone(), key.clone())),
                "dnsentry.example.toml does not document `{key}` in [{name}]"
            );
        }
    }
}

/// The install recipe: the example copied elsewhere passes `check` from
/// yet another directory (no path in it is relative to the source tree).
#[test]
fn the_example_config_checks_clean_once_installed() {
    let etc = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let installed = etc.path().join("dnsentry.toml");
    std::fs::copy(project_file("dnsentry.example.toml"), &installed).unwrap();
    let o = bin()
        .current_dir(cwd.path())
        .args(["check", "--config"])
        .arg(&installed)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(err.is_empty(), "{err}");
    assert!(out.contains("config ok (interfaces: eth1)"), "{out}");
}
