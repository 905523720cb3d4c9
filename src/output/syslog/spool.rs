//! The disk spool of one syslog output: a FIFO of messages that survives a
//! SIEM outage and a restart of dnsentry, bounded in bytes.
//!
//! Layout of the output's directory:
//!
//! * `lock`: held (flock) while a process uses the spool, so two sensors
//!   never interleave their writes;
//! * `NNNNNNNNNNNNNNNNNNNN.seg`: segments, oldest first, each a run of
//!   records `[len: u32 LE][crc32: u32 LE][message]`;
//! * `head`: `SEGMENT OFFSET` of the first message not yet delivered,
//!   replaced atomically (write, then rename) after every acknowledgement.
//!
//! Messages are read ahead of the head (the read cursor) while they are on
//! the wire, and acknowledged when the receiver confirmed them; after a
//! broken connection the cursor rewinds to the head, so nothing confirmed
//! is sent twice and nothing unconfirmed is skipped. A torn or corrupt tail
//! (a crash in the middle of a write) is cut off at the last whole record
//! when the spool is opened, and what was cut is reported.
//!
//! When the spool would grow past its bound, whole segments go, oldest
//! first, sparing only the one being sent from; their messages are counted
//! as evicted.
//!
//! A live sensor hands the spool to the user it becomes (`--user`), and
//! opens it again as root on the next start: whatever that user left in
//! it is opened through the directory's descriptor ([`PrivateDir`]), never
//! through a symbolic link, and only as a regular file with one name that
//! no one else can write.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use nix::fcntl::{Flock, FlockArg};

use crate::fsutil::{Access, FsError, PathError, PrivateDir};

/// Bytes before each message.
const RECORD_HEADER: u64 = 8;
/// A length beyond this is corruption, not a message (syslog messages are
/// a few KiB at most).
const MAX_RECORD: u32 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("spool {dir}: {what}: {source}")]
    Io {
        dir: String,
        what: &'static str,
        source: io::Error,
    },
    #[error("spool {dir} is in use by another dnsentry process")]
    Locked { dir: String },
    #[error("spool: {0}")]
    File(#[from] PathError),
}

#[derive(Debug)]
struct Segment {
    id: u64,
    bytes: u64,
    records: u64,
}

/// The open segment being read, and where in it.
struct SegmentReader {
    id: u64,
    pos: u64,
    inner: io::BufReader<File>,
}

impl SegmentReader {
    /// The record here: its stored length and checksum, and the message.
    fn next_record(&mut self) -> io::Result<(u32, u32, Vec<u8>)> {
        let mut header = [0u8; RECORD_HEADER as usize];
        self.inner.read_exact(&mut header)?;
        let (len_bytes, crc_bytes) = header.split_at(4);
        let len = u32::from_le_bytes(len_bytes.try_into().unwrap_or([0; 4]));
        let crc = u32::from_le_bytes(crc_bytes.try_into().unwrap_or([0; 4]));
        let mut m = vec![0u8; len.min(MAX_RECORD) as usize];
        self.inner.read_exact(&mut m)?;
        self.pos += RECORD_HEADER + m.len() as u64;
        Ok((len, crc, m))
    }
}

/// What opening found on disk.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Recovered {
    /// Messages left undelivered by an earlier run.
    pub records: u64,
    /// Bytes of torn or corrupt records cut off.
    pub cut_bytes: u64,
}

/// A position: segment id and byte offset inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pos {
    seg: u64,
    offset: u64,
}

pub struct Spool {
    dir: PrivateDir,
    max_bytes: u64,
    segment_bytes: u64,
    _lock: Flock<File>,
    segments: VecDeque<Segment>,
    /// First message not yet acknowledged; `head_records` of the head
    /// segment's messages are before it.
    head: Pos,
    head_records: u64,
    /// Next message to read, and the lengths of the messages between the
    /// head and here (read, not yet acknowledged).
    read: Pos,
    read_lens: VecDeque<u64>,
    reader: Option<SegmentReader>,
    writer: Option<BufWriter<File>>,
    total_bytes: u64,
}

