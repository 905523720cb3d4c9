//! Matching: a decoded response against the IOC set and the expected
//! records, producing alerts.
//!
//! Each worker owns a [`Matcher`]; all share one immutable
//! [`crate::rules::Rules`].

// Responses are the attacker's: every access is checked.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod expected;
mod ioc;
pub mod policy;
pub mod spoof;
pub mod suppress;

use std::collections::HashMap;
use std::sync::Arc;

use crate::model::names::folded;
use crate::model::{
    Alert, AlertDetail, AlertKind, DnsRecord, DnsResponse, ResponseInfo, Section, Severity,
};
use crate::rules::{Rules, SharedRules};
use crate::stats::IgnoredCounts;

/// Alerts one response may raise. Suricata's `packet-alert-max` (15) is the
/// model: a response that deviates in more ways than a hijack needs is a
/// flood of alerts the analyst cannot use, and each alert costs the SIEM a
/// line. A delegation hijack with IPv4 and IPv6 glue, each value also an
/// indicator, raises about two dozen.
pub const MAX_ALERTS_PER_RESPONSE: usize = 32;

// `Matcher::seen` keeps one bit per kind in a u16.
const _: () = assert!(AlertKind::ALL.len() <= 16);

/// One worker's matcher: the current rules plus scratch buffers, so
/// matching a response allocates nothing unless it alerts.
pub struct Matcher {
    shared: SharedRules,
    rules: Arc<Rules>,
    state: MatchState,
}

/// What a matcher keeps from one response to the next, apart from the
/// rules: the checks borrow it mutably beside a shared borrow of the
/// rules. (Cloning the rules' `Arc` for each response instead made both
/// workers bounce its reference count, which shares a cache line with the
/// rules' first fields, between cores: a quarter of the matcher's cycles.)
struct MatchState {
    folded: String,
    /// Values already alerted for the current response, with a bit per
    /// [`AlertKind`] that raised them. A map, not a list: a response of
    /// 1,024 distinct hostile values would otherwise cost half a million
    /// comparisons. SipHash, because the values are the attacker's.
    seen: HashMap<String, u16>,
    /// The current response as its alerts carry it, made at its first
    /// alert: most responses raise none.
    response: Option<Arc<ResponseInfo>>,
    /// Indicator matches that raised nothing since the last
    /// [`Matcher::take_ignored`].
    ignored: IgnoredCounts,
    /// The responses answer the sensor's own questions (an audit): the
    /// server was chosen, so who answered is not checked against the
    /// zone's `resolvers`.
    asked: bool,
}

impl Matcher {
    pub fn new(shared: SharedRules) -> Self {
        Matcher {
            rules: shared.load_full(),
            shared,
            state: MatchState {
                folded: String::with_capacity(256),
                seen: HashMap::new(),
                response: None,
                ignored: IgnoredCounts::default(),
                asked: false,
            },
        }
    }

    /// A matcher for answers to the sensor's own questions (see `asked`).
    pub fn for_asked_answers(shared: SharedRules) -> Self {
        let mut m = Matcher::new(shared);
        m.state.asked = true;
        m
    }

    /// Takes up the latest rules (after a reload).
    pub fn refresh(&mut self) {
        let current = self.shared.load();
        if !Arc::ptr_eq(&current, &self.rules) {
            self.rules = Arc::clone(&current);
        }
    }

