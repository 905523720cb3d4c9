//! What the sensor says about itself in the alert files (`sensor_health`,
//! `capture_loss`, `capture_stalled`, EVE's `stats`), summed per sensor,
//! interface and output, so the page can say what the sensor could not
//! see: packets the kernel or the interface dropped, intervals over the
//! loss threshold, interfaces that went quiet, and messages outputs lost.
//!
//! Health counters grow from the sensor's start and start again at zero
//! when it restarts (its uptime goes back, or a counter does): a restart
//! adds the counters it ended with to a base, so totals span restarts.
//! Events are taken in file order, the order a sensor writes them.

use std::collections::BTreeMap;

/// One interface's counters in a health event, as they stood then.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IfaceCounters {
    /// Empty for EVE `stats`, which sums every interface.
    pub name: String,
    pub received: u64,
    pub kernel_dropped: u64,
    pub interface_dropped: u64,
}

/// One output's counters in a health event.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OutputCounters {
    pub name: String,
    pub kind: String,
    pub queued: u64,
    pub sent: u64,
    pub evicted: u64,
    pub dropped: u64,
}

/// A sensor event, whatever format carried it.
#[derive(Clone, Debug, PartialEq)]
pub enum SensorSample {
    Health {
        ts: String,
        micros: i64,
        sensor: String,
        uptime: Option<u64>,
        interfaces: Vec<IfaceCounters>,
        outputs: Vec<OutputCounters>,
    },
    /// An interval whose drop rate was over the threshold.
    Loss {
        ts: String,
        micros: i64,
        sensor: String,
        interface: String,
        received: u64,
        dropped: u64,
        drop_rate: f64,
    },
    Stalled {
        ts: String,
        micros: i64,
        sensor: String,
        interface: String,
        reason: String,
    },
}

/// Sensors, interfaces and outputs tracked; a forged file naming more is
/// counted, not kept.
const MAX_KEYS: usize = 1000;
/// The worst loss intervals listed.
pub const WORST_LOSSES: usize = 10;

/// A counter set that survives restarts: `base` holds what earlier runs
/// ended with.
#[derive(Clone, Debug, PartialEq)]
struct Running<const N: usize> {
    base: [u64; N],
    last: [u64; N],
}

impl<const N: usize> Default for Running<N> {
    fn default() -> Self {
        Running {
            base: [0; N],
            last: [0; N],
        }
    }
}

impl<const N: usize> Running<N> {
    fn update(&mut self, now: [u64; N], restarted: bool) {
        if restarted || now.iter().zip(&self.last).any(|(n, l)| n < l) {
            for (b, l) in self.base.iter_mut().zip(&self.last) {
                *b = b.saturating_add(*l);
            }
        }
        self.last = now;
    }

    fn total(&self) -> [u64; N] {
        let mut t = self.base;
        for (t, l) in t.iter_mut().zip(&self.last) {
            *t = t.saturating_add(*l);
        }
        t
    }
}

/// First and last time something was reported.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Seen {
    pub first: String,
    pub last: String,
    first_micros: i64,
    last_micros: i64,
    pub reports: u64,
}

impl Seen {
    fn saw(&mut self, ts: &str, micros: i64) {
        if self.reports == 0 || micros < self.first_micros {
            self.first = ts.to_string();
            self.first_micros = micros;
        }
        if self.reports == 0 || micros > self.last_micros {
            self.last = ts.to_string();
            self.last_micros = micros;
        }
        self.reports += 1;
    }
}

/// An interface's capture over every health event of its sensor.
#[derive(Clone, Debug, PartialEq)]
pub struct InterfaceHealth {
    pub sensor: String,
    /// "all interfaces" when the format sums them (EVE).
    pub interface: String,
    pub received: u64,
    pub kernel_dropped: u64,
    pub interface_dropped: u64,
    pub seen: Seen,
}

impl InterfaceHealth {
    pub fn dropped(&self) -> u64 {
        self.kernel_dropped.saturating_add(self.interface_dropped)
    }

    /// Share of the packets on the wire the sensor never saw.
    pub fn loss(&self) -> f64 {
        share(self.dropped(), self.received.saturating_add(self.dropped()))
    }
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// An output's delivery over every health event of its sensor.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputHealth {
    pub sensor: String,
    pub name: String,
    pub kind: String,
    pub queued: u64,
    pub sent: u64,
    pub evicted: u64,
    pub dropped: u64,
}

impl OutputHealth {
    /// Messages (alerts, sensor events) lost for good.
    pub fn lost(&self) -> u64 {
        self.evicted.saturating_add(self.dropped)
    }
}

