//! DNS over TCP: per-flow stream reassembly and the two-byte length
//! framing of RFC 1035 §4.2.2 / RFC 7766.
//!
//! Each direction of a connection is a `Stream`. In-order bytes are
//! framed into messages as soon as a whole one is there; segments ahead of
//! the stream wait (bounded), ordered by position, until the gap fills;
//! retransmitted bytes are trimmed. A stream picked up mid-way (capture
//! started after the handshake) waits for a segment that starts with a
//! plausible length prefix and DNS header.
//!
//! A segment lost by the capture (routine on a span port) never fills its
//! gap. The gap is known to be lost when the peer acknowledges bytes the
//! sensor never saw, when the stream ends (FIN, RST) with data held after
//! it, or when the data held after it passes the per-stream bound. Then
//! the partial message before the gap is dropped and the stream resumes at
//! the first later segment that starts a plausible message, as Suricata's
//! DNS-over-TCP parser probes after a gap (`tcp_gap`, then
//! `tcp_gap_resync`): bytes are never framed across a gap.
//!
//! Idle streams are dropped in packet time. The flow table, each stream's
//! buffers and all streams' buffers together are bounded, every bound that
//! bites is counted, and every cost per segment is O(1) amortised: the
//! least recently active stream is the front of a queue (lazy deletion:
//! entries left behind by later activity are skipped, and the queue is
//! compacted when they outnumber live ones).

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap, VecDeque};
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
    /// Bytes all streams together may hold: out-of-order segments (each
    /// with [`SEGMENT_OVERHEAD`]) and partial messages. When passed, the
    /// least recently active streams holding data drop it.
    pub max_total_bytes: usize,
}

impl Default for TcpLimits {
    /// A DNS message is at most 64 KiB; 256 KiB of out-of-order data per
    /// stream covers several of them. DNS connections are short: a stream
    /// idle for two minutes is over (RFC 7766 recommends servers close idle
    /// connections after seconds). The per-stream bounds alone would let
    /// 65,536 streams hold about 20 GiB; 64 MiB in all still lets hundreds
    /// of streams recover from loss at once.
    fn default() -> Self {
        TcpLimits {
            max_streams: 65_536,
            max_pending_bytes: 256 * 1024,
            idle_timeout_us: 120_000_000,
            max_total_bytes: 64 << 20,
        }
    }
}

/// Bytes each held out-of-order segment is charged against the global
/// budget on top of its payload: its buffer's header and its map entry, so
/// that a flood of one-byte segments cannot hold far more than counted.
pub const SEGMENT_OVERHEAD: usize = 64;

/// Position of a stream's first synced byte. Positions are sequence
/// numbers unwrapped to 64 bits, so held segments sort correctly across a
/// sequence wrap; starting here keeps a segment up to 2^31 bytes behind
/// the start from going below zero.
const POSITION_BASE: u64 = 1 << 32;

/// Spare capacity a stream's message buffer may keep once it has drained.
const BUF_SPARE: usize = 4096;

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
    /// Position of `next_seq` (see [`POSITION_BASE`]).
    next_pos: u64,
    /// In-order bytes not yet framed into a whole message.
    buf: Vec<u8>,
    /// Segments ahead of `next_seq`, by position.
    pending: BTreeMap<u64, Vec<u8>>,
    pending_bytes: usize,
    last_ts: Timestamp,
    /// When this stream last had a segment, on the reassembler's clock.
    touched: u64,
    /// The peer acknowledged bytes up to here: everything before it was
    /// sent, so a gap before it will never fill.
    acked: Option<u32>,
    /// Whether this direction carried responses (the QR bit of its last
    /// message), for judging where to resume after a gap.
    carries_responses: Option<bool>,
    /// Bytes were skipped: the next sync is a resync after a gap.
    after_gap: bool,
    /// What this stream is charged against the global budget.
    charged: usize,
}

/// What a segment carries for reassembly.
#[derive(Clone, Copy, Debug)]
pub struct Segment<'a> {
    pub seq: u32,
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
    /// The acknowledgement number, when the ACK flag is set.
    pub ack: Option<u32>,
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
    /// Held segments looked at while draining: the work of reassembly,
    /// which tests hold to a constant per segment.
    pub pending_examined: u64,
    /// Queue entries looked at to find the least recently active or idle
    /// streams, or a stream holding data.
    pub flows_examined: u64,
}

