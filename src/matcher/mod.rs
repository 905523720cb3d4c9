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

use crate::model::names::fold_into;
use crate::model::{Alert, AlertDetail, AlertKind, DnsRecord, DnsResponse, ResponseInfo, Section};
use crate::rules::{Rules, SharedRules};
use crate::stats::IgnoredCounts;

// `Matcher::seen` keeps one bit per kind in a u16.
const _: () = assert!(AlertKind::ALL.len() <= 16);

/// One worker's matcher: the current rules plus scratch buffers, so
/// matching a response allocates nothing unless it alerts.
pub struct Matcher {
    shared: SharedRules,
    rules: Arc<Rules>,
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
            folded: String::with_capacity(256),
            seen: HashMap::new(),
            response: None,
            ignored: IgnoredCounts::default(),
            asked: false,
        }
    }

    /// A matcher for answers to the sensor's own questions (see `asked`).
    pub fn for_asked_answers(shared: SharedRules) -> Self {
        Matcher {
            asked: true,
            ..Matcher::new(shared)
        }
    }

    /// Takes up the latest rules (after a reload).
    pub fn refresh(&mut self) {
        let current = self.shared.load();
        if !Arc::ptr_eq(&current, &self.rules) {
            self.rules = Arc::clone(&current);
        }
    }

    /// Appends the alerts `resp` raises to `out`, in a fixed order: the
    /// question, then each answer record in wire order.
    pub fn check(&mut self, resp: &DnsResponse, out: &mut Vec<Alert>) {
        if !self.seen.is_empty() {
            self.seen.clear();
        }
        self.response = None;
        let rules = Arc::clone(&self.rules);
        if !rules.ioc.is_empty() {
            let ioc_rules = ioc::IocRules {
                set: &rules.ioc,
                allow: &rules.allow,
                max_age_days: rules.ioc_max_age_days,
            };
            ioc::check(self, &ioc_rules, resp, out);
        }
        if !rules.expected.is_empty() {
            expected::check(self, &rules.expected, resp, out);
        }
    }

    /// The indicator matches that raised nothing since the last call, by
    /// reason.
    pub fn take_ignored(&mut self) -> IgnoredCounts {
        std::mem::take(&mut self.ignored)
    }

    /// Folds `name` into the scratch buffer and returns it.
    fn fold(&mut self, name: &str) -> &str {
        fold_into(name, &mut self.folded);
        &self.folded
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
        m.check(&resp, &mut out);
        assert_eq!(out.len(), 500);
        assert!(out.iter().all(|al| al.kind == AlertKind::UnexpectedAddress));
        // The next response starts from an empty map.
        let mut again = Vec::new();
        m.check(&resp, &mut again);
        assert_eq!(again.len(), 500);
    }
}
