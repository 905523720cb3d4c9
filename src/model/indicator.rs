//! Indicators of compromise as alerts carry them: the value, what it
//! denotes, where it was published and loaded from, and its lifecycle
//! (when it is valid, whether its publisher withdrew it, how old it is).
//! Feeds are parsed and indexed in `ioc`.
//!
//! Validity is judged against the packet's time, not the clock: a 2019
//! capture is matched against intel as it stood in 2019. The lifecycle is
//! a handful of integers so that judging a match costs a few comparisons.

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
    /// The report's address, when the feed gives one (escaped like all
    /// feed text).
    pub url: Option<String>,
    pub lifecycle: Lifecycle,
}

/// Microseconds in a day, the unit of an indicator's age.
const DAY_US: i64 = 86_400 * 1_000_000;

/// Why a feed says an indicator must raise nothing, whatever the time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Retraction {
    /// STIX `revoked: true`: the publisher withdrew it.
    Revoked,
    /// MISP `deleted: true` (a soft-deleted attribute).
    Deleted,
    /// MISP `to_ids: false`: context, not for detection.
    NotForIds,
    /// The MISP event is not published: a draft.
    Unpublished,
}

impl Retraction {
    /// A withdrawal (revoked, deleted) says the value is not bad; the
    /// others only that this copy is not meant for detection. When one
    /// value comes from several feeds, a withdrawal wins over a live copy
    /// and a live copy over a copy not meant for detection.
    pub fn is_withdrawal(self) -> bool {
        matches!(self, Retraction::Revoked | Retraction::Deleted)
    }
}

/// Why a matched indicator raised no alert: counted per reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ignored {
    Revoked,
    Deleted,
    NotForIds,
    Unpublished,
    /// `valid_until` lies before the packet.
    Expired,
    /// `valid_from` lies after the packet.
    NotYetValid,
}

impl Ignored {
    pub const ALL: [Ignored; 6] = [
        Ignored::Revoked,
        Ignored::Expired,
        Ignored::NotYetValid,
        Ignored::NotForIds,
        Ignored::Deleted,
        Ignored::Unpublished,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Ignored::Revoked => "revoked",
            Ignored::Deleted => "deleted",
            Ignored::NotForIds => "not_for_ids",
            Ignored::Unpublished => "unpublished",
            Ignored::Expired => "expired",
            Ignored::NotYetValid => "not_yet_valid",
        }
    }
}

impl From<Retraction> for Ignored {
    fn from(r: Retraction) -> Ignored {
        match r {
            Retraction::Revoked => Ignored::Revoked,
            Retraction::Deleted => Ignored::Deleted,
            Retraction::NotForIds => Ignored::NotForIds,
            Retraction::Unpublished => Ignored::Unpublished,
        }
    }
}

/// When an indicator holds and how much its publisher trusts it; times in
/// microseconds since the Unix epoch, like packet times.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lifecycle {
    pub retracted: Option<Retraction>,
    pub valid_from: Option<i64>,
    pub valid_until: Option<i64>,
    /// When the indicator was last seen or reported: `last_seen`, else
    /// `first_seen`, else when it was created or its report published.
    /// Its age is counted from here.
    pub seen: Option<i64>,
    /// The publisher's confidence, 0..=100.
    pub confidence: Option<u8>,
}

/// A match that stands, with what the alert says about the indicator's age.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Standing {
    /// Whole days from [`Lifecycle::seen`] to the packet; negative when the
    /// packet predates the report (hunting back in old captures).
    pub age_days: Option<i64>,
    /// Older than the configured maximum age: the alert's severity drops
    /// one level.
    pub stale: bool,
}

impl Lifecycle {
    /// Whether a match at packet time `ts_us` stands, and how old the
    /// indicator then is; `max_age_days` 0 never ages an indicator.
    pub fn judge(&self, ts_us: i64, max_age_days: u32) -> Result<Standing, Ignored> {
        if let Some(r) = self.retracted {
            return Err(r.into());
        }
        if self.valid_until.is_some_and(|until| ts_us > until) {
            return Err(Ignored::Expired);
        }
        if self.valid_from.is_some_and(|from| ts_us < from) {
            return Err(Ignored::NotYetValid);
        }
        let age_days = self
            .seen
            .map(|seen| ts_us.saturating_sub(seen).div_euclid(DAY_US));
        let stale = max_age_days > 0 && age_days.is_some_and(|d| d > i64::from(max_age_days));
        Ok(Standing { age_days, stale })
    }
}

/// What an IOC alert carries: the indicator and its standing at the
/// packet's time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IocMatch {
    pub indicator: Arc<Indicator>,
    pub age_days: Option<i64>,
    pub stale: bool,
}

impl IocMatch {
    pub fn new(indicator: Arc<Indicator>, standing: Standing) -> IocMatch {
        IocMatch {
            indicator,
            age_days: standing.age_days,
            stale: standing.stale,
        }
    }
}

impl std::ops::Deref for IocMatch {
    type Target = Indicator;

    fn deref(&self) -> &Indicator {
        &self.indicator
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = DAY_US;

    #[test]
    fn validity_is_judged_at_packet_time() {
        let l = Lifecycle {
            valid_from: Some(10 * DAY),
            valid_until: Some(20 * DAY),
            seen: Some(10 * DAY),
            ..Lifecycle::default()
        };
        assert_eq!(l.judge(9 * DAY, 365), Err(Ignored::NotYetValid));
        assert_eq!(l.judge(21 * DAY, 365), Err(Ignored::Expired));
        assert_eq!(
            l.judge(15 * DAY + 1, 365),
            Ok(Standing {
                age_days: Some(5),
                stale: false
            })
        );
        assert_eq!(l.judge(20 * DAY, 365).map(|s| s.age_days), Ok(Some(10)));
    }

    #[test]
    fn age_past_the_limit_is_stale_and_zero_never_ages() {
        let l = Lifecycle {
            seen: Some(0),
            ..Lifecycle::default()
        };
        assert!(!l.judge(365 * DAY, 365).unwrap().stale);
        assert!(l.judge(366 * DAY, 365).unwrap().stale);
        assert!(!l.judge(9000 * DAY, 0).unwrap().stale);
        assert_eq!(l.judge(-DAY / 2, 365).unwrap().age_days, Some(-1));
        assert_eq!(Lifecycle::default().judge(0, 1).unwrap().age_days, None);
    }

    #[test]
    fn a_retraction_wins_over_any_time() {
        let l = Lifecycle {
            retracted: Some(Retraction::NotForIds),
            ..Lifecycle::default()
        };
        assert_eq!(l.judge(0, 365), Err(Ignored::NotForIds));
    }
}
