//! Suricata EVE output (`--alerts-format eve`, `--dns-log-format eve`):
//! every event from the demo, the scenario captures of the other tests,
//! audits of the audit tests' DNS hierarchy and every shared public
//! capture validates against Suricata's own JSON
//! schema (found beside the public captures; without it these tests are
//! reported as ignored, never passed), and follows Suricata's conventions.

use std::collections::BTreeSet;
use std::path::PathBuf;

use dnsentry::output::Format;
use serde_json::{Value, json};

use crate::common::{RunSpec, assert_eve_valid, eve_schema_errors, project_file, run};

/// Alerts and DNS-log events of `inputs` in EVE, each labelled.
fn eve_run(
    label: &str,
    inputs: Vec<PathBuf>,
    expect: Vec<PathBuf>,
    ports: &[u16],
) -> Vec<(String, Value)> {
    let r = run(RunSpec {
        inputs,
        expect_files: expect,
        dns_ports: ports,
        dns_log: true,
        format: Format::Eve,
        ..RunSpec::default()
    });
    let alerts = r
        .alerts
        .into_iter()
        .enumerate()
        .map(|(i, e)| (format!("{label}:alert:{}", i + 1), e));
    let dns = r
        .dns_log
        .into_iter()
        .enumerate()
        .map(|(i, e)| (format!("{label}:dns:{}", i + 1), e));
    alerts.chain(dns).collect()
}

fn demo() -> Vec<(String, Value)> {
    eve_run(
        "demo",
        vec![project_file("pcaps/demo-hijack.pcap")],
        vec![project_file("pcaps/demo-hijack.zones.toml")],
        &[53],
    )
}

#[test]
#[cfg_attr(
    not(eve_schema),
    ignore = "Suricata's EVE schema not found: run scripts/fetch-public-captures (it sits in schemas/ beside DNSENTRY_PUBLIC_CAPTURES, or ../shared/schemas)"
)]
fn the_schema_check_refuses_what_suricata_would_not_write() {
    let events = demo();
    let (label, good) = events[0].clone();
    let mut extra = good.clone();
    extra["kind"] = json!("ioc_address");
    let mut wrong_type = good.clone();
    wrong_type["alert"]["severity"] = json!("high");
    let mut bad_time = good;
    bad_time["timestamp"] = json!("2019-01-10T09:00:02.262345Z");
    let errors = eve_schema_errors(&[
        (format!("{label}+kind"), extra),
        (format!("{label}+severity"), wrong_type),
        (format!("{label}+time"), bad_time),
    ]);
    assert_eq!(errors.len(), 3, "{errors:#?}");
}

