//! Checks of the organisation's own zones against their expected records.
//!
//! * `unexpected_address` / `_ns` / `_mx` / `_cname`: a record of a
//!   monitored zone whose data is outside the allowed set. The owner name
//!   decides the zone, not the query name: the CDN's address at the end of
//!   an allowed CNAME chain is not the zone's to check. NS records are
//!   checked in the answer and authority sections (referrals), addresses in
//!   every section.
//! * `unexpected_ns_address`: glue (an additional-section address) of a
//!   name server that this response names for a zone with `ns_addresses`.
//! * `low_ttl`: a monitored record with a TTL under the zone's `ttl_min`.
//! * `unexpected_resolver`: a server outside `resolvers` answered for a
//!   monitored name.
//! * `dnssec_missing`: a signed zone's answer, to a query that asked for
//!   DNSSEC (DO bit echoed), came without its signatures, or a referral to
//!   it came without its DS.

use std::net::IpAddr;
use std::sync::Arc;

use super::{Hit, MatchState};
use crate::expect::{AddressPolicy, Effective, ExpectedZones, NamePolicy, ZonePolicy};
use crate::model::names::same_name;
use crate::model::{Alert, AlertDetail, AlertKind, DnsRecord, DnsResponse, Rdata, Section};

const TYPE_A: u16 = 1;
const TYPE_NS: u16 = 2;
const TYPE_CNAME: u16 = 5;
const TYPE_MX: u16 = 15;
const TYPE_AAAA: u16 = 28;
const TYPE_RRSIG: u16 = 46;
const TYPE_DS: u16 = 43;
const RCODE_NOERROR: u8 = 0;

/// Record types whose TTL `ttl_min` watches.
fn is_monitored_type(rtype: u16) -> bool {
    matches!(rtype, TYPE_A | TYPE_AAAA | TYPE_NS | TYPE_MX | TYPE_CNAME)
}

fn zone_detail(scope: &Arc<str>, listed: &Arc<[String]>) -> AlertDetail {
    AlertDetail::Zone {
        zone: Arc::clone(scope),
        expected: Arc::clone(listed),
    }
}

pub(super) fn check(
    m: &mut MatchState,
    zones: &ExpectedZones,
    resp: &DnsResponse,
    out: &mut Vec<Alert>,
) {
    if zones.any_resolvers() && !m.asked {
        check_resolver(m, zones, resp, out);
    }
    // Name servers this response names for monitored zones, with the
    // addresses their glue may have.
    let mut ns_targets: Vec<(String, &AddressPolicy, Arc<str>)> = Vec::new();
    // An RRset's records share their owner: it is folded, and its zone and
    // policy looked up, once.
    let mut last: Option<(&str, Option<Effective<'_>>)> = None;
    for (section, record) in resp.records() {
        let eff = match last {
            Some((name, eff)) if same_name(name, &record.name) => eff,
            _ => {
                let folded = m.fold(&record.name);
                zones.zone_for(folded).map(|z| z.effective(folded))
            }
        };
        last = Some((&record.name, eff));
        let Some(eff) = eff else {
            continue;
        };
        check_record(m, &eff, resp, section, record, out);
        if record.rtype == TYPE_NS
            && section != Section::Additional
            && let (Rdata::Name(target), Some(allowed)) = (&record.data, eff.ns_addresses)
        {
            let folded = m.fold(target).to_string();
            ns_targets.push((folded, allowed, Arc::clone(eff.scope)));
        }
    }
    if !ns_targets.is_empty() {
        check_glue(m, &ns_targets, resp, out);
    }
    if zones.any_dnssec() {
        check_dnssec(m, zones, resp, out);
    }
}

fn check_record(
    m: &mut MatchState,
    eff: &Effective<'_>,
    resp: &DnsResponse,
    section: Section,
    record: &DnsRecord,
    out: &mut Vec<Alert>,
) {
    let violation = match (&record.data, record.rtype, section) {
        (Rdata::A(a), TYPE_A, _) => addr_violation(eff.a, IpAddr::V4(*a)),
        (Rdata::Aaaa(a), TYPE_AAAA, _) => addr_violation(eff.aaaa, IpAddr::V6(*a)),
        (Rdata::Name(t), TYPE_NS, Section::Answer | Section::Authority) => {
            name_violation(m, eff.ns, t, AlertKind::UnexpectedNs)
        }
        (Rdata::Mx { exchange, .. }, TYPE_MX, Section::Answer) => {
            name_violation(m, eff.mx, exchange, AlertKind::UnexpectedMx)
        }
        (Rdata::Name(t), TYPE_CNAME, Section::Answer) => {
            name_violation(m, eff.cname, t, AlertKind::UnexpectedCname)
        }
        // Data that did not decode for its type is not evidence either way.
        _ => None,
    };
    if let Some((kind, value, listed)) = violation {
        let hit = Hit::record(
            kind,
            resp,
            section,
            record,
            value,
            zone_detail(eff.scope, listed),
        );
        m.emit(out, hit);
    }
    if let Some(min) = eff.ttl_min
        && record.ttl < min
        && is_monitored_type(record.rtype)
        && section != Section::Additional
    {
        let expected: Arc<[String]> = vec![format!("ttl >= {min}")].into();
        let detail = AlertDetail::Zone {
            zone: Arc::clone(eff.scope),
            expected,
        };
        let value = record.data.to_string();
        m.emit(
            out,
            Hit::record(AlertKind::LowTtl, resp, section, record, value, detail),
        );
    }
}

fn addr_violation(
    policy: Option<&AddressPolicy>,
    addr: IpAddr,
) -> Option<(AlertKind, String, &Arc<[String]>)> {
    let p = policy?;
    (!p.allows(addr)).then(|| (AlertKind::UnexpectedAddress, addr.to_string(), &p.listed))
}

fn name_violation<'p>(
    m: &mut MatchState,
    policy: Option<&'p NamePolicy>,
    target: &str,
    kind: AlertKind,
) -> Option<(AlertKind, String, &'p Arc<[String]>)> {
    let policy = policy?;
    let folded = m.fold(target);
    (!policy.allows(folded)).then(|| (kind, folded.to_string(), &policy.listed))
}

