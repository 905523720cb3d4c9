//! The one error every input file gives: feeds, allowlists, expect files
//! and the config file all fail as `FILE:LINE: problem`, so a person (or
//! an editor's jump-to-error) finds the spot the same way whatever the
//! file.

use std::path::Path;

/// A problem in a file the user gave. `line` counts from 1; 0 means the
/// file as a whole (it could not be read, or is not text).
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
#[error("{path}:{line}: {message}")]
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
