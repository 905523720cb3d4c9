//! Per-stage counters. Each stage counts in a plain struct of its own
//! (no atomics on the hot path) and the pipeline sums them at the end.

use std::collections::BTreeMap;
use std::ops::AddAssign;

use serde::Serialize;

use crate::model::text::escape_text;
use crate::model::{AlertKind, Ignored, MalformedCounts, NotDnsCounts};

mod event;
mod output;
mod rules;

pub use event::{IfaceReport, SensorEvent};
pub use output::{OutputKind, OutputReport, OutputStats};
pub use rules::{FeedCount, RuleStats, RuleStatsSnapshot};

/// Counters of the capture-and-demux stage.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaptureCounters {
    pub packets: u64,
    pub bytes: u64,
    pub not_dns: NotDnsCounts,
    pub malformed: MalformedCounts,
    /// DNS response messages handed to the workers.
    pub dns_messages: u64,
    /// Times a full batch found the workers' queue full and had to wait.
    /// The pipeline never drops internally: it waits, and live the kernel
    /// ring absorbs the burst (what it cannot hold is a kernel drop). A
    /// rising count says the workers are the bottleneck.
    pub queue_waits: u64,
}

impl AddAssign<&CaptureCounters> for CaptureCounters {
    fn add_assign(&mut self, o: &CaptureCounters) {
        self.queue_waits += o.queue_waits;
        self.packets += o.packets;
        self.bytes += o.bytes;
        self.not_dns += &o.not_dns;
        self.malformed += &o.malformed;
        self.dns_messages += o.dns_messages;
    }
}

/// Counters of the decode-and-match stage (one set per worker).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkerCounters {
    /// Responses decoded, including those decoded only up to a defect.
    pub responses: u64,
    /// Responses whose decoding stopped before the end; each also counted
    /// by reason in `malformed`.
    pub partial: u64,
    /// Messages dropped whole (not even a header).
    pub dropped: u64,
    pub malformed: MalformedCounts,
    pub records: u64,
    /// Indicator matches that raised nothing, by reason (revoked,
    /// expired at the packet's time, ...).
    pub ioc_ignored: IgnoredCounts,
}

/// Indicator matches that raised no alert, by [`Ignored`] reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IgnoredCounts([u64; Ignored::ALL.len()]);

impl IgnoredCounts {
    pub fn add(&mut self, why: Ignored) {
        if let Some(n) = Ignored::ALL
            .iter()
            .position(|w| *w == why)
            .and_then(|i| self.0.get_mut(i))
        {
            *n += 1;
        }
    }

