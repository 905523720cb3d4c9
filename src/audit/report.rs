//! An audit's answers into the outputs by the passive path: every answer
//! is a payload of one batch, decoded, matched and written by the same
//! [`Processor`] and [`Emitter`] as a captured response, with a source that
//! names the question instead of a packet. Failures become `audit_failed`
//! sensor events, never silence.

use std::sync::Arc;

use super::Finding;
use super::client::{Answer, now};
use super::run::AuditResult;
use crate::expect::ExpectedZones;
use crate::matcher::policy::AlertPolicy;
use crate::matcher::suppress::Suppressor;
use crate::model::{Alert, AlertDetail, ResponseInfo, Section};
use crate::model::{PayloadBatch, SourceNames, SourceRef};
use crate::output::{Event, OutputError, OutputSet, OutputTargets};
use crate::pipeline::batch::{Emitter, Injected, ProcessOptions, Processor};
use crate::rules::SharedRules;
use crate::stats::{AuditCounts, CaptureCounters, OutputReport, Summary};

/// An audit's (or one zone's) answers and failures as the output stage
/// takes them: matched, with the findings of answers compared with each
/// other, and the `audit_failed` events. Answers are numbered from
/// `first_packet`; a finding `keep` refuses raises nothing (yet).
pub fn process(
    result: AuditResult,
    rules: &SharedRules,
    targets: &OutputTargets,
    first_packet: u64,
    mut keep: impl FnMut(&Finding) -> bool,
) -> Injected {
    let audit = counts(&result);
    let loaded = rules.load_full();
    let zones = &loaded.expected;
    let mut findings = super::dnssec::check(zones, &result.answers, now_seconds());
    findings.extend(super::consistency::check(zones, &result.answers));
    let (queries, answers): (Vec<_>, Vec<_>) = result
        .answers
        .into_iter()
        .map(|a| (a.query, a.answer))
        .unzip();
    let sources = SourceNames::audit(&targets.sensor_name, queries);
    let source = |i: usize| SourceRef {
        file: u32::try_from(i).unwrap_or(u32::MAX),
        packet: first_packet + i as u64,
    };
    let mut batch = PayloadBatch::default();
    for (i, a) in answers.iter().enumerate() {
        let mut meta = a.response.meta;
        meta.source = source(i);
        batch.push(meta, &a.bytes);
    }
    let mut processor = Processor::new(
        Arc::clone(rules),
        sources.clone(),
        ProcessOptions {
            dns_log: targets.dns_log.is_some(),
            weirds: targets.weird_log.is_some(),
            dns_log_format: targets.dns_log_format,
            asked: true,
        },
    );
    let mut processed = processor.process(batch, |_| {});
    // The sensor asked: two answers to its questions are no race between
    // a server and an injector.
    processed.digests = Default::default();
    for f in findings.into_iter().filter(|f| keep(f)) {
        if let Some(a) = answers.get(f.answer) {
            let s = source(f.answer);
            processed.alerts.push(finding_alert(zones, a, s, f));
        }
    }
    // In answer order, as the matcher's are.
    processed.alerts.sort_by_key(|a| a.meta.source.packet);
    let ts = now().to_string();
    let events = result.failures.iter().map(|f| f.event(&ts)).collect();
    Injected {
        processed,
        sources,
        events,
        audit,
    }
}

/// What `result` asked.
fn counts(result: &AuditResult) -> AuditCounts {
    AuditCounts {
        zones: result.zones,
        servers: result.servers,
        questions_asked: result.asked,
        answered: result.answered,
        failed: result.failed,
        not_asked: result.not_asked,
    }
}

/// Writes `result` to `outputs` and returns the run's summary.
pub fn write(
    result: AuditResult,
    rules: &SharedRules,
    targets: &OutputTargets,
    mut outputs: OutputSet,
    suppress_us: i64,
    elapsed_seconds: f64,
) -> (Summary, Result<(), OutputError>) {
    let Injected {
        processed,
        sources,
        events,
        audit,
    } = process(result, rules, targets, 1, |_| true);
    let mut emitter = Emitter::new(
        Suppressor::new(suppress_us),
        AlertPolicy::new(Arc::clone(rules), targets.sensor_name.clone()),
        false,
    );
    let written = emitter
        .emit(processed, &mut outputs, &sources)
        .and_then(|_| {
            events
                .iter()
                .try_for_each(|e| outputs.write(&Event::Sensor(e), &sources))
        })
        .and_then(|()| outputs.flush());
    let reports: Vec<OutputReport> = outputs.finish();
    let mut summary = Summary::new(
        Vec::new(),
        &CaptureCounters::default(),
        &emitter.counters,
        &emitter.alerts,
        elapsed_seconds,
        1,
    );
    summary.suppressed = emitter.suppressed().to_map();
    summary.allowed = emitter.policy_counts().allowed.clone();
    summary.severity_off = emitter.policy_counts().severity_off.to_map();
    summary.outputs = reports;
    summary.audit = Some(audit);
    (summary, written.map(|_| ()))
}

/// The wall clock in seconds, as RRSIG validity times count.
fn now_seconds() -> u32 {
    u32::try_from(now().0 / 1_000_000).unwrap_or(u32::MAX)
}

/// A finding, as the alert every output writes.
fn finding_alert(zones: &ExpectedZones, a: &Answer, source: SourceRef, inv: Finding) -> Alert {
    let resp = &a.response;
    let mut meta = resp.meta;
    meta.source = source;
    let zone: Arc<str> = zones
        .zone_for(&inv.zone)
        .map_or_else(|| Arc::from(inv.zone.as_str()), |z| Arc::clone(&z.name));
    Alert {
        kind: inv.kind,
        meta,
        txid: resp.txid,
        qname: resp.qname().to_string(),
        qtype: resp.qtype(),
        owner: inv.owner,
        rrtype: inv.rrtype,
        section: Section::Answer,
        value: inv.value,
        ttl: inv.ttl,
        detail: AlertDetail::Zone {
            zone,
            expected: inv.expected.into(),
        },
        ip_ttl_change: None,
        severity_override: None,
        response: Arc::new(ResponseInfo::of(resp)),
    }
}
