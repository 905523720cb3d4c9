//! Live capture on an interface with libpcap.
//!
//! Defaults come from measurements on this kind of machine (README,
//! "Live capture"): libpcap's immediate mode uses TPACKET_V2, whose ring is
//! cut into snaplen-sized frames, and drops at 100k packets/s with a 65535
//! snaplen; without immediate mode libpcap uses TPACKET_V3 blocks and took
//! 500k packets/s with none lost. So: no immediate mode, full snaplen, a
//! 64 MiB ring, and a 100 ms block timeout, which bounds alert latency.
//!
//! The handle is non-blocking and waited on with poll(2), so the capture
//! loop wakes at least every [`POLL_MS`] to flush batches, publish
//! statistics and notice a stop request; an idle interface never hangs
//! shutdown.

use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{CaptureError, Flow, Frame};
use crate::decode::link::LinkType;
use crate::model::{SourceRef, Timestamp};

/// How long one wait for packets may last.
pub const POLL_MS: i32 = 100;

/// Capture settings of one interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveOptions {
    pub snaplen: i32,
    pub buffer_mb: i32,
    pub immediate: bool,
    pub promisc: bool,
    /// BPF filter; `None` = [`default_filter`] of the DNS ports.
    pub bpf: Option<String>,
    /// DNS ports, for the default filter.
    pub dns_ports: Vec<u16>,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            snaplen: 65535,
            buffer_mb: 64,
            immediate: false,
            promisc: true,
            bpf: None,
            dns_ports: crate::decode::transport::DEFAULT_DNS_PORTS.to_vec(),
        }
    }
}

/// The default BPF filter: DNS on the given ports, also inside VLAN tags
/// on Ethernet (BPF's `vlan` keyword shifts the offsets, so the expression
/// is repeated for one and two tags; other link types have no `vlan`), plus
/// every IP fragment (a non-first fragment carries no port) and every
/// tunnel the decoder follows (GRE, IP-in-IP, 6in4, VXLAN, Geneve, GRE in
/// UDP), whose inner DNS the kernel cannot see.
pub fn default_filter(ports: &[u16], link: LinkType) -> String {
    let ports = ports
        .iter()
        .map(|p| format!("port {p}"))
        .collect::<Vec<_>>()
        .join(" or ");
    let inner = format!(
        "(udp or tcp) and ({ports}) \
         or (ip[6:2] & 0x3fff != 0) \
         or ip6[6] == 44 \
         or ip proto 47 or ip proto 4 or ip proto 41 or ip6 proto 4 or ip6 proto 41 or ip6 proto 47 \
         or udp port 4789 or udp port 6081 or udp port 4754"
    );
    if link == LinkType::ETHERNET {
        format!("({inner}) or (vlan and (({inner}) or (vlan and ({inner}))))")
    } else {
        inner
    }
}

/// Interfaces libpcap can capture on, with their description.
pub fn list_interfaces() -> Result<Vec<(String, String)>, CaptureError> {
    let devices = pcap::Device::list().map_err(|e| CaptureError::Open {
        path: "interfaces".into(),
        reason: e.to_string(),
    })?;
    Ok(devices
        .into_iter()
        .map(|d| {
            let mut desc = d.desc.clone().unwrap_or_default();
            let flags = &d.flags;
            let state = if flags.is_up() { "up" } else { "down" };
            if !desc.is_empty() {
                desc.push_str(", ");
            }
            desc.push_str(state);
            if flags.is_loopback() {
                desc.push_str(", loopback");
            }
            (d.name, desc)
        })
        .collect())
}

/// Kernel and interface counters of an open capture.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LiveStats {
    pub received: u64,
    pub kernel_dropped: u64,
    pub interface_dropped: u64,
}

/// An open live capture.
pub struct LiveCapture {
    name: String,
    cap: pcap::Capture<pcap::Active>,
    link: LinkType,
    packets: u64,
    /// libpcap's counters are 32-bit and wrap; these accumulate them.
    last_raw: (u32, u32, u32),
    stats: LiveStats,
}

