//! IPv4 and IPv6 fragment reassembly: etherparse's defrag pool, bounded.
//!
//! etherparse's pool holds any number of datagrams for ever ("NOT safe
//! against Out of Memory attacks", its documentation says). dnsentry keeps
//! its own ledger of what the pool holds and enforces:
//!
//! * at most [`DefragLimits::max_datagrams`] incomplete datagrams and
//!   [`DefragLimits::max_bytes`] of fragment payload; when either would be
//!   passed the oldest datagram is dropped (`ip_fragments_evicted`);
//! * a timeout in *packet* time (`ip_fragments_timed_out`), so a capture
//!   file behaves as the live wire did;
//! * overlap policy: a fragment repeating exactly a range already held is a
//!   harmless duplicate and ignored; one that overlaps differently drops the
//!   whole datagram (`ip_fragment_overlap`). Linux does the same for IPv4
//!   and RFC 5722 requires it for IPv6, so an attacker cannot show the sensor
//!   one reassembly and the victim another.
//!
//! Each pool entry is stamped with the ledger id of its datagram, so a single
//! datagram can be dropped with the pool's `retain`.

use std::collections::HashMap;
use std::net::IpAddr;

use etherparse::defrag::{IpDefragPayloadVec, IpDefragPool};
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

/// The pool's per-datagram stamp.
#[derive(Clone, Copy, Debug)]
struct Stamp {
    id: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    ident: u32,
    protocol: u8,
    channel: u64,
}

#[derive(Debug)]
struct Ledger {
    id: u64,
    first_ts: Timestamp,
    last_ts: Timestamp,
    bytes: usize,
    /// Byte ranges held, as (start, end).
    ranges: Vec<(u32, u32)>,
}

/// Reassembly outcome for one fragment.
#[derive(Debug)]
pub enum Defragged {
    /// The datagram is complete: its transport payload. Give the buffer
    /// back with [`Defrag::give_back`].
    Complete {
        protocol: u8,
        payload: IpDefragPayloadVec,
    },
    /// More fragments are needed.
    Pending,
}

/// Counters of the reassembly stage.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DefragCounters {
    pub fragments: u64,
    pub datagrams: u64,
}

pub struct Defrag {
    pool: IpDefragPool<Stamp, u64>,
    ledger: HashMap<Key, Ledger>,
    bytes_held: usize,
    next_id: u64,
    limits: DefragLimits,
    last_sweep: Timestamp,
    pub counters: DefragCounters,
}

impl Defrag {
    pub fn new(limits: DefragLimits) -> Self {
        Defrag {
            pool: IpDefragPool::new(),
            ledger: HashMap::new(),
            bytes_held: 0,
            next_id: 0,
            limits,
            last_sweep: Timestamp(i64::MIN),
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
        let Some((key, start, len)) = fragment_of(&sliced, channel) else {
            defects(Malformed::IpFragmentInvalid);
            return None;
        };
        let end = start + len;

        if let Some(entry) = self.ledger.get(&key) {
            if entry.ranges.contains(&(start, end)) {
                return Some(Defragged::Pending);
            }
            if entry.ranges.iter().any(|&(s, e)| start < e && s < end) {
                self.drop_datagram(&key);
                defects(Malformed::IpFragmentOverlap);
                return None;
            }
        } else {
            self.make_room(len as usize, defects);
            self.next_id += 1;
            self.ledger.insert(
                key,
                Ledger {
                    id: self.next_id,
                    first_ts: ts,
                    last_ts: ts,
                    bytes: 0,
                    ranges: Vec::new(),
                },
            );
        }
        let entry = self.ledger.get_mut(&key)?;
        entry.ranges.push((start, end));
        entry.bytes += len as usize;
        entry.last_ts = ts;
        self.bytes_held += len as usize;
        let stamp = Stamp { id: entry.id };

        match self.pool.process_sliced_packet(&sliced, stamp, channel) {
            Ok(Some(payload)) => {
                self.forget(&key);
                self.counters.datagrams += 1;
                Some(Defragged::Complete {
                    protocol: payload.ip_number.0,
                    payload,
                })
            }
            Ok(None) => Some(Defragged::Pending),
            Err(_) => {
                self.drop_datagram(&key);
                defects(Malformed::IpFragmentInvalid);
                None
            }
        }
    }

    /// Returns a reassembled buffer for reuse.
    pub fn give_back(&mut self, payload: IpDefragPayloadVec) {
        self.pool.return_buf(payload);
    }

    /// Datagrams currently held, and their bytes.
    pub fn held(&self) -> (usize, usize) {
        (self.ledger.len(), self.bytes_held)
    }

    fn forget(&mut self, key: &Key) -> Option<Ledger> {
        let entry = self.ledger.remove(key)?;
        self.bytes_held = self.bytes_held.saturating_sub(entry.bytes);
        Some(entry)
    }

    fn drop_datagram(&mut self, key: &Key) {
        if let Some(entry) = self.forget(key) {
            let id = entry.id;
            self.pool.retain(|s| s.id != id);
        }
    }

    fn make_room(&mut self, incoming: usize, defects: &mut impl FnMut(Malformed)) {
        while !self.ledger.is_empty()
            && (self.ledger.len() >= self.limits.max_datagrams
                || self.bytes_held + incoming > self.limits.max_bytes)
        {
            let oldest = self
                .ledger
                .iter()
                .min_by_key(|(_, l)| (l.first_ts, l.id))
                .map(|(k, _)| *k);
            let Some(oldest) = oldest else { break };
            self.drop_datagram(&oldest);
            defects(Malformed::IpFragmentsEvicted);
        }
    }

    /// Drops datagrams idle longer than the timeout. Runs at most once per
    /// second of packet time.
    fn expire(&mut self, now: Timestamp, defects: &mut impl FnMut(Malformed)) {
        if now.0.saturating_sub(self.last_sweep.0) < 1_000_000 || self.ledger.is_empty() {
            self.last_sweep = now;
            return;
        }
        self.last_sweep = now;
        let cutoff = now.0.saturating_sub(self.limits.timeout_us);
        let stale: Vec<Key> = self
            .ledger
            .iter()
            .filter(|(_, l)| l.last_ts.0 < cutoff)
            .map(|(k, _)| *k)
            .collect();
        if stale.is_empty() {
            return;
        }
        for key in &stale {
            self.forget(key);
            defects(Malformed::IpFragmentsTimedOut);
        }
        let live: std::collections::HashSet<u64> = self.ledger.values().map(|l| l.id).collect();
        self.pool.retain(|s| live.contains(&s.id));
    }
}

/// The ledger key and byte range of a fragment.
fn fragment_of(sliced: &SlicedPacket<'_>, channel: u64) -> Option<(Key, u32, u32)> {
    match &sliced.net {
        Some(NetSlice::Ipv4(ip)) => {
            let h = ip.header();
            let payload = ip.payload();
            Some((
                Key {
                    src: IpAddr::V4(h.source_addr()),
                    dst: IpAddr::V4(h.destination_addr()),
                    ident: u32::from(h.identification()),
                    protocol: payload.ip_number.0,
                    channel,
                },
                u32::from(h.fragments_offset().byte_offset()),
                u32::try_from(payload.payload.len()).ok()?,
            ))
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
            Some((
                Key {
                    src: IpAddr::V6(h.source_addr()),
                    dst: IpAddr::V6(h.destination_addr()),
                    ident: frag.identification,
                    protocol: payload.ip_number.0,
                    channel,
                },
                u32::from(frag.fragment_offset.byte_offset()),
                u32::try_from(payload.payload.len()).ok()?,
            ))
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
                done.push(payload.payload.clone());
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
