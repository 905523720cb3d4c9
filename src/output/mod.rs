//! Outputs: where alerts and the DNS log go.
//!
//! One output thread owns every writer, so lines never interleave; it
//! writes in capture order whatever the number of workers.

pub mod json;

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
    #[error("alerts and the DNS log cannot both go to stdout; give one of them a file")]
    BothStdout,
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
