//! `ioc_address` and `ioc_domain`: responses that point at known-bad
//! infrastructure, in any section.
//!
//! A match is judged against the packet's time: a retracted indicator, or
//! one outside its validity then, raises nothing and is counted by reason;
//! one older than `max_age_days` alerts one severity level lower.

use std::sync::Arc;

use super::{Hit, MatchState};
use crate::ioc::{Indicator, IocSet};
use crate::model::names::same_name;
use crate::model::{Alert, AlertDetail, AlertKind, DnsResponse, IocMatch, Section};

/// The lists and the age rule one response is checked against.
pub(super) struct IocRules<'a> {
    pub set: &'a IocSet,
    pub allow: &'a IocSet,
    pub max_age_days: u32,
}

pub(super) fn check(
    m: &mut MatchState,
    rules: &IocRules<'_>,
    resp: &DnsResponse,
    out: &mut Vec<Alert>,
) {
    let (set, allow) = (rules.set, rules.allow);
    let ts = resp.meta.ts.0;
    let judge = |m: &mut MatchState, kind: AlertKind, ind: &Arc<Indicator>, value: &str| {
        match ind.lifecycle.judge(ts, rules.max_age_days) {
            Ok(standing) => Some(AlertDetail::Ioc(IocMatch::new(Arc::clone(ind), standing))),
            Err(why) => {
                // Counted once per response and value, as an alert would be.
                if m.first_sighting(kind, value) {
                    m.ignored.add(why);
                }
                None
            }
        }
    };
    // The owners of an RRset repeat the question (and a pointer flood
    // repeats one long name thousands of times): a name just found clean
    // is not folded and looked up again.
    let mut last_clean: Option<&str> = None;
    if let Some(q) = &resp.question
        && let Some((ind, value)) = name_hit(m, set, allow, &q.name, &mut last_clean)
        && let Some(detail) = judge(m, AlertKind::IocDomain, &ind, &value)
    {
        let hit = Hit {
            kind: AlertKind::IocDomain,
            resp,
            owner: &q.name,
            rrtype: q.qtype,
            section: Section::Question,
            value,
            ttl: None,
            detail,
        };
        m.emit(out, hit);
    }
    // Every section: glue addresses in additional and name servers in
    // authority are where a delegation hijack shows.
    for (section, record) in resp.records() {
        if let Some((ind, value)) = name_hit(m, set, allow, &record.name, &mut last_clean)
            && let Some(detail) = judge(m, AlertKind::IocDomain, &ind, &value)
        {
            let hit = Hit::record(AlertKind::IocDomain, resp, section, record, value, detail);
            m.emit(out, hit);
        }
        if let Some(addr) = record.data.ip_addr()
            && let Some(ind) = set.match_addr(addr)
            && allow.match_addr(addr).is_none()
        {
            let value = addr.to_string();
            if let Some(detail) = judge(m, AlertKind::IocAddress, ind, &value) {
                let hit = Hit::record(AlertKind::IocAddress, resp, section, record, value, detail);
                m.emit(out, hit);
            }
        }
        if let Some(target) = record.data.target_name()
            && let Some((ind, value)) = name_hit(m, set, allow, target, &mut last_clean)
            && let Some(detail) = judge(m, AlertKind::IocDomain, &ind, &value)
        {
            let hit = Hit::record(AlertKind::IocDomain, resp, section, record, value, detail);
            m.emit(out, hit);
        }
    }
}

/// The indicator `name` matches (unless allowed), with the folded name as
/// the alert value. `last_clean` is the last name found to match nothing,
/// skipped without folding or lookup.
fn name_hit<'r>(
    m: &mut MatchState,
    set: &IocSet,
    allow: &IocSet,
    name: &'r str,
    last_clean: &mut Option<&'r str>,
) -> Option<(Arc<Indicator>, String)> {
    if last_clean.is_some_and(|clean| same_name(clean, name)) {
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
