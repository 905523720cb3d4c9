//! `dnsentry report`: alert files (native, EVE or ECS) in, one HTML page
//! out that an investigator can hand to people who will not read JSON.
//! [`read`] takes each line apart whatever its format, [`aggregate`]
//! counts per zone and indicator once, [`render`] writes the page.

pub mod aggregate;
pub mod read;
pub mod render;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::error::FileError;
use crate::fsutil::{DEFAULT_OUTPUT_MODE, FsError, open_output};
use crate::model::text::escape_path;

/// Why no report was written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Input(#[from] FileError),
    #[error("{path}: {source}")]
    Output { path: String, source: FsError },
    #[error("{path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// What a run of `report` read and wrote.
#[derive(Debug)]
pub struct Written {
    pub alerts: u64,
    pub sensor_events: u64,
    pub bytes: usize,
}

/// Reads every alert of `inputs` and writes the page to `output`,
/// replacing what was there.
pub fn write_report(inputs: &[PathBuf], output: &Path) -> Result<Written, ReportError> {
    let mut alerts = Vec::new();
    let mut sensor_events = 0;
    for input in inputs {
        read::read_alerts(input, &mut alerts, &mut sensor_events)?;
    }
    let summary = aggregate::summarize(&alerts, sensor_events);
    let page = render::page(&summary, &alerts);
    let shown = escape_path(output);
    let output_error = |source: FsError| ReportError::Output {
        path: shown.clone(),
        source,
    };
    // open_output's checks (no link followed in a shared directory, the
    // file ours) hold for a report too; it appends, so the old report is
    // cut first.
    let mut file = open_output(output, DEFAULT_OUTPUT_MODE).map_err(output_error)?;
    let write_error = |source: std::io::Error| ReportError::Write {
        path: shown.clone(),
        source,
    };
    file.set_len(0).map_err(write_error)?;
    file.write_all(page.as_bytes()).map_err(write_error)?;
    Ok(Written {
        alerts: summary.alerts,
        sensor_events,
        bytes: page.len(),
    })
}
