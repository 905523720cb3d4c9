//! Outputs: where alerts, sensor events, the DNS log and the weird log go.
//!
//! Every output implements [`Output`] (event in, flush, counters, finish)
//! and the output thread hands each [`Event`] to every open output in an
//! [`OutputSet`]; a new kind of output is one new implementation and one
//! line in [`OutputSet::open`].
//!
//! One output thread owns every writer, so lines never interleave; it
//! writes in capture order whatever the number of workers. Local files and
//! stdout are written by that thread directly (a local file that cannot
//! keep up slows the run: offline that is back-pressure, and a file is the
//! record of last resort); each syslog destination has its own queue and
//! delivery thread, so a slow or absent SIEM holds up nothing else.

pub mod ecs;
pub mod eve;
pub mod json;
pub mod metrics;
pub mod sampling;
pub mod syslog;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use syslog::{DeliveryOptions, SyslogError, SyslogOutput, SyslogSpec};

use crate::model::{Alert, SourceNames, Weird};
pub use crate::stats::OutputKind;
use crate::stats::{OutputReport, OutputStats, SensorEvent};

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

/// How alerts or the DNS log are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// dnsentry's own JSON lines (README, "Alert schema").
    #[default]
    Native,
    /// Suricata's EVE JSON (`eve.rs`).
    Eve,
    /// Elastic Common Schema documents (`ecs.rs`).
    Ecs,
}

