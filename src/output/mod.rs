//! Outputs: where alerts and the DNS log go.
//!
//! One output thread owns every writer, so lines never interleave; it
//! writes in capture order whatever the number of workers. Local files and
//! stdout are written by that thread directly (a local file that cannot
//! keep up slows the run: offline that is back-pressure, and a file is the
//! record of last resort); each syslog destination has its own queue and
//! delivery thread, so a slow or absent SIEM holds up nothing else.

pub mod json;
pub mod metrics;
pub mod syslog;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::Serialize;

use syslog::{DeliveryOptions, SyslogError, SyslogOutput, SyslogSpec};

/// A destination given on the command line: `-` is stdout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Stdout,
    File(PathBuf),
}

impl Target {
    pub fn parse(s: &str) -> Target {
        if s == "-" {
            Target::Stdout
        } else {
            Target::File(PathBuf::from(s))
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Target::Stdout => "stdout".into(),
            Target::File(p) => p.display().to_string(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{path}: cannot create output: {source}")]
    Create { path: String, source: io::Error },
    #[error("{what}: write failed: {source}")]
    Write { what: String, source: io::Error },
    #[error(
        "only one of --alerts, --dns-log and --weird-log can go to stdout; give the others a file"
    )]
    SharedStdout,
    #[error(transparent)]
    Syslog(#[from] SyslogError),
}

/// Counters of one alert output, shared with the health reporter and the
/// metrics endpoint. Messages, not bytes: alerts and sensor events alike.
#[derive(Debug)]
pub struct OutputStats {
    pub name: String,
    pub kind: &'static str,
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
    pub fn new(name: String, kind: &'static str) -> OutputStats {
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
        let syslog = self.kind == "syslog";
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
    pub kind: &'static str,
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

/// Where each kind of record goes.
#[derive(Clone, Debug)]
pub struct OutputTargets {
    pub alerts: Target,
    pub dns_log: Option<Target>,
    pub weird_log: Option<Target>,
    /// SIEMs that receive the alerts (and sensor events) too.
    pub syslog: Vec<SyslogSpec>,
    pub delivery: DeliveryOptions,
}

/// The open outputs of a run, owned by the output thread.
pub struct Outputs {
    pub alerts: Writer,
    pub alerts_stats: Arc<OutputStats>,
    pub dns_log: Option<Writer>,
    pub weird_log: Option<Writer>,
    pub syslog: Vec<SyslogOutput>,
}

impl Outputs {
    /// Opens every output; fails before the run if one cannot be created
    /// or two would share stdout.
    pub fn open(t: &OutputTargets) -> Result<Outputs, OutputError> {
        let on_stdout = [Some(&t.alerts), t.dns_log.as_ref(), t.weird_log.as_ref()]
            .iter()
            .filter(|x| **x == Some(&Target::Stdout))
            .count();
        if on_stdout > 1 {
            return Err(OutputError::SharedStdout);
        }
        syslog::check_distinct(&t.syslog)?;
        Ok(Outputs {
            alerts: Writer::open(&t.alerts)?,
            alerts_stats: Arc::new(OutputStats::new(t.alerts.describe(), "file")),
            dns_log: t.dns_log.as_ref().map(Writer::open).transpose()?,
            weird_log: t.weird_log.as_ref().map(Writer::open).transpose()?,
            syslog: t
                .syslog
                .iter()
                .map(|spec| SyslogOutput::start(spec.clone(), &t.delivery))
                .collect::<Result<_, _>>()?,
        })
    }

    /// The counters of every alert output, for health reports.
    pub fn stats(&self) -> Vec<Arc<OutputStats>> {
        std::iter::once(Arc::clone(&self.alerts_stats))
            .chain(self.syslog.iter().map(SyslogOutput::stats))
            .collect()
    }

    /// Ends the syslog outputs (each delivers or spools what is left) and
    /// reports every alert output's counters.
    pub fn finish(&mut self) -> Vec<OutputReport> {
        std::iter::once(self.alerts_stats.report())
            .chain(self.syslog.drain(..).map(SyslogOutput::finish))
            .collect()
    }

    pub fn flush(&mut self) -> Result<(), OutputError> {
        self.alerts.flush()?;
        if let Some(w) = &mut self.dns_log {
            w.flush()?;
        }
        if let Some(w) = &mut self.weird_log {
            w.flush()?;
        }
        Ok(())
    }
}

/// An open output with a name for error messages.
pub struct Writer {
    what: String,
    inner: BufWriter<Box<dyn Write + Send>>,
}

impl Writer {
    pub fn open(target: &Target) -> Result<Writer, OutputError> {
        let inner: Box<dyn Write + Send> = match target {
            Target::Stdout => Box::new(io::stdout()),
            Target::File(p) => Box::new(create(p)?),
        };
        Ok(Writer {
            what: target.describe(),
            inner: BufWriter::with_capacity(256 * 1024, inner),
        })
    }

    pub fn write_with(
        &mut self,
        f: impl FnOnce(&mut BufWriter<Box<dyn Write + Send>>) -> io::Result<()>,
    ) -> Result<(), OutputError> {
        f(&mut self.inner).map_err(|source| OutputError::Write {
            what: self.what.clone(),
            source,
        })
    }

    pub fn flush(&mut self) -> Result<(), OutputError> {
        self.inner.flush().map_err(|source| OutputError::Write {
            what: self.what.clone(),
            source,
        })
    }
}

fn create(p: &Path) -> Result<File, OutputError> {
    File::create(p).map_err(|source| OutputError::Create {
        path: p.display().to_string(),
        source,
    })
}
