//! Spoofing: an on-path injector races the real server, so the client sees
//! two responses to one query. `conflicting_response` is raised when two
//! UDP responses to the same (client, port, transaction id, query name)
//! arrive within [`WINDOW_US`] with different answers. A change of the IP
//! TTL (hop limit) of a server's packets is evidence of the same: an
//! injector sits at another distance from the client than the server, and
//! is attached to any alert on such a packet.
//!
//! Workers fingerprint every response ([`Digests`]); the output thread,
//! which sees responses in capture order, compares them ([`SpoofDetector`]),
//! so the result does not depend on the number of workers.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::net::IpAddr;
use std::sync::Arc;

use crate::decode::dns::decode_response;
use crate::model::names::folded;
use crate::model::names::rcode_name;
use crate::model::{
    Alert, AlertDetail, AlertKind, Conflict, DnsResponse, Malformed, MalformedCounts, PacketMeta,
    PayloadBatch, Rdata, ResponseInfo, Section, SourceRef, Timestamp, Transport,
};

/// Two answers to one query further apart than this are not a race.
pub const WINDOW_US: i64 = 2_000_000;
/// Responses remembered at most; the oldest go first.
const MAX_TRACKED: usize = 1 << 20;
/// Servers whose IP TTL is remembered at most.
const MAX_SERVERS: usize = 100_000;

fn hasher() -> impl Hasher {
    // Fixed seed: fingerprints are compared within one run only, but a
    // fixed seed keeps them reproducible when debugging.
    foldhash::fast::FixedState::with_seed(0x646e_7365_6e74_7279).build_hasher()
}

/// The fingerprint of one response: what comparing it needs, and where
/// its message is. The rare response that conflicts is decoded again from
/// its batch's bytes for its alert, rather than every response being
/// copied out in case it does.
#[derive(Clone, Debug)]
pub struct Digest {
    /// Client, client port, transaction id and folded query name.
    pub key: u64,
    /// RCODE and the set of answers, TTLs and order left out.
    pub answers: u64,
    pub meta: PacketMeta,
    pub rcode: u8,
    pub n_answers: u16,
    /// The first A/AAAA answer, and how many there are.
    pub first_addr: Option<IpAddr>,
    pub n_addrs: u32,
    /// The message's index in the batch it came in.
    pub message: u32,
}

/// The fingerprints of one batch.
#[derive(Debug, Default)]
pub struct Digests {
    pub items: Vec<Digest>,
}

impl Digests {
    /// Room for the fingerprints of a batch of `messages` responses, so
    /// the array is not regrown (and copied) a dozen times per batch.
    pub fn for_batch(messages: usize) -> Digests {
        Digests {
            items: Vec::with_capacity(messages),
        }
    }

    /// Fingerprints `resp`, message `message` of its batch. Left out: TCP
    /// (a blind injector cannot race it), multicast DNS and LLMNR (several
    /// hosts answer one question by design), responses without a
    /// question, and damaged responses (a resolver drops them, so they
    /// cannot win a race).
    pub fn add(&mut self, resp: &DnsResponse, message: usize, scratch: &mut String) {
        let m = &resp.meta;
        let multicast = m.dst_ip.is_multicast()
            || [5353, 5355].contains(&m.src_port)
            || [5353, 5355].contains(&m.dst_port);
        if m.transport != Transport::Udp
            || multicast
            || resp.question.is_none()
            || resp.defect.is_some()
        {
            return;
        }
        let Ok(message) = u32::try_from(message) else {
            return;
        };
        // Few, wide writes: each write is a round of the hash, and this
        // runs for every response.
        let mut key = hasher();
        match resp.meta.dst_ip {
            IpAddr::V4(a) => key.write_u32(u32::from(a)),
            IpAddr::V6(a) => key.write_u128(u128::from(a)),
        }
        key.write_u64(
            u64::from(resp.meta.dst_port) << 24
                | u64::from(resp.txid) << 8
                | u64::from(resp.meta.dst_ip.is_ipv6()),
        );
        key.write(folded(resp.qname(), scratch).as_bytes());

        // Order-free combination of per-record hashes.
        let mut set: u64 = u64::from(resp.rcode).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let (mut first_addr, mut n_addrs) = (None, 0u32);
        for r in &resp.answers {
            let mut h = hasher();
            // The type and which form the data took, then the data.
            let head = |form: u64| u64::from(r.rtype) << 40 | form << 32;
            match &r.data {
                Rdata::A(a) => h.write_u64(head(0) | u64::from(u32::from(*a))),
                Rdata::Aaaa(a) => {
                    h.write_u64(head(1));
                    h.write_u128(u128::from(*a));
                }
                Rdata::Opaque(b) => {
                    h.write_u64(head(2));
                    h.write(b);
                }
                Rdata::Text(t) => {
                    h.write_u64(head(3));
                    h.write(t.as_bytes());
                }
                Rdata::Name(n) => {
                    h.write_u64(head(4));
                    h.write(folded(n, scratch).as_bytes());
                }
                Rdata::Mx {
                    preference,
                    exchange,
                } => {
                    h.write_u64(head(5) | u64::from(*preference));
                    h.write(folded(exchange, scratch).as_bytes());
                }
                other => {
                    h.write_u64(head(6));
                    h.write(folded(&other.to_string(), scratch).as_bytes());
                }
            }
            set = set.wrapping_add(h.finish());
            if let Some(ip) = r.data.ip_addr() {
                first_addr.get_or_insert(ip);
                n_addrs = n_addrs.saturating_add(1);
            }
        }
        self.items.push(Digest {
            key: key.finish(),
            answers: set,
            meta: resp.meta,
            rcode: resp.rcode,
            n_answers: u16::try_from(resp.answers.len()).unwrap_or(u16::MAX),
            first_addr,
            n_addrs,
            message,
        });
    }
}

