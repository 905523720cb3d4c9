//! `dnsentry audit`: active checks of the organisation's own zones, the
//! first mitigation of CISA AA19-024A ("audit public DNS records to verify
//! they are resolving to the intended location"). A passive sensor sees
//! only names someone happens to look up; the audit goes and asks.
//!
//! ```text
//! hints ──▶ delegation ──▶ run (plan per zone) ──▶ report
//! (root    (iterative,     parent: NS, DS         every answer through the
//!  hints)   from the root)  authoritative: SOA,    pipeline's Processor and
//!                           NS, MX, A/AAAA/CNAME   Emitter; failures as
//!              client: UDP/TCP, checked, paced     audit_failed events
//! ```
//!
//! Answers are compared by the passive matcher itself: each is decoded and
//! matched as a captured response is ([`crate::pipeline::batch`]), so the
//! alert kinds and zone semantics are the same by construction. Only the
//! source differs: the question asked ([`crate::model::audit`]).

// Answers come from servers a hijacker may have named: every access is checked.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

pub mod client;
pub mod consistency;
pub mod delegation;
pub mod dnssec;
pub mod hints;
pub mod periodic;
pub mod plan;
pub mod report;
pub mod resolvconf;
pub mod run;

pub use run::{AuditOptions, AuditResult, audit};

/// What the audit finds by comparing answers with each other (and not
/// one answer with the expect file, which is the matcher's): one alert
/// on one answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub kind: crate::model::AlertKind,
    /// Index of the answer in the audit's answers.
    pub answer: usize,
    /// Owner, presentation format without the trailing dot.
    pub owner: String,
    pub rrtype: u16,
    pub ttl: Option<u32>,
    /// The monitored zone (folded).
    pub zone: String,
    pub value: String,
    pub expected: Vec<String>,
}
