//! Sensor health: is the sensor seeing the wire, and seeing all of it?
//!
//! Capture threads publish their interface's counters on a shared
//! [`HealthBoard`] about once a second; the output thread publishes the
//! decode and alert totals. Every `--stats-interval` the output thread turns
//! the board into a `sensor_health` event and checks two conditions that
//! mean the sensor is going blind:
//!
//! * `capture_loss`: the share of packets the kernel or the interface
//!   dropped in the interval is above the threshold;
//! * `capture_stalled`: an interface failed, or has seen no DNS for the
//!   configured time (a span session that stopped mirroring looks exactly
//!   like a quiet network, except that a network is never quiet for long).
//!
//! The same counters are served in Prometheus text format by `metrics`.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::capture::live::LiveStats;
use crate::stats::{AlertCounts, AuditCounts, CaptureCounters, PolicyCounts, WorkerCounters};
use crate::stats::{IfaceReport, OutputReport, OutputStats, SensorEvent};

/// When health is reported and what counts as going blind.
#[derive(Clone, Copy, Debug)]
pub struct HealthOptions {
    pub interval: Duration,
    /// Dropped / (received + dropped) in one interval above which
    /// `capture_loss` is raised.
    pub loss_threshold: f64,
    /// No DNS response on an interface for this long raises
    /// `capture_stalled`.
    pub stall_after: Duration,
}

impl Default for HealthOptions {
    fn default() -> Self {
        HealthOptions {
            interval: Duration::from_secs(60),
            loss_threshold: 0.01,
            stall_after: Duration::from_secs(300),
        }
    }
}

/// What one capture thread last published.
#[derive(Clone, Debug, Default)]
pub struct IfaceHealth {
    pub name: String,
    pub link: String,
    pub up: bool,
    pub error: Option<String>,
    pub kernel: LiveStats,
    pub counters: CaptureCounters,
    /// When the interface last yielded a DNS response.
    pub last_dns: Option<Instant>,
}

/// Decode and alert totals, published by the output thread.
#[derive(Clone, Debug, Default)]
pub struct Totals {
    pub workers: WorkerCounters,
    pub alerts: AlertCounts,
    /// What allow entries and zone severities held back.
    pub policy: PolicyCounts,
    /// Sensor events (health, loss, stall) written.
    pub sensor_events: u64,
    /// The periodic audit's questions so far, when it runs.
    pub audit: Option<AuditCounts>,
}

/// Shared by capture threads (writers of their slot), the output thread
/// and the metrics server (readers).
#[derive(Debug)]
pub struct HealthBoard {
    pub started: Instant,
    ifaces: Mutex<Vec<IfaceHealth>>,
    totals: Mutex<Totals>,
    /// The alert outputs' own counters, set once the outputs are open.
    outputs: OnceLock<Vec<Arc<OutputStats>>>,
}

impl HealthBoard {
    pub fn new(names: &[String]) -> HealthBoard {
        HealthBoard {
            started: Instant::now(),
            ifaces: Mutex::new(
                names
                    .iter()
                    .map(|n| IfaceHealth {
                        name: n.clone(),
                        ..IfaceHealth::default()
                    })
                    .collect(),
            ),
            totals: Mutex::new(Totals::default()),
            outputs: OnceLock::new(),
        }
    }

    pub fn set_outputs(&self, outputs: Vec<Arc<OutputStats>>) {
        let _ = self.outputs.set(outputs);
    }

    pub fn outputs(&self) -> Vec<OutputReport> {
        self.outputs
            .get()
            .map(|v| v.iter().map(|o| o.report()).collect())
            .unwrap_or_default()
    }

    pub fn publish_iface(&self, index: usize, update: impl FnOnce(&mut IfaceHealth)) {
        if let Ok(mut v) = self.ifaces.lock()
            && let Some(slot) = v.get_mut(index)
        {
            update(slot);
        }
    }

    pub fn publish_totals(&self, update: impl FnOnce(&mut Totals)) {
        if let Ok(mut t) = self.totals.lock() {
            update(&mut t);
        }
    }

