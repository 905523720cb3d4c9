//! `ioc_address` and `ioc_domain`: responses that point at known-bad
//! infrastructure, in any section.

use std::sync::Arc;

use super::{Hit, Matcher};
use crate::ioc::{Indicator, IocSet};
use crate::model::{Alert, AlertDetail, AlertKind, DnsResponse, Section};

pub(super) fn check(
    m: &mut Matcher,
    set: &IocSet,
    allow: &IocSet,
    resp: &DnsResponse,
    out: &mut Vec<Alert>,
) {
    // The owners of an RRset repeat the question (and a pointer flood
    // repeats one long name thousands of times): a name just found clean
    // is not folded and looked up again.
    let mut last_clean: Option<&str> = None;
    if let Some(q) = &resp.question
        && let Some((ind, value)) = name_hit(m, set, allow, &q.name, &mut last_clean)
    {
        let hit = Hit {
            kind: AlertKind::IocDomain,
            resp,
            owner: &q.name,
            rrtype: q.qtype,
            section: Section::Question,
            value,
            ttl: None,
            detail: AlertDetail::Ioc(ind),
        };
        m.emit(out, hit);
    }
    // Every section: glue addresses in additional and name servers in
    // authority are where a delegation hijack shows.
    for (section, record) in resp.records() {
        if let Some((ind, value)) = name_hit(m, set, allow, &record.name, &mut last_clean) {
            let hit = Hit::record(
                AlertKind::IocDomain,
                resp,
                section,
                record,
                value,
                AlertDetail::Ioc(ind),
            );
            m.emit(out, hit);
        }
        if let Some(addr) = record.data.ip_addr()
            && let Some(ind) = set.match_addr(addr)
            && allow.match_addr(addr).is_none()
        {
            let detail = AlertDetail::Ioc(Arc::clone(ind));
            let hit = Hit::record(
                AlertKind::IocAddress,
                resp,
                section,
                record,
                addr.to_string(),
                detail,
            );
            m.emit(out, hit);
        }
        if let Some(target) = record.data.target_name()
            && let Some((ind, value)) = name_hit(m, set, allow, target, &mut last_clean)
        {
            let hit = Hit::record(
                AlertKind::IocDomain,
                resp,
                section,
                record,
                value,
                AlertDetail::Ioc(ind),
            );
            m.emit(out, hit);
        }
    }
}

/// The indicator `name` matches (unless allowed), with the folded name as
/// the alert value. `last_clean` is the last name found to match nothing,
/// skipped without folding or lookup.
fn name_hit<'r>(
    m: &mut Matcher,
    set: &IocSet,
    allow: &IocSet,
    name: &'r str,
    last_clean: &mut Option<&'r str>,
) -> Option<(Arc<Indicator>, String)> {
    if *last_clean == Some(name) {
        return None;
    }
    let folded = m.fold(name);
    let Some(ind) = set.match_name(folded) else {
        *last_clean = Some(name);
        return None;
    };
    if allow.match_name(folded).is_some() {
        *last_clean = Some(name);
        return None;
    }
    Some((Arc::clone(ind), folded.to_string()))
}
