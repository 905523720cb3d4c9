//! DNS over TCP: per-flow stream reassembly and the two-byte length
//! framing of RFC 1035 §4.2.2 / RFC 7766.
//!
//! Each direction of a connection is a `Stream`. In-order bytes are
//! framed into messages as soon as a whole one is there; segments ahead of
//! the stream wait (bounded) until the gap fills; retransmitted bytes are
//! trimmed. A stream picked up mid-way (capture started after the
//! handshake) waits for a segment that starts with a plausible length prefix
//! and DNS header. FIN and RST end a stream; idle streams are swept in
//! packet time. The flow table and each stream's buffers are bounded, and
//! every time a bound bites it is counted.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use crate::model::Malformed;
use crate::model::Timestamp;

/// Bounds on reassembly state.
#[derive(Clone, Copy, Debug)]
pub struct TcpLimits {
    /// Streams tracked at once (both directions of a connection count).
    pub max_streams: usize,
    /// Out-of-order bytes one stream may hold while waiting for a gap.
    pub max_pending_bytes: usize,
    /// A stream without a segment for this long (packet time) is dropped.
    pub idle_timeout_us: i64,
}

impl Default for TcpLimits {
    /// A DNS message is at most 64 KiB; 256 KiB of out-of-order data per
    /// stream covers several of them. DNS connections are short: a stream
    /// idle for two minutes is over (RFC 7766 recommends servers close idle
    /// connections after seconds).
    fn default() -> Self {
        TcpLimits {
            max_streams: 65_536,
            max_pending_bytes: 256 * 1024,
            idle_timeout_us: 120_000_000,
        }
    }
}

/// One direction of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StreamKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
    /// Tells apart identical address pairs in different VLANs or tunnels.
    pub channel: u64,
}

impl StreamKey {
    fn reverse(&self) -> StreamKey {
        StreamKey {
            src: self.dst,
            dst: self.src,
            src_port: self.dst_port,
            dst_port: self.src_port,
            channel: self.channel,
        }
    }
}

#[derive(Debug, Default)]
struct Stream {
    /// Sequence number of the next byte expected; `None` until synced.
    next_seq: Option<u32>,
    /// In-order bytes not yet framed into a whole message.
    buf: Vec<u8>,
    /// Segments ahead of `next_seq`, by sequence number.
    pending: BTreeMap<u32, Vec<u8>>,
    pending_bytes: usize,
    last_ts: Timestamp,
}

/// What a segment carries for reassembly.
#[derive(Clone, Copy, Debug)]
pub struct Segment<'a> {
    pub seq: u32,
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
    pub payload: &'a [u8],
}

/// Where a stream's output goes: whole DNS messages and anomalies.
pub trait StreamSink {
    fn message(&mut self, msg: &[u8]);
    fn defect(&mut self, defect: Malformed);
}

/// Counters of the TCP stage.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TcpCounters {
    pub segments: u64,
    pub retransmitted_bytes: u64,
    pub out_of_order_segments: u64,
    pub messages: u64,
}

pub struct TcpReassembler {
    streams: HashMap<StreamKey, Stream>,
    limits: TcpLimits,
    last_sweep: Timestamp,
    pub counters: TcpCounters,
}

/// Smallest DNS message: the header.
const DNS_HEADER_LEN: usize = 12;

impl TcpReassembler {
    pub fn new(limits: TcpLimits) -> Self {
        TcpReassembler {
            streams: HashMap::new(),
            limits,
            last_sweep: Timestamp(i64::MIN),
            counters: TcpCounters::default(),
        }
    }

    pub fn streams(&self) -> usize {
        self.streams.len()
    }

    /// Takes one segment; every DNS message it completes, and every
    /// anomaly, goes to `sink`.
    pub fn segment(
        &mut self,
        key: StreamKey,
        ts: Timestamp,
        seg: Segment<'_>,
        sink: &mut impl StreamSink,
    ) {
        self.counters.segments += 1;
        self.sweep(ts);
        if seg.rst {
            self.streams.remove(&key);
            self.streams.remove(&key.reverse());
            return;
        }
        if seg.syn {
            // A new connection: the first data byte is ISN + 1.
            let stream = Stream {
                next_seq: Some(seg.seq.wrapping_add(1)),
                last_ts: ts,
                ..Stream::default()
            };
            self.make_room(&key, sink);
            self.streams.insert(key, stream);
            return;
        }
        if seg.payload.is_empty() {
            if seg.fin {
                self.streams.remove(&key);
            }
            return;
        }
        self.make_room(&key, sink);
        let limits = self.limits;
        let counters = &mut self.counters;
        let Some(stream) = self.streams.get_mut(&key) else {
            return;
        };
        stream.last_ts = ts;
        stream.accept(seg, &limits, counters, sink);
        if seg.fin {
            self.streams.remove(&key);
        }
    }

