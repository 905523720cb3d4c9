//! Indicators of compromise: addresses, networks and domains, with the
//! lookup structures the matchers use.
//!
//! Every lookup costs the same whatever the feed size: addresses and
//! domains are hash lookups (a domain also checks each of its parent
//! domains, so the cost grows with the *name's* label count, not the feed),
//! and networks are one hash lookup per distinct prefix length in the feed.
//! In front of the address lookups, a bitmap of the top 16 bits any
//! indicator address or network can have turns most answers away with one
//! load.
//!
//! IPv4 addresses written as IPv6 (IPv4-mapped, NAT64 well-known prefix)
//! are keyed and looked up as IPv4 ([`crate::model::addr`]), on the
//! indicator's side and the answer's; the indicator itself keeps the form
//! its feed wrote.

pub mod feed;
mod lifecycle;
mod misp;
mod stix;
mod zeek;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use foldhash::fast::RandomState;
use ipnet::IpNet;

use crate::model::addr::{canonical_ip, canonical_net};
use crate::model::names::SuffixLengths;
pub use crate::model::{Indicator, IndicatorType, IndicatorValue};

pub use feed::{FeedLoad, load_feed_file, parse_feed, parse_feed_all};

type Map<K, V> = HashMap<K, V, RandomState>;

/// All loaded indicators, indexed for lookup.
#[derive(Debug, Default)]
pub struct IocSet {
    indicators: Vec<Arc<Indicator>>,
    addrs: Map<IpAddr, u32>,
    /// Per prefix length, longest first: network address → indicator.
    nets_v4: Vec<(u8, Map<u32, u32>)>,
    nets_v6: Vec<(u8, Map<u128, u32>)>,
    domains: Map<Box<str>, u32>,
    domain_lengths: SuffixLengths,
    /// The top 16 bits every address and network could start with: most
    /// answers are turned away by one bit test, before any hash lookup.
    may_hold: TopBits,
}

impl IocSet {
    /// Builds the set. When an indicator appears in several feeds one copy
    /// is kept: a withdrawn one (STIX `revoked`, MISP `deleted`) over any
    /// other, so that a withdrawal needs no edit of every other feed; else
    /// a live one over one not meant for detection (MISP `to_ids` false or
    /// unpublished), so that context in one feed does not silence another;
    /// else the first one loaded, so the built-in feed's provenance wins
    /// over a copy.
    pub fn new(indicators: impl IntoIterator<Item = Indicator>) -> Self {
        let mut set = IocSet::default();
        for ind in indicators {
            set.insert(ind);
        }
        set.nets_v4.sort_by_key(|t| std::cmp::Reverse(t.0));
        set.nets_v6.sort_by_key(|t| std::cmp::Reverse(t.0));
        set
    }

    fn insert(&mut self, ind: Indicator) {
        let Ok(id) = u32::try_from(self.indicators.len()) else {
            return;
        };
        let mut reach = None;
        let slot = match &ind.value {
            IndicatorValue::Addr(a) => {
                let a = canonical_ip(*a);
                reach = Some(IpNet::from(a));
                insert_new(&mut self.addrs, a, id)
            }
            IndicatorValue::Net(net) => match canonical_net(*net) {
                IpNet::V4(n) => {
                    reach = Some(IpNet::V4(n));
                    let table = table_for(&mut self.nets_v4, n.prefix_len());
                    insert_new(table, u32::from(n.network()), id)
                }
                IpNet::V6(n) => {
                    reach = Some(IpNet::V6(n));
                    let table = table_for(&mut self.nets_v6, n.prefix_len());
                    insert_new(table, u128::from(n.network()), id)
                }
            },
            IndicatorValue::Domain(d) => {
                self.domain_lengths.insert(d.len());
                insert_new(&mut self.domains, d.as_str().into(), id)
            }
        };
        // Only a new key marks bits: a wide network listed a million times
        // costs its span once, not a million times.
        if let (Ok(()), Some(net)) = (&slot, reach) {
            self.may_hold.insert(net);
        }
        match slot {
            Ok(()) => self.indicators.push(Arc::new(ind)),
            Err(kept) => {
                if let Some(kept) = self.indicators.get_mut(kept as usize)
                    && precedence(&ind) > precedence(kept)
                {
                    *kept = Arc::new(ind);
                }
            }
        }
    }