impl Spool {
    /// Opens the spool in `dir`, recovers what an earlier run left, and
    /// takes the lock.
    pub fn open(dir: PrivateDir, max_bytes: u64) -> Result<(Spool, Recovered), SpoolError> {
        let name = dir.path().display().to_string();
        let io_err = |what: &'static str| {
            let dir = name.clone();
            move |source| SpoolError::Io { dir, what, source }
        };
        let lock_file = dir.open_file("lock", Access::ReadWriteCreate)?;
        let lock = Flock::lock(lock_file, FlockArg::LockExclusiveNonblock)
            .map_err(|_| SpoolError::Locked { dir: name.clone() })?;

        let mut ids: Vec<u64> = dir
            .names()?
            .iter()
            .filter_map(|n| n.strip_suffix(".seg")?.parse().ok())
            .collect();
        ids.sort_unstable();
        let head = read_head(&dir)?;
        let mut recovered = Recovered::default();
        let mut segments = VecDeque::new();
        // Where the head is, counted in whole records of its segment.
        let mut start = None;
        for id in ids {
            // Segments wholly before the head were delivered; a crash
            // between the ack and the delete left them.
            if head.is_some_and(|h| id < h.seg) {
                let _ = dir.remove(&segment_name(id));
                continue;
            }
            let head_offset = head.filter(|h| h.seg == id).map(|h| h.offset);
            let file = dir.open_file(&segment_name(id), Access::ReadWrite)?;
            let scan = scan_segment(file, head_offset).map_err(io_err("cannot read segment"))?;
            recovered.cut_bytes += scan.cut;
            if head_offset.is_some() && segments.is_empty() {
                start = Some((
                    Pos {
                        seg: id,
                        offset: scan.head.1,
                    },
                    scan.head.0,
                ));
            }
            segments.push_back(Segment {
                id,
                bytes: scan.bytes,
                records: scan.records,
            });
        }
        let first = segments.front().map_or(0, |s| s.id);
        let (start, head_records) = start.unwrap_or((
            Pos {
                seg: first,
                offset: 0,
            },
            0,
        ));
        let total_bytes = segments.iter().map(|s| s.bytes).sum();
        let mut spool = Spool {
            dir,
            max_bytes: max_bytes.max(4096),
            // Small enough that eviction takes a small bite, large enough
            // that files stay few.
            segment_bytes: (max_bytes / 16).clamp(4096, 64 << 20),
            _lock: lock,
            segments,
            head: start,
            head_records,
            read: start,
            read_lens: VecDeque::new(),
            reader: None,
            writer: None,
            total_bytes,
        };
        recovered.records = spool.len();
        if spool.segments.is_empty() {
            // Segment ids keep growing across runs: a head left by an
            // earlier run must never point past a new segment.
            let next = head.map_or(0, |h| h.seg + 1);
            spool.head = Pos {
                seg: next,
                offset: 0,
            };
            spool.read = spool.head;
            spool.save_head()?;
        }
        Ok((spool, recovered))
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Messages not yet acknowledged.
    pub fn len(&self) -> u64 {
        self.segments
            .iter()
            .map(|s| s.records)
            .sum::<u64>()
            .saturating_sub(self.head_records)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Messages read but not acknowledged.
    pub fn in_flight(&self) -> u64 {
        self.read_lens.len() as u64
    }

    /// Whether every message has been read (some may await their ack).
    pub fn all_read(&self) -> bool {
        self.len() == self.in_flight()
    }

    /// Appends messages in order; returns how many older messages were
    /// evicted to make room.
    pub fn append<'a>(
        &mut self,
        messages: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<u64, SpoolError> {
        let mut evicted = 0;
        for m in messages {
            let len = u32::try_from(m.len()).unwrap_or(MAX_RECORD).min(MAX_RECORD);
            let Some(m) = m.get(..len as usize) else {
                continue;
            };
            let size = RECORD_HEADER + u64::from(len);
            evicted += self.make_room(size)?;
            let need_new = match self.segments.back() {
                None => true,
                Some(s) => s.bytes > 0 && s.bytes + size > self.segment_bytes,
            };
            if need_new || self.writer.is_none() {
                self.open_writer(need_new)?;
            }
            let crc = crc32fast::hash(m);
            let w = self
                .writer
                .as_mut()
                .ok_or_else(|| io::Error::other("no segment open"))
                .map_err(|e| io_error(self.dir.path(), "cannot write segment", e))?;
            let result = w
                .write_all(&len.to_le_bytes())
                .and_then(|()| w.write_all(&crc.to_le_bytes()))
                .and_then(|()| w.write_all(m));
            result.map_err(|e| io_error(self.dir.path(), "cannot write segment", e))?;
            if let Some(s) = self.segments.back_mut() {
                s.bytes += size;
                s.records += 1;
            }
            self.total_bytes += size;
        }
        self.flush()?;
        Ok(evicted)
    }

    /// Hands the written messages to the kernel, so that a crash of this
    /// process loses none of them.
    fn flush(&mut self) -> Result<(), SpoolError> {
        if let Some(w) = self.writer.as_mut() {
            let r = w.flush();
            r.map_err(|e| io_error(self.dir.path(), "cannot write segment", e))?;
        }
        Ok(())
    }

    fn open_writer(&mut self, new_segment: bool) -> Result<(), SpoolError> {
        self.flush()?;
        self.writer = None;
        if new_segment {
            let id = self.segments.back().map_or(self.head.seg, |s| s.id + 1);
            self.segments.push_back(Segment {
                id,
                bytes: 0,
                records: 0,
            });
        }
        let Some(tail) = self.segments.back() else {
            return Ok(());
        };
        let file = self
            .dir
            .open_file(&segment_name(tail.id), Access::AppendCreate)?;
        self.writer = Some(BufWriter::with_capacity(64 * 1024, file));
        Ok(())
    }

    /// Evicts whole segments, oldest first, until `incoming` more bytes
    /// fit. The segment being read from stays when messages from it are
    /// on the wire.
    fn make_room(&mut self, incoming: u64) -> Result<u64, SpoolError> {
        let mut evicted = 0;
        while self.total_bytes + incoming > self.max_bytes {
            let busy = |s: &Segment| !self.read_lens.is_empty() && s.id <= self.read.seg;
            let Some(index) = self.segments.iter().position(|s| !busy(s)) else {
                break;
            };
            // The segment being appended to goes too if it must; the next
            // append opens a fresh one.
            if index + 1 == self.segments.len() {
                self.flush()?;
                self.writer = None;
            }
            let Some(seg) = self.segments.remove(index) else {
                break;
            };
            let undelivered = if seg.id == self.head.seg {
                seg.records - self.head_records
            } else {
                seg.records
            };
            evicted += undelivered;
            self.total_bytes -= seg.bytes;
            if self.reader.as_ref().is_some_and(|r| r.id == seg.id) {
                self.reader = None;
            }
            self.dir.remove(&segment_name(seg.id))?;
            if seg.id == self.head.seg {
                let next = self.segments.front().map_or(seg.id + 1, |s| s.id);
                self.head = Pos {
                    seg: next,
                    offset: 0,
                };
                self.head_records = 0;
                self.read = self.head;
                self.save_head()?;
            }
            if self.segments.is_empty() {
                break;
            }
        }
        Ok(evicted)
    }

    /// Reads up to `max_bytes` of messages (at least one if any is unread)
    /// from the read cursor on, never across a segment boundary.
    pub fn read_next(&mut self, max_bytes: usize) -> Result<Vec<Vec<u8>>, SpoolError> {
        self.read_up_to(usize::MAX, max_bytes)
    }

    /// Moves the read cursor past `n` messages without handing them out:
    /// they are already on the wire.
    pub fn mark_read(&mut self, mut n: u64) -> Result<(), SpoolError> {
        while n > 0 {
            let got = self.read_up_to(usize::try_from(n).unwrap_or(usize::MAX), usize::MAX)?;
            if got.is_empty() {
                break;
            }
            n = n.saturating_sub(got.len() as u64);
        }
        Ok(())
    }

    fn read_up_to(
        &mut self,
        max_messages: usize,
        max_bytes: usize,
    ) -> Result<Vec<Vec<u8>>, SpoolError> {
        self.flush()?;
        let mut out = Vec::new();
        let mut taken = 0usize;
        loop {
            // The read segment may have been evicted: go on with the next.
            let Some(seg) = self.segments.iter().find(|s| s.id >= self.read.seg) else {
                return Ok(out);
            };
            if seg.id != self.read.seg {
                self.read = Pos {
                    seg: seg.id,
                    offset: 0,
                };
            }
            if self.read.offset >= seg.bytes {
                // This segment is read to its end: go on to the next, if
                // nothing was taken from this one.
                if !out.is_empty() {
                    return Ok(out);
                }
                let Some(next) = self.segments.iter().find(|s| s.id > self.read.seg) else {
                    return Ok(out);
                };
                self.read = Pos {
                    seg: next.id,
                    offset: 0,
                };
                continue;
            }
            if (taken >= max_bytes || out.len() >= max_messages) && !out.is_empty() {
                return Ok(out);
            }
            let seg_id = seg.id;
            let record = self.reader_at(seg_id, self.read.offset)?.next_record();
            let (len, crc, m) =
                record.map_err(|e| io_error(self.dir.path(), "cannot read segment", e))?;
            if crc32fast::hash(&m) != crc {
                // Checked when the spool was opened; changed on disk since.
                return Err(SpoolError::Io {
                    dir: self.dir.path().display().to_string(),
                    what: "segment changed on disk",
                    source: io::Error::other("checksum mismatch"),
                });
            }
            let size = RECORD_HEADER + u64::from(len);
            self.read.offset += size;
            self.read_lens.push_back(size);
            taken += m.len();
            out.push(m);
        }
    }

    /// A reader positioned at `offset` in segment `id`: the open one when
    /// it is already there (reading on is the usual case, and costs no
    /// seek), else seeked or opened.
    fn reader_at(&mut self, id: u64, offset: u64) -> Result<&mut SegmentReader, SpoolError> {
        let err = |what| {
            let dir = self.dir.path();
            move |e| io_error(dir, what, e)
        };
        match &mut self.reader {
            Some(r) if r.id == id && r.pos == offset => {}
            Some(r) if r.id == id => {
                r.inner
                    .seek(SeekFrom::Start(offset))
                    .map_err(err("cannot read segment"))?;
                r.pos = offset;
            }
            _ => {
                let mut f = self.dir.open_file(&segment_name(id), Access::Read)?;
                f.seek(SeekFrom::Start(offset))
                    .map_err(err("cannot read segment"))?;
                self.reader = Some(SegmentReader {
                    id,
                    pos: offset,
                    inner: io::BufReader::with_capacity(64 * 1024, f),
                });
            }
        }
        self.reader.as_mut().ok_or_else(|| SpoolError::Io {
            dir: self.dir.path().display().to_string(),
            what: "cannot open segment",
            source: io::Error::other("no reader"),
        })
    }

    /// The first `n` messages read are delivered: moves the head past
    /// them, persists it, and deletes segments left behind.
    pub fn ack(&mut self, n: u64) -> Result<(), SpoolError> {
        if n == 0 {
            return Ok(());
        }
        for _ in 0..n {
            let Some(size) = self.read_lens.pop_front() else {
                break;
            };
            // Messages are read in order and never across segments, so
            // the head reaches the end of its segment before it moves on.
            loop {
                let seg_bytes = self
                    .segments
                    .iter()
                    .find(|s| s.id == self.head.seg)
                    .map_or(0, |s| s.bytes);
                if self.head.offset < seg_bytes {
                    break;
                }
                let Some(next) = self.segments.iter().find(|s| s.id > self.head.seg) else {
                    break;
                };
                self.head = Pos {
                    seg: next.id,
                    offset: 0,
                };
                self.head_records = 0;
            }
            self.head.offset += size;
            self.head_records += 1;
        }
        self.drop_delivered_segments()?;
        self.save_head()
    }

    /// Forgets what was read but not acknowledged: it is read again.
    pub fn rewind(&mut self) {
        self.read = self.head;
        self.read_lens.clear();
    }

    fn drop_delivered_segments(&mut self) -> Result<(), SpoolError> {
        while let Some(front) = self.segments.front() {
            let done = front.id == self.head.seg
                && self.head.offset >= front.bytes
                && front.records == self.head_records;
            // The tail segment stays while it is open for appending.
            if !done || self.segments.len() == 1 && self.writer.is_some() {
                break;
            }
            let id = front.id;
            let bytes = front.bytes;
            if self.reader.as_ref().is_some_and(|r| r.id == id) {
                self.reader = None;
            }
            self.dir.remove(&segment_name(id))?;
            self.segments.pop_front();
            self.total_bytes -= bytes;
            let next = self.segments.front().map_or(id + 1, |s| s.id);
            self.head = Pos {
                seg: next,
                offset: 0,
            };
            self.head_records = 0;
            if self.read.seg == id {
                self.read = self.head;
            }
        }
        Ok(())
    }

    fn save_head(&self) -> Result<(), SpoolError> {
        let mut tmp = self.dir.create_new("head.tmp")?;
        tmp.write_all(format!("{} {}\n", self.head.seg, self.head.offset).as_bytes())
            .map_err(|e| io_error(self.dir.path(), "cannot write head", e))?;
        drop(tmp);
        Ok(self.dir.rename("head.tmp", "head")?)
    }

    /// Bytes on disk, headers included.
    pub fn bytes(&self) -> u64 {
        self.total_bytes
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

fn io_error(dir: &Path, what: &'static str, source: io::Error) -> SpoolError {
    SpoolError::Io {
        dir: dir.display().to_string(),
        what,
        source,
    }
}

fn segment_name(id: u64) -> String {
    format!("{id:020}.seg")
}

/// Longer than any head pointer (two numbers): what is beyond is not one.
const HEAD_MAX: u64 = 64;

/// The head pointer an earlier run left; none when there is none or it is
/// unreadable (every segment is then sent from its start). A head that is
/// a link or no regular file is refused, not read.
fn read_head(dir: &PrivateDir) -> Result<Option<Pos>, SpoolError> {
    let file = match dir.open_file("head", Access::Read) {
        Ok(f) => f,
        Err(PathError {
            source: FsError::Io(e),
            ..
        }) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut text = String::new();
    if file.take(HEAD_MAX).read_to_string(&mut text).is_err() {
        return Ok(None);
    }
    let mut it = text.split_whitespace();
    let parse = |s: Option<&str>| s.and_then(|s| s.parse().ok());
    Ok(parse(it.next())
        .zip(parse(it.next()))
        .map(|(seg, offset)| Pos { seg, offset }))
}

/// What a segment holds on disk.
struct Scan {
    /// Whole, intact records.
    records: u64,
    /// Length up to the end of the last of them.
    bytes: u64,
    /// Bytes after it, cut off (a torn or corrupt tail).
    cut: u64,
    /// Records that end at or before the head offset asked about, and the
    /// record boundary reached (a head pointing into a record rounds down).
    head: (u64, u64),
}

/// Checks every record of a segment (opened read-write) and truncates the
/// file after the last intact one.
fn scan_segment(file: File, head_offset: Option<u64>) -> io::Result<Scan> {
    let file_len = file.metadata()?.len();
    let mut r = SegmentReader {
        id: 0,
        pos: 0,
        inner: io::BufReader::with_capacity(64 * 1024, file.try_clone()?),
    };
    let mut scan = Scan {
        records: 0,
        bytes: 0,
        cut: 0,
        head: (0, 0),
    };
    while let Ok((len, crc, m)) = r.next_record() {
        if len > MAX_RECORD || crc32fast::hash(&m) != crc {
            break;
        }
        scan.records += 1;
        scan.bytes = r.pos;
        if head_offset.is_some_and(|h| r.pos <= h) {
            scan.head = (scan.records, r.pos);
        }
    }
    if scan.bytes < file_len {
        file.set_len(scan.bytes)?;
    }
    scan.cut = file_len - scan.bytes;
    Ok(scan)
}

#[cfg(test)]
mod tests {
    use std::fs::{self, OpenOptions};
    use std::os::unix::fs::{MetadataExt, PermissionsExt, lchown, symlink};

    use super::*;
    use crate::fsutil::Owners;

    fn open(dir: &Path, max_bytes: u64) -> Result<(Spool, Recovered), SpoolError> {
        Spool::open(PrivateDir::open(dir, Owners::default())?, max_bytes)
    }

    fn msgs(range: std::ops::Range<u32>) -> Vec<Vec<u8>> {
        range
            .map(|i| format!("message {i:05}").into_bytes())
            .collect()
    }

    fn append(s: &mut Spool, m: &[Vec<u8>]) -> u64 {
        s.append(m.iter().map(|v| v.as_slice())).unwrap()
    }

    fn drain(s: &mut Spool) -> Vec<Vec<u8>> {
        let mut all = Vec::new();
        loop {
            let got = s.read_next(100).unwrap();
            if got.is_empty() {
                return all;
            }
            s.ack(got.len() as u64).unwrap();
            all.extend(got);
        }
    }

    #[test]
    fn delivers_in_order_across_segments_and_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let all = msgs(0..2000);
        {
            let (mut s, rec) = open(dir.path(), 64 * 1024).unwrap();
            assert_eq!(rec, Recovered::default());
            assert_eq!(append(&mut s, &all[..1500]), 0);
            // Half delivered, a batch read but never confirmed.
            let mut delivered = 0;
            while delivered < 700 {
                let got = s.read_next(500).unwrap();
                s.ack(got.len() as u64).unwrap();
                delivered += got.len();
            }
            assert_eq!(s.read_next(300).unwrap().first(), all.get(delivered));
            assert_eq!(s.len(), 1500 - delivered as u64);
        }
        let (mut s, rec) = open(dir.path(), 64 * 1024).unwrap();
        let first = 1500 - rec.records as usize;
        assert_eq!(rec.cut_bytes, 0);
        append(&mut s, &all[1500..]);
        assert_eq!(drain(&mut s), all[first..]);
        assert!(s.is_empty());
        // Delivered segments are gone.
        let segs = fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "seg")
            })
            .count();
        assert!(segs <= 1, "{segs}");
    }

