//! The one error every input file gives: feeds, allowlists, expect files
//! and the config file all fail as `FILE:LINE: problem`, so a person (or
//! an editor's jump-to-error) finds the spot the same way whatever the
//! file.

use std::path::Path;

use crate::model::text::escape_text;

/// A problem in a file the user gave. `line` counts from 1; 0 means the
/// file as a whole (it could not be read, or is not text).
///
/// Messages quote the offending text, which whoever wrote the file chose:
/// it is shown escaped ([`escape_text`]), so a feed line cannot clear the
/// terminal or forge another `FILE:LINE` line.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
#[error("{}:{line}: {}", escape_text(.path), escape_text(.message))]
pub struct FileError {
    pub path: String,
    pub line: u64,
    pub message: String,
}

impl FileError {
    pub fn new(path: impl Into<String>, line: u64, message: impl Into<String>) -> FileError {
        FileError {
            path: path.into(),
            line,
            message: message.into(),
        }
    }

    /// The problem at byte `offset` of `text`, the file's contents.
    pub fn at_offset(path: &str, text: &str, offset: usize, message: impl Into<String>) -> Self {
        FileError::new(path, line_at(text, offset), message)
    }

    /// The problem at a byte span of `text` (a TOML value's), line 0 when
    /// there is no span.
    pub fn at_span(
        path: &str,
        text: &str,
        span: Option<std::ops::Range<usize>>,
        message: impl Into<String>,
    ) -> Self {
        FileError::new(path, span.map_or(0, |s| line_at(text, s.start)), message)
    }

    /// A TOML file's text as `T`; a syntax or type error at its line.
    pub fn parse_toml<T: serde::de::DeserializeOwned>(path: &str, text: &str) -> Result<T, Self> {
        toml::from_str(text)
            .map_err(|e| FileError::at_span(path, text, e.span(), e.message().trim().to_string()))
    }

    /// The problem as a warning, `FILE:LINE: warning: problem`, escaped as
    /// the error's own text is.
    pub fn as_warning(&self) -> String {
        format!(
            "{}:{}: warning: {}",
            escape_text(&self.path),
            self.line,
            escape_text(&self.message)
        )
    }

    /// The whole file could not be read (or was refused unread: not a
    /// regular file, too large).
    pub fn unreadable(path: &Path, what: &str, e: &impl std::fmt::Display) -> FileError {
        FileError::new(
            path.display().to_string(),
            0,
            format!("cannot read {what}: {e}"),
        )
    }
}

/// Errors shown per file: past this many, the rest are counted, so a
/// file that is something else entirely (a binary, the wrong format)
/// does not bury the other files' errors.
pub const MAX_ERRORS_PER_FILE: usize = 100;

/// Every problem found in one file, the first [`MAX_ERRORS_PER_FILE`]
/// kept, the rest counted: `check` shows them all at once instead of one
/// per run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FileErrors {
    errors: Vec<FileError>,
    beyond: u64,
}

impl FileErrors {
    pub fn push(&mut self, e: FileError) {
        if self.errors.len() < MAX_ERRORS_PER_FILE {
            self.errors.push(e);
        } else {
            self.beyond += 1;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Problems found, kept or only counted.
    pub fn len(&self) -> usize {
        self.errors.len() + usize::try_from(self.beyond).unwrap_or(usize::MAX)
    }

    /// The first problem, what a load stops at.
    pub fn first(&self) -> Option<&FileError> {
        self.errors.first()
    }

    /// Each error kept, then one saying how many more there were.
    pub fn into_vec(self) -> Vec<FileError> {
        let mut out = self.errors;
        if self.beyond > 0
            && let Some(last) = out.last().cloned()
        {
            out.push(FileError::new(
                last.path,
                0,
                format!(
                    "{} more error(s) not shown (only the first {MAX_ERRORS_PER_FILE} of a file are)",
                    self.beyond
                ),
            ));
        }
        out
    }
}

/// `bytes`, the contents of the file `path` (a `what`: "an expect file"),
/// as text; else the error names the line of the first byte that is not
/// UTF-8, not the file as a whole.
pub fn utf8_text(path: &str, bytes: Vec<u8>, what: &str) -> Result<String, FileError> {
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.as_bytes().get(..e.utf8_error().valid_up_to());
        let line = 1 + valid
            .unwrap_or_default()
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64;
        FileError::new(
            path,
            line,
            format!("not UTF-8 text; is this really {what}?"),
        )
    })
}

/// The line (from 1) of byte `offset` in `text`.
pub fn line_at(text: &str, offset: usize) -> u64 {
    1 + text
        .get(..offset)
        .unwrap_or_default()
        .bytes()
        .filter(|b| *b == b'\n')
        .count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_is_not_utf8_is_reported_at_its_line() {
        let e = utf8_text("z.toml", b"a\nb\nc\xe9\n".to_vec(), "an expect file").unwrap_err();
        assert_eq!(
            e.to_string(),
            "z.toml:3: not UTF-8 text; is this really an expect file?"
        );
        assert_eq!(utf8_text("z", b"ok".to_vec(), "x").unwrap(), "ok");
    }

    #[test]
    fn errors_past_the_limit_are_counted_not_shown() {
        let mut errors = FileErrors::default();
        for line in 1..=MAX_ERRORS_PER_FILE as u64 + 7 {
            errors.push(FileError::new("f.txt", line, "bad"));
        }
        assert_eq!(errors.first().map(|e| e.line), Some(1));
        let all = errors.into_vec();
        assert_eq!(all.len(), MAX_ERRORS_PER_FILE + 1);
        assert_eq!(
            all.last().unwrap().to_string(),
            "f.txt:0: 7 more error(s) not shown (only the first 100 of a file are)"
        );
    }

    #[test]
    fn lines_count_from_one() {
        let text = "a\nbb\nccc";
        assert_eq!(line_at(text, 0), 1);
        assert_eq!(line_at(text, 2), 2);
        assert_eq!(line_at(text, 7), 3);
        assert_eq!(
            FileError::at_offset("f.toml", text, 5, "bad").to_string(),
            "f.toml:3: bad"
        );
    }
}
