//! The threads of a run and the channels between them. Only this module
//! decides what runs where.
//!
//! ```text
//!  capture thread          worker pool (--threads)         calling thread
//! ┌──────────────────┐    ┌──────────────────────────┐    ┌────────────────┐
//! │ read files       │    │ decode DNS (hickory)     │    │ reorder by seq │
//! │ demux L2..L4     │──▶ │ match IOCs, expectations │──▶ │ write alerts   │
//! │ batch DNS msgs   │    │ encode DNS log lines     │    │ write DNS log  │
//! └──────────────────┘    └──────────────────────────┘    └────────────────┘
//!        PayloadBatch (bounded)          WorkerOutput (bounded)
//! ```
//!
//! Batches carry a sequence number; the output side restores capture order,
//! so the same input gives the same lines in the same order whatever the
//! number of workers. Both channels are bounded, so memory stays flat
//! however large the capture: a slow stage slows the reader, it never
//! queues without limit.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, bounded};

use crate::capture::offline::{self, read_file};
use crate::capture::{CaptureError, Flow};
use crate::decode::dns::decode_response;
use crate::decode::transport::PortSet;
use crate::decode::{Demux, DemuxLimits};
use crate::matcher::{Matcher, Rules};
use crate::model::{Alert, PayloadBatch, SourceNames, Weird};
use crate::output::json::{write_alert, write_dns_log, write_weird};
use crate::output::{OutputError, OutputTargets, Outputs};
use crate::progress::{Progress, ProgressHandle};
use crate::stats::{AlertCounts, CaptureCounters, FileReport, Summary, WorkerCounters};

/// DNS messages per batch. Large enough that channel hand-offs cost nothing
/// per packet, small enough that a batch stays in cache.
const BATCH_MESSAGES: usize = 1024;
/// Arena bytes per batch: TCP and EDNS responses can be large.
const BATCH_BYTES: usize = 512 * 1024;
/// Frames read before progress is published even if few were DNS.
const PROGRESS_FRAMES: u64 = 8192;
/// Batches in flight per worker on each channel.
const QUEUE_PER_WORKER: usize = 4;

/// Everything a run needs, already validated.
pub struct AnalyzeConfig {
    pub inputs: Vec<PathBuf>,
    pub rules: Arc<Rules>,
    pub dns_ports: Vec<u16>,
    pub threads: usize,
    pub outputs: OutputTargets,
    pub progress: bool,
}

