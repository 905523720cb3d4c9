//! Events about the sensor itself (not detections): periodic health and
//! the alerts that say it is going blind. They travel to the same outputs
//! as alerts, with their own `kind`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::OutputReport;

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
