//! Entry points for the fuzz targets in `fuzz/`. They live in the library
//! so that stable builds compile them and the test suite replays the
//! committed corpus through them (`tests/suite/fuzz_corpus.rs`); the
//! cargo-fuzz targets are one-line wrappers.
//!
//! Each entry drives untrusted bytes through the same code a capture does
//! and only has to not panic.

use std::io;
use std::sync::{Arc, OnceLock};

use crate::decode::defrag::DefragLimits;
use crate::decode::link::LinkType;
use crate::decode::tcp::{Segment, StreamKey, StreamSink, TcpLimits, TcpReassembler};
use crate::decode::transport::PortSet;
use crate::decode::{Demux, DemuxLimits};
use crate::expect::parse_expect;
use crate::ioc::{IocSet, parse_feed};
use crate::matcher::policy::AlertPolicy;
use crate::matcher::suppress::Suppressor;
use crate::model::{
    Malformed, PacketMeta, PayloadBatch, SourceNames, SourceRef, Timestamp, Transport,
};
use crate::output::syslog::format::{Origin, alert_message, sensor_message};
use crate::output::syslog::{Body, Header};
use crate::output::{Event, Format, JsonLines, Output, OutputError, OutputSet, Writer};
use crate::pipeline::batch::{Emitter, ProcessOptions, Processor};
use crate::rules::{BUILTIN_FEED, BUILTIN_FEED_NAME, Rules, SharedRules, shared};
use crate::stats::{OutputKind, OutputReport, SensorEvent};

/// Link types a packet input may claim: its first byte picks one.
pub const LINK_TYPES: [LinkType; LinkType::SUPPORTED.len()] = LinkType::SUPPORTED;

fn rules() -> SharedRules {
    static RULES: OnceLock<SharedRules> = OnceLock::new();
    Arc::clone(RULES.get_or_init(|| {
        let indicators = parse_feed(BUILTIN_FEED_NAME, BUILTIN_FEED)
            .map(|f| f.indicators)
            .unwrap_or_default();
        let expected = parse_expect(
            "fuzz.toml",
            "[[zone]]\nname = \"example.org\"\na = [\"192.0.2.0/24\"]\nns = [\"ns1.example.org\"]\nmx = [\"mail.example.org\"]\ncname = [\"*.cdn.example.net\"]\n",
        )
        .unwrap_or_default();
        shared(Rules {
            ioc: IocSet::new(indicators),
            allow: IocSet::default(),
            expected,
            ..Rules::default()
        })
    }))
}

/// Every syslog header and body a destination can be set to, rendered
/// and dropped: the encoders see what a SIEM would, without a network.
struct SyslogRender {
    header: Header,
    body: Body,
    origin: Origin,
}

impl Output for SyslogRender {
    fn kind(&self) -> OutputKind {
        OutputKind::Syslog
    }

    fn name(&self) -> &str {
        "fuzz-syslog"
    }

