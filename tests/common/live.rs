//! Network namespaces joined by a veth pair, and a `dnsentry live`
//! running in one of them: what the live and syslog tests share. Nothing
//! leaves the namespaces.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::read_written_json_lines;

/// Two namespaces and a veth pair, removed on drop.
pub struct Netns {
    pub ns_a: String,
    pub ns_b: String,
    pub veth_a: String,
    pub veth_b: String,
}

pub fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run `ip` (iproute2): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Netns {
    /// `tag`: a few characters unique to the test (interface names are
    /// limited to 15 bytes).
    pub fn new(tag: &str) -> Netns {
        let id = std::process::id() % 100_000;
        let n = Netns {
            ns_a: format!("dnsentry-{tag}-{id}-a"),
            ns_b: format!("dnsentry-{tag}-{id}-b"),
            veth_a: format!("de{tag}{id}a"),
            veth_b: format!("de{tag}{id}b"),
        };
        let setup = || -> Result<(), String> {
            ip(&["netns", "add", &n.ns_a])?;
            ip(&["netns", "add", &n.ns_b])?;
            ip(&[
                "link", "add", &n.veth_a, "netns", &n.ns_a, "type", "veth", "peer", "name",
                &n.veth_b, "netns", &n.ns_b,
            ])?;
            for (ns, dev) in [(&n.ns_a, &n.veth_a), (&n.ns_b, &n.veth_b)] {
                ip(&["-n", ns, "link", "set", "lo", "up"])?;
                ip(&["-n", ns, "link", "set", dev, "up"])?;
            }
            ip(&[
                "-n",
                &n.ns_a,
                "addr",
                "add",
                "198.18.200.1/30",
                "dev",
                &n.veth_a,
            ])?;
            ip(&[
                "-n",
                &n.ns_b,
                "addr",
                "add",
                "198.18.200.2/30",
                "dev",
                &n.veth_b,
            ])
        };
        if let Err(e) = setup() {
            panic!("the kernel refused the test's network namespaces (live tests need root): {e}");
        }
        n
    }

    pub fn exec_b(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns_b]).args(args);
        c
    }

    /// Replays `pcap` into the A end; returns the packets tcpreplay sent.
    pub fn replay(&self, pcap: &Path, rate: &[&str]) -> u64 {
        let out = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.ns_a,
                "tcpreplay",
                "-q",
                "-i",
                &self.veth_a,
            ])
            .args(rate)
            .arg(pcap)
            .output()
            .expect("tcpreplay (installed by .ci/run) must be on PATH");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "tcpreplay failed: {text}");
        let sent = text
            .split("Actual: ")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .and_then(|n| n.parse().ok());
        sent.unwrap_or_else(|| panic!("no packet count in tcpreplay output: {text}"))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.ns_a]);
        let _ = ip(&["netns", "del", &self.ns_b]);
    }
}

/// A running `dnsentry live` in namespace B.
pub struct Sensor {
    pub child: Child,
    pub alerts: PathBuf,
    pub stderr: PathBuf,
}

impl Sensor {
    pub fn start(net: &Netns, dir: &Path, extra: &[&str]) -> Sensor {
        let alerts = dir.join("alerts.json");
        let stderr = dir.join("stderr.txt");
        let mut args = vec![
            env!("CARGO_BIN_EXE_dnsentry"),
            "live",
            "-i",
            &net.veth_b,
            "--alerts",
            alerts.to_str().unwrap(),
            "--stats-interval",
            "1",
            "-v",
        ];
        args.extend_from_slice(extra);
        let child = net
            .exec_b(&args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let s = Sensor {
            child,
            alerts,
            stderr,
        };
        // Health events start once every capture thread runs.
        s.wait_for(Duration::from_secs(15), |lines| {
            lines.iter().any(|l| l["kind"] == "sensor_health")
        });
        s
    }

    pub fn lines(&self) -> Vec<Value> {
        if !self.alerts.exists() {
            return Vec::new();
        }
        read_written_json_lines(&self.alerts)
    }

    pub fn wait_for(&self, timeout: Duration, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let start = Instant::now();
        loop {
            let lines = self.lines();
            if done(&lines) {
                return lines;
            }
            assert!(
                start.elapsed() < timeout,
                "timed out; sensor stderr:\n{}",
                std::fs::read_to_string(&self.stderr).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn wait_stderr(&self, timeout: Duration, needle: &str) {
        let start = Instant::now();
        loop {
            let err = std::fs::read_to_string(&self.stderr).unwrap_or_default();
            if err.contains(needle) {
                return;
            }
            assert!(start.elapsed() < timeout, "no {needle:?} on stderr:\n{err}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until a health event shows `packets` packets read.
    pub fn wait_packets(&self, packets: u64) {
        self.wait_for(Duration::from_secs(30), |l| {
            l.iter().any(|x| {
                x["kind"] == "sensor_health"
                    && x["interfaces"][0]["packets"].as_u64() >= Some(packets)
            })
        });
    }

    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// SIGTERM, then the exit status (within `timeout`).
    pub fn stop(mut self, timeout: Duration) -> (Option<i32>, String) {
        self.signal("TERM");
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut err = String::new();
                std::fs::File::open(&self.stderr)
                    .unwrap()
                    .read_to_string(&mut err)
                    .unwrap();
                return (status.code(), err);
            }
            if start.elapsed() > timeout {
                let _ = self.child.kill();
                panic!("sensor did not stop within {timeout:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A test that fails leaves no sensor behind.
impl Drop for Sensor {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