    pub fn len(&self) -> usize {
        self.indicators.len()
    }

    pub fn is_empty(&self) -> bool {
        self.indicators.is_empty()
    }

    pub fn indicators(&self) -> &[Arc<Indicator>] {
        &self.indicators
    }

    /// The indicator an address matches: the address itself, else the
    /// longest network containing it. An IPv4 address written as IPv6 is
    /// looked up as IPv4, then in the IPv6 networks wider than the
    /// embedding prefix (only those can hold it as IPv6).
    #[inline]
    pub fn match_addr(&self, addr: IpAddr) -> Option<&Arc<Indicator>> {
        let canonical = canonical_ip(addr);
        if !self.may_hold.contains(canonical)
            && (canonical == addr || !self.may_hold.contains(addr))
        {
            return None;
        }
        self.look_up_addr(addr, canonical)
    }

    fn look_up_addr(&self, addr: IpAddr, canonical: IpAddr) -> Option<&Arc<Indicator>> {
        let id = self
            .addrs
            .get(&canonical)
            .copied()
            .or_else(|| match canonical {
                IpAddr::V4(a) => self.match_net_v4(a),
                IpAddr::V6(a) => self.match_net_v6(a),
            })
            .or_else(|| match addr {
                IpAddr::V6(a) if canonical != addr => self.match_net_v6(a),
                _ => None,
            })?;
        self.indicators.get(id as usize)
    }

    fn match_net_v4(&self, a: Ipv4Addr) -> Option<u32> {
        let bits = u32::from(a);
        self.nets_v4.iter().find_map(|(len, table)| {
            let mask = u32::MAX.checked_shl(32 - u32::from(*len)).unwrap_or(0);
            table.get(&(bits & mask)).copied()
        })
    }

    fn match_net_v6(&self, a: Ipv6Addr) -> Option<u32> {
        let bits = u128::from(a);
        self.nets_v6.iter().find_map(|(len, table)| {
            let mask = u128::MAX.checked_shl(128 - u32::from(*len)).unwrap_or(0);
            table.get(&(bits & mask)).copied()
        })
    }

    /// The indicator a name matches: the name itself or its closest parent
    /// domain in the set. `folded` must already be lower case without a
    /// trailing dot (see [`crate::model::names::fold_into`]).
    pub fn match_name(&self, folded: &str) -> Option<&Arc<Indicator>> {
        if self.domains.is_empty() {
            return None;
        }
        self.domain_lengths
            .find_suffix(folded, |suffix| self.domains.get(suffix))
            .and_then(|id| self.indicators.get(*id as usize))
    }
}

/// One bit per possible top 16 bits of an address, for each family: set
/// for every address and network of a set, so that an address whose bit
/// is clear cannot match and costs no hash lookup. 16 KiB, whatever the
/// feed's size; a network wider than /16 sets every bit it spans.
#[derive(Debug)]
struct TopBits {
    v4: Box<[u64; 1024]>,
    v6: Box<[u64; 1024]>,
}

impl Default for TopBits {
    fn default() -> Self {
        TopBits {
            v4: Box::new([0; 1024]),
            v6: Box::new([0; 1024]),
        }
    }
}

impl TopBits {
    fn insert(&mut self, net: IpNet) {
        let (bits, top, len) = match net {
            IpNet::V4(n) => (&mut self.v4, u32::from(n.network()) >> 16, n.prefix_len()),
            IpNet::V6(n) => (&mut self.v6, top16(n.network()), n.prefix_len()),
        };
        // The values of the top 16 bits the network spans: its own, or
        // 2^(16 - len) from there, a whole word at a time where they can.
        let end = top
            .saturating_add(1 << 16u8.saturating_sub(len))
            .min(1 << 16);
        let mut at = top;
        while at < end {
            let Some(word) = bits.get_mut((at / 64) as usize) else {
                break;
            };
            if at % 64 == 0 && end - at >= 64 {
                *word = u64::MAX;
                at += 64;
            } else {
                *word |= 1 << (at % 64);
                at += 1;
            }
        }
    }

