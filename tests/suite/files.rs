//! Paths someone else may control: the spool and output files an
//! unprivileged user could have prepared, capture streams (stdin, FIFOs)
//! that can be read only once, and rule, config and TLS files that are not
//! regular files or are too large. Run as root, like the live tests: the
//! attacks need a second user (uid 65534) owning what it planted.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{bin, project_file, read_json_lines};

const NOBODY: u32 = 65534;

/// Far above any run of the demo capture: only a hang reaches it.
const HANG: Duration = Duration::from_secs(120);

fn demo() -> PathBuf {
    project_file("pcaps/demo-hijack.pcap")
}

fn zones() -> PathBuf {
    project_file("pcaps/demo-hijack.zones.toml")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json_lines(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Waits for `child` to end, collecting its output; a child that has not
/// ended by [`HANG`] is killed and the test fails.
fn finish(mut child: Child) -> Output {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > HANG {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("dnsentry hung; stderr:\n{}", stderr(&out));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// `dnsentry` with a 1 GiB address-space limit and umask 022: a reader
/// without a bound fails inside the limit instead of taking the machine's
/// memory, and file modes do not depend on who runs the tests.
fn limited() -> Command {
    let mut c = bin();
    // SAFETY: between fork and exec only async-signal-safe calls.
    unsafe {
        c.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 1 << 30,
                rlim_max: 1 << 30,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::umask(0o022);
            Ok(())
        });
    }
    c
}

fn run(args: &[&str]) -> Output {
    let child = limited()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    finish(child)
}

/// Alerts without the name of the input they came from.
fn without_source_file(mut alerts: Vec<Value>) -> Vec<Value> {
    for a in &mut alerts {
        a["source"].as_object_mut().unwrap().remove("file");
    }
    alerts
}

fn demo_alerts() -> Vec<Value> {
    let o = run(&[
        "analyze",
        demo().to_str().unwrap(),
        "--expect",
        zones().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let alerts = json_lines(&o.stdout);
    assert_eq!(alerts.len(), 16);
    without_source_file(alerts)
}

fn assert_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "these tests plant files as another user: run them as root"
    );
}

/// A file only root may read, with something in it to lose.
fn victim(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, "root-only secret\n").unwrap();
    std::fs::set_permissions(&p, PermissionsExt::from_mode(0o600)).unwrap();
    p
}

fn assert_untouched(p: &Path) {
    let m = std::fs::metadata(p).unwrap();
    assert_eq!(
        std::fs::read_to_string(p).unwrap(),
        "root-only secret\n",
        "{} was changed",
        p.display()
    );
    assert_eq!(m.uid(), 0, "{} changed owner", p.display());
    assert_eq!(m.mode() & 0o7777, 0o600, "{} changed mode", p.display());
}

/// A directory like `/tmp` (mode 1777) inside a new temporary one.
fn sticky_tmp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("tmp");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, PermissionsExt::from_mode(0o1777)).unwrap();
    (dir, shared)
}

/// A symbolic link owned by `uid`, as that user would have made it.
fn plant_symlink(target: &Path, link: &Path, uid: u32) {
    let _ = std::fs::remove_file(link);
    symlink(target, link).unwrap();
    std::os::unix::fs::lchown(link, Some(uid), Some(uid)).unwrap();
}

/// A closed TCP port on 127.0.0.1: a SIEM that is down.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

// ---- defect 1: spool and output files -------------------------------

