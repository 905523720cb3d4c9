//! Elastic Common Schema output (`--alerts-format ecs`, `--dns-log-format
//! ecs`): every document from the demo, the scenario captures of the other
//! tests, audits of the audit tests' DNS hierarchy, sensor events and
//! every shared public capture (when present)
//! passes the check against ECS's own field list (tests/common/ecs.rs),
//! which refuses what ECS does not define; and each ECS alert says what
//! the native alert says.

use std::collections::BTreeSet;
use std::path::PathBuf;

use dnsentry::output::Format;
use serde_json::{Value, json};

use crate::common::ecs::{assert_ecs_valid, ecs_errors, schema};
use crate::common::{RunSpec, project_file, run};

/// Documents, each with a label saying where it is from.
type Labelled = Vec<(String, Value)>;

/// Alerts and DNS-log documents of `inputs` in `format`, each labelled.
fn run_in(
    format: Format,
    label: &str,
    inputs: Vec<PathBuf>,
    expect: Vec<PathBuf>,
    ports: &[u16],
) -> (Labelled, Labelled) {
    let r = run(RunSpec {
        inputs,
        expect_files: expect,
        dns_ports: ports,
        dns_log: true,
        format,
        ..RunSpec::default()
    });
    let label_all = |what: &str, docs: Vec<Value>| -> Vec<(String, Value)> {
        docs.into_iter()
            .enumerate()
            .map(|(i, d)| (format!("{label}:{what}:{}", i + 1), d))
            .collect()
    };
    (label_all("alert", r.alerts), label_all("dns", r.dns_log))
}

fn ecs_run(
    label: &str,
    inputs: Vec<PathBuf>,
    expect: Vec<PathBuf>,
    ports: &[u16],
) -> Vec<(String, Value)> {
    let (mut alerts, dns) = run_in(Format::Ecs, label, inputs, expect, ports);
    alerts.extend(dns);
    alerts
}

fn demo_inputs() -> (Vec<PathBuf>, Vec<PathBuf>) {
    (
        vec![project_file("pcaps/demo-hijack.pcap")],
        vec![project_file("pcaps/demo-hijack.zones.toml")],
    )
}

fn demo() -> Vec<(String, Value)> {
    let (inputs, expect) = demo_inputs();
    ecs_run("demo", inputs, expect, &[53])
}

#[test]
fn the_check_refuses_what_ecs_does_not_define() {
    let docs = demo();
    let (label, good) = docs[0].clone();
    assert!(schema().errors(&good).is_empty());
    let mut bad: Vec<(String, Value)> = Vec::new();
    let mut with = |what: &str, change: &dyn Fn(&mut Value)| {
        let mut doc = good.clone();
        change(&mut doc);
        bad.push((format!("{label}+{what}"), doc));
    };
    with("unknown top-level field", &|d| {
        d["kind"] = json!("ioc_address")
    });
    with("unknown field in an ECS object", &|d| {
        d["dns"]["question"]["qname"] = json!("x")
    });
    with("number for a keyword", &|d| d["dns"]["id"] = json!(6409));
    with("string for a long", &|d| {
        d["event"]["severity"] = json!("8")
    });
    with("not an address", &|d| d["source"]["ip"] = json!("10.1.2"));
    with("string for a long in a list of objects", &|d| {
        d["dns"]["answers"][0]["ttl"] = json!("300")
    });
    with("not a date", &|d| d["@timestamp"] = json!("10 Jan 2019"));
    with("list where ECS holds one value", &|d| {
        d["rule"]["id"] = json!(["9000001"])
    });
    with("value ECS does not allow", &|d| {
        d["event"]["category"] = json!(["dns"])
    });
    with("object for a keyword", &|d| {
        d["observer"]["name"] = json!({"x": 1})
    });
    with("dnsentry's own fields not an object", &|d| {
        d["dnsentry"] = json!("x")
    });
    let errors = ecs_errors(&bad);
    // One error per bad document, each naming the document it is about.
    assert_eq!(errors.len(), bad.len(), "{errors:#?}");
    for (label, _) in &bad {
        assert!(
            errors.iter().any(|e| e.starts_with(&format!("{label}: "))),
            "{label} passed: {errors:#?}"
        );
    }
}

