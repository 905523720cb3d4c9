//! The threads of a run and the channels between them. Only this module
//! decides what runs where.
//!
//! ```text
//!  capture thread(s)        worker pool (--threads)         output thread
//! ┌──────────────────┐    ┌──────────────────────────┐    ┌────────────────┐
//! │ read files or    │    │ decode DNS (hickory)     │    │ reorder by seq │
//! │ interfaces       │──▶ │ match IOCs, expectations │──▶ │ write alerts,  │
//! │ demux L2..L4     │    │ encode DNS log lines     │    │ logs, health   │
//! │ batch DNS msgs   │    │                          │    │                │
//! └──────────────────┘    └──────────────────────────┘    └────────────────┘
//!        PayloadBatch (bounded)          Processed (bounded)
//! ```
//!
//! Offline, one capture thread reads the files in order; live, there is one
//! per interface. Batches carry a sequence number taken when they are sent;
//! the output side restores that order, so the same input gives the same
//! lines in the same order whatever the number of workers. Both channels
//! are bounded, so memory stays flat however large the capture: a slow
//! stage slows the reader (live: the kernel ring absorbs bursts, and what
//! it cannot hold is counted as kernel drops). Written batches go back to
//! the capture threads through a small pool (`RECYCLED_BATCHES`), so their
//! buffers are filled again rather than freed and allocated anew.

pub mod batch;
mod live;
mod offline;
mod sink;
mod worker;

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, bounded};

use crate::capture::live::{LiveCapture, LiveOptions};
use crate::capture::offline::Input;
use crate::capture::{CaptureError, Flow, Frame};
use crate::decode::Demux;
use crate::health::{HealthBoard, HealthOptions};
use crate::matcher::policy::AlertPolicy;
use crate::matcher::suppress::Suppressor;
use crate::model::text::escape_text;
use crate::model::{PayloadBatch, SourceNames};
use crate::output::metrics::MetricsOutput;
use crate::output::{OutputError, OutputSet, OutputTargets};
use crate::progress::{Progress, ProgressHandle};
use crate::rules::SharedRules;
use crate::stats::{CaptureCounters, FileReport, RuleStats, Summary};
use batch::{Emitter, ProcessOptions, Processor};

/// DNS messages per batch. Large enough that channel hand-offs cost nothing
/// per packet, small enough that a batch stays in cache.
const BATCH_MESSAGES: usize = 1024;
/// Arena bytes per batch: TCP and EDNS responses can be large.
const BATCH_BYTES: usize = 512 * 1024;
/// Batches in flight per worker on each channel.
const QUEUE_PER_WORKER: usize = 4;
/// Written batches kept for the capture threads to fill again, at most:
/// their buffers come back already grown instead of being freed by the
/// output thread and allocated (and faulted in) again by the capture
/// thread. A few cover the turnover; one grown past a normal batch's size
/// is not kept (see [`batch::Emitter::recycle_into`]).
const RECYCLED_BATCHES: usize = 4;

/// What to read.
#[derive(Clone, Debug)]
pub enum Inputs {
    /// Capture files, in order.
    Files(Vec<PathBuf>),
    /// Interfaces to capture on until stopped.
    Live {
        interfaces: Vec<String>,
        options: LiveOptions,
        health: HealthOptions,
    },
}

/// Runs after every capture handle, output and listening socket is open,
/// before any packet is read: where privileges are dropped.
pub type AfterOpen = Box<dyn FnOnce() -> Result<(), String> + Send>;

/// Everything a run needs, already validated.
pub struct RunConfig {
    pub inputs: Inputs,
    pub rules: SharedRules,
    pub dns_ports: Vec<u16>,
    pub threads: usize,
    pub outputs: OutputTargets,
    /// Draw a progress bar (offline, and only on a terminal).
    pub progress: bool,
    /// Already-bound listener for `--metrics`.
    pub metrics: Option<TcpListener>,
    /// Rule loads and reloads, for the metrics endpoint.
    pub rule_stats: Arc<RuleStats>,
    /// Set to stop the run (signals); also set by the run itself when an
    /// output fails.
    pub stop: Arc<AtomicBool>,
    pub after_open: Option<AfterOpen>,
    /// One (kind, owner, value) alerts once per this much packet time;
    /// zero alerts every time.
    pub suppress: std::time::Duration,
    /// Each message reopens the output files at their paths (after a log
    /// rotation).
    pub reopen: Option<Receiver<()>>,
    /// Results made beside the capture (`live --audit-every`), written
    /// between batches.
    pub injected: Option<Receiver<batch::Injected>>,
}

