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
}