    fn write(&mut self, event: &Event<'_>, sources: &SourceNames) -> Result<(), OutputError> {
        let rendered = match event {
            Event::Alert { alert, id, count } => alert_message(
                alert,
                *id,
                *count,
                self.header,
                self.body,
                &self.origin,
                sources,
            ),
            Event::Sensor(e) => sensor_message(e, self.header, self.body, &self.origin, sources),
            Event::DnsLog(_) | Event::Weird(_) => return Ok(()),
        };
        std::hint::black_box(rendered);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn finish(self: Box<Self>) -> Option<OutputReport> {
        None
    }
}

/// Every output a run can have, each writing into nothing, as one set per
/// alert encoder: each set also holds the DNS and weird logs.
fn output_sets() -> Vec<OutputSet> {
    let sink = |what: &str| Writer::new(what.into(), Box::new(io::sink()));
    let mut alert_encoders: Vec<Box<dyn Output>> = vec![
        Box::new(JsonLines::new(OutputKind::Alerts, sink("alerts"))),
        Box::new(JsonLines::new(OutputKind::Alerts, sink("alerts-eve")).with_format(Format::Eve)),
        Box::new(JsonLines::new(OutputKind::Alerts, sink("alerts-ecs")).with_format(Format::Ecs)),
    ];
    for header in [Header::Rfc5424, Header::Rfc3164] {
        for body in [Body::Json, Body::Eve, Body::Ecs, Body::Cef, Body::Leef] {
            alert_encoders.push(Box::new(SyslogRender {
                header,
                body,
                origin: Origin {
                    hostname: "fuzz".into(),
                    procid: 1,
                    facility: 16,
                    enterprise_number: 32473,
                },
            }));
        }
    }
    alert_encoders
        .into_iter()
        .map(|alerts| {
            OutputSet::from_outputs(vec![
                alerts,
                Box::new(JsonLines::new(OutputKind::DnsLog, sink("dns-log"))),
                Box::new(JsonLines::new(OutputKind::WeirdLog, sink("weird-log"))),
            ])
        })
        .collect()
}

/// FNV-1a: picks an input's encoders, so that any change to the input may
/// move it to another.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A batch through the one batch path, as a run takes it, three times
/// (each later time every response repeats, so suppression and the
/// spoofing check have history): decode, match, fingerprint, spoofing
/// check, suppression, alert encoding, DNS and weird logs.
///
/// Each input meets one alert encoder of the thirteen (three alert file
/// formats, five syslog bodies under two headers) and one DNS log format,
/// picked by a hash of its bytes, and the DNS log is written on the first
/// pass only. Rendering everything every time cost over nine tenths of an
/// execution on inputs with many alerts; the fuzzer still reaches every
/// encoder, since any mutation may move an input to another.
fn work(batch: PayloadBatch) {
    // The outputs keep nothing from one input to the next (they write into
    // nothing and their buffers are flushed at the end of each), so they
    // are made once per thread: building them with their buffers cost more
    // than the work itself. Spoofing and suppression state is fresh per
    // input, so that every finding reproduces alone.
    thread_local! {
        static OUTPUT_SETS: std::cell::RefCell<Vec<OutputSet>> =
            std::cell::RefCell::new(output_sets());
        static SENSOR_EVENT_RENDERED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    let sources = SourceNames::files("fuzz", &["fuzz"]);
    let processor = |dns_log: bool, dns_log_format| {
        Processor::new(
            rules(),
            sources.clone(),
            ProcessOptions {
                dns_log,
                weirds: true,
                dns_log_format,
                asked: false,
            },
        )
    };
    let pick = fnv1a(&batch.arena) as usize;
    let dns_log_format = [Format::Native, Format::Eve, Format::Ecs]
        .get(pick % 3)
        .copied()
        .unwrap_or(Format::Native);
    // A one-second window: the second pass repeats every alert within it,
    // so suppression both admits and holds back.
    let mut emitter = Emitter::new(
        Suppressor::new(1_000_000),
        AlertPolicy::new(rules(), "fuzz".into()),
        false,
    );
    let again = |seq| PayloadBatch {
        seq,
        arena: batch.arena.clone(),
        messages: batch.messages.clone(),
        weirds: batch.weirds.clone(),
    };
    let (second, third) = (again(1), again(2));
    OUTPUT_SETS.with_borrow_mut(|sets| {
        // The sensor event carries nothing from the input, so rendering it
        // again per input would find nothing new: it cost a third of every
        // execution and is rendered once per thread, by every encoder.
        if !SENSOR_EVENT_RENDERED.replace(true) {
            let event = SensorEvent::CaptureStalled {
                ts: "1970-01-01T00:00:00.000000Z".into(),
                severity: "high",
                interface: "fuzz".into(),
                reason: "fuzz".into(),
            };
            for set in sets.iter_mut() {
                let _ = set.write(&Event::Sensor(&event), &sources);
                let _ = set.flush();
            }
        }
        let count = sets.len().max(1);
        let Some(outputs) = sets.get_mut(pick / 3 % count) else {
            return;
        };
        for (pass, b) in [batch, second, third].into_iter().enumerate() {
            let processed = processor(pass == 0, dns_log_format).process(b, |_| {});
            let _ = emitter.emit(processed, outputs, &sources);
        }
        let _ = outputs.flush();
    });
}

/// A captured frame: byte 0 picks the link type, the rest is the frame.
/// The frame is fed twice, so fragments and TCP segments meet a state that
/// already holds data.
pub fn packet(data: &[u8]) {
    let Some((&pick, frame)) = data.split_first() else {
        return;
    };
    let link = LINK_TYPES
        .get(usize::from(pick) % LINK_TYPES.len())
        .copied()
        .unwrap_or(LinkType::ETHERNET);
    let mut demux = Demux::with_limits(
        PortSet::new(&[53, 5353, 8053]),
        DemuxLimits::default(),
        true,
    );
    let mut batch = PayloadBatch::default();
    for packet in 1..=2 {
        let source = SourceRef { file: 0, packet };
        demux.frame(link, source, Timestamp(0), frame, &mut batch);
    }
    work(batch);
}

/// Reassembly bounds small enough that a fuzz input of a few KiB reaches
/// them: eviction, timeouts and the global byte budgets run, not only the
/// happy path.
fn tight_limits() -> DemuxLimits {
    DemuxLimits {
        defrag: DefragLimits {
            max_datagrams: 4,
            max_bytes: 8192,
            timeout_us: 1_000_000,
        },
        tcp: TcpLimits {
            max_streams: 4,
            max_pending_bytes: 4096,
            idle_timeout_us: 1_000_000,
            max_total_bytes: 16_384,
        },
    }
}

/// A sequence of captured frames through one capture thread's demux, so
/// IP fragments and TCP segments of different packets meet: overlap,
/// reorder, time out and evict each other. Byte 0 picks the link type;
/// then each frame is a time step (one byte, in units of 50 ms: 20 make
/// the reassemblers' timeout), a two-byte length and that many bytes.
pub fn packet_sequence(data: &[u8]) {
    let Some((&pick, mut rest)) = data.split_first() else {
        return;
    };
    let link = LINK_TYPES
        .get(usize::from(pick) % LINK_TYPES.len())
        .copied()
        .unwrap_or(LinkType::ETHERNET);
    let mut demux = Demux::with_limits(PortSet::new(&[53, 5353, 8053]), tight_limits(), true);
    let mut batch = PayloadBatch::default();
    let mut ts = 0i64;
    let mut packet = 0u64;
    while let [step, l0, l1, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*l0, *l1])).min(tail.len());
        let (frame, next) = tail.split_at(len);
        ts += i64::from(*step) * 50_000;
        packet += 1;
        demux.frame(
            link,
            SourceRef { file: 0, packet },
            Timestamp(ts),
            frame,
            &mut batch,
        );
        rest = next;
    }
    work(batch);
}

