//! Alerts over packet time, per timeline row, in a fixed number of bins
//! whatever the period: the bin width starts at a microsecond and doubles
//! (merging bins in pairs) whenever the alerts a row has seen span more
//! bins than it keeps. So a row costs the same for a minute of alerts as
//! for a year, and the alerts need not come in time order (files from
//! several sensors).

use std::collections::BTreeMap;

use crate::model::AlertKind;

/// Bins a row keeps; the page draws fewer, so every drawn bin is made of
/// at least one kept bin.
pub const BINS: i64 = 512;

/// Kinds a bin counts: dnsentry's own, then one for any other.
pub const KINDS: usize = AlertKind::ALL.len() + 1;

/// Alerts of each kind in one bin.
pub type KindCounts = [u32; KINDS];

/// The index of `kind` in [`KindCounts`].
pub fn kind_index(kind: &str) -> usize {
    AlertKind::parse(kind).map_or(KINDS - 1, |k| k as usize)
}

/// The kind at `index` of [`KindCounts`].
pub fn kind_name(index: usize) -> &'static str {
    AlertKind::ALL.get(index).map_or("other", |k| k.as_str())
}

/// One row's alerts over time.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Histogram {
    /// A bin is 2^shift microseconds wide.
    shift: u32,
    bins: BTreeMap<i64, KindCounts>,
}

impl Histogram {
    pub fn add(&mut self, micros: i64, kind: usize) {
        let mut bin = micros >> self.shift;
        while self.shift < 62 && !self.fits(bin) {
            self.shift += 1;
            let old = std::mem::take(&mut self.bins);
            for (b, counts) in old {
                let merged = self.bins.entry(b >> 1).or_default();
                for (m, c) in merged.iter_mut().zip(counts) {
                    *m = m.saturating_add(c);
                }
            }
            bin = micros >> self.shift;
        }
        if let Some(c) = self.bins.entry(bin).or_default().get_mut(kind) {
            *c = c.saturating_add(1);
        }
    }

    fn fits(&self, bin: i64) -> bool {
        match (self.bins.first_key_value(), self.bins.last_key_value()) {
            (Some((&lo, _)), Some((&hi, _))) => hi.max(bin) - lo.min(bin) < BINS,
            _ => true,
        }
    }

    /// Every non-empty bin: its middle (microseconds) and its counts.
    pub fn bins(&self) -> impl Iterator<Item = (i64, &KindCounts)> {
        let width = 1i64 << self.shift;
        self.bins
            .iter()
            .map(move |(b, c)| (b.saturating_mul(width).saturating_add(width / 2), c))
    }

    pub fn total(&self) -> u64 {
        self.bins
            .values()
            .flat_map(|c| c.iter())
            .map(|&n| u64::from(n))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_year_of_alerts_keeps_at_most_its_bins_and_every_count() {
        let mut h = Histogram::default();
        let year = 365 * 86_400 * 1_000_000i64;
        let ioc = kind_index("ioc_address");
        for i in 0..100_000i64 {
            // Out of order: the second half of the year first.
            let t = 1_547_110_800_000_000 + (i * 7919 % 100_000) * (year / 100_000);
            h.add(t, ioc);
        }
        h.add(1_547_110_800_000_000, kind_index("something_new"));
        assert!(h.bins.len() as i64 <= BINS);
        assert_eq!(h.total(), 100_001);
        let (first, counts) = h.bins().next().unwrap();
        assert!(first >= 1_547_110_800_000_000 - year / 256, "{first}");
        assert_eq!(counts[KINDS - 1], 1);
        assert_eq!(kind_name(ioc), "ioc_address");
        assert_eq!(kind_name(KINDS - 1), "other");
    }

    #[test]
    fn alerts_a_second_apart_keep_their_own_bins() {
        let mut h = Histogram::default();
        for s in 0..10 {
            h.add(s * 1_000_000, 0);
        }
        assert_eq!(h.bins().count(), 10);
    }
}
