//! Matching: a decoded response against the IOC set and the expected
//! records, producing alerts.
//!
//! Each worker owns a [`Matcher`]; all share one immutable
//! [`crate::rules::Rules`].

mod expected;
mod ioc;
pub mod policy;
pub mod spoof;
pub mod suppress;

use std::sync::Arc;

use crate::model::names::fold_into;
use crate::model::{Alert, AlertDetail, AlertKind, DnsRecord, DnsResponse, ResponseInfo, Section};
use crate::rules::{Rules, SharedRules};
use crate::stats::IgnoredCounts;

/// One worker's matcher: the current rules plus scratch buffers, so
/// matching a response allocates nothing unless it alerts.
pub struct Matcher {
    shared: SharedRules,
    rules: Arc<Rules>,
    folded: String,
    /// (kind, value) already alerted for the current response.
    seen: Vec<(AlertKind, String)>,
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
            seen: Vec::new(),
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
        self.seen.clear();
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

    /// Records an alert unless this response already raised the same
    /// (kind, value): a name repeated as qname, owner and CNAME target is
    /// one detection, not three.
    fn emit(&mut self, out: &mut Vec<Alert>, hit: Hit<'_>) {
        if self
            .seen
            .iter()
            .any(|(k, v)| *k == hit.kind && *v == hit.value)
        {
            return;
        }
        self.seen.push((hit.kind, hit.value.clone()));
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
