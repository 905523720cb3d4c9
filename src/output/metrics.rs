//! `--metrics ADDR`: the health counters over HTTP in Prometheus text
//! format. A deliberately small server: one request per connection, GET
//! only, a few kilobytes of request read at most, so a scraper (or anything
//! else that connects) cannot hold the sensor up.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use std::fmt::Write as _;

use super::{Event, Output, OutputError};
use crate::health::{HealthBoard, IfaceHealth};
use crate::model::SourceNames;
use crate::stats::{OutputKind, OutputReport};

/// Longest request head read.
const MAX_REQUEST: usize = 8 * 1024;

/// Binds `addr` now (so a bad address fails before the run starts, and a
/// privileged port can be bound before privileges are dropped).
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let listener = TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// The endpoint as an output of the run: it is read by scrapers, not
/// written to, so it takes no events; finishing it stops the server.
pub struct MetricsOutput {
    name: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MetricsOutput {
    /// Serves `board` on the already-bound `listener` until finished.
    pub fn start(listener: TcpListener, board: Arc<HealthBoard>) -> std::io::Result<MetricsOutput> {
        let name = listener
            .local_addr()
            .map_or_else(|_| "metrics".to_string(), |a| format!("http://{a}/metrics"));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = serve(listener, board, Arc::clone(&stop))?;
        Ok(MetricsOutput {
            name,
            stop,
            thread: Some(thread),
        })
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Output for MetricsOutput {
    fn kind(&self) -> OutputKind {
        OutputKind::Metrics
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn write(&mut self, _: &Event<'_>, _: &SourceNames) -> Result<(), OutputError> {
        Ok(())
    }

    fn flush(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Option<OutputReport> {
        self.stop();
        None
    }
}

impl Drop for MetricsOutput {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Serves until `stop` is set.
pub fn serve(
    listener: TcpListener,
    board: Arc<HealthBoard>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        if let Err(e) = answer(stream, &board) {
                            tracing::debug!(error = %e, "Metrics request failed");
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "Metrics listener failed");
                        std::thread::sleep(Duration::from_millis(500));
                    }
                }
            }
        })
}

fn answer(mut stream: TcpStream, board: &HealthBoard) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REQUEST {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, body) = match (method, path) {
        ("GET", "/metrics") => ("200 OK", render_prometheus(board)),
        ("GET", "/") => ("200 OK", "dnsentry: metrics at /metrics\n".to_string()),
        ("GET", _) => ("404 Not Found", "not found\n".to_string()),
        _ => ("405 Method Not Allowed", "GET only\n".to_string()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes())?;
    stream.flush()
}

/// Reads one counter of an interface.
type IfaceCounter = fn(&IfaceHealth) -> u64;
/// Reads one counter of an output.
type OutputCounter = fn(&OutputReport) -> u64;

/// The board in Prometheus text exposition format (version 0.0.4).
pub fn render_prometheus(board: &HealthBoard) -> String {
    let (ifaces, totals) = board.snapshot();
    let mut s = String::new();
    let family = |s: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(s, "# HELP dnsentry_{name} {help}");
        let _ = writeln!(s, "# TYPE dnsentry_{name} {kind}");
    };
    // Interface names come from the command line, but escape them anyway.
    let label = |v: &str| {
        v.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    };
    family(
        &mut s,
        "build_info",
        "gauge",
        "Always 1; the labels say which build this is.",
    );
    let build = crate::buildinfo::BuildInfo::current();
    let labels: Vec<String> = build
        .fields()
        .iter()
        .map(|(name, value)| format!("{name}=\"{}\"", label(value)))
        .collect();
    let _ = writeln!(s, "dnsentry_build_info{{{}}} 1", labels.join(","));
    let per_iface: [(&str, &str, IfaceCounter); 6] = [
        (
            "queue_waits_total",
            "Times a full batch waited for the workers (the pipeline never drops internally).",
            |i| i.counters.queue_waits,
        ),
        (
            "packets_received_total",
            "Packets the kernel delivered to the capture.",
            |i| i.kernel.received,
        ),
        (
            "packets_kernel_dropped_total",
            "Packets dropped because the capture buffer was full.",
            |i| i.kernel.kernel_dropped,
        ),
        (
            "packets_interface_dropped_total",
            "Packets dropped by the interface or its driver.",
            |i| i.kernel.interface_dropped,
        ),
        ("packets_read_total", "Packets read by the sensor.", |i| {
            i.counters.packets
        }),
        (
            "dns_messages_total",
            "DNS responses found on the interface.",
            |i| i.counters.dns_messages,
        ),
    ];
    for (name, help, get) in per_iface {
        family(&mut s, name, "counter", help);
        for i in &ifaces {
            let _ = writeln!(
                s,
                "dnsentry_{name}{{interface=\"{}\"}} {}",
                label(&i.name),
                get(i)
            );
        }
    }
    family(
        &mut s,
        "interface_up",
        "gauge",
        "1 while the capture on the interface works.",
    );
    for i in &ifaces {
        let _ = writeln!(
            s,
            "dnsentry_interface_up{{interface=\"{}\"}} {}",
            label(&i.name),
            u8::from(i.up)
        );
    }
    family(
        &mut s,
        "skipped_total",
        "counter",
        "Packets that were not DNS, by reason.",
    );
    for i in &ifaces {
        for (reason, n) in i.counters.not_dns.to_map() {
            let _ = writeln!(
                s,
                "dnsentry_skipped_total{{interface=\"{}\",reason=\"{reason}\"}} {n}",
                label(&i.name)
            );
        }
    }
    family(
        &mut s,
        "anomalies_total",
        "counter",
        "Malformed input and reassembly bounds hit, by reason.",
    );
    let mut malformed = totals.workers.malformed.clone();
    for i in &ifaces {
        malformed += &i.counters.malformed;
    }
    for (reason, n) in malformed.to_map() {
        let _ = writeln!(s, "dnsentry_anomalies_total{{reason=\"{reason}\"}} {n}");
    }
    family(
        &mut s,
        "ioc_ignored_total",
        "counter",
        "Indicator matches that raised no alert, by reason.",
    );
    for (reason, n) in totals.workers.ioc_ignored.to_map() {
        let _ = writeln!(s, "dnsentry_ioc_ignored_total{{reason=\"{reason}\"}} {n}");
    }
    family(
        &mut s,
        "dns_responses_total",
        "counter",
        "DNS responses decoded.",
    );
    let _ = writeln!(
        s,
        "dnsentry_dns_responses_total {}",
        totals.workers.responses
    );
    family(
        &mut s,
        "alerts_total",
        "counter",
        "Alerts written, by kind.",
    );
    for kind in crate::model::AlertKind::ALL {
        let _ = writeln!(
            s,
            "dnsentry_alerts_total{{kind=\"{}\"}} {}",
            kind.as_str(),
            totals.alerts.get(kind)
        );
    }
    let per_output: [(&str, &str, OutputCounter); 7] = [
        (
            "output_queued_total",
            "Messages handed to the output.",
            |o| o.queued,
        ),
        (
            "output_sent_total",
            "Messages delivered (TCP/TLS: acknowledged by the receiver).",
            |o| o.sent,
        ),
        (
            "output_spooled_total",
            "Messages written to the disk spool while the receiver was away or slow.",
            |o| o.spooled,
        ),
        (
            "output_evicted_total",
            "Messages discarded, oldest first, because the backlog bound was reached.",
            |o| o.evicted,
        ),
        (
            "output_dropped_total",
            "Messages lost because the queue was full or nothing could keep them at exit.",
            |o| o.dropped,
        ),
        (
            "output_truncated_total",
            "UDP messages cut to the size limit.",
            |o| o.truncated,
        ),
        (
            "output_connect_failures_total",
            "Failed connection attempts.",
            |o| o.connect_failures,
        ),
    ];
    let outputs = board.outputs();
    for (name, help, get) in per_output {
        family(&mut s, name, "counter", help);
        for o in &outputs {
            let _ = writeln!(
                s,
                "dnsentry_{name}{{output=\"{}\"}} {}",
                label(&o.name),
                get(o)
            );
        }
    }
    family(
        &mut s,
        "output_pending",
        "gauge",
        "Messages waiting: in memory, unacknowledged, or spooled.",
    );
    for o in &outputs {
        let _ = writeln!(
            s,
            "dnsentry_output_pending{{output=\"{}\"}} {}",
            label(&o.name),
            o.pending
        );
    }
    family(
        &mut s,
        "uptime_seconds",
        "gauge",
        "Seconds since the sensor started.",
    );
    let _ = writeln!(
        s,
        "dnsentry_uptime_seconds {}",
        board.started.elapsed().as_secs()
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_metrics_over_http() {
        let listener = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let board = Arc::new(HealthBoard::new(&["eth9".to_string()]));
        let stop = Arc::new(AtomicBool::new(false));
        let t = serve(listener, board, Arc::clone(&stop)).unwrap();
        let get = |path: &str| {
            let mut s = TcpStream::connect(addr).unwrap();
            write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            out
        };
        let ok = get("/metrics");
        assert!(ok.starts_with("HTTP/1.1 200 OK"), "{ok}");
        assert!(ok.contains("dnsentry_packets_received_total{interface=\"eth9\"} 0"));
        assert!(get("/nope").starts_with("HTTP/1.1 404"));
        stop.store(true, Ordering::Relaxed);
        t.join().unwrap();
    }

    #[test]
    fn prometheus_text() {
        let b = HealthBoard::new(&["eth1".to_string()]);
        b.publish_iface(0, |i| {
            i.up = true;
            i.kernel.received = 5;
            i.kernel.kernel_dropped = 1;
        });
        b.publish_totals(|t| {
            t.workers.ioc_ignored.add(crate::model::Ignored::Revoked);
            t.workers.ioc_ignored.add(crate::model::Ignored::Expired);
            t.workers.ioc_ignored.add(crate::model::Ignored::Expired);
        });
        let text = render_prometheus(&b);
        assert!(text.contains("# TYPE dnsentry_ioc_ignored_total counter"));
        assert!(text.contains("dnsentry_ioc_ignored_total{reason=\"revoked\"} 1\n"));
        assert!(text.contains("dnsentry_ioc_ignored_total{reason=\"expired\"} 2\n"));
        assert!(text.contains("dnsentry_packets_received_total{interface=\"eth1\"} 5"));
        assert!(text.contains("dnsentry_packets_kernel_dropped_total{interface=\"eth1\"} 1"));
        assert!(text.contains("# TYPE dnsentry_alerts_total counter"));
        assert!(text.contains("dnsentry_interface_up{interface=\"eth1\"} 1"));
        let build = crate::buildinfo::BuildInfo::current();
        let line = format!(
            "dnsentry_build_info{{version=\"{}\",commit=\"{}\",built=\"{}\",rustc=\"{}\",libpcap=\"{}\",tls=\"{}\"}} 1\n",
            build.version, build.commit, build.date, build.rustc, build.libpcap, build.tls
        );
        assert!(text.contains(&line), "{text}");
        assert!(text.contains("# TYPE dnsentry_build_info gauge"));
    }
}
