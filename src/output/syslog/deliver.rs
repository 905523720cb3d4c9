//! The delivery thread of one syslog output.
//!
//! Messages wait in one logical FIFO: the spool (older) followed by memory
//! (newer). While the receiver is up and the spool is empty, messages go
//! through memory only; once the receiver is away, or memory is full,
//! everything not yet confirmed moves to the spool and new messages follow
//! it there until the spool has drained. Order is kept throughout.
//!
//! A message leaves the FIFO only once delivered: over UDP when the kernel
//! took the datagram (RFC 5426 has no acknowledgement), over TCP and TLS
//! when the receiver's TCP acknowledged its last byte. A connection that
//! breaks sends everything unconfirmed again after reconnecting. Before
//! each write the connection is checked for a close from the receiver, so
//! the classic loss (the first write after a receiver went away succeeds
//! into a dead socket) does not happen.
//!
//! What plain syslog cannot tell is whether a receiver that acknowledged
//! bytes in TCP also processed them: a receiver that stops with unread
//! data in its socket loses it, and nothing on this side can see that.
//! RELP exists for that. The tests stop rsyslog between alerts, not in
//! the middle of a write.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use rustls::ClientConfig;

use super::spool::Spool;
use super::transport::{self, Conn};
use super::{DeliveryOptions, SyslogSpec};
use crate::stats::OutputStats;

/// Bytes of messages per write to a stream.
const BATCH_BYTES: usize = 256 * 1024;
/// Batches written and waiting for their acknowledgement.
const MAX_IN_FLIGHT: usize = 16;
/// Messages taken off the queue per round.
const TAKE_PER_ROUND: usize = 16_384;
/// Wait while bytes are on their way: how often acknowledgements are read.
const POLL: Duration = Duration::from_millis(1);
/// Wait while bytes are on their way but the receiver has acknowledged
/// nothing for a while: a stalled receiver costs no busy loop.
const POLL_STALLING: Duration = Duration::from_millis(25);
/// Acknowledgements older than this make a receiver "stalling".
const RECENT: Duration = Duration::from_millis(100);
/// Shortest time a receiver may acknowledge nothing before it is taken as
/// gone (the flush timeout sets it, but never below this).
const MIN_STALL: Duration = Duration::from_secs(1);
/// Wait when idle: how soon a receiver's close is noticed.
const IDLE: Duration = Duration::from_millis(250);
/// The shortest connection attempt: a zero (or spent) flush timeout still
/// gets one real try.
const MIN_CONNECT: Duration = Duration::from_millis(100);
const BACKOFF_FIRST: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// Messages written together, waiting for the receiver to confirm them.
struct Batch {
    /// Stream offset of the batch's last byte, once all of it is out.
    end: Option<u64>,
    /// Messages taken from memory (given back if the connection breaks).
    from_memory: Vec<Vec<u8>>,
    /// Messages read from the spool (re-read if the connection breaks).
    from_spool: u64,
}

impl Batch {
    fn len(&self) -> u64 {
        self.from_memory.len() as u64 + self.from_spool
    }
}

pub(super) struct Delivery {
    spec: Arc<SyslogSpec>,
    tls: Option<Arc<ClientConfig>>,
    rx: Receiver<Vec<u8>>,
    stats: Arc<OutputStats>,
    options: DeliveryOptions,
    memory: VecDeque<Vec<u8>>,
    /// Bytes held in memory, including batches on the wire.
    memory_bytes: usize,
    spool: Option<Spool>,
    conn: Option<Conn>,
    batches: VecDeque<Batch>,
    next_attempt: Instant,
    backoff: Duration,
    /// When the current outage began (None while connected or before the
    /// first attempt).
    outage: Option<Instant>,
    /// When the receiver last acknowledged data, or had nothing to
    /// acknowledge.
    last_progress: Instant,
    /// How long a receiver may acknowledge nothing while data waits before
    /// the connection is taken as dead.
    stall_limit: Duration,
    /// The receiver stalled once in this run: it no longer gets to slow
    /// the analysis down (back-pressure is off), so a receiver that accepts
    /// and stops reading cannot hold a run forever.
    stalled: bool,
    /// Set at exit: when what is left must be spooled or dropped.
    exit_deadline: Option<Instant>,
}

