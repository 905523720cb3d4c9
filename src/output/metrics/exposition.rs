//! What `/metrics` says, encoded by prometheus-client: the health board's
//! counters, the rule loads, and the process. Everything is read at scrape
//! time from the structures the sensor keeps anyway, so nothing on the
//! packet path counts twice.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

use super::process::ProcessCollector;
use crate::health::{HealthBoard, IfaceHealth};
use crate::model::text::escape_text;
use crate::stats::{OutputReport, RuleStats};

/// The two text formats Prometheus scrapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4: what a scraper gets unless it asks
    /// for OpenMetrics (and what the endpoint always served).
    Prometheus,
    /// OpenMetrics 1.0 text, which Prometheus asks for in its `Accept`.
    OpenMetrics,
}

impl Format {
    /// The format an `Accept` header value asks for.
    pub fn from_accept(accept: &str) -> Format {
        if accept
            .split(',')
            .any(|t| t.trim_start().starts_with("application/openmetrics-text"))
        {
            Format::OpenMetrics
        } else {
            Format::Prometheus
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// Every metric of the endpoint.
#[derive(Debug)]
pub struct Exposition {
    registry: Registry,
}

impl Exposition {
    pub fn new(board: Arc<HealthBoard>, rules: Arc<RuleStats>) -> Exposition {
        let mut registry = Registry::default();
        // Process metrics keep their standard unprefixed names, so the
        // usual dashboards find them.
        registry.register_collector(Box::new(ProcessCollector));
        let own = registry.sub_registry_with_prefix("dnsentry");
        own.register_collector(Box::new(SensorCollector { board }));
        own.register_collector(Box::new(RulesCollector { rules }));
        Exposition { registry }
    }

    pub fn render(&self, format: Format) -> String {
        let mut text = String::new();
        let encoded = match format {
            Format::Prometheus => {
                prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)
            }
            Format::OpenMetrics => {
                prometheus_client::encoding::text::encode(&mut text, &self.registry)
            }
        };
        // Writing into a String fails only if a collector does, and ours
        // never return an error of their own.
        if let Err(e) = encoded {
            tracing::warn!(error = %e, "Metrics could not be encoded");
        }
        text
    }
}

fn counter(e: &mut DescriptorEncoder<'_>, name: &str, help: &str, value: u64) -> std::fmt::Result {
    let c = ConstCounter::new(value);
    c.encode(e.encode_descriptor(name, help, None, c.metric_type())?)
}

/// One family, one sample per label set.
fn family<L: EncodeLabelSet>(
    e: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    kind: MetricType,
    samples: impl IntoIterator<Item = (L, u64)>,
) -> std::fmt::Result {
    let mut m = e.encode_descriptor(name, help, unit, kind)?;
    for (labels, value) in samples {
        let sample = m.encode_family(&labels)?;
        if kind == MetricType::Counter {
            ConstCounter::new(value).encode(sample)?;
        } else {
            ConstGauge::new(value).encode(sample)?;
        }
    }
    Ok(())
}

/// Reads one counter of an interface.
type IfaceCounter = fn(&IfaceHealth) -> u64;
/// Reads one counter of an output.
type OutputCounter = fn(&OutputReport) -> u64;

/// The health board: the counters `sensor_health` reports.
#[derive(Debug)]
struct SensorCollector {
    board: Arc<HealthBoard>,
}

impl Collector for SensorCollector {
    fn encode(&self, mut e: DescriptorEncoder<'_>) -> std::fmt::Result {
        let (ifaces, totals) = self.board.snapshot();
        let build = crate::buildinfo::BuildInfo::current();
        let info = Info::new(build.fields().to_vec());
        info.encode(e.encode_descriptor(
            "build",
            "Always 1; the labels say which build this is.",
            None,
            info.metric_type(),
        )?)?;

        let names: Vec<String> = ifaces
            .iter()
            .map(|i| escape_text(&i.name).into_owned())
            .collect();
        let per_iface: [(&str, &str, IfaceCounter); 6] = [
            (
                "queue_waits",
                "Times a full batch waited for the workers (the pipeline never drops internally).",
                |i| i.counters.queue_waits,
            ),
            (
                "packets_received",
                "Packets the kernel delivered to the capture.",
                |i| i.kernel.received,
            ),
            (
                "packets_kernel_dropped",
                "Packets dropped because the capture buffer was full.",
                |i| i.kernel.kernel_dropped,
            ),
            (
                "packets_interface_dropped",
                "Packets dropped by the interface or its driver.",
                |i| i.kernel.interface_dropped,
            ),
            ("packets_read", "Packets read by the sensor.", |i| {
                i.counters.packets
            }),
            (
                "dns_messages",
                "DNS responses found on the interface.",
                |i| i.counters.dns_messages,
            ),
        ];
        for (name, help, get) in per_iface {
            let samples = names
                .iter()
                .zip(&ifaces)
                .map(|(n, i)| ([("interface", n.as_str())], get(i)));
            family(&mut e, name, help, None, MetricType::Counter, samples)?;
        }
        family(
            &mut e,
            "interface_up",
            "1 while the capture on the interface works.",
            None,
            MetricType::Gauge,
            names
                .iter()
                .zip(&ifaces)
                .map(|(n, i)| ([("interface", n.as_str())], u64::from(i.up))),
        )?;
        let skipped: Vec<([(&str, &str); 2], u64)> = names
            .iter()
            .zip(&ifaces)
            .flat_map(|(n, i)| {
                i.counters
                    .not_dns
                    .to_map()
                    .into_iter()
                    .map(move |(reason, v)| ([("interface", n.as_str()), ("reason", reason)], v))
            })
            .collect();
        family(
            &mut e,
            "skipped",
            "Packets that were not DNS, by reason.",
            None,
            MetricType::Counter,
            skipped,
        )?;
        let mut malformed = totals.workers.malformed.clone();
        for i in &ifaces {
            malformed += &i.counters.malformed;
        }
        family(
            &mut e,
            "anomalies",
            "Malformed input and reassembly bounds hit, by reason.",
            None,
            MetricType::Counter,
            malformed
                .to_map()
                .into_iter()
                .map(|(reason, v)| ([("reason", reason)], v)),
        )?;
        family(
            &mut e,
            "ioc_ignored",
            "Indicator matches that raised no alert (revoked, expired, not for IDS...), by reason.",
            None,
            MetricType::Counter,
            totals
                .workers
                .ioc_ignored
                .to_map()
                .into_iter()
                .map(|(reason, v)| ([("reason", reason)], v)),
        )?;
        // An allow entry is named by FILE:LINE, a path others may have
        // chosen: escaped as every output escapes it.
        let entries: Vec<(String, u64)> = totals
            .policy
            .allowed
            .iter()
            .map(|a| (escape_text(&a.entry).into_owned(), a.allowed))
            .collect();
        family(
            &mut e,
            "allowed",
            "Alerts an allow entry held back, by entry (FILE:LINE).",
            None,
            MetricType::Counter,
            entries
                .iter()
                .map(|(entry, v)| ([("entry", entry.as_str())], *v)),
        )?;
        family(
            &mut e,
            "severity_off",
            "Alerts not raised because their zone's owner set their kind off, by kind.",
            None,
            MetricType::Counter,
            totals
                .policy
                .severity_off
                .to_map()
                .into_iter()
                .map(|(kind, v)| ([("kind", kind)], v)),
        )?;
        counter(
            &mut e,
            "dns_responses",
            "DNS responses captured and decoded (the audit's answers are in audit_questions).",
            totals.workers.responses,
        )?;
        // Only when the run audits: an absent family says no audit, a zero
        // would say one that asked nothing.
        if let Some(a) = &totals.audit {
            family(
                &mut e,
                "audit_questions",
                "Questions of the periodic audit (--audit-every), by outcome: asked (answered + failed), answered, failed, not_asked.",
                None,
                MetricType::Counter,
                [
                    ("asked", a.questions_asked),
                    ("answered", a.answered),
                    ("failed", a.failed),
                    ("not_asked", a.not_asked),
                ]
                .map(|(outcome, v)| ([("outcome", outcome)], v)),
            )?;
        }
        family(
            &mut e,
            "alerts",
            "Alerts written, by kind.",
            None,
            MetricType::Counter,
            crate::model::AlertKind::ALL
                .iter()
                .map(|k| ([("kind", k.as_str())], totals.alerts.get(*k))),
        )?;

        let outputs = self.board.outputs();
        let output_names: Vec<String> = outputs
            .iter()
            .map(|o| escape_text(&o.name).into_owned())
            .collect();
        let per_output: [(&str, &str, OutputCounter); 7] = [
            ("output_queued", "Messages handed to the output.", |o| {
                o.queued
            }),
            (
                "output_sent",
                "Messages delivered (TCP/TLS: acknowledged by the receiver).",
                |o| o.sent,
            ),
            (
                "output_spooled",
                "Messages written to the disk spool while the receiver was away or slow.",
                |o| o.spooled,
            ),
            (
                "output_evicted",
                "Messages discarded, oldest first, because the backlog bound was reached.",
                |o| o.evicted,
            ),
            (
                "output_dropped",
                "Messages lost because the queue was full or nothing could keep them at exit.",
                |o| o.dropped,
            ),
            (
                "output_truncated",
                "UDP messages cut to the size limit.",
                |o| o.truncated,
            ),
            (
                "output_connect_failures",
                "Failed connection attempts.",
                |o| o.connect_failures,
            ),
        ];
        for (name, help, get) in per_output {
            let samples = output_names
                .iter()
                .zip(&outputs)
                .map(|(n, o)| ([("output", n.as_str())], get(o)));
            family(&mut e, name, help, None, MetricType::Counter, samples)?;
        }
        family(
            &mut e,
            "output_pending",
            "Messages waiting: in memory, unacknowledged, or spooled.",
            None,
            MetricType::Gauge,
            output_names
                .iter()
                .zip(&outputs)
                .map(|(n, o)| ([("output", n.as_str())], o.pending)),
        )?;
        let uptime = ConstGauge::new(self.board.started.elapsed().as_secs());
        uptime.encode(e.encode_descriptor(
            "uptime",
            "Seconds since the sensor started.",
            Some(&Unit::Seconds),
            uptime.metric_type(),
        )?)
    }
}

/// Rule loads: reload outcomes and the feeds of the rules in use.
#[derive(Debug)]
struct RulesCollector {
    rules: Arc<RuleStats>,
}

impl Collector for RulesCollector {
    fn encode(&self, mut e: DescriptorEncoder<'_>) -> std::fmt::Result {
        let s = self.rules.snapshot();
        family(
            &mut e,
            "rule_reloads",
            "Rule reloads (SIGHUP or a changed file), by result; a failed one keeps the rules in use.",
            None,
            MetricType::Counter,
            [
                ([("result", "success")], s.reloads_ok),
                ([("result", "failure")], s.reloads_failed),
            ],
        )?;
        let ok = ConstGauge::new(u64::from(s.last_ok));
        ok.encode(e.encode_descriptor(
            "rule_last_reload_successful",
            "1 when the latest rule load succeeded, 0 when it failed.",
            None,
            ok.metric_type(),
        )?)?;
        let at = ConstGauge::new(s.last_success_unix);
        at.encode(e.encode_descriptor(
            "rule_last_reload_success_timestamp",
            "When the rules in use were loaded (at start or by the last good reload), since the Unix epoch.",
            Some(&Unit::Seconds),
            at.metric_type(),
        )?)?;
        family(
            &mut e,
            "feed_indicators",
            "Indicators each feed (list=ioc) or allowlist (list=allow) holds in the rules in use.",
            None,
            MetricType::Gauge,
            s.feeds.iter().map(|f| {
                let list = if f.allowlist { "allow" } else { "ioc" };
                (
                    [("feed", f.name.as_str()), ("list", list)],
                    f.indicators as u64,
                )
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::FeedCount;

    fn exposition() -> Exposition {
        let board = HealthBoard::new(&["eth1".to_string()]);
        board.publish_iface(0, |i| {
            i.up = true;
            i.kernel.received = 5;
            i.kernel.kernel_dropped = 1;
        });
        board.publish_totals(|t| {
            t.workers.ioc_ignored.add(crate::model::Ignored::Revoked);
            t.workers.ioc_ignored.add(crate::model::Ignored::Expired);
            t.workers.ioc_ignored.add(crate::model::Ignored::Expired);
            t.policy.allowed.push(crate::stats::AllowCount {
                entry: "/etc/dnsentry/allow.toml:7".into(),
                reason: "CDN move".into(),
                allowed: 3,
                expired: false,
            });
            t.policy
                .severity_off
                .add(crate::model::AlertKind::UnexpectedMx);
        });
        let rules = RuleStats::default();
        rules.loaded(vec![
            FeedCount {
                name: "builtin:aa19-024a.csv".into(),
                allowlist: false,
                indicators: 36,
            },
            FeedCount {
                name: "/etc/dnsentry/allow \"x\".txt".into(),
                allowlist: true,
                indicators: 2,
            },
        ]);
        rules.reload_failed();
        Exposition::new(Arc::new(board), Arc::new(rules))
    }

    #[test]
    fn prometheus_text_keeps_the_names_it_always_had() {
        let text = exposition().render(Format::Prometheus);
        for line in [
            "dnsentry_packets_received_total{interface=\"eth1\"} 5\n",
            "dnsentry_packets_kernel_dropped_total{interface=\"eth1\"} 1\n",
            "# TYPE dnsentry_alerts_total counter\n",
            "dnsentry_interface_up{interface=\"eth1\"} 1\n",
            "# TYPE dnsentry_build_info gauge\n",
            "# TYPE dnsentry_uptime_seconds gauge\n",
            "dnsentry_rule_reloads_total{result=\"failure\"} 1\n",
            "dnsentry_rule_last_reload_successful 0\n",
            "dnsentry_feed_indicators{feed=\"builtin:aa19-024a.csv\",list=\"ioc\"} 36\n",
            "dnsentry_feed_indicators{feed=\"/etc/dnsentry/allow \\\"x\\\".txt\",list=\"allow\"} 2\n",
            "# TYPE process_resident_memory_bytes gauge\n",
            "# TYPE process_cpu_seconds_total counter\n",
            "# TYPE dnsentry_ioc_ignored_total counter\n",
            "dnsentry_ioc_ignored_total{reason=\"revoked\"} 1\n",
            "dnsentry_ioc_ignored_total{reason=\"expired\"} 2\n",
            "dnsentry_allowed_total{entry=\"/etc/dnsentry/allow.toml:7\"} 3\n",
            "dnsentry_severity_off_total{kind=\"unexpected_mx\"} 1\n",
        ] {
            assert!(text.contains(line), "{line:?} missing from\n{text}");
        }
        let build = crate::buildinfo::BuildInfo::current();
        let line = format!(
            "dnsentry_build_info{{version=\"{}\",commit=\"{}\",built=\"{}\",rustc=\"{}\",libpcap=\"{}\",tls=\"{}\"}} 1\n",
            build.version, build.commit, build.date, build.rustc, build.libpcap, build.tls
        );
        assert!(text.contains(&line), "{text}");
        assert!(!text.contains("# EOF"));
    }

    #[test]
    fn openmetrics_names_families_without_suffixes_and_ends_with_eof() {
        let text = exposition().render(Format::OpenMetrics);
        for line in [
            "# TYPE dnsentry_alerts counter\n",
            "# TYPE dnsentry_build info\n",
            "# UNIT dnsentry_uptime_seconds seconds\n",
            "dnsentry_packets_received_total{interface=\"eth1\"} 5\n",
        ] {
            assert!(text.contains(line), "{line:?} missing from\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn the_accept_header_chooses_the_format() {
        assert_eq!(Format::from_accept(""), Format::Prometheus);
        assert_eq!(Format::from_accept("text/plain"), Format::Prometheus);
        assert_eq!(
            Format::from_accept(
                "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4"
            ),
            Format::OpenMetrics
        );
    }
}