impl LiveCapture {
    /// Opens `iface` with `opts`.
    pub fn open(iface: &str, opts: &LiveOptions) -> Result<LiveCapture, CaptureError> {
        let err = |e: pcap::Error| CaptureError::Open {
            path: iface.to_string(),
            reason: e.to_string(),
        };
        let cap = pcap::Capture::from_device(iface)
            .map_err(err)?
            .promisc(opts.promisc)
            .snaplen(opts.snaplen)
            .buffer_size(opts.buffer_mb.saturating_mul(1 << 20))
            .immediate_mode(opts.immediate)
            .timeout(POLL_MS)
            .open()
            .map_err(err)?;
        let mut cap = cap.setnonblock().map_err(err)?;
        let link = LinkType::from_dlt(cap.get_datalink().0);
        let filter = match &opts.bpf {
            Some(f) => f.clone(),
            None => default_filter(&opts.dns_ports, link),
        };
        cap.filter(&filter, true).map_err(|e| CaptureError::Open {
            path: iface.to_string(),
            reason: format!("BPF filter {filter:?}: {e}"),
        })?;
        Ok(LiveCapture {
            name: iface.to_string(),
            cap,
            link,
            packets: 0,
            last_raw: (0, 0, 0),
            stats: LiveStats::default(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn link(&self) -> LinkType {
        self.link
    }

    /// Reads what is there and hands each packet to `on_frame`, then waits
    /// up to [`POLL_MS`] for more. Returns after one wait, so the caller
    /// regains control at least every [`POLL_MS`]; `Err` when the interface
    /// failed (went away, or libpcap broke).
    pub fn poll(
        &mut self,
        index: u32,
        stop: &AtomicBool,
        mut on_frame: impl FnMut(Frame<'_>) -> Flow,
    ) -> Result<(), CaptureError> {
        // Drain the ring: each next_packet is a copy-free view.
        loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            match self.cap.next_packet() {
                Ok(p) => {
                    self.packets += 1;
                    let ts = Timestamp::from_parts(p.header.ts.tv_sec, p.header.ts.tv_usec);
                    let frame = Frame {
                        link: self.link,
                        ts,
                        data: p.data,
                        source: SourceRef {
                            file: index,
                            packet: self.packets,
                        },
                    };
                    if on_frame(frame) == Flow::Stop {
                        return Ok(());
                    }
                }
                Err(pcap::Error::TimeoutExpired) => break,
                Err(pcap::Error::NoMorePackets) => break,
                Err(e) => {
                    return Err(CaptureError::Read {
                        path: self.name.clone(),
                        packet: self.packets,
                        reason: e.to_string(),
                    });
                }
            }
        }
        let mut fds = [libc::pollfd {
            fd: self.cap.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        // SAFETY: `fds` is a valid array of one pollfd for the whole call.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), 1, POLL_MS) };
        let revents = fds.first().map_or(0, |f| f.revents);
        if rc > 0 && revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0 {
            return Err(CaptureError::Read {
                path: self.name.clone(),
                packet: self.packets,
                reason: "interface went down or was removed".into(),
            });
        }
        Ok(())
    }

    /// Packets handed out so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Cumulative kernel statistics, widened past libpcap's 32-bit counters.
    pub fn stats(&mut self) -> LiveStats {
        if let Ok(s) = self.cap.stats() {
            let (r, d, i) = self.last_raw;
            self.stats.received += u64::from(s.received.wrapping_sub(r));
            self.stats.kernel_dropped += u64::from(s.dropped.wrapping_sub(d));
            self.stats.interface_dropped += u64::from(s.if_dropped.wrapping_sub(i));
            self.last_raw = (s.received, s.dropped, s.if_dropped);
        }
        self.stats
    }
}

/// A stop flag shared by every capture thread.
pub type StopFlag = Arc<AtomicBool>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_filter_compiles_with_libpcap() {
        for (link, dlt) in [
            (LinkType::ETHERNET, 1),
            (LinkType::LINUX_SLL, 113),
            (LinkType::RAW, 12),
        ] {
            let filter = default_filter(&[53, 5353], link);
            let dead = pcap::Capture::dead(pcap::Linktype(dlt)).unwrap();
            dead.compile(&filter, true).unwrap();
        }
    }

    #[test]
    fn default_filter_keeps_dns_vlan_dns_fragments_and_tunnels_only() {
        use crate::synth::encap::*;
        let dead = pcap::Capture::dead(pcap::Linktype::ETHERNET).unwrap();
        let prog = dead
            .compile(&default_filter(&[53], LinkType::ETHERNET), true)
            .unwrap();
        let s = "192.0.2.53".parse().unwrap();
        let d = "198.51.100.7".parse().unwrap();
        let dns = ip_udp(s, d, 53, 40000, b"x");
        let ntp = ip_udp(s, d, 123, 123, b"x");
        assert!(prog.filter(&ethernet_ip(&dns)));
        assert!(prog.filter(&ethernet_tagged(&[(0x8100, 5)], 0x0800, &dns)));
        assert!(prog.filter(&ethernet_tagged(&[(0x8100, 5), (0x8100, 6)], 0x0800, &dns)));
        assert!(!prog.filter(&ethernet_ip(&ntp)));
        assert!(!prog.filter(&ethernet_tagged(&[(0x8100, 5)], 0x0800, &ntp)));
        let big = ip_udp(s, d, 123, 123, &[0u8; 200]);
        let frags = ipv4_fragments(&big, 1, 64);
        assert!(prog.filter(&ethernet_ip(&frags[1])), "non-first fragment");
        assert!(prog.filter(&ethernet_ip(&ip_raw(s, d, 47, b"gre"))));
        assert!(prog.filter(&ethernet_ip(&ip_udp(s, d, 5000, 4789, b"vxlan"))));
    }
}