    pub fn get(&self, why: Ignored) -> u64 {
        Ignored::ALL
            .iter()
            .position(|w| *w == why)
            .and_then(|i| self.0.get(i))
            .copied()
            .unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// Reasons met, by name (`revoked`, `expired`, ...).
    pub fn to_map(&self) -> BTreeMap<&'static str, u64> {
        Ignored::ALL
            .iter()
            .map(|w| (w.as_str(), self.get(*w)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

impl AddAssign<&IgnoredCounts> for IgnoredCounts {
    fn add_assign(&mut self, o: &IgnoredCounts) {
        for (a, b) in self.0.iter_mut().zip(o.0) {
            *a += b;
        }
    }
}

impl AddAssign<&WorkerCounters> for WorkerCounters {
    fn add_assign(&mut self, o: &WorkerCounters) {
        self.ioc_ignored += &o.ioc_ignored;
        self.responses += o.responses;
        self.partial += o.partial;
        self.dropped += o.dropped;
        self.malformed += &o.malformed;
        self.records += o.records;
    }
}

/// Alerts written, by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlertCounts(BTreeMap<AlertKind, u64>);

impl AlertCounts {
    pub fn add(&mut self, kind: AlertKind) {
        *self.0.entry(kind).or_default() += 1;
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    pub fn get(&self, kind: AlertKind) -> u64 {
        self.0.get(&kind).copied().unwrap_or(0)
    }

    pub fn to_map(&self) -> BTreeMap<&'static str, u64> {
        self.0.iter().map(|(k, n)| (k.as_str(), *n)).collect()
    }
}

/// Alerts one allow entry held back.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct AllowCount {
    /// `FILE:LINE` of the entry.
    pub entry: String,
    pub reason: String,
    pub allowed: u64,
    /// An alert in its scope came after its `until` (reported once).
    pub expired: bool,
}

/// What allow entries and zone severities held back in a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyCounts {
    /// One per allow entry in use, in file order.
    pub allowed: Vec<AllowCount>,
    /// Alerts of kinds a zone's owner turned `off`, by kind.
    pub severity_off: AlertCounts,
}

/// One input file as the capture stage saw it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FileReport {
    pub path: String,
    pub format: &'static str,
    /// Link types met, by name ("EN10MB", "LINUX_SLL2", ...).
    pub link_types: Vec<String>,
    pub packets: u64,
    /// Set when the file could not be read to its end.
    pub error: Option<String>,
}

/// The end-of-run summary (`--stats-json`, and the stderr report).
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub files: Vec<FileReport>,
    pub packets_read: u64,
    pub bytes_read: u64,
    pub skipped_not_dns: BTreeMap<&'static str, u64>,
    /// Times the capture side waited for the workers (never a drop).
    pub queue_waits: u64,
    pub dns_responses: u64,
    pub dns_responses_partial: u64,
    pub malformed: BTreeMap<&'static str, u64>,
    pub alerts: BTreeMap<&'static str, u64>,
    pub alerts_total: u64,
    /// Indicator matches that raised no alert, by reason: `revoked`,
    /// `deleted`, `not_for_ids`, `unpublished` (the feed says so), and
    /// `expired`, `not_yet_valid` (at the packet's time).
    pub ioc_ignored: BTreeMap<&'static str, u64>,
    /// Alerts suppressed (same kind, owner and value within the window).
    pub suppressed: BTreeMap<&'static str, u64>,
    /// Every allow entry (TOML allow files) with the alerts it held back,
    /// and whether it expired during the run; an entry that allowed
    /// nothing shows 0.
    pub allowed: Vec<AllowCount>,
    /// Alerts not raised because their zone's owner set their kind `off`.
    pub severity_off: BTreeMap<&'static str, u64>,
    /// Per alert output (the alerts file and each syslog destination):
    /// queued, sent, spooled, evicted, dropped, pending.
    pub outputs: Vec<crate::stats::OutputReport>,
    pub elapsed_seconds: f64,
    pub responses_per_second: f64,
    pub threads: usize,
    /// `dnsentry audit` and `live --audit-every`: what was asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditCounts>,
}

/// The questions of an audit (`dnsentry audit`), or of every audit of a
/// live run so far (`live --audit-every`).
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct AuditCounts {
    /// Zones audited (in live: each zone once per audit).
    pub zones: u64,
    /// Distinct server addresses asked about the zones (in live: over
    /// every audit of the run).
    pub servers: u64,
    /// Questions sent, delegation lookups included: answered + failed.
    pub questions_asked: u64,
    pub answered: u64,
    pub failed: u64,
    /// Questions not sent (server given up on, no address, time up).
    pub not_asked: u64,
}

impl AddAssign<&AuditCounts> for AuditCounts {
    fn add_assign(&mut self, o: &AuditCounts) {
        self.zones += o.zones;
        self.servers += o.servers;
        self.questions_asked += o.questions_asked;
        self.answered += o.answered;
        self.failed += o.failed;
        self.not_asked += o.not_asked;
    }
}

impl Summary {
    pub fn new(
        files: Vec<FileReport>,
        capture: &CaptureCounters,
        workers: &WorkerCounters,
        alerts: &AlertCounts,
        elapsed_seconds: f64,
        threads: usize,
    ) -> Self {
        let mut malformed = capture.malformed.clone();
        malformed += &workers.malformed;
        let responses_per_second = if elapsed_seconds > 0.0 {
            workers.responses as f64 / elapsed_seconds
        } else {
            0.0
        };
        Summary {
            files,
            packets_read: capture.packets,
            bytes_read: capture.bytes,
            skipped_not_dns: capture.not_dns.to_map(),
            queue_waits: capture.queue_waits,
            dns_responses: workers.responses,
            dns_responses_partial: workers.partial,
            malformed: malformed.to_map(),
            alerts: alerts.to_map(),
            alerts_total: alerts.total(),
            ioc_ignored: workers.ioc_ignored.to_map(),
            suppressed: BTreeMap::new(),
            allowed: Vec::new(),
            severity_off: BTreeMap::new(),
            outputs: Vec::new(),
            elapsed_seconds,
            responses_per_second,
            threads,
            audit: None,
        }
    }