#[test]
#[cfg_attr(
    not(eve_schema),
    ignore = "Suricata's EVE schema not found: run scripts/fetch-public-captures (it sits in schemas/ beside DNSENTRY_PUBLIC_CAPTURES, or ../shared/schemas)"
)]
fn every_event_of_the_demo_validates_and_follows_suricatas_conventions() {
    let events = demo();
    assert_eve_valid(&events);
    let alerts: Vec<&Value> = events
        .iter()
        .filter(|(l, _)| l.contains(":alert:"))
        .map(|(_, e)| e)
        .collect();
    let dns: Vec<&Value> = events
        .iter()
        .filter(|(l, _)| l.contains(":dns:"))
        .map(|(_, e)| e)
        .collect();
    assert_eq!(alerts.len(), 16);
    assert_eq!(dns.len(), 18);

    let a = alerts[0];
    assert_eq!(a["event_type"], "alert");
    assert_eq!(a["timestamp"], "2019-01-10T09:00:02.262345+0000");
    // A response: from the server to the client, as Suricata 8 logs it.
    assert_eq!(a["src_ip"], "10.1.0.53");
    assert_eq!(a["src_port"], 53);
    assert_eq!(a["dest_ip"], "10.1.2.20");
    assert_eq!(a["proto"], "UDP");
    assert_eq!(a["direction"], "to_client");
    assert_eq!(a["host"], "test-sensor");
    assert!(
        a["pcap_filename"]
            .as_str()
            .unwrap()
            .ends_with("demo-hijack.pcap")
    );
    assert!(a.get("in_iface").is_none());
    assert_eq!(a["pcap_cnt"], 20);
    assert_eq!(a["app_proto"], "dns");
    let rule = &a["alert"];
    assert_eq!(rule["action"], "allowed");
    assert_eq!(rule["gid"], 1);
    assert_eq!(rule["signature_id"], 9_000_001);
    assert_eq!(rule["rev"], 1);
    assert_eq!(rule["severity"], 1);
    let md = &rule["metadata"];
    assert_eq!(md["dnsentry_kind"], json!(["ioc_address"]));
    assert_eq!(md["indicator"], json!(["185.20.187.8"]));
    assert_eq!(md["feed"], json!(["builtin:aa19-024a.csv"]));
    assert_eq!(md["mitre_technique_id"], json!(["T1584.002", "T1557"]));
    assert!(
        md["message"][0]
            .as_str()
            .unwrap()
            .starts_with("mail.example.org A answered 185.20.187.8, an AA19-024A indicator")
    );
    assert_eq!(
        rule["references"][0],
        "https://www.cisa.gov/news-events/alerts/2019/01/24/dns-infrastructure-hijacking-campaign"
    );
    assert_eq!(a["dns"]["version"], 3);
    assert_eq!(a["dns"]["type"], "response");
    assert_eq!(
        a["dns"]["queries"],
        json!([{"rrname": "mail.example.org", "rrtype": "A"}])
    );
    assert_eq!(
        a["dns"]["answers"],
        json!([{"rrname": "mail.example.org", "rrtype": "A", "ttl": 300, "rdata": "185.20.187.8"}])
    );
    // The zone alert on the same response: same flow, same response.
    let zone = alerts[1];
    assert_eq!(zone["alert"]["signature_id"], 9_000_003);
    assert_eq!(zone["alert"]["severity"], 2);
    assert_eq!(zone["alert"]["metadata"]["zone"], json!(["example.org"]));
    assert_eq!(
        zone["alert"]["metadata"]["response_id"],
        a["alert"]["metadata"]["response_id"]
    );
    assert_eq!(zone["flow_id"], a["flow_id"]);
    // The DNS event of that response names the same flow.
    let logged = dns.iter().find(|d| d["pcap_cnt"] == 20).unwrap();
    assert_eq!(logged["event_type"], "dns");
    assert_eq!(logged["community_id"], a["community_id"]);
    assert_eq!(logged["flow_id"], a["flow_id"]);
    assert!(a["community_id"].as_str().unwrap().starts_with("1:"));
    // The delegation alerts carry both name servers of the response.
    let ns = alerts
        .iter()
        .find(|a| a["alert"]["signature_id"] == 9_000_004)
        .unwrap();
    assert_eq!(ns["dns"]["answers"].as_array().unwrap().len(), 2);
}

#[test]
#[cfg_attr(
    not(eve_schema),
    ignore = "Suricata's EVE schema not found: run scripts/fetch-public-captures (it sits in schemas/ beside DNSENTRY_PUBLIC_CAPTURES, or ../shared/schemas)"
)]
fn every_event_of_the_scenario_captures_validates_and_every_kind_is_covered() {
    let dir = tempfile::tempdir().unwrap();
    let policy = crate::suite::scenarios::policy_capture(dir.path());
    let (race, _, _) = crate::suite::scenarios::race_capture(dir.path());
    let mixed = crate::suite::live::mixed_capture(dir.path());
    let zones = project_file("pcaps/demo-hijack.zones.toml");
    let mut events = demo();
    events.extend(eve_run(
        "policy",
        vec![policy.pcap],
        vec![policy.zones],
        &[53],
    ));
    events.extend(eve_run("race", vec![race], Vec::new(), &[53]));
    events.extend(eve_run("tunnel-vlan", vec![mixed], vec![zones], &[53]));
    // dnssec_invalid and inconsistent_servers are raised by `dnsentry
    // audit` only (signatures checked against the keys it asked for,
    // servers compared with each other): audits of the test's DNS
    // hierarchy raise them, and an audit_failed event.
    events.extend(crate::suite::audit::documents(Format::Eve, "ae"));
    assert_eve_valid(&events);
    let kinds: BTreeSet<&str> = events
        .iter()
        .filter_map(|(_, e)| e["alert"]["metadata"]["dnsentry_kind"][0].as_str())
        .collect();
    use dnsentry::model::AlertKind;
    let mut all: BTreeSet<&str> = AlertKind::ALL.iter().map(|k| k.as_str()).collect();
    all.insert("audit_failed");
    assert_eq!(kinds, all);
    assert!(events.iter().any(|(_, e)| e["vlan"] == json!([12])));
    assert!(
        events
            .iter()
            .any(|(_, e)| e["alert"]["metadata"]["tunnel_type"] == json!(["vxlan"]))
    );
}

