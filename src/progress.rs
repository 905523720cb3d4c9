//! Progress bar for long offline runs: bytes read of the total, packets per
//! second, alerts so far. Drawn on stderr only when it is a terminal.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Counters the stages bump once per batch (never per packet).
#[derive(Debug, Default)]
pub struct Progress {
    pub bytes: AtomicU64,
    pub packets: AtomicU64,
    pub alerts: AtomicU64,
    done: AtomicBool,
}

impl Progress {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// A running progress display; [`ProgressHandle::finish`] clears it.
pub struct ProgressHandle {
    progress: Arc<Progress>,
    thread: Option<JoinHandle<()>>,
}

impl ProgressHandle {
    /// Starts the display if stderr is a terminal; otherwise the handle
    /// does nothing. `total_bytes` is unknown when an input is a stream.
    pub fn start(progress: Arc<Progress>, total_bytes: Option<u64>) -> ProgressHandle {
        if !std::io::stderr().is_terminal() {
            return ProgressHandle {
                progress,
                thread: None,
            };
        }
        let p = Arc::clone(&progress);
        let thread = std::thread::Builder::new()
            .name("progress".into())
            .spawn(move || draw(&p, total_bytes))
            .ok();
        ProgressHandle { progress, thread }
    }

    pub fn finish(mut self) {
        self.progress.done.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn draw(p: &Progress, total_bytes: Option<u64>) {
    let bar = ProgressBar::with_draw_target(total_bytes, ProgressDrawTarget::stderr());
    let template = match total_bytes {
        Some(_) => "{bar:30} {bytes}/{total_bytes} {msg} [{elapsed_precise}, eta {eta}]",
        None => "{spinner} {bytes} {msg} [{elapsed_precise}]",
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    let start = Instant::now();
    while !p.done.load(Ordering::Relaxed) {
        let bytes = p.bytes.load(Ordering::Relaxed);
        let packets = p.packets.load(Ordering::Relaxed);
        let alerts = p.alerts.load(Ordering::Relaxed);
        let secs = start.elapsed().as_secs_f64().max(1e-3);
        bar.set_position(total_bytes.map_or(bytes, |total| bytes.min(total)));
        bar.set_message(format!(
            "{:.0} packets/s, {alerts} alert(s)",
            packets as f64 / secs
        ));
        std::thread::sleep(Duration::from_millis(200));
    }
    bar.finish_and_clear();
}
