//! What the rule loads did, shared by the reloader (writer) and the
//! metrics endpoint (reader): an operator must see that a feed update
//! failed (the sensor keeps matching against the old rules) and how many
//! indicators each feed holds now (a feed truncated by its updater loads
//! fine and matches less).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Indicators one feed or allowlist file contributed to the rules in use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedCount {
    /// The feed's name as alerts carry it (escaped, or the built-in name).
    pub name: String,
    pub allowlist: bool,
    pub indicators: usize,
}

/// Reload counters and the feeds of the rules in use.
#[derive(Debug, Default)]
pub struct RuleStats {
    reloads_ok: AtomicU64,
    reloads_failed: AtomicU64,
    /// Milliseconds since the Unix epoch of the last load that succeeded,
    /// the one at start included; 0 before any.
    last_success_ms: AtomicU64,
    last_failed: AtomicBool,
    feeds: Mutex<Vec<FeedCount>>,
}

/// A copy of [`RuleStats`] at one moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RuleStatsSnapshot {
    pub reloads_ok: u64,
    pub reloads_failed: u64,
    /// Seconds since the Unix epoch; 0 before any load.
    pub last_success_unix: f64,
    /// Whether the latest load attempt succeeded.
    pub last_ok: bool,
    pub feeds: Vec<FeedCount>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl RuleStats {
    /// The load at start: its feeds and time, not counted as a reload.
    pub fn loaded(&self, feeds: Vec<FeedCount>) {
        self.last_success_ms.store(now_ms(), Ordering::Relaxed);
        self.last_failed.store(false, Ordering::Relaxed);
        if let Ok(mut f) = self.feeds.lock() {
            *f = feeds;
        }
    }

    /// A reload that replaced the rules.
    pub fn reloaded(&self, feeds: Vec<FeedCount>) {
        self.reloads_ok.fetch_add(1, Ordering::Relaxed);
        self.loaded(feeds);
    }

    /// A reload that failed: the rules in use, and so their feeds, stay.
    pub fn reload_failed(&self) {
        self.reloads_failed.fetch_add(1, Ordering::Relaxed);
        self.last_failed.store(true, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> RuleStatsSnapshot {
        RuleStatsSnapshot {
            reloads_ok: self.reloads_ok.load(Ordering::Relaxed),
            reloads_failed: self.reloads_failed.load(Ordering::Relaxed),
            last_success_unix: self.last_success_ms.load(Ordering::Relaxed) as f64 / 1000.0,
            last_ok: !self.last_failed.load(Ordering::Relaxed),
            feeds: self.feeds.lock().map(|f| f.clone()).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(n: usize) -> Vec<FeedCount> {
        vec![FeedCount {
            name: "f.txt".into(),
            allowlist: false,
            indicators: n,
        }]
    }

    #[test]
    fn a_failed_reload_keeps_the_feeds_and_the_time_of_the_last_good_one() {
        let stats = RuleStats::default();
        stats.loaded(feed(3));
        let start = stats.snapshot();
        assert!(start.last_success_unix > 1.5e9, "{start:?}");
        assert_eq!((start.reloads_ok, start.reloads_failed), (0, 0));
        stats.reload_failed();
        let after = stats.snapshot();
        assert_eq!(after.reloads_failed, 1);
        assert!(!after.last_ok);
        assert_eq!(after.feeds, feed(3));
        assert_eq!(after.last_success_unix, start.last_success_unix);
        stats.reloaded(feed(5));
        let good = stats.snapshot();
        assert_eq!((good.reloads_ok, good.reloads_failed), (1, 1));
        assert!(good.last_ok);
        assert_eq!(good.feeds, feed(5));
    }
}