#[test]
#[cfg_attr(
    not(eve_schema),
    ignore = "Suricata's EVE schema not found: run scripts/fetch-public-captures (it sits in schemas/ beside DNSENTRY_PUBLIC_CAPTURES, or ../shared/schemas)"
)]
fn sensor_events_validate_health_as_stats_blindness_as_alerts() {
    let (sources, events) = crate::common::sample_sensor_events();
    let lines: Vec<(String, Value)> = events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut out = Vec::new();
            dnsentry::output::eve::write_sensor_event(&mut out, e, &sources).unwrap();
            (format!("sensor:{i}"), serde_json::from_slice(&out).unwrap())
        })
        .collect();
    assert_eve_valid(&lines);
    let health = &lines[0].1;
    assert_eq!(health["event_type"], "stats");
    assert_eq!(health["timestamp"], "2026-11-27T17:20:19.284176+0000");
    assert_eq!(health["host"], "sensor-7");
    assert_eq!(
        health["stats"]["capture"],
        json!({"kernel_packets": 100, "kernel_drops": 3, "kernel_ifdrops": 1})
    );
    let loss = &lines[1].1;
    assert_eq!(loss["event_type"], "alert");
    assert_eq!(loss["in_iface"], "eth1");
    assert_eq!(loss["alert"]["signature_id"], 9_000_102);
    assert_eq!(lines[2].1["alert"]["signature_id"], 9_000_103);
}

#[test]
#[cfg_attr(
    not(all(public_captures, eve_schema)),
    ignore = "public captures or Suricata's EVE schema not found: run scripts/fetch-public-captures and set DNSENTRY_PUBLIC_CAPTURES (or place ../shared beside the repo)"
)]
fn every_event_of_every_shared_capture_validates() {
    let dir = crate::common::public_captures_dir();
    let mut events = Vec::new();
    for name in crate::common::public_capture_names() {
        let path = dir.join(&name);
        events.extend(eve_run(&name, vec![path], Vec::new(), &[53, 5353, 8053]));
    }
    // The shared captures hold 735 responses and alerts together: far
    // fewer would mean captures went unread.
    assert!(events.len() >= 700, "only {} events", events.len());
    assert_eve_valid(&events);
}

#[test]
#[cfg_attr(
    not(eve_schema),
    ignore = "Suricata's EVE schema not found: run scripts/fetch-public-captures (it sits in schemas/ beside DNSENTRY_PUBLIC_CAPTURES, or ../shared/schemas)"
)]
fn alerts_past_the_per_response_bounds_say_what_they_leave_out_and_stay_valid() {
    let dir = tempfile::tempdir().unwrap();
    let (pcap, zones, _) = crate::common::hostile_answers_capture(dir.path(), 100);
    let events = eve_run("hostile-answers", vec![pcap], vec![zones], &[53]);
    let alerts: Vec<&Value> = events
        .iter()
        .filter(|(_, e)| e["event_type"] == "alert")
        .map(|(_, e)| e)
        .collect();
    assert_eq!(alerts.len(), dnsentry::matcher::MAX_ALERTS_PER_RESPONSE);
    for a in &alerts {
        assert_eq!(
            a["alert"]["metadata"]["response_records_omitted"],
            json!(["68"])
        );
        assert_eq!(a["dns"]["answers"].as_array().unwrap().len(), 32);
    }
    assert_eve_valid(&events);
}