/// The alert for `g`, which answers what `first` answered otherwise. Its
/// message is decoded again from the batch, as the worker decoded it.
fn conflict_alert(g: &Digest, first: &First, messages: &PayloadBatch) -> Option<Alert> {
    let (meta, bytes) = messages.get(g.message as usize)?;
    let resp = decode_response(*meta, bytes).ok()?;
    let addrs: Vec<IpAddr> = resp
        .answers
        .iter()
        .filter_map(|r| r.data.ip_addr())
        .collect();
    Some(Alert {
        kind: AlertKind::ConflictingResponse,
        meta: g.meta,
        txid: resp.txid,
        qname: resp.qname().to_string(),
        qtype: resp.qtype(),
        owner: resp.qname().to_string(),
        rrtype: resp.qtype().unwrap_or(0),
        section: Section::Answer,
        value: summary(g.rcode, g.n_answers, &addrs),
        ttl: None,
        detail: AlertDetail::Conflict(Arc::new(Conflict {
            server: first.server,
            ts: first.ts,
            source: first.source,
            value: first.summary(),
        })),
        ip_ttl_change: None,
        severity_override: None,
        response: Arc::new(ResponseInfo::of(&resp)),
    })
}

/// What a response said, in one line: its addresses, or its RCODE and
/// answer count.
fn summary(rcode: u8, n_answers: u16, addrs: &[IpAddr]) -> String {
    if !addrs.is_empty() {
        return addrs
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ");
    }
    format!("{} with {n_answers} answer(s)", rcode_name(rcode))
}

/// The first response seen for a key. Kept without allocating: most are
/// never looked at again.
#[derive(Debug)]
struct First {
    answers: u64,
    ts: Timestamp,
    server: IpAddr,
    source: SourceRef,
    rcode: u8,
    n_answers: u16,
    first_addr: Option<IpAddr>,
    n_addrs: u32,
}

impl First {
    fn summary(&self) -> String {
        match self.first_addr {
            Some(a) if self.n_addrs > 1 => format!("{a} (+{} more)", self.n_addrs - 1),
            Some(a) => a.to_string(),
            None => summary(self.rcode, self.n_answers, &[]),
        }
    }
}

#[derive(Debug)]
pub struct SpoofDetector {
    /// Key → sequence number of its entry in `ring`. Kept to 16 bytes an
    /// entry: the table is as large as the responses of the last
    /// [`WINDOW_US`], nearly every lookup misses, and a table of whole
    /// [`First`]s spent the output thread's time in cache misses.
    recent: HashMap<u64, u64, foldhash::fast::RandomState>,
    /// The first responses, oldest first, with their keys; `ring[0]` has
    /// sequence number `front_seq`.
    ring: VecDeque<(u64, First)>,
    front_seq: u64,
    server_ttl: HashMap<IpAddr, u8, foldhash::fast::RandomState>,
    /// The last (server, IP TTL) recorded: runs of responses from one
    /// resolver skip the map.
    last_server_ttl: Option<(IpAddr, u8)>,
    /// [`MAX_TRACKED`] and [`MAX_SERVERS`], smaller in tests.
    max_tracked: usize,
    max_servers: usize,
}

