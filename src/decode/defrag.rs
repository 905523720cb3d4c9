//! IPv4 and IPv6 fragment reassembly, bounded for hostile traffic.
//!
//! Every cost per fragment is O(1) amortised, whatever the traffic (a flood
//! of first fragments that never complete is the classic attack on a
//! sensor's reassembly), and the state is bounded:
//!
//! * at most [`DefragLimits::max_datagrams`] incomplete datagrams and
//!   [`DefragLimits::max_bytes`] of fragments held (each fragment counted
//!   with [`FRAGMENT_OVERHEAD`] bytes of bookkeeping, so that tiny fragments
//!   cannot hold far more memory than counted); when either would be passed
//!   the oldest datagram is dropped (`ip_fragments_evicted`);
//! * a timeout in *packet* time from a datagram's first fragment, as Linux's
//!   `ipfrag_time` (`ip_fragments_timed_out`), so a capture file behaves as
//!   the live wire did and a trickle of fragments cannot keep a datagram
//!   alive;
//! * overlap policy: a fragment repeating exactly a range already held is a
//!   harmless duplicate and ignored; one that overlaps differently drops the
//!   whole datagram (`ip_fragment_overlap`). Linux does the same for IPv4
//!   and RFC 5722 requires it for IPv6, so an attacker cannot show the sensor
//!   one reassembly and the victim another.
//!
//! Datagrams are kept in a queue by arrival of their first fragment, which
//! is also their age order: eviction and expiry take from its front. A
//! datagram that completes or is dropped leaves its queue entry behind
//! (lazy deletion); the entry is recognised as stale by its id and skipped,
//! and the queue is compacted when stale entries outnumber live ones.
//! Fragments of one datagram are held by offset in a `BTreeMap`, so the
//! overlap check is O(log n) however the fragments are ordered.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::IpAddr;

use etherparse::{NetSlice, SlicedPacket};

use crate::model::Malformed;
use crate::model::Timestamp;

/// Bounds on reassembly state.
#[derive(Clone, Copy, Debug)]
pub struct DefragLimits {
    pub max_datagrams: usize,
    pub max_bytes: usize,
    pub timeout_us: i64,
}

impl Default for DefragLimits {
    /// 30 s is Linux's `ipfrag_time`; 4096 datagrams and 16 MiB hold far
    /// more large DNSSEC answers in flight than a resolver sees at once.
    fn default() -> Self {
        DefragLimits {
            max_datagrams: 4096,
            max_bytes: 16 << 20,
            timeout_us: 30_000_000,
        }
    }
}

/// Bytes each held fragment is charged on top of its payload: its buffer's
/// header and its map entry. Without it 16 MiB of 8-byte fragments would
/// hold several times that.
pub const FRAGMENT_OVERHEAD: usize = 64;

/// Largest reassembled payload: the IPv4 total length and the IPv6 payload
/// length are 16-bit.
const MAX_DATAGRAM: u32 = u16::MAX as u32;

/// Reassembled buffers kept for reuse; more would be memory held for
/// nothing.
const SPARE_BUFFERS: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    ident: u32,
    protocol: u8,
    channel: u64,
}

/// One incomplete datagram.
#[derive(Debug)]
struct Datagram {
    id: u64,
    first_ts: Timestamp,
    /// What this datagram is charged against `max_bytes`.
    charged: usize,
    /// Payload bytes held; with no overlaps allowed, the datagram is whole
    /// when this reaches `end`.
    covered: u32,
    /// Payload length, known once the last fragment (MF = 0) is seen.
    end: Option<u32>,
    /// Fragments by offset; their ranges never overlap.
    fragments: BTreeMap<u32, Vec<u8>>,
}

impl Datagram {
    /// End of the highest fragment held.
    fn highest_end(&self) -> u32 {
        self.fragments
            .last_key_value()
            .map_or(0, |(start, data)| start + data.len() as u32)
    }
}

/// A queue entry: the datagram `id` under `key` got its first fragment at
/// `first_ts`.
#[derive(Clone, Copy, Debug)]
struct Arrival {
    id: u64,
    first_ts: Timestamp,
    key: Key,
}

/// Reassembly outcome for one fragment.
#[derive(Debug)]
pub enum Defragged {
    /// The datagram is complete: its transport payload. Give the buffer
    /// back with [`Defrag::give_back`].
    Complete { protocol: u8, payload: Vec<u8> },
    /// More fragments are needed.
    Pending,
}

