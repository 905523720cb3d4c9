//! A worker: decodes the DNS messages of a batch, matches them, encodes
//! their DNS-log lines, and hands the results to the output thread.

use crossbeam_channel::{Receiver, Sender};

use crate::decode::dns::decode_response;
use crate::matcher::Matcher;
use crate::matcher::spoof::Digests;
use crate::model::{Alert, PayloadBatch, SourceNames, Weird};
use crate::output::json::write_dns_log;
use crate::stats::WorkerCounters;

/// What a worker hands the output stage for one batch.
pub(super) struct WorkerOutput {
    pub seq: u64,
    pub alerts: Vec<Alert>,
    /// Encoded DNS-log lines: encoding is the costly part of the log, so
    /// it is done here, in parallel.
    pub dns_log: Vec<u8>,
    /// Anomalies of the batch, capture stage's and decoder's, in packet
    /// order; empty unless a weird log is written.
    pub weirds: Vec<Weird>,
    /// Fingerprints of the batch's UDP responses, for spoofing checks.
    pub digests: Digests,
    pub counters: WorkerCounters,
}

pub(super) struct Ctx {
    pub rx: Receiver<PayloadBatch>,
    pub tx: Sender<WorkerOutput>,
    pub matcher: Matcher,
    pub sources: SourceNames,
    pub dns_log: bool,
    pub log_weirds: bool,
}

/// Decodes and matches batches until the capture side hangs up.
pub(super) fn work(mut ctx: Ctx) {
    let mut scratch = String::with_capacity(256);
    for batch in &ctx.rx {
        let mut out = WorkerOutput {
            seq: batch.seq,
            alerts: Vec::new(),
            dns_log: Vec::new(),
            weirds: Vec::new(),
            digests: Digests::default(),
            counters: WorkerCounters::default(),
        };
        // Rules are taken once per batch, so a reload applies from the next
        // batch on and never in the middle of one.
        ctx.matcher.refresh();
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
                    ctx.matcher.check(&resp, &mut out.alerts);
                    out.digests.add(&resp, &mut scratch);
                    if ctx.dns_log {
                        write_dns_log(&mut out.dns_log, &resp, &ctx.sources);
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
                if ctx.log_weirds {
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
        if ctx.log_weirds {
            out.weirds = batch.weirds;
            out.weirds.extend(decode_weirds);
            out.weirds.sort_by_key(|w| (w.source.file, w.source.packet));
        }
        if ctx.tx.send(out).is_err() {
            return;
        }
    }
}
