//! Capture files: pcap and pcapng, read with libpcap; and capture streams
//! (stdin as `-`, FIFOs, devices), read once with the pure-Rust
//! `pcap-file` reader.
//!
//! libpcap refuses a pcapng whose interfaces have different link types (it
//! reports one link type per handle). When libpcap fails on a pcapng, the
//! file is read on with `pcap-file` from the packet where libpcap stopped,
//! so such captures are read whole.
//!
//! A stream cannot be read twice: its format is told from its first bytes,
//! which are then handed to the reader ahead of the rest. Opening it never
//! waits for a writer, and reading it waits for data in short polls, so a
//! stop request (SIGINT, SIGTERM) ends a run whose writer has gone quiet.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{CaptureError, Flow, Frame};
use crate::decode::link::LinkType;
use crate::model::{SourceRef, Timestamp};
use crate::stats::FileReport;

/// How long a read of a quiet stream waits before it looks at the stop
/// flag again.
const STREAM_POLL_MS: u16 = 100;
/// libpcap's largest packet record (MAXIMUM_SNAPLEN): a longer one is
/// corruption.
const MAX_RECORD: u32 = 262_144;
/// The link type in a pcap header's low bits; the high ones carry FCS
/// details (LT_LINKTYPE in libpcap).
const LINKTYPE_MASK: u32 = 0x03ff_ffff;

/// Container format, from the file's magic number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    Pcap,
    PcapNg,
}

impl FileFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            FileFormat::Pcap => "pcap",
            FileFormat::PcapNg => "pcapng",
        }
    }

    /// The format of a capture starting with `magic`.
    /// The pcap file header; the smallest pcapng section header block.
    fn header_len(self) -> u64 {
        match self {
            FileFormat::Pcap => 24,
            FileFormat::PcapNg => 28,
        }
    }

    fn from_magic(name: &str, magic: [u8; 4]) -> Result<FileFormat, CaptureError> {
        match u32::from_be_bytes(magic) {
            0xa1b2c3d4 | 0xd4c3b2a1 | 0xa1b23c4d | 0x4d3cb2a1 => Ok(FileFormat::Pcap),
            0x0a0d0d0a => Ok(FileFormat::PcapNg),
            0x1f8b0800..=0x1f8bffff => Err(CaptureError::NotACapture {
                path: name.to_string(),
                detail: "gzip-compressed: decompress it first".into(),
            }),
            other => Err(CaptureError::NotACapture {
                path: name.to_string(),
                detail: format!("unknown magic number {other:#010x}"),
            }),
        }
    }
}

/// A capture input, opened: a regular file (probed; a pcapng is read by
/// libpcap, by path) or a stream, read once.
pub struct Input {
    name: String,
    source: Source,
}

enum Source {
    File {
        path: PathBuf,
        format: FileFormat,
        size: u64,
    },
    Stream(Stream),
}

/// A stream and what was read of it to tell its format.
struct Stream {
    reader: StreamReader,
    head: Vec<u8>,
    format: Option<FileFormat>,
}

impl Input {
    fn stream(name: String, file: File, stop: &Arc<AtomicBool>) -> Input {
        Input {
            name,
            source: Source::Stream(Stream {
                reader: StreamReader {
                    file,
                    stop: Arc::clone(stop),
                },
                head: Vec::new(),
                format: None,
            }),
        }
    }

    /// How reports and alerts name it: the path, or `stdin`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Bytes in it, when known (not for a stream).
    pub fn size(&self) -> Option<u64> {
        match &self.source {
            Source::File { size, .. } => Some(*size),
            Source::Stream(_) => None,
        }
    }

    /// Tells a stream's format from its first bytes (a file's is known
    /// since it was opened). Waits for a stream's writer.
    pub fn probe(&mut self) -> Result<FileFormat, CaptureError> {
        let stream = match &mut self.source {
            Source::File { format, .. } => return Ok(*format),
            Source::Stream(s) => s,
        };
        if let Some(format) = stream.format {
            return Ok(format);
        }
        let mut magic = [0u8; 4];
        let got = read_full(&mut stream.reader, &mut magic).map_err(|e| {
            let reason = if is_stop(&e) {
                "stopped before the capture began".to_string()
            } else {
                e.to_string()
            };
            CaptureError::Open {
                path: self.name.clone(),
                reason,
            }
        })?;
        stream.head = magic.get(..got).unwrap_or_default().to_vec();
        if got < magic.len() {
            return Err(CaptureError::NotACapture {
                path: self.name.clone(),
                detail: format!("only {got} bytes long"),
            });
        }
        let format = FileFormat::from_magic(&self.name, magic)?;
        stream.format = Some(format);
        Ok(format)
    }
}