/// Counters of the reassembly stage.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DefragCounters {
    pub fragments: u64,
    pub datagrams: u64,
}

/// What a fragment says about its place in the datagram.
struct Piece<'a> {
    key: Key,
    start: u32,
    more: bool,
    data: &'a [u8],
}

pub struct Defrag {
    held: HashMap<Key, Datagram>,
    arrivals: VecDeque<Arrival>,
    bytes_held: usize,
    next_id: u64,
    limits: DefragLimits,
    spare: Vec<Vec<u8>>,
    /// Queue entries looked at: the work of eviction and expiry, which
    /// tests hold to a constant per fragment.
    examined: u64,
    pub counters: DefragCounters,
}

impl Defrag {
    pub fn new(limits: DefragLimits) -> Self {
        Defrag {
            held: HashMap::new(),
            arrivals: VecDeque::new(),
            bytes_held: 0,
            next_id: 0,
            limits,
            spare: Vec::new(),
            examined: 0,
            counters: DefragCounters::default(),
        }
    }

    /// Takes one fragment: `ip` is the whole IP packet, `channel` tells
    /// apart identical address pairs in different VLANs or tunnels.
    /// `defects` receives anything that went wrong, including datagrams
    /// that timed out or were evicted on the way.
    pub fn add(
        &mut self,
        ip: &[u8],
        channel: u64,
        ts: Timestamp,
        defects: &mut impl FnMut(Malformed),
    ) -> Option<Defragged> {
        self.counters.fragments += 1;
        self.expire(ts, defects);
        let Ok(sliced) = SlicedPacket::from_ip(ip) else {
            defects(Malformed::IpFragmentInvalid);
            return None;
        };
        let Some(piece) = fragment_of(&sliced, channel) else {
            defects(Malformed::IpFragmentInvalid);
            return None;
        };
        let end = u32::try_from(piece.data.len())
            .ok()
            .and_then(|len| piece.start.checked_add(len));
        let Some(end) = end else {
            defects(Malformed::IpFragmentInvalid);
            return None;
        };
        // A fragment that is not the last must end on an 8-byte boundary
        // (RFC 791, RFC 8200); nothing may end past 64 KiB.
        if end > MAX_DATAGRAM || (piece.more && piece.data.len() % 8 != 0) {
            defects(Malformed::IpFragmentInvalid);
            return None;
        }
        let key = piece.key;

        // A datagram past its timeout that the queue has not reached yet
        // (packet time going backwards) is not completed either.
        if let Some(dg) = self.held.get(&key)
            && self.is_expired(dg.first_ts, ts)
        {
            self.forget(&key);
            defects(Malformed::IpFragmentsTimedOut);
        }

        let charge = piece.data.len() + FRAGMENT_OVERHEAD;
        match self.held.get(&key) {
            Some(dg) => match check_fit(dg, &piece, end) {
                Fit::Duplicate => return Some(Defragged::Pending),
                Fit::Overlap => {
                    self.forget(&key);
                    defects(Malformed::IpFragmentOverlap);
                    return None;
                }
                Fit::Invalid => {
                    self.forget(&key);
                    defects(Malformed::IpFragmentInvalid);
                    return None;
                }
                Fit::Fits => {
                    let id = dg.id;
                    self.make_room(charge, Some(id), defects);
                }
            },
            None => {
                self.make_room(charge, None, defects);
                self.next_id += 1;
                self.held.insert(
                    key,
                    Datagram {
                        id: self.next_id,
                        first_ts: ts,
                        charged: 0,
                        covered: 0,
                        end: None,
                        fragments: BTreeMap::new(),
                    },
                );
                self.arrivals.push_back(Arrival {
                    id: self.next_id,
                    first_ts: ts,
                    key,
                });
                self.compact_arrivals();
            }
        }

        let dg = self.held.get_mut(&key)?;
        if !piece.data.is_empty() {
            dg.fragments.insert(piece.start, piece.data.to_vec());
            dg.covered += piece.data.len() as u32;
            dg.charged += charge;
            self.bytes_held += charge;
        }
        if !piece.more {
            dg.end = Some(end);
        }
        if dg.end != Some(dg.covered) {
            return Some(Defragged::Pending);
        }
        let dg = self.forget(&key)?;
        let mut payload = self.spare.pop().unwrap_or_default();
        payload.clear();
        for data in dg.fragments.into_values() {
            payload.extend_from_slice(&data);
        }
        self.counters.datagrams += 1;
        Some(Defragged::Complete {
            protocol: key.protocol,
            payload,
        })
    }

