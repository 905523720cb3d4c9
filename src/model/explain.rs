//! The sentence each alert carries (`message`): what was seen, on which
//! name, against what, so that an analyst can act on the alert alone.
//!
//! Names and values come from the wire in presentation format, feed text
//! escaped where it was loaded; the sentence goes through the one escape
//! all the same, so no part of it can end a record whatever it holds.

use std::fmt::Write as _;

use super::names::type_name;
use super::text::escape_text;
use super::{Alert, AlertDetail, AlertKind, Section};

/// The feed the tool ships, which the message names by its advisory.
const BUILTIN_FEED: &str = "builtin:aa19-024a.csv";

impl Alert {
    /// One sentence saying what this alert found.
    pub fn message(&self) -> String {
        let mut m = String::with_capacity(160);
        let rr = type_name(self.rrtype);
        let owner = &self.owner;
        let value = &self.value;
        let (zone, expected) = match &self.detail {
            AlertDetail::Zone { zone, expected } => (&**zone, expected.join(", ")),
            _ => ("", String::new()),
        };
        let _ = match self.kind {
            AlertKind::IocAddress => write!(m, "{owner} {rr} answered {value}"),
            AlertKind::IocDomain if self.section == Section::Question => {
                write!(m, "a client asked for {value}")
            }
            AlertKind::IocDomain => write!(
                m,
                "{owner} {rr} in the {} section names {value}",
                self.section.as_str()
            ),
            AlertKind::UnexpectedAddress => write!(
                m,
                "{owner} {rr} answered {value}, outside the addresses expected in zone {zone} ({expected})"
            ),
            AlertKind::UnexpectedNs => write!(
                m,
                "{owner} is delegated to {value}, not to zone {zone}'s name servers ({expected})"
            ),
            AlertKind::UnexpectedNsAddress => write!(
                m,
                "name server {owner} of zone {zone} was given the address {value}, outside its expected glue ({expected})"
            ),
            AlertKind::UnexpectedMx => write!(
                m,
                "{owner} MX names the mail exchange {value}, not zone {zone}'s ({expected})"
            ),
            AlertKind::UnexpectedCname => write!(
                m,
                "{owner} is an alias (CNAME) of {value}, outside the targets zone {zone} allows ({expected})"
            ),
            AlertKind::LowTtl => write!(
                m,
                "{owner} {rr} {value} came with TTL {}, below zone {zone}'s minimum ({expected}): TTLs are lowered before a record is switched",
                self.ttl.unwrap_or(0)
            ),
            AlertKind::UnexpectedResolver => write!(
                m,
                "{value} answered for {} in zone {zone} and is not one of its servers ({expected})",
                self.qname
            ),
            AlertKind::DnssecMissing => write!(
                m,
                "{owner} {rr} in the signed zone {zone} came without {expected} although the query asked for DNSSEC"
            ),
            AlertKind::DnssecInvalid => write!(
                m,
                "{owner} {rr} in the signed zone {zone} does not validate: {value} ({expected}): changed after signing, or signed by someone else"
            ),
            AlertKind::InconsistentServers => write!(
                m,
                "the servers of zone {zone} answer {} {} differently: {value}",
                self.qname,
                self.qtype
                    .map_or_else(|| "?".to_string(), |t| type_name(t).to_string())
            ),
            AlertKind::ConflictingResponse => match &self.detail {
                AlertDetail::Conflict(c) => write!(
                    m,
                    "two different answers to {}'s query for {}: {value} from {}, and earlier {} from {} at {}: an on-path injector races the real server",
                    self.meta.dst_ip, self.qname, self.meta.src_ip, c.value, c.server, c.ts
                ),
                _ => write!(m, "two different answers to the query for {}", self.qname),
            },
        };
        if let AlertDetail::Ioc(ind) = &self.detail {
            let what = if ind.kind == super::IndicatorType::Domain {
                format!(", under {}", ind.text())
            } else if ind.text() != *value {
                format!(", in {}", ind.text())
            } else {
                String::new()
            };
            let _ = if &*ind.feed == BUILTIN_FEED {
                write!(m, "{what}, an AA19-024A indicator")
            } else {
                write!(m, "{what}, an indicator of {}", ind.feed)
            };
            if let Some(source) = &ind.source {
                let _ = write!(m, " ({source})");
            }
            if ind.stale
                && let Some(days) = ind.age_days
            {
                let _ = write!(
                    m,
                    ", last reported {days} days before this packet: past the maximum indicator age, so the severity is lowered"
                );
            }
        }
        escape_text(&m).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::{Indicator, IndicatorType, IndicatorValue, IocMatch, Severity, Standing};
    use super::*;

    #[test]
    fn an_ioc_answer_says_name_type_value_and_the_advisory() {
        let ind = Indicator {
            value: IndicatorValue::Addr("185.20.187.8".parse().unwrap()),
            kind: IndicatorType::Ipv4,
            source: Some("CrowdStrike - Widespread DNS Hijacking".into()),
            reference: None,
            meta: Vec::new(),
            feed: BUILTIN_FEED.into(),
            line: 2,
            url: None,
            lifecycle: Default::default(),
        };
        let fresh = Standing {
            age_days: Some(3),
            stale: false,
        };
        let mut a = Alert::sample(
            AlertKind::IocAddress,
            "mail.example.org",
            "185.20.187.8",
            AlertDetail::Ioc(IocMatch::new(Arc::new(ind), fresh)),
        );
        assert_eq!(
            a.message(),
            "mail.example.org A answered 185.20.187.8, an AA19-024A indicator \
             (CrowdStrike - Widespread DNS Hijacking)"
        );
        assert_eq!(a.severity(), Severity::High);
        assert_eq!(a.rule().severity, 8);
        if let AlertDetail::Ioc(m) = &mut a.detail {
            m.age_days = Some(2500);
            m.stale = true;
        }
        assert!(
            a.message().ends_with(
                ", last reported 2500 days before this packet: past the maximum indicator age, so the severity is lowered"
            ),
            "{}",
            a.message()
        );
        assert_eq!(a.severity(), Severity::Medium);
        assert_eq!(a.rule().severity, 5);
    }

    #[test]
    fn control_characters_in_feed_text_never_reach_the_sentence_raw() {
        let zone = AlertDetail::Zone {
            zone: "example.org".into(),
            expected: vec!["192.0.2.0/24".to_string()].into(),
        };
        let a = Alert::sample(
            AlertKind::UnexpectedAddress,
            "a\u{1b}[31m.example.org",
            "198.51.100.1",
            zone,
        );
        let m = a.message();
        assert!(!m.contains('\u{1b}'), "{m}");
        assert!(m.contains("\\u{1b}[31m"), "{m}");
        assert!(m.contains("outside the addresses expected in zone example.org (192.0.2.0/24)"));
    }
}