impl Format {
    pub fn parse(s: &str) -> Result<Format, String> {
        match s {
            "native" => Ok(Format::Native),
            "eve" => Ok(Format::Eve),
            "ecs" => Ok(Format::Ecs),
            other => Err(format!("{other:?}: expected native, eve or ecs")),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{path}: cannot create output: {source}")]
    Create {
        path: String,
        source: crate::fsutil::FsError,
    },
    #[error("{what}: write failed: {source}")]
    Write { what: String, source: io::Error },
    #[error(
        "only one of --alerts, --dns-log and --weird-log can go to stdout: {claimant} - would share it with {holder}; give one of them a file"
    )]
    SharedStdout {
        /// The output that already has stdout, as the user would name it.
        holder: &'static str,
        /// The flag that asks for stdout too.
        claimant: &'static str,
    },
    #[error(transparent)]
    Syslog(#[from] SyslogError),
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
    /// Mode of the alerts, DNS-log and weird-log files created (less the
    /// umask).
    pub file_mode: u32,
    pub alerts_format: Format,
    pub dns_log_format: Format,
    /// What every record names the sensor (`--sensor-name`).
    pub sensor_name: String,
}

impl OutputTargets {
    /// Two records on one stdout would interleave into something no
    /// reader can split again.
    pub fn check_stdout(&self) -> Result<(), OutputError> {
        let on_stdout: Vec<(&'static str, &'static str)> = [
            (
                Some(&self.alerts),
                "--alerts",
                "the alerts (--alerts, whose default is stdout)",
            ),
            (
                self.dns_log.as_ref(),
                "--dns-log",
                "the DNS log (--dns-log -)",
            ),
            (
                self.weird_log.as_ref(),
                "--weird-log",
                "the weird log (--weird-log -)",
            ),
        ]
        .into_iter()
        .filter(|(target, _, _)| *target == Some(&Target::Stdout))
        .map(|(_, flag, holder)| (flag, holder))
        .collect();
        match on_stdout.as_slice() {
            [(_, holder), (claimant, _), ..] => Err(OutputError::SharedStdout { holder, claimant }),
            _ => Ok(()),
        }
    }
}

/// One record for the outputs. Each output takes the events it writes and
/// ignores the rest.
#[derive(Clone, Copy, Debug)]
pub enum Event<'a> {
    /// A detection that passed suppression; `count` is how many repeats
    /// were suppressed before it.
    Alert {
        alert: &'a Alert,
        id: u64,
        count: u64,
    },
    /// A batch's DNS-log lines, already encoded by a worker.
    DnsLog(&'a [u8]),
    /// An anomaly for the weird log.
    Weird(&'a Weird),
    /// Health, capture loss or stall.
    Sensor(&'a SensorEvent),
}

/// An output: the alerts file, a log, a SIEM destination, the metrics
/// endpoint. Owned and called by the output thread only, in capture
/// order; an output that delivers elsewhere (syslog) hands the work to
/// its own thread so that it never holds the others up.
pub trait Output: Send {
    fn kind(&self) -> OutputKind;
    /// How errors and reports name it: a path, `stdout`, a URL.
    fn name(&self) -> &str;
    /// Takes one event; an error stops the run (the file is the record of
    /// last resort, so a failing one must not go unnoticed).
    fn write(&mut self, event: &Event<'_>, sources: &SourceNames) -> Result<(), OutputError>;
    /// Pushes out what is buffered.
    fn flush(&mut self) -> Result<(), OutputError>;
    /// After a rotation (SIGHUP): pushes what is buffered into the file
    /// it was written for, then goes on in a file opened anew at the
    /// configured path. Outputs that are no local file have nothing to do.
    fn reopen(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
    /// Counters shared with health reports and metrics, for the outputs
    /// that report them (alerts and syslog).
    fn stats(&self) -> Option<Arc<OutputStats>> {
        None
    }
    /// Ends the output: delivers or spools what is left, stops its
    /// threads, and returns its final counters where it has them.
    fn finish(self: Box<Self>) -> Option<OutputReport>;
}

/// The open outputs of a run, owned by the output thread.
pub struct OutputSet {
    outputs: Vec<Box<dyn Output>>,
}

impl OutputSet {
    /// Opens every output; fails before the run if one cannot be created
    /// or two would share stdout.
    pub fn open(t: &OutputTargets) -> Result<OutputSet, OutputError> {
        t.check_stdout()?;
        syslog::check_distinct(&t.syslog)?;
        let mode = t.file_mode;
        let mut outputs: Vec<Box<dyn Output>> = vec![Box::new(
            JsonLines::open(OutputKind::Alerts, &t.alerts, mode)?.with_format(t.alerts_format),
        )];
        if let Some(target) = &t.dns_log {
            outputs.push(Box::new(JsonLines::open(OutputKind::DnsLog, target, mode)?));
        }
        if let Some(target) = &t.weird_log {
            outputs.push(Box::new(JsonLines::open(
                OutputKind::WeirdLog,
                target,
                mode,
            )?));
        }
        // Offline runs wait for their outputs (live ones never do).
        if t.delivery.backpressure {
            syslog::warn_rfc3164_offline(&t.syslog);
        }
        for spec in &t.syslog {
            outputs.push(Box::new(SyslogOutput::start(spec.clone(), &t.delivery)?));
        }
        Ok(OutputSet { outputs })
    }

    /// A set of the given outputs (the fuzz targets render into sinks).
    pub fn from_outputs(outputs: Vec<Box<dyn Output>>) -> OutputSet {
        OutputSet { outputs }
    }

    /// Adds an output opened elsewhere (the metrics endpoint, which needs
    /// the health board).
    pub fn push(&mut self, output: Box<dyn Output>) {
        self.outputs.push(output);
    }

    /// Hands `event` to every output, in the order they were opened.
    pub fn write(&mut self, event: &Event<'_>, sources: &SourceNames) -> Result<(), OutputError> {
        self.outputs
            .iter_mut()
            .try_for_each(|o| o.write(event, sources))
    }

    /// Flushes the outputs of one kind.
    pub fn flush_kind(&mut self, kind: OutputKind) -> Result<(), OutputError> {
        self.outputs
            .iter_mut()
            .filter(|o| o.kind() == kind)
            .try_for_each(|o| o.flush())
    }

    pub fn flush(&mut self) -> Result<(), OutputError> {
        self.outputs.iter_mut().try_for_each(|o| o.flush())
    }

    /// Reopens every output file at its path (see [`Output::reopen`]).
    /// One that cannot be reopened goes on in the file it had, so nothing
    /// is lost: the error is logged, and the next SIGHUP tries again.
    pub fn reopen(&mut self) {
        for o in &mut self.outputs {
            match o.reopen() {
                Ok(()) => {}
                Err(e) => tracing::error!(
                    "{}",
                    crate::model::text::escape_text(&format!(
                        "{e}; still writing to the file it had"
                    ))
                ),
            }
        }
    }

    /// The counters of every output that reports them, for health reports.
    pub fn stats(&self) -> Vec<Arc<OutputStats>> {
        self.outputs.iter().filter_map(|o| o.stats()).collect()
    }

    /// Ends every output (each syslog destination delivers or spools what
    /// is left) and returns the final counters of those that have them.
    pub fn finish(self) -> Vec<OutputReport> {
        self.outputs
            .into_iter()
            .filter_map(|o| o.finish())
            .collect()
    }
}

/// A JSON-lines output to a file or stdout: the alerts (with sensor
/// events), the DNS log or the weird log. Written by the output thread
/// directly: offline a slow disk is back-pressure, and the file is the
/// record of last resort.
pub struct JsonLines {
    kind: OutputKind,
    format: Format,
    writer: Writer,
    /// Counted for the alerts output only (messages, not bytes).
    stats: Option<Arc<OutputStats>>,
}

impl JsonLines {
    /// Opens `target` for appending; a file created gets `mode`.
    pub fn open(kind: OutputKind, target: &Target, mode: u32) -> Result<JsonLines, OutputError> {
        Ok(JsonLines::new(kind, Writer::open(target, mode)?))
    }

    pub fn new(kind: OutputKind, writer: Writer) -> JsonLines {
        let stats = (kind == OutputKind::Alerts)
            .then(|| Arc::new(OutputStats::new(writer.what.clone(), kind)));
        JsonLines {
            kind,
            format: Format::Native,
            writer,
            stats,
        }
    }

    /// Alerts and sensor events written in `format` (the DNS log is
    /// encoded by the workers, in the format they were given).
    pub fn with_format(mut self, format: Format) -> JsonLines {
        self.format = format;
        self
    }

    fn count(&self) {
        if let Some(s) = &self.stats {
            s.count_written(1);
        }
    }
}

impl Output for JsonLines {
    fn kind(&self) -> OutputKind {
        self.kind
    }

    fn name(&self) -> &str {
        &self.writer.what
    }

    fn write(&mut self, event: &Event<'_>, sources: &SourceNames) -> Result<(), OutputError> {
        match (self.kind, event) {
            (OutputKind::Alerts, Event::Alert { alert, id, count }) => {
                let (alert, id, count) = (*alert, *id, *count);
                self.writer.write_with(|w| match self.format {
                    Format::Native => json::write_alert(w, alert, id, count, sources),
                    Format::Eve => eve::write_alert(w, alert, id, count, sources),
                    Format::Ecs => ecs::write_alert(w, alert, id, count, sources),
                })?;
                self.count();
            }
            (OutputKind::Alerts, Event::Sensor(e)) => {
                self.writer.write_with(|w| match self.format {
                    Format::Native => json::write_sensor_event(w, e, sources),
                    Format::Eve => eve::write_sensor_event(w, e, sources),
                    Format::Ecs => ecs::write_sensor_event(w, e, sources),
                })?;
                self.count();
            }
            (OutputKind::DnsLog, Event::DnsLog(lines)) => {
                self.writer.write_with(|w| w.write_all(lines))?;
            }
            (OutputKind::WeirdLog, Event::Weird(x)) => {
                self.writer
                    .write_with(|w| json::write_weird(w, x, sources))?;
            }
            _ => {}
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), OutputError> {
        self.writer.flush()
    }

    fn reopen(&mut self) -> Result<(), OutputError> {
        self.writer.reopen()
    }

    fn stats(&self) -> Option<Arc<OutputStats>> {
        self.stats.clone()
    }

    fn finish(mut self: Box<Self>) -> Option<OutputReport> {
        // Already flushed at the end of a good run; after a failed one
        // there is nothing more to say than the error already said.
        let _ = self.writer.flush();
        self.stats.as_ref().map(|s| s.report())
    }
}

/// An open output with a name for error messages.
pub struct Writer {
    what: String,
    inner: BufWriter<Box<dyn Write + Send>>,
    /// Where to open the file again after a rotation: set for regular
    /// files only (stdout, `/dev/null` or a FIFO is never rotated).
    reopen_at: Option<(PathBuf, u32)>,
}

impl Writer {
    /// Opens `target`; a file is appended to, and created with `mode`.
    pub fn open(target: &Target, mode: u32) -> Result<Writer, OutputError> {
        let (inner, reopen_at): (Box<dyn Write + Send>, _) = match target {
            Target::Stdout => (Box::new(io::stdout()), None),
            Target::File(p) => {
                let file = open_file(p, mode)?;
                let regular = file.metadata().is_ok_and(|m| m.is_file());
                (Box::new(file), regular.then(|| (p.clone(), mode)))
            }
        };
        let mut writer = Writer::new(target.describe(), inner);
        writer.reopen_at = reopen_at;
        Ok(writer)
    }

    /// A writer onto anything, named `what` in errors.
    pub fn new(what: String, inner: Box<dyn Write + Send>) -> Writer {
        Writer {
            what,
            inner: BufWriter::with_capacity(256 * 1024, inner),
            reopen_at: None,
        }
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

    /// The lines buffered so far belong to the file they were written
    /// for, which logrotate has just renamed: they go there first, whole,
    /// and every later line goes to the file now opened at the path, so a
    /// rotation neither loses nor repeats a line. When the path cannot be
    /// opened, the old file stays in use.
    pub fn reopen(&mut self) -> Result<(), OutputError> {
        let Some((path, mode)) = self.reopen_at.clone() else {
            return Ok(());
        };
        self.flush()?;
        let file = open_file(&path, mode)?;
        *self.inner.get_mut() = Box::new(file);
        Ok(())
    }
}

fn open_file(p: &Path, mode: u32) -> Result<File, OutputError> {
    crate::fsutil::open_output(p, mode).map_err(|source| OutputError::Create {
        path: p.display().to_string(),
        source,
    })
}
