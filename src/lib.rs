//! dnsentry: a passive DNS sensor that catches DNS infrastructure
//! hijacking (CISA AA19-024A, DNSpionage, Sea Turtle).
//!
//! The modules follow the pipeline:
//!
//! ```text
//! capture ──▶ decode ──▶ matcher ──────────────▶ output
//!  (files,    (link, tunnel, (ioc, expected;     (json lines, syslog,
//!   libpcap)   ip, defrag,    spoof, suppress)    metrics)
//!              tcp, dns)
//!                   health (live: drops, stalls) ──▶ output
//! ```
//!
//! [`pipeline`] wires the stages into threads, and [`pipeline::batch`] is
//! the one path a batch takes. [`config`] turns flags and the config file
//! into one validated [`config::Config`]; [`rules`] loads (and reloads) the
//! feeds and expect files; [`commands`] runs each subcommand. At the
//! bottom, importing no stage: [`model`] (the types that cross a stage
//! boundary), [`stats`] (counters, reports, sensor events), [`error`] and
//! [`fsutil`] (files others may control).

pub mod audit;
pub mod baseline;
pub mod buildinfo;
pub mod capture;
pub mod commands;
pub mod config;
pub mod decode;
pub mod error;
pub mod expect;
pub mod fsutil;
/// Entry points of the fuzz targets (`fuzz/`), in the library so that
/// stable builds compile them and the test suite replays the corpus; not
/// an API.
#[doc(hidden)]
pub mod fuzzing;
pub mod health;
pub mod ioc;
pub mod matcher;
pub mod model;
pub mod output;
pub mod pipeline;
pub mod privilege;
pub mod progress;
pub mod report;
pub mod rules;
pub mod stats;
/// Scenario capture builders for the tests, examples and benchmarks; not
/// an API.
#[doc(hidden)]
pub mod synth;

pub use model::{Alert, AlertKind, DnsResponse, PacketMeta};
pub use pipeline::{Inputs, RunConfig, RunOutcome, run};