    /// Human-readable report for stderr.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let audit_only = self.audit.as_ref().filter(|_| self.files.is_empty());
        if let Some(a) = audit_only {
            // An audit reads no packets: what it asked is its input.
            let _ = writeln!(
                s,
                "dnsentry: audit of {} zone(s) at {} server(s) in {:.3} s: {} questions asked, {} answered, {} failed, {} not asked",
                a.zones,
                a.servers,
                self.elapsed_seconds,
                a.questions_asked,
                a.answered,
                a.failed,
                a.not_asked
            );
        } else {
            let _ = writeln!(
                s,
                "dnsentry: {} packets ({} bytes) from {} input(s) in {:.3} s, {} thread(s)",
                self.packets_read,
                self.bytes_read,
                self.files.len(),
                self.elapsed_seconds,
                self.threads
            );
        }
        if let Some(a) = self.audit.as_ref().filter(|_| audit_only.is_none()) {
            // Live with --audit-every: the audits beside the capture.
            let _ = writeln!(
                s,
                "  audits: {} zone audit(s) at {} server(s): {} questions asked, {} answered, {} failed, {} not asked",
                a.zones, a.servers, a.questions_asked, a.answered, a.failed, a.not_asked
            );
        }
        let _ = writeln!(
            s,
            "  DNS responses decoded: {} ({} partial), {:.0}/s",
            self.dns_responses, self.dns_responses_partial, self.responses_per_second
        );
        let line = |s: &mut String, title: &str, m: &BTreeMap<&'static str, u64>| {
            if m.is_empty() {
                let _ = writeln!(s, "  {title}: none");
            } else {
                let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let _ = writeln!(s, "  {title}: {}", parts.join(" "));
            }
        };
        if audit_only.is_none() {
            line(&mut s, "skipped (not DNS)", &self.skipped_not_dns);
        }
        line(&mut s, "malformed", &self.malformed);
        let _ = write!(s, "  alerts: {}", self.alerts_total);
        if !self.alerts.is_empty() {
            let parts: Vec<String> = self
                .alerts
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            let _ = write!(s, " ({})", parts.join(" "));
        }
        s.push('\n');
        if !self.ioc_ignored.is_empty() {
            line(
                &mut s,
                "indicator matches ignored (retracted or outside their validity)",
                &self.ioc_ignored,
            );
        }
        if !self.suppressed.is_empty() {
            line(
                &mut s,
                "suppressed (repeats within the window)",
                &self.suppressed,
            );
        }
        if !self.severity_off.is_empty() {
            line(
                &mut s,
                "not raised (the zone's severity is off)",
                &self.severity_off,
            );
        }
        for a in &self.allowed {
            let _ = writeln!(
                s,
                "  allowed by {}: {}{} ({})",
                escape_text(&a.entry),
                a.allowed,
                if a.expired {
                    ", EXPIRED during the run"
                } else {
                    ""
                },
                escape_text(&a.reason)
            );
        }
        // Syslog destinations only: the alerts file says it all above.
        for o in self.outputs.iter().filter(|o| o.kind == OutputKind::Syslog) {
            let _ = write!(
                s,
                "  {}: queued={} sent={} spooled={} pending={}",
                escape_text(&o.name),
                o.queued,
                o.sent,
                o.spooled,
                o.pending
            );
            if o.recovered > 0 {
                let _ = write!(s, " recovered={}", o.recovered);
            }
            if o.truncated > 0 {
                let _ = write!(s, " truncated={}", o.truncated);
            }
            if o.lost() > 0 {
                let _ = write!(s, " LOST: evicted={} dropped={}", o.evicted, o.dropped);
            }
            s.push('\n');
        }
        s
    }
}