#[test]
fn every_document_of_the_demo_passes_and_says_what_the_native_alert_says() {
    let docs = demo();
    assert_ecs_valid(&docs);
    let (inputs, expect) = demo_inputs();
    let (native, _) = run_in(
        Format::Native,
        "native",
        inputs.clone(),
        expect.clone(),
        &[53],
    );
    let (eve, _) = run_in(Format::Eve, "eve", inputs, expect, &[53]);
    let alerts: Vec<&Value> = docs
        .iter()
        .filter(|(l, _)| l.contains(":alert:"))
        .map(|(_, d)| d)
        .collect();
    assert_eq!(alerts.len(), 16);
    assert_eq!(docs.len(), 16 + 18);
    let mut event_ids = BTreeSet::new();
    for ((e, (_, a)), (_, v)) in alerts.iter().zip(&native).zip(&eve) {
        assert_eq!(e["@timestamp"], a["ts"]);
        assert_eq!(e["message"], a["message"]);
        assert_eq!(e["event"]["kind"], "alert");
        assert_eq!(e["event"]["dataset"], "dnsentry.alert");
        assert_eq!(e["event"]["severity"], a["rule"]["severity"]);
        assert_eq!(e["rule"]["id"], a["rule"]["id"].to_string());
        assert_eq!(e["rule"]["version"], a["rule"]["rev"].to_string());
        assert_eq!(e["rule"]["name"], a["rule"]["name"]);
        assert_eq!(e["rule"]["category"], a["rule"]["category"]);
        assert_eq!(e["rule"]["reference"], a["reference"][0]);
        // The client asked, the server answered.
        assert_eq!(e["source"]["ip"], a["dst_ip"]);
        assert_eq!(e["source"]["port"], a["dst_port"]);
        assert_eq!(e["destination"]["ip"], a["src_ip"]);
        assert_eq!(e["destination"]["port"], a["src_port"]);
        assert_eq!(e["network"]["transport"], a["transport"]);
        assert_eq!(e["network"]["protocol"], "dns");
        assert_eq!(e["network"]["community_id"], v["community_id"]);
        assert_eq!(e["dns"]["id"], a["txid"].to_string());
        assert_eq!(e["dns"]["question"]["name"], a["qname"]);
        assert_eq!(e["dns"]["question"]["type"], a["qtype"]);
        let answers: Vec<Value> = a["answers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r["class"] = json!("IN");
                r
            })
            .collect();
        assert_eq!(e["dns"]["answers"], json!(answers));
        let techniques: Vec<&str> = a["attack"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap())
            .collect();
        let mut ecs_techniques: Vec<&str> = e["threat"]["technique"]["id"]
            .as_array()
            .unwrap()
            .iter()
            .chain(
                e["threat"]["technique"]["subtechnique"]["id"]
                    .as_array()
                    .into_iter()
                    .flatten(),
            )
            .map(|t| t.as_str().unwrap())
            .collect();
        for t in &techniques {
            assert!(ecs_techniques.contains(t), "{t} missing: {e}");
        }
        ecs_techniques.retain(|t| !t.contains('.'));
        assert!(
            ecs_techniques
                .iter()
                .all(|p| techniques.iter().any(|t| t.starts_with(p))),
            "{e}"
        );
        assert_eq!(e["observer"]["name"], "test-sensor");
        assert_eq!(e["observer"]["type"], "sensor");
        assert_eq!(e["observer"]["product"], "dnsentry");
        assert!(e["observer"].get("ingress").is_none());
        let own = &e["dnsentry"];
        for (ecs_key, native_key) in [
            ("kind", "kind"),
            ("alert_id", "id"),
            ("count", "count"),
            ("response_id", "response_id"),
            ("value", "value"),
            ("owner", "owner"),
            ("remediation", "remediation"),
        ] {
            assert_eq!(own[ecs_key], a[native_key], "{ecs_key}");
        }
        if a["ioc"].is_object() {
            let ind = &e["threat"]["indicator"];
            assert_eq!(ind["name"], a["ioc"]["indicator"]);
            assert_eq!(ind["provider"], a["ioc"]["feed"]);
            assert_eq!(ind["description"], a["ioc"]["source"]);
            assert_eq!(ind["reference"], a["ioc"]["reference"]);
            match a["ioc"]["type"].as_str().unwrap() {
                "domain" => {
                    assert_eq!(ind["type"], "domain-name");
                    assert_eq!(ind["url"]["domain"], a["ioc"]["indicator"]);
                }
                _ => {
                    assert_eq!(ind["type"], "ipv4-addr");
                    assert_eq!(ind["ip"], a["ioc"]["indicator"]);
                }
            }
        } else {
            assert!(e["threat"].get("indicator").is_none());
            assert_eq!(own["zone"], a["zone"]);
        }
        assert!(event_ids.insert(e["event"]["id"].as_str().unwrap().to_string()));
    }
    // The delegation alerts carry both name servers of the response.
    let ns = alerts
        .iter()
        .find(|e| e["rule"]["id"] == "9000004")
        .unwrap();
    assert_eq!(ns["dns"]["answers"].as_array().unwrap().len(), 2);
    // A DNS-log document: an event, with the question's class and the DO
    // bit known.
    let logged = docs
        .iter()
        .find(|(l, _)| l.contains(":dns:"))
        .map(|(_, d)| d)
        .unwrap();
    assert_eq!(logged["event"]["kind"], "event");
    assert_eq!(logged["event"]["dataset"], "dnsentry.dns");
    assert_eq!(logged["dns"]["question"]["class"], "IN");
    assert_eq!(logged["dns"]["type"], "answer");
    assert!(logged.get("rule").is_none());
}

