//! The one path a batch takes, whoever drives it: the worker pool, learn
//! mode and the fuzz targets all call [`Processor::process`] (decode,
//! match, fingerprint, encode the DNS log) and, where results are written,
//! [`Emitter::emit`] (spoofing check, suppression, every output), so
//! what is fuzzed is what runs.

use crossbeam_channel::Sender;

use crate::decode::dns::decode_response_into;
use crate::matcher::Matcher;
use crate::matcher::policy::AlertPolicy;
use crate::matcher::spoof::{Digests, SpoofDetector};
use crate::matcher::suppress::{Suppressor, alert_id};
use crate::model::{Alert, DnsResponse, Malformed, PayloadBatch, SourceNames, Weird};
use crate::output::sampling::WeirdSampler;
use crate::output::{Event, Format, OutputError, OutputKind, OutputSet, ecs, eve, json};
use crate::rules::SharedRules;
use crate::stats::{AlertCounts, PolicyCounts, WorkerCounters};

/// What one batch yields, handed from a worker to the output stage.
#[derive(Debug, Default)]
pub struct Processed {
    /// The batch's place in capture order.
    pub seq: u64,
    pub alerts: Vec<Alert>,
    /// Encoded DNS-log lines: encoding is the costly part of the log, so
    /// it is done by the workers, in parallel.
    pub dns_log: Vec<u8>,
    /// Anomalies of the batch, capture stage's and decoder's, in packet
    /// order; empty unless a weird log is written.
    pub weirds: Vec<Weird>,
    /// Fingerprints of the batch's UDP responses, for spoofing checks.
    pub digests: Digests,
    /// The batch's messages (its weirds moved to `weirds`): the spoofing
    /// check decodes the rare conflicting response again from them.
    pub messages: PayloadBatch,
    pub counters: WorkerCounters,
    /// The latest packet time of the batch (microseconds since the epoch).
    pub latest_ts: Option<i64>,
}

/// Which optional records to produce, and what the responses are.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessOptions {
    pub dns_log: bool,
    pub weirds: bool,
    pub dns_log_format: Format,
    /// The responses answer the sensor's own questions (`dnsentry
    /// audit`), not captured traffic: which server answered was the
    /// sensor's choice, not evidence against a zone's `resolvers`.
    pub asked: bool,
}

/// Decodes and matches batches: one per worker thread.
/// Results made outside the capture path (a periodic audit's answers),
/// written by the output thread between two batches through the same
/// [`Emitter`]: the same suppression, allow entries and outputs. Each
/// carries the names its sources index.
#[derive(Debug)]
pub struct Injected {
    pub processed: Processed,
    pub sources: SourceNames,
    pub events: Vec<crate::stats::SensorEvent>,
    /// The questions behind these answers; `servers` counts those not
    /// counted before in the run.
    pub audit: crate::stats::AuditCounts,
}

pub struct Processor {
    matcher: Matcher,
    sources: SourceNames,
    options: ProcessOptions,
    scratch: String,
    /// The response being worked on, kept from one message to the next so
    /// its record vectors are not allocated again for each.
    resp: Option<DnsResponse>,
}

impl Processor {
    pub fn new(rules: SharedRules, sources: SourceNames, options: ProcessOptions) -> Processor {
        let matcher = if options.asked {
            Matcher::for_asked_answers(rules)
        } else {
            Matcher::new(rules)
        };
        Processor {
            matcher,
            sources,
            options,
            scratch: String::with_capacity(256),
            resp: None,
        }
    }

