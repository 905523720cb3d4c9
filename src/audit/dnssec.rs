//! DNSSEC validation of a signed zone's audited answers (`dnssec = true`):
//! the zone's DNSKEY set must be signed by a key the parent's DS vouches
//! for, and every RRset an answer carries for the zone must have an RRSIG
//! that one of those keys made, valid now. The cryptography is hickory's
//! ([`Verifier`]); this module only chooses what is checked against what.
//!
//! An RRset without any RRSIG, or a delegation without DS, is the
//! matcher's `dnssec_missing` (the answer runs through it as every answer
//! does); what is found here is `dnssec_invalid`: a signature is there and
//! does not validate, the mark of a record changed after signing or
//! signed by someone else.

use std::collections::BTreeMap;

use hickory_proto::dnssec::Verifier;
use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData, DS, RRSIG};
use hickory_proto::op::Message;
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use super::Finding;
use super::delegation::folded;
use super::run::Asked;
use crate::expect::ExpectedZones;
use crate::model::AlertKind;
use crate::model::audit::AuditRole;

/// Every RRset of a signed zone in `answers` that does not validate.
pub fn check(zones: &ExpectedZones, answers: &[Asked], now: u32) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut by_zone: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, a) in answers.iter().enumerate() {
        let zone = &a.query.zone;
        if zones.zone_for(zone).is_some_and(|z| z.dnssec) {
            by_zone.entry(zone.clone()).or_default().push(i);
        }
    }
    for (zone, indexes) in by_zone {
        let Ok(apex) = Name::from_ascii(format!("{zone}.")) else {
            continue;
        };
        let parsed: Vec<(usize, Message)> = indexes
            .iter()
            .filter_map(|&i| {
                let a = answers.get(i)?;
                Some((i, Message::from_vec(&a.answer.bytes).ok()?))
            })
            .collect();
        let ds: Vec<DS> = parsed
            .iter()
            .filter(|(i, _)| {
                answers
                    .get(*i)
                    .is_some_and(|a| a.query.role == AuditRole::Parent)
            })
            .flat_map(|(_, m)| m.answers.iter())
            .filter(|r| r.name == apex)
            .filter_map(|r| match &r.data {
                RData::DNSSEC(DNSSECRData::DS(d)) => Some(d.clone()),
                _ => None,
            })
            .collect();
        // No DS: the parent does not vouch for any key. The referral
        // without DS is the matcher's dnssec_missing.
        if ds.is_empty() {
            continue;
        }
        let expected: Vec<String> = ds
            .iter()
            .map(|d| format!("DS key {}", d.key_tag()))
            .collect();
        // The zone's keys: from a DNSKEY set signed by a key a DS covers.
        let mut keys: Vec<DNSKEY> = Vec::new();
        for (i, m) in &parsed {
            let Some(a) = answers.get(*i) else { continue };
            if a.query.role == AuditRole::Parent {
                continue;
            }
            let set: Vec<&Record> = m
                .answers
                .iter()
                .filter(|r| r.name == apex && r.record_type() == RecordType::DNSKEY)
                .collect();
            if set.is_empty() {
                continue;
            }
            let dnskeys: Vec<&DNSKEY> = set.iter().filter_map(|r| dnskey(r)).collect();
            let anchors: Vec<&DNSKEY> = dnskeys
                .iter()
                .copied()
                .filter(|k| ds.iter().any(|d| d.covers(&apex, k).unwrap_or(false)))
                .collect();
            let sigs = rrsigs(&m.answers, &apex, RecordType::DNSKEY);
            match validate(&apex, &set, &sigs, &anchors, now) {
                Ok(()) => {
                    for k in dnskeys {
                        if k.zone_key() && !keys.contains(k) {
                            keys.push(k.clone());
                        }
                    }
                }
                Err(reason) if !sigs.is_empty() => out.push(invalid(
                    *i,
                    set.first().copied(),
                    &zone,
                    format!("DNSKEY set: {reason}"),
                    &expected,
                )),
                // Unsigned: the matcher's dnssec_missing.
                Err(_) => {}
            }
        }
        if keys.is_empty() {
            continue;
        }
        for (i, m) in &parsed {
            let Some(a) = answers.get(*i) else { continue };
            if a.query.role == AuditRole::Parent {
                continue;
            }
            for (owner, rtype, set) in rrsets(&m.answers) {
                if rtype == RecordType::DNSKEY || rtype == RecordType::RRSIG {
                    continue;
                }
                let text = owner.to_ascii();
                let name = folded(text.trim_end_matches('.'));
                if zones.zone_for(&name).map(|z| folded(&z.name)) != Some(zone.clone()) {
                    continue;
                }
                let sigs = rrsigs(&m.answers, &owner, rtype);
                if sigs.is_empty() {
                    continue;
                }
                let anchors: Vec<&DNSKEY> = keys.iter().collect();
                if let Err(reason) = validate(&owner, &set, &sigs, &anchors, now) {
                    out.push(invalid(*i, set.first().copied(), &zone, reason, &expected));
                }
            }
        }
    }
    out
}

