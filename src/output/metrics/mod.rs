//! `--metrics ADDR`: the health counters, rule loads and process figures
//! over HTTP, encoded by prometheus-client (`exposition`).
//!
//! The server is this file's own, deliberately small: one thread, one
//! request per connection, GET only, a few kilobytes of request head read
//! at most, 2 s to send it. tiny_http 0.12 was measured instead: it gives
//! every connection a thread of its own with no timeout, so 200
//! connections that never finish their request held 196 threads after
//! 30 s. Anything that can reach the port could grow the sensor that way;
//! here it holds up one scrape for 2 s at most.

mod exposition;
mod process;

pub use exposition::{Exposition, Format};
pub use process::ProcessStats;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{Event, Output, OutputError};
use crate::health::HealthBoard;
use crate::model::SourceNames;
use crate::stats::{OutputKind, OutputReport, RuleStats};

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
    /// Serves `board` and `rules` on the already-bound `listener` until
    /// finished.
    pub fn start(
        listener: TcpListener,
        board: Arc<HealthBoard>,
        rules: Arc<RuleStats>,
    ) -> std::io::Result<MetricsOutput> {
        let name = listener
            .local_addr()
            .map_or_else(|_| "metrics".to_string(), |a| format!("http://{a}/metrics"));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = serve(listener, Exposition::new(board, rules), Arc::clone(&stop))?;
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
    exposition: Exposition,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        if let Err(e) = answer(stream, &exposition) {
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

/// The value of the `Accept` header in a request head, if any.
fn accept_header(head: &str) -> &str {
    head.lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("accept"))
        .map_or("", |(_, value)| value.trim())
}

fn answer(mut stream: TcpStream, exposition: &Exposition) -> std::io::Result<()> {
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
    let head = String::from_utf8_lossy(&head);
    let line = head.lines().next().unwrap_or_default();
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let plain = "text/plain; charset=utf-8";
    let (status, content_type, body) = match (method, path) {
        ("GET", "/metrics") => {
            let format = Format::from_accept(accept_header(&head));
            ("200 OK", format.content_type(), exposition.render(format))
        }
        ("GET", "/") => (
            "200 OK",
            plain,
            "dnsentry: metrics at /metrics\n".to_string(),
        ),
        ("GET", _) => ("404 Not Found", plain, "not found\n".to_string()),
        _ => ("405 Method Not Allowed", plain, "GET only\n".to_string()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes())?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_metrics_over_http_in_the_format_asked_for() {
        let listener = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let board = Arc::new(HealthBoard::new(&["eth9".to_string()]));
        let stop = Arc::new(AtomicBool::new(false));
        let exposition = Exposition::new(board, Arc::default());
        let t = serve(listener, exposition, Arc::clone(&stop)).unwrap();
        let get = |path: &str, headers: &str| {
            let mut s = TcpStream::connect(addr).unwrap();
            write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n{headers}\r\n").unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            out
        };
        let ok = get("/metrics", "");
        assert!(ok.starts_with("HTTP/1.1 200 OK"), "{ok}");
        assert!(ok.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
        assert!(ok.contains("dnsentry_packets_received_total{interface=\"eth9\"} 0"));
        let open = get(
            "/metrics",
            "accept: application/openmetrics-text;version=1.0.0,text/plain;q=0.5\r\n",
        );
        assert!(
            open.contains(
                "Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8\r\n"
            ),
            "{open}"
        );
        assert!(open.ends_with("# EOF\n"), "{open}");
        assert!(get("/nope", "").starts_with("HTTP/1.1 404"));
        stop.store(true, Ordering::Relaxed);
        t.join().unwrap();
    }
}