pub struct TcpReassembler {
    streams: HashMap<StreamKey, Stream>,
    /// `(touched, key)` for every segment, least recent first. An entry
    /// whose stamp is not its stream's `touched` any more is stale.
    recency: VecDeque<(u64, StreamKey)>,
    /// `(touched, key)` for segments after which the stream held data, in
    /// the same order: where the global budget takes from.
    holders: VecDeque<(u64, StreamKey)>,
    clock: u64,
    held_total: usize,
    limits: TcpLimits,
    pub counters: TcpCounters,
}

/// Smallest DNS message: the header.
const DNS_HEADER_LEN: usize = 12;

impl TcpReassembler {
    pub fn new(limits: TcpLimits) -> Self {
        TcpReassembler {
            streams: HashMap::new(),
            recency: VecDeque::new(),
            holders: VecDeque::new(),
            clock: 0,
            held_total: 0,
            limits,
            counters: TcpCounters::default(),
        }
    }

    pub fn streams(&self) -> usize {
        self.streams.len()
    }

    /// Whether the stream `key` is tracked.
    pub fn has_stream(&self, key: &StreamKey) -> bool {
        self.streams.contains_key(key)
    }

    /// Bytes all streams hold, as charged against the global budget.
    pub fn held_bytes(&self) -> usize {
        self.held_total
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
        self.expire_idle(ts);
        if let Some(ack) = seg.ack
            && let Some(peer) = self.streams.get_mut(&key.reverse())
        {
            peer.note_ack(ack);
        }
        if seg.rst {
            self.finish(&key, sink);
            self.remove(&key.reverse());
            return;
        }
        if seg.syn {
            // A new connection: the first data byte is ISN + 1.
            self.remove(&key);
            self.make_room(sink);
            let stream = Stream {
                next_seq: Some(seg.seq.wrapping_add(1)),
                next_pos: POSITION_BASE,
                last_ts: ts,
                ..Stream::default()
            };
            self.streams.insert(key, stream);
            self.touch(&key);
            return;
        }
        if seg.payload.is_empty() {
            if seg.fin {
                self.finish(&key, sink);
            }
            return;
        }
        if !self.streams.contains_key(&key) {
            self.make_room(sink);
            self.streams.insert(key, Stream::default());
        }
        self.touch(&key);
        let limits = self.limits;
        let counters = &mut self.counters;
        let Some(stream) = self.streams.get_mut(&key) else {
            return;
        };
        stream.last_ts = ts;
        stream.accept(seg, &limits, counters, sink);
        if seg.fin {
            self.finish(&key, sink);
            return;
        }
        self.recharge(&key);
        self.enforce_budget(sink);
    }

    /// The stream ends: data held after a gap is decoded from the next
    /// message start (the gap will not fill now), then the stream goes.
    fn finish(&mut self, key: &StreamKey, sink: &mut impl StreamSink) {
        if let Some(stream) = self.streams.get_mut(key) {
            stream.resume_after_gap(true, &mut self.counters, sink);
        }
        self.remove(key);
    }

    fn remove(&mut self, key: &StreamKey) {
        if let Some(stream) = self.streams.remove(key) {
            self.held_total = self.held_total.saturating_sub(stream.charged);
        }
    }

    /// Stamps `key` as the most recently active stream.
    fn touch(&mut self, key: &StreamKey) {
        self.clock += 1;
        let Some(stream) = self.streams.get_mut(key) else {
            return;
        };
        stream.touched = self.clock;
        self.recency.push_back((self.clock, *key));
        if self.recency.len() > 2 * self.streams.len() + 64 {
            self.counters.flows_examined += self.recency.len() as u64;
            let streams = &self.streams;
            self.recency
                .retain(|(t, k)| streams.get(k).is_some_and(|s| s.touched == *t));
        }
    }

    /// Updates what `key` is charged against the global budget, and queues
    /// it as a holder if it holds anything.
    fn recharge(&mut self, key: &StreamKey) {
        let Some(stream) = self.streams.get_mut(key) else {
            return;
        };
        let cost = stream.cost();
        self.held_total = self.held_total.saturating_sub(stream.charged) + cost;
        stream.charged = cost;
        if cost == 0 {
            return;
        }
        self.holders.push_back((stream.touched, *key));
        if self.holders.len() > 2 * self.streams.len() + 64 {
            self.counters.flows_examined += self.holders.len() as u64;
            let streams = &self.streams;
            self.holders.retain(|(t, k)| {
                streams
                    .get(k)
                    .is_some_and(|s| s.touched == *t && s.charged > 0)
            });
        }
    }

