//! `live --audit-every`: the audit in the live process, at start and then
//! every interval. Each zone's answers go to the output thread as soon as
//! the zone is done ([`Injected`]), through the run's emitter: the same
//! outputs, suppression and allow entries as captured answers, its
//! failures as `audit_failed` events beside the health events. The rules
//! are read at each audit, so a reload applies from the next one.
//!
//! Servers that disagree are raised only once they have disagreed, the
//! same way, for longer than the grace period: a zone change takes a
//! while to reach every secondary, and a periodic audit can tell a
//! secondary that lags from one that stopped.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use super::Finding;
use super::report;
use super::run::{AuditOptions, audit_each};
use crate::model::AlertKind;
use crate::output::OutputTargets;
use crate::pipeline::batch::Injected;
use crate::rules::SharedRules;

/// How often the stop flag is looked at between audits.
const STOP_POLL: Duration = Duration::from_millis(100);

/// What a periodic audit needs.
pub struct Periodic {
    pub interval: Duration,
    /// How long servers may disagree before it is raised.
    pub grace: Duration,
    /// The options of one audit starting at the given instant.
    pub options: Box<dyn Fn(Instant) -> AuditOptions + Send>,
    pub rules: SharedRules,
    pub targets: OutputTargets,
    pub tx: Sender<Injected>,
    pub stop: Arc<AtomicBool>,
}

/// Audits until `stop` is set or the output thread is gone.
pub fn run(p: Periodic) {
    let mut grace = Grace::default();
    // Every server any audit of the run asked: the run's counts name each
    // once.
    let mut servers: HashSet<SocketAddr> = HashSet::new();
    loop {
        let started = Instant::now();
        let opts = (p.options)(started);
        let mut packet = 1u64;
        let mut open = true;
        let (mut asked, mut failed) = (0u64, 0u64);
        let rules = p.rules.load_full();
        audit_each(&rules.expected, &opts, |zone, seen| {
            if p.stop.load(Ordering::Relaxed) {
                open = false;
                return false;
            }
            let answers = zone.answers.len() as u64;
            asked += zone.asked;
            failed += zone.failed + zone.not_asked;
            let mut injected = report::process(zone, &p.rules, &p.targets, packet, |f| {
                grace.keep(f, started, p.grace)
            });
            injected.audit.servers = seen.iter().filter(|s| servers.insert(**s)).count() as u64;
            packet += answers;
            open = p.tx.send(injected).is_ok();
            open
        });
        grace.end_round(started);
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

/// When each disagreement was first seen, in audits one after the other
/// without a break.
#[derive(Debug, Default)]
struct Grace {
    since: HashMap<(String, String, u16, String), (Instant, Instant)>,
}

impl Grace {
    /// Whether `f` is raised in the audit that began at `now`: anything
    /// but a disagreement at once, a disagreement once it is older than
    /// `grace`.
    fn keep(&mut self, f: &Finding, now: Instant, grace: Duration) -> bool {
        if f.kind != AlertKind::InconsistentServers {
            return true;
        }
        let key = (f.zone.clone(), f.owner.clone(), f.rrtype, f.value.clone());
        let (first, last) = self.since.entry(key).or_insert((now, now));
        *last = now;
        now.duration_since(*first) >= grace
    }

    /// Forgets the disagreements the audit that began at `now` did not
    /// see: one that comes back starts its grace again.
    fn end_round(&mut self, now: Instant) {
        self.since.retain(|_, (_, last)| *last == now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disagreement_is_raised_once_it_outlasts_the_grace() {
        let f = |value: &str| Finding {
            kind: AlertKind::InconsistentServers,
            answer: 0,
            owner: "example.org".into(),
            rrtype: 6,
            ttl: None,
            zone: "example.org".into(),
            value: value.into(),
            expected: Vec::new(),
        };
        let grace = Duration::from_secs(60);
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut g = Grace::default();
        assert!(!g.keep(&f("serial 1 vs 2"), at(0), grace));
        g.end_round(at(0));
        assert!(!g.keep(&f("serial 1 vs 2"), at(30), grace));
        g.end_round(at(30));
        assert!(g.keep(&f("serial 1 vs 2"), at(60), grace));
        g.end_round(at(60));
        // Gone for one audit: its grace starts again.
        g.end_round(at(90));
        assert!(!g.keep(&f("serial 1 vs 2"), at(120), grace));
        // Another kind is never held back; no grace raises at once.
        let mut other = f("x");
        other.kind = AlertKind::DnssecInvalid;
        assert!(g.keep(&other, at(120), grace));
        assert!(g.keep(&f("new"), at(120), Duration::ZERO));
    }
}