/// What a run did.
#[derive(Debug)]
pub struct RunOutcome {
    pub summary: Summary,
    /// Inputs that could not be read to their end; what came before the
    /// failure was analysed and its alerts written.
    pub input_errors: Vec<CaptureError>,
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Input(#[from] CaptureError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error("internal error: {0} thread panicked")]
    Panicked(&'static str),
}

/// What a worker hands the output stage for one batch.
struct WorkerOutput {
    seq: u64,
    alerts: Vec<Alert>,
    /// Encoded DNS-log lines: encoding is the costly part of the log, so
    /// it is done here, in parallel.
    dns_log: Vec<u8>,
    /// Anomalies of the batch, capture stage's and decoder's, in packet
    /// order; empty unless a weird log is written.
    weirds: Vec<Weird>,
    counters: WorkerCounters,
}

/// Runs the offline pipeline over `cfg.inputs` in order.
pub fn analyze(cfg: AnalyzeConfig) -> Result<RunOutcome, PipelineError> {
    let started = Instant::now();
    // Fail before any thread starts: a missing file or unwritable output
    // must not cost a half-finished run.
    let mut total_bytes = 0u64;
    for p in &cfg.inputs {
        offline::probe(p)?;
        total_bytes += std::fs::metadata(p).map_or(0, |m| m.len());
    }
    let mut outputs = Outputs::open(&cfg.outputs)?;
    let log_weirds = cfg.outputs.weird_log.is_some();

    let threads = cfg.threads.max(1);
    let sources: SourceNames = cfg
        .inputs
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .into();
    let progress = Arc::new(Progress::default());
    let progress_bar = cfg
        .progress
        .then(|| ProgressHandle::start(Arc::clone(&progress), total_bytes));
    let abort = Arc::new(AtomicBool::new(false));

    let (batch_tx, batch_rx) = bounded::<PayloadBatch>(threads * QUEUE_PER_WORKER);
    let (out_tx, out_rx) = bounded::<WorkerOutput>(threads * QUEUE_PER_WORKER);

    let capture = {
        let inputs = cfg.inputs.clone();
        let ports = PortSet::new(&cfg.dns_ports);
        let progress = Arc::clone(&progress);
        let abort = Arc::clone(&abort);
        thread::Builder::new()
            .name("capture".into())
            .spawn(move || {
                let demux = Demux::with_limits(ports, DemuxLimits::default(), log_weirds);
                capture_loop(&inputs, demux, &batch_tx, &progress, &abort)
            })
            .map_err(|_| PipelineError::Panicked("capture"))?
    };

    let mut workers = Vec::with_capacity(threads);
    for i in 0..threads {
        let rx = batch_rx.clone();
        let tx = out_tx.clone();
        let matcher = Matcher::new(Arc::clone(&cfg.rules));
        let sources = Arc::clone(&sources);
        let dns_log = cfg.outputs.dns_log.is_some();
        let handle = thread::Builder::new()
            .name(format!("worker-{i}"))
            .spawn(move || worker_loop(&rx, &tx, matcher, &sources, dns_log, log_weirds))
            .map_err(|_| PipelineError::Panicked("worker"))?;
        workers.push(handle);
    }
    drop(batch_rx);
    drop(out_tx);

    let written = output_loop(&out_rx, &mut outputs, &sources, &progress, &abort);

    let (files, input_errors, capture_counters) = capture
        .join()
        .map_err(|_| PipelineError::Panicked("capture"))?;
    for w in workers {
        w.join().map_err(|_| PipelineError::Panicked("worker"))?;
    }
    if let Some(bar) = progress_bar {
        bar.finish();
    }
    let (alert_counts, worker_counters) = written?;

    let summary = Summary::new(
        files,
        &capture_counters,
        &worker_counters,
        &alert_counts,
        started.elapsed().as_secs_f64(),
        threads,
    );
    Ok(RunOutcome {
        summary,
        input_errors,
    })
}

/// Reads every input in order through the demux, sending full batches.
fn capture_loop(
    inputs: &[PathBuf],
    mut demux: Demux,
    tx: &Sender<PayloadBatch>,
    progress: &Progress,
    abort: &AtomicBool,
) -> (Vec<FileReport>, Vec<CaptureError>, CaptureCounters) {
    let mut batch = PayloadBatch::default();
    let mut seq = 0u64;
    let mut frames_unpublished = 0u64;
    let mut bytes_unpublished = 0u64;
    let mut reports = Vec::with_capacity(inputs.len());
    let mut errors = Vec::new();

    let send = |batch: &mut PayloadBatch, seq: &mut u64| -> Flow {
        let mut full = std::mem::take(batch);
        full.seq = *seq;
        *seq += 1;
        // Start the next arena at the size this one reached: no regrowth.
        batch.arena.reserve(full.arena.len());
        batch.messages.reserve(full.messages.len());
        if tx.send(full).is_err() {
            return Flow::Stop;
        }
        Flow::Continue
    };

    for (index, path) in inputs.iter().enumerate() {
        let file_index = u32::try_from(index).unwrap_or(u32::MAX);
        let (report, result) = read_file(path, file_index, |frame| {
            demux.frame(frame.link, frame.source, frame.ts, frame.data, &mut batch);
            frames_unpublished += 1;
            // Approximate file bytes: record header plus captured data.
            bytes_unpublished += frame.data.len() as u64 + 16;
            if frames_unpublished >= PROGRESS_FRAMES {
                Progress::add(&progress.packets, frames_unpublished);
                Progress::add(&progress.bytes, bytes_unpublished);
                frames_unpublished = 0;
                bytes_unpublished = 0;
                if abort.load(Ordering::Relaxed) {
                    return Flow::Stop;
                }
            }
            if batch.len() >= BATCH_MESSAGES
                || batch.arena.len() >= BATCH_BYTES
                || batch.weirds.len() >= BATCH_MESSAGES
            {
                return send(&mut batch, &mut seq);
            }
            Flow::Continue
        });
        reports.push(report);
        if let Err(e) = result {
            errors.push(e);
        }
        if abort.load(Ordering::Relaxed) {
            break;
        }
    }
    if !batch.is_empty() {
        let _ = send(&mut batch, &mut seq);
    }
    Progress::add(&progress.packets, frames_unpublished);
    Progress::add(&progress.bytes, bytes_unpublished);
    (reports, errors, demux.counters)
}

/// Decodes and matches batches until the capture side hangs up.
fn worker_loop(
    rx: &Receiver<PayloadBatch>,
    tx: &Sender<WorkerOutput>,
    mut matcher: Matcher,
    sources: &SourceNames,
    dns_log: bool,
    log_weirds: bool,
) {
    for batch in rx {
        let mut out = WorkerOutput {
            seq: batch.seq,
            alerts: Vec::new(),
            dns_log: Vec::new(),
            weirds: Vec::new(),
            counters: WorkerCounters::default(),
        };
        let mut decode_weirds = Vec::new();
        for (meta, bytes) in batch.iter() {
            let defect = match decode_response(*meta, bytes) {
                Ok(resp) => {
                    out.counters.responses += 1;
                    out.counters.records +=
                        (resp.answers.len() + resp.authority.len() + resp.additional.len()) as u64;
                    if resp.defect.is_some() {
                        out.counters.partial += 1;
                    }
                    matcher.check(&resp, &mut out.alerts);
                    if dns_log {
                        write_dns_log(&mut out.dns_log, &resp, sources);
                    }
                    resp.defect
                }
                Err(defect) => {
                    out.counters.dropped += 1;
                    Some(defect)
                }
            };
            if let Some(d) = defect {
                out.counters.malformed.add(d);
                if log_weirds {
                    decode_weirds.push(Weird {
                        ts: meta.ts,
                        name: d.as_str(),
                        src_ip: Some(meta.src_ip),
                        dst_ip: Some(meta.dst_ip),
                        src_port: Some(meta.src_port),
                        dst_port: Some(meta.dst_port),
                        source: meta.source,
                    });
                }
            }
        }
        if log_weirds {
            out.weirds = batch.weirds;
            out.weirds.extend(decode_weirds);
            out.weirds.sort_by_key(|w| (w.source.file, w.source.packet));
        }
        if tx.send(out).is_err() {
            return;
        }
    }
}

/// Writes worker results in sequence order. On a write error it stops
/// writing, tells the capture thread to stop, and drains the channel so no
/// thread blocks.
fn output_loop(
    rx: &Receiver<WorkerOutput>,
    outputs: &mut Outputs,
    sources: &SourceNames,
    progress: &Progress,
    abort: &AtomicBool,
) -> Result<(AlertCounts, WorkerCounters), OutputError> {
    let mut pending: BTreeMap<u64, WorkerOutput> = BTreeMap::new();
    let mut next = 0u64;
    let mut alert_counts = AlertCounts::default();
    let mut counters = WorkerCounters::default();
    let mut failure: Option<OutputError> = None;

    for out in rx {
        pending.insert(out.seq, out);
        while let Some(out) = pending.remove(&next) {
            next += 1;
            counters += &out.counters;
            if failure.is_some() {
                continue;
            }
            match write_batch(&out, outputs, sources) {
                Ok(()) => {
                    for a in &out.alerts {
                        alert_counts.add(a.kind);
                    }
                    Progress::add(&progress.alerts, out.alerts.len() as u64);
                }
                Err(e) => {
                    abort.store(true, Ordering::Relaxed);
                    failure = Some(e);
                }
            }
        }
    }
    if failure.is_none()
        && let Err(e) = outputs.flush()
    {
        failure = Some(e);
    }
    match failure {
        Some(e) => Err(e),
        None => Ok((alert_counts, counters)),
    }
}

fn write_batch(
    out: &WorkerOutput,
    outputs: &mut Outputs,
    sources: &SourceNames,
) -> Result<(), OutputError> {
    if !out.alerts.is_empty() {
        outputs.alerts.write_with(|w| {
            out.alerts
                .iter()
                .try_for_each(|a| write_alert(&mut *w, a, sources))
        })?;
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
    Ok(())
}
