//! A worker: runs each batch through the one batch path and hands the
//! result to the output thread.

use crossbeam_channel::{Receiver, Sender};

use super::batch::{Processed, Processor};
use crate::model::PayloadBatch;

pub(super) struct Ctx {
    pub rx: Receiver<PayloadBatch>,
    pub tx: Sender<Processed>,
    pub processor: Processor,
}

/// Decodes and matches batches until the capture side hangs up.
pub(super) fn work(mut ctx: Ctx) {
    for batch in &ctx.rx {
        let out = ctx.processor.process(batch, |_| {});
        if ctx.tx.send(out).is_err() {
            return;
        }
    }
}
