//! What the organisation decided about alerts, applied after matching and
//! before suppression (so a suppressed count never holds an allowed
//! alert): scoped allow entries, and the severity a zone's owner sets per
//! kind. Runs in the output stage, where every kind of alert, spoofing
//! findings included, passes in capture order, so an expired entry is
//! reported exactly once.

use std::sync::Arc;

use crate::expect::SeverityChoice;
use crate::model::Alert;
use crate::model::names::fold_into;
use crate::model::text::escape_text;
use crate::rules::{Rules, SharedRules};
use crate::stats::{AllowCount, PolicyCounts};

/// The output stage's view of allow entries and zone severities.
#[derive(Debug)]
pub struct AlertPolicy {
    shared: SharedRules,
    rules: Arc<Rules>,
    /// This sensor's name, what an entry's `sensor` names.
    sensor: String,
    folded: String,
    pub counts: PolicyCounts,
}

impl AlertPolicy {
    pub fn new(shared: SharedRules, sensor: String) -> AlertPolicy {
        let rules = shared.load_full();
        let mut p = AlertPolicy {
            shared,
            rules: Arc::clone(&rules),
            sensor,
            folded: String::new(),
            counts: PolicyCounts::default(),
        };
        p.list_entries();
        p
    }

    /// Every entry in use gets its line in the counts, so one that allowed
    /// nothing shows as such.
    fn list_entries(&mut self) {
        for e in self.rules.allow_entries.entries() {
            if !self.counts.allowed.iter().any(|c| c.entry == e.label) {
                self.counts.allowed.push(AllowCount {
                    entry: e.label.clone(),
                    reason: e.reason.clone(),
                    allowed: 0,
                    expired: false,
                });
            }
        }
    }

    /// Takes up the latest rules (after a reload).
    fn refresh(&mut self) {
        let current = self.shared.load();
        if !Arc::ptr_eq(&current, &self.rules) {
            self.rules = Arc::clone(&current);
            self.list_entries();
        }
    }

    /// Reports, once, every allow entry whose `until` lies before `ts`
    /// (microseconds since the epoch), the latest packet's time: an
    /// entry's expiry is news when the traffic passes it, not only when
    /// an alert it would have covered arrives.
    pub fn expire_up_to(&mut self, ts: i64) {
        self.refresh();
        let rules = Arc::clone(&self.rules);
        for e in rules.allow_entries.entries() {
            if e.expired_at(ts) {
                self.report_expired(e);
            }
        }
    }

    /// Removes the alerts an allow entry covers or the owner's zone turns
    /// off (counting each), and sets the zone's severity on the others.
    pub fn apply(&mut self, alerts: &mut Vec<Alert>) {
        if alerts.is_empty() {
            return;
        }
        self.refresh();
        let rules = Arc::clone(&self.rules);
        if rules.allow_entries.is_empty() && !rules.expected.any_severity() {
            return;
        }
        alerts.retain_mut(|a| self.keep(&rules, a));
    }

    fn keep(&mut self, rules: &Rules, alert: &mut Alert) -> bool {
        fold_into(&alert.owner, &mut self.folded);
        let ts = alert.meta.ts.0;
        let mut covered_by = None;
        for e in rules.allow_entries.candidates(alert.kind) {
            if !e.covers(alert, &self.folded, &self.sensor) {
                continue;
            }
            if e.expired_at(ts) {
                self.report_expired(e);
                continue;
            }
            covered_by = Some(&e.label);
            break;
        }
        if let Some(label) = covered_by {
            if let Some(c) = self.counts.allowed.iter_mut().find(|c| c.entry == *label) {
                c.allowed += 1;
            }
            return false;
        }
        let choice = rules
            .expected
            .zone_for(&self.folded)
            .and_then(|z| z.severity.get(&alert.kind));
        match choice {
            Some(SeverityChoice::Off) => {
                self.counts.severity_off.add(alert.kind);
                false
            }
            Some(SeverityChoice::Alert(s)) => {
                alert.severity_override = Some(*s);
                true
            }
            None => true,
        }
    }

