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

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::capture::live::LiveStats;
use crate::output::{OutputReport, OutputStats};
use crate::stats::{AlertCounts, CaptureCounters, WorkerCounters};

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
    /// Sensor events (health, loss, stall) written.
    pub sensor_events: u64,
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

/// One interface in a `sensor_health` event.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct IfaceReport {
    pub name: String,
    pub link: String,
    pub up: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub received: u64,
    pub kernel_dropped: u64,
    pub interface_dropped: u64,
    pub packets: u64,
    pub dns_messages: u64,
    /// Times the capture thread waited for the workers (never a drop).
    pub queue_waits: u64,
    /// Share of packets lost in this interval.
    pub interval_drop_rate: f64,
    pub seconds_since_dns: Option<u64>,
}

/// A `sensor_health` event, or one of the blindness alerts.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SensorEvent {
    SensorHealth {
        ts: String,
        severity: &'static str,
        uptime_seconds: u64,
        interfaces: Vec<IfaceReport>,
        dns_responses: u64,
        alerts: BTreeMap<&'static str, u64>,
        malformed: BTreeMap<&'static str, u64>,
        /// Per alert output: queued, sent, spooled, evicted, dropped.
        outputs: Vec<OutputReport>,
        #[serde(rename = "final")]
        is_final: bool,
    },
    CaptureLoss {
        ts: String,
        severity: &'static str,
        interface: String,
        interval_seconds: u64,
        received: u64,
        dropped: u64,
        drop_rate: f64,
        threshold: f64,
    },
    CaptureStalled {
        ts: String,
        severity: &'static str,
        interface: String,
        reason: String,
    },
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
                outputs: board.outputs(),
                is_final,
            },
        );
        events
    }
}

/// Reads one counter of an interface.
type IfaceCounter = fn(&IfaceHealth) -> u64;
/// Reads one counter of an output.
type OutputCounter = fn(&OutputReport) -> u64;

/// The board in Prometheus text exposition format (version 0.0.4).
pub fn render_prometheus(board: &HealthBoard) -> String {
    let (ifaces, totals) = board.snapshot();
    let mut s = String::new();
    let family = |s: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(s, "# HELP dnsentry_{name} {help}");
        let _ = writeln!(s, "# TYPE dnsentry_{name} {kind}");
    };
    // Interface names come from the command line, but escape them anyway.
    let label = |v: &str| {
        v.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    };
    let per_iface: [(&str, &str, IfaceCounter); 6] = [
        (
            "queue_waits_total",
            "Times a full batch waited for the workers (the pipeline never drops internally).",
            |i| i.counters.queue_waits,
        ),
        (
            "packets_received_total",
            "Packets the kernel delivered to the capture.",
            |i| i.kernel.received,
        ),
        (
            "packets_kernel_dropped_total",
            "Packets dropped because the capture buffer was full.",
            |i| i.kernel.kernel_dropped,
        ),
        (
            "packets_interface_dropped_total",
            "Packets dropped by the interface or its driver.",
            |i| i.kernel.interface_dropped,
        ),
        ("packets_read_total", "Packets read by the sensor.", |i| {
            i.counters.packets
        }),
        (
            "dns_messages_total",
            "DNS responses found on the interface.",
            |i| i.counters.dns_messages,
        ),
    ];
    for (name, help, get) in per_iface {
        family(&mut s, name, "counter", help);
        for i in &ifaces {
            let _ = writeln!(
                s,
                "dnsentry_{name}{{interface=\"{}\"}} {}",
                label(&i.name),
                get(i)
            );
        }
    }
    family(
        &mut s,
        "interface_up",
        "gauge",
        "1 while the capture on the interface works.",
    );
    for i in &ifaces {
        let _ = writeln!(
            s,
            "dnsentry_interface_up{{interface=\"{}\"}} {}",
            label(&i.name),
            u8::from(i.up)
        );
    }
    family(
        &mut s,
        "skipped_total",
        "counter",
        "Packets that were not DNS, by reason.",
    );
    for i in &ifaces {
        for (reason, n) in i.counters.not_dns.to_map() {
            let _ = writeln!(
                s,
                "dnsentry_skipped_total{{interface=\"{}\",reason=\"{reason}\"}} {n}",
                label(&i.name)
            );
        }
    }
    family(
        &mut s,
        "anomalies_total",
        "counter",
        "Malformed input and reassembly bounds hit, by reason.",
    );
    let mut malformed = totals.workers.malformed.clone();
    for i in &ifaces {
        malformed += &i.counters.malformed;
    }
    for (reason, n) in malformed.to_map() {
        let _ = writeln!(s, "dnsentry_anomalies_total{{reason=\"{reason}\"}} {n}");
    }
    family(
        &mut s,
        "dns_responses_total",
        "counter",
        "DNS responses decoded.",
    );
    let _ = writeln!(
        s,
        "dnsentry_dns_responses_total {}",
        totals.workers.responses
    );
    family(
        &mut s,
        "alerts_total",
        "counter",
        "Alerts written, by kind.",
    );
    for kind in crate::model::AlertKind::ALL {
        let _ = writeln!(
            s,
            "dnsentry_alerts_total{{kind=\"{}\"}} {}",
            kind.as_str(),
            totals.alerts.get(kind)
        );
    }
    let per_output: [(&str, &str, OutputCounter); 7] = [
        (
            "output_queued_total",
            "Messages handed to the output.",
            |o| o.queued,
        ),
        (
            "output_sent_total",
            "Messages delivered (TCP/TLS: acknowledged by the receiver).",
            |o| o.sent,
        ),
        (
            "output_spooled_total",
            "Messages written to the disk spool while the receiver was away or slow.",
            |o| o.spooled,
        ),
        (
            "output_evicted_total",
            "Messages discarded, oldest first, because the backlog bound was reached.",
            |o| o.evicted,
        ),
        (
            "output_dropped_total",
            "Messages lost because the queue was full or nothing could keep them at exit.",
            |o| o.dropped,
        ),
        (
            "output_truncated_total",
            "UDP messages cut to the size limit.",
            |o| o.truncated,
        ),
        (
            "output_connect_failures_total",
            "Failed connection attempts.",
            |o| o.connect_failures,
        ),
    ];
    let outputs = board.outputs();
    for (name, help, get) in per_output {
        family(&mut s, name, "counter", help);
        for o in &outputs {
            let _ = writeln!(
                s,
                "dnsentry_{name}{{output=\"{}\"}} {}",
                label(&o.name),
                get(o)
            );
        }
    }
    family(
        &mut s,
        "output_pending",
        "gauge",
        "Messages waiting: in memory, unacknowledged, or spooled.",
    );
    for o in &outputs {
        let _ = writeln!(
            s,
            "dnsentry_output_pending{{output=\"{}\"}} {}",
            label(&o.name),
            o.pending
        );
    }
    family(
        &mut s,
        "uptime_seconds",
        "gauge",
        "Seconds since the sensor started.",
    );
    let _ = writeln!(
        s,
        "dnsentry_uptime_seconds {}",
        board.started.elapsed().as_secs()
    );
    s
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
    fn prometheus_text() {
        let b = board_with(5, 1, true);
        let text = render_prometheus(&b);
        assert!(text.contains("dnsentry_packets_received_total{interface=\"eth1\"} 5"));
        assert!(text.contains("dnsentry_packets_kernel_dropped_total{interface=\"eth1\"} 1"));
        assert!(text.contains("# TYPE dnsentry_alerts_total counter"));
        assert!(text.contains("dnsentry_interface_up{interface=\"eth1\"} 1"));
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