/// Intervals of one interface over the loss threshold.
#[derive(Clone, Debug, PartialEq)]
pub struct LossHealth {
    pub sensor: String,
    pub interface: String,
    pub intervals: u64,
    pub received: u64,
    pub dropped: u64,
    pub worst_rate: f64,
    pub worst_at: String,
    pub seen: Seen,
}

/// Times one interface stopped seeing DNS or failed.
#[derive(Clone, Debug, PartialEq)]
pub struct StallHealth {
    pub sensor: String,
    pub interface: String,
    pub last_reason: String,
    pub seen: Seen,
}

/// Everything the page says about the sensors.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HealthSummary {
    pub events: u64,
    pub interfaces: Vec<InterfaceHealth>,
    pub outputs: Vec<OutputHealth>,
    pub losses: Vec<LossHealth>,
    pub stalls: Vec<StallHealth>,
    /// Events about sensors, interfaces or outputs past the 1,000 of each
    /// kept.
    pub untracked: u64,
}

impl HealthSummary {
    pub fn packets_dropped(&self) -> u64 {
        self.interfaces.iter().map(InterfaceHealth::dropped).sum()
    }

    pub fn packets_received(&self) -> u64 {
        self.interfaces.iter().map(|i| i.received).sum()
    }

    pub fn loss(&self) -> f64 {
        let dropped = self.packets_dropped();
        share(dropped, self.packets_received().saturating_add(dropped))
    }

    pub fn messages_lost(&self) -> u64 {
        self.outputs.iter().map(OutputHealth::lost).sum()
    }

    pub fn loss_intervals(&self) -> u64 {
        self.losses.iter().map(|l| l.intervals).sum()
    }

    pub fn stalls(&self) -> u64 {
        self.stalls.iter().map(|s| s.seen.reports).sum()
    }
}

type Key = (String, String);

/// Takes sensor events one at a time.
#[derive(Debug, Default)]
pub struct HealthTally {
    events: u64,
    untracked: u64,
    uptime: BTreeMap<String, u64>,
    interfaces: BTreeMap<Key, (Running<3>, Seen)>,
    outputs: BTreeMap<Key, (Running<4>, String)>,
    losses: BTreeMap<Key, LossHealth>,
    stalls: BTreeMap<Key, StallHealth>,
}

/// The entry of `key`, unless the map is full and `key` new.
fn slot<'m, V>(
    map: &'m mut BTreeMap<Key, V>,
    key: Key,
    untracked: &mut u64,
    new: impl FnOnce() -> V,
) -> Option<&'m mut V> {
    if map.len() >= MAX_KEYS && !map.contains_key(&key) {
        *untracked += 1;
        return None;
    }
    Some(map.entry(key).or_insert_with(new))
}

impl HealthTally {
    pub fn add(&mut self, sample: SensorSample) {
        self.events += 1;
        match sample {
            SensorSample::Health {
                ts,
                micros,
                sensor,
                uptime,
                interfaces,
                outputs,
            } => {
                let restarted = match (uptime, self.uptime.get(&sensor)) {
                    (Some(now), Some(&before)) => now < before,
                    _ => false,
                };
                if let Some(now) = uptime
                    && (self.uptime.len() < MAX_KEYS || self.uptime.contains_key(&sensor))
                {
                    self.uptime.insert(sensor.clone(), now);
                }
                for i in interfaces {
                    let key = (sensor.clone(), i.name);
                    if let Some((running, seen)) = slot(
                        &mut self.interfaces,
                        key,
                        &mut self.untracked,
                        Default::default,
                    ) {
                        running.update(
                            [i.received, i.kernel_dropped, i.interface_dropped],
                            restarted,
                        );
                        seen.saw(&ts, micros);
                    }
                }
                for o in outputs {
                    let key = (sensor.clone(), o.name);
                    let kind = o.kind;
                    if let Some((running, _)) =
                        slot(&mut self.outputs, key, &mut self.untracked, || {
                            (Running::default(), kind)
                        })
                    {
                        running.update([o.queued, o.sent, o.evicted, o.dropped], restarted);
                    }
                }
            }
            SensorSample::Loss {
                ts,
                micros,
                sensor,
                interface,
                received,
                dropped,
                drop_rate,
            } => {
                let key = (sensor.clone(), interface.clone());
                if let Some(l) = slot(&mut self.losses, key, &mut self.untracked, || LossHealth {
                    sensor,
                    interface,
                    intervals: 0,
                    received: 0,
                    dropped: 0,
                    worst_rate: -1.0,
                    worst_at: String::new(),
                    seen: Seen::default(),
                }) {
                    l.intervals += 1;
                    l.received = l.received.saturating_add(received);
                    l.dropped = l.dropped.saturating_add(dropped);
                    if drop_rate > l.worst_rate {
                        l.worst_rate = drop_rate;
                        l.worst_at = ts.clone();
                    }
                    l.seen.saw(&ts, micros);
                }
            }
            SensorSample::Stalled {
                ts,
                micros,
                sensor,
                interface,
                reason,
            } => {
                let key = (sensor.clone(), interface.clone());
                if let Some(s) = slot(&mut self.stalls, key, &mut self.untracked, || StallHealth {
                    sensor,
                    interface,
                    last_reason: String::new(),
                    seen: Seen::default(),
                }) {
                    if s.seen.reports == 0 || micros >= s.seen.last_micros {
                        s.last_reason = reason;
                    }
                    s.seen.saw(&ts, micros);
                }
            }
        }
    }