    fn report_expired(&mut self, e: &crate::rules::AllowEntry) {
        let Some(c) = self.counts.allowed.iter_mut().find(|c| c.entry == e.label) else {
            return;
        };
        if c.expired {
            return;
        }
        c.expired = true;
        tracing::warn!(
            entry = %escape_text(&e.label),
            until = %escape_text(e.until_text.as_deref().unwrap_or("")),
            reason = %escape_text(&e.reason),
            "Allow entry past its `until`: it no longer applies, and the alerts it covered are raised again"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expect::parse_expect;
    use crate::model::{AlertDetail, AlertKind, Severity};
    use crate::rules::allow::parse_allow_all;
    use crate::rules::{AllowList, shared};

    fn policy() -> AlertPolicy {
        let entries = parse_allow_all(
            "a.toml",
            "[[allow]]\nkind = \"unexpected_address\"\nzone = \"example.org\"\nuntil = \"2019-01-10\"\nreason = \"move\"\n",
        )
        .unwrap();
        let expected = parse_expect(
            "z.toml",
            "[[zone]]\nname = \"example.org\"\nseverity = { unexpected_mx = \"off\", unexpected_ns = \"low\" }\n",
        )
        .unwrap();
        let rules = Rules {
            allow_entries: AllowList::new(entries),
            expected,
            ..Rules::default()
        };
        AlertPolicy::new(shared(rules), "s".into())
    }

    fn alert(kind: AlertKind, owner: &str, day_offset: i64) -> Alert {
        let mut a = Alert::sample(
            kind,
            owner,
            "192.0.2.1",
            AlertDetail::Zone {
                zone: "example.org".into(),
                expected: Vec::new().into(),
            },
        );
        // The sample is 2019-01-10 09:00 UTC.
        a.meta.ts.0 += day_offset * 86_400_000_000;
        a
    }

    #[test]
    fn allows_until_the_packets_time_then_reports_once_and_applies_severities() {
        let mut p = policy();
        let mut alerts = vec![
            alert(AlertKind::UnexpectedAddress, "www.example.org", 0),
            alert(AlertKind::UnexpectedAddress, "www.example.com", 0),
            alert(AlertKind::UnexpectedMx, "example.org", 0),
            alert(AlertKind::UnexpectedNs, "example.org", 0),
            alert(AlertKind::UnexpectedAddress, "www.example.org", 1),
            alert(AlertKind::UnexpectedAddress, "mail.example.org", 2),
        ];
        p.apply(&mut alerts);
        let left: Vec<(AlertKind, &str, Severity)> = alerts
            .iter()
            .map(|a| (a.kind, a.owner.as_str(), a.severity()))
            .collect();
        assert_eq!(
            left,
            [
                (
                    AlertKind::UnexpectedAddress,
                    "www.example.com",
                    Severity::Medium
                ),
                (AlertKind::UnexpectedNs, "example.org", Severity::Low),
                (
                    AlertKind::UnexpectedAddress,
                    "www.example.org",
                    Severity::Medium
                ),
                (
                    AlertKind::UnexpectedAddress,
                    "mail.example.org",
                    Severity::Medium
                ),
            ]
        );
        assert_eq!(
            p.counts.allowed,
            [AllowCount {
                entry: "a.toml:1".into(),
                reason: "move".into(),
                allowed: 1,
                expired: true,
            }]
        );
        assert_eq!(p.counts.severity_off.get(AlertKind::UnexpectedMx), 1);
    }

    #[test]
    fn an_entry_expires_when_the_traffic_passes_its_until_alert_or_not() {
        let mut p = policy();
        let until_day = 1_547_164_799_999_999; // 2019-01-10T23:59:59.999999Z
        p.expire_up_to(until_day);
        assert!(!p.counts.allowed[0].expired);
        p.expire_up_to(until_day + 1);
        assert!(p.counts.allowed[0].expired);
        assert_eq!(p.counts.allowed[0].allowed, 0, "no alert was needed");
        // Once: a later alert in its scope is raised, not reported again.
        let mut alerts = vec![alert(AlertKind::UnexpectedAddress, "www.example.org", 2)];
        p.apply(&mut alerts);
        assert_eq!(alerts.len(), 1);
    }
}
