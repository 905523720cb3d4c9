//! Suppression: one (kind, owner, value) alerts once per window, then fires
//! again carrying how many were suppressed meanwhile. Runs in the output
//! thread, in capture order, on packet time, so it is deterministic and an
//! offline replay suppresses exactly as the live wire did.

use std::collections::HashMap;

use crate::model::names::fold_into;
use crate::model::{Alert, AlertKind};
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
}

impl Suppressor {
    /// `window_us` of 0 disables suppression.
    pub fn new(window_us: i64) -> Self {
        Suppressor {
            window_us,
            seen: HashMap::new(),
            suppressed: AlertCounts::default(),
        }
    }

    /// `None` when the alert is suppressed; otherwise how many like it were
    /// suppressed since it last fired.
    pub fn admit(&mut self, alert: &Alert, id: u64) -> Option<u64> {
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
                if self.seen.len() >= MAX_TRACKED {
                    self.forget_oldest();
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
        assert_eq!(s.admit(&alert("a.test", "1.2.3.4", 0), id), Some(0));
        assert_eq!(s.admit(&alert("a.test", "1.2.3.4", 10), id), None);
        assert_eq!(s.admit(&alert("a.test", "1.2.3.4", 3599), id), None);
        assert_eq!(s.admit(&alert("a.test", "1.2.3.4", 3600), id), Some(2));
        assert_eq!(s.admit(&alert("a.test", "1.2.3.4", 3601), id), None);
        assert_eq!(s.suppressed_of(AlertKind::IocAddress), 3);
        let mut off = Suppressor::new(0);
        assert_eq!(off.admit(&alert("a.test", "1.2.3.4", 0), id), Some(0));
        assert_eq!(off.admit(&alert("a.test", "1.2.3.4", 0), id), Some(0));
    }
}
