//! The output thread: emits worker results in sequence order through the
//! one [`Emitter`], live writes the periodic health events, and reopens
//! the output files when asked (SIGHUP after a log rotation): this thread
//! owns every writer, so a reopen falls between two lines, never inside
//! one.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::{Receiver, never, select, tick};

use super::batch::{Emitter, Injected, Processed};
use crate::health::{HealthBoard, HealthOptions, HealthReporter};
use crate::model::SourceNames;
use crate::output::{Event, OutputError, OutputKind, OutputSet};
use crate::progress::Progress;
use crate::stats::{AlertCounts, AuditCounts, PolicyCounts, SensorEvent, WorkerCounters};

pub(super) struct Ctx<'a> {
    pub rx: Receiver<Processed>,
    pub outputs: &'a mut OutputSet,
    pub sources: &'a SourceNames,
    pub progress: &'a Progress,
    pub stop: &'a AtomicBool,
    pub board: &'a HealthBoard,
    /// Live runs report health; offline runs do not.
    pub health: Option<HealthOptions>,
    pub emitter: Emitter,
    /// Each message asks for the output files to be reopened at their
    /// paths.
    pub reopen: Option<Receiver<()>>,
    /// Results made beside the capture (the periodic audit's).
    pub injected: Option<Receiver<Injected>>,
}

/// What the output thread counted: alerts written, worker counters,
/// alerts suppressed, what allow entries and zone severities held back,
/// and the periodic audit's questions (when it runs).
pub(super) type Written = (
    AlertCounts,
    WorkerCounters,
    AlertCounts,
    PolicyCounts,
    Option<AuditCounts>,
);

/// Writes until the workers hang up. On a write error it stops writing,
/// tells the capture side to stop, and drains the channel so no thread
/// blocks.
pub(super) fn output_loop(ctx: Ctx<'_>) -> Result<Written, OutputError> {
    let Ctx {
        rx,
        outputs,
        sources,
        progress,
        stop,
        board,
        health,
        mut emitter,
        reopen,
        injected,
    } = ctx;
    let reopen = reopen.unwrap_or_else(never);
    // Counted from the start when there is an audit: none done yet is 0.
    let mut audit = injected.as_ref().map(|_| AuditCounts::default());
    let mut injected = injected.unwrap_or_else(never);
    let live = health.is_some();
    let ticker = match health {
        Some(h) => tick(h.interval),
        None => never(),
    };
    let mut reporter = health.map(HealthReporter::new);
    if live {
        publish(board, &emitter, &audit);
    }
    let mut pending: BTreeMap<u64, Processed> = BTreeMap::new();
    let mut next = 0u64;
    let mut failure: Option<OutputError> = None;

    loop {
        select! {
            recv(rx) -> msg => {
                let Ok(out) = msg else { break };
                pending.insert(out.seq, out);
                while let Some(out) = pending.remove(&next) {
                    next += 1;
                    match emitter.emit(out, outputs, sources) {
                        Ok(written) => Progress::add(&progress.alerts, written),
                        Err(e) => {
                            stop.store(true, Ordering::Relaxed);
                            failure = Some(e);
                        }
                    }
                }
                if live {
                    publish(board, &emitter, &audit);
                }
            }
            recv(injected) -> msg => {
                let Ok(mut batch) = msg else {
                    // Whoever made them is done.
                    injected = never();
                    continue;
                };
                if failure.is_some() {
                    continue;
                }
                if let Some(a) = audit.as_mut() {
                    *a += &batch.audit;
                }
                // The audit's answers are counted as its questions: the
                // responses decoded stay those captured.
                let c = &mut batch.processed.counters;
                (c.responses, c.partial, c.records) = (0, 0, 0);
                let written = emitter
                    .emit(batch.processed, outputs, &batch.sources)
                    .and_then(|n| {
                        write_events(outputs, batch.events, board, &batch.sources).map(|()| n)
                    });
                match written {
                    Ok(n) => Progress::add(&progress.alerts, n),
                    Err(e) => {
                        stop.store(true, Ordering::Relaxed);
                        failure = Some(e);
                    }
                }
                if live {
                    publish(board, &emitter, &audit);
                }
            }
            recv(reopen) -> msg => {
                if msg.is_ok() && failure.is_none() {
                    outputs.reopen();
                    tracing::info!("Output files reopened");
                }
            }
            recv(ticker) -> _ => {
                if let Some(r) = reporter.as_mut()
                    && failure.is_none()
                    && let Err(e) = write_events(outputs, r.report(board, false), board, sources)
                {
                    failure = Some(e);
                }
            }
        }
    }
    if let Some(r) = reporter.as_mut()
        && failure.is_none()
    {
        publish(board, &emitter, &audit);
        if let Err(e) = write_events(outputs, r.report(board, true), board, sources) {
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
        None => Ok((
            emitter.alerts.clone(),
            emitter.counters.clone(),
            emitter.suppressed().clone(),
            emitter.policy_counts().clone(),
            audit,
        )),
    }
}

/// The output thread's counts, for the health events and the metrics.
fn publish(board: &HealthBoard, emitter: &Emitter, audit: &Option<AuditCounts>) {
    board.publish_totals(|t| {
        t.workers = emitter.counters.clone();
        t.alerts = emitter.alerts.clone();
        t.policy = emitter.policy_counts().clone();
        t.audit = audit.clone();
    });
}

/// Writes health and blindness events to every output that takes them,
/// and to the log.
fn write_events(
    outputs: &mut OutputSet,
    events: Vec<SensorEvent>,
    board: &HealthBoard,
    sources: &SourceNames,
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
            SensorEvent::AuditFailed { server, reason, .. } => {
                tracing::warn!(%server, %reason, "Audit failed");
            }
        }
        outputs.write(&Event::Sensor(e), sources)?;
    }
    board.publish_totals(|t| t.sensor_events += events.len() as u64);
    outputs.flush_kind(OutputKind::Alerts)
}
