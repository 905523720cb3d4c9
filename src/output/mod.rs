//! Outputs: where alerts and the DNS log go.
//!
//! One output thread owns every writer, so lines never interleave; it
//! writes in capture order whatever the number of workers.

pub mod json;
pub mod metrics;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

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
}

/// Where each kind of record goes.
#[derive(Clone, Debug)]
pub struct OutputTargets {
    pub alerts: Target,
    pub dns_log: Option<Target>,
    pub weird_log: Option<Target>,
}

/// The open outputs of a run, owned by the output thread.
pub struct Outputs {
    pub alerts: Writer,
    pub dns_log: Option<Writer>,
    pub weird_log: Option<Writer>,
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
        Ok(Outputs {
            alerts: Writer::open(&t.alerts)?,
            dns_log: t.dns_log.as_ref().map(Writer::open).transpose()?,
            weird_log: t.weird_log.as_ref().map(Writer::open).transpose()?,
        })
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
