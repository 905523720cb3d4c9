//! Alerts into a real rsyslog (started by each test on 127.0.0.1 high
//! ports): every transport, header and body, hostile names, an outage in
//! the middle of a live run, and a restart that delivers what was spooled.
//! rsyslog and its TLS module are installed by .ci/run; a test without
//! them fails saying so.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use hickory_proto::rr::RecordType;
use serde_json::Value;

use crate::common::live::{Netns, Sensor};
use crate::common::rsyslog::{
    Received, Rsyslog, parse_3164, parse_5424, parse_cef, parse_java_time, parse_leef,
};
use crate::common::{bin, project_file, read_json_lines};

/// Names an attacker controls, as they come off the wire: a line break,
/// CEF's and LEEF's separators, SD-PARAM's specials, NUL, bytes above
/// 0x7f, an escaped backslash, and a name of the full 255 octets.
fn hostile_names() -> Vec<String> {
    let long = format!(
        "{}.{}.{}.{}.example.com",
        "a".repeat(63),
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(49)
    );
    vec![
        "line\\010break\\013.example.com".into(),
        "pipe|eq=1.cs1=x.example.com".into(),
        "close]quote\"x=\"1\".example.com".into(),
        "nul\\000byte.example.com".into(),
        "high\\200\\255bytes.example.com".into(),
        "back\\\\slash.example.com".into(),
        long,
    ]
}

/// A feed whose file name and metadata carry separators and a line break.
fn hostile_feed(dir: &Path) -> PathBuf {
    let path = dir.join("feed|x=1 ]\".csv");
    std::fs::write(
        &path,
        "indicator,type,source,reference\n\
         203.0.113.66,ipv4,\"line one\nline two | cs2=forged ]\\\"\",\"ref=1|x\"\n",
    )
    .unwrap();
    path
}

/// Hostile names answered with AA19-024A and feed addresses.
fn hostile_capture(dir: &Path) -> PathBuf {
    use dnsentry::synth::{Exchange, Scenario, a, rr};
    let mut s = Scenario::new(1_547_200_000);
    for (i, name) in hostile_names().iter().enumerate() {
        let addr = if i % 2 == 0 {
            "185.20.187.8"
        } else {
            "203.0.113.66"
        };
        s.exchange(
            &Exchange::new("10.9.0.5", "10.9.0.53", name, RecordType::A).answer(rr(
                name,
                300,
                a(addr),
            )),
        );
    }
    let path = dir.join("hostile.pcap");
    s.write_pcap_file(&path).unwrap();
    path
}

fn analyze(args: &[&str]) -> Output {
    let out = bin().arg("analyze").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "dnsentry analyze {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn severity_code(alert: &Value) -> u8 {
    match alert["severity"].as_str() {
        Some("high") => 2,
        Some("medium") => 4,
        other => panic!("severity {other:?}"),
    }
}