    /// Returns a reassembled buffer for reuse.
    pub fn give_back(&mut self, payload: Vec<u8>) {
        if self.spare.len() < SPARE_BUFFERS {
            self.spare.push(payload);
        }
    }

    /// Datagrams currently held, and the bytes charged for them.
    pub fn held(&self) -> (usize, usize) {
        (self.held.len(), self.bytes_held)
    }

    /// Queue entries looked at so far by eviction, expiry and compaction.
    pub fn work(&self) -> u64 {
        self.examined
    }

    fn is_expired(&self, first_ts: Timestamp, now: Timestamp) -> bool {
        now.0.saturating_sub(first_ts.0) > self.limits.timeout_us
    }

    fn forget(&mut self, key: &Key) -> Option<Datagram> {
        let dg = self.held.remove(key)?;
        self.bytes_held = self.bytes_held.saturating_sub(dg.charged);
        Some(dg)
    }

    /// The front of the queue once stale entries are skipped: the datagram
    /// that got its first fragment longest ago.
    fn oldest(&mut self) -> Option<Arrival> {
        while let Some(front) = self.arrivals.front().copied() {
            self.examined += 1;
            if self
                .held
                .get(&front.key)
                .is_some_and(|dg| dg.id == front.id)
            {
                return Some(front);
            }
            self.arrivals.pop_front();
        }
        None
    }

    /// Drops the oldest datagrams until `incoming` more bytes and one more
    /// datagram fit. The datagram being added to (`keep`) is never dropped
    /// for its own fragment: the bound may be passed by at most that one
    /// datagram, itself bounded to 64 KiB of payload.
    fn make_room(
        &mut self,
        incoming: usize,
        keep: Option<u64>,
        defects: &mut impl FnMut(Malformed),
    ) {
        loop {
            let new_datagram = usize::from(keep.is_none());
            let full = self.held.len() + new_datagram > self.limits.max_datagrams
                || self.bytes_held + incoming > self.limits.max_bytes;
            if !full {
                return;
            }
            let Some(oldest) = self.oldest() else { return };
            if Some(oldest.id) == keep {
                return;
            }
            self.arrivals.pop_front();
            self.forget(&oldest.key);
            defects(Malformed::IpFragmentsEvicted);
        }
    }

    /// Drops datagrams whose first fragment is older than the timeout.
    fn expire(&mut self, now: Timestamp, defects: &mut impl FnMut(Malformed)) {
        while let Some(oldest) = self.oldest() {
            if !self.is_expired(oldest.first_ts, now) {
                return;
            }
            self.arrivals.pop_front();
            self.forget(&oldest.key);
            defects(Malformed::IpFragmentsTimedOut);
        }
    }

    /// Removes stale queue entries once they outnumber the live ones, so
    /// the queue stays within twice the datagram bound. Each compaction
    /// removes at least as many entries as it keeps: O(1) amortised.
    fn compact_arrivals(&mut self) {
        if self.arrivals.len() <= 2 * self.held.len() + 64 {
            return;
        }
        self.examined += self.arrivals.len() as u64;
        let held = &self.held;
        self.arrivals
            .retain(|a| held.get(&a.key).is_some_and(|dg| dg.id == a.id));
    }
}

/// How a new fragment fits the fragments already held.
enum Fit {
    Fits,
    /// The very range is held already.
    Duplicate,
    /// It overlaps a held range differently.
    Overlap,
    /// It contradicts the datagram's known end.
    Invalid,
}

fn check_fit(dg: &Datagram, piece: &Piece<'_>, end: u32) -> Fit {
    let (start, len) = (piece.start, piece.data.len());
    if len > 0 {
        if dg.fragments.get(&start).is_some_and(|d| d.len() == len) {
            return Fit::Duplicate;
        }
        // Ranges held never overlap, so only the last one starting before
        // `end` can overlap [start, end).
        if let Some((&s, d)) = dg.fragments.range(..end).next_back()
            && s + d.len() as u32 > start
        {
            return Fit::Overlap;
        }
    }
    match dg.end {
        // Nothing may reach past the end, and a second last fragment must
        // agree on it.
        Some(known) if end > known || (!piece.more && end != known) => Fit::Invalid,
        Some(_) => Fit::Fits,
        None if !piece.more && dg.highest_end() > end => Fit::Invalid,
        None => Fit::Fits,
    }
}

