//! Intel that ages and is withdrawn, through the real binary: the same
//! answers in a 2019 capture and in a 2026 one, against STIX and MISP
//! feeds with lifecycles and the built-in feed.

use std::path::Path;
use std::process::Output;

use dnsentry::synth::{Exchange, Scenario, a, rr};
use hickory_proto::rr::RecordType;
use serde_json::Value;

use crate::common::bin;

/// 2019-02-01T00:00:00Z and 2026-02-01T00:00:00Z.
const FEB_2019: i64 = 1_548_979_200;
const FEB_2026: i64 = 1_769_904_000;

/// A STIX bundle: a live indicator (confidence 80, reported 2019-01-25),
/// a revoked one, one valid only until mid-2019, and a revocation of a
/// built-in AA19-024A address.
const STIX: &str = r#"{"type":"bundle","id":"bundle--1","objects":[
  {"type":"indicator","id":"indicator--live","name":"Live C2","confidence":80,
   "created":"2019-01-20T00:00:00Z","modified":"2019-01-25T00:00:00Z","valid_from":"2019-01-25T00:00:00Z",
   "external_references":[{"source_name":"report","url":"https://intel.example/reports/1"}],
   "pattern":"[ipv4-addr:value = '203.0.113.7']"},
  {"type":"indicator","id":"indicator--revoked","revoked":true,"valid_from":"2019-01-01T00:00:00Z",
   "pattern":"[ipv4-addr:value = '203.0.113.8']"},
  {"type":"indicator","id":"indicator--window","created":"2019-01-01T00:00:00Z","valid_from":"2019-01-01T00:00:00Z",
   "valid_until":"2019-06-30T00:00:00Z","pattern":"[ipv4-addr:value = '203.0.113.9']"},
  {"type":"indicator","id":"indicator--withdrawn","revoked":true,"valid_from":"2019-01-01T00:00:00Z",
   "pattern":"[ipv4-addr:value = '37.139.11.155']"}
]}"#;

/// A MISP event: one attribute for detection, one marked not for IDS.
const MISP: &str = r#"{"Event":{"info":"Sea Turtle follow-up","published":true,"date":"2019-01-28",
  "Attribute":[
    {"type":"ip-dst","value":"203.0.113.20","uuid":"a-1","to_ids":true},
    {"type":"ip-dst","value":"203.0.113.10","uuid":"a-2","to_ids":false}]}}"#;

/// One answer per address, every address of the feeds and one of the
/// built-in feed that nobody withdrew.
fn capture(dir: &Path, name: &str, start: i64) -> String {
    let mut s = Scenario::new(start);
    for (i, addr) in [
        "203.0.113.7",
        "203.0.113.8",
        "203.0.113.9",
        "37.139.11.155",
        "203.0.113.20",
        "203.0.113.10",
        "185.20.187.8",
    ]
    .into_iter()
    .enumerate()
    {
        let qname = format!("h{i}.example.org");
        s.exchange(
            &Exchange::new("10.0.0.2", "10.0.0.53", &qname, RecordType::A).answer(rr(
                &qname,
                60,
                a(addr),
            )),
        );
    }
    let path = dir.join(name);
    s.write_pcap_file(&path).unwrap();
    path.display().to_string()
}

struct Analysis {
    alerts: Vec<Value>,
    stats: Value,
    stderr: String,
}

