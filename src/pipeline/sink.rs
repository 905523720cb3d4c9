//! The output thread: writes worker results in sequence order and, live,
//! the periodic health events.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::{Receiver, never, select, tick};

use super::worker::WorkerOutput;
use crate::health::{HealthBoard, HealthOptions, HealthReporter, SensorEvent};
use crate::matcher::spoof::SpoofDetector;
use crate::matcher::suppress::{Suppressor, alert_id};
use crate::model::SourceNames;
use crate::output::json::{write_alert, write_weird};
use crate::output::{OutputError, Outputs};
use crate::progress::Progress;
use crate::stats::{AlertCounts, WorkerCounters};

pub(super) struct Ctx<'a> {
    pub rx: Receiver<WorkerOutput>,
    pub outputs: &'a mut Outputs,
    pub sources: &'a SourceNames,
    pub progress: &'a Progress,
    pub stop: &'a AtomicBool,
    pub board: &'a HealthBoard,
    /// Live runs report health; offline runs do not.
    pub health: Option<HealthOptions>,
    pub suppress: Suppressor,
}

/// Writes until the workers hang up. On a write error it stops writing,
/// tells the capture side to stop, and drains the channel so no thread
/// blocks.
pub(super) fn output_loop(
    ctx: Ctx<'_>,
) -> Result<(AlertCounts, WorkerCounters, AlertCounts), OutputError> {
    let Ctx {
        rx,
        outputs,
        sources,
        progress,
        stop,
        board,
        health,
        mut suppress,
    } = ctx;
    let live = health.is_some();
    let ticker = match health {
        Some(h) => tick(h.interval),
        None => never(),
    };
    let mut reporter = health.map(HealthReporter::new);
    let mut pending: BTreeMap<u64, WorkerOutput> = BTreeMap::new();
    let mut next = 0u64;
    let mut alert_counts = AlertCounts::default();
    let mut counters = WorkerCounters::default();
    let mut failure: Option<OutputError> = None;
    let mut spoof = SpoofDetector::default();

    loop {
        select! {
            recv(rx) -> msg => {
                let Ok(out) = msg else { break };
                pending.insert(out.seq, out);
                while let Some(mut out) = pending.remove(&next) {
                    next += 1;
                    counters += &out.counters;
                    add_spoofing_findings(&mut spoof, &mut out);
                    if failure.is_some() {
                        continue;
                    }
                    match write_batch(&out, outputs, sources, live, &mut suppress) {
                        Ok(written) => {
                            for kind in &written {
                                alert_counts.add(*kind);
                            }
                            Progress::add(&progress.alerts, written.len() as u64);
                        }
                        Err(e) => {
                            stop.store(true, Ordering::Relaxed);
                            failure = Some(e);
                        }
                    }
                }
                if live {
                    board.publish_totals(|t| {
                        t.workers = counters.clone();
                        t.alerts = alert_counts.clone();
                    });
                }
            }
            recv(ticker) -> _ => {
                if let Some(r) = reporter.as_mut()
                    && failure.is_none()
                    && let Err(e) = write_events(outputs, r.report(board, false), board)
                {
                    failure = Some(e);
                }
            }
        }
    }
    if let Some(r) = reporter.as_mut()
        && failure.is_none()
    {
        board.publish_totals(|t| {
            t.workers = counters.clone();
            t.alerts = alert_counts.clone();
        });
        if let Err(e) = write_events(outputs, r.report(board, true), board) {
            failure = Some(e);
        }
    }
    if failure.is_none()
        && let Err(e) = outputs.flush()
    {
        failure = Some(e);
    }
    match failure {
        Some(e) => Err(e),
        None => Ok((alert_counts, counters, suppress.suppressed)),
    }
}

/// Compares the batch's responses with the ones before (in capture order)
/// and merges `conflicting_response` alerts and IP TTL evidence into the
/// batch's alerts, keeping packet order.
fn add_spoofing_findings(spoof: &mut SpoofDetector, out: &mut WorkerOutput) {
    let (conflicts, jumps) = spoof.check(&out.digests);
    if !conflicts.is_empty() {
        out.alerts.extend(conflicts);
        out.alerts
            .sort_by_key(|a| (a.meta.source.file, a.meta.source.packet));
    }
    if !jumps.is_empty() {
        for a in &mut out.alerts {
            a.ip_ttl_change = jumps.get(&a.meta.source).copied();
        }
    }
}

/// Writes health and blindness events to the alert output (they carry
/// their own `kind`, so a SIEM never mistakes them for detections) and to
/// the log.
fn write_events(
    outputs: &mut Outputs,
    events: Vec<SensorEvent>,
    board: &HealthBoard,
) -> Result<(), OutputError> {
    for e in &events {
        match e {
            SensorEvent::SensorHealth { dns_responses, .. } => {
                tracing::info!(dns_responses, "Sensor health");
            }
            SensorEvent::CaptureLoss {
                interface,
                drop_rate,
                ..
            } => {
                tracing::warn!(%interface, drop_rate, "Capture loss");
            }
            SensorEvent::CaptureStalled {
                interface, reason, ..
            } => {
                tracing::warn!(%interface, %reason, "Capture stalled");
            }
        }
        outputs.alerts.write_with(|w| {
            serde_json::to_writer(&mut *w, e)?;
            w.write_all(b"\n")
        })?;
        outputs.alerts_stats.count_written(1);
        for s in &outputs.syslog {
            s.send_event(e);
        }
    }
    board.publish_totals(|t| t.sensor_events += events.len() as u64);
    outputs.alerts.flush()
}

/// Writes a batch's records; returns the kinds of the alerts written
/// (those not suppressed).
fn write_batch(
    out: &WorkerOutput,
    outputs: &mut Outputs,
    sources: &SourceNames,
    live: bool,
    suppress: &mut Suppressor,
) -> Result<Vec<crate::model::AlertKind>, OutputError> {
    let mut written = Vec::new();
    if !out.alerts.is_empty() {
        let siems = &outputs.syslog;
        outputs.alerts.write_with(|w| {
            for a in &out.alerts {
                let id = alert_id(a);
                if let Some(count) = suppress.admit(a, id) {
                    write_alert(&mut *w, a, id, count, sources)?;
                    for s in siems {
                        s.send_alert(a, id, count, sources);
                    }
                    written.push(a.kind);
                }
            }
            Ok(())
        })?;
        outputs.alerts_stats.count_written(written.len() as u64);
        // Live, an alert waits for nothing: it is on the wire now.
        if live && !written.is_empty() {
            outputs.alerts.flush()?;
        }
    }
    if let Some(w) = &mut outputs.dns_log
        && !out.dns_log.is_empty()
    {
        w.write_with(|w| std::io::Write::write_all(w, &out.dns_log))?;
    }
    if let Some(w) = &mut outputs.weird_log
        && !out.weirds.is_empty()
    {
        w.write_with(|w| {
            out.weirds
                .iter()
                .try_for_each(|x| write_weird(&mut *w, x, sources))
        })?;
    }
    Ok(written)
}