    /// The least recently active stream, once stale queue entries are
    /// skipped.
    fn least_recent(&mut self) -> Option<(StreamKey, Timestamp)> {
        while let Some(&(touched, key)) = self.recency.front() {
            self.counters.flows_examined += 1;
            match self.streams.get(&key) {
                Some(s) if s.touched == touched => return Some((key, s.last_ts)),
                _ => {
                    self.recency.pop_front();
                }
            }
        }
        None
    }

    /// Evicts the least recently active stream while the table is full.
    fn make_room(&mut self, sink: &mut impl StreamSink) {
        while self.streams.len() >= self.limits.max_streams {
            let Some((oldest, _)) = self.least_recent() else {
                return;
            };
            self.recency.pop_front();
            self.remove(&oldest);
            sink.defect(Malformed::TcpFlowEvicted);
        }
    }

    /// Drops streams idle longer than the timeout, least recent first.
    fn expire_idle(&mut self, now: Timestamp) {
        let cutoff = now.0.saturating_sub(self.limits.idle_timeout_us);
        while let Some((oldest, last_ts)) = self.least_recent() {
            if last_ts.0 >= cutoff {
                return;
            }
            self.recency.pop_front();
            self.remove(&oldest);
        }
    }

    /// While all streams together hold more than the budget, the least
    /// recently active stream holding data drops it and resumes at its
    /// next message start.
    fn enforce_budget(&mut self, sink: &mut impl StreamSink) {
        while self.held_total > self.limits.max_total_bytes {
            let Some((touched, key)) = self.holders.pop_front() else {
                return;
            };
            self.counters.flows_examined += 1;
            let Some(stream) = self.streams.get_mut(&key) else {
                continue;
            };
            if stream.touched != touched || stream.charged == 0 {
                continue;
            }
            stream.abandon();
            self.held_total = self.held_total.saturating_sub(stream.charged);
            stream.charged = 0;
            sink.defect(Malformed::TcpReassemblyBudget);
        }
    }
}

impl Stream {
    /// Bytes held, as charged against the global budget.
    fn cost(&self) -> usize {
        self.buf.capacity() + self.pending_bytes + self.pending.len() * SEGMENT_OVERHEAD
    }

    fn note_ack(&mut self, ack: u32) {
        let Some(next) = self.next_seq else { return };
        if (ack.wrapping_sub(next) as i32) <= 0 {
            return;
        }
        if self
            .acked
            .is_none_or(|before| (ack.wrapping_sub(before) as i32) > 0)
        {
            self.acked = Some(ack);
        }
    }

    /// The peer acknowledged bytes this stream is still waiting for.
    fn gap_confirmed(&self) -> bool {
        matches!((self.acked, self.next_seq),
            (Some(acked), Some(next)) if (acked.wrapping_sub(next) as i32) > 0)
    }

    fn accept(
        &mut self,
        seg: Segment<'_>,
        limits: &TcpLimits,
        counters: &mut TcpCounters,
        sink: &mut impl StreamSink,
    ) {
        let Some(next) = self.next_seq else {
            // Picked up mid-stream, or after a gap: sync on a segment that
            // starts a message.
            if self.starts_here(seg.payload) {
                if self.after_gap {
                    sink.defect(Malformed::TcpGapResync);
                    self.after_gap = false;
                }
                self.next_seq = Some(seg.seq);
                self.next_pos = POSITION_BASE;
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
                // The gap is not going to fill within bounds: give up on
                // the missing bytes, decode what was held after them, and
                // go on from this segment.
                self.resume_after_gap(true, counters, sink);
                if let Some(next) = self.next_seq
                    && (seg.seq.wrapping_sub(next) as i32) > 0
                {
                    self.declare_gap(sink);
                }
                self.accept(seg, limits, counters, sink);
                return;
            }
            let pos = self.next_pos + u64::from(offset.unsigned_abs());
            if let Entry::Vacant(slot) = self.pending.entry(pos) {
                self.pending_bytes += data.len();
                slot.insert(data.to_vec());
            }
            if self.gap_confirmed() {
                self.resume_after_gap(false, counters, sink);
            }
            return;
        }
        self.append(data);
        self.drain_pending(counters);
        self.frame(counters, sink);
    }