    #[test]
    fn rewind_sends_unconfirmed_again() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, _) = open(dir.path(), 1 << 20).unwrap();
        let all = msgs(0..50);
        append(&mut s, &all);
        let a = s.read_next(200).unwrap();
        s.ack(3).unwrap();
        s.rewind();
        let b = s.read_next(200).unwrap();
        assert_eq!(b.first(), a.get(3));
        s.ack(b.len() as u64).unwrap();
        let rest = drain(&mut s);
        assert_eq!([&a[..3], &b[..], &rest[..]].concat(), all);
    }

    #[test]
    fn full_spool_evicts_oldest_and_counts_them() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, _) = open(dir.path(), 16 * 1024).unwrap();
        let all = msgs(0..5000);
        let evicted = append(&mut s, &all);
        assert!(evicted > 0);
        assert!(s.bytes() <= 16 * 1024, "{}", s.bytes());
        assert_eq!(s.len() + evicted, 5000);
        let left = drain(&mut s);
        // What is left is the newest, in order.
        assert_eq!(left, all[all.len() - left.len()..]);
    }

    #[test]
    fn torn_tail_is_cut_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut s, _) = open(dir.path(), 1 << 20).unwrap();
            append(&mut s, &msgs(0..10));
        }
        let seg = dir.path().join(segment_name(0));
        let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
        f.write_all(&[200, 0, 0, 0, 1, 2, 3, 4, b'x']).unwrap();
        let (mut s, rec) = open(dir.path(), 1 << 20).unwrap();
        assert_eq!(
            rec,
            Recovered {
                records: 10,
                cut_bytes: 9
            }
        );
        assert_eq!(drain(&mut s), msgs(0..10));
    }

    #[test]
    fn second_process_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (_s, _) = open(dir.path(), 1 << 20).unwrap();
        assert!(matches!(
            open(dir.path(), 1 << 20),
            Err(SpoolError::Locked { .. })
        ));
    }

    const NOBODY: u32 = 65534;

    /// A spool a first run left and handed over to `NOBODY`.
    fn handed_over(dir: &Path) -> std::path::PathBuf {
        assert!(nix::unistd::geteuid().is_root(), "chown needs root");
        let spool = dir.join("spool");
        {
            let (mut s, _) = open(&spool, 1 << 20).unwrap();
            append(&mut s, &msgs(0..10));
        }
        for e in fs::read_dir(&spool).unwrap() {
            lchown(e.unwrap().path(), Some(NOBODY), Some(NOBODY)).unwrap();
        }
        lchown(&spool, Some(NOBODY), Some(NOBODY)).unwrap();
        spool
    }

    fn open_as_root_for(spool: &Path, user: u32) -> Result<(Spool, Recovered), SpoolError> {
        let owners = Owners {
            handover: Some(user),
        };
        Spool::open(PrivateDir::open(spool, owners)?, 1 << 20)
    }

    fn victim(dir: &Path, name: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        fs::write(&p, "root-only secret\n").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
        p
    }

    fn untouched(p: &Path) -> bool {
        fs::read_to_string(p).unwrap() == "root-only secret\n"
            && fs::metadata(p).unwrap().uid() == 0
    }

    /// The next start as root after `--user nobody`: the spool is
    /// nobody's now, and that is accepted; what it holds is delivered.
    #[test]
    fn a_spool_handed_to_the_sensor_user_opens_again_as_root() {
        let dir = tempfile::tempdir().unwrap();
        let spool = handed_over(dir.path());
        let (mut s, rec) = open_as_root_for(&spool, NOBODY).unwrap();
        assert_eq!(rec.records, 10);
        assert_eq!(drain(&mut s), msgs(0..10));
        // Without the handover, nobody's spool is no one's to use.
        drop(s);
        let e = open(&spool, 1 << 20).err().unwrap();
        assert!(e.to_string().contains("owned by uid 65534"), "{e}");
    }

    /// What the sensor user can put in its spool: links to root's files
    /// in place of the lock, the head, a segment and the head's temporary
    /// file. None is followed: nothing outside is read, cut, created or
    /// written.
    #[test]
    fn links_the_sensor_user_planted_are_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let created = dir.path().join("created-by-root");
        for name in ["lock", "head", "00000000000000000000.seg", "head.tmp"] {
            let spool = handed_over(dir.path());
            let target = victim(dir.path(), "victim");
            let link = spool.join(name);
            let _ = fs::remove_file(&link);
            let to = if name == "lock" { &created } else { &target };
            symlink(to, &link).unwrap();
            lchown(&link, Some(NOBODY), Some(NOBODY)).unwrap();
            match open_as_root_for(&spool, NOBODY) {
                Ok((mut s, _)) => {
                    // Only the temporary name is harmless: it is replaced.
                    assert_eq!(name, "head.tmp");
                    drain(&mut s);
                    assert!(
                        fs::symlink_metadata(&link).is_ok_and(|m| !m.is_symlink())
                            || !link.exists()
                    );
                }
                Err(e) => {
                    assert!(e.to_string().contains("symbolic link"), "{name}: {e}");
                }
            }
            assert!(untouched(&target), "{name}: the file outside changed");
            assert!(!created.exists(), "{name}: a file was created outside");
            fs::remove_dir_all(&spool).unwrap();
        }
    }

    /// Hard links to root's files, files others may write, and things
    /// that are not regular files are refused too.
    #[test]
    fn hard_links_shared_files_and_special_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let spool = handed_over(dir.path());
        let target = victim(dir.path(), "victim");
        let seg = spool.join(segment_name(0));
        fs::remove_file(&seg).unwrap();
        fs::hard_link(&target, &seg).unwrap();
        let e = open_as_root_for(&spool, NOBODY).err().unwrap();
        assert!(e.to_string().contains("hard links"), "{e}");
        assert!(untouched(&target));

        fs::remove_file(&seg).unwrap();
        fs::write(&seg, "").unwrap();
        lchown(&seg, Some(NOBODY), Some(NOBODY)).unwrap();
        fs::set_permissions(&seg, fs::Permissions::from_mode(0o666)).unwrap();
        let e = open_as_root_for(&spool, NOBODY).err().unwrap();
        assert!(e.to_string().contains("writable by users other"), "{e}");

        fs::remove_file(&seg).unwrap();
        nix::unistd::mkfifo(&seg, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let e = open_as_root_for(&spool, NOBODY).err().unwrap();
        assert!(e.to_string().contains("a FIFO"), "{e}");

        fs::remove_file(&seg).unwrap();
        fs::set_permissions(&spool, fs::Permissions::from_mode(0o777)).unwrap();
        let e = open_as_root_for(&spool, NOBODY).err().unwrap();
        assert!(e.to_string().contains("writable by users other"), "{e}");
    }

    #[test]
    fn spool_files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("spool");
        let (mut s, _) = open(&spool, 1 << 20).unwrap();
        append(&mut s, &msgs(0..3));
        s.read_next(100).unwrap();
        s.ack(1).unwrap();
        assert_eq!(fs::metadata(&spool).unwrap().mode() & 0o7777, 0o700);
        for e in fs::read_dir(&spool).unwrap() {
            let p = e.unwrap().path();
            assert_eq!(
                fs::metadata(&p).unwrap().mode() & 0o7777,
                0o600,
                "{}",
                p.display()
            );
        }
    }
}
