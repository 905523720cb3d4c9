//! Headless Chromium, for tests that look at a page as a person would:
//! a screenshot, the DOM after the page's scripts ran, and every request
//! the page made (Chromium's network log).
//!
//! Chromium is Debian's `chromium`, installed by `scripts/install-deps
//! --test` (as the Python modules other tests need are): without it the
//! tests fail, saying so. It runs as root here and in CI, hence
//! `--no-sandbox`; each run has a profile of its own in a temporary
//! directory and a deadline.
//!
//! Chromium makes requests of its own (component updates, the network
//! time, account checks) whatever the flags; the network log tells them
//! apart from the page's: those carry no initiator (`"not an origin"`) and
//! no file:// isolation key, while everything a file:// page loads carries
//! both.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long one Chromium run may take.
const DEADLINE: Duration = Duration::from_secs(120);

/// What Chromium made of a page.
pub struct Browsed {
    /// The DOM once the page loaded and its scripts ran.
    pub dom: String,
    /// URLs the page requested, over both runs.
    pub requests: Vec<String>,
    pub screenshot: PathBuf,
}

/// Where screenshots are kept: `target/report-screenshots/`, which CI
/// keeps as an artefact.
pub fn screenshot_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is target/tmp, whatever the target directory.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map_or_else(|| PathBuf::from("target"), Path::to_path_buf)
        .join("report-screenshots");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

fn chromium() -> Command {
    let found = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join("chromium"))
        .find(|p| p.is_file());
    let Some(bin) = found else {
        panic!("chromium is not on PATH: scripts/install-deps --test installs it");
    };
    Command::new(bin)
}

/// Runs Chromium headless on `url` with `extra` arguments; its stdout.
fn run(url: &str, profile: &Path, net_log: &Path, extra: &[String]) -> String {
    let mut cmd = chromium();
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .arg(format!("--log-net-log={}", net_log.display()))
    .args(extra)
    .arg(url)
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("chromium starts");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut out).map(|_| out)
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium on {url} took over {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = reader
        .join()
        .expect("reader thread")
        .expect("chromium's output");
    assert!(status.success(), "chromium on {url}: {status}");
    out
}

/// The URLs a page requested, from a network log.
pub fn page_requests(net_log: &Path) -> Vec<String> {
    let text =
        std::fs::read_to_string(net_log).unwrap_or_else(|e| panic!("{}: {e}", net_log.display()));
    let log: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{}: not a network log: {e}", net_log.display()));
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
        .as_u64()
        .expect("the network log names URL_REQUEST_START_JOB");
    let events = log["events"].as_array().expect("the network log's events");
    events
        .iter()
        .filter(|e| e["type"].as_u64() == Some(start_job))
        .filter_map(|e| {
            let p = &e["params"];
            let url = p["url"].as_str()?;
            let by_chromium = p["initiator"].as_str() == Some("not an origin")
                && !p["network_isolation_key"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("file://");
            (!by_chromium).then(|| url.to_string())
        })
        .collect()
}

/// Opens the file `page` in headless Chromium, 1280 pixels wide and
/// `height` high: a screenshot of that window kept as `NAME.png` in
/// [`screenshot_dir`], then the DOM after its scripts ran.
pub fn browse(page: &Path, name: &str, height: u32) -> Browsed {
    let page = page
        .canonicalize()
        .unwrap_or_else(|e| panic!("{}: {e}", page.display()));
    let url = format!("file://{}", page.display());
    let work = tempfile::tempdir().unwrap();
    let screenshot = screenshot_dir().join(format!("{name}.png"));
    let _ = std::fs::remove_file(&screenshot);
    let shot_log = work.path().join("screenshot.netlog.json");
    run(
        &url,
        &work.path().join("profile-screenshot"),
        &shot_log,
        &[
            format!("--screenshot={}", screenshot.display()),
            format!("--window-size=1280,{height}"),
        ],
    );
    assert!(
        std::fs::metadata(&screenshot).is_ok_and(|m| m.len() > 0),
        "no screenshot of {url}"
    );
    let dom_log = work.path().join("dom.netlog.json");
    let dom = run(
        &url,
        &work.path().join("profile-dom"),
        &dom_log,
        &[
            "--dump-dom".to_string(),
            format!("--window-size=1280,{height}"),
        ],
    );
    let mut requests = page_requests(&shot_log);
    requests.extend(page_requests(&dom_log));
    Browsed {
        dom,
        requests,
        screenshot,
    }
}
