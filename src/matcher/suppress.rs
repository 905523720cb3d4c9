//! Suppression: one (kind, owner, value) alerts once per window, then fires
//! again carrying how many were suppressed meanwhile. Runs in the output
//! thread, in capture order, on packet time, so it is deterministic and an
//! offline replay suppresses exactly as the live wire did.

use std::collections::HashMap;

use crate::model::names::fold_into;
use crate::model::{Alert, AlertKind, Malformed, MalformedCounts};
use crate::stats::AlertCounts;

/// The stable id of an alert: FNV-1a (64-bit) of kind, folded owner and
/// value. The same detection gets the same id in every run and every
/// version, so a SIEM can group on it.
pub fn alert_id(alert: &Alert) -> u64 {
    use std::hash::Hasher;
    let mut owner = String::with_capacity(alert.owner.len());
    fold_into(&alert.owner, &mut owner);
    let mut h = fnv::FnvHasher::default();
    h.write(alert.kind.as_str().as_bytes());
    h.write(&[0]);
    h.write(owner.as_bytes());
    h.write(&[0]);
    h.write(alert.value.as_bytes());
    h.finish()
}

/// Entries kept at most; past this the oldest half is forgotten (their
/// next occurrence fires as new).
const MAX_TRACKED: usize = 1 << 20;

#[derive(Debug)]
pub struct Suppressor {
    window_us: i64,
    /// id → (packet time it last fired, suppressed since).
    seen: HashMap<u64, (i64, u64)>,
    pub suppressed: AlertCounts,
    /// [`MAX_TRACKED`], smaller in tests.
    max_tracked: usize,
}

impl Suppressor {
    /// `window_us` of 0 disables suppression.
    pub fn new(window_us: i64) -> Self {
        Suppressor {
            window_us,
            seen: HashMap::new(),
            suppressed: AlertCounts::default(),
            max_tracked: MAX_TRACKED,
        }
    }

    /// `None` when the alert is suppressed; otherwise how many like it were
    /// suppressed since it last fired.
    /// The table's bound biting is counted in `bounds`
    /// (`suppression_table_trimmed`).
    pub fn admit(&mut self, alert: &Alert, id: u64, bounds: &mut MalformedCounts) -> Option<u64> {
        if self.window_us <= 0 {
            return Some(0);
        }
        let now = alert.meta.ts.0;
        match self.seen.get_mut(&id) {
            Some((last, count)) if now.saturating_sub(*last) < self.window_us => {
                *count += 1;
                self.suppressed.add(alert.kind);
                None
            }
            Some(entry) => {
                let count = entry.1;
                *entry = (now, 0);
                Some(count)
            }
            None => {
                if self.seen.len() >= self.max_tracked {
                    self.forget_oldest();
                    bounds.add(Malformed::SuppressionTableTrimmed);
                }
                self.seen.insert(id, (now, 0));
                Some(0)
            }
        }
    }

    fn forget_oldest(&mut self) {
        let mut times: Vec<i64> = self.seen.values().map(|(t, _)| *t).collect();
        let mid = times.len() / 2;
        let (_, cutoff, _) = times.select_nth_unstable(mid);
        let cutoff = *cutoff;
        self.seen.retain(|_, (t, _)| *t > cutoff);
    }

    pub fn suppressed_of(&self, kind: AlertKind) -> u64 {
        self.suppressed.get(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn alert(owner: &str, value: &str, secs: i64) -> Alert {
        let zone = AlertDetail::Zone {
            zone: "z".into(),
            expected: Vec::new().into(),
        };
        let mut a = Alert::sample(AlertKind::IocAddress, owner, value, zone);
        a.meta.ts = Timestamp(secs * 1_000_000);
        a
    }

    #[test]
    fn ids_are_stable_and_case_blind_on_the_owner() {
        let a = alert("Mail.Example.ORG", "192.0.2.9", 0);
        let b = alert("mail.example.org", "192.0.2.9", 99);
        assert_eq!(alert_id(&a), alert_id(&b));
        assert_ne!(
            alert_id(&a),
            alert_id(&alert("mail.example.org", "192.0.2.8", 0))
        );
        // Pinned (FNV-1a of "ioc_address\0mail.example.org\0192.0.2.9",
        // computed independently): the id must not change between versions.
        assert_eq!(format!("{:016x}", alert_id(&b)), "6e2d6c1259f8a6df");
    }

    #[test]
    fn once_per_window_then_again_with_the_count() {
        let mut s = Suppressor::new(3_600_000_000);
        let id = alert_id(&alert("a.test", "1.2.3.4", 0));
        let admit_at = |s: &mut Suppressor, secs| {
            s.admit(
                &alert("a.test", "1.2.3.4", secs),
                id,
                &mut MalformedCounts::default(),
            )
        };
        assert_eq!(admit_at(&mut s, 0), Some(0));
        assert_eq!(admit_at(&mut s, 10), None);
        assert_eq!(admit_at(&mut s, 3599), None);
        assert_eq!(admit_at(&mut s, 3600), Some(2));
        assert_eq!(admit_at(&mut s, 3601), None);
        assert_eq!(s.suppressed_of(AlertKind::IocAddress), 3);
        let mut off = Suppressor::new(0);
        assert_eq!(admit_at(&mut off, 0), Some(0));
        assert_eq!(admit_at(&mut off, 0), Some(0));
    }

    /// A flood of distinct alerts fills the table: its older half is
    /// forgotten, in O(1) amortised work, and every time that happens it
    /// is counted, since those alerts' repeats are then written again.
    #[test]
    fn the_bound_forgets_the_older_half_and_is_counted() {
        let mut s = Suppressor::new(3_600_000_000);
        s.max_tracked = 100;
        let mut bounds = MalformedCounts::default();
        let flood: Vec<Alert> = (0..250)
            .map(|i| alert(&format!("h{i}.test"), "1.2.3.4", i))
            .collect();
        for a in &flood {
            assert_eq!(s.admit(a, alert_id(a), &mut bounds), Some(0));
        }
        assert!(s.seen.len() <= 100, "{}", s.seen.len());
        let trims = bounds.get(Malformed::SuppressionTableTrimmed);
        assert!((2..=4).contains(&trims), "{trims}");
        // The newest are still held back; the oldest fire again.
        let newest = &flood[249];
        assert_eq!(s.admit(newest, alert_id(newest), &mut bounds), None);
        let oldest = &flood[0];
        assert_eq!(s.admit(oldest, alert_id(oldest), &mut bounds), Some(0));
    }
}