fn analyze(dir: &Path, capture: &str, extra: &[&str]) -> Analysis {
    let stix = dir.join("intel.json");
    let misp = dir.join("misp.json");
    std::fs::write(&stix, STIX).unwrap();
    std::fs::write(&misp, MISP).unwrap();
    let stats = dir.join("stats.json");
    let o: Output = bin()
        .arg("analyze")
        .arg(capture)
        .arg("--ioc")
        .arg(&stix)
        .arg("--ioc")
        .arg(&misp)
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

/// (value, severity, numeric severity, age in days) of each native alert.
fn verdicts(alerts: &[Value]) -> Vec<(String, String, u64, i64)> {
    alerts
        .iter()
        .map(|a| {
            (
                a["value"].as_str().unwrap().to_string(),
                a["severity"].as_str().unwrap().to_string(),
                a["rule"]["severity"].as_u64().unwrap(),
                a["ioc"]["age_days"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn v(value: &str, severity: &str, number: u64, age: i64) -> (String, String, u64, i64) {
    (value.to_string(), severity.to_string(), number, age)
}

#[test]
fn the_same_answers_in_2019_and_2026_age_expire_and_stay_withdrawn() {
    let dir = tempfile::tempdir().unwrap();
    let old = capture(dir.path(), "2019.pcap", FEB_2019);
    let new = capture(dir.path(), "2026.pcap", FEB_2026);

    // 2019: everything live is fresh and high; the revoked ones (one the
    // built-in feed lists, withdrawn by a later feed) and the one not for
    // IDS raise nothing.
    let r = analyze(dir.path(), &old, &[]);
    assert_eq!(
        verdicts(&r.alerts),
        [
            v("203.0.113.7", "high", 8, 7),
            v("203.0.113.9", "high", 8, 31),
            v("203.0.113.20", "high", 8, 4),
            v("185.20.187.8", "high", 8, 7),
        ],
        "{}",
        r.stderr
    );
    let live = &r.alerts[0]["ioc"];
    assert_eq!(live["confidence"], 80);
    assert_eq!(live["url"], "https://intel.example/reports/1");
    assert_eq!(live["stale"], false);
    assert!(
        r.alerts[0]["reference"]
            .as_array()
            .unwrap()
            .contains(&Value::from("https://intel.example/reports/1"))
    );
    assert!(
        r.alerts[3]["ioc"]["url"]
            .as_str()
            .unwrap()
            .starts_with("https://www.crowdstrike.com/"),
        "the built-in feed names its reports"
    );
    assert_eq!(
        r.stats["ioc_ignored"],
        serde_json::json!({"revoked": 2, "not_for_ids": 1})
    );
    assert!(
        r.stderr.contains(
            "indicator matches ignored (retracted or outside their validity): not_for_ids=1 revoked=2"
        ),
        "{}",
        r.stderr
    );

    // 2026, the same answers: seven years on, every live indicator is past
    // the one-year age and alerts one level lower; the window has closed.
    let r = analyze(dir.path(), &new, &[]);
    assert_eq!(
        verdicts(&r.alerts),
        [
            v("203.0.113.7", "medium", 5, 2564),
            v("203.0.113.20", "medium", 5, 2561),
            v("185.20.187.8", "medium", 5, 2564),
        ]
    );
    assert_eq!(r.alerts[0]["ioc"]["stale"], true);
    assert!(
        r.alerts[0]["message"]
            .as_str()
            .unwrap()
            .ends_with("last reported 2564 days before this packet: past the maximum indicator age, so the severity is lowered"),
        "{}",
        r.alerts[0]["message"]
    );
    assert_eq!(
        r.stats["ioc_ignored"],
        serde_json::json!({"revoked": 2, "not_for_ids": 1, "expired": 1})
    );

    // The age rule is the operator's: a longer limit keeps them high.
    let r = analyze(dir.path(), &new, &["--ioc-max-age", "3650"]);
    let severities: Vec<&str> = r
        .alerts
        .iter()
        .map(|a| a["severity"].as_str().unwrap())
        .collect();
    assert_eq!(severities, ["high", "high", "high"]);

    // Every format writes the lowered severity: EVE's 1..3 scale.
    let r = analyze(dir.path(), &new, &["--alerts-format", "eve"]);
    let eve: Vec<(u64, &str)> = r
        .alerts
        .iter()
        .map(|a| {
            (
                a["alert"]["severity"].as_u64().unwrap(),
                a["alert"]["metadata"]["dnsentry_severity"][0]
                    .as_str()
                    .unwrap(),
            )
        })
        .collect();
    assert_eq!(eve, [(2, "medium"), (2, "medium"), (2, "medium")]);
}
