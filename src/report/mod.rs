//! `dnsentry report`: alert files (native, EVE or ECS) in, one HTML page
//! out that an investigator can hand to people who will not read JSON.
//! [`read`] takes each line apart whatever its format; [`aggregate`]
//! counts alerts as they stream past (with [`timeline`] binning them over
//! time) and [`sensor`] the sensor's own events; [`dnslog`] then streams
//! the DNS logs for the hijacked names; [`chart`] draws the timeline and
//! [`render`] writes the page. Memory is bounded by the distinct zones,
//! names and indicators (each capped), never by the number of alerts.

// Alert and DNS-log files carry attacker-chosen text: every access is checked.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

pub mod aggregate;
pub mod chart;
pub mod dnslog;
pub mod read;
pub mod render;
pub mod sensor;
pub mod timeline;

use std::path::{Path, PathBuf};

use crate::error::FileError;
use crate::expect::{ExpectedZones, load_expect_file};
use crate::fsutil::{DEFAULT_OUTPUT_MODE, FsError, open_output, replace_contents};
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

/// What `report` reads.
#[derive(Debug, Default)]
pub struct ReportInputs {
    pub alerts: Vec<PathBuf>,
    pub dns_logs: Vec<PathBuf>,
    /// The zones' expected records: monitored zones without alerts are
    /// named, and the DNS log's answers judged against them.
    pub expect: Vec<PathBuf>,
}

/// What a run of `report` read and wrote.
#[derive(Debug)]
pub struct Written {
    pub alerts: u64,
    pub sensor_events: u64,
    pub hijacked_names: usize,
    pub bytes: usize,
}

/// Reads every alert of `inputs` (then the DNS logs, for the names the
/// alerts say were hijacked) and writes the page to `output`, replacing
/// what was there. Nothing is written when an input cannot be read.
pub fn write_report(inputs: &ReportInputs, output: &Path) -> Result<Written, ReportError> {
    let zones = if inputs.expect.is_empty() {
        None
    } else {
        let mut zones = ExpectedZones::default();
        for path in &inputs.expect {
            zones.merge(load_expect_file(path)?, &escape_path(path))?;
        }
        Some(zones)
    };
    let mut alerts = aggregate::Aggregator::default();
    let mut health = sensor::HealthTally::default();
    for input in &inputs.alerts {
        read::each_line(input, "alert file", |line| {
            match read::parse_line(line)? {
                read::Line::Alert(alert) => alerts.add(*alert),
                read::Line::Sensor(sample) => health.add(*sample),
                read::Line::Other => {}
            }
            Ok(())
        })?;
    }
    let summary = alerts.finish();
    let health = health.finish();
    let dns = if inputs.dns_logs.is_empty() {
        None
    } else {
        Some(dnslog::read_dns_logs(
            &inputs.dns_logs,
            &summary.hijacked,
            zones.as_ref(),
        )?)
    };
    let monitored: Option<Vec<String>> = zones.as_ref().map(|z| {
        let mut names: Vec<String> = z.zones().map(|z| z.name.to_string()).collect();
        names.sort();
        names
    });
    let page = render::page(
        &summary,
        &render::Extras {
            health: &health,
            dns: dns.as_deref(),
            monitored: monitored.as_deref(),
        },
    );
    let shown = escape_path(output);
    let output_error = |source: FsError| ReportError::Output {
        path: shown.clone(),
        source,
    };
    let mut file = open_output(output, DEFAULT_OUTPUT_MODE).map_err(output_error)?;
    replace_contents(&mut file, page.as_bytes()).map_err(|source| ReportError::Write {
        path: shown.clone(),
        source,
    })?;
    Ok(Written {
        alerts: summary.alerts,
        sensor_events: health.events,
        hijacked_names: summary.hijacked.len(),
        bytes: page.len(),
    })
}
