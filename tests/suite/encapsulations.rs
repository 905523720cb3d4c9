//! One generated capture per link layer, tunnel, fragmentation and TCP
//! case the decoder handles. Each carries a planted AA19-024A answer and a
//! benign one in the same encapsulation, and must raise exactly one alert
//! with the right VLAN ids and outer tunnel.

use std::net::IpAddr;

use dnsentry::model::Timestamp;
use dnsentry::synth::encap::*;
use dnsentry::synth::{Exchange, a, rr, write_pcap};
use hickory_proto::rr::RecordType;
use pcap_file::DataLink;
use serde_json::{Value, json};

use crate::common::{RunSpec, run};

const SERVER4: &str = "192.0.2.53";
const CLIENT4: &str = "198.51.100.7";
const SERVER6: &str = "2001:db8:53::53";
const CLIENT6: &str = "2001:db8:77::7";
const TUNNEL_A: &str = "10.0.0.1";
const TUNNEL_B: &str = "10.0.0.2";
const IOC: &str = "185.20.187.8";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The planted response (IOC address) and a benign one.
fn responses() -> Vec<Vec<u8>> {
    let hijack = Exchange::new(CLIENT4, SERVER4, "mail.example.org", RecordType::A).answer(rr(
        "mail.example.org",
        300,
        a(IOC),
    ));
    let benign = Exchange::new(CLIENT4, SERVER4, "www.example.org", RecordType::A).answer(rr(
        "www.example.org",
        300,
        a("192.0.2.10"),
    ));
    vec![hijack.messages(0x4242).1, benign.messages(0x4343).1]
}

/// The response as an IP/UDP packet from the server.
fn udp4(msg: &[u8]) -> Vec<u8> {
    ip_udp(ip(SERVER4), ip(CLIENT4), 53, 40000, msg)
}

fn udp6(msg: &[u8]) -> Vec<u8> {
    ip_udp(ip(SERVER6), ip(CLIENT6), 53, 40000, msg)
}

/// An outer IPv4 packet between the tunnel endpoints, in Ethernet.
fn outer(protocol: u8, payload: &[u8]) -> Vec<u8> {
    ethernet_ip(&ip_raw(ip(TUNNEL_A), ip(TUNNEL_B), protocol, payload))
}

fn outer_udp(dport: u16, payload: &[u8]) -> Vec<u8> {
    ethernet_ip(&ip_udp(ip(TUNNEL_A), ip(TUNNEL_B), 50000, dport, payload))
}