    /// Appends the alerts `resp` raises to `out`, in a fixed order: the
    /// question, then each answer record in wire order. At most
    /// [`MAX_ALERTS_PER_RESPONSE`]: past that the most severe are kept
    /// (indicator matches first among equals, then the earliest raised),
    /// in the order they were raised, and the number left out is returned.
    pub fn check(&mut self, resp: &DnsResponse, out: &mut Vec<Alert>) -> usize {
        let start = out.len();
        self.check_all(resp, out);
        let Some(raised) = out.get_mut(start..) else {
            return 0;
        };
        if raised.len() <= MAX_ALERTS_PER_RESPONSE {
            return 0;
        }
        let over = raised.len() - MAX_ALERTS_PER_RESPONSE;
        let rank = |a: &Alert| {
            let severity = match a.severity() {
                Severity::High => 0u8,
                Severity::Medium => 1,
                Severity::Low => 2,
            };
            let ioc = matches!(a.kind, AlertKind::IocAddress | AlertKind::IocDomain);
            (severity, !ioc)
        };
        let mut order: Vec<(u8, bool, usize)> = raised
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let (s, not_ioc) = rank(a);
                (s, not_ioc, i)
            })
            .collect();
        order.sort_unstable();
        let mut keep = vec![false; raised.len()];
        for &(_, _, i) in order.iter().take(MAX_ALERTS_PER_RESPONSE) {
            if let Some(k) = keep.get_mut(i) {
                *k = true;
            }
        }
        // Only this response's alerts are touched: a retain over `out`
        // would walk the batch's earlier alerts for every bounded response.
        let raised: Vec<Alert> = out.drain(start..).collect();
        out.extend(
            raised
                .into_iter()
                .zip(keep)
                .filter_map(|(alert, kept)| kept.then_some(alert)),
        );
        over
    }

    fn check_all(&mut self, resp: &DnsResponse, out: &mut Vec<Alert>) {
        let state = &mut self.state;
        if !state.seen.is_empty() {
            state.seen.clear();
        }
        state.response = None;
        let rules = &*self.rules;
        if !rules.ioc.is_empty() {
            let ioc_rules = ioc::IocRules {
                set: &rules.ioc,
                allow: &rules.allow,
                max_age_days: rules.ioc_max_age_days,
            };
            ioc::check(state, &ioc_rules, resp, out);
        }
        if !rules.expected.is_empty() {
            expected::check(state, &rules.expected, resp, out);
        }
    }

    /// The indicator matches that raised nothing since the last call, by
    /// reason.
    pub fn take_ignored(&mut self) -> IgnoredCounts {
        std::mem::take(&mut self.state.ignored)
    }
}

impl MatchState {
    /// `name` folded (in the scratch buffer unless it already was).
    fn fold<'a>(&'a mut self, name: &'a str) -> &'a str {
        folded(name, &mut self.folded)
    }

    /// Whether `value` is new for `kind` in the current response; notes it.
    fn first_sighting(&mut self, kind: AlertKind, value: &str) -> bool {
        let bit = 1u16 << (kind as u16);
        match self.seen.get_mut(value) {
            Some(kinds) if *kinds & bit != 0 => false,
            Some(kinds) => {
                *kinds |= bit;
                true
            }
            None => {
                self.seen.insert(value.to_owned(), bit);
                true
            }
        }
    }

    /// Records an alert unless this response already raised the same
    /// (kind, value): a name repeated as qname, owner and CNAME target is
    /// one detection, not three.
    fn emit(&mut self, out: &mut Vec<Alert>, hit: Hit<'_>) {
        if !self.first_sighting(hit.kind, &hit.value) {
            return;
        }
        let resp = hit.resp;
        let response = Arc::clone(
            self.response
                .get_or_insert_with(|| Arc::new(ResponseInfo::of(resp))),
        );
        out.push(Alert {
            kind: hit.kind,
            meta: resp.meta,
            txid: resp.txid,
            qname: resp.qname().to_string(),
            qtype: resp.qtype(),
            owner: hit.owner.to_string(),
            rrtype: hit.rrtype,
            section: hit.section,
            value: hit.value,
            ttl: hit.ttl,
            detail: hit.detail,
            ip_ttl_change: None,
            severity_override: None,
            response,
        });
    }
}

/// One finding, before it becomes an [`Alert`].
struct Hit<'a> {
    kind: AlertKind,
    resp: &'a DnsResponse,
    owner: &'a str,
    rrtype: u16,
    section: Section,
    value: String,
    ttl: Option<u32>,
    detail: AlertDetail,
}

