//! The capture thread of an offline run: files in order, through one demux
//! (reassembly state carries over between files of one capture).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crossbeam_channel::Sender;

use super::{Batcher, CaptureResult, take};
use crate::capture::Flow;
use crate::capture::offline::{Input, read_input};
use crate::decode::transport::PortSet;
use crate::decode::{Demux, DemuxLimits};
use crate::model::PayloadBatch;
use crate::progress::Progress;

/// Frames read before progress is published even if few were DNS.
const PROGRESS_FRAMES: u64 = 8192;

pub(super) struct Ctx {
    pub inputs: Vec<Input>,
    pub ports: Vec<u16>,
    pub log_weirds: bool,
    pub tx: Sender<PayloadBatch>,
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
    let mut batcher = Batcher::new(&ctx.tx, &ctx.seq);
    let mut frames_unpublished = 0u64;
    let mut bytes_unpublished = 0u64;
    let inputs = std::mem::take(&mut ctx.inputs);
    let mut reports = Vec::with_capacity(inputs.len());
    let mut errors = Vec::new();
    let progress = &ctx.progress;

    for (index, input) in inputs.into_iter().enumerate() {
        let file_index = u32::try_from(index).unwrap_or(u32::MAX);
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
                    return Flow::Stop;
                }
            }
            flow
        });
        reports.push(report);
        if let Err(e) = result {
            errors.push(e);
        }
        if ctx.stop.load(Ordering::Relaxed) {
            break;
        }
    }
    let _ = batcher.flush(&mut demux.counters.queue_waits);
    Progress::add(&progress.packets, frames_unpublished);
    Progress::add(&progress.bytes, bytes_unpublished);
    (reports, errors, demux.counters)
}