    /// Puts an empty stream `key` in the table unless it is there, evicting
    /// the least recently seen stream when the table is full.
    fn make_room(&mut self, key: &StreamKey, sink: &mut impl StreamSink) {
        if self.streams.contains_key(key) {
            return;
        }
        if self.streams.len() >= self.limits.max_streams {
            let oldest = self
                .streams
                .iter()
                .min_by_key(|(_, s)| s.last_ts)
                .map(|(k, _)| *k);
            if let Some(oldest) = oldest {
                self.streams.remove(&oldest);
                sink.defect(Malformed::TcpFlowEvicted);
            }
        }
        self.streams.insert(*key, Stream::default());
    }

    /// Drops idle streams; runs at most once per second of packet time.
    fn sweep(&mut self, now: Timestamp) {
        if now.0.saturating_sub(self.last_sweep.0) < 1_000_000 {
            return;
        }
        self.last_sweep = now;
        let cutoff = now.0.saturating_sub(self.limits.idle_timeout_us);
        self.streams.retain(|_, s| s.last_ts.0 >= cutoff);
    }
}

impl Stream {
    fn accept(
        &mut self,
        seg: Segment<'_>,
        limits: &TcpLimits,
        counters: &mut TcpCounters,
        sink: &mut impl StreamSink,
    ) {
        let Some(next) = self.next_seq else {
            // Picked up mid-stream: sync on a segment that starts a message.
            if starts_message(seg.payload) {
                self.next_seq = Some(seg.seq);
                self.accept(seg, limits, counters, sink);
            } else {
                sink.defect(Malformed::TcpUnsyncedData);
            }
            return;
        };
        // Distance of the segment from the next expected byte, modulo 2^32.
        let offset = seg.seq.wrapping_sub(next) as i32;
        let mut data = seg.payload;
        if offset < 0 {
            let already = offset.unsigned_abs() as usize;
            if already >= data.len() {
                counters.retransmitted_bytes += data.len() as u64;
                return;
            }
            counters.retransmitted_bytes += already as u64;
            data = data.get(already..).unwrap_or_default();
        } else if offset > 0 {
            counters.out_of_order_segments += 1;
            if self.pending_bytes + data.len() > limits.max_pending_bytes {
                // The gap is not going to fill within bounds: give up on the
                // missing bytes and resync on what comes next.
                sink.defect(Malformed::TcpGap);
                self.resync();
                self.accept(seg, limits, counters, sink);
                return;
            }
            if !self.pending.contains_key(&seg.seq) {
                self.pending_bytes += data.len();
                self.pending.insert(seg.seq, data.to_vec());
            }
            return;
        }
        self.append(data);
        self.drain_pending(counters);
        self.frame(counters, sink);
    }

    fn append(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
        if let Some(n) = self.next_seq.as_mut() {
            *n = n.wrapping_add(data.len() as u32);
        }
    }

    /// Moves pending segments that now line up into the buffer.
    fn drain_pending(&mut self, counters: &mut TcpCounters) {
        while let Some(next) = self.next_seq {
            // The earliest pending segment that starts at or before `next`.
            let Some((&seq, _)) = self
                .pending
                .iter()
                .find(|(s, _)| (s.wrapping_sub(next) as i32) <= 0)
            else {
                break;
            };
            let Some(data) = self.pending.remove(&seq) else {
                break;
            };
            self.pending_bytes = self.pending_bytes.saturating_sub(data.len());
            let already = next.wrapping_sub(seq) as usize;
            if already < data.len() {
                self.append(data.get(already..).unwrap_or_default());
            } else {
                counters.retransmitted_bytes += data.len() as u64;
            }
        }
    }

