//! The standard `process_*` metrics every Prometheus client exports
//! (resident memory, CPU seconds, open files, start time), read from
//! `/proc/self` at each scrape: a sensor that runs for a year must show a
//! leak of memory or descriptors long before the machine does.
//!
//! prometheus-client has no process collector; these are the few fields
//! the Go and Python clients read, parsed here rather than through a
//! procfs crate.

use nix::unistd::SysconfVar;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Unit;

/// What `/proc` says about this process; a field that could not be read
/// is `None` and its metric is left out of the scrape.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProcessStats {
    pub cpu_seconds: Option<f64>,
    pub resident_bytes: Option<u64>,
    pub virtual_bytes: Option<u64>,
    pub start_time_unix: Option<f64>,
    pub open_fds: Option<u64>,
    pub max_fds: Option<u64>,
    pub threads: Option<u64>,
}

/// Clock ticks per second, page size: system constants.
fn sysconf(var: SysconfVar) -> Option<u64> {
    let v = nix::unistd::sysconf(var).ok()??;
    u64::try_from(v).ok().filter(|v| *v > 0)
}

/// Fields of `/proc/self/stat` after the command name, which is in
/// parentheses and may itself hold spaces and parentheses: the last `)`
/// ends it. `fields[0]` is field 3 (state) of proc(5).
fn stat_fields(stat: &str) -> Vec<&str> {
    stat.rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default()
}

/// Field `n` (1-based, as proc(5) numbers them) of `/proc/self/stat`.
fn stat_field(fields: &[&str], n: usize) -> Option<u64> {
    fields.get(n.checked_sub(3)?)?.parse().ok()
}

/// `btime` of `/proc/stat`: the boot time, seconds since the epoch.
fn boot_time(proc_stat: &str) -> Option<u64> {
    proc_stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// The soft limit of "Max open files" in `/proc/self/limits`.
fn max_open_files(limits: &str) -> Option<u64> {
    limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

impl ProcessStats {
    /// Reads this process's figures now.
    pub fn read() -> ProcessStats {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        let fields = stat_fields(&stat);
        let ticks = sysconf(SysconfVar::CLK_TCK);
        let page = sysconf(SysconfVar::PAGE_SIZE);
        let per_second = |n: Option<u64>| Some(n? as f64 / ticks? as f64);
        let cpu_ticks = stat_field(&fields, 14).zip(stat_field(&fields, 15));
        let boot = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| boot_time(&s));
        ProcessStats {
            cpu_seconds: per_second(cpu_ticks.map(|(user, system)| user + system)),
            resident_bytes: stat_field(&fields, 24).zip(page).map(|(p, size)| p * size),
            virtual_bytes: stat_field(&fields, 23),
            start_time_unix: per_second(stat_field(&fields, 22))
                .zip(boot)
                .map(|(since_boot, boot)| boot as f64 + since_boot),
            open_fds: std::fs::read_dir("/proc/self/fd")
                .ok()
                .map(|d| d.count() as u64),
            max_fds: std::fs::read_to_string("/proc/self/limits")
                .ok()
                .and_then(|l| max_open_files(&l)),
            threads: stat_field(&fields, 20),
        }
    }
}

/// Encodes [`ProcessStats::read`] at every scrape.
#[derive(Debug)]
pub(super) struct ProcessCollector;

fn gauge<N>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    value: Option<N>,
) -> std::fmt::Result
where
    N: prometheus_client::encoding::EncodeGaugeValue,
{
    let Some(value) = value else { return Ok(()) };
    let gauge = ConstGauge::new(value);
    gauge.encode(encoder.encode_descriptor(name, help, unit, gauge.metric_type())?)
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
        let p = ProcessStats::read();
        if let Some(cpu) = p.cpu_seconds {
            let counter = ConstCounter::new(cpu);
            counter.encode(encoder.encode_descriptor(
                "process_cpu",
                "User and system CPU time spent.",
                Some(&Unit::Seconds),
                counter.metric_type(),
            )?)?;
        }
        gauge(
            &mut encoder,
            "process_resident_memory",
            "Resident memory size.",
            Some(&Unit::Bytes),
            p.resident_bytes,
        )?;
        gauge(
            &mut encoder,
            "process_virtual_memory",
            "Virtual memory size.",
            Some(&Unit::Bytes),
            p.virtual_bytes,
        )?;
        gauge(
            &mut encoder,
            "process_start_time",
            "Start time of the process since the Unix epoch.",
            Some(&Unit::Seconds),
            p.start_time_unix,
        )?;
        gauge(
            &mut encoder,
            "process_open_fds",
            "Open file descriptors.",
            None,
            p.open_fds,
        )?;
        gauge(
            &mut encoder,
            "process_max_fds",
            "Limit of open file descriptors.",
            None,
            p.max_fds,
        )?;
        gauge(
            &mut encoder,
            "process_threads",
            "Threads of the process.",
            None,
            p.threads,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_name_with_parentheses_and_spaces_does_not_shift_the_fields() {
        let stat = "4242 (a) b (c) R 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 7 0 12345 8192000 1500 rest";
        let fields = stat_fields(stat);
        assert_eq!(stat_field(&fields, 14), Some(250));
        assert_eq!(stat_field(&fields, 15), Some(50));
        assert_eq!(stat_field(&fields, 20), Some(7));
        assert_eq!(stat_field(&fields, 22), Some(12345));
        assert_eq!(stat_field(&fields, 23), Some(8192000));
        assert_eq!(stat_field(&fields, 24), Some(1500));
        assert_eq!(stat_field(&stat_fields("garbage"), 14), None);
        assert_eq!(stat_field(&fields, 2), None);
    }

    #[test]
    fn limits_and_boot_time_parse() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \nMax open files            1024                 524288               files     \n";
        assert_eq!(max_open_files(limits), Some(1024));
        assert_eq!(
            boot_time("cpu  1 2 3\nbtime 1764000000\n"),
            Some(1_764_000_000)
        );
    }

    #[test]
    fn this_process_is_read() {
        let before = ProcessStats::read();
        assert!(before.resident_bytes.unwrap() > 1024 * 1024, "{before:?}");
        assert!(before.virtual_bytes.unwrap() >= before.resident_bytes.unwrap());
        assert!(before.cpu_seconds.unwrap() >= 0.0);
        assert!(before.threads.unwrap() >= 1);
        assert!(before.open_fds.unwrap() >= 1);
        assert!(before.max_fds.unwrap() >= before.open_fds.unwrap());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let started = before.start_time_unix.unwrap();
        assert!(
            started <= now + 1.0 && started > now - 86_400.0,
            "{started} vs {now}"
        );
    }
}
