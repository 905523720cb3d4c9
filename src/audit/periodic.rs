//! `live --audit-every`: the audit in the live process, at start and then
//! every interval. Each zone's answers go to the output thread as soon as
//! the zone is done ([`Injected`]), through the run's emitter: the same
//! outputs, suppression and allow entries as captured answers, its
//! failures as `audit_failed` events beside the health events. The rules
//! are read at each audit, so a reload applies from the next one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use super::report;
use super::run::{AuditOptions, audit_each};
use crate::output::OutputTargets;
use crate::pipeline::batch::Injected;
use crate::rules::SharedRules;

/// How often the stop flag is looked at between audits.
const STOP_POLL: Duration = Duration::from_millis(100);

/// What a periodic audit needs.
pub struct Periodic {
    pub interval: Duration,
    /// The options of one audit starting at the given instant.
    pub options: Box<dyn Fn(Instant) -> AuditOptions + Send>,
    pub rules: SharedRules,
    pub targets: OutputTargets,
    pub tx: Sender<Injected>,
    pub stop: Arc<AtomicBool>,
}

/// Audits until `stop` is set or the output thread is gone.
pub fn run(p: Periodic) {
    loop {
        let started = Instant::now();
        let opts = (p.options)(started);
        let mut packet = 1u64;
        let mut open = true;
        let (mut asked, mut failed) = (0u64, 0u64);
        let rules = p.rules.load_full();
        audit_each(&rules.expected, &opts, |zone, _| {
            if p.stop.load(Ordering::Relaxed) {
                open = false;
                return false;
            }
            let answers = zone.answers.len() as u64;
            asked += zone.asked;
            failed += zone.failed + zone.not_asked;
            let injected = report::process(zone, &p.rules, &p.targets, packet);
            packet += answers;
            open = p.tx.send(injected).is_ok();
            open
        });
        tracing::info!(
            seconds = started.elapsed().as_secs_f64(),
            asked,
            failed,
            "Audit done"
        );
        if !open {
            return;
        }
        while started.elapsed() < p.interval {
            if p.stop.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(STOP_POLL.min(p.interval.saturating_sub(started.elapsed())));
        }
    }
}