/// What a run did.
#[derive(Debug)]
pub struct RunOutcome {
    pub summary: Summary,
    /// Inputs that could not be read to their end (or interfaces that
    /// failed); what came before the failure was analysed and its alerts
    /// written.
    pub input_errors: Vec<CaptureError>,
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Input(#[from] CaptureError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error("cannot drop privileges: {0}")]
    Privileges(String),
    #[error("internal error: {0} thread panicked")]
    Panicked(&'static str),
}

/// What a capture thread returns.
type CaptureResult = (Vec<FileReport>, Vec<CaptureError>, CaptureCounters);

/// Collects DNS messages into batches and sends them, numbered.
struct Batcher<'a> {
    tx: &'a Sender<PayloadBatch>,
    seq: &'a AtomicU64,
    /// Empty batches the output thread has written, to fill again.
    recycled: &'a Receiver<PayloadBatch>,
    batch: PayloadBatch,
}

impl<'a> Batcher<'a> {
    fn new(
        tx: &'a Sender<PayloadBatch>,
        seq: &'a AtomicU64,
        recycled: &'a Receiver<PayloadBatch>,
    ) -> Self {
        Batcher {
            tx,
            seq,
            recycled,
            batch: PayloadBatch::default(),
        }
    }

    fn is_full(&self) -> bool {
        self.batch.len() >= BATCH_MESSAGES
            || self.batch.arena.len() >= BATCH_BYTES
            || self.batch.weirds.len() >= BATCH_MESSAGES
    }

    /// Sends the batch if it holds anything, counting a wait in
    /// `queue_waits` when the queue is full. `Stop` when nobody listens.
    fn flush(&mut self, queue_waits: &mut u64) -> Flow {
        if self.batch.is_empty() {
            return Flow::Continue;
        }
        let next = self.recycled.try_recv().unwrap_or_default();
        let mut full = std::mem::replace(&mut self.batch, next);
        // Start the next arena at the size this one reached: no regrowth.
        self.batch.arena.reserve(full.arena.len());
        self.batch.messages.reserve(full.messages.len());
        full.seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let full = match self.tx.try_send(full) {
            Ok(()) => return Flow::Continue,
            Err(crossbeam_channel::TrySendError::Full(b)) => b,
            Err(crossbeam_channel::TrySendError::Disconnected(_)) => return Flow::Stop,
        };
        *queue_waits += 1;
        if self.tx.send(full).is_err() {
            return Flow::Stop;
        }
        Flow::Continue
    }
}

/// One captured frame through the demux into the batch.
fn take(demux: &mut Demux, batcher: &mut Batcher<'_>, frame: &Frame<'_>) -> Flow {
    demux.frame(
        frame.link,
        frame.source,
        frame.ts,
        frame.data,
        &mut batcher.batch,
    );
    if batcher.is_full() {
        return batcher.flush(&mut demux.counters.queue_waits);
    }
    Flow::Continue
}

/// Runs the pipeline until the inputs end (files) or `stop` is set (live).
pub fn run(mut cfg: RunConfig) -> Result<RunOutcome, PipelineError> {
    let started = Instant::now();
    // Fail before any thread starts: a missing file, an interface that
    // cannot be opened or an unwritable output must not cost a
    // half-finished run.
    let (names, total_bytes, live_caps, file_inputs) = match &cfg.inputs {
        Inputs::Files(files) => {
            let mut inputs = files
                .iter()
                .map(|p| crate::capture::offline::open(p, &cfg.stop))
                .collect::<Result<Vec<_>, _>>()?;
            // Nothing comes before the first input, so a first stream that
            // is no capture fails now, as a file does. Later streams are
            // told apart when their turn comes: their writer may be waiting
            // for the inputs before them to be read.
            if let Some(first) = inputs.first_mut() {
                first.probe()?;
            }
            // Alerts and logs carry the names: escaped as all free text is.
            let names = inputs
                .iter()
                .map(|i| escape_text(i.name()).into_owned())
                .collect();
            // A stream's size is unknown until it ends.
            let total = inputs.iter().map(Input::size).sum::<Option<u64>>();
            (names, total, Vec::new(), inputs)
        }
        Inputs::Live {
            interfaces,
            options,
            ..
        } => {
            let mut opts = options.clone();
            opts.dns_ports = cfg.dns_ports.clone();
            let caps = interfaces
                .iter()
                .map(|i| LiveCapture::open(i, &opts))
                .collect::<Result<Vec<_>, _>>()?;
            (interfaces.clone(), None, caps, Vec::new())
        }
    };
    let board = Arc::new(HealthBoard::new(&names));
    let mut outputs = OutputSet::open(&cfg.outputs)?;
    if let Some(after_open) = cfg.after_open.take() {
        after_open().map_err(PipelineError::Privileges)?;
    }
    if let Some(listener) = cfg.metrics.take() {
        let endpoint =
            MetricsOutput::start(listener, Arc::clone(&board), Arc::clone(&cfg.rule_stats))
                .map_err(|_| PipelineError::Panicked("metrics"))?;
        outputs.push(Box::new(endpoint));
    }
    board.set_outputs(outputs.stats());

    let log_weirds = cfg.outputs.weird_log.is_some();
    let threads = cfg.threads.max(1);
    let sources = SourceNames::new(
        &cfg.outputs.sensor_name,
        names.clone(),
        matches!(cfg.inputs, Inputs::Live { .. }),
    );
    let progress = Arc::new(Progress::default());
    let progress_bar = (cfg.progress && matches!(cfg.inputs, Inputs::Files(_)))
        .then(|| ProgressHandle::start(Arc::clone(&progress), total_bytes));

    let (batch_tx, batch_rx) = bounded::<PayloadBatch>(threads * QUEUE_PER_WORKER);
    let (recycle_tx, recycle_rx) = bounded::<PayloadBatch>(RECYCLED_BATCHES);
    let (out_tx, out_rx) = bounded(threads * QUEUE_PER_WORKER);
    let seq = Arc::new(AtomicU64::new(0));

    let mut captures = Vec::new();
    let health = match &cfg.inputs {
        Inputs::Files(_) => {
            let ctx = offline::Ctx {
                inputs: file_inputs,
                ports: cfg.dns_ports.clone(),
                log_weirds,
                tx: batch_tx,
                recycled: recycle_rx.clone(),
                seq: Arc::clone(&seq),
                progress: Arc::clone(&progress),
                stop: Arc::clone(&cfg.stop),
            };
            captures.push(
                thread::Builder::new()
                    .name("capture".into())
                    .spawn(move || offline::capture(ctx))
                    .map_err(|_| PipelineError::Panicked("capture"))?,
            );
            None
        }
        Inputs::Live {
            options, health, ..
        } => {
            for (index, cap) in live_caps.into_iter().enumerate() {
                let ctx = live::Ctx {
                    index,
                    cap,
                    options: options.clone(),
                    ports: cfg.dns_ports.clone(),
                    log_weirds,
                    tx: batch_tx.clone(),
                    recycled: recycle_rx.clone(),
                    seq: Arc::clone(&seq),
                    board: Arc::clone(&board),
                    stop: Arc::clone(&cfg.stop),
                };
                captures.push(
                    thread::Builder::new()
                        .name(format!("capture-{index}"))
                        .spawn(move || live::capture(ctx))
                        .map_err(|_| PipelineError::Panicked("capture"))?,
                );
            }
            drop(batch_tx);
            Some(*health)
        }
    };

    let mut workers = Vec::with_capacity(threads);
    for i in 0..threads {
        let ctx = worker::Ctx {
            rx: batch_rx.clone(),
            tx: out_tx.clone(),
            processor: Processor::new(
                Arc::clone(&cfg.rules),
                sources.clone(),
                ProcessOptions {
                    dns_log: cfg.outputs.dns_log.is_some(),
                    weirds: log_weirds,
                    dns_log_format: cfg.outputs.dns_log_format,
                    asked: false,
                },
            ),
        };
        workers.push(
            thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || worker::work(ctx))
                .map_err(|_| PipelineError::Panicked("worker"))?,
        );
    }
    drop(batch_rx);
    drop(out_tx);