/// Encodes frames as a [`packet_sequence`] input, for seeding its corpus.
pub fn encode_packet_sequence<'f>(
    link_pick: u8,
    frames: impl IntoIterator<Item = (u8, &'f [u8])>,
    max_len: usize,
) -> Vec<u8> {
    let mut out = vec![link_pick];
    for (step, frame) in frames {
        let Ok(len) = u16::try_from(frame.len()) else {
            continue;
        };
        if out.len() + 3 + frame.len() > max_len {
            break;
        }
        out.push(step);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(frame);
    }
    out
}

/// A DNS message as a worker receives it.
pub fn dns_message(data: &[u8]) {
    let mut batch = PayloadBatch::default();
    batch.push(meta(Transport::Udp), data);
    work(batch);
}

fn meta(transport: Transport) -> PacketMeta {
    PacketMeta {
        ts: Timestamp(0),
        src_ip: std::net::IpAddr::from([192, 0, 2, 53]),
        src_port: 53,
        dst_ip: std::net::IpAddr::from([198, 51, 100, 7]),
        dst_port: 40000,
        transport,
        source: SourceRef { file: 0, packet: 1 },
        vlan: Default::default(),
        tunnel: None,
        ip_ttl: 64,
    }
}

struct Collect(PayloadBatch);

impl StreamSink for Collect {
    fn message(&mut self, msg: &[u8]) {
        self.0.push(meta(Transport::Tcp), msg);
    }

    fn defect(&mut self, _: Malformed) {}
}

/// A TCP stream as segments: each is a flags byte (bit 0 SYN, 1 FIN, 2 RST,
/// bit 3 picks the reverse direction, bit 4 sets ACK to the segment's own
/// sequence number), a two-byte signed sequence step, a
/// length byte, then that many payload bytes.
pub fn tcp_stream(data: &[u8]) {
    let limits = TcpLimits {
        max_streams: 4,
        max_pending_bytes: 4096,
        idle_timeout_us: 1_000_000,
        ..TcpLimits::default()
    };
    let mut r = TcpReassembler::new(limits);
    let mut sink = Collect(PayloadBatch::default());
    let key = StreamKey {
        src: std::net::IpAddr::from([192, 0, 2, 53]),
        dst: std::net::IpAddr::from([198, 51, 100, 7]),
        src_port: 53,
        dst_port: 40000,
        channel: 0,
    };
    let reverse = StreamKey {
        src: key.dst,
        dst: key.src,
        src_port: key.dst_port,
        dst_port: key.src_port,
        channel: 0,
    };
    let mut seq = 0u32;
    let mut rest = data;
    let mut ts = 0i64;
    while let [flags, s0, s1, len, tail @ ..] = rest {
        let step = i16::from_be_bytes([*s0, *s1]);
        seq = seq.wrapping_add(step as u32);
        let take = usize::from(*len).min(tail.len());
        let (payload, next) = tail.split_at(take);
        let seg = Segment {
            seq,
            syn: flags & 1 != 0,
            fin: flags & 2 != 0,
            rst: flags & 4 != 0,
            ack: (flags & 16 != 0).then_some(seq),
            payload,
        };
        let k = if flags & 8 != 0 { reverse } else { key };
        ts += i64::from(*flags) * 100_000;
        r.segment(k, Timestamp(ts), seg, &mut sink);
        rest = next;
    }
    work(sink.0);
}

/// A feed or expect file's text.
pub fn feed(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(f) = parse_feed("fuzz.csv", &text) {
        let set = IocSet::new(f.indicators);
        let _ = set.match_name("a.b.example");
        let _ = set.match_addr(std::net::IpAddr::from([192, 0, 2, 1]));
    }
    let _ = parse_expect("fuzz.toml", &text);
}