/// An unprivileged user prepared the spool directory `analyze` (as root)
/// is told to use, with links to root's files in it. Nothing outside is
/// truncated, created or written: the directory is refused.
#[test]
fn spool_prepared_by_another_user_is_refused_and_nothing_outside_is_touched() {
    assert_root();
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    let spool = dir.path().join("spool");
    let sub = spool.join(format!("tcp_127.0.0.1_{port}"));
    std::fs::create_dir_all(&sub).unwrap();
    for d in [&spool, &sub] {
        std::os::unix::fs::chown(d, Some(NOBODY), Some(NOBODY)).unwrap();
    }
    let segment_victim = victim(dir.path(), "segment-victim");
    let head_victim = victim(dir.path(), "head-victim");
    let created = dir.path().join("created-by-root");
    plant_symlink(
        &segment_victim,
        &sub.join("00000000000000000000.seg"),
        NOBODY,
    );
    plant_symlink(&created, &sub.join("lock"), NOBODY);
    plant_symlink(&head_victim, &sub.join("head.tmp"), NOBODY);

    let o = run(&[
        "analyze",
        demo().to_str().unwrap(),
        "--alerts",
        "/dev/null",
        "--syslog",
        &format!("tcp://127.0.0.1:{port}"),
        "--spool-dir",
        spool.to_str().unwrap(),
        "--syslog-flush-timeout",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("uid 65534"), "{}", stderr(&o));
    assert_untouched(&segment_victim);
    assert_untouched(&head_victim);
    assert!(
        !created.exists(),
        "a file was created through a planted link"
    );
}

/// `/tmp`-like directories: anyone may put a link where the alerts are to
/// go. Such a link is never followed, whichever output it is, and a file
/// someone else left there is not taken over either.
#[test]
fn output_links_in_a_world_writable_sticky_directory_are_refused() {
    assert_root();
    let (dir, shared) = sticky_tmp();
    let target = victim(dir.path(), "victim");
    let link = shared.join("out.json");
    symlink(&target, &link).unwrap();
    for flag in ["--alerts", "--dns-log", "--weird-log"] {
        let o = run(&[
            "analyze",
            demo().to_str().unwrap(),
            flag,
            link.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{flag}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains(&format!("{}: cannot create output", link.display()))
                && err.contains("symbolic link"),
            "{flag}: {err}"
        );
        assert!(o.stdout.is_empty());
        assert_untouched(&target);
    }

    let planted = shared.join("planted.json");
    std::fs::write(&planted, "someone else's\n").unwrap();
    std::os::unix::fs::chown(&planted, Some(NOBODY), Some(NOBODY)).unwrap();
    let o = run(&[
        "analyze",
        demo().to_str().unwrap(),
        "--alerts",
        planted.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("uid 65534"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&planted).unwrap(),
        "someone else's\n"
    );

    // A file of one's own there is written as before.
    let own = shared.join("alerts.json");
    let o = run(&[
        "analyze",
        demo().to_str().unwrap(),
        "--alerts",
        own.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!read_json_lines(&own).is_empty());
}

/// Files a command writes whole when it ends: `--stats-json`, `baseline
/// learn -o`, `baseline diff --write-merged`, `report -o`. As root in
/// `/tmp`, each would have followed a link another user planted there and
/// cut the file it points to (the stats and learn outputs were written
/// with `std::fs::write`). Each is now refused before the command's work,
/// and a file of one's own there is replaced (not appended to), 0640.
#[test]
fn whole_file_outputs_follow_no_link_in_a_world_writable_directory() {
    assert_root();
    let (dir, shared) = sticky_tmp();
    let target = victim(dir.path(), "victim");
    let alerts = dir.path().join("alerts.json");
    let made = run(&[
        "analyze",
        demo().to_str().unwrap(),
        "--expect",
        zones().to_str().unwrap(),
        "--alerts",
        alerts.to_str().unwrap(),
    ]);
    assert_eq!(made.status.code(), Some(0), "{}", stderr(&made));
    let (demo, zones) = (demo(), zones());
    let (demo, zones, alerts) = (
        demo.to_str().unwrap(),
        zones.to_str().unwrap(),
        alerts.to_str().unwrap(),
    );
    let commands: [(&str, &[&str]); 4] = [
        (
            "stats",
            &["analyze", demo, "--alerts", "/dev/null", "--stats-json"],
        ),
        (
            "learned expect file",
            &["baseline", "learn", demo, "--zone", "example.org", "-o"],
        ),
        (
            "merged expect file",
            &["baseline", "diff", zones, demo, "--write-merged"],
        ),
        ("report", &["report", alerts, "-o"]),
    ];
    for (what, args) in commands {
        let link = shared.join(format!("{}.out", what.replace(' ', "-")));
        plant_symlink(&target, &link, NOBODY);
        let mut with_path = args.to_vec();
        with_path.push(link.to_str().unwrap());
        let o = run(&with_path);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{what}: {err}");
        assert!(
            err.contains(&link.display().to_string()) && err.contains("symbolic link"),
            "{what}: {err}"
        );
        assert_untouched(&target);

        // Where a file of one's own is, it is replaced whole, 0640.
        let runs_to = |path: &Path| {
            let mut with_path = args.to_vec();
            with_path.push(path.to_str().unwrap());
            let o = run(&with_path);
            assert!(
                matches!(o.status.code(), Some(0 | 1)),
                "{what}: {}",
                stderr(&o)
            );
        };
        let own = shared.join(format!("{}.own", what.replace(' ', "-")));
        std::fs::write(&own, "an earlier run's text\n").unwrap();
        runs_to(&own);
        let text = std::fs::read_to_string(&own).unwrap();
        assert!(
            !text.contains("an earlier run's text") && !text.is_empty(),
            "{what}: {text}"
        );
        let fresh = shared.join(format!("{}.new", what.replace(' ', "-")));
        runs_to(&fresh);
        let mode = std::fs::metadata(&fresh).unwrap().mode() & 0o7777;
        assert_eq!(mode, 0o640, "{what}: {mode:04o}");
    }
}

/// A file written whole at the end replaces what it held: given the path
/// of an input or of another output (another spelling or a hard link
/// included), it would have destroyed the capture or the alerts. Refused
/// before the run, with both named.
#[test]
fn whole_file_outputs_never_replace_an_input_or_another_output() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("evidence.pcap");
    std::fs::copy(demo(), &capture).unwrap();
    let linked = dir.path().join("linked.pcap");
    std::fs::hard_link(&capture, &linked).unwrap();
    let alerts = dir.path().join("alerts.json");
    let (c, l, a) = (
        capture.to_str().unwrap(),
        linked.to_str().unwrap(),
        alerts.to_str().unwrap(),
    );
    let a_again = format!("{}/./alerts.json", dir.path().display());
    let zones_path = zones();
    let z = zones_path.to_str().unwrap();
    let cases: [&[&str]; 5] = [
        &["analyze", c, "--alerts", a, "--stats-json", &a_again],
        &["analyze", c, "--alerts", "/dev/null", "--stats-json", l],
        &[
            "analyze",
            c,
            "--alerts",
            "/dev/null",
            "--dns-log",
            a,
            "--stats-json",
            a,
        ],
        &["baseline", "learn", c, "--zone", "example.org", "-o", l],
        &["baseline", "diff", z, c, "--write-merged", c],
    ];
    for args in cases {
        let o = run(args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("would destroy it"), "{args:?}: {err}");
        assert_eq!(
            std::fs::read(&capture).unwrap(),
            std::fs::read(demo()).unwrap()
        );
    }
    // The merged expect file may replace the expect file it was read from.
    let expect = dir.path().join("zones.toml");
    std::fs::copy(zones(), &expect).unwrap();
    let e = expect.to_str().unwrap();
    let o = run(&["baseline", "diff", e, c, "--write-merged", e]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        std::fs::read_to_string(&expect)
            .unwrap()
            .contains("PENDING REVIEW")
    );
}

/// Alerts, DNS log and weird log are created readable by owner and group
/// only: the alerts say what the organisation's DNS looks like.
#[test]
fn output_files_are_created_0640() {
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<PathBuf> = ["alerts.json", "dns.json", "weird.json"]
        .iter()
        .map(|n| dir.path().join(n))
        .collect();
    let o = run(&[
        "analyze",
        demo().to_str().unwrap(),
        "--alerts",
        paths[0].to_str().unwrap(),
        "--dns-log",
        paths[1].to_str().unwrap(),
        "--weird-log",
        paths[2].to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for p in &paths {
        let mode = std::fs::metadata(p).unwrap().mode() & 0o7777;
        assert_eq!(mode, 0o640, "{}: {mode:04o}", p.display());
    }
}

/// A restart (Restart=on-failure, a reboot, a second run by hand) never
/// erases what an earlier run wrote: every output file is appended to.
#[test]
fn a_second_run_appends_to_the_output_files() {
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<PathBuf> = ["alerts.json", "dns.json", "weird.json"]
        .iter()
        .map(|n| dir.path().join(n))
        .collect();
    // One message too short for a DNS header: one weird-log line.
    let weird = dir.path().join("weird.pcap");
    let mut s = dnsentry::synth::Scenario::new(1_700_000_000);
    s.raw_frame(dnsentry::synth::encap::ethernet_ip(
        &dnsentry::synth::encap::ip_udp(
            "10.0.0.53".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            53,
            4000,
            &[0, 4, 0x81],
        ),
    ));
    s.write_pcap_file(&weird).unwrap();
    let (demo, zones) = (demo(), zones());
    let args = [
        "analyze",
        demo.to_str().unwrap(),
        weird.to_str().unwrap(),
        "--expect",
        zones.to_str().unwrap(),
        "--alerts",
        paths[0].to_str().unwrap(),
        "--dns-log",
        paths[1].to_str().unwrap(),
        "--weird-log",
        paths[2].to_str().unwrap(),
        "--suppress",
        "0",
    ];
    let o = run(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let first: Vec<Vec<Value>> = paths.iter().map(|p| read_json_lines(p)).collect();
    assert_eq!(first[0].len(), 16, "the demo's alerts");
    assert_eq!(first[1].len(), 18, "the demo's responses");
    assert_eq!(first[2].len(), 1, "the short message");
    let o = run(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for (p, before) in paths.iter().zip(&first) {
        let after = read_json_lines(p);
        assert_eq!(after.len(), 2 * before.len(), "{}", p.display());
        assert_eq!(&after[..before.len()], &before[..], "{}", p.display());
        assert_eq!(&after[before.len()..], &before[..], "{}", p.display());
    }
}

#[test]
fn output_file_mode_is_configurable_and_validated() {
    let dir = tempfile::tempdir().unwrap();
    let alerts = dir.path().join("alerts.json");
    let o = run(&[
        "analyze",
        demo().to_str().unwrap(),
        "--alerts",
        alerts.to_str().unwrap(),
        "--output-mode",
        "0600",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(std::fs::metadata(&alerts).unwrap().mode() & 0o7777, 0o600);

    let config = dir.path().join("dnsentry.toml");
    let log = dir.path().join("dns.json");
    std::fs::write(
        &config,
        format!(
            "[outputs]\nalerts = \"-\"\ndns_log = \"{}\"\nfile_mode = \"0660\"\n",
            log.display()
        ),
    )
    .unwrap();
    let o = run(&[
        "analyze",
        demo().to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // umask 022 takes the group's write bit, as for any file created.
    assert_eq!(std::fs::metadata(&log).unwrap().mode() & 0o7777, 0o640);

    for (bad, problem) in [
        ("0666", "writable by anyone"),
        ("0644x", "not an octal mode"),
        ("01640", "only permission bits"),
    ] {
        let o = run(&["analyze", demo().to_str().unwrap(), "--output-mode", bad]);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("--output-mode \"{bad}\""))
                && stderr(&o).contains(problem),
            "{bad}: {}",
            stderr(&o)
        );
    }
    std::fs::write(&config, "[outputs]\n\nfile_mode = \"0777\"\n").unwrap();
    let o = bin()
        .args(["check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("{}:3: outputs.file_mode", config.display())),
        "{}",
        stderr(&o)
    );
}

// ---- defect 8: streams -----------------------------------------------

/// `cat demo.pcap | dnsentry analyze -` (and `/dev/stdin`): the stream is
/// read once, its format told from its first bytes.
#[test]
fn a_capture_on_stdin_gives_the_alerts_of_the_file() {
    let expected = demo_alerts();
    let bytes = std::fs::read(demo()).unwrap();
    for input in ["-", "/dev/stdin"] {
        let mut child = limited()
            .args(["analyze", input, "--expect", zones().to_str().unwrap()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let data = bytes.clone();
        // Written as a pipe delivers: in pieces, the header split.
        let writer = std::thread::spawn(move || {
            for piece in data.chunks(7) {
                if stdin.write_all(piece).is_err() {
                    return;
                }
            }
        });
        let o = finish(child);
        writer.join().unwrap();
        assert_eq!(o.status.code(), Some(0), "{input}: {}", stderr(&o));
        assert_eq!(
            without_source_file(json_lines(&o.stdout)),
            expected,
            "{input}"
        );
        assert!(stderr(&o).contains("alerts: 16"), "{input}: {}", stderr(&o));
    }
}

/// A pcapng on stdin, its interfaces of different link types: read once,
/// by the pure-Rust reader, the same as from a file.
#[test]
fn a_pcapng_on_stdin_is_read_whole() {
    use pcap_file::DataLink;
    use pcap_file::pcap::PcapReader;
    use pcap_file::pcapng::PcapNgWriter;
    use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
    use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock;

    let expected = demo_alerts();
    let mut reader = PcapReader::new(std::fs::File::open(demo()).unwrap()).unwrap();
    let mut w = PcapNgWriter::new(Vec::new()).unwrap();
    for link in [DataLink::RAW, DataLink::ETHERNET] {
        w.write_pcapng_block(InterfaceDescriptionBlock {
            linktype: link,
            snaplen: 0xffff,
            options: vec![],
        })
        .unwrap();
    }
    while let Some(p) = reader.next_packet() {
        let p = p.unwrap();
        w.write_pcapng_block(EnhancedPacketBlock {
            interface_id: 1,
            timestamp: p.timestamp,
            original_len: p.orig_len,
            data: p.data.into_owned().into(),
            options: vec![],
        })
        .unwrap();
    }
    let bytes = w.into_inner();
    let mut child = limited()
        .args(["analyze", "-", "--expect", zones().to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&bytes);
    });
    let o = finish(child);
    writer.join().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(without_source_file(json_lines(&o.stdout)), expected);
}

fn mkfifo(path: &Path) {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
}

/// `analyze` on a named pipe with the demo's zones, output captured.
fn analyze_fifo(fifo: &Path) -> std::process::Child {
    limited()
        .args([
            "analyze",
            fifo.to_str().unwrap(),
            "--expect",
            zones().to_str().unwrap(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A named pipe is opened and read once: the writer's data all arrive,
/// and the run ends when the writer closes.
#[test]
fn a_fifo_is_read_once_without_hanging() {
    let expected = demo_alerts();
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("capture.fifo");
    mkfifo(&fifo);
    let child = analyze_fifo(&fifo);
    let path = fifo.clone();
    let writer = std::thread::spawn(move || {
        // Blocks until the sensor opens the pipe; a sensor that reopens it
        // finds no writer any more, which is the hang this test catches.
        let mut w = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        let _ = w.write_all(&std::fs::read(demo()).unwrap());
    });
    let o = finish(child);
    writer.join().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(without_source_file(json_lines(&o.stdout)), expected);
}

/// A writer that goes quiet without closing: SIGTERM still ends the run,
/// after everything already written was analysed.
#[test]
fn sigterm_ends_a_run_waiting_on_a_quiet_fifo() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("capture.fifo");
    mkfifo(&fifo);
    let mut child = analyze_fifo(&fifo);
    // Returns once the sensor has opened the pipe, which it does after
    // taking over SIGTERM.
    let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    w.write_all(&std::fs::read(demo()).unwrap()).unwrap();
    // The pipe is drained once nothing more can be written without the
    // sensor reading: fill it, then wait for the sensor to take it all.
    let pid = i32::try_from(child.id()).unwrap();
    let start = Instant::now();
    loop {
        let mut queued: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int.
        let rc = unsafe {
            libc::ioctl(
                std::os::fd::AsRawFd::as_raw_fd(&w),
                libc::FIONREAD,
                &raw mut queued,
            )
        };
        assert_eq!(rc, 0);
        if queued == 0 || child.try_wait().unwrap().is_some() {
            break;
        }
        assert!(start.elapsed() < HANG, "the sensor never read the pipe");
        std::thread::sleep(Duration::from_millis(20));
    }
    if child.try_wait().unwrap().is_none() {
        // SAFETY: a signal to the child this test started, not yet reaped.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    }
    let o = finish(child);
    drop(w);
    // The writer never closed the pipe: the input was not read to its
    // end, which an interrupted run says (exit 1), with every alert of
    // what it did read written.
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("interrupted after packet"),
        "{}",
        stderr(&o)
    );
    assert_eq!(json_lines(&o.stdout).len(), 16);
}

// ---- defect 11: rule, config and TLS files ----------------------------

/// `/dev/zero` never ends: a reader without a bound takes all memory.
/// Every file that must be a regular file is refused at once, naming it.
#[test]
fn rule_config_and_tls_files_that_are_not_regular_files_fail_fast() {
    let d = demo();
    let demo = d.to_str().unwrap();
    let cases: [&[&str]; 5] = [
        &["analyze", demo, "--ioc", "/dev/zero"],
        &["analyze", demo, "--allow", "/dev/zero"],
        &["analyze", demo, "--expect", "/dev/zero"],
        &["analyze", demo, "--config", "/dev/zero"],
        &[
            "analyze",
            demo,
            "--syslog",
            "tls://127.0.0.1:6514",
            "--syslog-ca",
            "/dev/zero",
        ],
    ];
    for args in cases {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("/dev/zero") && stderr(&o).contains("not a regular file"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
    // `check` runs the same loaders.
    for args in [
        &["check", "--ioc", "/dev/zero"][..],
        &["check", "--expect", "/dev/zero"],
        &["check", "--config", "/dev/zero"],
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("/dev/zero:0:") && stderr(&o).contains("not a regular file"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
}

/// A sparse file one byte over each documented limit: refused before
/// anything is read into memory.
#[test]
fn rule_config_and_tls_files_over_their_size_limit_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sparse = |name: &str, size: u64| {
        let p = dir.path().join(name);
        std::fs::File::create(&p).unwrap().set_len(size).unwrap();
        p
    };
    let feed = sparse("feed.csv", (1 << 30) + 1);
    let zones = sparse("zones.toml", (64 << 20) + 1);
    let config = sparse("dnsentry.toml", (16 << 20) + 1);
    let ca = sparse("ca.pem", (16 << 20) + 1);
    let d = demo();
    let demo = d.to_str().unwrap();
    let cases = [
        (vec!["--ioc", feed.to_str().unwrap()], &feed, "1024 MiB"),
        (vec!["--expect", zones.to_str().unwrap()], &zones, "64 MiB"),
        (
            vec!["--config", config.to_str().unwrap()],
            &config,
            "16 MiB",
        ),
        (
            vec![
                "--syslog",
                "tls://127.0.0.1:6514",
                "--syslog-ca",
                ca.to_str().unwrap(),
            ],
            &ca,
            "16 MiB",
        ),
    ];
    for (flags, file, limit) in cases {
        let mut args = vec!["analyze", demo];
        args.extend(flags);
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains(&file.display().to_string())
                && err.contains(&format!("larger than the {limit} limit")),
            "{args:?}: {err}"
        );
    }
}

/// The feed limit leaves room for a million indicators, each row as long
/// as the longest of the built-in feed (which carries its provenance, its
/// reports' addresses and dates in every row; the longest, naming two
/// reports, is nearly twice the average), and for twice as many rows of
/// the built-in feed's average length.
#[test]
fn the_feed_limit_holds_a_million_indicators_with_their_provenance() {
    let rows: Vec<u64> = dnsentry::rules::BUILTIN_FEED
        .lines()
        .map(|l| l.len() as u64 + 1)
        .collect();
    let longest = rows.iter().copied().max().unwrap();
    let average = rows.iter().sum::<u64>() / rows.len() as u64;
    let limit = dnsentry::fsutil::FEED_MAX_BYTES;
    assert!(1_000_000 * longest < limit, "{longest}");
    assert!(2 * 1_000_000 * average < limit, "{average}");
}