    /// Whether the stream may sync on a segment starting with `data`.
    fn starts_here(&self, data: &[u8]) -> bool {
        if self.after_gap {
            resumes_message(data, self.carries_responses)
        } else {
            starts_message(data)
        }
    }

    fn append(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
        if let Some(n) = self.next_seq.as_mut() {
            *n = n.wrapping_add(data.len() as u32);
        }
        self.next_pos += data.len() as u64;
    }

    /// Moves held segments that now line up into the buffer. Each is
    /// looked at once, when it leaves the map.
    fn drain_pending(&mut self, counters: &mut TcpCounters) {
        while let Some(entry) = self.pending.first_entry() {
            counters.pending_examined += 1;
            let pos = *entry.key();
            if pos > self.next_pos {
                break;
            }
            let data = entry.remove();
            self.pending_bytes = self.pending_bytes.saturating_sub(data.len());
            let already = usize::try_from(self.next_pos - pos).unwrap_or(usize::MAX);
            match data.get(already..) {
                Some(new) if !new.is_empty() => self.append(new),
                _ => counters.retransmitted_bytes += data.len() as u64,
            }
        }
    }

    /// The bytes at `next_seq` are lost: the partial message before them
    /// can never complete, and what follows must be resynced on.
    fn declare_gap(&mut self, sink: &mut impl StreamSink) {
        sink.defect(Malformed::TcpGap);
        self.buf.clear();
        self.next_seq = None;
        self.acked = None;
        self.after_gap = true;
    }

    /// Skips the gap before the held segments and goes on from the first
    /// one that starts a plausible message; held segments that line up
    /// after it follow. With `until_empty` (the stream is ending) every
    /// later gap is skipped too; otherwise only those the peer has
    /// acknowledged past. Every held segment leaves the map once.
    fn resume_after_gap(
        &mut self,
        until_empty: bool,
        counters: &mut TcpCounters,
        sink: &mut impl StreamSink,
    ) {
        while !self.pending.is_empty() {
            let Some(base_seq) = self.next_seq else {
                // Held segments exist only on a synced stream.
                self.pending.clear();
                self.pending_bytes = 0;
                return;
            };
            let base_pos = self.next_pos;
            self.declare_gap(sink);
            while let Some(entry) = self.pending.first_entry() {
                counters.pending_examined += 1;
                let pos = *entry.key();
                if self.next_seq.is_some() && pos > self.next_pos {
                    break;
                }
                let data = entry.remove();
                self.pending_bytes = self.pending_bytes.saturating_sub(data.len());
                if self.next_seq.is_none() {
                    if self.starts_here(&data) {
                        sink.defect(Malformed::TcpGapResync);
                        self.after_gap = false;
                        self.next_seq = Some(base_seq.wrapping_add((pos - base_pos) as u32));
                        self.next_pos = pos;
                        self.append(&data);
                    } else {
                        sink.defect(Malformed::TcpUnsyncedData);
                    }
                    continue;
                }
                let already = usize::try_from(self.next_pos - pos).unwrap_or(usize::MAX);
                match data.get(already..) {
                    Some(new) if !new.is_empty() => self.append(new),
                    _ => counters.retransmitted_bytes += data.len() as u64,
                }
            }
            self.frame(counters, sink);
            if !(until_empty || self.gap_confirmed()) {
                return;
            }
        }
    }