    /// Decodes every message of `batch`, shows each decoded response to
    /// `observe` (learn mode), matches it, fingerprints it and encodes its
    /// DNS-log line.
    pub fn process(
        &mut self,
        mut batch: PayloadBatch,
        mut observe: impl FnMut(&DnsResponse),
    ) -> Processed {
        let mut out = Processed {
            seq: batch.seq,
            digests: Digests::for_batch(batch.len()),
            ..Processed::default()
        };
        // Rules are taken once per batch, so a reload applies from the next
        // batch on and never in the middle of one.
        self.matcher.refresh();
        let mut decode_weirds = Vec::new();
        for (index, (meta, bytes)) in batch.iter().enumerate() {
            out.latest_ts = Some(out.latest_ts.map_or(meta.ts.0, |t| t.max(meta.ts.0)));
            let resp = self.resp.get_or_insert_with(|| DnsResponse::empty(*meta));
            let mut over_alert_limit = false;
            let defect = match decode_response_into(*meta, bytes, resp) {
                Ok(()) => {
                    let resp = &*resp;
                    out.counters.responses += 1;
                    out.counters.records +=
                        (resp.answers.len() + resp.authority.len() + resp.additional.len()) as u64;
                    if resp.defect.is_some() {
                        out.counters.partial += 1;
                    }
                    observe(resp);
                    over_alert_limit = self.matcher.check(resp, &mut out.alerts) > 0;
                    out.digests.add(resp, index, &mut self.scratch);
                    if self.options.dns_log {
                        match self.options.dns_log_format {
                            Format::Native => {
                                json::write_dns_log(&mut out.dns_log, resp, &self.sources);
                            }
                            Format::Eve => {
                                eve::write_dns_log(&mut out.dns_log, resp, &self.sources)
                            }
                            Format::Ecs => {
                                ecs::write_dns_log(&mut out.dns_log, resp, &self.sources)
                            }
                        }
                    }
                    resp.defect
                }
                Err(defect) => {
                    out.counters.dropped += 1;
                    Some(defect)
                }
            };
            let alert_limit = over_alert_limit.then_some(Malformed::DnsAlertLimit);
            for d in defect.into_iter().chain(alert_limit) {
                out.counters.malformed.add(d);
                if self.options.weirds {
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
        out.counters.ioc_ignored = self.matcher.take_ignored();
        if self.options.weirds {
            out.weirds = std::mem::take(&mut batch.weirds);
            out.weirds.extend(decode_weirds);
            out.weirds.sort_by_key(|w| (w.source.file, w.source.packet));
        }
        out.messages = batch;
        out
    }
}

/// Arena room a batch handed back for reuse may have: the batch bound and
/// one largest DNS message (a TCP length prefix is 16 bits) beyond it.
const MAX_RECYCLED_ARENA: usize = super::BATCH_BYTES + u16::MAX as usize;

/// Writes processed batches, in capture order, to the outputs: the
/// serial part of the pipeline (spoofing needs every response before, and
/// suppression every alert before).
#[derive(Debug)]
pub struct Emitter {
    spoof: SpoofDetector,
    policy: AlertPolicy,
    suppress: Suppressor,
    weird_sampler: WeirdSampler,
    /// Live, alerts are flushed at once: one waits for nothing.
    live: bool,
    failed: bool,
    pub counters: WorkerCounters,
    /// Alerts written (not suppressed), by kind.
    pub alerts: AlertCounts,
    /// Where written batches go back to the capture threads, emptied.
    recycle: Option<Sender<PayloadBatch>>,
}

impl Emitter {
    pub fn new(suppress: Suppressor, policy: AlertPolicy, live: bool) -> Emitter {
        Emitter {
            spoof: SpoofDetector::default(),
            policy,
            suppress,
            weird_sampler: WeirdSampler::default(),
            live,
            failed: false,
            counters: WorkerCounters::default(),
            alerts: AlertCounts::default(),
            recycle: None,
        }
    }

    /// Hands each batch's buffers back through `tx` once it is written,
    /// unless the pool is full or the batch grew past a normal one's size
    /// (a few large TCP messages must not keep megabytes in the pool).
    pub fn recycle_into(mut self, tx: Sender<PayloadBatch>) -> Emitter {
        self.recycle = Some(tx);
        self
    }

    /// Counts the batch, adds its spoofing findings and writes it. After a
    /// write error the batch is still counted but nothing more is written:
    /// the caller stops the run and drains.
    pub fn emit(
        &mut self,
        mut batch: Processed,
        outputs: &mut OutputSet,
        sources: &SourceNames,
    ) -> Result<u64, OutputError> {
        self.counters += &batch.counters;
        self.add_spoofing_findings(&mut batch);
        self.policy.apply(&mut batch.alerts);
        if let Some(ts) = batch.latest_ts {
            self.policy.expire_up_to(ts);
        }
        if self.failed {
            return Ok(0);
        }
        let written = self.write(&batch, outputs, sources);
        if written.is_err() {
            self.failed = true;
        }
        if let Some(tx) = &self.recycle {
            let mut spent = batch.messages;
            if spent.arena.capacity() <= MAX_RECYCLED_ARENA {
                spent.clear();
                let _ = tx.try_send(spent);
            }
        }
        written
    }

    /// What allow entries and zone severities held back so far.
    pub fn policy_counts(&self) -> &PolicyCounts {
        &self.policy.counts
    }

    /// Repeats suppressed so far, by kind.
    pub fn suppressed(&self) -> &AlertCounts {
        &self.suppress.suppressed
    }

    /// Compares the batch's responses with the ones before (in capture
    /// order) and merges `conflicting_response` alerts and IP TTL evidence
    /// into the batch's alerts, keeping packet order.
    fn add_spoofing_findings(&mut self, out: &mut Processed) {
        let (conflicts, jumps) =
            self.spoof
                .check(&out.digests, &out.messages, &mut self.counters.malformed);
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

    /// Writes a batch's records; returns how many alerts were written
    /// (those not suppressed).
    fn write(
        &mut self,
        out: &Processed,
        outputs: &mut OutputSet,
        sources: &SourceNames,
    ) -> Result<u64, OutputError> {
        let mut written = 0;
        for a in &out.alerts {
            let id = alert_id(a);
            if let Some(count) = self.suppress.admit(a, id, &mut self.counters.malformed) {
                outputs.write(
                    &Event::Alert {
                        alert: a,
                        id,
                        count,
                    },
                    sources,
                )?;
                self.alerts.add(a.kind);
                written += 1;
            }
        }
        if self.live && written > 0 {
            outputs.flush_kind(OutputKind::Alerts)?;
        }
        if !out.dns_log.is_empty() {
            outputs.write(&Event::DnsLog(&out.dns_log), sources)?;
        }
        for w in &out.weirds {
            if self.weird_sampler.admit(w, &mut self.counters.malformed) {
                outputs.write(&Event::Weird(w), sources)?;
            }
        }
        Ok(written)
    }
}