impl Default for SpoofDetector {
    fn default() -> Self {
        SpoofDetector {
            recent: HashMap::default(),
            ring: VecDeque::new(),
            front_seq: 0,
            server_ttl: HashMap::default(),
            last_server_ttl: None,
            max_tracked: MAX_TRACKED,
            max_servers: MAX_SERVERS,
        }
    }
}

impl SpoofDetector {
    /// Compares a batch's responses with those before them. Returns the
    /// `conflicting_response` alerts, and the packets whose server's IP TTL
    /// changed, as (packet, (TTL now, TTL before)). A bound that bites is
    /// counted in `bounds` (`spoof_table_full`, `server_ttl_table_reset`).
    pub fn check(
        &mut self,
        d: &Digests,
        messages: &PayloadBatch,
        bounds: &mut MalformedCounts,
    ) -> (Vec<Alert>, HashMap<SourceRef, (u8, u8)>) {
        let mut alerts = Vec::new();
        let mut jumps = HashMap::new();
        for g in &d.items {
            let now = g.meta.ts.0;
            self.expire(now);
            let server_ttl = (g.meta.src_ip, g.meta.ip_ttl);
            if self.last_server_ttl != Some(server_ttl) {
                if let Some(before) = self.server_ttl.insert(g.meta.src_ip, g.meta.ip_ttl)
                    && before != g.meta.ip_ttl
                {
                    jumps.insert(g.meta.source, (g.meta.ip_ttl, before));
                }
                self.last_server_ttl = Some(server_ttl);
                if self.server_ttl.len() > self.max_servers {
                    self.server_ttl.clear();
                    self.last_server_ttl = None;
                    bounds.add(Malformed::ServerTtlTableReset);
                }
            }
            // One probe of the key table per response: the first response
            // for the key is found and, if there is none (or it is stale),
            // this one takes its place through the same entry.
            let seq = self.front_seq + self.ring.len() as u64;
            match self.recent.entry(g.key) {
                Entry::Occupied(mut held) => {
                    let first = held
                        .get()
                        .checked_sub(self.front_seq)
                        .and_then(|at| usize::try_from(at).ok())
                        .and_then(|at| self.ring.get(at))
                        .filter(|(key, _)| *key == g.key)
                        .map(|(_, first)| first);
                    match first {
                        Some(first) if now.saturating_sub(first.ts.0) <= WINDOW_US => {
                            if first.answers != g.answers
                                && let Some(alert) = conflict_alert(g, first, messages)
                            {
                                alerts.push(alert);
                            }
                            continue;
                        }
                        _ => held.insert(seq),
                    };
                }
                Entry::Vacant(vacant) => {
                    vacant.insert(seq);
                }
            }
            self.ring.push_back((
                g.key,
                First {
                    answers: g.answers,
                    ts: g.meta.ts,
                    server: g.meta.src_ip,
                    source: g.meta.source,
                    rcode: g.rcode,
                    n_answers: g.n_answers,
                    first_addr: g.first_addr,
                    n_addrs: g.n_addrs,
                },
            ));
            if self.ring.len() > self.max_tracked {
                self.pop_oldest();
                bounds.add(Malformed::SpoofTableFull);
            }
        }
        (alerts, jumps)
    }

    #[cfg(test)]
    fn first(&self, key: u64) -> Option<&First> {
        let seq = *self.recent.get(&key)?;
        let at = usize::try_from(seq.checked_sub(self.front_seq)?).ok()?;
        match self.ring.get(at) {
            Some((k, first)) if *k == key => Some(first),
            _ => None,
        }
    }

    /// Forgets the oldest first response; its key too, unless a later
    /// response took the key over.
    fn pop_oldest(&mut self) {
        if let Some((key, _)) = self.ring.pop_front() {
            if let Entry::Occupied(held) = self.recent.entry(key)
                && *held.get() == self.front_seq
            {
                held.remove();
            }
            self.front_seq += 1;
        }
    }

