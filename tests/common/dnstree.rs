//! A small DNS hierarchy served by real NSD instances inside network
//! namespaces the test makes: a root (198.18.53.1), the `test.` TLD
//! (198.18.53.2) and the organisation's `example.test` on two servers
//! (198.18.53.11, and .12 which also has 2001:db8:53::12), each NSD with
//! its own config, zone files and pid file in the test's directory. The
//! servers live in namespace A, the auditor runs in namespace B
//! (198.18.53.200, 2001:db8:53::200), joined by a veth pair. B's default
//! route points into A (which forwards nothing), so a packet meant for
//! anywhere else would show on the veth: every audit is captured there and
//! each packet's addresses checked to be the test's. Every NSD and capture
//! is stopped and the namespaces removed on drop, whether the test passed
//! or not.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::live::{Netns, ip};
use crate::common::read_json_lines;

pub const ROOT: &str = "198.18.53.1";
pub const TLD: &str = "198.18.53.2";
pub const NS1: &str = "198.18.53.11";
pub const NS2: &str = "198.18.53.12";
/// Assigned to the servers' namespace, but nothing listens there.
pub const SILENT: &str = "198.18.53.13";
/// Serves another zone only: it refuses questions about example.test.
pub const LAME: &str = "198.18.53.14";
/// An Unbound resolver using the test's root.
pub const RESOLVER: &str = "198.18.53.20";
/// A second one, told a different address for www.example.test.
pub const POISONED: &str = "198.18.53.21";
/// Where a hijacked delegation points.
pub const EVIL: &str = "198.18.53.99";
pub const AUDITOR: &str = "198.18.53.200";
/// ns2's IPv6 address.
pub const NS2_V6: &str = "2001:db8:53::12";
pub const AUDITOR_V6: &str = "2001:db8:53::200";
/// Every address of the hierarchy is in one of these.
pub const NET_V4: &str = "198.18.53.0/24";
pub const NET_V6: &str = "2001:db8:53::/64";
/// A name with more addresses than a 1232-byte UDP answer holds.
pub const BIG: &str = "big.example.test";

/// The root zone: `test.` delegated to ns1.tld.test.
pub fn root_zone() -> String {
    format!(
        "$TTL 86400\n\
         . IN SOA ns.root.test. hostmaster.root.test. 1 1800 900 604800 86400\n\
         . IN NS ns.root.test.\n\
         test. IN NS ns1.tld.test.\n\
         ns1.tld.test. IN A {TLD}\n\
         ns.root.test. IN A {ROOT}\n"
    )
}

/// The TLD with `delegation`: the lines that delegate example.test
/// (NS and glue).
pub fn tld_zone(delegation: &str) -> String {
    format!(
        "$TTL 86400\n\
         test. IN SOA ns1.tld.test. hostmaster.tld.test. 1 1800 900 604800 86400\n\
         test. IN NS ns1.tld.test.\n\
         ns1.tld.test. IN A {TLD}\n\
         {delegation}"
    )
}

/// example.test's delegation as the organisation made it.
pub fn good_delegation() -> String {
    format!(
        "example.test. IN NS ns1.example.test.\n\
         example.test. IN NS ns2.example.test.\n\
         ns1.example.test. IN A {NS1}\n\
         ns2.example.test. IN A {NS2}\n\
         ns2.example.test. IN AAAA {NS2_V6}\n"
    )
}

/// example.test with its name servers, its mail exchange and www's
/// address as given.
pub fn org_zone(ns: &[&str], mx: &str, www: &str) -> String {
    let mut z = String::from(
        "$TTL 3600\n\
         example.test. IN SOA ns1.example.test. hostmaster.example.test. 2026113001 1800 900 604800 300\n",
    );
    for n in ns {
        z.push_str(&format!("example.test. IN NS {n}.\n"));
    }
    z.push_str(&format!(
        "example.test. IN MX 10 {mx}.\n\
         example.test. IN A 198.18.53.80\n\
         ns1.example.test. IN A {NS1}\n\
         ns2.example.test. IN A {NS2}\n\
         ns2.example.test. IN AAAA {NS2_V6}\n\
         mail.example.test. IN A 198.18.53.25\n\
         www.example.test. IN A {www}\n"
    ));
    // 100 addresses: about 1.6 kB, more than the 1232 bytes offered.
    for i in 1..=100 {
        z.push_str(&format!("{BIG}. IN A 198.18.54.{i}\n"));
    }
    z
}