    /// Drops everything held (the global budget bit); the stream goes on
    /// from its next message start.
    fn abandon(&mut self) {
        self.buf = Vec::new();
        self.pending.clear();
        self.pending_bytes = 0;
        self.next_seq = None;
        self.acked = None;
        self.after_gap = true;
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
            if let Some(flags) = msg.get(2) {
                self.carries_responses = Some(flags & 0x80 != 0);
            }
            sink.message(msg);
            at += 2 + len;
        }
        if at > 0 {
            self.buf.drain(..at.min(self.buf.len()));
        }
        // A drained buffer gives back what a large message made it grow to;
        // an empty one holds nothing, so an idle stream costs no budget.
        if self.buf.is_empty() {
            self.buf = Vec::new();
        } else if self.buf.capacity() > 2 * self.buf.len() + BUF_SPARE {
            self.buf.shrink_to(self.buf.len() + BUF_SPARE);
        }
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

/// Where a stream may resume after a gap, stricter than a pick-up since a
/// gap can land anywhere in a message (Suricata probes the same way): a
/// plausible start whose QR bit matches what the direction carried before
/// (when known), and whose record counts fit in the length prefix (a
/// question takes at least 5 bytes, a record at least 11).
fn resumes_message(data: &[u8], carries_responses: Option<bool>) -> bool {
    if !starts_message(data) {
        return false;
    }
    let word = |at: usize| -> usize {
        match (data.get(at), data.get(at + 1)) {
            (Some(&hi), Some(&lo)) => usize::from(u16::from_be_bytes([hi, lo])),
            _ => usize::MAX,
        }
    };
    let len = word(0);
    let qr = data.get(4).map(|flags| flags & 0x80 != 0);
    if carries_responses.is_some() && qr != carries_responses {
        return false;
    }
    let records = word(8).saturating_add(word(10)).saturating_add(word(12));
    let least = DNS_HEADER_LEN
        .saturating_add(word(6).saturating_mul(5))
        .saturating_add(records.saturating_mul(11));
    least <= len
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
                ack: None,
                payload,
            };
            self.r.segment(key(), Timestamp(0), s, &mut self.sink);
        }

        /// A pure ACK from the peer (the client) acknowledging up to `ack`.
        fn peer_ack(&mut self, ack: u32) {
            let s = Segment {
                seq: 0,
                syn: false,
                fin: false,
                rst: false,
                ack: Some(ack),
                payload: &[],
            };
            self.r
                .segment(key().reverse(), Timestamp(0), s, &mut self.sink);
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
        assert_eq!(
            t.sink.defects,
            vec![Malformed::TcpGap, Malformed::TcpGapResync]
        );
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
            ack: None,
            payload: &[],
        };
        t.r.segment(other, Timestamp(1), syn, &mut t.sink);
        assert_eq!(t.sink.defects.last(), Some(&Malformed::TcpFlowEvicted));
        assert_eq!(t.r.streams(), 1);
    }

    fn key_n(n: u32) -> StreamKey {
        StreamKey {
            src: std::net::IpAddr::from(n.to_be_bytes()),
            ..key()
        }
    }

    fn seg_at(seq: u32, syn: bool, payload: &[u8]) -> Segment<'_> {
        Segment {
            seq,
            syn,
            fin: false,
            rst: false,
            ack: None,
            payload,
        }
    }

    /// One flow: n one-byte segments ahead of a gap, then the n that fill
    /// it. Each pending segment must be looked at a bounded number of
    /// times, not once per in-order segment.
    #[test]
    fn out_of_order_backlog_drains_in_linear_work() {
        let n = 2000u32;
        let body = msg(7, 2 * n as usize - 2);
        let bytes = framed(std::slice::from_ref(&body));
        let mut t = Run::new();
        t.seg(0, "S", &[]);
        for i in (n..2 * n).rev() {
            t.seg(1 + i, "", &bytes[i as usize..i as usize + 1]);
        }
        for i in 0..n {
            t.seg(1 + i, "", &bytes[i as usize..i as usize + 1]);
        }
        assert_eq!(t.sink.got, vec![body]);
        let work = t.r.counters.pending_examined;
        assert!(
            work <= 3 * u64::from(n),
            "{work} pending segments examined for {n} out of order"
        );
    }

    /// A SYN flood: every new flow evicts the least recently active one,
    /// found without looking at the others.
    #[test]
    fn syn_flood_evicts_the_least_recently_active_flow_in_constant_work() {
        let max = 64u32;
        let mut r = TcpReassembler::new(TcpLimits {
            max_streams: max as usize,
            ..TcpLimits::default()
        });
        let mut sink = Sink::default();
        let mut ts = 0;
        let mut tick = || {
            ts += 1;
            Timestamp(ts)
        };
        for n in 0..max {
            r.segment(key_n(n), tick(), seg_at(0, true, &[]), &mut sink);
        }
        // Flow 0 is the oldest but active again: flow 1 goes first.
        let m = framed(&[msg(1, 20)]);
        r.segment(key_n(0), tick(), seg_at(1, false, &m), &mut sink);
        r.segment(key_n(max), tick(), seg_at(0, true, &[]), &mut sink);
        assert!(r.has_stream(&key_n(0)));
        assert!(!r.has_stream(&key_n(1)));
        assert!(r.has_stream(&key_n(2)));
        let flood = 5000u32;
        for n in max + 1..max + flood {
            r.segment(key_n(n), tick(), seg_at(0, true, &[]), &mut sink);
        }
        assert_eq!(r.streams(), max as usize);
        let evicted = sink
            .defects
            .iter()
            .filter(|d| **d == Malformed::TcpFlowEvicted)
            .count();
        assert_eq!(evicted, flood as usize);
        let work = r.counters.flows_examined;
        assert!(
            work <= 4 * u64::from(max + flood),
            "{work} flows examined for {} segments",
            max + flood
        );
    }

    /// Many flows each holding out-of-order data within its own bound:
    /// together they may not pass the global budget. The least recently
    /// active flow's data goes, counted.
    #[test]
    fn global_budget_bites_and_is_counted() {
        let budget = 10_000;
        let mut r = TcpReassembler::new(TcpLimits {
            max_total_bytes: budget,
            ..TcpLimits::default()
        });
        let mut sink = Sink::default();
        let ahead = framed(&[msg(1, 3000)]);
        for n in 0..8 {
            let ts = Timestamp(i64::from(n));
            r.segment(key_n(n), ts, seg_at(0, true, &[]), &mut sink);
            r.segment(key_n(n), ts, seg_at(5000, false, &ahead), &mut sink);
            assert!(
                r.held_bytes() <= budget,
                "{} bytes held, budget {budget}",
                r.held_bytes()
            );
        }
        assert!(
            sink.defects.contains(&Malformed::TcpReassemblyBudget),
            "{:?}",
            sink.defects
        );
        assert_eq!(r.streams(), 8, "flows stay, only their data goes");
    }

    /// A response segment lost on the span port: the client acknowledged
    /// it, so it will never come. The responses after it are decoded from
    /// the next segment that starts a message; nothing is framed across
    /// the gap.
    #[test]
    fn after_a_lost_segment_the_stream_resyncs_once_the_peer_acks_past_it() {
        let (a, lost, b, c) = (msg(1, 30), msg(2, 40), msg(3, 50), msg(4, 60));
        let (fa, fl, fb, fc) = (
            framed(std::slice::from_ref(&a)),
            framed(std::slice::from_ref(&lost)),
            framed(std::slice::from_ref(&b)),
            framed(std::slice::from_ref(&c)),
        );
        let mut t = Run::new();
        t.seg(0, "S", &[]);
        let mut seq = 1;
        t.seg(seq, "", &fa);
        seq += fa.len() as u32 + fl.len() as u32;
        t.seg(seq, "", &fb);
        t.peer_ack(seq + fb.len() as u32);
        seq += fb.len() as u32;
        t.seg(seq, "", &fc);
        assert_eq!(t.sink.got, vec![a, b, c]);
        assert_eq!(
            t.sink.defects,
            vec![Malformed::TcpGap, Malformed::TcpGapResync]
        );
    }

    /// Without acknowledgements (one direction captured), the stream's end
    /// tells that the gap will not fill. The tail of the message cut by the
    /// gap is skipped, not framed.
    #[test]
    fn at_fin_data_held_after_a_gap_is_decoded_from_the_next_message_start() {
        let (a, cut, b) = (msg(1, 30), msg(2, 80), msg(3, 50));
        let fa = framed(std::slice::from_ref(&a));
        let mut rest = framed(std::slice::from_ref(&cut));
        let lost_len = 40;
        let tail = rest.split_off(lost_len);
        let fb = framed(std::slice::from_ref(&b));
        let mut t = Run::new();
        t.seg(0, "S", &[]);
        let mut seq = 1;
        t.seg(seq, "", &fa);
        seq += (fa.len() + lost_len) as u32;
        t.seg(seq, "", &tail);
        seq += tail.len() as u32;
        t.seg(seq, "", &fb);
        seq += fb.len() as u32;
        t.seg(seq, "F", &[]);
        assert_eq!(t.sink.got, vec![a, b]);
        assert_eq!(
            t.sink.defects,
            vec![
                Malformed::TcpGap,
                Malformed::TcpUnsyncedData,
                Malformed::TcpGapResync
            ]
        );
        assert_eq!(t.r.streams(), 0);
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
