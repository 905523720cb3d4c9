//! Capture files: pcap and pcapng, read with libpcap.
//!
//! libpcap refuses a pcapng whose interfaces have different link types (it
//! reports one link type per handle). When libpcap fails on a pcapng, the
//! file is read on with the pure-Rust `pcap-file` reader from the packet
//! where libpcap stopped, so such captures are read whole.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use super::{CaptureError, Flow, Frame};
use crate::decode::link::LinkType;
use crate::model::{SourceRef, Timestamp};
use crate::stats::FileReport;

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
}

/// The pcap file header; the smallest pcapng section header block.
const PCAP_HEADER: usize = 24;
const PCAPNG_MIN_HEADER: usize = 28;

/// Checks that `path` is a readable capture before any thread starts, so a
/// typo in an investigation's file list fails at once.
pub fn probe(path: &Path) -> Result<FileFormat, CaptureError> {
    let name = path.display().to_string();
    let mut f = File::open(path).map_err(|e| CaptureError::Open {
        path: name.clone(),
        reason: e.to_string(),
    })?;
    if f.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(CaptureError::Open {
            path: name,
            reason: "is a directory".into(),
        });
    }
    // The magic number, and enough after it to know the header is whole:
    // a file cut inside its header holds no packet, like an empty one.
    let mut head = [0u8; PCAPNG_MIN_HEADER];
    let mut got = 0;
    while got < head.len() {
        match f.read(head.get_mut(got..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) => {
                return Err(CaptureError::Open {
                    path: name,
                    reason: e.to_string(),
                });
            }
        }
    }
    let [m0, m1, m2, m3, ..] = head;
    if got < 4 {
        return Err(CaptureError::NotACapture {
            path: name,
            detail: format!("only {got} bytes long"),
        });
    }
    let cut = |format: FileFormat, header: usize| {
        if got < header {
            Err(CaptureError::NotACapture {
                path: name.clone(),
                detail: format!("cut inside its {header}-byte header: {got} bytes"),
            })
        } else {
            Ok(format)
        }
    };
    match u32::from_be_bytes([m0, m1, m2, m3]) {
        0xa1b2c3d4 | 0xd4c3b2a1 | 0xa1b23c4d | 0x4d3cb2a1 => cut(FileFormat::Pcap, PCAP_HEADER),
        0x0a0d0d0a => cut(FileFormat::PcapNg, PCAPNG_MIN_HEADER),
        0x1f8b0800..=0x1f8bffff => Err(CaptureError::NotACapture {
            path: name,
            detail: "gzip-compressed: decompress it first".into(),
        }),
        other => Err(CaptureError::NotACapture {
            path: name,
            detail: format!("unknown magic number {other:#010x}"),
        }),
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
    mut on_frame: impl FnMut(Frame<'_>) -> Flow,
) -> (FileReport, Result<(), CaptureError>) {
    let name = path.display().to_string();
    let mut report = FileReport {
        path: name.clone(),
        format: "unknown",
        link_types: Vec::new(),
        packets: 0,
        error: None,
    };
    let result = read_inner(path, &name, file_index, &mut report, &mut on_frame);
    if let Err(e) = &result {
        report.error = Some(e.to_string());
    }
    (report, result)
}

fn read_inner(
    path: &Path,
    name: &str,
    file_index: u32,
    report: &mut FileReport,
    on_frame: &mut impl FnMut(Frame<'_>) -> Flow,
) -> Result<(), CaptureError> {
    let format = probe(path)?;
    report.format = format.as_str();
    match read_libpcap(path, name, file_index, report, on_frame) {
        Ok(()) => Ok(()),
        Err(e) if format == FileFormat::PcapNg => {
            tracing::debug!(file = name, error = %e, "libpcap stopped; reading on with pcap-file");
            read_pcap_file_ng(path, name, file_index, report, on_frame).map_err(|fallback| {
                // Report libpcap's error when the fallback got no further.
                match (&e, &fallback) {
                    (
                        CaptureError::Read { packet: a, .. },
                        CaptureError::Read { packet: b, .. },
                    ) if b <= a => e.clone(),
                    _ => fallback,
                }
            })
        }
        Err(e) => Err(e),
    }
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
/// (`report.packets`), so packet numbers stay those of the file.
fn read_pcap_file_ng(
    path: &Path,
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
    let file = File::open(path).map_err(|e| CaptureError::Open {
        path: name.to_string(),
        reason: e.to_string(),
    })?;
    let mut reader =
        PcapNgReader::new(BufReader::new(file)).map_err(|e| read_err(0, format!("pcapng: {e}")))?;
    let already = report.packets;
    let mut seen = 0u64;
    // Interface link types of the current section, in IDB order: packets
    // name their interface by index.
    let mut interfaces: Vec<LinkType> = Vec::new();
    while let Some(block) = reader.next_block() {
        let block = block.map_err(|e| read_err(seen.max(already), format!("pcapng: {e}")))?;
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
