//! Scenario captures built by `dnsentry::synth`, each with the exact alerts
//! it must raise.

use std::io::Write;
use std::path::{Path, PathBuf};

use dnsentry::synth::demo::demo_scenario;
use dnsentry::synth::{Exchange, Scenario, Via, a, aaaa, cname, mx, ns, rr};
use hickory_proto::rr::RecordType;
use serde_json::Value;

use crate::common::{RunSpec, project_file, run};

/// (kind, section, owner, value, packet) of each alert, in output order.
type Key = (String, String, String, String, u64);

fn keys(alerts: &[Value]) -> Vec<Key> {
    alerts
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap().to_string(),
                a["section"].as_str().unwrap().to_string(),
                a["owner"].as_str().unwrap().to_string(),
                a["value"].as_str().unwrap().to_string(),
                a["source"]["packet"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn key(kind: &str, section: &str, owner: &str, value: &str, packet: u64) -> Key {
    (
        kind.into(),
        section.into(),
        owner.into(),
        value.into(),
        packet,
    )
}

/// (name, packet) of each weird-log line.
fn weird_names_and_packets(weirds: &[Value]) -> Vec<(&str, u64)> {
    weirds
        .iter()
        .map(|w| {
            (
                w["name"].as_str().unwrap(),
                w["source"]["packet"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn write(dir: &Path, name: &str, s: &Scenario) -> PathBuf {
    let p = dir.join(name);
    s.write_pcap_file(&p).unwrap();
    p
}

fn demo_expected() -> Vec<Key> {
    vec![
        key(
            "ioc_address",
            "answer",
            "mail.example.org",
            "185.20.187.8",
            20,
        ),
        key(
            "unexpected_address",
            "answer",
            "mail.example.org",
            "185.20.187.8",
            20,
        ),
        key(
            "ioc_domain",
            "answer",
            "example.org",
            "ns1.rootdnservers.com",
            22,
        ),
        key(
            "ioc_domain",
            "answer",
            "example.org",
            "ns2.rootdnservers.com",
            22,
        ),
        key(
            "unexpected_ns",
            "answer",
            "example.org",
            "ns1.rootdnservers.com",
            22,
        ),
        key(
            "unexpected_ns",
            "answer",
            "example.org",
            "ns2.rootdnservers.com",
            22,
        ),
        key(
            "unexpected_mx",
            "answer",
            "example.org",
            "mx.relay-hijack.test",
            24,
        ),
        key(
            "unexpected_address",
            "answer",
            "vpn.example.org",
            "2001:db8:666::1",
            26,
        ),
        key(
            "ioc_domain",
            "answer",
            "webmail.example.org",
            "webmail.cloudnamedns.com",
            28,
        ),
        key(
            "ioc_address",
            "answer",
            "webmail.cloudnamedns.com",
            "82.196.11.127",
            28,
        ),
        key(
            "unexpected_cname",
            "answer",
            "webmail.example.org",
            "webmail.cloudnamedns.com",
            28,
        ),
        key(
            "ioc_address",
            "answer",
            "MaIl.ExAmPlE.oRg",
            "199.247.3.191",
            30,
        ),
        key(
            "unexpected_address",
            "answer",
            "MaIl.ExAmPlE.oRg",
            "199.247.3.191",
            30,
        ),
        key(
            "unexpected_cname",
            "answer",
            "portal.example.org",
            "portal.proxy-hijack.test",
            32,
        ),
        key(
            "ioc_domain",
            "question",
            "ns1.lcjcomputing.com",
            "ns1.lcjcomputing.com",
            34,
        ),
        key(
            "ioc_address",
            "answer",
            "ns1.lcjcomputing.com",
            "185.15.247.140",
            34,
        ),
    ]
}

#[test]
fn demo_capture_raises_exactly_the_planted_alerts() {
    let r = run(RunSpec {
        inputs: vec![project_file("pcaps/demo-hijack.pcap")],
        expect_files: vec![project_file("pcaps/demo-hijack.zones.toml")],
        ..RunSpec::default()
    });
    assert_eq!(keys(&r.alerts), demo_expected());
    assert_eq!(r.outcome.summary.dns_responses, 18);

    // The full schema on one line of each detail kind.
    let ioc = &r.alerts[0];
    assert_eq!(ioc["ts"], "2019-01-10T09:00:02.262345Z");
    assert_eq!(ioc["severity"], "high");
    assert_eq!(ioc["qname"], "mail.example.org");
    assert_eq!(ioc["qtype"], "A");
    assert_eq!(ioc["rrtype"], "A");
    assert_eq!(ioc["src_ip"], "10.1.0.53");
    assert_eq!(ioc["src_port"], 53);
    assert_eq!(ioc["dst_ip"], "10.1.2.20");
    assert_eq!(ioc["transport"], "udp");
    assert!(ioc["txid"].is_u64());
    assert!(
        ioc["source"]["file"]
            .as_str()
            .unwrap()
            .ends_with("demo-hijack.pcap")
    );
    assert_eq!(ioc["ioc"]["indicator"], "185.20.187.8");
    assert_eq!(ioc["ioc"]["type"], "ipv4");
    assert_eq!(ioc["ioc"]["feed"], "builtin:aa19-024a.csv");
    assert!(
        ioc["ioc"]["source"]
            .as_str()
            .unwrap()
            .contains("DNSpionage")
    );
    assert!(
        ioc["ioc"]["reference"]
            .as_str()
            .unwrap()
            .starts_with("github:")
    );
    assert!(ioc.get("zone").is_none());
    let zone = &r.alerts[1];
    assert_eq!(zone["zone"], "example.org");
    assert_eq!(zone["expected"], serde_json::json!(["192.0.2.0/24"]));
    assert_eq!(zone["severity"], "medium");
    assert!(zone.get("ioc").is_none());
    let ns = &r.alerts[4];
    assert_eq!(ns["transport"], "tcp");
    assert_eq!(ns["severity"], "high");
}

#[test]
fn shipped_demo_capture_is_what_the_generator_writes() {
    let mut fresh = Vec::new();
    demo_scenario().write_pcap(&mut fresh).unwrap();
    let shipped = std::fs::read(project_file("pcaps/demo-hijack.pcap")).unwrap();
    assert!(
        fresh == shipped,
        "pcaps/demo-hijack.pcap is stale: run `cargo run --example gen-demo`"
    );
}

#[test]
fn without_zones_only_the_feed_alerts() {
    let r = run(RunSpec {
        inputs: vec![project_file("pcaps/demo-hijack.pcap")],
        ..RunSpec::default()
    });
    let expected: Vec<Key> = demo_expected()
        .into_iter()
        .filter(|k| k.0.starts_with("ioc_"))
        .collect();
    assert_eq!(keys(&r.alerts), expected);
}

#[test]
fn without_any_rules_it_decodes_and_logs_only() {
    let r = run(RunSpec {
        inputs: vec![project_file("pcaps/demo-hijack.pcap")],
        builtin_feed: false,
        dns_log: true,
        ..RunSpec::default()
    });
    assert!(r.alerts.is_empty());
    assert_eq!(r.dns_log.len(), 18);
    let nx = r
        .dns_log
        .iter()
        .find(|l| l["rcode_name"] == "NXDOMAIN")
        .unwrap();
    assert_eq!(nx["rcode"], 3);
    assert_eq!(nx["answers"], serde_json::json!([]));
    assert_eq!(nx["authority"][0]["type"], "SOA");
    assert_eq!(
        nx["authority"][0]["data"],
        "ns1.example.org hostmaster.example.org 2019011001 3600 600 86400 300"
    );
    let mxl = r.dns_log.iter().find(|l| l["qtype"] == "MX").unwrap();
    assert_eq!(mxl["answers"][0]["data"], "10 mail.example.org");
    assert_eq!(mxl["additional"][0]["data"], "192.0.2.25");
    let txt = r.dns_log.iter().find(|l| l["qtype"] == "TXT").unwrap();
    assert_eq!(txt["answers"][0]["data"], "\"v=spf1 mx -all\"");
}

/// Benign traffic with hijacks at fixed positions, large enough to spread
/// over many batches and workers.
fn large_scenario() -> (Scenario, Vec<u64>) {
    let mut s = Scenario::new(1_600_000_000);
    let mut planted = Vec::new();
    for i in 0..6000u32 {
        let client = format!("10.9.{}.{}", i / 250 % 250, i % 250 + 1);
        let name = format!("host{i}.example.com");
        if i % 997 == 0 {
            let p = s.exchange(
                &Exchange::new(&client, "10.9.255.53", &name, RecordType::A).answer(rr(
                    &name,
                    60,
                    a("37.139.11.155"),
                )),
            );
            planted.push(p);
        } else {
            s.exchange(
                &Exchange::new(&client, "10.9.255.53", &name, RecordType::A).answer(rr(
                    &name,
                    60,
                    a(&format!("198.51.100.{}", i % 250)),
                )),
            );
        }
    }
    (s, planted)
}

#[test]
fn output_is_identical_whatever_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let (s, planted) = large_scenario();
    let pcap = write(dir.path(), "large.pcap", &s);
    let mut outputs = Vec::new();
    for threads in [1, 2, 7] {
        let r = run(RunSpec {
            inputs: vec![pcap.clone()],
            threads,
            dns_log: true,
            ..RunSpec::default()
        });
        assert_eq!(r.outcome.summary.dns_responses, 6000);
        let packets: Vec<u64> = keys(&r.alerts).iter().map(|k| k.4).collect();
        assert_eq!(packets, planted, "threads={threads}");
        outputs.push((r.alerts, r.dns_log));
    }
    assert!(outputs.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn extra_feeds_csv_and_text_with_networks_subdomains_and_case() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("mine.csv");
    std::fs::write(
        &csv,
        "type,indicator,source,reference,confidence\n\
         cidr,203.0.113.0/28,internal-ti,TICKET-1,high\n\
         domain,Evil-Corp.test,internal-ti,TICKET-2,medium\n",
    )
    .unwrap();
    let txt = dir.path().join("list.txt");
    std::fs::write(&txt, "# one per line\n2001:db8:bad::/48\n").unwrap();

    let mut s = Scenario::new(1_600_000_000);
    let p1 = s.exchange(
        &Exchange::new("10.0.0.2", "10.0.0.53", "shop.example.com", RecordType::A).answer(rr(
            "shop.example.com",
            60,
            a("203.0.113.9"),
        )),
    );
    let p2 = s.exchange(
        &Exchange::new("10.0.0.2", "10.0.0.53", "x.example.com", RecordType::AAAA).answer(rr(
            "x.example.com",
            60,
            aaaa("2001:db8:bad:1::5"),
        )),
    );
    let p3 = s.exchange(
        &Exchange::new("10.0.0.2", "10.0.0.53", "example.com", RecordType::MX).answer(rr(
            "example.com",
            60,
            mx(5, "MX.eu.EVIL-corp.test"),
        )),
    );
    // Outside the network and a look-alike domain: no alert.
    s.exchange(
        &Exchange::new("10.0.0.2", "10.0.0.53", "ok.example.com", RecordType::A)
            .answer(rr("ok.example.com", 60, a("203.0.113.16")))
            .answer(rr("ok.example.com", 60, cname("notevil-corp.test"))),
    );
    let pcap = write(dir.path(), "feeds.pcap", &s);
    let r = run(RunSpec {
        inputs: vec![pcap],
        builtin_feed: false,
        ioc_files: vec![csv.clone(), txt.clone()],
        ..RunSpec::default()
    });
    assert_eq!(
        keys(&r.alerts),
        vec![
            key(
                "ioc_address",
                "answer",
                "shop.example.com",
                "203.0.113.9",
                p1
            ),
            key(
                "ioc_address",
                "answer",
                "x.example.com",
                "2001:db8:bad:1::5",
                p2
            ),
            key(
                "ioc_domain",
                "answer",
                "example.com",
                "mx.eu.evil-corp.test",
                p3
            ),
        ]
    );
    let first = &r.alerts[0]["ioc"];
    assert_eq!(first["indicator"], "203.0.113.0/28");
    assert_eq!(first["type"], "cidr");
    assert_eq!(first["source"], "internal-ti");
    assert_eq!(first["reference"], "TICKET-1");
    assert_eq!(first["feed"], csv.display().to_string());
    // `confidence` is the indicator's, on STIX's scale (high is 85).
    assert_eq!(first["confidence"], 85);
    assert!(first.get("meta").is_none(), "{first}");
    assert_eq!(r.alerts[1]["ioc"]["feed"], txt.display().to_string());
}

#[test]
fn cdn_chain_and_other_zones_are_not_checked() {
    let dir = tempfile::tempdir().unwrap();
    let zones = dir.path().join("z.toml");
    std::fs::write(
        &zones,
        "[[zone]]\nname = \"example.org\"\na = [\"192.0.2.0/24\"]\ncname = [\"*.cdn.example.net\"]\n\n\
         [[zone]]\nname = \"shop.example.org\"\na = [\"198.51.100.0/24\"]\n",
    )
    .unwrap();
    let mut s = Scenario::new(1_600_000_000);
    // Allowed CNAME, CDN-owned A outside the zone's space: quiet.
    s.exchange(
        &Exchange::new("10.0.0.2", "10.0.0.53", "www.example.org", RecordType::A)
            .answer(rr("www.example.org", 60, cname("e1.cdn.example.net")))
            .answer(rr("e1.cdn.example.net", 60, a("203.0.113.1"))),
    );
    // The most specific zone decides: allowed by shop's list, not by the parent's.
    s.exchange(
        &Exchange::new(
            "10.0.0.2",
            "10.0.0.53",
            "www.shop.example.org",
            RecordType::A,
        )
        .answer(rr("www.shop.example.org", 60, a("198.51.100.5"))),
    );
    let bad = s.exchange(
        &Exchange::new(
            "10.0.0.2",
            "10.0.0.53",
            "pay.shop.example.org",
            RecordType::A,
        )
        .answer(rr("pay.shop.example.org", 60, a("192.0.2.5"))),
    );
    // Keys absent from the zone are not checked: MX and NS here.
    s.exchange(
        &Exchange::new("10.0.0.2", "10.0.0.53", "example.org", RecordType::MX)
            .answer(rr("example.org", 60, mx(1, "anything.test")))
            .answer(rr("example.org", 60, ns("ns.anything.test"))),
    );
    // A record owned by the zone reached through a CNAME from elsewhere.
    let chained = s.exchange(
        &Exchange::new("10.0.0.2", "10.0.0.53", "alias.other.test", RecordType::A)
            .answer(rr("alias.other.test", 60, cname("app.example.org")))
            .answer(rr("app.example.org", 60, a("203.0.113.99")))
            .via(Via::Tcp),
    );
    let pcap = write(dir.path(), "zones.pcap", &s);
    let r = run(RunSpec {
        inputs: vec![pcap],
        builtin_feed: false,
        expect_files: vec![zones],
        ..RunSpec::default()
    });
    assert_eq!(
        keys(&r.alerts),
        vec![
            key(
                "unexpected_address",
                "answer",
                "pay.shop.example.org",
                "192.0.2.5",
                bad
            ),
            key(
                "unexpected_address",
                "answer",
                "app.example.org",
                "203.0.113.99",
                chained
            ),
        ]
    );
    assert_eq!(r.alerts[0]["zone"], "shop.example.org");
    assert_eq!(r.alerts[1]["zone"], "example.org");
    assert_eq!(r.alerts[1]["qname"], "alias.other.test");
}

#[test]
fn several_files_are_read_in_the_order_given() {
    let dir = tempfile::tempdir().unwrap();
    let demo = project_file("pcaps/demo-hijack.pcap");
    let mut s = Scenario::new(1_700_000_000);
    let p = s.exchange(
        &Exchange::new("10.0.0.2", "10.0.0.53", "x.test", RecordType::A).answer(rr(
            "x.test",
            60,
            a("45.32.100.62"),
        )),
    );
    let second = write(dir.path(), "second.pcap", &s);
    let r = run(RunSpec {
        inputs: vec![second.clone(), demo.clone()],
        ..RunSpec::default()
    });
    let files: Vec<&str> = r
        .alerts
        .iter()
        .map(|a| a["source"]["file"].as_str().unwrap())
        .collect();
    assert_eq!(files[0], second.display().to_string());
    assert_eq!(r.alerts[0]["source"]["packet"], p);
    assert!(files[1..].iter().all(|f| *f == demo.display().to_string()));
    assert_eq!(r.outcome.summary.files.len(), 2);
}

#[test]
fn pcapng_with_interfaces_of_different_link_types_is_read_whole() {
    use pcap_file::DataLink;
    use pcap_file::pcapng::PcapNgWriter;
    use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
    use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock;

    let mut s = Scenario::new(1_700_000_000);
    s.exchange(
        &Exchange::new("10.0.0.2", "10.0.0.53", "a.test", RecordType::A).answer(rr(
            "a.test",
            60,
            a("46.101.250.202"),
        )),
    );
    s.exchange(
        &Exchange::new("10.0.0.2", "10.0.0.53", "b.test", RecordType::A).answer(rr(
            "b.test",
            60,
            a("82.196.8.43"),
        )),
    );
    let frames = s.frames();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.pcapng");
    let mut w = PcapNgWriter::new(std::fs::File::create(&path).unwrap()).unwrap();
    for link in [DataLink::ETHERNET, DataLink::RAW] {
        w.write_pcapng_block(InterfaceDescriptionBlock {
            linktype: link,
            snaplen: 0xffff,
            options: vec![],
        })
        .unwrap();
    }
    for (i, (ts, data)) in frames.iter().enumerate() {
        // Second exchange on the raw-IP interface: strip the Ethernet header.
        let (iface, bytes) = if i < 2 {
            (0, data.clone())
        } else {
            (1, data[14..].to_vec())
        };
        w.write_pcapng_block(EnhancedPacketBlock {
            interface_id: iface,
            timestamp: std::time::Duration::from_micros(ts.0 as u64),
            original_len: bytes.len() as u32,
            data: bytes.into(),
            options: vec![],
        })
        .unwrap();
    }
    w.get_mut().flush().unwrap();
    drop(w);

    let r = run(RunSpec {
        inputs: vec![path],
        ..RunSpec::default()
    });
    let values: Vec<String> = keys(&r.alerts).into_iter().map(|k| k.3).collect();
    assert_eq!(values, vec!["46.101.250.202", "82.196.8.43"]);
    assert_eq!(
        r.outcome.summary.files[0].link_types,
        vec!["ETHERNET", "RAW"]
    );
    assert!(r.outcome.input_errors.is_empty());
}

#[test]
fn hostile_packets_are_counted_and_logged_never_fatal() {
    use dnsentry::synth::encap::{
        ethernet_ip, ethernet_tagged, gre, ip_raw, ip_tcp, ip_udp, ipv4_fragments,
    };
    let mut s = Scenario::new(1_700_000_000);
    let src: std::net::IpAddr = "10.0.0.53".parse().unwrap();
    let dst: std::net::IpAddr = "10.0.0.2".parse().unwrap();
    let udp = |payload: &[u8]| ethernet_ip(&ip_udp(src, dst, 53, 4000, payload));
    let hdr = |id: u8, qd: u8, an: u8| vec![0, id, 0x81, 0x80, 0, qd, 0, an, 0, 0, 0, 0];
    // A forged answer first, then garbage of every kind, then another answer.
    let first = s.exchange(
        &Exchange::new("10.0.0.2", "10.0.0.53", "a.test", RecordType::A).answer(rr(
            "a.test",
            60,
            a("95.179.150.101"),
        )),
    );
    let mut expected: Vec<(&str, u64)> = Vec::new();
    let mut push = |s: &mut Scenario, frame: Vec<u8>, weird: &'static str| {
        let p = s.raw_frame(frame);
        expected.push((weird, p));
    };
    // Header only, claiming 5 answers.
    push(&mut s, udp(&hdr(1, 0, 5)), "dns_truncated");
    // Question name that points at itself.
    let mut m = hdr(2, 1, 0);
    m.extend([0xc0, 12, 0, 1, 0, 1]);
    push(&mut s, udp(&m), "dns_name_bad_pointer");
    // Answer owner pointing forward, past itself.
    let mut m = hdr(3, 0, 1);
    m.extend([0xc0, 40, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4]);
    push(&mut s, udp(&m), "dns_name_bad_pointer");
    // Too short for a header.
    push(&mut s, udp(&[0, 4, 0x81]), "dns_header_truncated");
    // Label longer than 63 bytes.
    let mut m = hdr(5, 1, 0);
    m.push(64);
    m.extend(std::iter::repeat_n(b'a', 64));
    m.extend([0, 0, 1, 0, 1]);
    push(&mut s, udp(&m), "dns_label_invalid");
    // Name longer than 255 bytes: five 60-byte labels.
    let mut m = hdr(6, 1, 0);
    for _ in 0..5 {
        m.push(60);
        m.extend(std::iter::repeat_n(b'b', 60));
    }
    m.extend([0, 0, 1, 0, 1]);
    push(&mut s, udp(&m), "dns_name_too_long");
    // An A record whose RDATA is 5 bytes.
    let mut m = hdr(7, 0, 1);
    m.extend([0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 5, 1, 2, 3, 4, 5]);
    push(&mut s, udp(&m), "dns_rdata_length_mismatch");
    // Frame cut inside the IP header.
    push(&mut s, udp(&[0; 20])[..20].to_vec(), "ipv4_header_invalid");
    // Nine stacked VLAN tags.
    let tags: Vec<(u16, u16)> = (1..=9).map(|i| (0x8100, i)).collect();
    push(
        &mut s,
        ethernet_tagged(&tags, 0x0800, &ip_udp(src, dst, 53, 4000, &hdr(8, 0, 0))),
        "too_many_vlan_tags",
    );
    // GRE claiming source routing.
    let mut g = gre(
        0x0800,
        None,
        None,
        &ip_udp(src, dst, 53, 4000, &hdr(9, 0, 0)),
    );
    g[0] |= 0x40;
    push(
        &mut s,
        ethernet_ip(&ip_raw(
            "10.9.9.1".parse().unwrap(),
            "10.9.9.2".parse().unwrap(),
            47,
            &g,
        )),
        "tunnel_header_invalid",
    );
    // A TCP stream whose first frame has length zero.
    s.raw_frame(ethernet_ip(&ip_tcp(src, dst, 53, 4001, 100, true, &[])));
    push(
        &mut s,
        ethernet_ip(&ip_tcp(src, dst, 53, 4001, 101, false, &[0, 0])),
        "tcp_zero_length_message",
    );
    // Overlapping fragments of one datagram.
    let big = ip_udp(src, dst, 53, 4002, &[0u8; 200]);
    let small = ipv4_fragments(&big, 77, 64);
    let large = ipv4_fragments(&big, 77, 128);
    s.raw_frame(ethernet_ip(&small[0]));
    push(&mut s, ethernet_ip(&large[0]), "ip_fragment_overlap");
    let last = s.exchange(
        &Exchange::new("10.0.0.2", "10.0.0.53", "b.test", RecordType::A).answer(rr(
            "b.test",
            60,
            a("95.179.150.101"),
        )),
    );
    let dir = tempfile::tempdir().unwrap();
    let pcap = write(dir.path(), "hostile.pcap", &s);
    let r = run(RunSpec {
        inputs: vec![pcap],
        dns_log: true,
        weird_log: true,
        ..RunSpec::default()
    });
    let packets: Vec<u64> = keys(&r.alerts).iter().map(|k| k.4).collect();
    assert_eq!(packets, vec![first, last]);
    let weirds = weird_names_and_packets(&r.weirds);
    assert_eq!(weirds, expected);
    // The summary counts exactly what the weird log lists.
    let total: u64 = r.outcome.summary.malformed.values().sum();
    assert_eq!(total, expected.len() as u64);
    // Partially decoded responses are still logged.
    assert!(
        r.dns_log
            .iter()
            .any(|l| l["malformed"] == "dns_rdata_length_mismatch")
    );
}

/// The zone-policy capture and its expect file: one response per policy
/// key, quiet ones between; the packet number of each that alerts.
pub(crate) struct PolicyCapture {
    pub pcap: PathBuf,
    pub zones: PathBuf,
    pub low: u64,
    pub rogue: u64,
    pub referral: u64,
    pub glue: u64,
    pub unsigned: u64,
    pub shop: u64,
    pub no_ds: u64,
}

pub(crate) fn policy_capture(dir: &Path) -> PolicyCapture {
    use dnsentry::synth::rrsig;
    let zones = dir.join("z.toml");
    std::fs::write(
        &zones,
        r#"resolvers = ["10.1.0.53"]

[[zone]]
name = "example.org"
a = ["192.0.2.0/24"]
ns = ["ns1.example.org", "ns2.example.org"]
ns_addresses = ["192.0.2.53", "192.0.2.54"]
ttl_min = 300
dnssec = true

[[zone.override]]
name = "shop.example.org"
cname = ["*.shops.saas.test"]
"#,
    )
    .unwrap();
    let ok = "10.1.0.53";
    let c = "10.1.2.3";
    let mut s = Scenario::new(1_700_000_000);
    // Quiet: allowed everything, from the allowed resolver, signed.
    s.exchange(
        &Exchange::new(c, ok, "www.example.org", RecordType::A)
            .answer(rr("www.example.org", 3600, a("192.0.2.10")))
            .answer(rr(
                "www.example.org",
                3600,
                rrsig(RecordType::A, 3, "example.org"),
            ))
            .dnssec_ok(),
    );
    // Quiet: no DO bit, so no signature is expected.
    s.exchange(
        &Exchange::new(c, ok, "www.example.org", RecordType::A).answer(rr(
            "www.example.org",
            3600,
            a("192.0.2.10"),
        )),
    );
    // Quiet: the override allows the SaaS CNAME.
    s.exchange(
        &Exchange::new(c, ok, "shop.example.org", RecordType::A).answer(rr(
            "shop.example.org",
            3600,
            cname("store.shops.saas.test"),
        )),
    );
    let low = s.exchange(
        &Exchange::new(c, ok, "www.example.org", RecordType::A).answer(rr(
            "www.example.org",
            60,
            a("192.0.2.10"),
        )),
    );
    let rogue = s.exchange(
        &Exchange::new(c, "10.6.6.6", "www.example.org", RecordType::A).answer(rr(
            "www.example.org",
            3600,
            a("192.0.2.10"),
        )),
    );
    // A referral to the Sea Turtle name servers, with their glue.
    let referral = s.exchange(
        &Exchange::new(c, ok, "www.example.org", RecordType::A)
            .authority(rr("example.org", 3600, ns("ns1.rootdnservers.com")))
            .additional(rr("ns1.rootdnservers.com", 3600, a("45.32.100.62"))),
    );
    // The right name server name, the wrong glue address.
    let glue = s.exchange(
        &Exchange::new(c, ok, "example.org", RecordType::NS)
            .answer(rr("example.org", 3600, ns("ns1.example.org")))
            .additional(rr("ns1.example.org", 3600, a("203.0.113.53"))),
    );
    let unsigned = s.exchange(
        &Exchange::new(c, ok, "mail.example.org", RecordType::A)
            .answer(rr("mail.example.org", 3600, a("192.0.2.25")))
            .dnssec_ok(),
    );
    let shop = s.exchange(
        &Exchange::new(c, ok, "shop.example.org", RecordType::A).answer(rr(
            "shop.example.org",
            3600,
            cname("shop.evil.test"),
        )),
    );
    // A referral with the DS: quiet. Without it: the signature chain is cut.
    s.exchange(
        &Exchange::new(c, ok, "www.example.org", RecordType::A)
            .authority(rr("example.org", 86400, ns("ns1.example.org")))
            .authority(rr("example.org", 86400, dnsentry::synth::ds()))
            .dnssec_ok(),
    );
    let no_ds = s.exchange(
        &Exchange::new(c, ok, "www.example.org", RecordType::A)
            .authority(rr("example.org", 86400, ns("ns1.example.org")))
            .authority(rr("example.org", 86400, ns("ns2.example.org")))
            .dnssec_ok(),
    );
    PolicyCapture {
        pcap: write(dir, "policy.pcap", &s),
        zones,
        low,
        rogue,
        referral,
        glue,
        unsigned,
        shop,
        no_ds,
    }
}

#[test]
fn zone_policy_referrals_glue_ttl_resolvers_dnssec_and_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let PolicyCapture {
        pcap,
        zones,
        low,
        rogue,
        referral,
        glue,
        unsigned,
        shop,
        no_ds,
    } = policy_capture(dir.path());
    let r = run(RunSpec {
        inputs: vec![pcap],
        expect_files: vec![zones],
        ..RunSpec::default()
    });
    assert_eq!(
        keys(&r.alerts),
        vec![
            key("low_ttl", "answer", "www.example.org", "192.0.2.10", low),
            key(
                "unexpected_resolver",
                "question",
                "www.example.org",
                "10.6.6.6",
                rogue
            ),
            key(
                "ioc_domain",
                "authority",
                "example.org",
                "ns1.rootdnservers.com",
                referral
            ),
            key(
                "ioc_address",
                "additional",
                "ns1.rootdnservers.com",
                "45.32.100.62",
                referral
            ),
            key(
                "unexpected_ns",
                "authority",
                "example.org",
                "ns1.rootdnservers.com",
                referral
            ),
            key(
                "unexpected_ns_address",
                "additional",
                "ns1.rootdnservers.com",
                "45.32.100.62",
                referral
            ),
            key(
                "unexpected_address",
                "additional",
                "ns1.example.org",
                "203.0.113.53",
                glue
            ),
            key(
                "unexpected_ns_address",
                "additional",
                "ns1.example.org",
                "203.0.113.53",
                glue
            ),
            key(
                "dnssec_missing",
                "answer",
                "mail.example.org",
                "unsigned A",
                unsigned
            ),
            key(
                "unexpected_cname",
                "answer",
                "shop.example.org",
                "shop.evil.test",
                shop
            ),
            key(
                "dnssec_missing",
                "authority",
                "example.org",
                "delegation without DS",
                no_ds
            ),
        ]
    );
    let by_kind = |k: &str| r.alerts.iter().find(|a| a["kind"] == k).unwrap();
    assert_eq!(by_kind("low_ttl")["ttl"], 60);
    assert_eq!(
        by_kind("low_ttl")["expected"],
        serde_json::json!(["ttl >= 300"])
    );
    assert_eq!(
        by_kind("unexpected_resolver")["expected"],
        serde_json::json!(["10.1.0.53"])
    );
    assert_eq!(
        by_kind("unexpected_ns_address")["expected"],
        serde_json::json!(["192.0.2.53", "192.0.2.54"])
    );
    assert_eq!(by_kind("unexpected_cname")["zone"], "shop.example.org");
    assert_eq!(by_kind("dnssec_missing")["severity"], "high");
}

#[test]
fn repeats_are_suppressed_per_window_then_fire_with_the_count() {
    let mut s = Scenario::new(1_700_000_000);
    let hijack = Exchange::new("10.0.0.2", "10.0.0.53", "mail.example.org", RecordType::A)
        .answer(rr("mail.example.org", 60, a("185.20.187.8")));
    let first = s.exchange(&hijack);
    s.exchange(&hijack);
    // The same value under another owner is another detection.
    let other = s.exchange(
        &Exchange::new(
            "10.0.0.2",
            "10.0.0.53",
            "webmail.example.org",
            RecordType::A,
        )
        .answer(rr("webmail.example.org", 60, a("185.20.187.8"))),
    );
    s.exchange(&hijack);
    let dir = tempfile::tempdir().unwrap();
    let mut later = Scenario::new(1_700_000_000 + 7200);
    let mut frames = s.frames().to_vec();
    later.exchange(&hijack);
    frames.extend(later.frames().iter().cloned());
    let path = dir.path().join("repeats.pcap");
    dnsentry::synth::write_pcap(
        std::fs::File::create(&path).unwrap(),
        pcap_file::DataLink::ETHERNET,
        &frames,
    )
    .unwrap();

    let r = run(RunSpec {
        inputs: vec![path.clone()],
        ..RunSpec::default()
    });
    let got: Vec<(u64, u64)> = r
        .alerts
        .iter()
        .map(|a| {
            (
                a["source"]["packet"].as_u64().unwrap(),
                a["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, vec![(first, 0), (other, 0), (frames.len() as u64, 2)]);
    assert_eq!(r.alerts[0]["id"], r.alerts[2]["id"]);
    assert_ne!(r.alerts[0]["id"], r.alerts[1]["id"]);
    assert_eq!(r.outcome.summary.suppressed.get("ioc_address"), Some(&2));

    let every = run(RunSpec {
        inputs: vec![path],
        suppress: std::time::Duration::ZERO,
        ..RunSpec::default()
    });
    assert_eq!(every.alerts.len(), 5);
}

#[test]
fn every_feed_format_and_an_allowlist() {
    let dir = tempfile::tempdir().unwrap();
    let stix = dir.path().join("aa19.stix.json");
    std::fs::write(
        &stix,
        r#"{"type":"bundle","id":"bundle--5","objects":[
          {"type":"indicator","id":"indicator--1","name":"DNSpionage redirector","pattern_type":"stix",
           "pattern":"[ipv4-addr:value = '185.20.187.8' OR ipv4-addr:value = '107.161.23.204']"},
          {"type":"indicator","id":"indicator--2","pattern":"[file:hashes.MD5 = 'aa']"}]}"#,
    )
    .unwrap();
    let misp = dir.path().join("event.misp.json");
    std::fs::write(
        &misp,
        r#"{"Event":{"info":"Sea Turtle","Attribute":[{"type":"domain|ip","value":"ns1.rootdnservers.com|45.32.100.62","uuid":"attr-7"}]}}"#,
    )
    .unwrap();
    let zeek = dir.path().join("intel.dat");
    std::fs::write(
        &zeek,
        "#fields\tindicator\tindicator_type\tmeta.source\n82.196.11.127\tIntel::ADDR\tzeek-feed\n",
    )
    .unwrap();
    // CISA withdrew 107.161.23.204 on 2019-02-13: allowed without editing the feed.
    let allow = dir.path().join("allow.txt");
    std::fs::write(&allow, "# withdrawn by CISA 2019-02-13\n107.161.23.204\n").unwrap();

    let mut s = Scenario::new(1_700_000_000);
    let mut planted = Vec::new();
    for (name, addr) in [
        ("a.example.org", "185.20.187.8"),
        ("b.example.org", "107.161.23.204"),
        ("c.example.org", "45.32.100.62"),
        ("d.example.org", "82.196.11.127"),
    ] {
        planted.push(s.exchange(
            &Exchange::new("10.0.0.2", "10.0.0.53", name, RecordType::A).answer(rr(
                name,
                60,
                a(addr),
            )),
        ));
    }
    let ns_p = s.exchange(
        &Exchange::new("10.0.0.2", "10.0.0.53", "example.org", RecordType::NS).answer(rr(
            "example.org",
            60,
            ns("ns1.rootdnservers.com"),
        )),
    );
    let pcap = write(dir.path(), "feeds.pcap", &s);
    let r = run(RunSpec {
        inputs: vec![pcap],
        builtin_feed: false,
        ioc_files: vec![stix.clone(), misp.clone(), zeek.clone()],
        allow_files: vec![allow],
        ..RunSpec::default()
    });
    assert_eq!(
        keys(&r.alerts),
        vec![
            key(
                "ioc_address",
                "answer",
                "a.example.org",
                "185.20.187.8",
                planted[0]
            ),
            key(
                "ioc_address",
                "answer",
                "c.example.org",
                "45.32.100.62",
                planted[2]
            ),
            key(
                "ioc_address",
                "answer",
                "d.example.org",
                "82.196.11.127",
                planted[3]
            ),
            key(
                "ioc_domain",
                "answer",
                "example.org",
                "ns1.rootdnservers.com",
                ns_p
            ),
        ]
    );
    let ioc = |i: usize| &r.alerts[i]["ioc"];
    assert_eq!(ioc(0)["feed"], stix.display().to_string());
    assert_eq!(ioc(0)["source"], "DNSpionage redirector");
    assert_eq!(ioc(0)["reference"], "indicator--1");
    assert_eq!(ioc(1)["feed"], misp.display().to_string());
    assert_eq!(ioc(1)["reference"], "attr-7");
    assert_eq!(ioc(2)["feed"], zeek.display().to_string());
    assert_eq!(ioc(2)["source"], "zeek-feed");
}

#[test]
fn generated_benign_traffic_raises_nothing_with_the_builtin_feed_and_demo_zones() {
    use dnsentry::synth::{rrsig, soa, txt};
    use hickory_proto::op::ResponseCode;
    let mut s = Scenario::new(1_600_000_000);
    for i in 0..3000u32 {
        let name = format!("host{i}.site{}.example.com", i % 97);
        let c = format!("10.20.{}.{}", i / 250 % 250, i % 250 + 1);
        let ex = match i % 8 {
            0 => Exchange::new(&c, "10.1.0.53", &name, RecordType::A).answer(rr(
                &name,
                300,
                a(&format!("198.51.{}.{}", i % 200, i % 250)),
            )),
            1 => Exchange::new(&c, "10.1.0.53", &name, RecordType::AAAA).answer(rr(
                &name,
                300,
                aaaa("2001:db8:77::1"),
            )),
            2 => Exchange::new(&c, "10.1.0.53", &name, RecordType::A)
                .answer(rr(&name, 300, cname(&format!("e{i}.cdn.example.net"))))
                .answer(rr(&format!("e{i}.cdn.example.net"), 20, a("203.0.113.9"))),
            3 => Exchange::new(&c, "10.1.0.53", "example.com", RecordType::MX).answer(rr(
                "example.com",
                3600,
                mx(10, "mx.example.com"),
            )),
            4 => Exchange::new(&c, "10.1.0.53", &name, RecordType::A)
                .rcode(ResponseCode::NXDomain)
                .authority(rr(
                    "example.com",
                    300,
                    soa("ns.example.com", "h.example.com", 1),
                )),
            5 => Exchange::new(&c, "10.1.0.53", "www.example.org", RecordType::A)
                .answer(rr("www.example.org", 300, a("192.0.2.10")))
                .answer(rr(
                    "www.example.org",
                    300,
                    rrsig(RecordType::A, 3, "example.org"),
                ))
                .dnssec_ok(),
            6 => Exchange::new(&c, "10.1.0.53", "example.org", RecordType::NS)
                .answer(rr("example.org", 86400, ns("ns1.example.org")))
                .additional(rr("ns1.example.org", 86400, a("192.0.2.53"))),
            _ => Exchange::new(&c, "10.1.0.53", &name, RecordType::TXT).answer(rr(
                &name,
                300,
                txt("v=spf1 -all"),
            )),
        };
        s.exchange(&ex);
    }
    let dir = tempfile::tempdir().unwrap();
    let pcap = write(dir.path(), "benign.pcap", &s);
    let r = run(RunSpec {
        inputs: vec![pcap],
        expect_files: vec![project_file("pcaps/demo-hijack.zones.toml")],
        ..RunSpec::default()
    });
    assert_eq!(r.outcome.summary.dns_responses, 3000);
    assert!(
        r.alerts.is_empty(),
        "{:#?}",
        &r.alerts[..r.alerts.len().min(3)]
    );
}

/// A real answer, its retransmission, an injector's different answer from
/// further away, and the same transaction to another port: the capture,
/// and the packet numbers of the real and the raced answer.
pub(crate) fn race_capture(dir: &Path) -> (PathBuf, u64, u64) {
    use etherparse::PacketBuilder;
    let client = "10.0.0.2";
    let server = "10.0.0.53";
    let frame = |ttl: u8, dport: u16, msg: &[u8]| {
        let mut out = Vec::new();
        PacketBuilder::ethernet2([2; 6], [4; 6])
            .ipv4([10, 0, 0, 53], [10, 0, 0, 2], ttl)
            .udp(53, dport)
            .write(&mut out, msg)
            .unwrap();
        out
    };
    let real = Exchange::new(client, server, "login.example.org", RecordType::A).answer(rr(
        "login.example.org",
        300,
        a("192.0.2.10"),
    ));
    let forged = Exchange::new(client, server, "login.example.org", RecordType::A).answer(rr(
        "login.example.org",
        300,
        a("203.0.113.66"),
    ));
    let (_, real_msg) = real.messages(0x5151);
    let (_, forged_msg) = forged.messages(0x5151);
    let mut s = Scenario::new(1_700_000_000);
    let first = s.raw_frame(frame(64, 41000, &real_msg));
    // The same answer again (a retransmission): not a conflict.
    s.raw_frame(frame(64, 41000, &real_msg));
    // The injector's answer, from further away.
    let raced = s.raw_frame(frame(50, 41000, &forged_msg));
    // Same transaction id to another client port: another query.
    s.raw_frame(frame(64, 41001, &forged_msg));
    (write(dir, "race.pcap", &s), first, raced)
}

#[test]
fn a_raced_forged_answer_is_a_conflicting_response_with_ttl_evidence() {
    let server = "10.0.0.53";
    let dir = tempfile::tempdir().unwrap();
    let (pcap, first, raced) = race_capture(dir.path());
    let r = run(RunSpec {
        inputs: vec![pcap],
        builtin_feed: false,
        ..RunSpec::default()
    });
    assert_eq!(
        keys(&r.alerts),
        vec![key(
            "conflicting_response",
            "answer",
            "login.example.org",
            "203.0.113.66",
            raced
        )]
    );
    let a = &r.alerts[0];
    assert_eq!(a["severity"], "high");
    assert_eq!(a["first"]["server"], server);
    assert_eq!(a["first"]["value"], "192.0.2.10");
    assert_eq!(a["first"]["source"]["packet"], first);
    assert_eq!(a["ip_ttl"], serde_json::json!({"now": 50, "before": 64}));
}

/// An attacker who answers AAAA with an IPv4-mapped (`::ffff:a.b.c.d`) or
/// NAT64 (`64:ff9b::/96`) form of a known-bad IPv4 address reaches the same
/// host; a feed that writes its IPv4 indicators in mapped form means the
/// same addresses. Both sides compare as IPv4, and the alert still shows
/// what was on the wire.
#[test]
fn ipv4_mapped_and_nat64_addresses_match_their_ipv4_indicators_and_policies() {
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("mapped.txt");
    std::fs::write(&feed, "::ffff:198.51.100.7\n::ffff:203.0.113.0/120\n").unwrap();
    // A mapped allowlist entry covers the built-in IPv4 indicator.
    let allow = dir.path().join("allow.txt");
    std::fs::write(&allow, "::ffff:82.196.11.127\n").unwrap();
    let zones = dir.path().join("zones.toml");
    std::fs::write(
        &zones,
        "[[zone]]\nname = \"example.org\"\na = [\"::ffff:192.0.2.0/120\"]\naaaa = [\"::ffff:192.0.2.0/120\"]\n",
    )
    .unwrap();

    let mut s = Scenario::new(1_600_000_000);
    let mut ex = |name: &str, qtype: RecordType, data| {
        s.exchange(&Exchange::new("10.0.0.2", "10.0.0.53", name, qtype).answer(rr(name, 60, data)))
    };
    let mapped = ex(
        "m.example.com",
        RecordType::AAAA,
        aaaa("::ffff:185.20.187.8"),
    );
    let nat64 = ex(
        "n.example.com",
        RecordType::AAAA,
        aaaa("64:ff9b::185.20.187.8"),
    );
    let plain = ex("p.example.com", RecordType::A, a("198.51.100.7"));
    let in_net = ex("q.example.com", RecordType::A, a("203.0.113.9"));
    ex("r.example.com", RecordType::A, a("82.196.11.127"));
    // Inside the zone's networks in the other spelling: allowed.
    ex(
        "www.example.org",
        RecordType::AAAA,
        aaaa("64:ff9b::192.0.2.5"),
    );
    ex("www.example.org", RecordType::A, a("192.0.2.6"));
    let moved = ex(
        "mail.example.org",
        RecordType::AAAA,
        aaaa("::ffff:198.18.0.1"),
    );
    let pcap = write(dir.path(), "mapped.pcap", &s);

    let r = run(RunSpec {
        inputs: vec![pcap],
        ioc_files: vec![feed],
        allow_files: vec![allow],
        expect_files: vec![zones],
        ..RunSpec::default()
    });
    assert_eq!(
        keys(&r.alerts),
        vec![
            key(
                "ioc_address",
                "answer",
                "m.example.com",
                "::ffff:185.20.187.8",
                mapped
            ),
            key(
                "ioc_address",
                "answer",
                "n.example.com",
                "64:ff9b::b914:bb08",
                nat64
            ),
            key(
                "ioc_address",
                "answer",
                "p.example.com",
                "198.51.100.7",
                plain
            ),
            key(
                "ioc_address",
                "answer",
                "q.example.com",
                "203.0.113.9",
                in_net
            ),
            key(
                "unexpected_address",
                "answer",
                "mail.example.org",
                "::ffff:198.18.0.1",
                moved
            ),
        ]
    );
    assert_eq!(r.alerts[0]["ioc"]["indicator"], "185.20.187.8");
    assert_eq!(r.alerts[2]["ioc"]["indicator"], "::ffff:198.51.100.7");
}

/// One 29 KB message of 1,000 distinct addresses for a monitored name
/// raised 1,000 alerts, each carrying all 1,000 answers: 70 MB of alerts
/// from one packet. Now: the bounded number of alerts, each with a
/// bounded share of the response, the rest counted; the DNS log still has
/// every answer.
#[test]
fn a_response_of_a_thousand_hostile_answers_cannot_multiply_into_megabytes_of_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let (pcap, zones, packet) = crate::common::hostile_answers_capture(dir.path(), 1000);
    let wire = std::fs::metadata(&pcap).unwrap().len();

    let r = run(RunSpec {
        inputs: vec![pcap],
        expect_files: vec![zones],
        dns_log: true,
        weird_log: true,
        ..RunSpec::default()
    });
    assert_eq!(r.alerts.len(), dnsentry::matcher::MAX_ALERTS_PER_RESPONSE);
    let alert_bytes: usize = r.alerts.iter().map(|a| a.to_string().len() + 1).sum();
    assert!(
        alert_bytes < 8 * wire as usize,
        "{alert_bytes} bytes of alerts from a {wire}-byte capture"
    );
    for alert in &r.alerts {
        assert_eq!(alert["answers"].as_array().unwrap().len(), 32);
        assert_eq!(alert["records_omitted"], 1000 - 32);
    }
    assert_eq!(r.outcome.summary.malformed.get("dns_alert_limit"), Some(&1));
    let weirds = weird_names_and_packets(&r.weirds);
    assert_eq!(weirds, vec![("dns_alert_limit", packet)]);
    assert_eq!(r.dns_log.len(), 1);
    assert_eq!(r.dns_log[0]["answers"].as_array().unwrap().len(), 1000);
}

/// A compression-bomb flood with the weird log on: every bomb is an
/// anomaly, and a line each would fill the disk the alerts go to. The log
/// keeps Zeek's sample (the first 1,000 of a name in ten minutes, then one
/// in 1,000), every anomaly is still counted by name, the lines left out
/// are counted, and an anomaly of another name and the hijack in the thick
/// of the flood are not held back.
#[test]
fn a_flood_of_one_anomaly_writes_a_sample_to_the_weird_log_and_counts_every_one() {
    use dnsentry::output::sampling::{WEIRD_SAMPLE_FIRST, WEIRD_SAMPLE_RATE};
    use dnsentry::synth::flood::{Flood, frames};
    // 250 ms apart (the scenario's pace): all in one ten-minute window.
    let bombs = 2_300u64;
    let mut s = Scenario::new(1_547_110_800);
    let flood = frames(Flood::CompressionBomb, usize::try_from(bombs).unwrap());
    let (first_half, second_half) = flood.split_at(flood.len() / 2);
    for (_, frame) in first_half {
        s.raw_frame(frame.clone());
    }
    // The hijack: mail.example.org to an AA19-024A address.
    let hijack = s.exchange(
        &Exchange::new("10.1.2.3", "192.0.2.53", "mail.example.org", RecordType::A).answer(rr(
            "mail.example.org",
            300,
            a("185.20.187.8"),
        )),
    );
    // A response too short for its header: another anomaly.
    s.raw_frame(dnsentry::synth::encap::ethernet_ip(
        &dnsentry::synth::encap::ip_udp(
            "192.0.2.53".parse().unwrap(),
            "10.1.2.3".parse().unwrap(),
            53,
            40001,
            &[0x12, 0x34, 0x81],
        ),
    ));
    for (_, frame) in second_half {
        s.raw_frame(frame.clone());
    }
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("bomb-flood.pcap");
    s.write_pcap_file(&pcap).unwrap();

    let r = run(RunSpec {
        inputs: vec![pcap],
        weird_log: true,
        ..RunSpec::default()
    });
    let m = &r.outcome.summary.malformed;
    assert_eq!(m.get("dns_decode_budget"), Some(&bombs));
    assert_eq!(m.get("dns_header_truncated"), Some(&1));
    let logged_bombs = WEIRD_SAMPLE_FIRST + (bombs - WEIRD_SAMPLE_FIRST) / WEIRD_SAMPLE_RATE;
    assert_eq!(m.get("weird_log_sampled"), Some(&(bombs - logged_bombs)));
    let weirds = weird_names_and_packets(&r.weirds);
    let count = |name: &str| weirds.iter().filter(|(n, _)| *n == name).count() as u64;
    assert_eq!(count("dns_decode_budget"), logged_bombs);
    assert_eq!(count("dns_header_truncated"), 1);
    assert_eq!(weirds.len() as u64, logged_bombs + 1);
    let iocs: Vec<u64> = r
        .alerts
        .iter()
        .filter(|a| a["kind"] == "ioc_address")
        .map(|a| a["source"]["packet"].as_u64().unwrap())
        .collect();
    assert_eq!(iocs, vec![hijack]);
}
