//! Weird-log sampling, as Zeek samples its weird.log: an attacker who
//! floods the wire with fragments, SYNs or compression bombs makes one
//! anomaly per packet, and a line per anomaly would fill the disk the
//! alerts are written to. Per anomaly name, the first
//! [`WEIRD_SAMPLE_FIRST`] in each [`WEIRD_SAMPLE_WINDOW_US`] of packet
//! time are logged, then one in [`WEIRD_SAMPLE_RATE`]. Every anomaly is
//! still counted by name in the summary; the lines left out are counted as
//! `weird_log_sampled`.

use std::collections::HashMap;

use crate::model::{Malformed, MalformedCounts, Weird};

/// Lines per anomaly name logged in full in each window (Zeek's
/// `Weird::sampling_threshold`).
pub const WEIRD_SAMPLE_FIRST: u64 = 1000;
/// Past that, one line in this many (Zeek's `Weird::sampling_rate`).
pub const WEIRD_SAMPLE_RATE: u64 = 1000;
/// The window, in packet time (Zeek's `Weird::sampling_duration`).
pub const WEIRD_SAMPLE_WINDOW_US: i64 = 600_000_000;

/// Decides, in capture order, which anomalies get a weird-log line.
#[derive(Debug, Default)]
pub struct WeirdSampler {
    /// Anomalies of each name in the current window. Names are the
    /// `&'static str` of a fixed set of reasons, so the map stays small.
    seen: HashMap<&'static str, u64>,
    window_start: Option<i64>,
}

impl WeirdSampler {
    /// Whether `w` gets a line; a line left out is counted in `bounds`.
    pub fn admit(&mut self, w: &Weird, bounds: &mut MalformedCounts) -> bool {
        let now = w.ts.0;
        match self.window_start {
            Some(start) if now.saturating_sub(start) < WEIRD_SAMPLE_WINDOW_US => {}
            _ => {
                self.window_start = Some(now);
                self.seen.clear();
            }
        }
        let n = self.seen.entry(w.name).or_insert(0);
        *n += 1;
        let logged =
            *n <= WEIRD_SAMPLE_FIRST || (*n - WEIRD_SAMPLE_FIRST).is_multiple_of(WEIRD_SAMPLE_RATE);
        if !logged {
            bounds.add(Malformed::WeirdLogSampled);
        }
        logged
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SourceRef, Timestamp};

    fn weird(name: &'static str, ts: i64) -> Weird {
        Weird {
            ts: Timestamp(ts),
            name,
            src_ip: None,
            dst_ip: None,
            src_port: None,
            dst_port: None,
            source: SourceRef { file: 0, packet: 1 },
        }
    }

    #[test]
    fn a_flood_of_one_anomaly_is_sampled_and_others_are_not_held_back() {
        let mut s = WeirdSampler::default();
        let mut bounds = MalformedCounts::default();
        let flood = 1_000_000u64;
        let logged = (0..flood)
            .filter(|_| s.admit(&weird("ip_fragments_evicted", 1), &mut bounds))
            .count() as u64;
        assert_eq!(
            logged,
            WEIRD_SAMPLE_FIRST + (flood - WEIRD_SAMPLE_FIRST) / WEIRD_SAMPLE_RATE
        );
        assert_eq!(bounds.get(Malformed::WeirdLogSampled), flood - logged);
        // Another anomaly in the thick of the flood is logged.
        assert!(s.admit(&weird("dns_label_invalid", 2), &mut bounds));
        // A new window starts the count again.
        assert!(s.admit(
            &weird("ip_fragments_evicted", 1 + WEIRD_SAMPLE_WINDOW_US),
            &mut bounds
        ));
        let next = (0..WEIRD_SAMPLE_FIRST)
            .filter(|_| {
                s.admit(
                    &weird("ip_fragments_evicted", 2 + WEIRD_SAMPLE_WINDOW_US),
                    &mut bounds,
                )
            })
            .count() as u64;
        assert_eq!(next, WEIRD_SAMPLE_FIRST - 1);
    }
}
