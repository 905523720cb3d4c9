//! Indicators of compromise as alerts carry them: the value, what it
//! denotes, and where it was published and loaded from. Feeds are parsed
//! and indexed in `ioc`.

use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;

/// What an indicator denotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IndicatorType {
    Ipv4,
    Ipv6,
    /// An IPv4 or IPv6 network in CIDR notation.
    Cidr,
    /// A domain: matches itself and every name under it.
    Domain,
}

impl IndicatorType {
    pub fn as_str(self) -> &'static str {
        match self {
            IndicatorType::Ipv4 => "ipv4",
            IndicatorType::Ipv6 => "ipv6",
            IndicatorType::Cidr => "cidr",
            IndicatorType::Domain => "domain",
        }
    }
}

/// The parsed value of an indicator.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum IndicatorValue {
    Addr(IpAddr),
    Net(IpNet),
    /// Lower case, no trailing dot, ASCII (IDNs as A-labels).
    Domain(String),
}

/// One indicator with where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Indicator {
    pub value: IndicatorValue,
    pub kind: IndicatorType,
    /// The report or list the indicator was published in (feed metadata).
    pub source: Option<String>,
    /// Where exactly (URL, document, commit) it was read from.
    pub reference: Option<String>,
    /// Other metadata columns of the feed, in file order.
    pub meta: Vec<(String, String)>,
    /// The feed file the indicator was loaded from.
    pub feed: Arc<str>,
    /// Line of the feed file.
    pub line: u64,
}

impl Indicator {
    /// The indicator as text: address, CIDR or domain.
    pub fn text(&self) -> String {
        match &self.value {
            IndicatorValue::Addr(a) => a.to_string(),
            IndicatorValue::Net(n) => n.to_string(),
            IndicatorValue::Domain(d) => d.clone(),
        }
    }
}