    /// Hands every whole length-prefixed message in the buffer to `message`.
    fn frame(&mut self, counters: &mut TcpCounters, sink: &mut impl StreamSink) {
        let mut at = 0;
        while let (Some(&hi), Some(&lo)) = (self.buf.get(at), self.buf.get(at + 1)) {
            let len = usize::from(u16::from_be_bytes([hi, lo]));
            if len == 0 {
                sink.defect(Malformed::TcpZeroLengthMessage);
                at += 2;
                continue;
            }
            let Some(msg) = self.buf.get(at + 2..at + 2 + len) else {
                break;
            };
            counters.messages += 1;
            sink.message(msg);
            at += 2 + len;
        }
        if at > 0 {
            self.buf.drain(..at.min(self.buf.len()));
        }
    }

    fn resync(&mut self) {
        self.next_seq = None;
        self.buf.clear();
        self.pending.clear();
        self.pending_bytes = 0;
    }
}

/// Whether `data` plausibly starts with a length-prefixed DNS message: a
/// length that can hold a header, then a whole header with a defined opcode
/// and at most a few questions. Used only to pick up a stream mid-way; a
/// segment too short to show the header is not trusted.
fn starts_message(data: &[u8]) -> bool {
    let (Some(&hi), Some(&lo)) = (data.first(), data.get(1)) else {
        return false;
    };
    if usize::from(u16::from_be_bytes([hi, lo])) < DNS_HEADER_LEN {
        return false;
    }
    let (Some(&flags), Some(&qd_hi), Some(&qd_lo)) = (data.get(4), data.get(6), data.get(7)) else {
        return false;
    };
    if data.len() < 2 + DNS_HEADER_LEN {
        return false;
    }
    let opcode = (flags >> 3) & 0x0f;
    let qdcount = u16::from_be_bytes([qd_hi, qd_lo]);
    matches!(opcode, 0 | 1 | 2 | 4 | 5 | 6) && qdcount <= 4
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> StreamKey {
        StreamKey {
            src: "192.0.2.53".parse().unwrap(),
            dst: "198.51.100.7".parse().unwrap(),
            src_port: 53,
            dst_port: 40000,
            channel: 0,
        }
    }

    /// A plausible DNS response of `len` bytes, tagged by its first byte.
    fn msg(tag: u8, len: usize) -> Vec<u8> {
        let mut m = vec![0u8; len];
        m[0] = tag;
        m[2] = 0x81;
        m[5] = 1;
        m
    }

    fn framed(msgs: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        for m in msgs {
            out.extend_from_slice(&(m.len() as u16).to_be_bytes());
            out.extend_from_slice(m);
        }
        out
    }

    #[derive(Default)]
    struct Sink {
        got: Vec<Vec<u8>>,
        defects: Vec<Malformed>,
    }

    impl StreamSink for Sink {
        fn message(&mut self, msg: &[u8]) {
            self.got.push(msg.to_vec());
        }
        fn defect(&mut self, defect: Malformed) {
            self.defects.push(defect);
        }
    }

    struct Run {
        r: TcpReassembler,
        sink: Sink,
    }

    impl Run {
        fn new() -> Run {
            Run {
                r: TcpReassembler::new(TcpLimits::default()),
                sink: Sink::default(),
            }
        }

        fn seg(&mut self, seq: u32, flags: &str, payload: &[u8]) {
            let s = Segment {
                seq,
                syn: flags.contains('S'),
                fin: flags.contains('F'),
                rst: flags.contains('R'),
                payload,
            };
            self.r.segment(key(), Timestamp(0), s, &mut self.sink);
        }
    }

    #[test]
    fn several_messages_in_one_segment_and_one_over_many() {
        let (a, b, c) = (msg(1, 30), msg(2, 40), msg(3, 300));
        let mut t = Run::new();
        t.seg(999, "S", &[]);
        let mut bytes = framed(&[a.clone(), b.clone()]);
        bytes.extend(framed(std::slice::from_ref(&c)));
        // a and b whole in the first segment with the start of c.
        t.seg(1000, "", &bytes[..100]);
        assert_eq!(t.sink.got, vec![a.clone(), b.clone()]);
        let mut seq = 1100;
        for chunk in bytes[100..].chunks(37) {
            t.seg(seq, "", chunk);
            seq += chunk.len() as u32;
        }
        assert_eq!(t.sink.got, vec![a, b, c]);
        assert!(t.sink.defects.is_empty());
    }

    #[test]
    fn out_of_order_and_retransmitted_segments() {
        let (a, b) = (msg(1, 50), msg(2, 60));
        let bytes = framed(&[a.clone(), b.clone()]);
        let mut t = Run::new();
        t.seg(0, "S", &[]);
        let (p1, p2, p3) = (&bytes[..20], &bytes[20..70], &bytes[70..]);
        t.seg(71, "", p3);
        t.seg(21, "", p2);
        assert!(t.sink.got.is_empty());
        t.seg(1, "", p1);
        assert_eq!(t.sink.got, vec![a.clone(), b.clone()]);
        // A retransmission overlapping old and new bytes: only new bytes count.
        let c = msg(3, 20);
        let mut again = bytes[100..].to_vec();
        again.extend(framed(std::slice::from_ref(&c)));
        t.seg(101, "", &again);
        assert_eq!(t.sink.got, vec![a, b, c]);
        assert!(t.r.counters.retransmitted_bytes > 0);
    }

    #[test]
    fn pickup_mid_stream_skips_to_a_message_start() {
        let (a, b) = (msg(1, 50), msg(2, 60));
        let bytes = framed(&[a, b.clone()]);
        let mut t = Run::new();
        // The capture starts inside message a.
        t.seg(5000, "", &bytes[10..52]);
        t.seg(5042, "", &bytes[52..]);
        assert_eq!(t.sink.got, vec![b]);
        assert_eq!(t.sink.defects, vec![Malformed::TcpUnsyncedData]);
    }

    #[test]
    fn sequence_numbers_wrap() {
        let a = msg(1, 40);
        let bytes = framed(std::slice::from_ref(&a));
        let mut t = Run::new();
        t.seg(u32::MAX - 10, "S", &[]);
        t.seg(u32::MAX - 9, "", &bytes[..20]);
        t.seg((u32::MAX - 9).wrapping_add(20), "", &bytes[20..]);
        assert_eq!(t.sink.got, vec![a]);
    }

    #[test]
    fn zero_length_frames_and_fin() {
        let a = msg(1, 20);
        let mut bytes = vec![0, 0];
        bytes.extend(framed(std::slice::from_ref(&a)));
        let mut t = Run::new();
        t.seg(0, "S", &[]);
        t.seg(1, "F", &bytes);
        assert_eq!(t.sink.got, vec![a]);
        assert_eq!(t.sink.defects, vec![Malformed::TcpZeroLengthMessage]);
        assert_eq!(t.r.streams(), 0);
    }

    #[test]
    fn bounds_bite_and_are_counted() {
        let mut t = Run {
            r: TcpReassembler::new(TcpLimits {
                max_streams: 1,
                max_pending_bytes: 100,
                ..TcpLimits::default()
            }),
            sink: Sink::default(),
        };
        t.seg(0, "S", &[]);
        // Far ahead and too big to hold: a gap, then resync on it.
        let b = msg(2, 200);
        t.seg(5000, "", &framed(std::slice::from_ref(&b)));
        assert_eq!(t.sink.defects, vec![Malformed::TcpGap]);
        assert_eq!(t.sink.got, vec![b]);
        // A second stream evicts the first.
        let other = StreamKey {
            src_port: 54,
            ..key()
        };
        let syn = Segment {
            seq: 0,
            syn: true,
            fin: false,
            rst: false,
            payload: &[],
        };
        t.r.segment(other, Timestamp(1), syn, &mut t.sink);
        assert_eq!(t.sink.defects.last(), Some(&Malformed::TcpFlowEvicted));
        assert_eq!(t.r.streams(), 1);
    }

    #[test]
    fn hostile_streams_never_panic() {
        let mut t = Run::new();
        for seq in [0u32, 1, 2, u32::MAX, 0x8000_0000] {
            t.seg(seq, "", &[0xff, 0xff, 0, 0, 0x81]);
            t.seg(seq, "", &[0, 12, 0, 0, 0x81, 0, 0, 1]);
            t.seg(seq.wrapping_add(7), "", &[0, 0, 0, 0]);
        }
    }
}