    pub fn finish(self) -> HealthSummary {
        let interfaces = self
            .interfaces
            .into_iter()
            .map(|((sensor, interface), (running, seen))| {
                let [received, kernel_dropped, interface_dropped] = running.total();
                InterfaceHealth {
                    sensor,
                    interface: if interface.is_empty() {
                        "all interfaces".into()
                    } else {
                        interface
                    },
                    received,
                    kernel_dropped,
                    interface_dropped,
                    seen,
                }
            })
            .collect();
        let outputs = self
            .outputs
            .into_iter()
            .map(|((sensor, name), (running, kind))| {
                let [queued, sent, evicted, dropped] = running.total();
                OutputHealth {
                    sensor,
                    name,
                    kind,
                    queued,
                    sent,
                    evicted,
                    dropped,
                }
            })
            .collect();
        let mut losses: Vec<LossHealth> = self.losses.into_values().collect();
        losses.sort_by_key(|l| std::cmp::Reverse(l.dropped));
        HealthSummary {
            events: self.events,
            interfaces,
            outputs,
            losses,
            stalls: self.stalls.into_values().collect(),
            untracked: self.untracked,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health(uptime: u64, received: u64, dropped: u64, evicted: u64) -> SensorSample {
        SensorSample::Health {
            ts: format!("t{uptime}"),
            micros: uptime as i64,
            sensor: "s1".into(),
            uptime: Some(uptime),
            interfaces: vec![IfaceCounters {
                name: "eth1".into(),
                received,
                kernel_dropped: dropped,
                interface_dropped: 1,
            }],
            outputs: vec![OutputCounters {
                name: "siem".into(),
                kind: "syslog".into(),
                queued: 10,
                sent: 10 - evicted,
                evicted,
                dropped: 0,
            }],
        }
    }

    #[test]
    fn counters_add_up_across_a_restart() {
        let mut t = HealthTally::default();
        t.add(health(60, 1000, 10, 0));
        t.add(health(120, 2000, 30, 2));
        // Restarted: uptime back to 60, counters from zero again, some of
        // them higher than before the restart.
        t.add(health(60, 5000, 5, 1));
        let s = t.finish();
        assert_eq!(s.events, 3);
        let i = &s.interfaces[0];
        assert_eq!(
            (i.received, i.kernel_dropped, i.interface_dropped),
            (7000, 35, 2)
        );
        assert_eq!(i.seen.reports, 3);
        assert_eq!(s.packets_dropped(), 37);
        assert_eq!(s.messages_lost(), 3);
        assert!((s.loss() - 37.0 / 7037.0).abs() < 1e-12);
    }

    #[test]
    fn loss_intervals_and_stalls_are_counted_per_interface() {
        let mut t = HealthTally::default();
        for (i, rate) in [0.02, 0.5, 0.1].into_iter().enumerate() {
            t.add(SensorSample::Loss {
                ts: format!("t{i}"),
                micros: i as i64,
                sensor: "s1".into(),
                interface: "eth1".into(),
                received: 100,
                dropped: (rate * 100.0) as u64,
                drop_rate: rate,
            });
        }
        for (i, reason) in ["down", "no DNS"].into_iter().enumerate() {
            t.add(SensorSample::Stalled {
                ts: format!("s{i}"),
                micros: i as i64,
                sensor: "s1".into(),
                interface: "eth1".into(),
                reason: reason.into(),
            });
        }
        let s = t.finish();
        let l = &s.losses[0];
        assert_eq!((l.intervals, l.dropped, l.worst_at.as_str()), (3, 62, "t1"));
        assert_eq!((l.seen.first.as_str(), l.seen.last.as_str()), ("t0", "t2"));
        assert_eq!(s.stalls(), 2);
        assert_eq!(s.stalls[0].last_reason, "no DNS");
    }
}