    #[inline]
    fn contains(&self, addr: IpAddr) -> bool {
        let (bits, top) = match addr {
            IpAddr::V4(a) => (&self.v4, u32::from(a) >> 16),
            IpAddr::V6(a) => (&self.v6, top16(a)),
        };
        bits.get((top / 64) as usize)
            .is_some_and(|word| word & (1 << (top % 64)) != 0)
    }
}

fn top16(a: Ipv6Addr) -> u32 {
    let [first, ..] = a.segments();
    u32::from(first)
}

/// Which copy of an indicator listed twice is kept (see [`IocSet::new`]).
fn precedence(ind: &Indicator) -> u8 {
    match ind.lifecycle.retracted {
        Some(r) if r.is_withdrawal() => 2,
        None => 1,
        Some(_) => 0,
    }
}

/// Adds `key` with `id`; `Err` with the id it already has.
fn insert_new<K: std::hash::Hash + Eq>(map: &mut Map<K, u32>, key: K, id: u32) -> Result<(), u32> {
    match map.entry(key) {
        std::collections::hash_map::Entry::Occupied(o) => Err(*o.get()),
        std::collections::hash_map::Entry::Vacant(v) => {
            v.insert(id);
            Ok(())
        }
    }
}

fn table_for<K>(tables: &mut Vec<(u8, Map<K, u32>)>, len: u8) -> &mut Map<K, u32> {
    let pos = match tables.iter().position(|(l, _)| *l == len) {
        Some(pos) => pos,
        None => {
            tables.push((len, Map::default()));
            tables.len() - 1
        }
    };
    &mut tables[pos].1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ind(value: IndicatorValue, kind: IndicatorType, feed: &str) -> Indicator {
        Indicator {
            value,
            kind,
            source: None,
            reference: None,
            meta: vec![],
            feed: feed.into(),
            line: 1,
            url: None,
            lifecycle: Default::default(),
        }
    }

    fn set() -> IocSet {
        IocSet::new([
            ind(
                IndicatorValue::Addr("203.0.113.7".parse().unwrap()),
                IndicatorType::Ipv4,
                "a",
            ),
            ind(
                IndicatorValue::Net("198.51.100.0/24".parse().unwrap()),
                IndicatorType::Cidr,
                "a",
            ),
            ind(
                IndicatorValue::Net("198.51.100.128/25".parse().unwrap()),
                IndicatorType::Cidr,
                "a",
            ),
            ind(
                IndicatorValue::Net("2001:db8:bad::/48".parse().unwrap()),
                IndicatorType::Cidr,
                "a",
            ),
            ind(
                IndicatorValue::Domain("evil.example".into()),
                IndicatorType::Domain,
                "a",
            ),
            ind(
                IndicatorValue::Domain("evil.example".into()),
                IndicatorType::Domain,
                "b",
            ),
        ])
    }

    #[test]
    fn addresses_and_longest_prefix() {
        let s = set();
        assert_eq!(s.len(), 5, "duplicate kept once");
        assert!(s.match_addr("203.0.113.7".parse().unwrap()).is_some());
        assert!(s.match_addr("203.0.113.8".parse().unwrap()).is_none());
        let m = s.match_addr("198.51.100.200".parse().unwrap()).unwrap();
        assert_eq!(m.text(), "198.51.100.128/25");
        let m = s.match_addr("198.51.100.2".parse().unwrap()).unwrap();
        assert_eq!(m.text(), "198.51.100.0/24");
        assert!(s.match_addr("2001:db8:bad:1::1".parse().unwrap()).is_some());
        assert!(s.match_addr("2001:db8:bae::1".parse().unwrap()).is_none());
    }

    #[test]
    fn domains_match_themselves_and_subdomains_only() {
        let s = set();
        assert_eq!(s.match_name("evil.example").unwrap().feed.as_ref(), "a");
        assert!(s.match_name("mail.ns.evil.example").is_some());
        assert!(s.match_name("notevil.example").is_none());
        assert!(s.match_name("example").is_none());
        assert!(s.match_name("evil\\.example").is_none());
    }

    /// The bit filter in front of the hash lookups turns away only
    /// addresses that cannot match: every answer is looked up as it would
    /// be with every bit set, at the edges of each network (prefixes
    /// narrower and wider than the filter's 16 bits, mapped and NAT64
    /// forms) and at pseudo-random addresses.
    #[test]
    fn the_prefix_filter_never_turns_away_a_match() {
        let nets = [
            "10.0.0.0/8",
            "172.16.0.0/15",
            "192.0.2.0/24",
            "198.51.0.0/16",
            "203.0.113.7/32",
            "100.64.0.0/17",
            "2001:db8::/32",
            "2001:db8:bad::/48",
            "fc00::/7",
            "::ffff:0:0/95",
            "64:ff9b::c633:6400/120",
            "2001:db8::1/128",
        ];
        let inds = || {
            nets.iter()
                .map(|n| {
                    ind(
                        IndicatorValue::Net(n.parse().unwrap()),
                        IndicatorType::Cidr,
                        "a",
                    )
                })
                .chain([ind(
                    IndicatorValue::Addr("::ffff:185.20.187.8".parse().unwrap()),
                    IndicatorType::Ipv6,
                    "a",
                )])
                .collect::<Vec<_>>()
        };
        let filtered = IocSet::new(inds());
        let mut open = IocSet::new(inds());
        open.may_hold.v4.fill(u64::MAX);
        open.may_hold.v6.fill(u64::MAX);
        let mut probes: Vec<IpAddr> = Vec::new();
        for n in nets {
            let net: IpNet = n.parse().unwrap();
            for edge in [net.network(), net.broadcast()] {
                probes.push(edge);
                match edge {
                    IpAddr::V4(a) => {
                        let a = u32::from(a);
                        probes.push(Ipv4Addr::from(a.wrapping_add(1)).into());
                        probes.push(Ipv4Addr::from(a.wrapping_sub(1)).into());
                        probes.push(Ipv4Addr::from(a).to_ipv6_mapped().into());
                    }
                    IpAddr::V6(a) => {
                        let a = u128::from(a);
                        probes.push(Ipv6Addr::from(a.wrapping_add(1)).into());
                        probes.push(Ipv6Addr::from(a.wrapping_sub(1)).into());
                    }
                }
            }
        }
        probes.push("185.20.187.8".parse().unwrap());
        probes.push("64:ff9b::b914:bb08".parse().unwrap());
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            probes.push(Ipv4Addr::from((x >> 32) as u32).into());
            probes.push(Ipv6Addr::from(u128::from(x) << 64 | u128::from(x.rotate_left(9))).into());
        }
        let mut matched = 0;
        for p in probes {
            let want = open.match_addr(p).map(|i| i.text());
            assert_eq!(filtered.match_addr(p).map(|i| i.text()), want, "{p}");
            matched += usize::from(want.is_some());
        }
        assert!(matched > 40, "the probes reach the networks: {matched}");
    }

    #[test]
    fn zero_length_prefix() {
        let s = IocSet::new([ind(
            IndicatorValue::Net("0.0.0.0/0".parse().unwrap()),
            IndicatorType::Cidr,
            "a",
        )]);
        assert!(s.match_addr("192.0.2.1".parse().unwrap()).is_some());
    }

    #[test]
    fn a_withdrawal_in_any_feed_wins_and_context_does_not_silence() {
        use crate::model::Retraction;
        let addr = |feed: &str, retracted| {
            let mut i = ind(
                IndicatorValue::Addr("192.0.2.1".parse().unwrap()),
                IndicatorType::Ipv4,
                feed,
            );
            i.lifecycle.retracted = retracted;
            i
        };
        let kept = |set: IocSet| {
            let m = set.match_addr("192.0.2.1".parse().unwrap()).unwrap();
            (m.feed.to_string(), m.lifecycle.retracted)
        };
        let revoked = Some(Retraction::Revoked);
        let context = Some(Retraction::NotForIds);
        assert_eq!(
            kept(IocSet::new([addr("builtin", None), addr("stix", revoked)])),
            ("stix".into(), revoked)
        );
        assert_eq!(
            kept(IocSet::new([addr("misp", context), addr("csv", None)])),
            ("csv".into(), None)
        );
        assert_eq!(
            kept(IocSet::new([addr("builtin", None), addr("misp", context)])),
            ("builtin".into(), None)
        );
        assert_eq!(
            kept(IocSet::new([addr("stix", revoked), addr("csv", None)])),
            ("stix".into(), revoked)
        );
    }
}
