//! Decode throughput: the worker's hot path (DNS message → DnsResponse) and
//! the capture thread's (frame → batched DNS payload), on a realistic mix
//! built by `dnsentry::synth`; and the capture thread under the floods an
//! attacker sends first (first fragments that never complete, a SYN flood
//! to port 53, one flow's out-of-order backlog), whose cost per packet must
//! stay flat as the state held grows.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dnsentry::decode::Demux;
use dnsentry::decode::dns::decode_response;
use dnsentry::decode::link::LinkType;
use dnsentry::decode::transport::PortSet;
use dnsentry::model::{PayloadBatch, SourceRef, Timestamp};
use dnsentry::synth::flood::{self, Flood};
use dnsentry::synth::{Exchange, Scenario, a, aaaa, cname, mx, rr};
use hickory_proto::rr::RecordType;

/// 2,000 exchanges: A, AAAA, CNAME chains and MX, like resolver traffic.
fn scenario() -> Scenario {
    let mut s = Scenario::new(1_700_000_000);
    for i in 0..2000u32 {
        let name = format!("www.site{i}.example.com");
        let client = format!("10.0.{}.{}", i / 200, i % 200 + 1);
        let ex = Exchange::new(&client, "10.0.255.53", &name, RecordType::A);
        let ex = match i % 10 {
            0..=5 => ex.answer(rr(&name, 300, a(&format!("198.51.100.{}", i % 250)))),
            6 => Exchange::new(&client, "10.0.255.53", &name, RecordType::AAAA).answer(rr(
                &name,
                300,
                aaaa("2001:db8::1"),
            )),
            7 | 8 => ex
                .answer(rr(&name, 300, cname(&format!("e{i}.cdn.example.net"))))
                .answer(rr(&format!("e{i}.cdn.example.net"), 60, a("203.0.113.7"))),
            _ => Exchange::new(&client, "10.0.255.53", &name, RecordType::MX).answer(rr(
                &name,
                300,
                mx(10, "mail.example.com"),
            )),
        };
        s.exchange(&ex);
    }
    s
}

fn demux_all(frames: &[(Timestamp, Vec<u8>)]) -> PayloadBatch {
    let mut demux = Demux::new(PortSet::new(&[53]));
    let mut batch = PayloadBatch::default();
    for (i, (ts, f)) in frames.iter().enumerate() {
        let src = SourceRef {
            file: 0,
            packet: i as u64 + 1,
        };
        demux.frame(LinkType::ETHERNET, src, *ts, f, &mut batch);
    }
    batch
}

fn benches(c: &mut Criterion) {
    let s = scenario();
    let frames = s.frames();
    let batch = demux_all(frames);
    let bytes: u64 = frames.iter().map(|(_, f)| f.len() as u64).sum();

    let mut g = c.benchmark_group("demux");
    g.throughput(Throughput::Elements(frames.len() as u64));
    g.bench_function("frames_to_dns_payloads", |b| {
        b.iter(|| black_box(demux_all(black_box(frames))))
    });
    g.finish();

    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(batch.len() as u64));
    g.bench_function("dns_responses", |b| {
        b.iter(|| {
            for (meta, msg) in batch.iter() {
                black_box(decode_response(*meta, msg).ok());
            }
        })
    });
    g.finish();
    let _ = bytes;
}

fn floods(c: &mut Criterion) {
    let mut g = c.benchmark_group("flood");
    g.sample_size(10);
    // The floods of `scripts/bench --floods`: past 4,096 datagrams every
    // first fragment evicts the oldest, past 65,536 streams every SYN the
    // least recently active, and the out-of-order flood drains its backlog
    // one filled byte at a time.
    for (name, frames) in [
        (
            "fragment_flood_50k",
            flood::frames(Flood::Fragments, 50_000),
        ),
        ("syn_flood_200k", flood::frames(Flood::Syn, 200_000)),
        (
            "out_of_order_backlog_20k",
            flood::frames(Flood::OutOfOrder, 40_002),
        ),
    ] {
        g.throughput(Throughput::Elements(frames.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| black_box(demux_all(black_box(&frames))))
        });
    }
    g.finish();
}

criterion_group!(decode, benches, floods);
criterion_main!(decode);
