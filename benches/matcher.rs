//! Matching cost must not grow with the feed: the same responses are
//! matched against the 36 built-in indicators and against a million.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dnsentry::decode::Demux;
use dnsentry::decode::dns::decode_response;
use dnsentry::decode::link::LinkType;
use dnsentry::decode::transport::PortSet;
use dnsentry::ioc::{IocSet, parse_feed};
use dnsentry::matcher::Matcher;
use dnsentry::model::{DnsResponse, PayloadBatch, SourceRef};
use dnsentry::rules::{BUILTIN_FEED, BUILTIN_FEED_NAME, Rules, shared};
use dnsentry::synth::{Exchange, Scenario, a, cname, rr};
use hickory_proto::rr::RecordType;

fn responses() -> Vec<DnsResponse> {
    let mut s = Scenario::new(1_700_000_000);
    for i in 0..2000u32 {
        let name = format!("www.site{i}.example.com");
        let ex = Exchange::new("10.0.0.2", "10.0.0.53", &name, RecordType::A)
            .answer(rr(&name, 300, cname(&format!("e{i}.cdn.example.net"))))
            .answer(rr(
                &format!("e{i}.cdn.example.net"),
                60,
                a(&format!("198.51.{}.{}", i / 250, i % 250)),
            ));
        s.exchange(&ex);
    }
    decode_all(&s)
}

/// Every response of the scenario's capture, decoded.
fn decode_all(s: &Scenario) -> Vec<DnsResponse> {
    let mut demux = Demux::new(PortSet::new(&[53]));
    let mut batch = PayloadBatch::default();
    for (i, (ts, f)) in s.frames().iter().enumerate() {
        demux.frame(
            LinkType::ETHERNET,
            SourceRef {
                file: 0,
                packet: i as u64,
            },
            *ts,
            f,
            &mut batch,
        );
    }
    batch
        .iter()
        .filter_map(|(m, b)| decode_response(*m, b).ok())
        .collect()
}

fn hostile_response() -> DnsResponse {
    let mut ex = Exchange::new(
        "198.51.100.7",
        "192.0.2.53",
        "www.example.org",
        RecordType::A,
    );
    for i in 0..500u32 {
        let addr = format!("203.0.{}.{}", i / 250, i % 250);
        ex = ex.answer(rr("www.example.org", 60, a(&addr))).answer(rr(
            "mail.example.org",
            60,
            a(&addr),
        ));
    }
    let mut s = Scenario::new(1_700_000_000);
    s.exchange(&ex);
    decode_all(&s).pop().unwrap()
}

/// A synthetic feed of `n` indicators: a third addresses, a third networks
/// of several prefix lengths, a third domains. None matches the responses.
fn big_feed(n: usize) -> String {
    let mut s = String::from("indicator,type\n");
    for i in 0..n {
        let (x, y, z) = ((i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
        match i % 3 {
            0 => s.push_str(&format!("10.{x}.{y}.{z},ipv4\n")),
            1 => s.push_str(&format!("100.{x}.{y}.0/{},cidr\n", 24 + i % 5)),
            _ => s.push_str(&format!("bad{i}.evil{x}.test,domain\n")),
        }
    }
    s
}

fn benches(c: &mut Criterion) {
    let resp = responses();
    let small = IocSet::new(
        parse_feed(BUILTIN_FEED_NAME, BUILTIN_FEED)
            .unwrap()
            .indicators,
    );
    let big = IocSet::new(
        parse_feed("big.csv", &big_feed(1_000_000))
            .unwrap()
            .indicators,
    );
    let mut g = c.benchmark_group("match");
    g.throughput(Throughput::Elements(resp.len() as u64));
    for (label, set) in [("36_indicators", small), ("1M_indicators", big)] {
        let mut m = Matcher::new(shared(Rules {
            ioc: set,
            ..Rules::default()
        }));
        let mut out = Vec::new();
        g.bench_function(BenchmarkId::new("responses", label), |b| {
            b.iter(|| {
                out.clear();
                for r in &resp {
                    m.check(black_box(r), &mut out);
                }
                black_box(out.len())
            })
        });
    }
    g.finish();

    // A response built to alert as often as one message can: 1,000
    // records, 500 distinct addresses outside the zone's expected network,
    // each repeated. The per-response dedup must stay linear in them.
    let hostile = hostile_response();
    let expected = dnsentry::expect::parse_expect(
        "bench.toml",
        "[[zone]]\nname = \"example.org\"\na = [\"192.0.2.0/24\"]\n",
    )
    .unwrap();
    let mut m = Matcher::new(shared(Rules {
        expected,
        ..Rules::default()
    }));
    let mut g = c.benchmark_group("match_hostile");
    g.throughput(Throughput::Elements(1));
    let mut out = Vec::new();
    g.bench_function("response_500_distinct_unexpected_values", |b| {
        b.iter(|| {
            out.clear();
            m.check(black_box(&hostile), &mut out);
            black_box(out.len())
        })
    });
    g.finish();

    let text = big_feed(1_000_000);
    let mut g = c.benchmark_group("feed_load");
    g.sample_size(10);
    g.bench_function("parse_and_index_1M_indicators", |b| {
        b.iter(|| IocSet::new(parse_feed("big.csv", black_box(&text)).unwrap().indicators).len())
    });
    g.finish();
}

criterion_group!(matcher, benches);
criterion_main!(matcher);
