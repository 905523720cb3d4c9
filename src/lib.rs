//! dnsentry: a passive DNS sensor that catches DNS infrastructure
//! hijacking (CISA AA19-024A, DNSpionage, Sea Turtle).
//!
//! The modules follow the pipeline:
//!
//! ```text
//! capture ──▶ decode ──▶ matcher ──▶ output
//!  (pcap)    (link, ip,   (ioc,       (json lines)
//!             transport,   expect)
//!             dns)
//! ```
//!
//! [`pipeline`] wires the stages into threads; [`model`] holds the few
//! types that cross a stage boundary; [`config`] turns what the user gave
//! into validated [`matcher::Rules`] before any thread starts.

pub mod baseline;
pub mod capture;
pub mod commands;
pub mod config;
pub mod decode;
pub mod error;
pub mod expect;
pub mod fuzzing;
pub mod health;
pub mod ioc;
pub mod matcher;
pub mod model;
pub mod output;
pub mod pipeline;
pub mod privilege;
pub mod progress;
pub mod rules;
pub mod stats;
pub mod synth;

pub use model::{Alert, AlertKind, DnsResponse, PacketMeta};
pub use pipeline::{Inputs, RunConfig, RunOutcome, run};