impl<'a> Hit<'a> {
    fn record(
        kind: AlertKind,
        resp: &'a DnsResponse,
        section: Section,
        record: &'a DnsRecord,
        value: String,
        detail: AlertDetail,
    ) -> Self {
        Hit {
            kind,
            resp,
            owner: &record.name,
            rrtype: record.rtype,
            section,
            value,
            ttl: Some(record.ttl),
            detail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::dns::decode_response;
    use crate::expect::parse_expect;
    use crate::model::PacketMeta;
    use crate::rules::shared;
    use crate::synth::{Exchange, a, rr};
    use hickory_proto::rr::RecordType;

    fn decoded(ex: &Exchange) -> DnsResponse {
        let (_, response) = ex.messages(7);
        decode_response(PacketMeta::sample(), &response).expect("a well-formed response")
    }

    #[test]
    fn each_value_alerts_once_per_kind_however_many_records_carry_it() {
        let expected = parse_expect(
            "t.toml",
            "[[zone]]\nname = \"example.org\"\na = [\"192.0.2.0/24\"]\n",
        )
        .expect("valid expect file");
        let mut m = Matcher::new(shared(Rules {
            expected,
            ..Rules::default()
        }));
        // 500 distinct hostile addresses, each in the answer twice (once
        // under the qname, once under a second owner of the zone; 1,000
        // records, under the decoder's bound): each goes through once and
        // its repeat is held back.
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
        let resp = decoded(&ex);
        let mut out = Vec::new();
        // 500 alerts raised; the bound keeps the first ones.
        assert_eq!(m.check(&resp, &mut out), 500 - MAX_ALERTS_PER_RESPONSE);
        assert_eq!(out.len(), MAX_ALERTS_PER_RESPONSE);
        assert!(out.iter().all(|al| al.kind == AlertKind::UnexpectedAddress));
        // The next response starts from an empty map.
        let mut again = Vec::new();
        assert_eq!(m.check(&resp, &mut again), 500 - MAX_ALERTS_PER_RESPONSE);
        assert_eq!(again.len(), MAX_ALERTS_PER_RESPONSE);
    }

    #[test]
    fn past_the_alert_bound_the_most_severe_are_kept_in_wire_order() {
        let expected = parse_expect(
            "t.toml",
            "[[zone]]\nname = \"example.org\"\na = [\"192.0.2.0/24\"]\n",
        )
        .expect("valid expect file");
        let ioc = crate::ioc::parse_feed("f.txt", "198.51.100.99\n")
            .expect("valid feed")
            .indicators;
        let mut m = Matcher::new(shared(Rules {
            ioc: crate::ioc::IocSet::new(ioc),
            expected,
            ..Rules::default()
        }));
        // 100 unexpected addresses (medium), then the indicator (high,
        // and unexpected too): an attacker who pads a hostile answer with
        // junk must not push the indicator out. Alerts of earlier
        // responses in `out` stay as they were.
        let mut ex = Exchange::new("10.0.0.7", "192.0.2.53", "www.example.org", RecordType::A);
        for i in 0..100u32 {
            ex = ex.answer(rr("www.example.org", 60, a(&format!("203.0.113.{i}"))));
        }
        ex = ex.answer(rr("www.example.org", 60, a("198.51.100.99")));
        let resp = decoded(&ex);
        let mut out = Vec::new();
        m.check(&resp, &mut out);
        let before = out.len();
        assert_eq!(before, MAX_ALERTS_PER_RESPONSE);
        assert_eq!(m.check(&resp, &mut out), 102 - MAX_ALERTS_PER_RESPONSE);
        assert_eq!(out.len(), 2 * MAX_ALERTS_PER_RESPONSE);
        let this = out.get(before..).unwrap_or_default();
        let values: Vec<(&str, &str)> = this
            .iter()
            .map(|al| (al.kind.as_str(), al.value.as_str()))
            .collect();
        // Indicators are checked before the zones, so its alert comes
        // first, as it would without the bound.
        let mut wanted: Vec<(&str, String)> = vec![("ioc_address", "198.51.100.99".into())];
        wanted.extend(
            (0..MAX_ALERTS_PER_RESPONSE - 1)
                .map(|i| ("unexpected_address", format!("203.0.113.{i}"))),
        );
        let wanted: Vec<(&str, &str)> = wanted.iter().map(|(k, v)| (*k, v.as_str())).collect();
        // The indicator's `unexpected_address` (medium, last in wire
        // order) is the one left out with the other 69 padding values.
        assert_eq!(values, wanted);
        // Evidence: each alert carries at most the bound of records.
        for al in this {
            assert_eq!(
                al.response.answers.len(),
                ResponseInfo::MAX_RECORDS_PER_SECTION
            );
            assert_eq!(
                al.response.records_omitted,
                101 - ResponseInfo::MAX_RECORDS_PER_SECTION
            );
        }
    }
}