/// The key, offset, more-fragments flag and payload of a fragment.
fn fragment_of<'a>(sliced: &SlicedPacket<'a>, channel: u64) -> Option<Piece<'a>> {
    match &sliced.net {
        Some(NetSlice::Ipv4(ip)) => {
            let h = ip.header();
            let payload = ip.payload();
            Some(Piece {
                key: Key {
                    src: IpAddr::V4(h.source_addr()),
                    dst: IpAddr::V4(h.destination_addr()),
                    ident: u32::from(h.identification()),
                    protocol: payload.ip_number.0,
                    channel,
                },
                start: u32::from(h.fragments_offset().byte_offset()),
                more: h.more_fragments(),
                data: payload.payload,
            })
        }
        Some(NetSlice::Ipv6(ip)) => {
            let frag = ip
                .extensions()
                .clone()
                .into_iter()
                .find_map(|ext| match ext {
                    etherparse::Ipv6ExtensionSlice::Fragment(f) => Some(f.to_header()),
                    _ => None,
                })?;
            let h = ip.header();
            let payload = ip.payload();
            Some(Piece {
                key: Key {
                    src: IpAddr::V6(h.source_addr()),
                    dst: IpAddr::V6(h.destination_addr()),
                    ident: frag.identification,
                    protocol: payload.ip_number.0,
                    channel,
                },
                start: u32::from(frag.fragment_offset.byte_offset()),
                more: frag.more_fragments,
                data: payload.payload,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{IpFragOffset, IpNumber, Ipv4Header};

    /// IPv4 fragments of `payload` (a UDP datagram's bytes), `chunk` bytes each.
    fn fragments(ident: u16, payload: &[u8], chunk: usize) -> Vec<Vec<u8>> {
        payload
            .chunks(chunk)
            .enumerate()
            .map(|(i, part)| {
                let offset = i * chunk;
                let more = offset + part.len() < payload.len();
                let mut h = Ipv4Header::new(
                    part.len() as u16,
                    64,
                    IpNumber::UDP,
                    [192, 0, 2, 53],
                    [198, 51, 100, 7],
                )
                .unwrap();
                h.identification = ident;
                h.more_fragments = more;
                h.fragment_offset = IpFragOffset::try_new((offset / 8) as u16).unwrap();
                let mut out = Vec::new();
                h.write(&mut out).unwrap();
                out.extend_from_slice(part);
                out
            })
            .collect()
    }

    fn run(d: &mut Defrag, frags: &[Vec<u8>], ts: i64) -> (Vec<Vec<u8>>, Vec<Malformed>) {
        let mut done = Vec::new();
        let mut defects = Vec::new();
        for f in frags {
            if let Some(Defragged::Complete { payload, .. }) =
                d.add(f, 0, Timestamp(ts), &mut |m| defects.push(m))
            {
                done.push(payload.clone());
                d.give_back(payload);
            }
        }
        (done, defects)
    }

    #[test]
    fn reassembles_in_any_order() {
        let data: Vec<u8> = (0..200u8).collect();
        let mut frags = fragments(1, &data, 64);
        frags.reverse();
        let mut d = Defrag::new(DefragLimits::default());
        let (done, defects) = run(&mut d, &frags, 0);
        assert_eq!(done, vec![data]);
        assert!(defects.is_empty());
        assert_eq!(d.held(), (0, 0));
    }

    #[test]
    fn exact_duplicates_are_ignored_overlaps_drop_the_datagram() {
        let data: Vec<u8> = (0..200u8).collect();
        let frags = fragments(2, &data, 64);
        let mut d = Defrag::new(DefragLimits::default());
        let mut dup = vec![frags[0].clone()];
        dup.extend(frags.iter().cloned());
        let (done, defects) = run(&mut d, &dup, 0);
        assert_eq!(done, vec![data.clone()]);
        assert!(defects.is_empty());

        // 0..64 held, then a fragment claiming 0..128: a different overlap.
        let small = fragments(3, &data, 64);
        let big = fragments(3, &data, 128);
        let (done, defects) = run(
            &mut d,
            &[small[0].clone(), big[0].clone(), big[1].clone()],
            0,
        );
        assert!(done.is_empty());
        assert_eq!(defects, vec![Malformed::IpFragmentOverlap]);
        assert_eq!(d.held().0, 1, "only the fragment after the drop is held");
    }

    #[test]
    fn bounds_evict_the_oldest() {
        let data: Vec<u8> = (0..128u8).collect();
        let mut d = Defrag::new(DefragLimits {
            max_datagrams: 2,
            ..DefragLimits::default()
        });
        let mut defects = Vec::new();
        for ident in 0..3 {
            let f = fragments(ident, &data, 64);
            d.add(&f[0], 0, Timestamp(i64::from(ident)), &mut |m| {
                defects.push(m)
            });
        }
        assert_eq!(defects, vec![Malformed::IpFragmentsEvicted]);
        assert_eq!(d.held().0, 2);
        // The evicted datagram (ident 0) can no longer complete.
        let f = fragments(0, &data, 64);
        assert!(run(&mut d, &f[1..], 3).0.is_empty());
    }

    #[test]
    fn fragments_time_out_in_packet_time() {
        let data: Vec<u8> = (0..128u8).collect();
        let f = fragments(9, &data, 64);
        let mut d = Defrag::new(DefragLimits::default());
        let mut defects = Vec::new();
        d.add(&f[0], 0, Timestamp(0), &mut |m| defects.push(m));
        d.add(&f[1], 0, Timestamp(31_000_000), &mut |m| defects.push(m));
        assert_eq!(defects, vec![Malformed::IpFragmentsTimedOut]);
    }

    /// A flood of first fragments that never complete: each one evicts the
    /// oldest datagram. The work per fragment (datagrams looked at to find
    /// the oldest or the expired) must not grow with the number held.
    #[test]
    fn fragment_flood_work_is_linear() {
        let data: Vec<u8> = (0..128u8).collect();
        let mut d = Defrag::new(DefragLimits {
            max_datagrams: 256,
            ..DefragLimits::default()
        });
        let mut evicted = 0;
        let flood = 4096u16;
        for ident in 0..flood {
            let f = fragments(ident, &data, 64);
            d.add(&f[0], 0, Timestamp(i64::from(ident) * 1000), &mut |m| {
                assert_eq!(m, Malformed::IpFragmentsEvicted);
                evicted += 1;
            });
        }
        assert_eq!(evicted, u64::from(flood) - 256);
        assert_eq!(d.held().0, 256);
        assert!(
            d.work() <= 4 * u64::from(flood),
            "{} datagrams examined for {flood} fragments",
            d.work()
        );
    }

    /// Fragments of other datagrams arriving every half second must not
    /// keep an old datagram alive: 30 s after its first fragment it is gone.
    #[test]
    fn timeout_counts_from_the_first_fragment_under_steady_traffic() {
        let data: Vec<u8> = (0..128u8).collect();
        let old = fragments(1, &data, 64);
        let mut d = Defrag::new(DefragLimits::default());
        let mut defects = Vec::new();
        let mut done = Vec::new();
        let mut add = |d: &mut Defrag, f: &[u8], ts: i64| {
            if let Some(Defragged::Complete { payload, .. }) =
                d.add(f, 0, Timestamp(ts), &mut |m| defects.push(m))
            {
                done.push(payload.clone());
            }
        };
        add(&mut d, &old[0], 0);
        for i in 1..120u16 {
            let other = fragments(100 + i, &data, 64);
            add(&mut d, &other[0], i64::from(i) * 500_000);
        }
        add(&mut d, &old[1], 60_000_000);
        assert!(done.is_empty(), "a 60 s old datagram was reassembled");
        assert!(defects.contains(&Malformed::IpFragmentsTimedOut));
    }

    #[test]
    fn hostile_fragments_never_panic() {
        let data: Vec<u8> = (0..128u8).collect();
        let f = fragments(5, &data, 64);
        let mut d = Defrag::new(DefragLimits::default());
        for cut in 0..f[0].len() {
            let _ = d.add(&f[0][..cut], 0, Timestamp(0), &mut |_| {});
        }
    }
}