    fn expire(&mut self, now: i64) {
        while let Some((_, first)) = self.ring.front() {
            if now.saturating_sub(first.ts.0) <= WINDOW_US {
                break;
            }
            self.pop_oldest();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::VlanStack;

    fn digest(key: u64, answers: u64, ts: i64, packet: u64) -> Digest {
        Digest {
            key,
            answers,
            meta: PacketMeta {
                ts: Timestamp(ts),
                src_ip: IpAddr::from([192, 0, 2, 53]),
                src_port: 53,
                dst_ip: IpAddr::from([10, 1, 2, 3]),
                dst_port: 40000,
                transport: Transport::Udp,
                source: SourceRef { file: 0, packet },
                vlan: VlanStack::default(),
                tunnel: None,
                ip_ttl: 64,
            },
            rcode: 0,
            n_answers: 1,
            first_addr: None,
            n_addrs: 0,
            message: u32::try_from(packet).unwrap(),
        }
    }

    /// The packets of the conflicts `items` raise, and the bounds that
    /// bit. Message `i` of the batch is a bare response header, for the
    /// alert's decode.
    fn check_counted(d: &mut SpoofDetector, items: Vec<Digest>) -> (Vec<u64>, MalformedCounts) {
        let mut messages = PayloadBatch::default();
        let header = [0, 1, 0x81, 0x80, 0, 0, 0, 0, 0, 0, 0, 0];
        for g in &items {
            while messages.len() <= g.message as usize {
                messages.push(g.meta, &header);
            }
        }
        let digests = Digests { items };
        let mut bounds = MalformedCounts::default();
        let (alerts, _) = d.check(&digests, &messages, &mut bounds);
        let packets = alerts.iter().map(|a| a.meta.source.packet).collect();
        (packets, bounds)
    }

    fn conflicts(d: &mut SpoofDetector, items: Vec<Digest>) -> Vec<u64> {
        check_counted(d, items).0
    }

    #[test]
    fn a_second_answer_within_the_window_conflicts_and_one_after_it_does_not() {
        let mut d = SpoofDetector::default();
        let items = vec![
            digest(7, 100, 0, 1),
            digest(7, 100, 10, 2),            // the same answer again
            digest(7, 200, WINDOW_US, 3),     // a different one, in time
            digest(8, 100, WINDOW_US + 1, 4), // another query
        ];
        assert_eq!(conflicts(&mut d, items), vec![3]);
        // Past the window the first response is forgotten: the key is new.
        let later = vec![
            digest(7, 300, 2 * WINDOW_US + 1, 5),
            digest(7, 400, 2 * WINDOW_US + 2, 6),
        ];
        assert_eq!(conflicts(&mut d, later), vec![6]);
    }

    /// A flood of responses within one window pushes the first answer to
    /// a query out of a full table: the race against it goes unseen, so
    /// every response forgotten that way is counted. The server TTL table
    /// likewise.
    #[test]
    fn a_full_table_forgets_the_oldest_and_counts_it() {
        let mut d = SpoofDetector {
            max_tracked: 100,
            max_servers: 10,
            ..SpoofDetector::default()
        };
        let mut items = vec![digest(7, 100, 0, 0)];
        for i in 1..=150u64 {
            let mut g = digest(1000 + i, i, i64::try_from(i).unwrap(), i);
            g.meta.src_ip = IpAddr::from([192, 0, 2, u8::try_from(i % 25).unwrap()]);
            items.push(g);
        }
        items.push(digest(7, 200, 151, 151));
        let (alerts, bounds) = check_counted(&mut d, items);
        assert!(alerts.is_empty(), "the first answer was forgotten");
        assert_eq!(d.ring.len(), 100);
        // 152 responses into 100 places.
        assert_eq!(bounds.get(Malformed::SpoofTableFull), 52);
        // 25 servers (the first at 192.0.2.53) cycling through a table of 10.
        assert!(bounds.get(Malformed::ServerTtlTableReset) >= 10);

        // Within the bound the race is seen.
        let mut roomy = SpoofDetector::default();
        let items = vec![digest(7, 100, 0, 0), digest(7, 200, 151, 1)];
        assert_eq!(conflicts(&mut roomy, items), vec![1]);
    }

    #[test]
    fn the_ring_and_the_key_table_stay_in_step() {
        let mut d = SpoofDetector::default();
        let mut items = Vec::new();
        for i in 0..1000u64 {
            // Keys repeat every 100 packets, a window apart: each repeat
            // finds its key expired and takes it over.
            let ts = i64::try_from(i / 100).unwrap() * (WINDOW_US + 1);
            items.push(digest(i % 100, i, ts, i));
        }
        assert!(conflicts(&mut d, items).is_empty());
        assert_eq!(d.ring.len(), 100);
        assert_eq!(d.recent.len(), 100);
        for key in 0..100 {
            assert_eq!(d.first(key).map(|f| f.answers), Some(900 + key));
        }
    }
}