    pub fn snapshot(&self) -> (Vec<IfaceHealth>, Totals) {
        let ifaces = self.ifaces.lock().map(|v| v.clone()).unwrap_or_default();
        let totals = self.totals.lock().map(|t| t.clone()).unwrap_or_default();
        (ifaces, totals)
    }
}

fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// Turns board snapshots into events, remembering the previous interval
/// and which interfaces are already reported stalled (one alert per
/// episode, not one per interval).
#[derive(Debug)]
pub struct HealthReporter {
    options: HealthOptions,
    previous: Vec<LiveStats>,
    stalled: Vec<bool>,
    last_report: Instant,
}

impl HealthReporter {
    pub fn new(options: HealthOptions) -> Self {
        HealthReporter {
            options,
            previous: Vec::new(),
            stalled: Vec::new(),
            last_report: Instant::now(),
        }
    }

    /// Events for the interval that just ended.
    pub fn report(&mut self, board: &HealthBoard, is_final: bool) -> Vec<SensorEvent> {
        let (ifaces, totals) = board.snapshot();
        let now = Instant::now();
        let interval = now.duration_since(self.last_report);
        self.last_report = now;
        self.previous.resize(ifaces.len(), LiveStats::default());
        self.stalled.resize(ifaces.len(), false);
        let ts = now_rfc3339();
        let mut events = Vec::new();
        let mut reports = Vec::with_capacity(ifaces.len());
        for (i, iface) in ifaces.iter().enumerate() {
            let prev = self.previous.get(i).copied().unwrap_or_default();
            let received = iface.kernel.received.saturating_sub(prev.received);
            let dropped = (iface.kernel.kernel_dropped + iface.kernel.interface_dropped)
                .saturating_sub(prev.kernel_dropped + prev.interface_dropped);
            let rate = if received + dropped == 0 {
                0.0
            } else {
                dropped as f64 / (received + dropped) as f64
            };
            if let Some(p) = self.previous.get_mut(i) {
                *p = iface.kernel;
            }
            if rate > self.options.loss_threshold {
                events.push(SensorEvent::CaptureLoss {
                    ts: ts.clone(),
                    severity: "high",
                    interface: iface.name.clone(),
                    interval_seconds: interval.as_secs(),
                    received,
                    dropped,
                    drop_rate: rate,
                    threshold: self.options.loss_threshold,
                });
            }
            let since_dns = iface.last_dns.unwrap_or(board.started).elapsed();
            let stall = if !iface.up {
                Some(format!(
                    "interface down: {}",
                    iface.error.as_deref().unwrap_or("capture failed")
                ))
            } else if since_dns >= self.options.stall_after {
                Some(format!("no DNS response for {} s", since_dns.as_secs()))
            } else {
                None
            };
            let was_stalled = self.stalled.get(i).copied().unwrap_or(false);
            if let Some(reason) = &stall
                && !was_stalled
            {
                events.push(SensorEvent::CaptureStalled {
                    ts: ts.clone(),
                    severity: "high",
                    interface: iface.name.clone(),
                    reason: reason.clone(),
                });
            }
            if let Some(s) = self.stalled.get_mut(i) {
                *s = stall.is_some();
            }
            reports.push(IfaceReport {
                name: iface.name.clone(),
                link: iface.link.clone(),
                up: iface.up,
                error: iface.error.clone(),
                received: iface.kernel.received,
                kernel_dropped: iface.kernel.kernel_dropped,
                interface_dropped: iface.kernel.interface_dropped,
                packets: iface.counters.packets,
                dns_messages: iface.counters.dns_messages,
                queue_waits: iface.counters.queue_waits,
                interval_drop_rate: rate,
                seconds_since_dns: iface.last_dns.map(|t| t.elapsed().as_secs()),
            });
        }
        let mut malformed = totals.workers.malformed.clone();
        for iface in &ifaces {
            malformed += &iface.counters.malformed;
        }
        events.insert(
            0,
            SensorEvent::SensorHealth {
                ts,
                severity: "info",
                uptime_seconds: board.started.elapsed().as_secs(),
                interfaces: reports,
                dns_responses: totals.workers.responses,
                alerts: totals.alerts.to_map(),
                malformed: malformed.to_map(),
                ioc_ignored: totals.workers.ioc_ignored.to_map(),
                allowed: totals.policy.allowed.clone(),
                severity_off: totals.policy.severity_off.to_map(),
                outputs: board.outputs(),
                audit: totals.audit,
                is_final,
            },
        );
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn board_with(received: u64, dropped: u64, up: bool) -> HealthBoard {
        let b = HealthBoard::new(&["eth1".to_string()]);
        b.publish_iface(0, |i| {
            i.up = up;
            i.kernel.received = received;
            i.kernel.kernel_dropped = dropped;
            i.last_dns = Some(Instant::now());
        });
        b
    }

    #[test]
    fn loss_over_threshold_alerts_once_per_interval() {
        let b = board_with(900, 100, true);
        let mut r = HealthReporter::new(HealthOptions::default());
        let ev = r.report(&b, false);
        assert!(matches!(ev[0], SensorEvent::SensorHealth { .. }));
        assert!(matches!(
            &ev[1],
            SensorEvent::CaptureLoss {
                dropped: 100,
                received: 900,
                ..
            }
        ));
        // Nothing new dropped in the next interval: no alert.
        let ev = r.report(&b, false);
        assert_eq!(ev.len(), 1);
    }

    #[test]
    fn health_counts_indicator_matches_ignored_by_reason() {
        let b = board_with(10, 0, true);
        b.publish_totals(|t| t.workers.ioc_ignored.add(crate::model::Ignored::NotForIds));
        let mut r = HealthReporter::new(HealthOptions::default());
        let ev = r.report(&b, false);
        let SensorEvent::SensorHealth { ioc_ignored, .. } = &ev[0] else {
            panic!("{ev:?}");
        };
        assert_eq!(ioc_ignored.get("not_for_ids"), Some(&1));
        assert_eq!(ioc_ignored.len(), 1);
    }

    #[test]
    fn health_counts_what_allow_entries_and_zone_severities_held_back() {
        let b = board_with(10, 0, true);
        b.publish_totals(|t| {
            t.policy.allowed.push(crate::stats::AllowCount {
                entry: "allow.toml:1".into(),
                reason: "move".into(),
                allowed: 2,
                expired: true,
            });
            t.policy.severity_off.add(crate::model::AlertKind::LowTtl);
        });
        let mut r = HealthReporter::new(HealthOptions::default());
        let ev = r.report(&b, false);
        let SensorEvent::SensorHealth {
            allowed,
            severity_off,
            ..
        } = &ev[0]
        else {
            panic!("{ev:?}");
        };
        assert_eq!(allowed.len(), 1);
        assert_eq!((allowed[0].allowed, allowed[0].expired), (2, true));
        assert_eq!(severity_off.get("low_ttl"), Some(&1));
        let line = serde_json::to_string(&ev[0]).unwrap();
        assert!(
            line.contains(r#""allowed":[{"entry":"allow.toml:1","reason":"move","allowed":2,"expired":true}],"severity_off":{"low_ttl":1}"#),
            "{line}"
        );
    }

    #[test]
    fn stall_is_reported_once_per_episode() {
        let b = board_with(10, 0, false);
        let mut r = HealthReporter::new(HealthOptions::default());
        assert!(
            r.report(&b, false)
                .iter()
                .any(|e| matches!(e, SensorEvent::CaptureStalled { .. }))
        );
        assert!(
            !r.report(&b, false)
                .iter()
                .any(|e| matches!(e, SensorEvent::CaptureStalled { .. }))
        );
        b.publish_iface(0, |i| i.up = true);
        assert_eq!(r.report(&b, false).len(), 1);
        b.publish_iface(0, |i| i.up = false);
        assert!(
            r.report(&b, false)
                .iter()
                .any(|e| matches!(e, SensorEvent::CaptureStalled { .. }))
        );
    }

    #[test]
    fn events_serialise_with_their_kind() {
        let ev = SensorEvent::CaptureStalled {
            ts: "t".into(),
            severity: "high",
            interface: "eth1".into(),
            reason: "r".into(),
        };
        let v = serde_json::to_value(&ev).unwrap();
        assert_eq!(v["kind"], "capture_stalled");
    }
}