impl Delivery {
    pub(super) fn new(
        spec: Arc<SyslogSpec>,
        tls: Option<Arc<ClientConfig>>,
        rx: Receiver<Vec<u8>>,
        stats: Arc<OutputStats>,
        options: DeliveryOptions,
        spool: Option<Spool>,
    ) -> Delivery {
        let stall_limit = options.flush_timeout.max(MIN_STALL);
        Delivery {
            spec,
            tls,
            rx,
            stats,
            options,
            memory: VecDeque::new(),
            memory_bytes: 0,
            spool,
            conn: None,
            batches: VecDeque::new(),
            next_attempt: Instant::now(),
            backoff: BACKOFF_FIRST,
            outage: None,
            last_progress: Instant::now(),
            stall_limit,
            stalled: false,
            exit_deadline: None,
        }
    }

    pub(super) fn run(mut self) {
        // Connect before the first alert, so that it need not wait on disk.
        self.connect();
        self.publish();
        loop {
            let wait = self.wait_time();
            let first = if self.may_take() {
                match self.rx.recv_timeout(wait) {
                    Ok(m) => Some(m),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            } else {
                std::thread::sleep(wait);
                None
            };
            if let Some(first) = first {
                let mut taken = vec![first];
                taken.extend(self.rx.try_iter().take(TAKE_PER_ROUND));
                self.take(taken);
            }
            self.step();
        }
        self.shutdown();
    }

    /// Offline, a receiver that is up but slower than the analysis slows
    /// the analysis instead of filling the backlog until it evicts.
    fn may_take(&self) -> bool {
        !(self.options.backpressure && !self.stalled && self.conn.is_some() && self.backlog_full())
    }

    fn backlog_full(&self) -> bool {
        match &self.spool {
            Some(s) => s.bytes() >= self.options.spool_max_bytes / 2,
            None => self.memory_bytes >= self.options.memory_max_bytes,
        }
    }

    fn wait_time(&self) -> Duration {
        let busy = !self.batches.is_empty()
            || matches!(&self.conn, Some(Conn::Stream(s)) if s.has_output());
        if busy {
            return if self.last_progress.elapsed() < RECENT {
                POLL
            } else {
                POLL_STALLING
            };
        }
        if self.conn.is_none() && self.has_backlog() {
            return self
                .next_attempt
                .saturating_duration_since(Instant::now())
                .clamp(POLL, IDLE);
        }
        if self.has_backlog() {
            return Duration::ZERO;
        }
        IDLE
    }

    fn has_backlog(&self) -> bool {
        !self.memory.is_empty() || self.spool.as_ref().is_some_and(|s| !s.all_read())
    }

    /// Messages in the FIFO (memory, on the wire, spool).
    fn pending(&self) -> u64 {
        let on_wire: u64 = self
            .batches
            .iter()
            .map(|b| b.from_memory.len() as u64)
            .sum();
        self.memory.len() as u64 + on_wire + self.spool.as_ref().map_or(0, |s| s.len())
    }

    /// Whether new messages must go to the spool to stay behind older ones
    /// there, or because the receiver is away.
    fn spooling(&self) -> bool {
        self.spool
            .as_ref()
            .is_some_and(|s| !s.is_empty() || self.conn.is_none())
    }

    fn take(&mut self, messages: Vec<Vec<u8>>) {
        if self.spooling() {
            self.append_to_spool(&messages);
        } else {
            for m in messages {
                self.memory_bytes += m.len();
                self.memory.push_back(m);
            }
            if self.memory_bytes > self.options.memory_max_bytes {
                if self.spool.is_some() {
                    self.spill();
                } else {
                    self.evict_from_memory();
                }
            }
        }
        self.publish();
    }

    fn append_to_spool(&mut self, messages: &[Vec<u8>]) {
        let Some(spool) = self.spool.as_mut() else {
            return;
        };
        let before = spool.len();
        match spool.append(messages.iter().map(Vec::as_slice)) {
            Ok(evicted) => {
                self.stats
                    .spooled
                    .fetch_add(messages.len() as u64, Ordering::Relaxed);
                if evicted > 0 {
                    self.note_evicted(evicted);
                }
            }
            Err(e) => {
                // Disk full or gone: what could not be written is lost,
                // and counted so (when evictions ran too, rather too many
                // than too few).
                let added = spool
                    .len()
                    .saturating_sub(before)
                    .min(messages.len() as u64);
                self.stats.spooled.fetch_add(added, Ordering::Relaxed);
                self.stats
                    .dropped
                    .fetch_add(messages.len() as u64 - added, Ordering::Relaxed);
                tracing::error!(output = %self.spec.name, error = %e, "Cannot write to the spool; messages lost (counted as dropped)");
            }
        }
    }

    fn note_evicted(&self, n: u64) {
        if self.stats.evicted.fetch_add(n, Ordering::Relaxed) == 0 {
            tracing::error!(
                output = %self.spec.name,
                "Backlog bound reached: evicting the oldest undelivered messages (counted as evicted)"
            );
        }
    }

    /// Without a spool, memory is the only backlog: its oldest messages
    /// not yet on the wire make room.
    fn evict_from_memory(&mut self) {
        let mut n = 0;
        while self.memory_bytes > self.options.memory_max_bytes {
            let Some(m) = self.memory.pop_front() else {
                break;
            };
            self.memory_bytes -= m.len();
            n += 1;
        }
        if n > 0 {
            self.note_evicted(n);
        }
    }

    /// Moves everything in memory, batches on the wire first, to the
    /// spool. The spool is empty whenever memory is in use, so order holds;
    /// the batches on the wire stay on the wire, now as spool messages.
    fn spill(&mut self) {
        let Some(spool) = self.spool.as_ref() else {
            return;
        };
        debug_assert!(spool.is_empty());
        let mut on_wire = 0u64;
        let mut moved: Vec<Vec<u8>> = Vec::new();
        for b in &mut self.batches {
            on_wire += b.from_memory.len() as u64;
            b.from_spool += b.from_memory.len() as u64;
            moved.append(&mut b.from_memory);
        }
        moved.extend(self.memory.drain(..));
        self.memory_bytes = 0;
        self.append_to_spool(&moved);
        if let Some(spool) = self.spool.as_mut()
            && let Err(e) = spool.mark_read(on_wire)
        {
            tracing::error!(output = %self.spec.name, error = %e, "Spool read failed");
        }
    }

    /// One round: connect if due, confirm, send.
    fn step(&mut self) {
        if self.conn.is_none() {
            if !self.has_backlog() || Instant::now() < self.next_attempt {
                self.publish();
                return;
            }
            self.connect();
            if self.conn.is_none() {
                self.publish();
                return;
            }
        }
        if let Err(e) = self.send_some() {
            self.broken(&e);
        }
        self.publish();
    }

    /// One connection attempt, bounded by the flush timeout (and by what
    /// is left of it at exit), so that a receiver that accepts and never
    /// answers cannot stretch the exit.
    fn connect(&mut self) {
        let limit = self.exit_deadline.map_or(self.options.flush_timeout, |d| {
            d.saturating_duration_since(Instant::now())
        });
        let timeout = limit
            .min(self.options.flush_timeout)
            .min(transport::CONNECT_TIMEOUT)
            .max(MIN_CONNECT);
        match transport::connect(&self.spec, self.tls.as_ref(), timeout) {
            Ok(conn) => {
                if let Some(since) = self.outage.take() {
                    tracing::warn!(
                        output = %self.spec.name,
                        after_seconds = since.elapsed().as_secs(),
                        pending = self.pending(),
                        "Syslog receiver is back; delivering the backlog in order"
                    );
                }
                self.conn = Some(conn);
                self.last_progress = Instant::now();
                self.backoff = BACKOFF_FIRST;
                self.stats.connected.store(true, Ordering::Relaxed);
            }
            Err(e) => {
                self.stats.connect_failures.fetch_add(1, Ordering::Relaxed);
                self.outage_began(&e);
                self.next_attempt = Instant::now() + self.backoff;
                self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
            }
        }
    }

    fn outage_began(&mut self, e: &io::Error) {
        if self.outage.is_none() {
            self.outage = Some(Instant::now());
            let held = if self.spool.is_some() {
                "spooling to disk"
            } else {
                "holding in memory"
            };
            tracing::warn!(
                output = %self.spec.name,
                error = %e,
                "Cannot deliver to the syslog receiver; {held} and retrying with backoff"
            );
        }
    }

    /// The connection broke: everything unconfirmed goes back to the front
    /// of the FIFO, in order, to be sent again.
    fn broken(&mut self, e: &io::Error) {
        self.conn = None;
        self.stats.connected.store(false, Ordering::Relaxed);
        let mut back: Vec<Vec<u8>> = Vec::new();
        for mut b in self.batches.drain(..) {
            back.append(&mut b.from_memory);
        }
        for m in back.into_iter().rev() {
            self.memory.push_front(m);
        }
        if let Some(s) = self.spool.as_mut() {
            s.rewind();
        }
        self.outage_began(e);
        // Straight to the spool: the receiver is away.
        if self.spool.is_some() && !self.memory.is_empty() {
            self.spill();
        }
        self.next_attempt = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
    }

    fn send_some(&mut self) -> io::Result<()> {
        match &mut self.conn {
            Some(Conn::Udp(_)) => self.send_udp(),
            Some(Conn::Stream(_)) => self.send_stream(),
            None => Ok(()),
        }
    }

    fn send_udp(&mut self) -> io::Result<()> {
        let Some(Conn::Udp(udp)) = &self.conn else {
            return Ok(());
        };
        let mut sent = 0u64;
        let mut truncated = 0u64;
        if let Some(spool) = self.spool.as_mut()
            && !spool.is_empty()
        {
            let batch = spool.read_next(BATCH_BYTES).map_err(io::Error::other)?;
            let mut ok = 0;
            let mut failure = None;
            for m in &batch {
                match udp.send(m) {
                    Ok(cut) => {
                        ok += 1;
                        truncated += u64::from(cut);
                    }
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
            spool.ack(ok).map_err(io::Error::other)?;
            sent += ok;
            self.count_sent(sent, truncated);
            return failure.map_or(Ok(()), Err);
        }
        while let Some(m) = self.memory.front() {
            let cut = udp.send(m)?;
            truncated += u64::from(cut);
            sent += 1;
            if let Some(m) = self.memory.pop_front() {
                self.memory_bytes -= m.len();
            }
        }
        self.count_sent(sent, truncated);
        Ok(())
    }

    fn count_sent(&self, sent: u64, truncated: u64) {
        self.stats.sent.fetch_add(sent, Ordering::Relaxed);
        if truncated > 0 {
            self.stats.truncated.fetch_add(truncated, Ordering::Relaxed);
        }
    }

    fn send_stream(&mut self) -> io::Result<()> {
        let Some(Conn::Stream(conn)) = &mut self.conn else {
            return Ok(());
        };
        loop {
            // Release what the receiver has confirmed.
            let acked = conn.acked()?;
            if self.batches.is_empty() {
                self.last_progress = Instant::now();
            }
            while let Some(b) = self.batches.front() {
                if b.end.is_none_or(|end| end > acked) {
                    break;
                }
                let Some(b) = self.batches.pop_front() else {
                    break;
                };
                let bytes: usize = b.from_memory.iter().map(Vec::len).sum();
                self.memory_bytes -= bytes;
                if let Some(spool) = self.spool.as_mut() {
                    spool.ack(b.from_spool).map_err(io::Error::other)?;
                }
                self.stats.sent.fetch_add(b.len(), Ordering::Relaxed);
                self.last_progress = Instant::now();
            }
            // A receiver that went away must be noticed before a write, or
            // the write vanishes into the closed socket; and while batches
            // wait for acknowledgements (or for room in a full socket), or
            // a reset receiver would be polled for them forever.
            conn.check_alive()?;
            if !self.batches.is_empty() && self.last_progress.elapsed() >= self.stall_limit {
                if !self.stalled {
                    self.stalled = true;
                    tracing::warn!(
                        output = %self.spec.name,
                        seconds = self.stall_limit.as_secs(),
                        "Syslog receiver acknowledged nothing in time; reconnecting, and it no longer slows the analysis"
                    );
                }
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "the receiver acknowledged nothing for {} s",
                        self.stall_limit.as_secs()
                    ),
                ));
            }
            // Finish writing the last batch before anything else.
            if let Some(last) = self.batches.back_mut()
                && last.end.is_none()
            {
                match conn.pump()? {
                    Some(end) => last.end = Some(end),
                    None => break,
                }
            }
            if self.batches.len() >= MAX_IN_FLIGHT {
                break;
            }
            let mut batch = Batch {
                end: None,
                from_memory: Vec::new(),
                from_spool: 0,
            };
            match self.spool.as_mut() {
                Some(spool) if !spool.is_empty() => {
                    if spool.all_read() {
                        break;
                    }
                    let messages = spool.read_next(BATCH_BYTES).map_err(io::Error::other)?;
                    conn.queue(messages.iter().map(Vec::as_slice))?;
                    batch.from_spool = messages.len() as u64;
                }
                _ => {
                    let mut bytes = 0;
                    while bytes < BATCH_BYTES
                        && let Some(m) = self.memory.pop_front()
                    {
                        bytes += m.len();
                        batch.from_memory.push(m);
                    }
                    conn.queue(batch.from_memory.iter().map(Vec::as_slice))?;
                }
            }
            if batch.len() == 0 {
                break;
            }
            self.batches.push_back(batch);
        }
        Ok(())
    }