    let written = sink::output_loop(sink::Ctx {
        rx: out_rx,
        outputs: &mut outputs,
        sources: &sources,
        progress: &progress,
        stop: &cfg.stop,
        board: &board,
        health,
        emitter: Emitter::new(
            Suppressor::new(i64::try_from(cfg.suppress.as_micros()).unwrap_or(i64::MAX)),
            AlertPolicy::new(Arc::clone(&cfg.rules), cfg.outputs.sensor_name.clone()),
            health.is_some(),
        )
        .recycle_into(recycle_tx),
        reopen: cfg.reopen.take(),
        injected: cfg.injected.take(),
    });

    let mut files = Vec::new();
    let mut input_errors = Vec::new();
    let mut capture_counters = CaptureCounters::default();
    for c in captures {
        let (reports, errors, counters) =
            c.join().map_err(|_| PipelineError::Panicked("capture"))?;
        files.extend(reports);
        input_errors.extend(errors);
        capture_counters += &counters;
    }
    for w in workers {
        w.join().map_err(|_| PipelineError::Panicked("worker"))?;
    }
    if let Some(bar) = progress_bar {
        bar.finish();
    }
    let elapsed = started.elapsed();
    // Every syslog output delivers or spools what it holds, even after a
    // failed run: nothing already alerted is lost. The metrics endpoint
    // stops last.
    let output_reports = outputs.finish();
    let (alert_counts, worker_counters, suppressed, policy, audit) = written?;

    let mut summary = Summary::new(
        files,
        &capture_counters,
        &worker_counters,
        &alert_counts,
        elapsed.as_secs_f64(),
        threads,
    );
    summary.suppressed = suppressed.to_map();
    summary.allowed = policy.allowed;
    summary.severity_off = policy.severity_off.to_map();
    summary.outputs = output_reports;
    summary.audit = audit;
    Ok(RunOutcome {
        summary,
        input_errors,
    })
}
