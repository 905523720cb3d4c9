//! The capture thread of an offline run: files in order, through one demux
//! (reassembly state carries over between files of one capture).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crossbeam_channel::{Receiver, Sender};

use super::{Batcher, CaptureResult, take};
use crate::capture::offline::{Input, read_input};
use crate::capture::{CaptureError, Flow};
use crate::decode::transport::PortSet;
use crate::decode::{Demux, DemuxLimits};
use crate::model::PayloadBatch;
use crate::progress::Progress;
use crate::stats::FileReport;

/// Frames read before progress is published even if few were DNS.
const PROGRESS_FRAMES: u64 = 8192;

pub(super) struct Ctx {
    pub inputs: Vec<Input>,
    pub ports: Vec<u16>,
    pub log_weirds: bool,
    pub tx: Sender<PayloadBatch>,
    pub recycled: Receiver<PayloadBatch>,
    pub seq: Arc<AtomicU64>,
    pub progress: Arc<Progress>,
    pub stop: Arc<AtomicBool>,
}

pub(super) fn capture(mut ctx: Ctx) -> CaptureResult {
    let mut demux = Demux::with_limits(
        PortSet::new(&ctx.ports),
        DemuxLimits::default(),
        ctx.log_weirds,
    );
    let mut batcher = Batcher::new(&ctx.tx, &ctx.seq, &ctx.recycled);
    let mut frames_unpublished = 0u64;
    let mut bytes_unpublished = 0u64;
    let inputs = std::mem::take(&mut ctx.inputs);
    let names: Vec<String> = inputs.iter().map(|i| i.name().to_string()).collect();
    let mut reports = Vec::with_capacity(inputs.len());
    let mut errors = Vec::new();
    let progress = &ctx.progress;
    // The first input a stop request kept from being read to its end.
    let mut interrupted: Option<usize> = None;

    for (index, input) in inputs.into_iter().enumerate() {
        if ctx.stop.load(Ordering::Relaxed) {
            interrupted = Some(index);
            break;
        }
        let file_index = u32::try_from(index).unwrap_or(u32::MAX);
        // A stream ends at its writer's end or at a stop request; only
        // the flag tells which.
        let is_stream = input.size().is_none();
        let mut stopped = false;
        let (report, result) = read_input(input, file_index, |frame| {
            let flow = take(&mut demux, &mut batcher, &frame);
            frames_unpublished += 1;
            // Approximate file bytes: record header plus captured data.
            bytes_unpublished += frame.data.len() as u64 + 16;
            if frames_unpublished >= PROGRESS_FRAMES {
                Progress::add(&progress.packets, frames_unpublished);
                Progress::add(&progress.bytes, bytes_unpublished);
                frames_unpublished = 0;
                bytes_unpublished = 0;
                if ctx.stop.load(Ordering::Relaxed) {
                    stopped = true;
                    return Flow::Stop;
                }
            }
            flow
        });
        reports.push(report);
        let stopped = stopped || (is_stream && ctx.stop.load(Ordering::Relaxed));
        match result {
            Err(e) => errors.push(e),
            Ok(()) if stopped => {
                interrupted = Some(index);
                break;
            }
            Ok(()) => {}
        }
    }
    if let Some(first) = interrupted {
        errors.push(report_interruption(&names, first, &mut reports));
    }
    let _ = batcher.flush(&mut demux.counters.queue_waits);
    Progress::add(&progress.packets, frames_unpublished);
    Progress::add(&progress.bytes, bytes_unpublished);
    (reports, errors, demux.counters)
}

/// A stop request (SIGINT, SIGTERM) ended the run inside input `first`, or
/// before it: that input's report says how far it was read, every later
/// input gets a report saying it was not read, and the error makes the
/// run's status say the input was not read to its end.
fn report_interruption(
    names: &[String],
    first: usize,
    reports: &mut Vec<FileReport>,
) -> CaptureError {
    let unread = |name: &String, error: String| FileReport {
        path: name.clone(),
        format: "unknown",
        link_types: Vec::new(),
        packets: 0,
        error: Some(error),
    };
    let path = names.get(first).cloned().unwrap_or_default();
    let packet = reports.get(first).map_or(0, |r| r.packets);
    let error = CaptureError::Interrupted {
        path,
        packet,
        unread_after: names.len().saturating_sub(first + 1),
    };
    match reports.get_mut(first) {
        Some(report) => report.error = Some(error.to_string()),
        None => {
            if let Some(p) = names.get(first) {
                reports.push(unread(p, error.to_string()));
            }
        }
    }
    for p in names.iter().skip(first + 1) {
        reports.push(unread(
            p,
            "not read: the run was interrupted before this input".into(),
        ));
    }
    error
}
