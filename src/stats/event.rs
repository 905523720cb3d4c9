//! Events about the sensor itself (not detections): periodic health and
//! the alerts that say it is going blind. They travel to the same outputs
//! as alerts, with their own `kind`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{AllowCount, AuditCounts, OutputReport};

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
        /// Indicator matches that raised no alert, by reason.
        ioc_ignored: BTreeMap<&'static str, u64>,
        /// Every allow entry in use with the alerts it held back so far,
        /// and whether it expired.
        allowed: Vec<AllowCount>,
        /// Alerts not raised because their zone's owner set their kind
        /// `off`, by kind.
        severity_off: BTreeMap<&'static str, u64>,
        /// Per alert output: queued, sent, spooled, evicted, dropped.
        outputs: Vec<OutputReport>,
        /// The periodic audit's questions so far (`live --audit-every`);
        /// its answers are not in `dns_responses`, which counts captured
        /// ones.
        #[serde(skip_serializing_if = "Option::is_none")]
        audit: Option<AuditCounts>,
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
    /// An audit question that got no usable answer: the server is down,
    /// unreachable, refuses, or answers something else than was asked.
    AuditFailed {
        ts: String,
        severity: &'static str,
        /// Address and port asked.
        server: String,
        /// Its host name, when known (presentation format, as decoded).
        #[serde(skip_serializing_if = "Option::is_none")]
        server_name: Option<String>,
        /// `parent`, `authoritative` or `resolver`.
        role: &'static str,
        zone: String,
        /// `NAME TYPE`.
        question: String,
        reason: String,
    },
}

impl SensorEvent {
    /// Its `kind`, as the native line names it.
    pub fn kind(&self) -> &'static str {
        match self {
            SensorEvent::SensorHealth { .. } => "sensor_health",
            SensorEvent::CaptureLoss { .. } => "capture_loss",
            SensorEvent::CaptureStalled { .. } => "capture_stalled",
            SensorEvent::AuditFailed { .. } => "audit_failed",
        }
    }

    /// When it was raised, RFC 3339 UTC.
    pub fn ts(&self) -> &str {
        match self {
            SensorEvent::SensorHealth { ts, .. }
            | SensorEvent::CaptureLoss { ts, .. }
            | SensorEvent::CaptureStalled { ts, .. }
            | SensorEvent::AuditFailed { ts, .. } => ts,
        }
    }

    /// The interface a blindness event is about.
    pub fn interface(&self) -> Option<&str> {
        match self {
            SensorEvent::SensorHealth { .. } | SensorEvent::AuditFailed { .. } => None,
            SensorEvent::CaptureLoss { interface, .. }
            | SensorEvent::CaptureStalled { interface, .. } => Some(interface),
        }
    }

    /// One sentence saying what happened, for formats with a message
    /// field. Interface names are the administrator's, escaped all the
    /// same.
    pub fn message(&self) -> String {
        let m = match self {
            SensorEvent::SensorHealth {
                uptime_seconds,
                interfaces,
                dns_responses,
                alerts,
                audit,
                ..
            } => {
                let received: u64 = interfaces.iter().map(|i| i.received).sum();
                let dropped: u64 = interfaces
                    .iter()
                    .map(|i| i.kernel_dropped + i.interface_dropped)
                    .sum();
                let alerts: u64 = alerts.values().sum();
                let audit = audit
                    .as_ref()
                    .map(|a| {
                        format!(
                            ", audit questions: {} asked, {} answered, {} failed, {} not asked",
                            a.questions_asked, a.answered, a.failed, a.not_asked
                        )
                    })
                    .unwrap_or_default();
                format!(
                    "up {uptime_seconds} s: {received} packets received, {dropped} dropped, \
                     {dns_responses} DNS responses, {alerts} alerts{audit}"
                )
            }
            SensorEvent::CaptureLoss {
                interface,
                interval_seconds,
                received,
                dropped,
                drop_rate,
                threshold,
                ..
            } => format!(
                "{interface} lost {dropped} of {} packets in {interval_seconds} s ({:.2}%), above the {:.2}% threshold",
                received + dropped,
                drop_rate * 100.0,
                threshold * 100.0
            ),
            SensorEvent::CaptureStalled {
                interface, reason, ..
            } => format!("{interface}: {reason}"),
            SensorEvent::AuditFailed {
                server,
                server_name,
                role,
                zone,
                question,
                reason,
                ..
            } => {
                let name = server_name
                    .as_ref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default();
                format!(
                    "audit of zone {zone}: {role} server {server}{name} gave no answer to {question}: {reason}"
                )
            }
        };
        crate::model::text::escape_text(&m).into_owned()
    }

    /// An id unique to this event: FNV-1a of its kind, time and
    /// interface (a sensor raises one event of a kind per interface at a
    /// time), and for a failed audit its server and question.
    pub fn event_id(&self) -> u64 {
        use std::hash::Hasher;
        let mut h = fnv::FnvHasher::default();
        h.write(self.kind().as_bytes());
        h.write(self.ts().as_bytes());
        h.write(self.interface().unwrap_or_default().as_bytes());
        if let SensorEvent::AuditFailed {
            server, question, ..
        } = self
        {
            h.write(server.as_bytes());
            h.write(question.as_bytes());
        }
        h.finish()
    }
}