/// `text` (a zone file of `zone`) signed with a new key-signing and
/// zone-signing key (ECDSA P-256, ldns-keygen and ldns-signzone), in
/// `dir`: the signed zone and the DS line for the parent.
pub fn sign(dir: &Path, zone: &str, text: &str) -> (String, String) {
    let dir = dir.join(format!("keys-{zone}"));
    std::fs::create_dir_all(&dir).unwrap();
    let keygen = |ksk: bool| -> String {
        let mut cmd = Command::new("ldns-keygen");
        cmd.current_dir(&dir).args(["-a", "ECDSAP256SHA256"]);
        if ksk {
            cmd.arg("-k");
        }
        let out = cmd
            .arg(zone)
            .output()
            .expect("ldns-keygen (scripts/install-deps --test) must be on PATH");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let ksk = keygen(true);
    let zsk = keygen(false);
    std::fs::write(dir.join("zone"), text).unwrap();
    let out = Command::new("ldns-signzone")
        .current_dir(&dir)
        .args(["-o", zone, "zone", &ksk, &zsk])
        .output()
        .expect("ldns-signzone (scripts/install-deps --test) must be on PATH");
    assert!(out.status.success(), "{out:?}");
    let signed = std::fs::read_to_string(dir.join("zone.signed")).unwrap();
    let ds = std::fs::read_to_string(dir.join(format!("{ksk}.ds"))).unwrap();
    (signed, ds)
}

/// What the organisation expects of example.test.
pub fn expect_file(extra_ns_addresses: &[&str]) -> String {
    let mut addrs = vec![
        format!("\"{NS1}\""),
        format!("\"{NS2}\""),
        format!("\"{NS2_V6}\""),
    ];
    addrs.extend(extra_ns_addresses.iter().map(|a| format!("\"{a}\"")));
    // `resolvers` is for captured answers: the servers the audit asks are
    // not in it, and must raise no `unexpected_resolver`.
    format!(
        "resolvers = [\"10.0.0.53\"]\n\
         [[zone]]\n\
         name = \"example.test\"\n\
         a = [\"198.18.53.0/26\", \"198.18.53.80\", \"198.18.54.0/24\"]\n\
         aaaa = [\"{NET_V6}\"]\n\
         ns = [\"ns1.example.test\", \"ns2.example.test\"]\n\
         mx = [\"mail.example.test\"]\n\
         ns_addresses = [{}]\n",
        addrs.join(", ")
    )
}

/// The root hints of the test's hierarchy.
pub fn root_hints() -> String {
    format!(
        ". 3600000 NS ns.root.test.\n\
         ns.root.test. 3600000 A {ROOT}\n"
    )
}

/// One NSD, stopped on drop (SIGTERM, so it stops its own children).
pub struct Nsd {
    child: Child,
    log: PathBuf,
}

impl Nsd {
    /// Serves `zone` from `text` on `addrs` inside namespace `ns`.
    pub fn start(ns: &str, dir: &Path, label: &str, addrs: &[&str], zone: &str, text: &str) -> Nsd {
        let dir = dir.join(label);
        std::fs::create_dir_all(&dir).unwrap();
        let d = dir.display();
        std::fs::write(dir.join("zone"), text).unwrap();
        let mut conf = String::from("server:\n");
        for a in addrs {
            conf.push_str(&format!("    ip-address: {a}\n"));
        }
        conf.push_str(&format!(
            "    port: 53\n    username: \"\"\n    chroot: \"\"\n    zonesdir: \"{d}\"\n\
             \x20   database: \"\"\n    zonelistfile: \"{d}/zone.list\"\n\
             \x20   xfrdfile: \"{d}/xfrd.state\"\n    xfrdir: \"{d}\"\n\
             \x20   pidfile: \"{d}/nsd.pid\"\n    logfile: \"{d}/nsd.log\"\n\
             \x20   server-count: 1\n    verbosity: 1\n\
             remote-control:\n    control-enable: no\n\
             zone:\n    name: \"{zone}\"\n    zonefile: \"zone\"\n"
        ));
        let conf_path = dir.join("nsd.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", ns, "nsd", "-d", "-c"])
            .arg(&conf_path)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("stderr.txt")).unwrap())
            .spawn()
            .expect("nsd (scripts/install-deps --test) must be on PATH");
        let nsd = Nsd {
            child,
            log: dir.join("nsd.log"),
        };
        nsd.wait_started();
        nsd
    }

    fn wait_started(&self) {
        let start = Instant::now();
        loop {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            if log.contains("nsd started") {
                return;
            }
            assert!(
                !log.contains("error") && start.elapsed() < Duration::from_secs(20),
                "NSD did not start: {log}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Nsd {
    fn drop(&mut self) {
        // `ip netns exec` execs NSD itself: the child's pid is NSD's main
        // process, which stops its server and xfrd children on SIGTERM.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One Unbound, stopped on drop.
pub struct Unbound {
    child: Child,
}

impl Unbound {
    /// A resolver on `addr` inside namespace `ns` whose root is the
    /// test's, without DNSSEC validation (`iterator` only), with
    /// `local_data` records of its own (`local-data` lines). `test.` is
    /// one of the names Unbound answers NXDOMAIN for itself (RFC 6761):
    /// here it is resolved.
    pub fn start(ns: &str, dir: &Path, label: &str, addr: &str, local_data: &[&str]) -> Unbound {
        let dir = dir.join(label);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("root.hints"), root_hints()).unwrap();
        let d = dir.display();
        let mut conf = format!(
            "server:\n    interface: {addr}\n    port: 53\n    do-daemonize: no\n\
             \x20   username: \"\"\n    chroot: \"\"\n    directory: \"{d}\"\n\
             \x20   pidfile: \"{d}/unbound.pid\"\n    logfile: \"{d}/unbound.log\"\n\
             \x20   use-syslog: no\n    verbosity: 1\n    num-threads: 1\n\
             \x20   root-hints: \"{d}/root.hints\"\n    module-config: \"iterator\"\n\
             \x20   access-control: 198.18.53.0/24 allow\n    do-ip6: no\n\
             \x20   qname-minimisation: no\n\
             \x20   local-zone: \"test.\" nodefault\n"
        );
        for l in local_data {
            conf.push_str(&format!("    local-data: \"{l}\"\n"));
        }
        conf.push_str("remote-control:\n    control-enable: no\n");
        let conf_path = dir.join("unbound.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", ns, "unbound", "-d", "-c"])
            .arg(&conf_path)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("stderr.txt")).unwrap())
            .spawn()
            .expect("unbound (scripts/install-deps --test) must be on PATH");
        let log = dir.join("unbound.log");
        let start = Instant::now();
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("start of service") {
                break;
            }
            assert!(
                !text.contains("error") && start.elapsed() < Duration::from_secs(20),
                "Unbound did not start: {text}{}",
                std::fs::read_to_string(dir.join("stderr.txt")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Unbound { child }
    }
}

impl Drop for Unbound {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The namespaces, the servers and the test's files. Fields drop in
/// order: the servers stop before their namespace goes.
pub struct Hierarchy {
    pub resolvers: Vec<Unbound>,
    pub servers: Vec<Nsd>,
    pub net: Netns,
    pub dir: tempfile::TempDir,
}

impl Hierarchy {
    /// The namespaces with every address of the hierarchy, no server yet.
    pub fn new(tag: &str) -> Hierarchy {
        let net = Netns::new(tag);
        let add = |ns: &str, dev: &str, addr: String| {
            // No duplicate address detection: the address is usable at
            // once, and the veth has no one else on it.
            let mut args = vec!["-n", ns, "addr", "add", &addr, "dev", dev];
            if addr.contains(':') {
                args.push("nodad");
            }
            ip(&args).unwrap();
        };
        for a in [ROOT, TLD, NS1, NS2, SILENT, LAME, EVIL, RESOLVER, POISONED] {
            add(&net.ns_a, &net.veth_a, format!("{a}/24"));
        }
        add(&net.ns_a, &net.veth_a, format!("{NS2_V6}/64"));
        add(&net.ns_b, &net.veth_b, format!("{AUDITOR}/24"));
        add(&net.ns_b, &net.veth_b, format!("{AUDITOR_V6}/64"));
        // Anything not for the hierarchy goes out on the veth, where the
        // capture sees it.
        ip(&["-n", &net.ns_b, "route", "add", "default", "via", ROOT]).unwrap();
        ip(&[
            "-n", &net.ns_b, "-6", "route", "add", "default", "via", NS2_V6,
        ])
        .unwrap();
        Hierarchy {
            resolvers: Vec::new(),
            servers: Vec::new(),
            net,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Starts an NSD for `zone` on `addrs`.
    pub fn serve(&mut self, label: &str, addrs: &[&str], zone: &str, text: &str) {
        let nsd = Nsd::start(&self.net.ns_a, self.dir.path(), label, addrs, zone, text);
        self.servers.push(nsd);
    }

    /// Starts an Unbound on `addr` with `local_data` of its own.
    pub fn resolve(&mut self, label: &str, addr: &str, local_data: &[&str]) {
        let u = Unbound::start(&self.net.ns_a, self.dir.path(), label, addr, local_data);
        self.resolvers.push(u);
    }

    /// Root, TLD (with `delegation`) and the organisation's two servers
    /// (serving `org`).
    pub fn standard(tag: &str, delegation: &str, org: &str) -> Hierarchy {
        let mut h = Hierarchy::new(tag);
        h.serve("root", &[ROOT], ".", &root_zone());
        h.serve("tld", &[TLD], "test.", &tld_zone(delegation));
        h.serve("org", &[NS1, NS2, NS2_V6], "example.test.", org);
        h
    }

    /// Runs `dnsentry audit` in the auditor's namespace with the expect
    /// file `expect`, the test's root hints and `extra` flags.
    pub fn audit(&self, expect: &str, extra: &[&str]) -> Audit {
        let dir = self.dir.path();
        let expect_path = dir.join("zones.toml");
        std::fs::write(&expect_path, expect).unwrap();
        let hints = dir.join("root.hints");
        std::fs::write(&hints, root_hints()).unwrap();
        // No resolver unless the test names one: the host's own are not
        // the test's.
        let resolv_conf = dir.join("resolv.conf");
        if !resolv_conf.exists() {
            std::fs::write(&resolv_conf, "").unwrap();
        }
        let alerts = dir.join("alerts.json");
        let stats = dir.join("stats.json");
        let dns_log = dir.join("dns.json");
        let _ = std::fs::remove_file(&alerts);
        let _ = std::fs::remove_file(&dns_log);
        let mut args: Vec<String> = [
            env!("CARGO_BIN_EXE_dnsentry"),
            "audit",
            "--expect",
            expect_path.to_str().unwrap(),
            "--root-hints",
            hints.to_str().unwrap(),
            "--resolv-conf",
            resolv_conf.to_str().unwrap(),
            "--name",
            "www.example.test",
            "--name",
            BIG,
            "--dns-log",
            dns_log.to_str().unwrap(),
            "--alerts",
            alerts.to_str().unwrap(),
            "--stats-json",
            stats.to_str().unwrap(),
            "--server-timeout",
            "500ms",
            "--retries",
            "1",
            "--rate",
            "50",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        let capture = Capture::start(&self.net, &dir.join("audit.pcap"));
        let out: Output = self
            .net
            .exec_b(&args.iter().map(String::as_str).collect::<Vec<_>>())
            .output()
            .unwrap();
        let packets = capture.stop();
        let outside: Vec<&(IpAddr, IpAddr)> = packets
            .iter()
            .filter(|(s, d)| !ours(*s) || !ours(*d))
            .collect();
        assert!(
            outside.is_empty(),
            "packets to or from outside the test's networks: {outside:?}"
        );
        Audit {
            packets,
            dns_log: read_json_lines(&dns_log),
            lines: read_json_lines(&alerts),
            stats: serde_json::from_str(&std::fs::read_to_string(&stats).unwrap_or_default())
                .unwrap_or(Value::Null),
            code: out.status.code(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// An address of the hierarchy, or one that never leaves the link (the
/// unspecified source and link-scope addresses of neighbour discovery).
fn ours(a: IpAddr) -> bool {
    if a.is_unspecified() {
        return true;
    }
    let nets: [ipnet::IpNet; 4] = [
        NET_V4.parse().unwrap(),
        NET_V6.parse().unwrap(),
        "fe80::/10".parse().unwrap(),
        "ff02::/16".parse().unwrap(),
    ];
    nets.iter().any(|n| n.contains(&a))
}

/// tcpdump on the auditor's end of the veth, stopped on drop.
struct Capture {
    child: Child,
    file: PathBuf,
}

impl Capture {
    fn start(net: &Netns, file: &Path) -> Capture {
        let err = file.with_extension("stderr");
        let child = net
            .exec_b(&[
                "tcpdump",
                // Each packet written as it comes: a buffered block would
                // be lost when the capture is stopped.
                "--immediate-mode",
                "-i",
                &net.veth_b,
                "-U",
                "-n",
                "-w",
                file.to_str().unwrap(),
            ])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .expect("tcpdump (scripts/install-deps --test) must be on PATH");
        let start = Instant::now();
        while !std::fs::read_to_string(&err)
            .unwrap_or_default()
            .contains("listening on")
        {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "tcpdump did not start: {}",
                std::fs::read_to_string(&err).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Capture {
            child,
            file: file.to_path_buf(),
        }
    }

    /// Stops the capture; every IP packet's (source, destination).
    fn stop(mut self) -> Vec<(IpAddr, IpAddr)> {
        // The last packets may still be on their way to tcpdump.
        std::thread::sleep(Duration::from_millis(300));
        self.terminate();
        let reader = pcap_file::pcap::PcapReader::new(std::fs::File::open(&self.file).unwrap());
        let mut reader = reader.expect("tcpdump wrote a pcap file");
        let mut out = Vec::new();
        while let Some(p) = reader.next_packet() {
            let p = p.unwrap();
            let sliced = etherparse::SlicedPacket::from_ethernet(&p.data).unwrap();
            match sliced.net {
                Some(etherparse::NetSlice::Ipv4(v4)) => out.push((
                    IpAddr::V4(v4.header().source_addr()),
                    IpAddr::V4(v4.header().destination_addr()),
                )),
                Some(etherparse::NetSlice::Ipv6(v6)) => out.push((
                    IpAddr::V6(v6.header().source_addr()),
                    IpAddr::V6(v6.header().destination_addr()),
                )),
                _ => {}
            }
        }
        out
    }

    fn terminate(&mut self) {
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// What one `dnsentry audit` run wrote.
pub struct Audit {
    /// Every IP packet on the auditor's interface: (source, destination).
    pub packets: Vec<(IpAddr, IpAddr)>,
    /// The DNS log: every answer as decoded.
    pub dns_log: Vec<Value>,
    pub lines: Vec<Value>,
    pub stats: Value,
    pub code: Option<i32>,
    pub stderr: String,
}

impl Audit {
    /// Detections (not sensor events) as (kind, owner, value, role,
    /// server), sorted.
    pub fn detections(&self) -> Vec<(String, String, String, String, String)> {
        let mut out: Vec<_> = self
            .lines
            .iter()
            .filter(|l| l["kind"] != "audit_failed")
            .map(|l| {
                let s = |v: &Value| v.as_str().unwrap_or("?").to_string();
                (
                    s(&l["kind"]),
                    s(&l["owner"]),
                    s(&l["value"]),
                    s(&l["source"]["audit"]["role"]),
                    s(&l["source"]["audit"]["server"]),
                )
            })
            .collect();
        out.sort();
        out
    }

    pub fn failures(&self) -> Vec<&Value> {
        self.lines
            .iter()
            .filter(|l| l["kind"] == "audit_failed")
            .collect()
    }
}