    /// The queue is closed: deliver what is left while the flush timeout
    /// allows, then keep the rest in the spool (or count it as dropped).
    fn shutdown(mut self) {
        let deadline = Instant::now() + self.options.flush_timeout;
        self.exit_deadline = Some(deadline);
        // One more attempt now, whatever the backoff said.
        self.next_attempt = Instant::now();
        while (self.has_backlog() || !self.batches.is_empty()) && Instant::now() < deadline {
            self.step();
            // With a spool, what is left is safe on disk: no point waiting
            // out the timeout for a receiver that refuses.
            if self.conn.is_none() && self.spool.is_some() && self.outage.is_some() {
                break;
            }
            if self.conn.is_none() && Instant::now() < self.next_attempt {
                let nap = self
                    .next_attempt
                    .min(deadline)
                    .saturating_duration_since(Instant::now());
                std::thread::sleep(nap);
            } else {
                std::thread::sleep(POLL);
            }
        }
        if self.spool.is_some() {
            if self.spool.as_ref().is_some_and(|s| s.is_empty()) {
                self.spill();
            } else {
                // Batches from memory cannot be on the wire while the
                // spool holds messages; what is on the wire is in the spool.
                let rest: Vec<Vec<u8>> = self.memory.drain(..).collect();
                self.append_to_spool(&rest);
            }
            let left = self.spool.as_ref().map_or(0, |s| s.len());
            if left > 0 {
                tracing::warn!(
                    output = %self.spec.name,
                    messages = left,
                    spool = %self.spool.as_ref().map(|s| s.dir().display().to_string()).unwrap_or_default(),
                    "Undelivered messages stay in the spool; the next run delivers them first"
                );
            }
        } else {
            let lost = self.pending();
            if lost > 0 {
                self.stats.dropped.fetch_add(lost, Ordering::Relaxed);
                tracing::error!(
                    output = %self.spec.name,
                    messages = lost,
                    "Could not deliver before exit and no --spool-dir to keep them: dropped"
                );
                self.memory.clear();
                self.batches.clear();
            }
        }
        if let Some(Conn::Stream(s)) = self.conn.take() {
            s.close();
        }
        self.stats.connected.store(false, Ordering::Relaxed);
        self.publish();
    }

    fn publish(&self) {
        self.stats.pending.store(self.pending(), Ordering::Relaxed);
    }
}