fn by_input<'a>(got: &'a [Received], input: &str) -> Vec<&'a str> {
    got.iter()
        .filter(|r| r.input == input)
        .map(|r| r.raw.as_str())
        .collect()
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn every_alert_reaches_rsyslog_over_udp_tcp_and_tls_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let r = Rsyslog::start(dir.path());
    let feed = hostile_feed(dir.path());
    let hostile = hostile_capture(dir.path());
    let alerts_path = dir.path().join("alerts.json");
    let udp = format!("udp://127.0.0.1:{}", r.udp);
    let tcp = format!(
        "tcp://127.0.0.1:{}?format=3164&body=cef&framing=non-transparent&facility=local3",
        r.tcp
    );
    let tls = format!("tls://localhost:{}?body=leef&facility=daemon", r.tls);
    let mtls = format!("tls://127.0.0.1:{}?format=3164&body=eve", r.mtls);
    let tcp2 = format!(
        "tcp://127.0.0.1:{}?body=ecs&enterprise_number=61234",
        r.tcp2
    );
    let demo = project_file("pcaps/demo-hijack.pcap");
    let zones = project_file("pcaps/demo-hijack.zones.toml");
    let out = bin()
        .arg("analyze")
        .args([demo.as_path(), hostile.as_path()])
        .arg("--expect")
        .arg(&zones)
        .arg("--ioc")
        .arg(&feed)
        .arg("--alerts")
        .arg(&alerts_path)
        .args([
            "--syslog", &udp, "--syslog", &tcp, "--syslog", &tls, "--syslog", &mtls, "--syslog",
            &tcp2,
        ])
        .arg("--syslog-ca")
        .arg(&r.ca)
        .arg("--syslog-cert")
        .arg(&r.client_cert)
        .arg("--syslog-key")
        .arg(&r.client_key)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let alerts = read_json_lines(&alerts_path);
    let n = alerts.len();
    // 16 from the demo, one per hostile name.
    assert_eq!(n, 16 + hostile_names().len(), "{alerts:#?}");
    let got = r.wait_for(Duration::from_secs(20), |got| {
        ["udp", "tcp", "tls", "mtls", "tcp2"]
            .iter()
            .all(|i| by_input(got, i).len() >= n)
    });
    // Nothing more either: no record split in two.
    assert_eq!(got.len(), 5 * n, "{got:#?}");
    let host = hostname();
    // Two RFC 3164 destinations, one warning for the run.
    assert_eq!(
        stderr.matches("RFC 3164 syslog header has no year").count(),
        1,
        "{stderr}"
    );
    // Each event's unique id, as each format gives it: the same.
    let mut event_ids: Vec<Vec<String>> = vec![Vec::new(); n];

    // UDP: RFC 5424, JSON, local0.
    for (m, a) in by_input(&got, "udp").iter().zip(&alerts) {
        let p = parse_5424(m);
        assert_eq!(p.pri, 16 * 8 + severity_code(a), "{m}");
        assert_eq!(
            (p.hostname.as_str(), p.app.as_str()),
            (host.as_str(), "dnsentry")
        );
        assert!(p.procid.parse::<u32>().is_ok(), "{m}");
        assert_eq!(p.msgid, s(&a["kind"]));
        assert_eq!(p.timestamp, s(&a["ts"]));
        assert_eq!(p.sd_id, "dnsentry@32473");
        let mut want = vec![
            ("kind".to_string(), s(&a["kind"])),
            ("qname".to_string(), s(&a["qname"])),
            ("value".to_string(), s(&a["value"])),
        ];
        if a["ioc"].is_object() {
            want.push(("ioc".into(), s(&a["ioc"]["indicator"])));
        }
        if a["zone"].is_string() {
            want.push(("zone".into(), s(&a["zone"])));
        }
        want.push(("id".into(), s(&a["id"])));
        assert_eq!(p.sd, want, "{m}");
        let body: Value = serde_json::from_str(&p.msg).unwrap();
        assert_eq!(&body, a);
    }

    // TCP, newline-framed: RFC 3164, CEF, local3.
    for (i, (m, a)) in by_input(&got, "tcp").iter().zip(&alerts).enumerate() {
        let p = parse_3164(m);
        assert_eq!(p.pri, 19 * 8 + severity_code(a), "{m}");
        assert_eq!(p.hostname, host);
        assert!(p.tag.starts_with("dnsentry["), "{m}");
        let (header, pairs) = parse_cef(&p.msg);
        assert_eq!(
            header,
            [
                "CEF:0",
                "dnsentry",
                "dnsentry",
                env!("CARGO_PKG_VERSION"),
                &s(&a["rule"]["id"]),
                a["rule"]["name"].as_str().unwrap(),
                &s(&a["rule"]["severity"]),
            ]
        );
        // Standard keys first, then the labelled custom ones.
        // `cn1`.. (not `cnt`, a standard key) hold an indicator's numbers.
        let custom = |k: &str| {
            k.starts_with("cs")
                || k.strip_prefix("cn")
                    .is_some_and(|n| n.starts_with(|c: char| c.is_ascii_digit()))
                || k.starts_with("flexString")
        };
        let first_custom = pairs.iter().position(|(k, _)| custom(k)).unwrap();
        assert!(pairs[first_custom..].iter().all(|(k, _)| custom(k)), "{m}");
        let ext: std::collections::BTreeMap<String, String> = pairs.into_iter().collect();
        let get = |k: &str| ext.get(k).cloned().unwrap_or_default();
        assert_eq!(get("dvchost"), host, "{m}");
        assert_eq!(get("app"), "DNS", "{m}");
        assert_eq!(get("cat"), s(&a["rule"]["category"]), "{m}");
        assert_eq!(get("msg"), s(&a["message"]), "{m}");
        assert_eq!(get("cnt"), s(&a["count"]), "{m}");
        assert_eq!(get("flexString1Label"), "alertId", "{m}");
        assert_eq!(get("flexString1"), s(&a["id"]), "{m}");
        assert_eq!(get("flexString2Label"), "responseId", "{m}");
        assert_eq!(get("flexString2"), s(&a["response_id"]), "{m}");
        assert_eq!(get("src"), s(&a["src_ip"]), "{m}");
        assert_eq!(get("spt"), s(&a["src_port"]));
        assert_eq!(get("dst"), s(&a["dst_ip"]));
        assert_eq!(get("dpt"), s(&a["dst_port"]));
        assert_eq!(get("proto"), s(&a["transport"]).to_uppercase());
        event_ids[i].push(get("externalId"));
        assert_eq!(get("rt"), epoch_ms(&s(&a["ts"])));
        for (n, label, field) in [
            (1, "kind", s(&a["kind"])),
            (2, "qname", s(&a["qname"])),
            (3, "value", s(&a["value"])),
            (4, "indicator", s(&a["ioc"]["indicator"])),
            (5, "zone", s(&a["zone"])),
            (6, "feed", s(&a["ioc"]["feed"])),
        ] {
            if field.is_empty() {
                assert!(!ext.contains_key(&format!("cs{n}")), "{m}");
            } else {
                assert_eq!(get(&format!("cs{n}Label")), label, "{m}");
                assert_eq!(get(&format!("cs{n}")), field, "{m}");
            }
        }
        for (n, label, field) in [
            (1, "indicatorAgeDays", s(&a["ioc"]["age_days"])),
            (2, "indicatorConfidence", s(&a["ioc"]["confidence"])),
        ] {
            if field.is_empty() {
                assert!(!ext.contains_key(&format!("cn{n}")), "{m}");
            } else {
                assert_eq!(get(&format!("cn{n}Label")), label, "{m}");
                assert_eq!(get(&format!("cn{n}")), field, "{m}");
            }
        }
        // Nothing but the mapped keys: no field was injected.
        let mapped: Vec<String> = [
            "rt",
            "dvchost",
            "app",
            "cat",
            "src",
            "spt",
            "dst",
            "dpt",
            "proto",
            "externalId",
            "cnt",
            "msg",
        ]
        .iter()
        .map(|k| k.to_string())
        .chain((1..=6).flat_map(|n| [format!("cs{n}"), format!("cs{n}Label")]))
        .chain((1..=2).flat_map(|n| [format!("cn{n}"), format!("cn{n}Label")]))
        .chain((1..=2).flat_map(|n| [format!("flexString{n}"), format!("flexString{n}Label")]))
        .collect();
        for k in ext.keys() {
            assert!(mapped.contains(k), "injected CEF key {k:?} in {m}");
        }
    }

    // TLS (server certificate checked against the test's CA): RFC 5424,
    // LEEF 2.0 with a tab delimiter, daemon.
    for (i, (m, a)) in by_input(&got, "tls").iter().zip(&alerts).enumerate() {
        let p = parse_5424(m);
        assert_eq!(p.pri, 3 * 8 + severity_code(a), "{m}");
        let (header, attrs) = parse_leef(&p.msg);
        assert_eq!(
            header,
            [
                "LEEF:2.0",
                "dnsentry",
                "dnsentry",
                env!("CARGO_PKG_VERSION"),
                a["kind"].as_str().unwrap(),
                "x09"
            ]
        );
        let attrs: std::collections::BTreeMap<String, String> = attrs.into_iter().collect();
        let get = |k: &str| attrs.get(k).cloned().unwrap_or_default();
        // devTime as QRadar reads it: with devTimeFormat, to the
        // millisecond of the packet time.
        let dev_time = parse_java_time(&get("devTimeFormat"), &get("devTime"))
            .unwrap_or_else(|| panic!("devTime does not match devTimeFormat: {m:?}"));
        assert_eq!(
            dev_time.as_millisecond().to_string(),
            epoch_ms(&s(&a["ts"]))
        );
        assert_eq!(get("sev"), s(&a["rule"]["severity"]));
        assert_eq!(get("cat"), s(&a["rule"]["category"]));
        assert_eq!(get("ruleId"), s(&a["rule"]["id"]));
        assert_eq!(get("ruleName"), s(&a["rule"]["name"]));
        assert_eq!(get("sensor"), host);
        assert_eq!(get("msg"), s(&a["message"]), "{m:?}");
        assert_eq!(get("owner"), s(&a["owner"]), "{m:?}");
        assert_eq!(get("responseId"), s(&a["response_id"]));
        assert_eq!(get("count"), s(&a["count"]));
        event_ids[i].push(get("eventId"));
        assert_eq!(get("src"), s(&a["src_ip"]));
        assert_eq!(get("dst"), s(&a["dst_ip"]));
        assert_eq!(get("qname"), s(&a["qname"]), "{m:?}");
        assert_eq!(get("value"), s(&a["value"]));
        assert_eq!(get("indicator"), s(&a["ioc"]["indicator"]));
        assert_eq!(get("zone"), s(&a["zone"]));
        assert_eq!(get("alertId"), s(&a["id"]));
        // The feed's file name holds no control character, so it arrives
        // whole.
        assert_eq!(get("feed"), s(&a["ioc"]["feed"]));
        assert_eq!(get("indicatorAgeDays"), s(&a["ioc"]["age_days"]));
        assert_eq!(get("indicatorConfidence"), s(&a["ioc"]["confidence"]));
        assert_eq!(get("indicatorUrl"), s(&a["ioc"]["url"]));
    }

    // TLS with a client certificate: RFC 3164, Suricata's EVE.
    let mut eve = Vec::new();
    for (m, a) in by_input(&got, "mtls").iter().zip(&alerts) {
        let p = parse_3164(m);
        let body: Value = serde_json::from_str(&p.msg).unwrap();
        assert_eq!(body["event_type"], "alert", "{m}");
        assert_eq!(body["host"], host, "{m}");
        assert_eq!(a["sensor"], host, "{a}");
        assert_eq!(body["timestamp"], s(&a["ts"]).replace('Z', "+0000"), "{m}");
        assert_eq!(body["src_ip"], a["src_ip"]);
        assert_eq!(body["dest_ip"], a["dst_ip"]);
        assert_eq!(body["alert"]["signature_id"], a["rule"]["id"]);
        let md = &body["alert"]["metadata"];
        assert_eq!(md["alert_id"][0], a["id"]);
        assert_eq!(md["dnsentry_kind"][0], a["kind"]);
        assert_eq!(md["qname"][0], a["qname"]);
        assert_eq!(md["value"][0], a["value"]);
        assert_eq!(md["message"][0], a["message"]);
        assert_eq!(md["response_id"][0], a["response_id"]);
        if a["ioc"].is_object() {
            assert_eq!(md["indicator"][0], a["ioc"]["indicator"]);
            assert_eq!(md["ioc_source"][0], a["ioc"]["source"]);
            assert_eq!(md["ioc_url"][0], a["ioc"]["url"]);
            assert_eq!(s(&md["ioc_age_days"][0]), s(&a["ioc"]["age_days"]));
            assert_eq!(md["ioc_stale"][0], s(&a["ioc"]["stale"]));
        }
        if a["zone"].is_string() {
            assert_eq!(md["zone"][0], a["zone"]);
        }
        eve.push((format!("mtls:{}", eve.len() + 1), body));
    }
    assert_eq!(eve.len(), n);
    if cfg!(eve_schema) {
        let errors = crate::common::eve_schema_errors(&eve);
        assert!(errors.is_empty(), "{}", errors.join("\n"));
    }

    // TCP with its own enterprise number: RFC 5424, ECS.
    let mut ecs = Vec::new();
    for (i, (m, a)) in by_input(&got, "tcp2").iter().zip(&alerts).enumerate() {
        let p = parse_5424(m);
        assert_eq!(p.sd_id, "dnsentry@61234", "{m}");
        let doc: Value = serde_json::from_str(&p.msg).unwrap();
        assert_eq!(doc["@timestamp"], a["ts"], "{m}");
        assert_eq!(doc["message"], a["message"], "{m}");
        assert_eq!(doc["rule"]["id"], s(&a["rule"]["id"]));
        assert_eq!(doc["observer"]["name"], host);
        assert_eq!(doc["dns"]["question"]["name"], a["qname"]);
        assert_eq!(doc["destination"]["ip"], a["src_ip"]);
        assert_eq!(doc["source"]["ip"], a["dst_ip"]);
        let own = &doc["dnsentry"];
        assert_eq!(own["alert_id"], a["id"]);
        assert_eq!(own["value"], a["value"]);
        assert_eq!(own["owner"], a["owner"]);
        if a["ioc"].is_object() {
            assert_eq!(doc["threat"]["indicator"]["name"], a["ioc"]["indicator"]);
            assert_eq!(
                doc["threat"]["indicator"]["description"],
                a["ioc"]["source"]
            );
            assert_eq!(doc["threat"]["indicator"]["provider"], a["ioc"]["feed"]);
        }
        event_ids[i].push(s(&doc["event"]["id"]));
        ecs.push((format!("tcp2:{}", i + 1), doc));
    }
    assert_eq!(ecs.len(), n);
    let errors = crate::common::ecs::ecs_errors(&ecs);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    // CEF's externalId, LEEF's eventId and ECS's event.id name one event;
    // no two events share one.
    let mut unique = std::collections::BTreeSet::new();
    for ids in &event_ids {
        assert_eq!(ids.len(), 3, "{ids:?}");
        assert!(
            ids.iter().all(|id| id == &ids[0] && id.len() == 16),
            "{ids:?}"
        );
        assert!(unique.insert(ids[0].clone()), "{ids:?} twice");
    }

    // The hostile names made it through as their escaped selves.
    let qnames: Vec<String> = alerts.iter().map(|a| s(&a["qname"])).collect();
    assert!(
        qnames.contains(&"pipe|eq=1.cs1=x.example.com".to_string()),
        "{qnames:?}"
    );
    assert!(
        qnames.contains(&"line\\010break\\013.example.com".to_string()),
        "{qnames:?}"
    );
    assert!(qnames.iter().any(|q| q.len() > 250), "{qnames:?}");
    assert!(
        stderr.contains(&format!("queued={n} sent={n} spooled=0 pending=0")),
        "{stderr}"
    );
}

