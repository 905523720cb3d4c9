//! Counters of the outputs, shared by the output thread (writer), the
//! health reporter and the metrics endpoint (readers).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::Serialize;

/// What an output is. Reports name the alert outputs `file` (the alerts
/// file or stdout) and `syslog`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutputKind {
    /// Alerts and sensor events as JSON lines, to a file or stdout.
    Alerts,
    /// Every decoded response as a JSON line.
    DnsLog,
    /// Every anomaly as a JSON line (Zeek's weird.log).
    WeirdLog,
    /// One SIEM destination over syslog.
    Syslog,
    /// The Prometheus endpoint.
    Metrics,
}

impl Serialize for OutputKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.report_name())
    }
}

impl OutputKind {
    /// The `kind` of this output in `sensor_health` and the run summary.
    pub fn report_name(self) -> &'static str {
        match self {
            OutputKind::Alerts => "file",
            OutputKind::DnsLog => "dns_log",
            OutputKind::WeirdLog => "weird_log",
            OutputKind::Syslog => "syslog",
            OutputKind::Metrics => "metrics",
        }
    }
}

/// Counters of one alert output, shared with the health reporter and the
/// metrics endpoint. Messages, not bytes: alerts and sensor events alike.
#[derive(Debug)]
pub struct OutputStats {
    pub name: String,
    pub kind: OutputKind,
    /// Handed to this output.
    pub queued: AtomicU64,
    /// Delivered: written (files), taken by the kernel (UDP), acknowledged
    /// by the receiver's TCP (TCP, TLS).
    pub sent: AtomicU64,
    /// Written to the disk spool to wait for the receiver.
    pub spooled: AtomicU64,
    /// Discarded, oldest first, because the backlog bound was reached.
    pub evicted: AtomicU64,
    /// Lost otherwise: the queue was full (live), or there was no spool to
    /// keep them at exit.
    pub dropped: AtomicU64,
    /// Cut to the UDP size limit (still delivered).
    pub truncated: AtomicU64,
    /// Found in the spool at start, left by an earlier run.
    pub recovered: AtomicU64,
    /// Waiting now: in memory, on the wire unconfirmed, or in the spool.
    pub pending: AtomicU64,
    pub connect_failures: AtomicU64,
    pub connected: AtomicBool,
}

impl OutputStats {
    pub fn new(name: String, kind: OutputKind) -> OutputStats {
        OutputStats {
            name,
            kind,
            queued: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            spooled: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            truncated: AtomicU64::new(0),
            recovered: AtomicU64::new(0),
            pending: AtomicU64::new(0),
            connect_failures: AtomicU64::new(0),
            connected: AtomicBool::new(false),
        }
    }

    /// A file output wrote `n` messages: queued and delivered at once.
    pub fn count_written(&self, n: u64) {
        self.queued.fetch_add(n, Ordering::Relaxed);
        self.sent.fetch_add(n, Ordering::Relaxed);
    }

    pub fn report(&self) -> OutputReport {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let syslog = self.kind == OutputKind::Syslog;
        OutputReport {
            name: self.name.clone(),
            kind: self.kind,
            queued: get(&self.queued),
            sent: get(&self.sent),
            spooled: get(&self.spooled),
            evicted: get(&self.evicted),
            dropped: get(&self.dropped),
            pending: get(&self.pending),
            truncated: get(&self.truncated),
            recovered: get(&self.recovered),
            connect_failures: get(&self.connect_failures),
            connected: syslog.then(|| self.connected.load(Ordering::Relaxed)),
        }
    }
}

/// One output's counters in `sensor_health` events and the run summary.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct OutputReport {
    pub name: String,
    pub kind: OutputKind,
    pub queued: u64,
    pub sent: u64,
    pub spooled: u64,
    pub evicted: u64,
    pub dropped: u64,
    pub pending: u64,
    pub truncated: u64,
    pub recovered: u64,
    pub connect_failures: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connected: Option<bool>,
}

impl OutputReport {
    /// Messages this output lost for good.
    pub fn lost(&self) -> u64 {
        self.evicted + self.dropped
    }
}