#[test]
fn every_document_of_the_scenario_captures_passes_and_every_kind_is_covered() {
    let dir = tempfile::tempdir().unwrap();
    let policy = crate::suite::scenarios::policy_capture(dir.path());
    let (race, _, _) = crate::suite::scenarios::race_capture(dir.path());
    let mixed = crate::suite::live::mixed_capture(dir.path());
    let zones = project_file("pcaps/demo-hijack.zones.toml");
    let mut docs = demo();
    docs.extend(ecs_run(
        "policy",
        vec![policy.pcap],
        vec![policy.zones],
        &[53],
    ));
    docs.extend(ecs_run("race", vec![race], Vec::new(), &[53]));
    docs.extend(ecs_run("tunnel-vlan", vec![mixed], vec![zones], &[53]));
    // dnssec_invalid and inconsistent_servers are raised by `dnsentry
    // audit` only (signatures checked against the keys it asked for,
    // servers compared with each other): audits of the test's DNS
    // hierarchy raise them, and an audit_failed event.
    docs.extend(crate::suite::audit::documents(Format::Ecs, "ac"));
    assert_ecs_valid(&docs);
    let kinds: BTreeSet<&str> = docs
        .iter()
        .filter(|(_, d)| d["event"]["kind"] == "alert")
        .filter_map(|(_, d)| d["dnsentry"]["kind"].as_str())
        .collect();
    use dnsentry::model::AlertKind;
    let mut all: BTreeSet<&str> = AlertKind::ALL.iter().map(|k| k.as_str()).collect();
    all.insert("audit_failed");
    assert_eq!(kinds, all);
    assert!(
        docs.iter()
            .any(|(_, d)| d["network"]["vlan"]["id"] == json!("12"))
    );
    assert!(
        docs.iter()
            .any(|(_, d)| d["dnsentry"]["tunnel"]["type"] == json!("vxlan"))
    );
    let conflict = docs
        .iter()
        .find(|(_, d)| d["dnsentry"]["kind"] == "conflicting_response")
        .unwrap();
    assert!(conflict.1["dnsentry"]["first"]["server"].is_string());
}

#[test]
fn sensor_events_pass_health_as_a_metric_blindness_as_alerts() {
    let (sources, events) = crate::common::sample_sensor_events();
    let docs: Vec<(String, Value)> = events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut out = Vec::new();
            dnsentry::output::ecs::write_sensor_event(&mut out, e, &sources).unwrap();
            (format!("sensor:{i}"), serde_json::from_slice(&out).unwrap())
        })
        .collect();
    assert_ecs_valid(&docs);
    let health = &docs[0].1;
    assert_eq!(health["event"]["kind"], "metric");
    assert_eq!(health["@timestamp"], "2026-11-27T17:20:19.284176Z");
    assert_eq!(health["rule"]["id"], "9000101");
    assert_eq!(health["observer"]["name"], "sensor-7");
    assert_eq!(health["dnsentry"]["interfaces"][0]["received"], 100);
    assert_eq!(health["dnsentry"]["audit"]["questions_asked"], 128);
    let loss = &docs[1].1;
    assert_eq!(loss["event"]["kind"], "alert");
    assert_eq!(loss["rule"]["id"], "9000102");
    assert_eq!(loss["observer"]["ingress"]["interface"]["name"], "eth1");
    assert!(
        loss["message"]
            .as_str()
            .unwrap()
            .starts_with("eth1 lost 4 of 104 packets")
    );
    assert_eq!(docs[2].1["rule"]["id"], "9000103");
    assert_ne!(docs[1].1["event"]["id"], docs[2].1["event"]["id"]);
}

#[test]
#[cfg_attr(
    not(public_captures),
    ignore = "public captures not found: run scripts/fetch-public-captures and set DNSENTRY_PUBLIC_CAPTURES (or place ../shared beside the repo)"
)]
fn every_document_of_every_shared_capture_passes() {
    let dir = crate::common::public_captures_dir();
    let mut docs = Vec::new();
    for name in crate::common::public_capture_names() {
        let path = dir.join(&name);
        docs.extend(ecs_run(&name, vec![path], Vec::new(), &[53, 5353, 8053]));
    }
    // The shared captures hold 735 responses and alerts together: far
    // fewer would mean captures went unread.
    assert!(docs.len() >= 700, "only {} documents", docs.len());
    assert_ecs_valid(&docs);
}

#[test]
fn alerts_past_the_per_response_bounds_say_what_they_leave_out_and_stay_valid() {
    let dir = tempfile::tempdir().unwrap();
    let (pcap, zones, _) = crate::common::hostile_answers_capture(dir.path(), 100);
    let docs = ecs_run("hostile-answers", vec![pcap], vec![zones], &[53]);
    let alerts: Vec<&Value> = docs
        .iter()
        .map(|(_, d)| d)
        .filter(|d| d["dnsentry"]["kind"].is_string())
        .collect();
    assert_eq!(alerts.len(), dnsentry::matcher::MAX_ALERTS_PER_RESPONSE);
    for a in &alerts {
        assert_eq!(a["dnsentry"]["response_records_omitted"], 68);
        assert_eq!(a["dns"]["answers"].as_array().unwrap().len(), 32);
    }
    assert_ecs_valid(&docs);
}