/// An RFC 3339 time as milliseconds since the epoch, as CEF's `rt`.
fn epoch_ms(ts: &str) -> String {
    ts.parse::<jiff::Timestamp>()
        .unwrap()
        .as_millisecond()
        .to_string()
}

#[test]
fn udp_messages_are_cut_to_the_size_limit_with_the_structured_data_whole() {
    let dir = tempfile::tempdir().unwrap();
    let r = Rsyslog::start(dir.path());
    let hostile = hostile_capture(dir.path());
    let stats = dir.path().join("stats.json");
    let url = format!("udp://127.0.0.1:{}?udp_max=480", r.udp);
    analyze(&[
        hostile.to_str().unwrap(),
        "--syslog",
        &url,
        "--alerts",
        "/dev/null",
        "--stats-json",
        stats.to_str().unwrap(),
    ]);
    let stats: Value = serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    let out = &stats["outputs"][1];
    assert_eq!(out["name"], format!("udp://127.0.0.1:{}", r.udp));
    let sent = out["sent"].as_u64().unwrap();
    assert!(sent > 0);
    let got = r.wait_for(Duration::from_secs(10), |g| g.len() as u64 >= sent);
    assert_eq!(got.len() as u64, sent);
    let mut cut = 0;
    for m in &got {
        assert!(m.raw.len() <= 480, "{} bytes: {}", m.raw.len(), m.raw);
        let p = parse_5424(&m.raw);
        assert_eq!(p.sd.first().map(|(k, _)| k.as_str()), Some("kind"));
        if serde_json::from_str::<Value>(&p.msg).is_err() {
            cut += 1;
        }
    }
    // Every alert's JSON is longer than 480 bytes with its header.
    assert_eq!(cut, sent);
    assert_eq!(out["truncated"].as_u64(), Some(sent));
}