fn invalid(
    answer: usize,
    record: Option<&Record>,
    zone: &str,
    reason: String,
    expected: &[String],
) -> Finding {
    let (owner, rrtype, ttl) = record.map_or((zone.to_string(), 0, 0), |r| {
        let text = r.name.to_ascii();
        let owner = text.trim_end_matches('.');
        let owner = if owner.is_empty() { "." } else { owner };
        (owner.to_string(), u16::from(r.record_type()), r.ttl)
    });
    Finding {
        kind: AlertKind::DnssecInvalid,
        answer,
        owner,
        rrtype,
        ttl: Some(ttl),
        zone: zone.to_string(),
        value: reason,
        expected: expected.to_vec(),
    }
}

fn dnskey(r: &Record) -> Option<&DNSKEY> {
    match &r.data {
        RData::DNSSEC(DNSSECRData::DNSKEY(k)) => Some(k),
        _ => None,
    }
}

/// The RRSIGs of `records` over (`owner`, `rtype`).
fn rrsigs<'a>(records: &'a [Record], owner: &Name, rtype: RecordType) -> Vec<&'a RRSIG> {
    records
        .iter()
        .filter(|r| &r.name == owner)
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::RRSIG(s)) if s.input().type_covered == rtype => Some(s),
            _ => None,
        })
        .collect()
}

/// The RRsets of a section, in first-seen order.
fn rrsets(records: &[Record]) -> Vec<(Name, RecordType, Vec<&Record>)> {
    let mut out: Vec<(Name, RecordType, Vec<&Record>)> = Vec::new();
    for r in records {
        let t = r.record_type();
        match out.iter_mut().find(|(n, rt, _)| *rt == t && *n == r.name) {
            Some((_, _, set)) => set.push(r),
            None => out.push((r.name.clone(), t, vec![r])),
        }
    }
    out
}

/// `Ok` when one of `sigs`, made by one of `keys` (tag and algorithm) and
/// valid at `now`, verifies over `set`; else why none did.
fn validate(
    owner: &Name,
    set: &[&Record],
    sigs: &[&RRSIG],
    keys: &[&DNSKEY],
    now: u32,
) -> Result<(), String> {
    if sigs.is_empty() {
        return Err("no RRSIG".into());
    }
    let mut reasons: Vec<String> = Vec::new();
    for sig in sigs {
        let input = sig.input();
        let tag = input.key_tag;
        let inception = input.sig_inception.get();
        let expiration = input.sig_expiration.get();
        // RFC 4034 3.1.5: serial-number arithmetic on the times.
        if now.wrapping_sub(inception) > i32::MAX as u32 {
            reasons.push(format!(
                "RRSIG by key {tag} is not valid before {inception}"
            ));
            continue;
        }
        if expiration.wrapping_sub(now) > i32::MAX as u32 {
            reasons.push(format!("RRSIG by key {tag} expired at {expiration}"));
            continue;
        }
        let candidates: Vec<&&DNSKEY> = keys
            .iter()
            .filter(|k| k.algorithm() == input.algorithm && k.calculate_key_tag().ok() == Some(tag))
            .collect();
        if candidates.is_empty() {
            reasons.push(format!("RRSIG by key {tag}, which is not the zone's"));
            continue;
        }
        let verified = candidates.iter().any(|k| {
            k.verify_rrsig(owner, DNSClass::IN, sig, set.iter().copied())
                .is_ok()
        });
        if verified {
            return Ok(());
        }
        reasons.push(format!("RRSIG by key {tag} does not verify"));
    }
    Err(reasons.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    use hickory_proto::dnssec::Algorithm;
    use hickory_proto::dnssec::rdata::sig::SigInput;

    fn sig(inception: u32, expiration: u32) -> RRSIG {
        RRSIG::from_sig(
            SigInput {
                type_covered: RecordType::A,
                algorithm: Algorithm::ECDSAP256SHA256,
                num_labels: 3,
                original_ttl: 3600,
                sig_expiration: expiration.into(),
                sig_inception: inception.into(),
                key_tag: 2544,
                signer_name: Name::from_ascii("example.org.").unwrap(),
            },
            vec![0; 64],
        )
    }

    #[test]
    fn a_signature_outside_its_validity_or_by_another_key_validates_nothing() {
        let owner = Name::from_ascii("www.example.org.").unwrap();
        assert_eq!(validate(&owner, &[], &[], &[], 0), Err("no RRSIG".into()));
        let now = 1_000_000;
        let check = |s: RRSIG| validate(&owner, &[], &[&s], &[], now).unwrap_err();
        assert!(check(sig(now + 10, now + 100)).contains("not valid before"));
        assert!(check(sig(now - 100, now - 10)).contains("expired at"));
        // Serial-number arithmetic: a window across the wrap of u32.
        let wrapped = validate(&owner, &[], &[&sig(u32::MAX - 5, 10)], &[], 3).unwrap_err();
        assert!(wrapped.contains("not the zone's"), "{wrapped}");
        assert!(check(sig(now - 100, now + 100)).contains("which is not the zone's"));
    }
}