/// Opens a capture input: `-` is stdin. A regular file is checked now
/// (its format read from its first bytes), so a typo in an
/// investigation's file list fails at once; a stream is only opened (its
/// data may come only once the inputs before it are read): see
/// [`Input::probe`]. `stop` ends a wait for a stream's data.
pub fn open(path: &Path, stop: &Arc<AtomicBool>) -> Result<Input, CaptureError> {
    if path == Path::new("-") {
        let stdin = io::stdin()
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| CaptureError::Open {
                path: "stdin".into(),
                reason: e.to_string(),
            })?;
        return Ok(Input::stream("stdin".into(), File::from(stdin), stop));
    }
    let name = path.display().to_string();
    let open_err = |e: io::Error| CaptureError::Open {
        path: name.clone(),
        reason: e.to_string(),
    };
    // Non-blocking: opening a FIFO would otherwise wait for a writer, out
    // of reach of a stop request.
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(open_err)?;
    let meta = f.metadata().map_err(open_err)?;
    let kind = meta.file_type();
    if kind.is_dir() {
        return Err(CaptureError::Open {
            path: name,
            reason: "is a directory".into(),
        });
    }
    if kind.is_fifo() || kind.is_char_device() || kind.is_socket() || kind.is_block_device() {
        // Reads wait in polls; a blocking descriptor keeps a read that
        // poll said was ready from spinning.
        nix::fcntl::fcntl(
            &f,
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::empty()),
        )
        .map_err(|e| open_err(e.into()))?;
        return Ok(Input::stream(name, f, stop));
    }
    let mut magic = [0u8; 4];
    let got = read_full(&mut f, &mut magic).map_err(open_err)?;
    if got < magic.len() {
        return Err(CaptureError::NotACapture {
            path: name,
            detail: format!("only {got} bytes long"),
        });
    }
    let format = FileFormat::from_magic(&name, magic)?;
    // A file cut inside its header holds no packet, like an empty one.
    let header = format.header_len();
    if meta.len() < header {
        return Err(CaptureError::NotACapture {
            path: name,
            detail: format!("cut inside its {header}-byte header: {} bytes", meta.len()),
        });
    }
    Ok(Input {
        name,
        source: Source::File {
            path: path.to_path_buf(),
            format,
            size: meta.len(),
        },
    })
}

/// Checks that `path` is a readable capture, without reading a stream.
pub fn probe(path: &Path) -> Result<(), CaptureError> {
    open(path, &Arc::new(AtomicBool::new(false))).map(drop)
}

/// Reads into `buf` until it is full or the input ends; returns how much
/// was read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(buf.get_mut(got..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// What a stream read returns once a stop was requested.
#[derive(Debug, thiserror::Error)]
#[error("stopped")]
struct Stopped;

fn is_stop(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<Stopped>())
}

fn is_stop_pcap(e: &pcap_file::PcapError) -> bool {
    matches!(e, pcap_file::PcapError::IoError(io) if is_stop(io))
}

/// Says what went wrong reading a stream (pcap-file's own text hides the
/// I/O error).
fn describe(e: &pcap_file::PcapError) -> String {
    match e {
        pcap_file::PcapError::IoError(io) if io.kind() == io::ErrorKind::UnexpectedEof => {
            "truncated: the capture ends inside a record".into()
        }
        pcap_file::PcapError::IoError(io) => io.to_string(),
        other => other.to_string(),
    }
}

/// A stream read in waits of at most [`STREAM_POLL_MS`], so that a stop
/// request ends a wait for a writer that went quiet.
struct StreamReader {
    file: File,
    stop: Arc<AtomicBool>,
}

impl Read for StreamReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return Err(io::Error::other(Stopped));
            }
            let mut fds = [PollFd::new(self.file.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, PollTimeout::from(STREAM_POLL_MS)) {
                Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
                Ok(_) => {}
                Err(e) => return Err(e.into()),
            }
            match self.file.read(buf) {
                // stdin keeps the flags it came with, maybe non-blocking.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                    ) => {}
                result => return result,
            }
        }
    }
}

