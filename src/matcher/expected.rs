//! `unexpected_*`: records of a monitored zone whose data is outside the
//! zone's allowed set. The owner name decides the zone, not the query name:
//! the CDN's address at the end of an allowed CNAME chain is not the zone's
//! to check.

use std::sync::Arc;

use super::{Hit, Matcher};
use crate::expect::{ExpectedZones, NamePolicy};
use crate::model::{Alert, AlertDetail, AlertKind, DnsResponse, Rdata, Section};

const TYPE_A: u16 = 1;
const TYPE_NS: u16 = 2;
const TYPE_CNAME: u16 = 5;
const TYPE_MX: u16 = 15;
const TYPE_AAAA: u16 = 28;

pub(super) fn check(
    m: &mut Matcher,
    zones: &ExpectedZones,
    resp: &DnsResponse,
    out: &mut Vec<Alert>,
) {
    for record in &resp.answers {
        if !matches!(
            record.rtype,
            TYPE_A | TYPE_AAAA | TYPE_NS | TYPE_MX | TYPE_CNAME
        ) {
            continue;
        }
        let Some(zone) = zones.zone_for(m.fold(&record.name)) else {
            continue;
        };
        let violation = match (&record.data, record.rtype) {
            (Rdata::A(a), TYPE_A) => zone.a.as_ref().and_then(|p| {
                (!p.allows((*a).into()))
                    .then(|| (AlertKind::UnexpectedAddress, a.to_string(), &p.listed))
            }),
            (Rdata::Aaaa(a), TYPE_AAAA) => zone.aaaa.as_ref().and_then(|p| {
                (!p.allows((*a).into()))
                    .then(|| (AlertKind::UnexpectedAddress, a.to_string(), &p.listed))
            }),
            (Rdata::Name(target), TYPE_NS) => {
                name_violation(m, zone.ns.as_ref(), target, AlertKind::UnexpectedNs)
            }
            (Rdata::Mx { exchange, .. }, TYPE_MX) => {
                name_violation(m, zone.mx.as_ref(), exchange, AlertKind::UnexpectedMx)
            }
            (Rdata::Name(target), TYPE_CNAME) => {
                name_violation(m, zone.cname.as_ref(), target, AlertKind::UnexpectedCname)
            }
            // Data that did not decode for its type is not evidence either way.
            _ => None,
        };
        if let Some((kind, value, listed)) = violation {
            let detail = AlertDetail::Zone {
                zone: Arc::clone(&zone.name),
                expected: Arc::clone(listed),
            };
            m.emit(
                out,
                Hit::record(kind, resp, Section::Answer, record, value, detail),
            );
        }
    }
}

fn name_violation<'p>(
    m: &mut Matcher,
    policy: Option<&'p NamePolicy>,
    target: &str,
    kind: AlertKind,
) -> Option<(AlertKind, String, &'p Arc<[String]>)> {
    let policy = policy?;
    let folded = m.fold(target);
    (!policy.allows(folded)).then(|| (kind, folded.to_string(), &policy.listed))
}