/// Glue of the name servers found above, against `ns_addresses`.
fn check_glue(
    m: &mut MatchState,
    targets: &[(String, &AddressPolicy, Arc<str>)],
    resp: &DnsResponse,
    out: &mut Vec<Alert>,
) {
    for record in &resp.additional {
        let Some(addr) = record.data.ip_addr() else {
            continue;
        };
        let owner = m.fold(&record.name).to_string();
        for (target, allowed, scope) in targets {
            if *target == owner && !allowed.allows(addr) {
                let detail = zone_detail(scope, &allowed.listed);
                let hit = Hit::record(
                    AlertKind::UnexpectedNsAddress,
                    resp,
                    Section::Additional,
                    record,
                    addr.to_string(),
                    detail,
                );
                m.emit(out, hit);
            }
        }
    }
}

/// The zone a response is about: its question's, else its first answer's.
fn response_zone<'z>(
    m: &mut MatchState,
    zones: &'z ExpectedZones,
    resp: &DnsResponse,
) -> Option<&'z ZonePolicy> {
    if let Some(q) = &resp.question
        && let Some(z) = zones.zone_for(m.fold(&q.name))
    {
        return Some(z);
    }
    let first = resp.answers.first()?;
    zones.zone_for(m.fold(&first.name))
}

fn check_resolver(
    m: &mut MatchState,
    zones: &ExpectedZones,
    resp: &DnsResponse,
    out: &mut Vec<Alert>,
) {
    let Some(zone) = response_zone(m, zones, resp) else {
        return;
    };
    let Some(allowed) = &zone.resolvers else {
        return;
    };
    let server = resp.meta.src_ip;
    if allowed.allows(server) {
        return;
    }
    let hit = Hit {
        kind: AlertKind::UnexpectedResolver,
        resp,
        owner: resp.qname(),
        rrtype: resp.qtype().unwrap_or(0),
        section: Section::Question,
        value: server.to_string(),
        ttl: None,
        detail: zone_detail(&zone.name, &allowed.listed),
    };
    m.emit(out, hit);
}

/// A signed zone's answer must carry an RRSIG for each owner it answers
/// with, when the query asked for DNSSEC: the server echoes the DO bit.
/// Without DO no server sends signatures, so nothing can be concluded.
fn check_dnssec(
    m: &mut MatchState,
    zones: &ExpectedZones,
    resp: &DnsResponse,
    out: &mut Vec<Alert>,
) {
    let asked = resp.edns.as_ref().is_some_and(|e| e.dnssec_ok);
    if !asked || resp.rcode != RCODE_NOERROR {
        return;
    }
    for record in &resp.answers {
        if record.rtype == TYPE_RRSIG {
            continue;
        }
        let Some(zone) = zones.zone_for(m.fold(&record.name)) else {
            continue;
        };
        if !zone.dnssec {
            continue;
        }
        let signed = resp
            .answers
            .iter()
            .any(|r| r.rtype == TYPE_RRSIG && r.name.eq_ignore_ascii_case(&record.name));
        if !signed {
            let expected: Arc<[String]> = vec!["RRSIG".to_string()].into();
            let detail = AlertDetail::Zone {
                zone: Arc::clone(&zone.name),
                expected,
            };
            let value = format!("unsigned {}", crate::model::names::type_name(record.rtype));
            let hit = Hit::record(
                AlertKind::DnssecMissing,
                resp,
                Section::Answer,
                record,
                value,
                detail,
            );
            m.emit(out, hit);
        }
    }
    // A referral to a signed zone must carry its DS: without it the parent
    // no longer vouches for the zone's keys, which is the downgrade itself.
    if !resp.answers.is_empty() {
        return;
    }
    for record in &resp.authority {
        if record.rtype != TYPE_NS {
            continue;
        }
        let folded = m.fold(&record.name);
        let Some(zone) = zones.zone_for(folded) else {
            continue;
        };
        if !zone.dnssec || *folded != *zone.name {
            continue;
        }
        let has_ds = resp
            .authority
            .iter()
            .any(|r| r.rtype == TYPE_DS && r.name.eq_ignore_ascii_case(&record.name));
        if !has_ds {
            let expected: Arc<[String]> = vec!["DS".to_string()].into();
            let detail = AlertDetail::Zone {
                zone: Arc::clone(&zone.name),
                expected,
            };
            let value = "delegation without DS".to_string();
            let hit = Hit::record(
                AlertKind::DnssecMissing,
                resp,
                Section::Authority,
                record,
                value,
                detail,
            );
            m.emit(out, hit);
            // One per referral is enough: every NS record lacks the same DS.
            return;
        }
    }
}
