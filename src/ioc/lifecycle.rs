//! Reading an indicator's lifecycle from feed text: times, confidence,
//! and which feed fields feed [`Lifecycle::seen`], the point its age is
//! counted from (last seen, else the latest of first seen, creation and
//! report publication).

use crate::model::Lifecycle;

/// A point in time as feeds write it: RFC 3339 (`2019-01-25T10:00:00Z`),
/// a date and time without offset (read as UTC), a date (midnight UTC), or
/// Unix seconds (MISP's `timestamp`). Several values joined by ` | ` or
/// ` ; ` (one indicator named by several reports) are read as the latest.
/// `Err` names what is wrong; microseconds since the epoch otherwise.
pub(super) fn parse_time(text: &str) -> Result<i64, String> {
    let mut latest: Option<i64> = None;
    for part in text.split(['|', ';']).map(str::trim) {
        let t = one_time(part).ok_or_else(|| {
            format!(
                "`{part}` is not a date or time (expected e.g. 2019-01-25 or 2019-01-25T10:00:00Z)"
            )
        })?;
        latest = Some(latest.map_or(t, |l| l.max(t)));
    }
    latest.ok_or_else(|| "empty date".to_string())
}

fn one_time(s: &str) -> Option<i64> {
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        let secs: i64 = s.parse().ok()?;
        return jiff::Timestamp::from_second(secs)
            .ok()
            .map(|t| t.as_microsecond());
    }
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Some(t.as_microsecond());
    }
    let civil = s
        .parse::<jiff::civil::DateTime>()
        .ok()
        .or_else(|| s.parse::<jiff::civil::Date>().ok().map(Into::into))?;
    jiff::tz::TimeZone::UTC
        .to_timestamp(civil)
        .ok()
        .map(|t| t.as_microsecond())
}

/// A confidence 0..=100 (STIX's scale), or one of the words STIX 2.1
/// Appendix A maps onto it: none 0, low 15, medium 50, high 85.
pub(super) fn parse_confidence(text: &str) -> Result<u8, String> {
    let t = text.trim();
    let word = match t.to_ascii_lowercase().as_str() {
        "none" => Some(0),
        "low" => Some(15),
        "med" | "medium" => Some(50),
        "high" => Some(85),
        _ => None,
    };
    word.or_else(|| t.parse::<u8>().ok().filter(|c| *c <= 100))
        .ok_or_else(|| {
            format!("confidence `{text}` is neither a whole number from 0 to 100 nor none, low, medium or high")
        })
}

/// The lifecycle fields a feed row or object holds, before they are
/// folded into a [`Lifecycle`].
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Times {
    pub valid_from: Option<i64>,
    pub valid_until: Option<i64>,
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
    /// Created, modified or published: when the intel was last stated.
    pub reported: Option<i64>,
    pub confidence: Option<u8>,
}

impl Times {
    pub(super) fn lifecycle(&self) -> Lifecycle {
        let stated = match (self.first_seen, self.reported) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        Lifecycle {
            retracted: None,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            seen: self.last_seen.or(stated),
            confidence: self.confidence,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_as_feeds_write_them() {
        let day = 86_400 * 1_000_000i64;
        let d = parse_time("2019-01-25").unwrap();
        assert_eq!(d, 17_921 * day);
        assert_eq!(parse_time("2019-01-25T00:00:00Z").unwrap(), d);
        assert_eq!(parse_time("2019-01-25T01:00:00+01:00").unwrap(), d);
        assert_eq!(parse_time("2019-01-25T00:00:00.000000+00:00").unwrap(), d);
        assert_eq!(parse_time("2019-01-25 00:00:00").unwrap(), d);
        assert_eq!(parse_time("1548374400").unwrap(), d);
        assert_eq!(parse_time("2018-11-27 | 2019-01-25").unwrap(), d);
        assert_eq!(parse_time("2019-01-25 ; 2018-11-27").unwrap(), d);
        assert!(parse_time("25/01/2019").unwrap_err().contains("25/01/2019"));
        assert!(parse_time("").is_err());
    }

    #[test]
    fn confidence_is_a_percentage() {
        assert_eq!(parse_confidence("85"), Ok(85));
        assert_eq!(parse_confidence("High"), Ok(85));
        assert_eq!(parse_confidence("low"), Ok(15));
        assert!(parse_confidence("101").is_err());
        assert!(parse_confidence("very high").is_err());
    }

    #[test]
    fn age_counts_from_last_seen_else_the_latest_statement() {
        let t = Times {
            first_seen: Some(5),
            reported: Some(9),
            ..Times::default()
        };
        assert_eq!(t.lifecycle().seen, Some(9));
        let t = Times {
            last_seen: Some(3),
            ..t
        };
        assert_eq!(t.lifecycle().seen, Some(3));
    }
}