/// The receiver is down for the whole first run: its alerts go to the
/// spool, the run says so, and the next run (receiver back) delivers them
/// first, in order, then its own; each exactly once.
#[test]
fn spooled_alerts_are_delivered_by_the_next_run_exactly_once_and_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Rsyslog::start(dir.path());
    r.stop();
    let spool = dir.path().join("spool");
    let demo = project_file("pcaps/demo-hijack.pcap");
    let zones = project_file("pcaps/demo-hijack.zones.toml");
    let hostile = hostile_capture(dir.path());
    let url = format!("tls://localhost:{}", r.tls);
    let ca = r.ca.clone();
    let run = |capture: &Path, alerts: &Path, extra: &[&str]| {
        let mut args = vec![
            capture.to_str().unwrap().to_string(),
            "--syslog".into(),
            url.clone(),
            "--syslog-ca".into(),
            ca.to_str().unwrap().into(),
            "--spool-dir".into(),
            spool.to_str().unwrap().into(),
            "--alerts".into(),
            alerts.to_str().unwrap().into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        analyze(&args)
    };
    let first = dir.path().join("first.json");
    let out = run(&demo, &first, &["--expect", zones.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("queued=16 sent=0 spooled=16 pending=16"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Undelivered messages stay in the spool"),
        "{stderr}"
    );
    assert!(r.received().is_empty());

    r.restart();
    let second = dir.path().join("second.json");
    let feed = hostile_feed(dir.path());
    let out = run(&hostile, &second, &["--ioc", feed.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected: Vec<Value> = read_json_lines(&first)
        .into_iter()
        .chain(read_json_lines(&second))
        .collect();
    assert_eq!(expected.len(), 16 + hostile_names().len());
    assert!(stderr.contains("recovered=16"), "{stderr}");
    r.wait_for(Duration::from_secs(10), |g| g.len() >= expected.len());
    // Give a duplicate time to show up.
    std::thread::sleep(Duration::from_millis(500));
    let got: Vec<Value> = r
        .received()
        .iter()
        .map(|m| serde_json::from_str(&parse_5424(&m.raw).msg).unwrap())
        .collect();
    assert_eq!(got, expected);
}

/// rsyslog is stopped in the middle of a live run and started again: the
/// alerts raised while it was away wait in the spool, and in the end
/// rsyslog holds every alert exactly once, in order, over TCP and TLS.
#[test]
fn receiver_stopped_mid_run_gets_every_alert_exactly_once() {
    let net = Netns::new("sy");
    let dir = tempfile::tempdir().unwrap();
    let mut r = Rsyslog::start_in(dir.path(), Some(&net.ns_b));
    let pcap = hostile_capture(dir.path());
    let per_replay = hostile_names().len();
    let tcp = format!("tcp://127.0.0.1:{}", r.tcp);
    let tls = format!("tls://localhost:{}?format=3164", r.tls);
    let spool = dir.path().join("spool");
    let feed = hostile_feed(dir.path());
    let sensor = Sensor::start(
        &net,
        dir.path(),
        &[
            "--suppress",
            "0",
            "--syslog",
            &tcp,
            "--syslog",
            &tls,
            "--syslog-ca",
            r.ca.to_str().unwrap(),
            "--spool-dir",
            spool.to_str().unwrap(),
            "--ioc",
            feed.to_str().unwrap(),
        ],
    );
    let detections = |n: usize| {
        sensor.wait_for(Duration::from_secs(20), |l| {
            l.iter().filter(|x| x["kind"] == "ioc_address").count() >= n
        })
    };
    let alerts_at = |got: &[Received], input: &str| -> Vec<Value> {
        got.iter()
            .filter(|m| m.input == input)
            .map(|m| match input {
                "tcp" => parse_5424(&m.raw).msg,
                _ => parse_3164(&m.raw).msg,
            })
            .map(|body| serde_json::from_str::<Value>(&body).unwrap())
            .filter(|v| v["kind"] == "ioc_address")
            .collect()
    };

    net.replay(&pcap, &["--pps", "200"]);
    detections(per_replay);
    r.wait_for(Duration::from_secs(20), |g| {
        alerts_at(g, "tcp").len() >= per_replay && alerts_at(g, "tls").len() >= per_replay
    });

    r.stop();
    net.replay(&pcap, &["--pps", "200"]);
    detections(2 * per_replay);
    // Spooled while the receiver is away, said in a health event.
    sensor.wait_for(Duration::from_secs(20), |l| {
        l.iter().any(|x| {
            x["kind"] == "sensor_health"
                && x["outputs"].as_array().is_some_and(|o| {
                    o.iter()
                        .filter(|o| o["spooled"].as_u64() >= Some(1))
                        .count()
                        == 2
                })
        })
    });

    r.restart();
    net.replay(&pcap, &["--pps", "200"]);
    detections(3 * per_replay);
    r.wait_for(Duration::from_secs(40), |g| {
        alerts_at(g, "tcp").len() >= 3 * per_replay && alerts_at(g, "tls").len() >= 3 * per_replay
    });
    let (code, stderr) = sensor.stop(Duration::from_secs(20));
    assert_eq!(code, Some(0), "{stderr}");
    std::thread::sleep(Duration::from_millis(500));

    let written: Vec<Value> = read_json_lines(&dir.path().join("alerts.json"))
        .into_iter()
        .filter(|x| x["kind"] == "ioc_address")
        .collect();
    assert_eq!(written.len(), 3 * per_replay);
    let got = r.received();
    assert_eq!(
        alerts_at(&got, "tcp"),
        written,
        "TCP: not exactly once, in order"
    );
    assert_eq!(
        alerts_at(&got, "tls"),
        written,
        "TLS: not exactly once, in order"
    );
    // The health events came over syslog too, with the output counters.
    assert!(
        got.iter()
            .any(|m| m.raw.contains(" sensor_health ") && m.raw.contains("\"outputs\""))
    );
}

#[test]
fn bad_syslog_settings_fail_before_the_run_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let demo = project_file("pcaps/demo-hijack.pcap");
    let missing_ca = dir.path().join("no-such-ca.pem");
    for (args, needle) in [
        (vec!["--syslog", "http://siem:80"], "scheme \"http\""),
        (vec!["--syslog", "tcp://siem?body=xml"], "body \"xml\""),
        (
            vec![
                "--syslog",
                "tls://siem",
                "--syslog-ca",
                missing_ca.to_str().unwrap(),
            ],
            "no-such-ca.pem",
        ),
    ] {
        let out = bin()
            .arg("analyze")
            .arg(&demo)
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(
            out.stdout.is_empty(),
            "{args:?}: alerts written before failing"
        );
    }
    let cfg = dir.path().join("dnsentry.toml");
    std::fs::write(
        &cfg,
        "[outputs]\nalerts = \"-\"\n\n[[outputs.syslog]]\nurl = \"tcp://siem:601\"\nbody = \"cef\"\n\n[[outputs.syslog]]\nurl = \"udp://siem?facility=local9\"\n",
    )
    .unwrap();
    let out = bin()
        .arg("check")
        .arg("--config")
        .arg(&cfg)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("dnsentry.toml:9:") && text.contains("facility \"local9\""),
        "{text}"
    );
}

/// The server's certificate is checked: against the wrong name, or without
/// the CA that signed it, nothing is sent, and what could not be delivered
/// is counted and makes the run exit 1.
#[test]
fn tls_refuses_a_server_with_the_wrong_name_or_an_unknown_ca() {
    let dir = tempfile::tempdir().unwrap();
    let r = Rsyslog::start(dir.path());
    let demo = project_file("pcaps/demo-hijack.pcap");
    let wrong_name = format!("tls://127.0.0.1:{}?server_name=siem.example.org", r.tls);
    let system_ca = format!("tls://localhost:{}", r.tls);
    for (url, ca) in [(&wrong_name, Some(&r.ca)), (&system_ca, None)] {
        let mut cmd = bin();
        cmd.arg("analyze").arg(&demo).args([
            "--alerts",
            "/dev/null",
            "--syslog",
            url,
            "--syslog-flush-timeout",
            "1",
        ]);
        if let Some(ca) = ca {
            cmd.arg("--syslog-ca").arg(ca);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{url}: {stderr}");
        assert!(stderr.contains("queued=8 sent=0"), "{url}: {stderr}");
        assert!(stderr.contains("8 message(s) lost"), "{url}: {stderr}");
        assert!(
            stderr.contains("certificate") || stderr.contains("Certificate"),
            "{url}: {stderr}"
        );
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(r.received().is_empty());
}

/// A listener on 127.0.0.1 that accepts and then either says nothing (a
/// plain syslog TCP receiver waits for the client to speak) or answers
/// `answer` (something else listening on the TLS port). Connections are
/// held open until the test ends.
fn plain_tcp_listener(answer: Option<&'static [u8]>) -> u16 {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for mut conn in listener.incoming().flatten() {
            if let Some(bytes) = answer {
                let _ = conn.write_all(bytes);
            }
            held.push(conn);
        }
    });
    port
}

/// tls:// at something that is not a TLS server: the handshake fails
/// within the flush timeout and says so, and the run ends within the
/// documented bound (about twice the flush timeout), its alerts counted
/// as lost.
#[test]
fn tls_to_a_plain_tcp_listener_fails_as_a_handshake_within_the_flush_timeout() {
    let demo = project_file("pcaps/demo-hijack.pcap");
    for (answer, why) in [
        (
            None,
            "no TLS answer within 2.0 s (is it a plain TCP listener?)",
        ),
        (
            Some(&b"HTTP/1.0 400 Bad Request\r\n\r\n"[..]),
            "received corrupt message",
        ),
    ] {
        let port = plain_tcp_listener(answer);
        let started = std::time::Instant::now();
        let o = bin()
            .args(["analyze", demo.to_str().unwrap(), "--alerts", "/dev/null"])
            .args(["--syslog", &format!("tls://127.0.0.1:{port}")])
            .args(["--syslog-flush-timeout", "2"])
            .output()
            .unwrap();
        let took = started.elapsed();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(
            err.contains(&format!(
                "TLS handshake with 127.0.0.1:{port} failed: {why}"
            )),
            "{err}"
        );
        assert!(!err.contains("temporarily unavailable"), "{err}");
        assert!(err.contains("8 message(s) lost"), "{err}");
        // Generous: the bound is twice the flush timeout, and it used to
        // take more than 10 s.
        assert!(took < Duration::from_secs(8), "took {took:?}\n{err}");
    }
}
