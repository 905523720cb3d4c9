//! A capture thread of a live run: one interface until stopped. It drains
//! the kernel ring, sends what it batched before waiting again (so a quiet
//! network still gets its alerts within one poll interval), publishes its
//! counters about once a second, and reopens the interface if it fails.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::{Batcher, CaptureResult, take};
use crate::capture::live::{LiveCapture, LiveOptions, POLL_MS};
use crate::capture::{CaptureError, Flow};
use crate::decode::transport::PortSet;
use crate::decode::{Demux, DemuxLimits};
use crate::health::HealthBoard;
use crate::model::PayloadBatch;
use crate::stats::FileReport;

/// How often a capture thread publishes its counters.
const PUBLISH_EVERY: Duration = Duration::from_secs(1);
/// How long to wait before reopening a failed interface.
const REOPEN_AFTER: Duration = Duration::from_secs(5);

pub(super) struct Ctx {
    pub index: usize,
    pub cap: LiveCapture,
    pub options: LiveOptions,
    pub ports: Vec<u16>,
    pub log_weirds: bool,
    pub tx: Sender<PayloadBatch>,
    pub recycled: Receiver<PayloadBatch>,
    pub seq: Arc<AtomicU64>,
    pub board: Arc<HealthBoard>,
    pub stop: Arc<AtomicBool>,
}

pub(super) fn capture(ctx: Ctx) -> CaptureResult {
    let Ctx {
        index,
        mut cap,
        options,
        ports,
        log_weirds,
        tx,
        recycled,
        seq,
        board,
        stop,
    } = ctx;
    let name = cap.name().to_string();
    let file_index = u32::try_from(index).unwrap_or(u32::MAX);
    let mut demux = Demux::with_limits(PortSet::new(&ports), DemuxLimits::default(), log_weirds);
    let mut batcher = Batcher::new(&tx, &seq, &recycled);
    let mut errors: Vec<CaptureError> = Vec::new();
    let mut failed: Option<(Instant, CaptureError)> = None;
    let mut last_publish = Instant::now();
    let mut last_dns: Option<Instant> = None;
    let mut dns_seen = 0u64;
    let link = cap.link().name();
    board.publish_iface(index, |h| {
        h.up = true;
        h.link = link.clone();
    });
    let mut opts = options.clone();
    opts.dns_ports = ports.clone();

    while !stop.load(Ordering::Relaxed) {
        if let Some((since, _)) = &failed {
            if since.elapsed() < REOPEN_AFTER {
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
            match LiveCapture::open(&name, &opts) {
                Ok(c) => {
                    tracing::warn!(interface = %name, "Capture reopened");
                    cap = c;
                    failed = None;
                    board.publish_iface(index, |h| {
                        h.up = true;
                        h.error = None;
                    });
                }
                Err(_) => {
                    failed = failed.map(|(_, e)| (Instant::now(), e));
                    continue;
                }
            }
        }
        let polled = cap.poll(file_index, &stop, |f| take(&mut demux, &mut batcher, &f));
        if let Err(e) = polled {
            tracing::error!(interface = %name, error = %e, "Capture failed; retrying");
            let msg = e.to_string();
            board.publish_iface(index, |h| {
                h.up = false;
                h.error = Some(msg);
            });
            errors.push(e.clone());
            failed = Some((Instant::now(), e));
        }
        if batcher.flush(&mut demux.counters.queue_waits) == Flow::Stop {
            break;
        }
        if demux.counters.dns_messages > dns_seen {
            dns_seen = demux.counters.dns_messages;
            last_dns = Some(Instant::now());
        }
        if last_publish.elapsed() >= PUBLISH_EVERY {
            last_publish = Instant::now();
            publish(&board, index, &mut cap, &demux, last_dns);
        }
    }
    // Stopping: what the kernel already captured is read too. TPACKET_V3
    // hands a block over when it fills or its timeout (one poll interval)
    // passes, so wait for that, then drain without looking at the flag.
    if failed.is_none() {
        std::thread::sleep(Duration::from_millis(
            u64::from(POLL_MS.unsigned_abs()) + 50,
        ));
        let draining = AtomicBool::new(false);
        let _ = cap.poll(file_index, &draining, |f| {
            take(&mut demux, &mut batcher, &f)
        });
    }
    let _ = batcher.flush(&mut demux.counters.queue_waits);
    publish(&board, index, &mut cap, &demux, last_dns);
    let report = FileReport {
        path: name,
        format: "live",
        link_types: vec![link],
        packets: demux.counters.packets,
        error: errors.last().map(ToString::to_string),
    };
    (vec![report], errors, demux.counters)
}

/// Puts the interface's kernel statistics and counters on the board.
fn publish(
    board: &HealthBoard,
    index: usize,
    cap: &mut LiveCapture,
    demux: &Demux,
    last_dns: Option<Instant>,
) {
    let kernel = cap.stats();
    let counters = demux.counters.clone();
    board.publish_iface(index, |h| {
        h.kernel = kernel;
        h.counters = counters;
        h.last_dns = last_dns;
    });
}
