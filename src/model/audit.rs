//! Where an answer came from when the sensor asked for it itself
//! (`dnsentry audit`): the question, the server and the role the server
//! was asked in. An audited response runs through the same decode and
//! match path as a captured one; this is what its alerts carry instead of
//! a capture file and packet number.

use std::net::SocketAddr;

use super::Transport;
use super::names::type_name;

/// What the audited server is to the zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AuditRole {
    /// A server of the parent zone: it holds the delegation (NS, glue, DS).
    Parent,
    /// A server the expect file or the parent names as the zone's own.
    Authoritative,
    /// A recursive resolver clients use.
    Resolver,
}

impl AuditRole {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditRole::Parent => "parent",
            AuditRole::Authoritative => "authoritative",
            AuditRole::Resolver => "resolver",
        }
    }
}

/// One question the audit asked one server, and how the answer came.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditQuery {
    /// Address and port the question went to (and the answer came from).
    pub server: SocketAddr,
    /// The server's host name, as the expect file or a delegation names
    /// it (presentation format, as decoded names are); `None` when only
    /// its address is known.
    pub server_name: Option<String>,
    pub role: AuditRole,
    /// The monitored zone the question was asked for.
    pub zone: String,
    /// Question name, without the trailing dot.
    pub qname: String,
    pub qtype: u16,
    /// What the answer came over: TCP after a truncated UDP answer.
    pub transport: Transport,
}

impl AuditQuery {
    /// `example.org MX`, as messages show a question.
    pub fn question(&self) -> String {
        format!("{} {}", self.qname, type_name(self.qtype))
    }
}
