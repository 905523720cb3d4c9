//! Which allow entries held anything back in earlier runs, read from the
//! runs' `--stats-json` files: how `dnsentry check --seen` finds entries
//! that match nothing the sensors saw (a rule nobody needs any more, or
//! one whose scope is wrong).

use std::path::Path;

use serde::Deserialize;

use super::allow::AllowEntry;
use crate::error::{FileError, utf8_text};
use crate::fsutil::{CONFIG_MAX_BYTES, read_regular};

/// The part of a stats file this reads; everything else is ignored, so
/// stats files of other versions still serve.
#[derive(Deserialize)]
struct StatsFile {
    #[serde(default)]
    allowed: Vec<EntryCount>,
}

#[derive(Deserialize)]
struct EntryCount {
    entry: String,
    #[serde(default)]
    reason: String,
    allowed: u64,
}

/// One run's counts per entry.
pub struct RunCounts {
    /// The stats file, for messages.
    pub name: String,
    counts: Vec<EntryCount>,
}

/// Reads the per-entry counts of a stats file.
pub fn read_run_counts(path: &Path) -> Result<RunCounts, FileError> {
    let name = path.display().to_string();
    let bytes = read_regular(path, CONFIG_MAX_BYTES)
        .map_err(|e| FileError::unreadable(path, "stats file", &e))?;
    let text = utf8_text(&name, bytes, "a stats file")?;
    let stats: StatsFile = serde_json::from_str(&text).map_err(|e| {
        FileError::new(
            &name,
            u64::try_from(e.line()).unwrap_or(0),
            format!("not a dnsentry stats file (--stats-json): {e}"),
        )
    })?;
    Ok(RunCounts {
        name,
        counts: stats.allowed,
    })
}

/// How one entry fared over the runs read.
#[derive(Debug, PartialEq, Eq)]
pub enum Usage {
    /// Alerts it held back, summed over the runs that had it.
    Allowed(u64),
    /// In use in at least one run, and held back nothing in any.
    Nothing { runs: usize },
    /// In no run's counts (added since, or the runs used other files).
    NotInUse,
}

/// `FILE:LINE` as an entry's label has it, the file reduced to its name:
/// a run may have named the file by another path (relative, through a
/// link) than `check` does.
fn identity(label: &str) -> (&str, &str) {
    let (file, line) = label.rsplit_once(':').unwrap_or((label, ""));
    let file = file.rsplit('/').next().unwrap_or(file);
    (file, line)
}

/// The usage of `entry` in `runs`. An entry is the same in a run when the
/// file name, the line and the reason agree.
pub fn usage(entry: &AllowEntry, runs: &[RunCounts]) -> Usage {
    let me = identity(&entry.label);
    let mut allowed = 0u64;
    let mut in_runs = 0usize;
    for run in runs {
        if let Some(c) = run
            .counts
            .iter()
            .find(|c| identity(&c.entry) == me && c.reason == entry.reason)
        {
            in_runs += 1;
            allowed = allowed.saturating_add(c.allowed);
        }
    }
    match (in_runs, allowed) {
        (0, _) => Usage::NotInUse,
        (runs, 0) => Usage::Nothing { runs },
        (_, n) => Usage::Allowed(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::allow::parse_allow_all;

    fn run(json: &str) -> RunCounts {
        let stats: StatsFile = serde_json::from_str(json).unwrap();
        RunCounts {
            name: "run.json".into(),
            counts: stats.allowed,
        }
    }

    #[test]
    fn entries_are_told_apart_by_file_name_line_and_reason() {
        let entries = parse_allow_all(
            "/etc/dnsentry/allow.toml",
            "[[allow]]\nkind = \"unexpected_mx\"\nreason = \"move\"\n\n[[allow]]\nvalue = \"203.0.113.9\"\nreason = \"old\"\n\n[[allow]]\nvalue = \"203.0.113.10\"\nreason = \"new\"\n",
        )
        .unwrap();
        let runs = [
            run(
                r#"{"allowed":[{"entry":"allow.toml:1","reason":"move","allowed":3,"expired":false},
                               {"entry":"allow.toml:5","reason":"old","allowed":0,"expired":false}]}"#,
            ),
            run(
                r#"{"alerts":{},"allowed":[{"entry":"conf/allow.toml:1","reason":"move","allowed":2},
                               {"entry":"conf/allow.toml:5","reason":"old","allowed":0}]}"#,
            ),
        ];
        let got: Vec<Usage> = entries.iter().map(|e| usage(e, &runs)).collect();
        assert_eq!(
            got,
            [
                Usage::Allowed(5),
                Usage::Nothing { runs: 2 },
                Usage::NotInUse
            ]
        );
        // The same line with another reason is another entry.
        let edited = parse_allow_all(
            "allow.toml",
            "[[allow]]\nkind = \"unexpected_mx\"\nreason = \"moved again\"\n",
        )
        .unwrap();
        assert_eq!(usage(&edited[0], &runs), Usage::NotInUse);
    }
}
