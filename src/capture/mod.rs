//! Capture: packets in, one borrowed [`Frame`] at a time.
//!
//! Frames borrow the reader's buffer; the capture thread's demux copies out
//! only the DNS messages it finds, so nothing else is allocated per packet.

// Packet and file bytes are hostile: every access is checked.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

pub mod live;
pub mod offline;

use crate::decode::link::LinkType;
use crate::model::{SourceRef, Timestamp};

/// One captured packet, valid until the reader moves on.
#[derive(Debug)]
pub struct Frame<'a> {
    pub link: LinkType,
    pub ts: Timestamp,
    pub data: &'a [u8],
    pub source: SourceRef,
}

/// What the consumer of frames wants next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// A capture that could not be read (or not to its end).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum CaptureError {
    #[error("{path}: cannot open: {reason}")]
    Open { path: String, reason: String },
    #[error("{path}: not a pcap or pcapng capture ({detail})")]
    NotACapture { path: String, detail: String },
    #[error(
        "{path}: read error after packet {packet}: {reason} (everything before it was analysed)"
    )]
    Read {
        path: String,
        packet: u64,
        reason: String,
    },
    /// SIGINT or SIGTERM stopped an offline run: what was read before is
    /// analysed, but the input was not read to its end.
    #[error(
        "{path}: interrupted after packet {packet}: not read to its end{}",
        later_inputs(*.unread_after)
    )]
    Interrupted {
        path: String,
        packet: u64,
        /// Inputs after this one that were not read at all.
        unread_after: usize,
    },
}

fn later_inputs(unread: usize) -> String {
    match unread {
        0 => String::new(),
        n => format!(", nor the {n} input(s) after it"),
    }
}