/// Reads every packet of `path`, handing each to `on_frame`, until the end
/// of the file or until `on_frame` returns [`Flow::Stop`].
///
/// The report always comes back, with what was read; the error says why
/// the file could not be read to its end.
pub fn read_file(
    path: &Path,
    file_index: u32,
    on_frame: impl FnMut(Frame<'_>) -> Flow,
) -> (FileReport, Result<(), CaptureError>) {
    match open(path, &Arc::new(AtomicBool::new(false))) {
        Ok(input) => read_input(input, file_index, on_frame),
        Err(e) => (
            FileReport {
                path: path.display().to_string(),
                format: "unknown",
                link_types: Vec::new(),
                packets: 0,
                error: Some(e.to_string()),
            },
            Err(e),
        ),
    }
}

/// Reads every packet of `input`, as [`read_file`] does. A stream stopped
/// by a stop request ends without an error, as a file does when
/// `on_frame` stops it.
pub fn read_input(
    mut input: Input,
    file_index: u32,
    mut on_frame: impl FnMut(Frame<'_>) -> Flow,
) -> (FileReport, Result<(), CaptureError>) {
    let mut report = FileReport {
        path: input.name.clone(),
        format: "unknown",
        link_types: Vec::new(),
        packets: 0,
        error: None,
    };
    let result = input.probe().and_then(|format| {
        report.format = format.as_str();
        read_inner(input, format, file_index, &mut report, &mut on_frame)
    });
    if let Err(e) = &result {
        report.error = Some(e.to_string());
    }
    (report, result)
}

fn read_inner(
    input: Input,
    format: FileFormat,
    file_index: u32,
    report: &mut FileReport,
    on_frame: &mut impl FnMut(Frame<'_>) -> Flow,
) -> Result<(), CaptureError> {
    let name = input.name.as_str();
    let path = match input.source {
        Source::File { path, .. } => path,
        Source::Stream(stream) => {
            let reader = io::Cursor::new(stream.head).chain(stream.reader);
            return match format {
                FileFormat::Pcap => read_pcap_stream(reader, name, file_index, report, on_frame),
                FileFormat::PcapNg => read_pcap_file_ng(reader, name, file_index, report, on_frame),
            };
        }
    };
    if format == FileFormat::Pcap {
        // libpcap reads a file with two freads a packet, each copying; the
        // stream reader parses records out of pcap-file's own 8 MB buffer,
        // and a third of the capture thread's time went to those copies.
        // It reads a pcap as libpcap does (the stdin tests compare the two).
        let file = File::open(&path).map_err(|e| CaptureError::Open {
            path: name.to_string(),
            reason: e.to_string(),
        })?;
        return read_pcap_stream(file, name, file_index, report, on_frame);
    }
    match read_libpcap(&path, name, file_index, report, on_frame) {
        Ok(()) => Ok(()),
        Err(e) if format == FileFormat::PcapNg => {
            tracing::debug!(file = name, error = %e, "libpcap stopped; reading on with pcap-file");
            let file = File::open(&path).map_err(|e| CaptureError::Open {
                path: name.to_string(),
                reason: e.to_string(),
            })?;
            read_pcap_file_ng(BufReader::new(file), name, file_index, report, on_frame).map_err(
                |fallback| {
                    // Report libpcap's error when the fallback got no further.
                    match (&e, &fallback) {
                        (
                            CaptureError::Read { packet: a, .. },
                            CaptureError::Read { packet: b, .. },
                        ) if b <= a => e.clone(),
                        _ => fallback,
                    }
                },
            )
        }
        Err(e) => Err(e),
    }
}

/// Reads a pcap stream with `pcap-file`, as libpcap reads a file: link
/// type from the header, timestamps in microseconds, records longer than
/// libpcap's maximum refused.
fn read_pcap_stream(
    reader: impl Read,
    name: &str,
    file_index: u32,
    report: &mut FileReport,
    on_frame: &mut impl FnMut(Frame<'_>) -> Flow,
) -> Result<(), CaptureError> {
    use pcap_file::TsResolution;
    use pcap_file::pcap::PcapReader;

    let mut reader = match PcapReader::new(reader) {
        Ok(r) => r,
        Err(e) if is_stop_pcap(&e) => return Ok(()),
        Err(e) => {
            return Err(CaptureError::NotACapture {
                path: name.to_string(),
                detail: format!("pcap header: {}", describe(&e)),
            });
        }
    };
    let header = reader.header();
    let link = LinkType(u32::from(header.datalink) & LINKTYPE_MASK);
    let nanos = header.ts_resolution == TsResolution::NanoSecond;
    note_link(report, link);
    while let Some(packet) = reader.next_raw_packet() {
        let read_err = |reason: String| CaptureError::Read {
            path: name.to_string(),
            packet: report.packets,
            reason,
        };
        let p = match packet {
            Ok(p) => p,
            Err(e) if is_stop_pcap(&e) => return Ok(()),
            Err(e) => return Err(read_err(describe(&e))),
        };
        if p.incl_len > MAX_RECORD {
            return Err(read_err(format!(
                "invalid packet capture length {}, bigger than maximum of {MAX_RECORD}",
                p.incl_len
            )));
        }
        report.packets += 1;
        let micros = if nanos { p.ts_frac / 1000 } else { p.ts_frac };
        let flow = on_frame(Frame {
            link,
            ts: Timestamp::from_parts(i64::from(p.ts_sec), i64::from(micros)),
            data: &p.data,
            source: SourceRef {
                file: file_index,
                packet: report.packets,
            },
        });
        if flow == Flow::Stop {
            return Ok(());
        }
    }
    Ok(())
}

fn note_link(report: &mut FileReport, link: LinkType) {
    let name = link.name();
    if !report.link_types.contains(&name) {
        if !link.is_supported() {
            tracing::warn!(
                file = %report.path,
                link_type = %name,
                "Link type is not decoded; its packets are counted as unsupported_link_type"
            );
        }
        report.link_types.push(name);
    }
}

fn read_libpcap(
    path: &Path,
    name: &str,
    file_index: u32,
    report: &mut FileReport,
    on_frame: &mut impl FnMut(Frame<'_>) -> Flow,
) -> Result<(), CaptureError> {
    let mut cap = pcap::Capture::from_file(path).map_err(|e| CaptureError::NotACapture {
        path: name.to_string(),
        detail: e.to_string(),
    })?;
    let link = LinkType::from_dlt(cap.get_datalink().0);
    note_link(report, link);
    loop {
        match cap.next_packet() {
            Ok(p) => {
                report.packets += 1;
                let ts = Timestamp::from_parts(p.header.ts.tv_sec, p.header.ts.tv_usec);
                let flow = on_frame(Frame {
                    link,
                    ts,
                    data: p.data,
                    source: SourceRef {
                        file: file_index,
                        packet: report.packets,
                    },
                });
                if flow == Flow::Stop {
                    return Ok(());
                }
            }
            Err(pcap::Error::NoMorePackets) => return Ok(()),
            Err(e) => {
                return Err(CaptureError::Read {
                    path: name.to_string(),
                    packet: report.packets,
                    reason: e.to_string(),
                });
            }
        }
    }
}

/// Reads a pcapng with `pcap-file`, skipping the packets already delivered
/// (`report.packets`, when libpcap read the file first), so packet numbers
/// stay those of the file.
fn read_pcap_file_ng(
    reader: impl Read,
    name: &str,
    file_index: u32,
    report: &mut FileReport,
    on_frame: &mut impl FnMut(Frame<'_>) -> Flow,
) -> Result<(), CaptureError> {
    use pcap_file::pcapng::{Block, PcapNgReader};

    let read_err = |packet: u64, reason: String| CaptureError::Read {
        path: name.to_string(),
        packet,
        reason,
    };
    let mut reader = match PcapNgReader::new(reader) {
        Ok(r) => r,
        Err(e) if is_stop_pcap(&e) => return Ok(()),
        Err(e) => return Err(read_err(0, format!("pcapng: {}", describe(&e)))),
    };
    let already = report.packets;
    let mut seen = 0u64;
    // Interface link types of the current section, in IDB order: packets
    // name their interface by index.
    let mut interfaces: Vec<LinkType> = Vec::new();
    while let Some(block) = reader.next_block() {
        let block = match block {
            Ok(b) => b,
            Err(e) if is_stop_pcap(&e) => return Ok(()),
            Err(e) => {
                return Err(read_err(
                    seen.max(already),
                    format!("pcapng: {}", describe(&e)),
                ));
            }
        };
        let (link, ts, data) = match &block {
            Block::SectionHeader(_) => {
                interfaces.clear();
                continue;
            }
            Block::InterfaceDescription(idb) => {
                interfaces.push(LinkType(u32::from(idb.linktype)));
                continue;
            }
            Block::EnhancedPacket(epb) => {
                let Some(link) = usize::try_from(epb.interface_id)
                    .ok()
                    .and_then(|i| interfaces.get(i))
                else {
                    return Err(read_err(
                        seen,
                        format!("packet refers to undefined interface {}", epb.interface_id),
                    ));
                };
                let micros = i64::try_from(epb.timestamp.as_micros()).unwrap_or(i64::MAX);
                (*link, Timestamp(micros), &epb.data)
            }
            Block::SimplePacket(spb) => {
                let Some(link) = interfaces.first() else {
                    return Err(read_err(
                        seen,
                        "simple packet block before any interface".into(),
                    ));
                };
                (*link, Timestamp(0), &spb.data)
            }
            _ => continue,
        };
        seen += 1;
        if seen <= already {
            continue;
        }
        note_link(report, link);
        report.packets = seen;
        let flow = on_frame(Frame {
            link,
            ts,
            data,
            source: SourceRef {
                file: file_index,
                packet: seen,
            },
        });
        if flow == Flow::Stop {
            return Ok(());
        }
    }
    Ok(())
}