struct Case {
    name: &'static str,
    link: u32,
    frames: Vec<Vec<u8>>,
    vlan: Vec<u16>,
    tunnel: Option<Value>,
    transport: &'static str,
    /// Anomalies the case must count (and no others).
    anomalies: Vec<(&'static str, u64)>,
}

fn per_message(name: &'static str, link: u32, f: impl Fn(&[u8]) -> Vec<u8>) -> Case {
    Case {
        name,
        link,
        frames: responses().iter().map(|m| f(m)).collect(),
        vlan: vec![],
        tunnel: None,
        transport: "udp",
        anomalies: vec![],
    }
}

fn tunnel(kind: &str, id: Option<u32>) -> Option<Value> {
    let mut t = json!({"type": kind, "src": TUNNEL_A, "dst": TUNNEL_B});
    if let Some(id) = id {
        t["id"] = json!(id);
    }
    Some(t)
}

fn cases() -> Vec<Case> {
    let eth = DataLink::ETHERNET.into();
    let mut v = vec![
        Case {
            vlan: vec![100, 200, 300],
            ..per_message("802.1ad + two 802.1Q tags", eth, |m| {
                ethernet_tagged(
                    &[(0x88a8, 100), (0x8100, 200), (0x8100, 300)],
                    0x0800,
                    &udp4(m),
                )
            })
        },
        Case {
            vlan: vec![10, 20],
            ..per_message("old QinQ 0x9100", eth, |m| {
                ethernet_tagged(&[(0x9100, 10), (0x8100, 20)], 0x0800, &udp4(m))
            })
        },
        per_message("Linux cooked v1", 113, |m| sll(0x0800, &udp4(m))),
        per_message("Linux cooked v2", 276, |m| sll2(0x86dd, &udp6(m))),
        per_message("raw IP (DLT_RAW)", 101, udp4),
        per_message("LINKTYPE_IPV4", 228, udp4),
        per_message("LINKTYPE_IPV6", 229, udp6),
        per_message("BSD loopback", 0, |m| null_loopback(&udp6(m))),
        per_message("PPP", 9, |m| ppp(&udp4(m))),
        per_message("PPPoE", eth, |m| pppoe(3, &udp4(m))),
        per_message("MPLS stack", eth, |m| mpls(&[1000, 2000, 3000], &udp4(m))),
        per_message("NFLOG", 239, |m| nflog(&udp4(m))),
        per_message("PKTAP", 258, |m| pktap(&ethernet_ip(&udp4(m)))),
        per_message("802.11", 105, |m| wifi(&udp4(m))),
        per_message("802.11 radiotap", 127, |m| radiotap(&wifi(&udp6(m)))),
        Case {
            tunnel: tunnel("gre", Some(77)),
            ..per_message("GRE with key", eth, |m| {
                outer(47, &gre(0x0800, Some(77), None, &udp4(m)))
            })
        },
        Case {
            tunnel: tunnel("gre", None),
            vlan: vec![5],
            ..per_message("GRE bridging a tagged frame", eth, |m| {
                outer(
                    47,
                    &gre(
                        0x6558,
                        None,
                        Some(1),
                        &ethernet_tagged(&[(0x8100, 5)], 0x0800, &udp4(m)),
                    ),
                )
            })
        },
        Case {
            tunnel: tunnel("erspan1", None),
            ..per_message("ERSPAN type I", eth, |m| {
                outer(47, &gre(0x88be, None, None, &ethernet_ip(&udp4(m))))
            })
        },
        Case {
            tunnel: tunnel("erspan2", Some(42)),
            ..per_message("ERSPAN type II", eth, |m| {
                outer(47, &erspan2(42, 9, &ethernet_ip(&udp4(m))))
            })
        },
        Case {
            tunnel: tunnel("erspan3", Some(43)),
            ..per_message("ERSPAN type III", eth, |m| {
                outer(47, &erspan3(43, 9, &ethernet_ip(&udp6(m))))
            })
        },
        Case {
            tunnel: tunnel("gre_udp", None),
            ..per_message("GRE in UDP 4754", eth, |m| {
                outer_udp(4754, &gre(0x0800, None, None, &udp4(m)))
            })
        },
        Case {
            tunnel: tunnel("gre_pptp", Some(9)),
            ..per_message("PPTP (GRE v1, PPP)", eth, |m| {
                outer(47, &gre_pptp(9, 1, &ppp(&udp4(m))))
            })
        },
        Case {
            tunnel: tunnel("vxlan", Some(1000)),
            ..per_message("VXLAN", eth, |m| {
                outer_udp(4789, &vxlan(1000, &ethernet_ip(&udp4(m))))
            })
        },
        Case {
            tunnel: tunnel("geneve", Some(2000)),
            ..per_message("Geneve", eth, |m| {
                outer_udp(6081, &geneve(2000, 0x6558, &ethernet_ip(&udp4(m))))
            })
        },
        Case {
            tunnel: tunnel("ipip", None),
            ..per_message("IP in IP", eth, |m| outer(4, &udp4(m)))
        },
        Case {
            tunnel: tunnel("6in4", None),
            ..per_message("IPv6 in IPv4", eth, |m| outer(41, &udp6(m)))
        },
        Case {
            tunnel: Some(json!({"type": "4in6", "src": "2001:db8:1::1", "dst": "2001:db8:1::2"})),
            ..per_message("IPv4 in IPv6", eth, |m| {
                ethernet_ip(&ip_raw(
                    ip("2001:db8:1::1"),
                    ip("2001:db8:1::2"),
                    4,
                    &udp4(m),
                ))
            })
        },
        Case {
            // 6in4 → IPv6/UDP → VXLAN → tagged Ethernet → IPv4 GRE → IPv4.
            tunnel: tunnel("6in4", None),
            vlan: vec![7],
            ..per_message("nested: GRE in VXLAN in 6in4", eth, |m| {
                let gre_pkt = ip_raw(
                    ip("172.16.0.1"),
                    ip("172.16.0.2"),
                    47,
                    &gre(0x0800, None, None, &udp4(m)),
                );
                let inner_eth = ethernet_tagged(&[(0x8100, 7)], 0x0800, &gre_pkt);
                let v6 = ip_udp(
                    ip("2001:db8:2::1"),
                    ip("2001:db8:2::2"),
                    50000,
                    4789,
                    &vxlan(5, &inner_eth),
                );
                outer(41, &v6)
            })
        },
    ];

    // Fragmentation: every response in several fragments, last one first.
    let frag4 = |m: &[u8], ident| {
        let mut f = ipv4_fragments(&udp4(m), ident, 24);
        f.reverse();
        f
    };
    let frag6 = |m: &[u8], ident| {
        let mut f = ipv6_fragments(&udp6(m), ident, 24);
        f.rotate_left(1);
        f
    };
    let msgs = responses();
    v.push(Case {
        name: "IPv4 fragments out of order",
        link: eth,
        frames: msgs
            .iter()
            .zip(1u16..)
            .flat_map(|(m, id)| frag4(m, id))
            .map(|p| ethernet_ip(&p))
            .collect(),
        vlan: vec![],
        tunnel: None,
        transport: "udp",
        anomalies: vec![],
    });
    v.push(Case {
        name: "IPv6 fragments",
        link: eth,
        frames: msgs
            .iter()
            .zip(1u32..)
            .flat_map(|(m, id)| frag6(m, id))
            .map(|p| ethernet_ip(&p))
            .collect(),
        vlan: vec![],
        tunnel: None,
        transport: "udp",
        anomalies: vec![],
    });
    v.push(Case {
        name: "IPv4 fragments inside VXLAN",
        link: eth,
        frames: msgs
            .iter()
            .zip(1u16..)
            .flat_map(|(m, id)| frag4(m, id))
            .map(|p| outer_udp(4789, &vxlan(9, &ethernet_ip(&p))))
            .collect(),
        vlan: vec![],
        tunnel: tunnel("vxlan", Some(9)),
        transport: "udp",
        anomalies: vec![],
    });

    // TCP: handshake, then both responses framed on one stream, cut into
    // small segments sent out of order with a retransmission.
    let mut stream = Vec::new();
    for m in &msgs {
        stream.extend_from_slice(&(m.len() as u16).to_be_bytes());
        stream.extend_from_slice(m);
    }
    // The sequence space wraps around inside the stream.
    let isn = u32::MAX - 40;
    let seg = |off: usize, len: usize| {
        let end = (off + len).min(stream.len());
        ethernet_ip(&ip_tcp(
            ip(SERVER4),
            ip(CLIENT4),
            53,
            40000,
            isn.wrapping_add(1 + off as u32),
            false,
            &stream[off..end],
        ))
    };
    let syn = ethernet_ip(&ip_tcp(ip(SERVER4), ip(CLIENT4), 53, 40000, isn, true, &[]));
    let mut frames = vec![syn];
    let cuts: Vec<usize> = (0..stream.len()).step_by(17).collect();
    let mut order: Vec<usize> = cuts.clone();
    order.swap(1, 2);
    order.insert(3, cuts[1]); // a retransmission
    frames.extend(order.iter().map(|&o| seg(o, 17)));
    v.push(Case {
        name: "TCP: segments out of order, retransmitted, sequence wrapping",
        link: eth,
        frames,
        vlan: vec![],
        tunnel: None,
        transport: "tcp",
        anomalies: vec![],
    });
    // Both messages in one segment, picked up mid-stream after a fragment
    // of an earlier message.
    let mut tail = vec![0xaa; 9];
    tail.extend_from_slice(&stream);
    let pick = vec![
        ethernet_ip(&ip_tcp(
            ip(SERVER4),
            ip(CLIENT4),
            53,
            40001,
            77,
            false,
            &tail[..9],
        )),
        ethernet_ip(&ip_tcp(
            ip(SERVER4),
            ip(CLIENT4),
            53,
            40001,
            86,
            false,
            &tail[9..],
        )),
    ];
    // A response lost on the span port before both: the client
    // acknowledged it, so it will never be seen. The stream resumes at the
    // next segment that starts a message.
    let lost = Exchange::new(CLIENT4, SERVER4, "lost.example.org", RecordType::A)
        .answer(rr("lost.example.org", 300, a("192.0.2.99")))
        .messages(0x4141)
        .1;
    let isn = 7000u32;
    let lost_len = 2 + lost.len() as u32;
    let mut seq = isn + 1 + lost_len;
    let mut gap = vec![ethernet_ip(&ip_tcp(
        ip(SERVER4),
        ip(CLIENT4),
        53,
        40002,
        isn,
        true,
        &[],
    ))];
    for m in &msgs {
        let mut framed = (m.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(m);
        gap.push(ethernet_ip(&ip_tcp(
            ip(SERVER4),
            ip(CLIENT4),
            53,
            40002,
            seq,
            false,
            &framed,
        )));
        seq += framed.len() as u32;
        gap.push(ethernet_ip(&ip_tcp_ack(
            ip(CLIENT4),
            ip(SERVER4),
            40002,
            53,
            1,
            seq,
            &[],
        )));
    }
    v.push(Case {
        name: "TCP: a segment lost before the responses, acknowledged by the client",
        link: eth,
        frames: gap,
        vlan: vec![],
        tunnel: None,
        transport: "tcp",
        anomalies: vec![("tcp_gap", 1), ("tcp_gap_resync", 1)],
    });
    v.push(Case {
        name: "TCP: mid-stream pickup, two messages in one segment",
        link: eth,
        frames: pick,
        vlan: vec![],
        tunnel: None,
        transport: "tcp",
        // The 9 bytes before the first message start are skipped.
        anomalies: vec![("tcp_unsynced_data", 1)],
    });
    v
}

#[test]
fn every_encapsulation_yields_exactly_the_planted_alert() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (i, case) in cases().into_iter().enumerate() {
        let path = dir.path().join(format!("case{i}.pcap"));
        let frames: Vec<(Timestamp, Vec<u8>)> = case
            .frames
            .into_iter()
            .enumerate()
            .map(|(n, f)| (Timestamp(1_600_000_000_000_000 + n as i64 * 1000), f))
            .collect();
        write_pcap(
            std::fs::File::create(&path).unwrap(),
            DataLink::from(case.link),
            &frames,
        )
        .unwrap();
        let r = run(RunSpec {
            inputs: vec![path],
            dns_log: true,
            ..RunSpec::default()
        });
        let s = &r.outcome.summary;
        let mut problems = Vec::new();
        if s.dns_responses != 2 {
            problems.push(format!("{} responses decoded, want 2", s.dns_responses));
        }
        let want: std::collections::BTreeMap<&str, u64> = case.anomalies.iter().copied().collect();
        if s.malformed != want {
            problems.push(format!("anomalies: {:?}, want {want:?}", s.malformed));
        }
        if r.alerts.len() != 1 {
            problems.push(format!("{} alerts, want 1", r.alerts.len()));
        }
        if let Some(alert) = r.alerts.first() {
            let want_vlan = if case.vlan.is_empty() {
                Value::Null
            } else {
                json!(case.vlan)
            };
            let got_tunnel = alert.get("tunnel").cloned().unwrap_or(Value::Null);
            let checks = [
                ("kind", alert["kind"].clone(), json!("ioc_address")),
                ("value", alert["value"].clone(), json!(IOC)),
                (
                    "transport",
                    alert["transport"].clone(),
                    json!(case.transport),
                ),
                (
                    "vlan",
                    alert.get("vlan").cloned().unwrap_or(Value::Null),
                    want_vlan,
                ),
                (
                    "tunnel",
                    got_tunnel,
                    case.tunnel.clone().unwrap_or(Value::Null),
                ),
            ];
            for (what, got, want) in checks {
                if got != want {
                    problems.push(format!("{what}: got {got}, want {want}"));
                }
            }
        }
        if r.dns_log
            .iter()
            .any(|l| l.get("tunnel").cloned() != case.tunnel)
        {
            problems.push("DNS log lines lack the tunnel".into());
        }
        if !problems.is_empty() {
            failures.push(format!("{}: {}", case.name, problems.join("; ")));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
